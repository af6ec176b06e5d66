"""The HTTP service for search portals and people: search API, records in every standard format, a web page.

It reads the catalogue and the index; it never writes records. `create_app(lake)` builds the FastAPI application;
the OpenAPI description is served at `/openapi.json`.
"""

from __future__ import annotations

from importlib import resources
from typing import Annotated

from fastapi import FastAPI, Request
from fastapi import Query as Param
from fastapi.responses import HTMLResponse, JSONResponse, Response

from dmlake.lake import Lake, RecordNotFound
from dmlake.where import SettingsError, where_to_read
from harvester.replica_ledger import replica_tag
from indexer.query import Query, QueryError
from ontology.datacite import DataCiteError
from ontology.views import FORMATS, MEDIA_TYPES, negotiate, render
from portal.admin import admin_router
from portal.fair import add_fair_routes
from portal.feed import add_cors, add_feed_routes, json_with_etag
from portal.identity import add_identity_routes
from portal.oai import add_oai_routes
from portal.search_help import (
    DISJUNCTIVE_HELP,
    FACET_HELP,
    FIELDS_HELP,
    FILTER_HELP,
    HIGHLIGHT_HELP,
    SEARCH_TEXT_HELP,
)
from portal.search_route import add_plain_search_route
from portal.sparql import add_sparql_routes
from portal.suggest import add_suggest_routes
from portal.web import web_router

API_DESCRIPTION = """
Search the federated catalogue of dark-matter, astroparticle and high-energy-physics dataset releases, and fetch
records as JSON, JSON-LD (DCAT-AP 3), Turtle, RDF/XML, N-Triples, DataCite XML/JSON or schema.org.

The search text takes words, "phrases", AND/OR/-word, and fields: `title:higgs`, `experiment:cms`,
`messenger:neutrino`, `doi:10.7483/...`, `keyword:WIMP`, `energy:[1 TeV TO 100 TeV]` (overlap with a record's
energy interval or its √s; units eV…EeV), `energy:>=13TeV`, `sqrt_s:13TeV`, `date:[2015 TO 2018-06]` (overlap with
the temporal coverage, else the issued date). Filters are `field=value` (several values of a field are OR-ed,
fields are AND-ed), `field=low..high`, `energy=1TeV..100TeV`, `date=2015-01-01..2018-12-31`, `sqrt_s=13TeV`;
facets are field names or `year_histogram` / `energy_histogram`; `fields` chooses the summary fields of each hit;
`highlight=true` adds the matched fragments of title and description with `<mark>` tags; `disjunctive=true` counts
each facet without the filters on its own field (so a filtered field's other values stay selectable); page with
`cursor` (the `next_cursor` of the previous page) — there is no 10,000-hit limit.
"""


def create_app(lake: Lake) -> FastAPI:
    app = FastAPI(title="dmlake", version="0.1.0", description=API_DESCRIPTION)
    add_cors(app)

    @app.exception_handler(QueryError)
    async def query_error(_request: Request, error: QueryError) -> JSONResponse:
        return JSONResponse(error.to_json(), status_code=400)

    @app.get("/api/search", summary="Search records", tags=["search"])
    def search(
        request: Request,
        q: Annotated[str, Param(description=SEARCH_TEXT_HELP)] = "",
        facet: Annotated[list[str] | None, Param(description=FACET_HELP)] = None,
        filter: Annotated[list[str] | None, Param(description=FILTER_HELP)] = None,
        sort: Annotated[str | None, Param(description="relevance, issued, -issued, title, ...")] = None,
        size: Annotated[int, Param(ge=0, le=1000, description="Hits per page.")] = 20,
        cursor: Annotated[str | None, Param(description="next_cursor of the previous page.")] = None,
        fields: Annotated[str | None, Param(description=FIELDS_HELP)] = None,
        highlight: Annotated[bool, Param(description=HIGHLIGHT_HELP)] = False,
        disjunctive: Annotated[bool, Param(description=DISJUNCTIVE_HELP)] = False,
    ) -> Response:
        query = Query.parse(
            q,
            filters=filter or (),
            facets=facet or (),
            sort=sort,
            size=size,
            cursor=cursor,
            fields=None if fields is None else [fields],
            highlight=highlight,
            disjunctive=disjunctive,
        )
        return json_with_etag(request, lake.search(query).to_json())

    add_plain_search_route(app, "/api/search", search)

    add_fair_routes(app, lake)  # before /api/records/{id}, whose path would take …/fair
    add_identity_routes(app, lake)  # … and …/cluster
    add_sparql_routes(app, lake)
    add_feed_routes(app, lake)
    add_suggest_routes(app, lake)
    add_oai_routes(app, lake)
    app.include_router(admin_router(lake))  # the admin API (behind DMLAKE_ADMIN_TOKEN) and /metrics
    app.include_router(web_router(lake))  # the web page's record pages and plots

    @app.get(
        "/api/records/{record_id:path}/where",
        summary="Where to read each file of a record",
        tags=["records"],
        responses={
            200: {
                "description": "Per file: name, size, checksum, availability, the best URL to read it at, the site "
                "of that copy (null: the source portal's own URL), why it was chosen, and every copy replication "
                "knows of (site, state, URL, whether its checksum was verified).",
            },
            400: {"description": "The home's [where] settings cannot be read."},
            404: {"description": "No such record."},
            410: {"description": "The record was removed at its source (tombstone)."},
        },
    )
    def where(
        record_id: str,
        site: Annotated[
            list[str] | None,
            Param(
                description="Sites (Rucio RSEs) you prefer, nearest first (repeatable or comma-separated); "
                "default: the service's DMLAKE_SITES or [where] preferred_sites."
            ),
        ] = None,
    ) -> Response:
        sites = [s for value in site or () for s in value.split(",")]
        try:
            answer = where_to_read(lake, record_id, sites)
        except RecordNotFound as error:
            return JSONResponse({"error": str(error)}, status_code=404)
        except SettingsError as error:
            return JSONResponse({"error": str(error)}, status_code=400)
        if answer.gone:
            return JSONResponse(
                {
                    "error": "this record was removed at its source",
                    "id": answer.stored.id,
                    "tombstone": answer.stored.tombstone,
                },
                status_code=410,
            )
        return JSONResponse(answer.to_json())

    @app.get(
        "/api/records/{record_id:path}",
        summary="One record, in the format asked for",
        tags=["records"],
        responses={
            200: {
                "content": {media: {} for media in sorted({m for _, m in MEDIA_TYPES.items()})},
                "description": "The record. Choose the format with the Accept header or ?format=.",
            },
            404: {"description": "No such record."},
            406: {"description": "No format the client accepts."},
            410: {"description": "The record was removed at its source (tombstone)."},
        },
    )
    def record(
        record_id: str,
        request: Request,
        format: Annotated[
            str | None, Param(description="One of: " + ", ".join(FORMATS) + " (overrides Accept).")
        ] = None,
    ) -> Response:
        fmt = format or negotiate(request.headers.get("accept"))
        if fmt is None or fmt not in FORMATS:
            return JSONResponse(
                {"error": "no acceptable format", "formats": {name: MEDIA_TYPES[name] for name in FORMATS}},
                status_code=406,
            )
        try:
            stored = lake.record(record_id)
        except RecordNotFound as error:
            return JSONResponse({"error": str(error)}, status_code=404)
        # the content hash is the source's; replica state, laid over the record, changes what is served too
        replicas = replica_tag(stored.record)
        etag = f'"{stored.content_hash[:32]}{"-" + replicas if replicas else ""}-{fmt}"'
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers={"ETag": etag})
        if stored.tombstone:
            return JSONResponse(
                {"error": "this record was removed at its source", "id": stored.id, "tombstone": stored.tombstone},
                status_code=410,
            )
        try:
            content, media_type = render(stored.record, fmt)
        except DataCiteError as error:
            return JSONResponse(
                {"error": f"this record cannot be written as {fmt}: {error}", "id": stored.id}, status_code=422
            )
        return Response(content, media_type=media_type, headers={"ETag": etag, "Vary": "Accept"})

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> HTMLResponse:
        return HTMLResponse(_asset("index.html"))

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        media = {"js": "text/javascript", "css": "text/css"}.get(name.rsplit(".", 1)[-1])
        if media is None or "/" in name:
            return Response(status_code=404)
        try:
            return Response(_asset(name), media_type=media)
        except FileNotFoundError:
            return Response(status_code=404)

    return app


def _asset(name: str) -> str:
    return (resources.files("portal") / "static" / name).read_text(encoding="utf-8")
