"""FAIR report over HTTP: `/api/records/{id}/fair` (one record's checklist) and `/api/sources/{name}/fair` (a source's
aggregate). What is checked and how the score is computed: `ontology/fair.py`.

A source's aggregate streams every live record of the source, so it is kept until the catalogue changes: the cache
key is the change feed's last sequence number.
"""

from __future__ import annotations

import threading
from typing import Annotated, Any

from fastapi import FastAPI
from fastapi import Query as Param
from fastapi.responses import JSONResponse

from dmlake.lake import Lake, RecordNotFound
from ontology import fair


def add_fair_routes(app: FastAPI, lake: Lake) -> None:
    """Register the routes; call before the `/api/records/{id}` route, whose path would otherwise take `…/fair`."""
    cache: dict[str, tuple[int, fair.SourceSummary]] = {}
    lock = threading.Lock()

    def source_summary(name: str) -> fair.SourceSummary:
        seq = lake.catalogue.last_seq()
        with lock:
            cached = cache.get(name)
        if cached is not None and cached[0] == seq:
            return cached[1]
        summary = fair.SourceSummary(name)
        for stored in lake.catalogue.iter_records(name):
            summary.add(fair.assess(stored.record))
        with lock:
            cache[name] = (seq, summary)
        return summary

    @app.get(
        "/api/records/{record_id:path}/fair",
        summary="FAIR checklist of one record",
        tags=["fair"],
        responses={404: {"description": "No such record."}, 410: {"description": "Removed at its source."}},
    )
    def record_fair(record_id: str) -> Any:
        try:
            stored = lake.record(record_id)
        except RecordNotFound as error:
            return JSONResponse({"error": str(error)}, status_code=404)
        if stored.tombstone:
            return JSONResponse(
                {"error": "this record was removed at its source", "id": stored.id, "tombstone": stored.tombstone},
                status_code=410,
            )
        return fair.assess(stored.record).to_json()

    @app.get(
        "/api/sources/{name}/fair",
        summary="FAIR report of one source",
        tags=["fair"],
        responses={404: {"description": "The catalogue holds no live record of this source."}},
    )
    def source_fair(
        name: str,
        top: Annotated[int, Param(ge=1, le=len(fair.CHECKS), description="How many missing properties to list.")] = 5,
    ) -> Any:
        summary = source_summary(name)
        if summary.records == 0:
            return JSONResponse({"error": f"the catalogue holds no live record of source {name!r}"}, status_code=404)
        return summary.to_json(limit=top)
