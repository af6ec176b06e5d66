"""`/api/search` without FastAPI's per-request parameter machinery, for the requests that need none of it.

FastAPI validates the query parameters of every request through pydantic models built from the endpoint's signature:
under load that was about a third of the service's time outside tantivy (measured with py-spy in
`bench/search_load.py`). `PlainSearchRoute` answers a search whose parameters are all plainly well-formed (a size of
digits in range, `highlight` and `disjunctive` of true/false/1/0) itself, with exactly the values FastAPI would have
passed; any other request goes on to the documented FastAPI route, which gives its usual answer (a 422 naming the
parameter, or a lenient reading such as `highlight=yes`). The OpenAPI description still comes from the FastAPI route.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import Receive, Scope, Send

SearchAnswer = Callable[..., Response]
"""The documented endpoint's function, called with its keyword arguments."""

MAX_SIZE = 1000
BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


def plain_search_arguments(params: QueryParams) -> dict[str, Any] | None:
    """The endpoint's keyword arguments as FastAPI would bind them, or None when FastAPI has to decide (a value to
    refuse, or one pydantic reads leniently)."""
    size = params.get("size")
    if size is not None and not _plain_size(size):
        return None
    highlight = params.get("highlight")
    disjunctive = params.get("disjunctive")
    if any(flag is not None and flag not in BOOLEANS for flag in (highlight, disjunctive)):
        return None
    # Like FastAPI: a single-valued parameter takes its last occurrence, a list all of them, None when absent.
    return {
        "q": params.get("q", ""),
        "facet": params.getlist("facet") or None,
        "filter": params.getlist("filter") or None,
        "sort": params.get("sort"),
        "size": 20 if size is None else int(size),
        "cursor": params.get("cursor"),
        "fields": params.get("fields"),
        "highlight": False if highlight is None else BOOLEANS[highlight],
        "disjunctive": False if disjunctive is None else BOOLEANS[disjunctive],
    }


def _plain_size(text: str) -> bool:
    """Digits pydantic reads as the same number (no sign, spaces or leading zeros), within the allowed range."""
    digits = text.isascii() and text.isdigit() and len(text) <= 4
    return digits and (text == "0" or text[0] != "0") and int(text) <= MAX_SIZE


class PlainSearchRoute(Route):
    """Matches `GET /api/search` before the documented route; see the module doc."""

    def __init__(self, path: str, answer: SearchAnswer, documented: APIRoute) -> None:
        super().__init__(path, self._serve, methods=["GET"], include_in_schema=False)
        self.app = self._serve  # an ASGI callable (Route would wrap a function as request -> response)
        self.methods = {"GET"}  # as the documented route: Starlette would add HEAD, which FastAPI's route refuses
        self._answer = answer
        self._documented = documented

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        arguments = plain_search_arguments(request.query_params)
        if arguments is None:
            match, child = self._documented.matches(scope)
            if match is Match.FULL:
                scope.update(child)
            await self._documented.handle(scope, receive, send)
            return
        response = await run_in_threadpool(self._answer, request, **arguments)
        await response(scope, receive, send)


def add_plain_search_route(app: FastAPI, path: str, answer: SearchAnswer) -> None:
    """Put a `PlainSearchRoute` in front of the documented FastAPI route of `path` (which must exist)."""
    documented = next(route for route in app.router.routes if isinstance(route, APIRoute) and route.path == path)
    app.router.routes.insert(0, PlainSearchRoute(path, answer, documented))
