"""Zenodo search pages read without building the records: each hit stays the bytes the server sent.

The harvest's main process reads every listing page, and that process is the serial part of a harvest. Parsing a
25-hit page into Python objects, writing each hit back out as the raw record's payload and freeing the page cost it
about 40 µs a record; the listing needs only each hit's id, update stamp and `links.self`. msgspec reads the page once
in C, hands each hit over as a slice of the body (`msgspec.Raw`), and decodes only those three fields of it, for
about 7 µs. The mapping workers parse the payload in full, as they did.

A payload is therefore exactly what Zenodo sent for the hit, byte for byte (it was the hit re-serialised with sorted
keys before): the raw store keeps the server's own bytes, and `raw_sha256` hashes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
import orjson


@dataclass(frozen=True, slots=True)
class Hit:
    """A search hit: the bytes the server sent for it, and the fields the listing reads (as sent: not checked)."""

    payload: bytes
    id: Any = None
    updated: Any = None
    self_link: Any = None

    @classmethod
    def of(cls, item: Any) -> Hit:
        """A hit from parsed JSON (a test's hit)."""
        return parse_record_body(orjson.dumps(item), "")

    def describe(self) -> str:
        return self.payload[:200].decode(errors="replace")


class _Head(msgspec.Struct):
    id: Any = None
    updated: Any = None
    links: Any = None


class _Hits(msgspec.Struct):
    hits: list[msgspec.Raw] | None = None
    total: Any = None


class _Body(msgspec.Struct):
    hits: _Hits | None = None


_BODY = msgspec.json.Decoder(_Body)
_HEAD = msgspec.json.Decoder(_Head)


def parse_search_body(data: bytes, where: str) -> Any:
    """A search page as `{"hits": {"hits": [Hit, ...], "total": ...}}` (`{}` without `hits`, no inner `hits` key
    where the body has none, `total` None where it has none); JSON that does
    not parse raises `ValueError` (the HTTP client retries it as a body cut short). A body of another shape is
    returned parsed as it is, for the listing's own checks to name what is wrong."""
    data.decode()  # msgspec does not check the UTF-8 of what it skips; orjson refused such a body, and so do we
    try:
        body = _BODY.decode(data)
    except msgspec.ValidationError:
        return orjson.loads(data)
    if body.hits is None:
        return {}
    hits: dict[str, Any] = {"total": body.hits.total}
    if body.hits.hits is not None:
        hits["hits"] = [_hit(bytes(raw), raw) for raw in body.hits.hits]
    return {"hits": hits}


def _hit(payload: bytes, raw: bytes | msgspec.Raw) -> Hit:
    try:
        head = _HEAD.decode(raw)
    except msgspec.ValidationError:  # not an object: a hit without id, which the listing refuses by name
        return Hit(payload)
    links = head.links
    return Hit(payload, head.id, head.updated, links.get("self") if isinstance(links, dict) else None)


def parse_record_body(data: bytes, where: str) -> Hit:
    """A record fetched by id, as a hit (its id None if the body is not a JSON object); JSON that does not parse
    raises `ValueError`."""
    data.decode()
    return _hit(data, data)
