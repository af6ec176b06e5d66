"""A record's cluster over HTTP: `/api/records/{id}/cluster` — the records of the same dataset from every source,
the rule that joined each and every link (undone ones too, with the reason). Undoing a merge is a data manager's
act: `dmlake identity undo` (the admin API of issue 6 will mirror it behind a token)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from dmlake.lake import Lake, RecordNotFound


def add_identity_routes(app: FastAPI, lake: Lake) -> None:
    """Register the route; call before the `/api/records/{id}` route, whose path would otherwise take `…/cluster`."""

    @app.get(
        "/api/records/{record_id:path}/cluster",
        summary="The records of the same dataset from every source, and the rules that merged them",
        tags=["records"],
        responses={404: {"description": "No such record."}},
    )
    def record_cluster(record_id: str) -> Any:
        try:
            stored = lake.record(record_id)
        except RecordNotFound as error:
            return JSONResponse({"error": str(error)}, status_code=404)
        members = lake.catalogue.cluster(stored.id)
        answer = members.to_json()
        sources = {m: lake.catalogue.get(m) for m in members.members}
        for member in answer["members"]:
            found = sources.get(member["id"])
            if found is not None:
                member.update(source=found.source, native_id=found.native_id, title=found.record.title)
        return answer
