"""What every portal replica has: the real API's routes over a `ReplicaStore`, plus admin routes for tests.

Admin routes live under `/_sandbox/` (never faulted, never part of the imitated API):

* `POST /_sandbox/edit`   `{"ids": [...]}` or `{"count": N, "seed": S}`: new revisions of records
* `POST /_sandbox/delete` same body: remove records (the API then answers as the real portal does for gone records)
* `PUT  /_sandbox/faults` a list of fault plans (see `sandbox.faults`); `GET` shows them with their counts
* `GET  /_sandbox/requests` the requests served so far (method, path, query, status, time received as Unix
  seconds, and the conditional headers `if_none_match` / `if_modified_since` when sent); `DELETE` clears the log
* `GET  /_sandbox/info` kind, live and deleted record counts
"""

from __future__ import annotations

import abc
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any, ClassVar

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.conditional import ConditionalGet
from sandbox.faults import FaultInjector, FaultPlan, expose_transport
from sandbox.store import ReplicaStore

_CONDITIONAL = {b"if-none-match": "if_none_match", b"if-modified-since": "if_modified_since"}
"""Request headers the log keeps (under these keys), so tests can see what a conditional GET sent."""


class RequestLog:
    """The last requests a replica answered, for tests that check what a harvest asked for."""

    def __init__(self, app: ASGIApp, keep: int = 200_000) -> None:
        self.app = app
        self.entries: deque[dict[str, Any]] = deque(maxlen=keep)
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "").startswith("/_sandbox"):
            await self.app(scope, receive, send)
            return
        status: list[int] = []
        received = time.time()

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            entry = {
                "method": scope["method"],
                "path": scope["path"],
                "query": scope.get("query_string", b"").decode(),
                "status": status[0] if status else None,
                "time": received,
            }
            for name, value in scope.get("headers", []):
                if name.lower() in _CONDITIONAL:
                    entry[_CONDITIONAL[name.lower()]] = value.decode("latin-1")
            with self._lock:
                self.entries.append(entry)

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.entries)

    def clear(self) -> None:
        with self._lock:
            self.entries.clear()


class Replica(abc.ABC):
    """A replica of one portal's API. Subclasses provide the routes and the two ways to be fed."""

    kind: ClassVar[str]
    """The connector kind this replica imitates (`cernopendata`, `zenodo`, `hepdata`, ...)."""

    def source_options(self) -> dict[str, Any]:
        """The connector options a sources file needs to harvest this replica (e.g. an OAI-PMH metadata prefix).

        Written under `[sources.NAME.options]` by `dmlake sandbox up`; most replicas need none.
        """
        return {}

    def __init__(self, store: ReplicaStore) -> None:
        self.store = store
        self.base_url = "http://127.0.0.1"
        """Set by the server once the port is known: replicas write absolute links (`links.next`) with it."""

    @abc.abstractmethod
    def routes(self) -> list[BaseRoute]:
        """The imitated API's routes."""

    @classmethod
    @abc.abstractmethod
    def from_corpus(cls, corpus: Path) -> Replica | None:
        """A replica serving the real records found under `corpus` (the layout of ../shared/corpus), or None."""

    @classmethod
    @abc.abstractmethod
    def generated(cls, count: int, seed: int = 0) -> Replica:
        """A replica serving `count` deterministic generated records in the source's real format."""

    # -- the ASGI application ---------------------------------------------------------------------------------
    def app(self) -> ASGIApp:
        """The replica as served: request log → fault injection → conditional GET → the imitated API.

        Faults sit outside conditional GET so a corrupted answer is corrupted after its validators were computed,
        as a broken proxy in front of a portal would; the log is outermost so it records faulted requests too.
        A replica that knows when what a request answers last changed defines `last_modified(path, query)`.
        """
        if not hasattr(self, "_app"):
            starlette = Starlette(routes=[*self.routes(), *self._admin_routes()])
            conditional = ConditionalGet(starlette, getattr(self, "last_modified", None))
            self.faults = FaultInjector(conditional, self.store)
            self.requests = RequestLog(self.faults)
            self._app: ASGIApp = expose_transport(self.requests)
        return self._app

    def _admin_routes(self) -> list[BaseRoute]:
        return [
            Route("/_sandbox/edit", self._edit, methods=["POST"]),
            Route("/_sandbox/delete", self._delete, methods=["POST"]),
            Route("/_sandbox/faults", self._faults, methods=["GET", "PUT"]),
            Route("/_sandbox/requests", self._requests, methods=["GET", "DELETE"]),
            Route("/_sandbox/info", self._info, methods=["GET"]),
        ]

    async def _chosen_ids(self, request: Request) -> list[str]:
        body = await request.json()
        if "ids" in body:
            return [str(i) for i in body["ids"]]
        return self.store.sample_ids(int(body.get("count", 0)), int(body.get("seed", 0)))

    async def _edit(self, request: Request) -> Response:
        return JSONResponse({"edited": self.store.edit(await self._chosen_ids(request))})

    async def _delete(self, request: Request) -> Response:
        return JSONResponse({"deleted": self.store.delete(await self._chosen_ids(request))})

    async def _faults(self, request: Request) -> Response:
        if request.method == "PUT":
            try:
                plans = [FaultPlan.from_dict(p) for p in await request.json()]
            except (TypeError, ValueError) as error:
                return JSONResponse({"error": str(error)}, status_code=400)
            self.faults.set_plans(plans)
        return JSONResponse(self.faults.describe())

    async def _requests(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.requests.clear()
        return JSONResponse(self.requests.snapshot())

    async def _info(self, request: Request) -> Response:
        return JSONResponse(
            {"kind": self.kind, "records": len(self.store), "base_records": len(self.store.base), "url": self.base_url}
        )
