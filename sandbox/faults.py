"""Fault injection for replicas: what real portals do on a bad day, on demand and reproducibly.

A `FaultPlan` says which requests fail and how. The kinds:

* `status`    an HTTP error instead of the answer: 429 (with `Retry-After` if the plan gives one), 500, 502, 503, 504
* `stall`     the answer starts only after `stall_seconds`: past the client's timeout, so the client gives up
* `slow`      the answer arrives in full, but spread over `slow_seconds` (head late, body in trickles): within
              the timeout, so a client must simply wait
* `truncate`  the head promises Content-Length bytes, half of them arrive, the connection closes
* `malformed` a 200 of the right content type whose JSON or XML body does not parse (cut short with a matching
              Content-Length, a stray control byte, or a proxy's HTML error page); other content types pass unharmed
* `reset`     the connection is reset (TCP RST) before or in the middle of the answer
* `drop`      the connection is closed (FIN) without an answer
* `change`    `edit_count` random records of the replica get a new revision just before the request is answered:
              pages that change between calls. The edit goes through the replica's own `POST /_sandbox/edit`, so a
              replica that caches listings sees it as it sees any edit; the edits made are listed (id and time)
* `mixed`     one plan for "some of everything": each chosen request gets one of `kinds` (all of the above by
              default, every status separately), drawn with the plan's seed

Requests are chosen by a path pattern (matched against `path?query`) and either every n-th matching request or a
seeded random fraction, up to an optional total. Admin routes (`/_sandbox/...`) are never faulted.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import socket
import struct
import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, get_args

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.store import ReplicaStore

FaultKind = Literal["status", "stall", "slow", "truncate", "malformed", "reset", "drop", "change", "mixed"]
KINDS: tuple[str, ...] = get_args(FaultKind)
STATUSES = (429, 500, 502, 503, 504)
MIXED_KINDS: tuple[str, ...] = (
    *(f"status:{status}" for status in STATUSES),
    "stall",
    "slow",
    "truncate",
    "malformed",
    "reset",
    "drop",
    "change",
)
"""What a `mixed` plan draws from by default: every kind, each error status on its own."""

TRANSPORT_KEY = "sandbox.transport"
"""Where `expose_transport` puts the connection's asyncio transport in the ASGI scope (for resets and drops)."""


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
    slow_seconds: float = 0.5
    edit_count: int = 1
    kinds: list[str] | None = None
    """For `mixed`: the kinds to draw from (`status:NNN` for one status); None means `MIXED_KINDS`."""
    seed: int = 0
    injected: int = field(default=0)
    by_kind: dict[str, int] = field(default_factory=dict)
    """Faults injected per concrete kind (`status:503`, `reset`, ...)."""
    edited: list[tuple[str, str]] = field(default_factory=list)
    """For `change`: (native id, ISO stamp) of every edit made, in order."""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultPlan:
        counters = {"injected", "by_kind", "edited"}
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown fault plan keys: {', '.join(sorted(unknown))}")
        plan = cls(**{k: v for k, v in data.items() if k not in counters})
        if plan.kind not in KINDS:
            raise ValueError(f"fault kind {plan.kind!r} is not one of {', '.join(KINDS)}")
        for kind in plan.kinds or ():
            _concrete(kind)
        if not 0 <= plan.rate <= 1:
            raise ValueError(f"fault rate {plan.rate} is not a fraction between 0 and 1")
        try:
            re.compile(plan.path)
        except re.error as error:
            raise ValueError(f"fault plan path {plan.path!r} is not a regular expression: {error}") from None
        return plan

    @classmethod
    def everything(
        cls, rate: float = 0.1, *, seed: int = 0, retry_after: float = 1, stall_seconds: float = 5.0, **options: Any
    ) -> FaultPlan:
        """`rate` of all requests faulted, each with one kind drawn from every kind there is."""
        return cls(kind="mixed", rate=rate, seed=seed, retry_after=retry_after, stall_seconds=stall_seconds, **options)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _concrete(kind: str) -> tuple[str, int | None]:
    """`status:502` → ("status", 502); `reset` → ("reset", None). Raises ValueError for anything else."""
    name, _, status = kind.partition(":")
    if name == "status" and status.isdigit() and 400 <= int(status) <= 599:
        return name, int(status)
    if name in KINDS and name not in ("status", "mixed") and not status:
        return name, None
    raise ValueError(f"{kind!r} is not a fault kind for a mixed plan (e.g. {', '.join(MIXED_KINDS)})")


@dataclass(frozen=True)
class _Chosen:
    plan: FaultPlan
    kind: str
    status: int
    random: random.Random


class FaultInjector:
    """ASGI middleware applying the current fault plans to matching requests.

    `store` is the replica's store, needed only by `change` plans.
    """

    def __init__(self, app: ASGIApp, store: ReplicaStore | None = None) -> None:
        self.app = app
        self.store = store
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
            return [p.to_dict() for p in self.plans]

    def _choose(self, path: str) -> _Chosen | None:
        with self._lock:
            for number, plan in enumerate(self.plans):
                if plan.max_faults is not None and plan.injected >= plan.max_faults:
                    continue
                if not re.search(plan.path, path):
                    continue
                seen = self._seen[number] = self._seen.get(number, 0) + 1
                draw = self._random[number]
                hit = (plan.every is not None and seen % plan.every == 0) or (
                    plan.rate > 0 and draw.random() < plan.rate
                )
                if not hit:
                    continue
                if plan.kind == "mixed":
                    kind, status = _concrete(draw.choice(plan.kinds or MIXED_KINDS))
                else:
                    kind, status = plan.kind, plan.status
                # counted now, even for a `malformed` that finds nothing to corrupt, so `max_faults` stays a bound
                plan.injected += 1
                label = f"status:{status}" if kind == "status" else kind
                plan.by_kind[label] = plan.by_kind.get(label, 0) + 1
                return _Chosen(plan, kind, status or 503, draw)
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path.startswith("/_sandbox"):
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"").decode()
        chosen = self._choose(f"{path}?{query}" if query else path)
        if chosen is None:
            await self.app(scope, receive, send)
            return
        plan, kind = chosen.plan, chosen.kind
        if kind == "status":
            # a mixed plan's Retry-After goes only where servers send it: 429 and 503
            wait = plan.retry_after if plan.kind == "status" or chosen.status in (429, 503) else None
            await _send_status(send, chosen.status, wait)
        elif kind == "stall":
            await asyncio.sleep(plan.stall_seconds)
            await self.app(scope, receive, send)
        elif kind == "slow":
            await asyncio.sleep(plan.slow_seconds / 2)
            await self.app(scope, receive, _trickling(send, plan.slow_seconds / 2))
        elif kind == "truncate":
            await self.app(scope, receive, _truncating(scope, send))
        elif kind == "malformed":
            await self.app(scope, receive, _malforming(send, chosen.random))
        elif kind == "reset":
            if chosen.random.random() < 0.5:
                await _abort(scope, reset=True)
            else:
                await self.app(scope, receive, _resetting_mid_body(scope, send))
        elif kind == "drop":
            await _abort(scope, reset=False)
        elif kind == "change":
            await self._edit(plan, chosen.random)
            await self.app(scope, receive, send)
        else:  # pragma: no cover - from_dict and _concrete admit nothing else
            raise AssertionError(kind)

    async def _edit(self, plan: FaultPlan, draw: random.Random) -> None:
        store = self.store
        if store is None or len(store.base) == 0:
            return
        chosen: list[str] = []
        for _ in range(plan.edit_count):
            for _attempt in range(20):  # a few tries to land on a live record
                native_id = store.base.native_id(draw.randrange(len(store.base)))
                if store.find(native_id) is not None:
                    chosen.append(native_id)
                    break
        if not chosen:
            return
        answer = await _call(self.app, "POST", "/_sandbox/edit", orjson.dumps({"ids": chosen}))
        when = datetime.now(UTC).isoformat()
        edited = orjson.loads(answer).get("edited", []) if answer else []
        with self._lock:
            plan.edited.extend((str(native_id), when) for native_id in edited)


async def _call(app: ASGIApp, method: str, path: str, body: bytes) -> bytes:
    """One request straight into the app (no network), for the replica's own admin routes; returns the body."""
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 0),
        "server": ("127.0.0.1", 0),
    }
    sent = False
    chunks: list[bytes] = []

    async def receive() -> Message:
        nonlocal sent
        if sent:
            await asyncio.Event().wait()  # nothing more: the request was read whole
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return b"".join(chunks)


async def _send_status(send: Send, status: int, retry_after: float | None) -> None:
    body = f'{{"status": {status}, "message": "sandbox fault injection"}}'.encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if retry_after is not None:
        headers.append((b"retry-after", str(int(retry_after)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _truncating(scope: Scope, send: Send) -> Send:
    """Forward the response head but only half the body, then abort: the client sees a short read.

    The head waits for the first body part: an empty body cannot be cut short, so its head is never sent and the
    connection closes instead (still a request that fails).
    """
    head: list[Message] = []

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            head.append(message)
            return
        if message["type"] == "http.response.body":
            body = message.get("body", b"")
            if not body and not message.get("more_body", False):
                await _abort(scope, reset=False)
                return
            await _send_head(send, head)
            await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
            raise ConnectionAbortedError("sandbox fault: body truncated")
        await send(message)

    return wrapped


async def _send_head(send: Send, head: list[Message]) -> None:
    if head:
        await send(head.pop())


def _trickling(send: Send, seconds: float, pieces: int = 4) -> Send:
    """Send each body part in `pieces` chunks spread over `seconds` (the head goes out at once)."""

    async def wrapped(message: Message) -> None:
        if message["type"] != "http.response.body":
            await send(message)
            return
        body: bytes = message.get("body", b"")
        more = message.get("more_body", False)
        step = max(1, -(-len(body) // pieces))
        chunks = [body[i : i + step] for i in range(0, len(body), step)] or [b""]
        for number, chunk in enumerate(chunks):
            await asyncio.sleep(seconds / len(chunks))
            last = number == len(chunks) - 1
            await send({"type": "http.response.body", "body": chunk, "more_body": more or not last})

    return wrapped


_HTML_ERROR_PAGE = b"<html><head><title>Error</title></head><body><p>upstream timed out<br></body></html>\n"


def corrupt(body: bytes, content_type: str, draw: random.Random) -> bytes | None:
    """A version of a JSON or XML body that no parser accepts; None if the content type is neither."""
    media = content_type.lower()
    if "json" not in media and "xml" not in media:
        return None
    how = draw.choice(("cut", "control", "html"))
    if how == "cut" and len(body) >= 2:
        return body[: len(body) // 2]
    if how == "control" and body:
        # U+0001 is neither allowed in XML 1.0 nor unescaped in a JSON string, and breaks JSON between tokens too
        at = draw.randrange(len(body))
        return body[:at] + b"\x01" + body[at:]
    return _HTML_ERROR_PAGE


def _malforming(send: Send, draw: random.Random) -> Send:
    """Buffer the answer; a 200 with a JSON or XML body goes out corrupted, with a Content-Length that matches."""
    head: list[Message] = []
    parts: list[bytes] = []

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            head.append(message)
            return
        if message["type"] != "http.response.body" or not head:
            await send(message)
            return
        parts.append(message.get("body", b""))
        if message.get("more_body", False):
            return
        start, body = head[0], b"".join(parts)
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        content_type = next((v.decode("latin-1") for k, v in headers if k.lower() == b"content-type"), "")
        bad = corrupt(body, content_type, draw) if start["status"] == 200 else None
        body = body if bad is None else bad
        headers.append((b"content-length", str(len(body)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return wrapped


def _resetting_mid_body(scope: Scope, send: Send) -> Send:
    """Send the head and part of the body, then reset the connection (an empty body: reset before the head)."""
    head: list[Message] = []
    done: list[bool] = []

    async def wrapped(message: Message) -> None:
        if done:
            return  # the connection is gone: whatever the app still sends goes nowhere
        if message["type"] == "http.response.start":
            head.append(message)
            return
        if message["type"] == "http.response.body":
            done.append(True)
            body = message.get("body", b"")
            if body or message.get("more_body", False):
                await _send_head(send, head)
                await send({"type": "http.response.body", "body": body[: len(body) // 3], "more_body": True})
            await _abort(scope, reset=True)
            return
        await send(message)

    return wrapped


async def _abort(scope: Scope, *, reset: bool) -> None:
    """Close the connection under the request: with a TCP RST (`reset`) or a plain FIN, and no (further) answer."""
    transport = scope.get(TRANSPORT_KEY)
    if transport is None:
        # not served by uvicorn's protocols: the closest we can do is an exception, which the server turns into
        # a closed connection (or a 500 if nothing was sent yet)
        raise ConnectionAbortedError("sandbox fault: connection dropped")
    if reset:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # linger on, timeout 0: close() discards unsent data and sends RST instead of FIN
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    else:
        transport.close()
    # let connection_lost run so the server sees a client gone, not an app that forgot to answer
    for _ in range(3):
        await asyncio.sleep(0)


def expose_transport(app: ASGIApp) -> ASGIApp:
    """Outermost middleware: put the connection's transport in the scope so `reset` and `drop` can reach the socket.

    uvicorn's `send` is a bound method of its request cycle, which holds the transport; any other server simply
    gets no transport, and the faults fall back to raising.
    """

    async def exposed(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            transport = getattr(getattr(send, "__self__", None), "transport", None)
            if transport is not None:
                scope[TRANSPORT_KEY] = transport
        await app(scope, receive, send)

    return exposed


class _InjectedFaultFilter(logging.Filter):
    """Injected faults are the point of the exercise, not server errors: keep them out of the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not (isinstance(error, ConnectionAbortedError) and "sandbox fault" in str(error))


def quiet_injected_faults() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _InjectedFaultFilter) for f in logger.filters):
        logger.addFilter(_InjectedFaultFilter())
