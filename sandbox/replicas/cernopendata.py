"""A replica of the CERN Open Data portal's REST API (opendata.cern.ch, Invenio v3 invenio-records-rest).

Routes, as the real portal serves them:

* `GET /api/records/<recid>`: the record (`cernopendata_api.api_record`); 404 `PID does not exist.` for an unknown
  recid, 410 `PID has been deleted.` for a deleted one, both as Invenio's `{"status", "message"}` JSON.
* `GET /api/records/?q=&page=&size=&sort=&<facet>=&ondemand=`: search (`cernopendata_search`), answering
  `{"hits": {"hits": [...], "total": int}, "links": {"self", "next"?, "prev"?}, "aggregations": {...}}`.
  `page` defaults to 1 and `size` to 10 (unparsable values fall back to them, as Flask's `type=int` does);
  `page * size >= 10000` is refused with Invenio's 400 `Maximum number of results have been reached.` (the real
  check is `>=`, so the last reachable hit is number 9,999, and a `next` link may lead straight into the refusal).
  `links` carry `page`, the facet filters, `sort`, `q` and `size`, and **not** `ondemand`: the portal reads that
  parameter outside the search factory, so following `links.next` verbatim drops it (a real trap for harvesters).

Fed by the corpus fixtures (`from_corpus`) or by generated records (`generated`). Edits through `/_sandbox/edit`
append a visible "metadata revision" paragraph to the abstract and bump `updated`; deleted records vanish from
search and answer 410.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlencode

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sandbox.replica import Replica
from sandbox.replicas.cernopendata_api import (
    INVALID_QUERY,
    MAX_RESULT_WINDOW,
    PID_DELETED,
    PID_DOES_NOT_EXIST,
    api_hit,
    api_record,
    dumps,
    fixture_stamps,
    recid_of,
)
from sandbox.replicas.cernopendata_generator import GeneratedCernBase
from sandbox.replicas.cernopendata_search import (
    POST_FILTERS,
    Profile,
    QueryError,
    SearchEngine,
    SearchRequest,
    parse_query,
    profile_of,
    resolve_sort,
)
from sandbox.store import Entry, ListBase, ReplicaStore

MAX_RESULT_WINDOW_SIZE = 10_000
DEFAULT_PAGE_SIZE = 10
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class CernBase(Protocol):
    """A record base the CERN replica can serve: `RecordBase`, the search's `SearchableBase`, and two extras."""

    def __len__(self) -> int: ...

    def native_id(self, index: int) -> str: ...

    def record(self, index: int) -> dict[str, Any]: ...

    def updated(self, index: int) -> datetime: ...

    def index_of(self, native_id: str) -> int | None: ...

    def created(self, index: int) -> datetime: ...

    def hit_record(self, index: int) -> dict[str, Any]:
        """The record, or as much of it as its search hit is computed from."""
        ...

    def record_and_members(self, index: int) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]] | None]:
        """The record and the files its index files list (None: not known)."""
        ...

    def recid_at(self, index: int) -> int: ...

    def profile_id_at(self, index: int) -> int: ...

    def profile_ids(self, start: int, stop: int) -> Sequence[int]: ...

    def profile_counts(self, start: int, stop: int) -> Counter[int]: ...

    def profile(self, profile_id: int) -> Profile: ...

    def title_at(self, index: int) -> str: ...

    def number_events_at(self, index: int) -> int | None: ...

    def find_doi(self, doi: str) -> int | None: ...


class CorpusCernBase:
    """The corpus fixtures in recid order, with what the search needs precomputed (7,443 records: cheap)."""

    def __init__(self, records: Sequence[dict[str, Any]]) -> None:
        for record in records:
            recid = recid_of(record)
            if not recid.isdigit():
                raise ValueError(f"CERN Open Data recid {recid!r} is not a number: the portal's recid is an integer")
        self._list = ListBase.build(
            records, native_id=recid_of, stamp=lambda r: fixture_stamps(r)[1], sort_key=lambda n: int(n)
        )
        ordered = self._list.records
        self._recids = [int(n) for n in self._list.ids]
        self._created = [fixture_stamps(r)[0] for r in ordered]
        table: dict[Profile, int] = {}
        self._profile_ids = [table.setdefault(profile_of(r), len(table)) for r in ordered]
        self._profiles = list(table)
        self._titles = [str(r.get("title") or "") for r in ordered]
        self._events = [_number_events(r) for r in ordered]
        self._dois: dict[str, int] = {}
        for index, record in enumerate(ordered):
            if record.get("doi"):
                self._dois.setdefault(str(record["doi"]).lower(), index)

    @classmethod
    def load(cls, records_dir: Path) -> CorpusCernBase | None:
        """Every JSON array of record dicts under `records_dir` (other files are ignored); None if there are none."""
        records: list[dict[str, Any]] = []
        for path in sorted(records_dir.glob("*.json")):
            try:
                data = orjson.loads(path.read_bytes())
            except orjson.JSONDecodeError:
                continue
            if isinstance(data, list) and data and all(isinstance(r, dict) and "recid" in r for r in data):
                records.extend(data)
        return cls(records) if records else None

    def __len__(self) -> int:
        return len(self._list)

    def native_id(self, index: int) -> str:
        return self._list.native_id(index)

    def record(self, index: int) -> dict[str, Any]:
        return self._list.record(index)

    def updated(self, index: int) -> datetime:
        return self._list.updated(index)

    def index_of(self, native_id: str) -> int | None:
        return self._list.index_of(native_id)

    def created(self, index: int) -> datetime:
        return self._created[index]

    def hit_record(self, index: int) -> dict[str, Any]:
        return self._list.record(index)

    def record_and_members(self, index: int) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]] | None]:
        return self._list.record(index), None  # the corpus has the index files' names, not their contents

    def recid_at(self, index: int) -> int:
        return self._recids[index]

    def profile_id_at(self, index: int) -> int:
        return self._profile_ids[index]

    def profile_ids(self, start: int, stop: int) -> Sequence[int]:
        return self._profile_ids[start:stop]

    def profile_counts(self, start: int, stop: int) -> Counter[int]:
        return Counter(self._profile_ids[start:stop])

    def profile(self, profile_id: int) -> Profile:
        return self._profiles[profile_id]

    def title_at(self, index: int) -> str:
        return self._titles[index]

    def number_events_at(self, index: int) -> int | None:
        return self._events[index]

    def find_doi(self, doi: str) -> int | None:
        return self._dois.get(doi.lower())


def _number_events(record: Mapping[str, Any]) -> int | None:
    distribution = record.get("distribution")
    value = distribution.get("number_events") if isinstance(distribution, Mapping) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def revise(record: dict[str, Any], revision: int, when: datetime) -> dict[str, Any]:
    """An edited record: a paragraph naming the revision is appended to the abstract (a visible content change)."""
    found = record.get("abstract")
    abstract: dict[str, Any] = found if isinstance(found, dict) else {}
    description = str(abstract.get("description") or "")
    stamp = when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    abstract["description"] = f"{description} <p>Metadata revision {revision} of {stamp} UTC.</p>".strip()
    record["abstract"] = abstract
    return record


def _int_param(values: Mapping[str, str], name: str, default: int) -> int:
    try:
        return int(values.get(name, default))
    except (TypeError, ValueError):
        return default


def _json(body: Any, status: int = 200) -> Response:
    return Response(dumps(body), status_code=status, media_type="application/json")


def _error(status: int, message: str, errors: list[dict[str, str]] | None = None) -> Response:
    body: dict[str, Any] = {"status": status, "message": message}
    if errors:
        body["errors"] = errors
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


class CernOpenDataReplica(Replica):
    kind = "cernopendata"

    def __init__(self, base: CernBase) -> None:
        super().__init__(ReplicaStore(base, revise))
        self.base = base
        self.engine = SearchEngine(base)
        self._deleted: tuple[int, frozenset[int]] = (-1, frozenset())
        self._deleted_lock = threading.Lock()

    @classmethod
    def from_corpus(cls, corpus: Path) -> CernOpenDataReplica | None:
        base = CorpusCernBase.load(corpus / "cernopendata" / "records")
        return None if base is None else cls(base)

    @classmethod
    def generated(cls, count: int, seed: int = 0) -> CernOpenDataReplica:
        base = GeneratedCernBase(count, seed)
        base.fill()  # a second or so per million records at start-up, instead of inside the first searches
        return cls(base)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/api/records/", self._search, methods=["GET"]),
            Route("/api/records", self._search, methods=["GET"]),
            Route("/api/records/{recid}", self._record, methods=["GET"]),
        ]

    # -- single record ---------------------------------------------------------------------------------------
    async def _record(self, request: Request) -> Response:
        recid = request.path_params["recid"]
        entry = self.store.find(recid)
        if entry is None:
            if self.store.deleted_at(recid) is not None:
                return _error(410, PID_DELETED)
            return _error(404, PID_DOES_NOT_EXIST)
        fixture, members = self.base.record_and_members(entry.index)
        body = api_record(
            self._revised(fixture, entry),
            created=self.base.created(entry.index),
            updated=entry.updated,
            base_url=self.base_url,
            index_members=members,
        )
        return _json(body)

    @staticmethod
    def _revised(fixture: dict[str, Any], entry: Entry) -> dict[str, Any]:
        """The record at the entry's revision (what `ReplicaStore.record` gives, from a record already built)."""
        return revise(fixture, entry.revision, entry.updated) if entry.revision else fixture

    # -- search ----------------------------------------------------------------------------------------------
    def deleted_indices(self) -> frozenset[int]:
        """Base indices deleted through the overlay (recomputed only when the number of deletions changes)."""
        version = len(self.base) - len(self.store)
        with self._deleted_lock:
            if self._deleted[0] != version:
                indices = (self.base.index_of(n) for n, _ in self.store.deleted_since(_EPOCH))
                self._deleted = (version, frozenset(i for i in indices if i is not None))
            return self._deleted[1]

    async def _search(self, request: Request) -> Response:
        params = request.query_params
        page = _int_param(params, "page", 1)
        size = _int_param(params, "size", DEFAULT_PAGE_SIZE)
        if page < 1 or size < 1:
            return _error(400, "Invalid pagination parameters: page and size must be positive integers.")
        if page * size >= MAX_RESULT_WINDOW_SIZE:
            return _error(400, MAX_RESULT_WINDOW)
        q = params.get("q")
        filters = tuple((name, tuple(params.getlist(name))) for name in POST_FILTERS if params.getlist(name))
        try:
            query = parse_query(q)
            sort = resolve_sort(params.get("sort"), bool(q))
            search = SearchRequest(query, filters, params.get("ondemand") in ("true", "ondemand"), sort)
            result = self.engine.search(search, self.deleted_indices(), version=len(self.store))
        except QueryError as error:
            return _error(400, INVALID_QUERY, [{"field": "q", "message": str(error)}])
        hits = []
        for index in result.hits[(page - 1) * size : page * size]:
            entry = self.store.entry(index)
            if entry is None:  # deleted while we were paging
                continue
            hits.append(
                api_hit(
                    self._revised(self.base.hit_record(index), entry),
                    created=self.base.created(index),
                    updated=entry.updated,
                    base_url=self.base_url,
                )
            )
        link_params: list[tuple[str, str]] = [(name, v) for name, values in filters for v in values]
        if sort:
            link_params.append(("sort", sort))
        if q is not None:
            link_params.append(("q", q))
        link_params.append(("size", str(size)))
        links = {"self": self._link(page, link_params)}
        if page > 1:
            links["prev"] = self._link(page - 1, link_params)
        if size * page < result.total and size * page < MAX_RESULT_WINDOW_SIZE:
            links["next"] = self._link(page + 1, link_params)
        body = {"aggregations": result.aggregations, "hits": {"hits": hits, "total": result.total}, "links": links}
        return _json(body)

    def _link(self, page: int, params: list[tuple[str, str]]) -> str:
        return f"{self.base_url}/api/records/?{urlencode([('page', str(page)), *params])}"
