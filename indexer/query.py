"""The one query model every search backend executes, and the result shape every interface prints.

A `Query` is built from the strings people type (CLI options, API query parameters) by `Query.parse`; the CLI's
`--json`, the HTTP API and the Python API all return `SearchResult.to_json()`, so the same query gives the same
answer everywhere.

Filters: `field=value` (several values of one field are OR-ed; different fields are AND-ed), ranges
`field=low..high` (either side may be empty; bounds inclusive), and the overlap filters `energy=1TeV..100TeV` and
`date=2015-01-01..2018-12-31` (`indexer.query_text`: a record matches when its energy interval or √s, or its temporal
coverage or else its issued date, meets the range; several of one kind are OR-ed), `sqrt_s=13TeV` (√s with units).
Facets: keyword field names and `year`, and the histograms `year_histogram` and `energy_histogram`
(`indexer.histograms`). Sort: `relevance` (the default with text), a field name for ascending, `-field` for
descending (`-issued` is the default without text). `fields` projects each hit's summary onto some of its keys;
`highlight` adds the matched fragments of the title and description (`indexer.highlight`); `disjunctive` counts each
facet without the filters on its own field (`indexer.disjunctive`).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
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
    "site": "keyword",
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
    "date_start_ts": "integer",
    "date_end_ts": "integer",
}
"""Filterable fields and their kinds. Facets are allowed on keyword fields and on `year`."""

FACETABLE = (*(name for name, kind in FIELDS.items() if kind == "keyword"), "year")
HISTOGRAMS = ("year_histogram", "energy_histogram")
"""Facets that are histograms: datasets per year (every year between the first and the last that has one, zeros
included) and per decade of energy in GeV (datasets whose energy interval or √s meets the decade)."""
SORTABLE = ("relevance", "issued", "title", "year", "size_bytes", "sqrt_s_gev", "modified")
MAX_SIZE = 1000
OVERLAP_FILTERS = ("energy", "date")
PROJECTABLE = (
    "title",
    "source",
    "experiments",
    "issued",
    "year",
    "doi",
    "resource_type",
    "landing_page",
    "file_count",
    "size_bytes",
    "description",
    "cluster_id",
    "records",
)
"""Summary fields a hit carries (`indexer.document.SUMMARY_KEYS`), which `fields=` can choose from."""
PROJECTION_ALIASES = {"experiment": "experiments"}


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
    overlaps: tuple[tuple[str, tuple[Range, ...]], ...] = ()
    """`energy` and `date` overlap filters: each name's ranges (GeV or seconds since 1970) are OR-ed."""
    fields: tuple[str, ...] | None = None
    """The summary fields each hit returns (None: all of them)."""
    highlight: bool = False
    disjunctive: bool = False
    """Count each facet without the query's own filters on that facet's field (`indexer.disjunctive`), so the
    other values of a filtered field stay visible with the counts they would add."""

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
        fields: Iterable[str] | None = None,
        highlight: bool = False,
        disjunctive: bool = False,
    ) -> Query:
        """Build a query from the strings of the CLI or the API; raises `QueryError` naming what is wrong."""
        from indexer.query_text import parse_overlap_filter, rewrite_text, sqrt_s_range

        values: dict[str, list[str]] = {}
        ranges: dict[str, Range] = {}
        overlaps: dict[str, list[Range]] = {}
        rewrite_text(text)  # refuse a text that cannot be read now, with its position
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
            if name in OVERLAP_FILTERS:
                found = parse_overlap_filter(name, value, offset=len(name) + 1)
                if found not in overlaps.setdefault(name, []):
                    overlaps[name].append(found)
                continue
            if name == "sqrt_s":
                ranges["sqrt_s_gev"] = sqrt_s_range(value, offset=len(name) + 1)
                continue
            kind = FIELDS.get(name)
            if kind is None:
                raise QueryError(
                    f"unknown filter field {name!r}",
                    parameter="filter",
                    position=0,
                    hint="fields: " + ", ".join(sorted([*FIELDS, *OVERLAP_FILTERS, "sqrt_s"])),
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
                if name not in FACETABLE and name not in HISTOGRAMS:
                    raise QueryError(
                        f"cannot facet on {name!r}",
                        parameter="facet",
                        hint="facets: " + ", ".join((*FACETABLE, *HISTOGRAMS)),
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
            overlaps=tuple(sorted((k, tuple(v)) for k, v in overlaps.items())),
            fields=_projection(fields),
            highlight=highlight,
            disjunctive=disjunctive,
        )

    def with_cursor(self, cursor: str | None) -> Query:
        return replace(self, cursor=cursor)

    @property
    def terms_facets(self) -> tuple[str, ...]:
        """The facets that count field values (not the histograms)."""
        return tuple(name for name in self.facets if name not in HISTOGRAMS)

    def project(self, summary: Mapping[str, Any]) -> dict[str, Any]:
        """The summary fields this query returns per hit."""
        keys = PROJECTABLE if self.fields is None else self.fields
        return {key: summary.get(key) for key in keys}


def _projection(fields: Iterable[str] | None) -> tuple[str, ...] | None:
    if fields is None:
        return None
    chosen: list[str] = []
    for item in fields:
        for name in (f.strip() for f in item.split(",")):
            if not name:
                continue
            key = PROJECTION_ALIASES.get(name, name)
            if key not in PROJECTABLE:
                raise QueryError(
                    f"there is no hit field {name!r} to return",
                    parameter="fields",
                    hint="fields: " + ", ".join(PROJECTABLE) + " (id and score are always returned)",
                )
            if key not in chosen:
                chosen.append(key)
    return tuple(chosen) if chosen else None


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
    low: float | None = None
    """A histogram bucket's bounds (the energy histogram's, in GeV, both inclusive)."""
    high: float | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"value": self.value, "count": self.count}
        if self.low is not None or self.high is not None:
            out["low"] = self.low
            out["high"] = self.high
        return out


@dataclass(frozen=True)
class Hit:
    """A search hit: the record id, its score (relevance sort only) and the summary fields of the index."""

    id: str
    score: float | None
    fields: Mapping[str, Any]
    highlight: Mapping[str, Sequence[str]] | None = None
    """With `highlight=true`: the title's and description's fragments with `<mark>` around what matched."""


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
            "hits": [_hit_json(h) for h in self.hits],
            "facets": {name: [v.to_json() for v in values] for name, values in self.facets.items()},
            "next_cursor": self.next_cursor,
        }


def _hit_json(hit: Hit) -> dict[str, Any]:
    out = {"id": hit.id, "score": hit.score, **hit.fields}
    if hit.highlight is not None:
        out["highlight"] = {name: list(fragments) for name, fragments in hit.highlight.items()}
    return out


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
