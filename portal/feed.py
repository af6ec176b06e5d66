"""`/api/changes?since=SEQ`: the catalogue's change feed for downstream portals, and the API's HTTP manners (CORS,
ETags on search answers).

A downstream portal keeps the last `seq` it processed and asks for what came after; each change names a record
and whether it was upserted (fetch `/api/records/{id}`) or deleted (drop it). An upsert also comes when a record's
cluster changed (the same dataset found in another source), so a mirror of the search hits stays right.
"""

from __future__ import annotations

import hashlib
import os
from typing import Annotated, Any

import orjson
from fastapi import FastAPI, Request
from fastapi import Query as Param
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response

from dmlake.lake import Lake

CORS_ENV = "DMLAKE_CORS_ORIGINS"
"""Comma-separated origins allowed to call the API from a browser; `*` (the default: the API is public and read-only)
or none at all with an empty value."""


def add_cors(app: FastAPI, environ: dict[str, str] | None = None) -> None:
    setting = (environ if environ is not None else dict(os.environ)).get(CORS_ENV, "*")
    origins = [origin.strip() for origin in setting.split(",") if origin.strip()]
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Accept", "Content-Type", "If-None-Match"],
            expose_headers=["ETag"],
        )


def json_with_etag(request: Request, body: Any) -> Response:
    """The JSON answer with a strong ETag of its bytes; `If-None-Match` with that tag gets a 304 without the body."""
    content = orjson.dumps(body)
    etag = f'"{hashlib.sha256(content).hexdigest()[:32]}"'
    if etag in (tag.strip() for tag in request.headers.get("if-none-match", "").split(",")):
        return Response(status_code=304, headers={"ETag": etag})
    return Response(content, media_type="application/json", headers={"ETag": etag})


def add_feed_routes(app: FastAPI, lake: Lake) -> None:
    @app.get("/api/changes", summary="The change feed: what changed after a sequence number", tags=["feed"])
    def changes(
        request: Request,
        since: Annotated[
            int, Param(ge=0, description="The last sequence number already processed (0: from the start).")
        ],
        limit: Annotated[int, Param(ge=1, le=10_000, description="At most this many changes.")] = 1000,
    ) -> Response:
        found = lake.catalogue.changes_since(since, limit)
        last = lake.catalogue.last_seq()
        if since > last:
            return JSONResponse(
                {
                    "error": f"since={since} is after the newest change ({last}): was the catalogue rebuilt?",
                    "last_seq": last,
                },
                status_code=400,
            )
        body = {
            "since": since,
            "changes": [{"seq": c.seq, "record_id": c.record_id, "kind": c.kind} for c in found],
            "next_since": found[-1].seq if found else since,
            "last_seq": last,
            "more": bool(found) and found[-1].seq < last,
        }
        return json_with_etag(request, body)
