"""The analysts' Python API: find datasets across experiments and open their files as xarray.

    from dmlake import Catalog

    cat = Catalog("~/dmlake-home")                    # a home on this machine, or "http://host:8000" (a service)
    found = cat.search(messenger="dark-matter direct detection", energy=("1 keV", "10 keV"), facets=["experiment"])
    found.to_dataframe()                              # one row per hit
    rates = cat.open(found.hits[0].id, "EventRate_erc2-6.csv")   # an xarray.Dataset with units and uncertainties

A home is read in place (catalogue and search index); a service is asked through `/api/search` and
`/api/records/{id}`, its JSON being the same `SearchResult.to_json()` either way. Files are fetched through
the project's HTTP client from the best replica, checked against the record's checksum, and cached under the home
(or, for a service, under `~/.cache/dmlake/files`; `cache_dir=` chooses).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import xarray as xr

from dmlake.open import find_distribution, open_file
from indexer.query import FacetValue, Query
from ontology.model import RECORD_ID_BASE, Record
from portal.table_files import FileCache

if TYPE_CHECKING:
    import pandas as pd

    from connectors.http import HttpClient
    from dmlake.combine import Combined
    from dmlake.lake import Lake

ANALYSIS_MAX_BYTES = 2 * 1024**3
"""The largest file `open` fetches: it is read into memory, so this is a guard against a mistaken multi-terabyte
download, not a page's budget."""

Values = str | Sequence[str] | None
Bound = str | float | int | date | datetime | None


@dataclass(frozen=True)
class Hit:
    """One search hit: the record id and the summary the index holds."""

    id: str
    title: str | None
    source: str | None
    experiments: tuple[str, ...]
    issued: str | None
    year: int | None
    doi: str | None
    resource_type: str | None
    landing_page: str | None
    file_count: int | None
    size_bytes: int | None
    description: str | None
    score: float | None
    fields: Mapping[str, Any] = field(default_factory=dict, repr=False)
    """Every summary field the search returned, as it returned them."""

    @classmethod
    def from_json(cls, hit: Mapping[str, Any]) -> Hit:
        experiments = hit.get("experiments") or ()
        return cls(
            id=str(hit["id"]),
            title=hit.get("title"),
            source=hit.get("source"),
            experiments=tuple(experiments if isinstance(experiments, list | tuple) else [experiments]),
            issued=hit.get("issued"),
            year=hit.get("year"),
            doi=hit.get("doi"),
            resource_type=hit.get("resource_type"),
            landing_page=hit.get("landing_page"),
            file_count=hit.get("file_count"),
            size_bytes=hit.get("size_bytes"),
            description=hit.get("description"),
            score=hit.get("score"),
            fields={k: v for k, v in hit.items() if k not in ("id", "score")},
        )


@dataclass(frozen=True)
class SearchResults:
    """A page of hits, the facet counts, and the cursor of the next page. Iterating gives the hits."""

    total: int
    hits: Sequence[Hit]
    facets: Mapping[str, Sequence[FacetValue]]
    next_cursor: str | None
    query: Query

    def __iter__(self) -> Iterator[Hit]:
        return iter(self.hits)

    def __len__(self) -> int:
        return len(self.hits)

    def to_dataframe(self) -> pd.DataFrame:
        """One row per hit: id, title, experiments (comma-separated), source, issued, year, doi, resource type,
        file count, size, landing page, score."""
        import pandas as pd

        columns = [
            "id", "title", "experiments", "source", "issued", "year", "doi", "resource_type", "file_count",
            "size_bytes", "landing_page", "score",
        ]  # fmt: skip
        rows = [
            {name: ", ".join(hit.experiments) if name == "experiments" else getattr(hit, name) for name in columns}
            for hit in self.hits
        ]
        return pd.DataFrame(rows, columns=columns)

    def facet(self, name: str) -> dict[str, int]:
        """A facet's counts by value (`results.facet("experiment")["COSINE-100"]`)."""
        return {v.value: v.count for v in self.facets.get(name, ())}

    @classmethod
    def from_json(cls, body: Mapping[str, Any], query: Query) -> SearchResults:
        facets = {
            name: [FacetValue(str(v["value"]), int(v["count"]), v.get("low"), v.get("high")) for v in values]
            for name, values in (body.get("facets") or {}).items()
        }
        hits = [Hit.from_json(h) for h in body.get("hits") or []]
        return cls(int(body.get("total", len(hits))), hits, facets, body.get("next_cursor"), query)


def build_query(
    text: str = "",
    *,
    messenger: Values = None,
    experiment: Values = None,
    target: Values = None,
    resource_category: Values = None,
    source: Values = None,
    energy: tuple[Bound, Bound] | str | None = None,
    date: tuple[Bound, Bound] | str | None = None,
    filters: Sequence[str] = (),
    facets: Sequence[str] = (),
    sort: str | None = None,
    size: int = 20,
    cursor: str | None = None,
    fields: Sequence[str] | None = None,
    disjunctive: bool = False,
) -> Query:
    """The query model's `Query` for these keyword arguments (several values of one field are OR-ed, different
    fields AND-ed). `energy` is `("1 TeV", "100 TeV")`, `"1TeV..100TeV"` or numbers in GeV; `date` is
    `(date(2016, 1, 1), "2018")` or `"2016..2018-06"`; either side may be None (open). `disjunctive=True` counts
    each facet without the filters on its own field (the experiment facet without `experiment=`, the year facet and
    histogram without `year=`, the energy histogram without `energy=`), so a chosen field's other values keep their
    counts; the hits and total are the same."""
    expressions: list[str] = []
    for name, values in (
        ("messenger", messenger),
        ("experiment", experiment),
        ("target", target),
        ("resource_category", resource_category),
        ("source", source),
    ):
        for value in [values] if isinstance(values, str) else values or ():
            expressions.append(f"{name}={value}")
    if energy is not None:
        expressions.append("energy=" + _range(energy, _energy_bound))
    if date is not None:
        expressions.append("date=" + _range(date, _date_bound))
    return Query.parse(
        text,
        filters=[*expressions, *filters],
        facets=facets,
        sort=sort,
        size=size,
        cursor=cursor,
        fields=None if fields is None else list(fields),
        disjunctive=disjunctive,
    )


def _range(value: tuple[Bound, Bound] | str, bound: Any) -> str:
    if isinstance(value, str):
        return value.replace(" ", "")
    low, high = value
    return f"{bound(low)}..{bound(high)}"


def _energy_bound(value: Bound) -> str:
    if value is None:
        return ""
    if isinstance(value, int | float):
        return f"{value}GeV"
    return str(value).replace(" ", "")


def _date_bound(value: Bound) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


class Catalog:
    """A dmlake catalogue to search and open data from: a home directory, or the URL of a running service."""

    def __init__(
        self,
        location: str | Path | None = None,
        *,
        cache_dir: str | Path | None = None,
        max_bytes: int = ANALYSIS_MAX_BYTES,
    ) -> None:
        text = str(location) if location is not None else ""
        self.url: str | None = text.rstrip("/") if text.startswith(("http://", "https://")) else None
        self._lake: Lake | None = None
        self._client: HttpClient | None = None
        if self.url is None:
            from dmlake.lake import Lake

            self._lake = Lake.open(Path(text).expanduser() if text else None)
            default_cache = self._lake.home.path / "cache" / "files"
        else:
            default_cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "dmlake" / "files"
        self.cache = FileCache(Path(cache_dir) if cache_dir else default_cache, max_bytes=max_bytes)

    def __repr__(self) -> str:
        return f"Catalog({self.url or str(self.lake.home.path)!r})"

    @property
    def lake(self) -> Lake:
        if self._lake is None:
            raise RuntimeError(f"{self.url} is a service: the catalogue's Lake is on its host")
        return self._lake

    # -- finding ---------------------------------------------------------------------------------------------
    def search(self, text: str = "", **options: Any) -> SearchResults:
        """Search the catalogue (keyword arguments as `build_query`). Raises `indexer.query.QueryError` naming
        the part of the query that is wrong."""
        query = build_query(text, **options)
        if self._lake is not None:
            return SearchResults.from_json(self._lake.search(query).to_json(), query)
        params: list[tuple[str, str | int]] = [("q", query.text), ("size", query.size)]
        params += [("filter", f"{name}={value}") for name, values in query.filters for value in values]
        params += [("filter", f"{name}={rng}") for name, rng in query.ranges]
        params += [("filter", f"{name}={rng}") for name, ranges in query.overlaps for rng in ranges]
        params += [("facet", name) for name in query.facets]
        if query.sort:
            params.append(("sort", query.sort))
        if query.cursor:
            params.append(("cursor", query.cursor))
        if query.fields is not None:
            params.append(("fields", ",".join(query.fields)))
        if query.disjunctive:
            params.append(("disjunctive", "true"))
        return SearchResults.from_json(self._get_json("/api/search", params), query)

    def get(self, record_id: str) -> Record:
        """A record by its id (full URI or `SOURCE/NATIVE_ID`). Raises `LookupError` if there is none."""
        if self._lake is not None:
            from dmlake.lake import RecordNotFound

            stored = self._lake.record(record_id)
            if stored.tombstone:
                raise RecordNotFound(f"record {stored.id} was removed at its source")
            return stored.record
        short = record_id.removeprefix(RECORD_ID_BASE)
        return Record.model_validate(self._get_json(f"/api/records/{quote(short, safe='/@:')}", [("format", "json")]))

    def files(self, record_id: str) -> list[str]:
        """The names of a record's files, in the record's order (what `open` takes, or their positions)."""
        return [f.name for f in self.get(record_id).distributions]

    # -- opening ---------------------------------------------------------------------------------------------
    def open(self, record_id: str, resource: str | int, *, table: int | str = 0) -> xr.Dataset:
        """A record's file as an `xarray.Dataset`: `resource` is the file's name, its last path part, or its
        position in the record; `table` picks one table of a file holding several (a HEPData single-file
        submission's by name, `"Table 2"`). Raises `dmlake.open.OpenError` saying what failed and why."""
        record = self.get(record_id)
        find_distribution(record, resource)  # a wrong name fails before any download
        return open_file(record, resource, self.cache, table=table)

    def combine(self, resources: Sequence[Any], *, on: str | None = None, grid: Any = None, **options: Any) -> Combined:
        """Resources of several records on one coordinate: see `dmlake.combine.combine`."""
        from dmlake.combine import combine

        return combine(self, resources, on=on, grid=grid, **options)

    # -- plumbing --------------------------------------------------------------------------------------------
    def _get_json(self, path: str, params: Sequence[tuple[str, str | int]]) -> Any:
        from connectors.base import Limits
        from connectors.http import HttpClient

        if self._client is None:
            self._client = HttpClient(Limits(concurrency=2, timeout=60.0, max_retries=2))
        response = self._client.get(f"{self.url}{path}", params=list(params))
        return response.json()

    def close(self) -> None:
        if self._lake is not None:
            self._lake.close()
        if self._client is not None:
            self._client.close()
        self.cache.close()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
