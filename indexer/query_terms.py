"""What a filter, a range or a cursor asks for, checked once for every backend (tantivy and Elasticsearch then each
build their own query from the answer), so both refuse the same input with the same error."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from indexer.document import filter_terms
from indexer.query import FIELDS, Query, QueryError, Range, decode_cursor

MATCH_NOTHING = None
"""`range_limits` says so when no value can lie in the range."""


@dataclass(frozen=True)
class FilterValues:
    """A filter's values: numbers (a numeric field, each matched exactly) or the indexed terms they stand for."""

    numbers: list[float]
    terms: list[str]


def filter_values(name: str, values: Iterable[str]) -> FilterValues:
    kind = FIELDS.get(name)
    if kind is None:
        raise QueryError(f"unknown filter field {name!r}", parameter="filter", hint="fields: " + ", ".join(FIELDS))
    if kind in ("integer", "float"):
        numbers = []
        for value in values:
            try:
                numbers.append(float(value))
            except ValueError:
                raise QueryError(
                    f"{name}: {value!r} is not a number", parameter="filter", hint=f"write {name}=NUMBER"
                ) from None
        return FilterValues(numbers, [])
    return FilterValues([], list(dict.fromkeys(term for value in values for term in filter_terms(name, value))))


def range_limits(name: str, bounds: Range) -> tuple[float | int | None, float | int | None] | None:
    """The inclusive (low, high) a numeric range asks for, None for an open side (an infinite bound is open; integer
    bounds are rounded inwards and clipped to 64 bits), or `MATCH_NOTHING` when no value can be in it."""
    kind = FIELDS.get(name)
    if kind not in ("integer", "float"):
        raise QueryError(f"{name} is not a numeric field and takes no range", parameter="filter")
    if any(bound is not None and math.isnan(bound) for bound in (bounds.low, bounds.high)):
        raise QueryError(f"{name}: NaN is not a bound", parameter="filter", hint=f"write {name}=LOW..HIGH")
    low: float | int | None = None if bounds.low is None or bounds.low == -math.inf else bounds.low
    high: float | int | None = None if bounds.high is None or bounds.high == math.inf else bounds.high
    if low == math.inf or high == -math.inf:
        return MATCH_NOTHING
    if kind == "integer":
        low = None if low is None or low < -(2**63) else math.ceil(low)
        high = None if high is None or high >= 2**63 else math.floor(high)
        if low is not None and high is not None and low > high:
            return MATCH_NOTHING
        if (low is not None and low >= 2**63) or (high is not None and high < -(2**63)):
            return MATCH_NOTHING
    else:
        low = None if low is None else float(low)
        high = None if high is None else float(high)
    return low, high


def cursor_state(query: Query, sort: str, fingerprint: str, version: int) -> dict[str, Any] | None:
    """The decoded cursor of a query, refused if another sort, another version of the service or another query
    gave it out; None without a cursor."""
    if not query.cursor:
        return None
    state = decode_cursor(query.cursor)
    if state.get("v") != version or state.get("s") != sort:
        raise QueryError(
            "the cursor was given out for another sort or by another version of the service",
            parameter="cursor",
            hint="restart the query without a cursor",
        )
    if state.get("f") != fingerprint:
        raise QueryError(
            "the cursor belongs to a different query (text, filters or sort changed)",
            parameter="cursor",
            hint="pass next_cursor together with the same q, filters and sort it came with",
        )
    return state


def query_fingerprint(query: Query, sort: str) -> str:
    """What a cursor is bound to: the result set and its order (not the page size, the facets, the projection or
    highlighting); the same for every backend."""
    parts: list[Any] = [query.text, query.filters, [(n, r.low, r.high) for n, r in query.ranges], sort]
    if query.overlaps:  # appended only when present, so cursors of queries without them stay as they were
        parts.append([(n, [(r.low, r.high) for r in ranges]) for n, ranges in query.overlaps])
    return hashlib.blake2b(orjson.dumps(parts), digest_size=9).hexdigest()
