"""A tiny replica (numbered JSON items, page-number paging with `links.next`) for testing the shared machinery."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.replica import Replica
from sandbox.store import ListBase, ReplicaStore


class TinyReplica(Replica):
    kind = "tiny"

    def routes(self) -> list[BaseRoute]:
        return [Route("/items", self._list), Route("/items/{item_id}", self._get)]

    async def _list(self, request: Request) -> Response:
        page = int(request.query_params.get("page", "1"))
        size = int(request.query_params.get("size", "10"))
        start = (page - 1) * size
        entries = [self.store.entry(self.store.index_at_rank(rank)) for rank in range(start, start + size)]
        hits = [self.store.record(e) for e in entries if e is not None]
        links = {"self": f"{self.base_url}/items?page={page}&size={size}"}
        if start + size < len(self.store):
            links["next"] = f"{self.base_url}/items?page={page + 1}&size={size}"
        return JSONResponse({"hits": {"hits": hits, "total": len(self.store)}, "links": links})

    async def _get(self, request: Request) -> Response:
        entry = self.store.find(request.path_params["item_id"])
        if entry is None:
            return JSONResponse({"status": 404, "message": "no such item"}, status_code=404)
        return JSONResponse(self.store.record(entry))

    @classmethod
    def from_corpus(cls, corpus: Path) -> Replica | None:
        return None

    @classmethod
    def generated(cls, count: int, seed: int = 0) -> TinyReplica:
        items = [{"id": f"{i:04d}", "title": f"Item {i}", "padding": "x" * 2000} for i in range(count)]
        base = ListBase.build(items, lambda r: r["id"], lambda r: datetime(2024, 1, 1, tzinfo=UTC))
        return cls(ReplicaStore(base, lambda record, revision, when: {**record, "revision": revision}))
