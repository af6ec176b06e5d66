"""Conditional GET for every replica: validators on 200 answers, 304 to a client that already has the answer.

Real portals differ here (Invenio sends ETag and Last-Modified on record pages, most search endpoints send neither);
the sandbox gives every GET 200 a strong ETag (a hash of the body, so two answers share one only if they are the
same bytes) and, where the replica can say when the thing answered last changed, a Last-Modified. A route that sets
its own ETag or Last-Modified keeps it. Requests are then evaluated as RFC 9110 §13.2.2 says: `If-None-Match` first
(weak comparison, `*` for any), `If-Modified-Since` only without it; a match gets 304 with the validators and no body.
HEAD requests pass unchanged (their validators would need the body a HEAD answer does not have).
"""

from __future__ import annotations

import email.utils
import hashlib
import re
from collections.abc import Callable
from datetime import UTC, datetime

from starlette.types import ASGIApp, Message, Receive, Scope, Send

LastModified = Callable[[str, str], datetime | None]
"""Given a request's path and query string, when what it answers last changed (None: the replica cannot say)."""

_ENTITY_TAG = re.compile(r'\*|(?:W/)?"[^"]*"')
_KEPT_ON_304 = {b"etag", b"last-modified", b"cache-control", b"content-location", b"date", b"expires", b"vary"}


def entity_tag(body: bytes) -> str:
    """The strong ETag of a body: 128 bits of BLAKE2b, quoted."""
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def http_date(when: datetime) -> str:
    return email.utils.format_datetime(when.astimezone(UTC).replace(microsecond=0), usegmt=True)


def _opaque(tag: str) -> str:
    return tag[2:] if tag.startswith("W/") else tag


def none_match(header: str, etag: str | None) -> bool:
    """Whether an `If-None-Match` value matches the current ETag (weak comparison, as the RFC asks for GET)."""
    tags = _ENTITY_TAG.findall(header)
    if "*" in tags:
        return True
    return etag is not None and _opaque(etag) in {_opaque(t) for t in tags}


def not_modified_since(header: str, last_modified: str | None) -> bool:
    """Whether the resource is unchanged since an `If-Modified-Since` date (an unreadable date never matches)."""
    if last_modified is None:
        return False
    try:
        since = email.utils.parsedate_to_datetime(header)
        changed = email.utils.parsedate_to_datetime(last_modified)
    except (TypeError, ValueError, IndexError):
        return False
    if since.tzinfo is None or changed.tzinfo is None:
        return False
    return changed <= since


class ConditionalGet:
    """ASGI middleware adding validators to GET 200s and answering matching conditional GETs with 304.

    The whole answer is buffered to hash it; replicas answer pages of metadata, not bulk data, so that is cheap.
    """

    def __init__(self, app: ASGIApp, last_modified: LastModified | None = None) -> None:
        self.app = app
        self.last_modified = last_modified

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or scope.get("method") != "GET" or path.startswith("/_sandbox"):
            await self.app(scope, receive, send)
            return
        request_headers = {k.lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        head: list[Message] = []
        parts: list[bytes] = []

        async def buffered(message: Message) -> None:
            if message["type"] == "http.response.start":
                head.append(message)
                if message["status"] != 200:
                    await send(message)
                return
            if message["type"] != "http.response.body" or not head or head[0]["status"] != 200:
                await send(message)
                return
            parts.append(message.get("body", b""))
            if not message.get("more_body", False):
                await self._answer(scope, request_headers, head[0], b"".join(parts), send)

        await self.app(scope, receive, buffered)

    async def _answer(self, scope: Scope, request: dict[bytes, str], start: Message, body: bytes, send: Send) -> None:
        headers: list[tuple[bytes, bytes]] = list(start.get("headers", []))
        names = {k.lower() for k, _ in headers}
        if b"etag" not in names:
            headers.append((b"etag", entity_tag(body).encode()))
        if b"last-modified" not in names and self.last_modified is not None:
            when = self.last_modified(scope.get("path", ""), scope.get("query_string", b"").decode("latin-1"))
            if when is not None:
                headers.append((b"last-modified", http_date(when).encode()))
        current = {k.lower(): v.decode("latin-1") for k, v in headers}
        if b"if-none-match" in request:
            unchanged = none_match(request[b"if-none-match"], current.get(b"etag"))
        elif b"if-modified-since" in request:
            unchanged = not_modified_since(request[b"if-modified-since"], current.get(b"last-modified"))
        else:
            unchanged = False
        if unchanged:
            kept = [(k, v) for k, v in headers if k.lower() in _KEPT_ON_304]
            await send({"type": "http.response.start", "status": 304, "headers": kept})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body})
