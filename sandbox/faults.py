"""Fault injection for replicas: what real portals do on a bad day, on demand and reproducibly.

A `FaultPlan` says which requests fail and how: an HTTP status (429 with `Retry-After`, 500, 502, 503), a
response that stalls past the client's timeout, a body cut short (the connection closes before Content-Length
bytes), or an abruptly dropped connection. Requests are chosen by a path pattern and either every n-th matching
request or a seeded random fraction, up to an optional total. Admin routes (`/_sandbox/...`) are never faulted.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import threading
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from starlette.types import ASGIApp, Message, Receive, Scope, Send

FaultKind = Literal["status", "stall", "truncate", "drop"]


@dataclass
class FaultPlan:
    kind: FaultKind = "status"
    status: int = 503
    retry_after: float | None = None
    path: str = ".*"
    every: int | None = None
    rate: float = 0.0
    max_faults: int | None = None
    stall_seconds: float = 5.0
    seed: int = 0
    injected: int = field(default=0)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultPlan:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__ and k != "injected"}
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown fault plan keys: {', '.join(sorted(unknown))}")
        plan = cls(**known)
        if plan.kind not in ("status", "stall", "truncate", "drop"):
            raise ValueError(f"fault kind {plan.kind!r} is not one of status, stall, truncate, drop")
        re.compile(plan.path)
        return plan


class FaultInjector:
    """ASGI middleware applying the current fault plans to matching requests."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.plans: list[FaultPlan] = []
        self._seen: dict[int, int] = {}
        self._random: dict[int, random.Random] = {}
        self._lock = threading.Lock()

    def set_plans(self, plans: list[FaultPlan]) -> None:
        with self._lock:
            self.plans = plans
            self._seen = {}
            self._random = {i: random.Random(p.seed) for i, p in enumerate(plans)}

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(p) for p in self.plans]

    def _choose(self, path: str) -> FaultPlan | None:
        with self._lock:
            for number, plan in enumerate(self.plans):
                if plan.max_faults is not None and plan.injected >= plan.max_faults:
                    continue
                if not re.search(plan.path, path):
                    continue
                seen = self._seen[number] = self._seen.get(number, 0) + 1
                hit = (plan.every is not None and seen % plan.every == 0) or (
                    plan.rate > 0 and self._random[number].random() < plan.rate
                )
                if hit:
                    plan.injected += 1
                    return plan
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path.startswith("/_sandbox"):
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"").decode()
        plan = self._choose(f"{path}?{query}" if query else path)
        if plan is None:
            await self.app(scope, receive, send)
        elif plan.kind == "status":
            await _send_status(send, plan)
        elif plan.kind == "stall":
            await asyncio.sleep(plan.stall_seconds)
            await self.app(scope, receive, send)
        elif plan.kind == "truncate":
            await self.app(scope, receive, _truncating(send))
        else:
            raise ConnectionAbortedError("sandbox fault: connection dropped")


async def _send_status(send: Send, plan: FaultPlan) -> None:
    body = f'{{"status": {plan.status}, "message": "sandbox fault injection"}}'.encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if plan.retry_after is not None:
        headers.append((b"retry-after", str(int(plan.retry_after)).encode()))
    await send({"type": "http.response.start", "status": plan.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _truncating(send: Send) -> Send:
    """Forward the response head unchanged but only half the body, then abort: the client sees a short read."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.body":
            body = message.get("body", b"")
            await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
            raise ConnectionAbortedError("sandbox fault: body truncated")
        await send(message)

    return wrapped


class _InjectedFaultFilter(logging.Filter):
    """Injected faults are the point of the exercise, not server errors: keep them out of the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not (isinstance(error, ConnectionAbortedError) and "sandbox fault" in str(error))


def quiet_injected_faults() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _InjectedFaultFilter) for f in logger.filters):
        logger.addFilter(_InjectedFaultFilter())
