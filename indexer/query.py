"""The one query model every search backend executes, and the result shape every interface prints.

A `Query` is built from the strings people type (CLI options, API query parameters) by `Query.parse`; the CLI's
`--json`, the HTTP API and the Python API all return `SearchResult.to_json()`, so the same query gives the same
answer everywhere.

Filters: `field=value` (several values of one field are OR-ed; different fields are AND-ed), ranges
`field=low..high` (either side may be empty; bounds inclusive). Facets: field names. Sort: `relevance` (the default
with text), a field name for ascending, `-field` for descending (`-issued` is the default without text).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

FieldKind = Literal["keyword", "integer", "float", "text"]

FIELDS: dict[str, FieldKind] = {
    "experiment": "keyword",
    "collaboration": "keyword",
    "messenger": "keyword",
    "technique": "keyword",
    "resource_category": "keyword",
    "resource_type": "keyword",
    "data_level": "keyword",
    "file_format": "keyword",
    "license": "keyword",
    "availability": "keyword",
    "source": "keyword",
    "collision_type": "keyword",
    "target": "keyword",
    "keyword": "keyword",
    "doi": "keyword",
    "identifier": "keyword",
    "year": "integer",
    "sqrt_s_gev": "float",
    "energy_min_gev": "float",
    "energy_max_gev": "float",
    "size_bytes": "integer",
    "file_count": "integer",
}
"""Filterable fields and their kinds. Facets are allowed on keyword fields and on `year`."""

FACETABLE = (*(name for name, kind in FIELDS.items() if kind == "keyword"), "year")
SORTABLE = ("relevance", "issued", "title", "year", "size_bytes", "sqrt_s_gev", "modified")
MAX_SIZE = 1000


class QueryError(ValueError):
    """A query that cannot be understood: says which part, where, and what would work."""

    def __init__(self, message: str, *, parameter: str, position: int | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.parameter = parameter
        self.position = position
        self.hint = hint

    def to_json(self) -> dict[str, Any]:
        return {"error": self.message, "parameter": self.parameter, "position": self.position, "hint": self.hint}


@dataclass(frozen=True)
class Range:
    low: float | None = None
    high: float | None = None

    def __str__(self) -> str:
        def show(v: float | None) -> str:
            return "" if v is None else (str(int(v)) if float(v).is_integer() else str(v))

        return f"{show(self.low)}..{show(self.high)}"


@dataclass(frozen=True)
class Query:
    text: str = ""
    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()
    ranges: tuple[tuple[str, Range], ...] = ()
    facets: tuple[str, ...] = ()
    sort: str = ""
    size: int = 20
    cursor: str | None = None
    facet_size: int = 50

    @property
    def effective_sort(self) -> str:
        """The sort actually applied: relevance with text, newest first without."""
        return self.sort or ("relevance" if self.text.strip() else "-issued")

    @classmethod
    def parse(
        cls,
        text: str = "",
        *,
        filters: Iterable[str] = (),
        facets: Iterable[str] = (),
        sort: str | None = None,
        size: int = 20,
        cursor: str | None = None,
        facet_size: int = 50,
    ) -> Query:
        """Build a query from the strings of the CLI or the API; raises `QueryError` naming what is wrong."""
        values: dict[str, list[str]] = {}
        ranges: dict[str, Range] = {}
        for expression in filters:
            name, sep, value = expression.partition("=")
            name = name.strip()
            if not sep or not name:
                raise QueryError(
                    f"filter {expression!r} is not field=value",
                    parameter="filter",
                    position=0,
                    hint="write e.g. experiment=CMS or year=2010..2020",
                )
            kind = FIELDS.get(name)
            if kind is None:
                raise QueryError(
                    f"unknown filter field {name!r}",
                    parameter="filter",
                    position=0,
                    hint="fields: " + ", ".join(sorted(FIELDS)),
                )
            if kind in ("integer", "float") or ".." in value:
                if kind not in ("integer", "float"):
                    raise QueryError(
                        f"{name} is not a numeric field and takes no range",
                        parameter="filter",
                        position=len(name) + 1 + value.index(".."),
                        hint=f"write {name}=VALUE",
                    )
                ranges[name] = _parse_range(name, value, offset=len(name) + 1)
            else:
                values.setdefault(name, []).append(value.strip())
        facet_names = []
        for facet in facets:
            for name in (f.strip() for f in facet.split(",")):
                if not name:
                    continue
                if name not in FACETABLE:
                    raise QueryError(
                        f"cannot facet on {name!r}", parameter="facet", hint="facets: " + ", ".join(FACETABLE)
                    )
                if name not in facet_names:
                    facet_names.append(name)
        sort = (sort or "").strip()
        if sort and sort.lstrip("-") not in SORTABLE:
            raise QueryError(f"cannot sort on {sort!r}", parameter="sort", hint="sorts: " + ", ".join(SORTABLE))
        if not 0 <= size <= MAX_SIZE:
            raise QueryError(f"size {size} is out of range", parameter="size", hint=f"0..{MAX_SIZE}")
        return cls(
            text=text.strip(),
            filters=tuple(sorted((k, tuple(v)) for k, v in values.items())),
            ranges=tuple(sorted(ranges.items())),
            facets=tuple(facet_names),
            sort=sort,
            size=size,
            cursor=cursor or None,
            facet_size=facet_size,
        )

    def with_cursor(self, cursor: str | None) -> Query:
        return Query(self.text, self.filters, self.ranges, self.facets, self.sort, self.size, cursor, self.facet_size)


def _parse_range(name: str, value: str, offset: int) -> Range:
    low_text, sep, high_text = value.partition("..")
    if not sep:
        low_text = high_text = value

    def number(text: str, position: int) -> float | None:
        text = text.strip()
        if not text:
            return None
        try:
            return float(text)
        except ValueError:
            raise QueryError(
                f"{name}: {text!r} is not a number",
                parameter="filter",
                position=position,
                hint=f"write {name}=LOW..HIGH, e.g. year=2010..2020 (either side may be left open)",
            ) from None

    low = number(low_text, offset)
    high = number(high_text, offset + len(low_text) + 2)
    if low is not None and high is not None and low > high:
        raise QueryError(
            f"{name}: range {value!r} is empty (low > high)",
            parameter="filter",
            position=offset,
            hint="swap the bounds",
        )
    return Range(low, high)


@dataclass(frozen=True)
class FacetValue:
    value: str
    count: int


@dataclass(frozen=True)
class Hit:
    """A search hit: the record id, its score (relevance sort only) and the summary fields of the index."""

    id: str
    score: float | None
    fields: Mapping[str, Any]


@dataclass(frozen=True)
class SearchResult:
    total: int
    hits: Sequence[Hit]
    facets: Mapping[str, Sequence[FacetValue]] = field(default_factory=dict)
    next_cursor: str | None = None
    query: Query | None = None

    def to_json(self) -> dict[str, Any]:
        """The API's JSON: what `/api/search`, `dmlake search --json` and the Python API all return."""
        return {
            "total": self.total,
            "hits": [{"id": h.id, "score": h.score, **h.fields} for h in self.hits],
            "facets": {
                name: [{"value": v.value, "count": v.count} for v in values] for name, values in self.facets.items()
            },
            "next_cursor": self.next_cursor,
        }


def encode_cursor(state: Mapping[str, Any]) -> str:
    """An opaque, URL-safe cursor from a small JSON state."""
    return base64.urlsafe_b64encode(orjson.dumps(state)).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        data = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        raise QueryError(
            "the cursor is not one this service gave out",
            parameter="cursor",
            hint="pass next_cursor from the previous page unchanged",
        ) from None
    if not isinstance(data, dict):
        raise QueryError("the cursor is malformed", parameter="cursor", hint="pass next_cursor unchanged")
    return data


class SearchBackend:
    """What the portal, the CLI and the Python API use; implemented by the tantivy and Elasticsearch backends."""

    def search(self, query: Query) -> SearchResult:
        raise NotImplementedError
