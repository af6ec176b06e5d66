"""The SPARQL 1.1 Protocol endpoint, `/sparql`, over the catalogue-wide RDF graph (read-only).

GET `?query=`, POST `application/sparql-query` or a form with `query`; the answer's format from `?format=` or the
Accept header (SPARQL results JSON, XML, CSV, TSV; Turtle, N-Triples, RDF/XML, JSON-LD for CONSTRUCT/DESCRIBE).
The graph follows the change feed: `follow_graph` keeps it current in the background while the service runs, and
each query first applies whatever the feed gained since. Each record carries its identity cluster (`dml:cluster`,
`graphstore.clusters`): count `DISTINCT ?record` for catalogue entries, the clusters for datasets.

A query runs in a worker process over a snapshot of the graph and is stopped after `DMLAKE_SPARQL_TIMEOUT` seconds
(default 30): the answer is then a 503 saying so. Oxigraph cannot interrupt a query, so stopping it means killing
its process; the service's own store is never touched by a query.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi import Query as Param
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from dmlake.lake import Lake
from graphstore import GraphStoreBusy, SparqlError, UnknownAnswerFormat
from graphstore.clusters import clustered_graph
from graphstore.timed import DEFAULT_TIMEOUT, QueryFailed, QueryTimeout

log = logging.getLogger(__name__)

EXAMPLE = "SELECT ?dataset ?title WHERE { ?dataset a dcat:Dataset ; dct:title ?title } LIMIT 10"
FOLLOW_SECONDS = 5.0
QUERY_HELP = "A SPARQL 1.1 query; dcat:, dct:, dml:, skos:, qudt: and the other usual prefixes are predeclared."
FORMAT_HELP = "json, xml, csv, tsv (SELECT/ASK); turtle, ntriples, rdfxml, jsonld (CONSTRUCT/DESCRIBE)."
TIMEOUT_VARIABLE = "DMLAKE_SPARQL_TIMEOUT"


def configured_timeout() -> float:
    """The endpoint's time limit per query: `DMLAKE_SPARQL_TIMEOUT` seconds, else 30."""
    value = os.environ.get(TIMEOUT_VARIABLE, "").strip()
    if not value:
        return DEFAULT_TIMEOUT
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise ValueError(f"{TIMEOUT_VARIABLE}={value!r}: give the SPARQL time limit as a number of seconds above 0")
    return seconds


def follow_graph(lake: Lake, every: float = FOLLOW_SECONDS) -> threading.Event:
    """Keep the graph current in a background thread; set the returned event to stop it."""
    stop = threading.Event()

    def run() -> None:
        warned = False
        while not stop.is_set():
            try:
                clustered_graph(lake)
                lake.update_graph()
                warned = False
            except GraphStoreBusy as error:
                if not warned:
                    log.warning("SPARQL graph not updated: %s", error)
                    warned = True
            except Exception:  # the service must keep answering; the next round tries again
                log.exception("updating the SPARQL graph from the change feed failed; retrying in %.0f s", every)
            stop.wait(every)

    threading.Thread(target=run, name="sparql-graph-follower", daemon=True).start()
    return stop


def add_sparql_routes(app: FastAPI, lake: Lake, timeout: float | None = None) -> None:
    """The routes; each query is stopped after `timeout` seconds (default: `configured_timeout()`)."""
    limit = configured_timeout() if timeout is None else timeout
    advice = f"ask the service's operator to raise {TIMEOUT_VARIABLE}"

    def answer(text: str, fmt: str | None, accept: str | None) -> Response:
        try:
            graph = clustered_graph(lake)
            lake.update_graph()
            body = graph.answer(text, fmt, accept, timeout=limit, advice=advice)
        except SparqlError as error:
            return JSONResponse({"error": str(error)}, status_code=400)
        except UnknownAnswerFormat as error:
            return JSONResponse({"error": str(error)}, status_code=406)
        except (GraphStoreBusy, QueryTimeout) as error:
            return JSONResponse({"error": str(error)}, status_code=503)
        except QueryFailed as error:
            log.error("SPARQL query failed: %s", error)
            return JSONResponse({"error": str(error)}, status_code=500)
        return Response(body.body, media_type=body.media_type)

    @app.get("/sparql", summary="SPARQL 1.1 query over every record", tags=["sparql"])
    def sparql_get(
        request: Request,
        query: Annotated[str, Param(description=QUERY_HELP, examples=[EXAMPLE])],
        format: Annotated[str | None, Param(description=FORMAT_HELP)] = None,
    ) -> Response:
        return answer(query, format, request.headers.get("accept"))

    @app.post("/sparql", summary="SPARQL 1.1 query (POST: application/sparql-query or form)", tags=["sparql"])
    async def sparql_post(request: Request, format: str | None = None) -> Response:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        raw = (await request.body()).decode("utf-8", errors="replace")
        if content_type == "application/sparql-query":
            text = raw
        elif content_type == "application/x-www-form-urlencoded":
            text = (parse_qs(raw).get("query") or [""])[0]
        else:
            return JSONResponse(
                {"error": "POST the query as application/sparql-query, or as a form with a `query` field"},
                status_code=415,
            )
        if not text.strip():
            return JSONResponse({"error": "no query given"}, status_code=400)
        return await run_in_threadpool(answer, text, format, request.headers.get("accept"))
