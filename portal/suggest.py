"""`/api/suggest` (names to complete as people type: experiments, messengers, techniques, targets) and `/api/facets`
(the facet counts of a query without its hits; `disjunctive=true` counts them as `/api/search` does with it, each
facet without the filters on its own field).

Suggestions come from the vocabularies (every label and alternative label a concept is known by, so "xen" offers
XENON and "compact muon" offers CMS), ranked by how many datasets in the index carry the concept, so what the
catalogue holds comes first; concepts the catalogue does not hold yet are offered after them with a count of 0.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, Request
from fastapi import Query as Param
from fastapi.responses import JSONResponse, Response

from dmlake.lake import Lake
from indexer.query import Query
from ontology import vocabulary
from portal.feed import json_with_etag
from portal.search_help import DISJUNCTIVE_HELP, FACET_HELP, FILTER_HELP, SEARCH_TEXT_HELP

SUGGESTABLE = {"experiment": "experiment", "messenger": "messenger", "technique": "technique", "target": "target"}
"""Index field → vocabulary scheme."""


def suggestions(lake: Lake, field: str, prefix: str, size: int) -> list[dict[str, Any]]:
    concepts = vocabulary.completions(SUGGESTABLE[field], prefix)
    facets = lake.search(Query.parse("", facets=[field], size=0, facet_size=10_000)).facets.get(field, [])
    counts = {f.value: f.count for f in facets}
    ranked = sorted(concepts, key=lambda c: (-counts.get(c.label, 0), c.label.lower()))
    return [{"label": c.label, "uri": c.uri, "count": counts.get(c.label, 0)} for c in ranked[:size]]


def add_suggest_routes(app: FastAPI, lake: Lake) -> None:
    @app.get("/api/suggest", summary="Names to complete: experiments, messengers, techniques, targets", tags=["search"])
    def suggest(
        request: Request,
        prefix: Annotated[str, Param(min_length=1, description="What the person has typed so far.")],
        field: Annotated[str, Param(description="One of: " + ", ".join(SUGGESTABLE))] = "experiment",
        size: Annotated[int, Param(ge=1, le=100)] = 10,
    ) -> Response:
        if field not in SUGGESTABLE:
            return JSONResponse(
                {"error": f"no suggestions for field {field!r}; choose one of {', '.join(SUGGESTABLE)}"},
                status_code=400,
            )
        found = suggestions(lake, field, prefix, size)
        return json_with_etag(request, {"field": field, "prefix": prefix, "suggestions": found})

    @app.get("/api/facets", summary="The facet counts of a query, without its hits", tags=["search"])
    def facets(
        request: Request,
        facet: Annotated[list[str], Param(description=FACET_HELP)],
        q: Annotated[str, Param(description=SEARCH_TEXT_HELP)] = "",
        filter: Annotated[list[str] | None, Param(description=FILTER_HELP)] = None,
        facet_size: Annotated[int, Param(ge=1, le=10_000, description="Values per facet.")] = 50,
        disjunctive: Annotated[bool, Param(description=DISJUNCTIVE_HELP)] = False,
    ) -> Response:
        query = Query.parse(
            q, filters=filter or (), facets=facet, size=0, facet_size=facet_size, disjunctive=disjunctive
        )
        result = lake.search(query)
        body = {"total": result.total, "facets": result.to_json()["facets"]}
        return json_with_etag(request, body)
