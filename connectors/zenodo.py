"""Zenodo (zenodo.org, InvenioRDM) over its REST API: list, harvest incrementally, learn of deletions, map.

Listing. `GET /api/records` sorted `updated-asc`, restricted by the source's options (communities, resource types,
an extra query, all versions), and paged by a keyset on the update stamp: each page asks for the records updated
at or after the last stamp it has seen (`q=… AND updated:["<stamp>" TO *]`, always page 1). Zenodo answers at most
10,000 hits per query (`page × size ≤ 10000`), and offset paging through a listing that changes while it is read
skips records (an edited record jumps to the end and every later record moves up one place) — which a full
listing would then report as deleted. The keyset avoids both. Only when more than a page of records share one
stamp (to the millisecond, the precision of Zenodo's index) does it follow `links.next` within that stamp.

Incremental runs ask only for records updated since the previous run's watermark (its largest stamp) minus a
safety overlap for records indexed late; records whose stamp the catalogue already holds are reported unchanged,
not sent again. Search hits are complete records (files included), so a hit's JSON is the raw record.

Deletions. Zenodo's search never lists deleted records: a full run (`state.full`) marks its last page
`listing_complete`, so what it did not see is gone. Records pinned by id (option `records`) are fetched one by
one every run, and an HTTP 410 with Zenodo's tombstone becomes a `Deletion` right away.

Options (`[sources.<name>.options]`):

* `communities`: community slugs (or ids); each is listed in turn (Zenodo's `communities=` filter)
* `query`: an extra Zenodo query (`q` syntax), ANDed with the rest
* `type`: resource type(s), e.g. `"dataset"` or `["dataset", "software"]`
* `all_versions`: list every version of a record, not only the latest (default true: each version is a release)
* `records`: record ids to fetch individually every run (also reports their deletion)
* `access_token_env`: the name of an environment variable holding a Zenodo token (100-hit pages instead of 25)
* `serialization`: `"rdm"` (default; InvenioRDM JSON: ROR ids, media types) or `"legacy"` (Zenodo's legacy JSON)
* `overlap_minutes`: safety overlap of incremental runs (default 60)
* `page_size`: hits per page (default and maximum: 25 anonymous, 100 with a token)
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, TypeVar
from urllib.parse import urlsplit

import httpx
import orjson
from pydantic import ValidationError

from connectors.base import (
    Connector,
    Deletion,
    FetchFailure,
    HarvestState,
    Limits,
    MappingError,
    Page,
    RawRecord,
    SourceSpec,
    provenance_for,
    register,
)
from connectors.http import HttpError
from connectors.paging import Listing, Request, dig
from connectors.zenodo_hits import Hit, parse_record_body, parse_search_body
from connectors.zenodo_mapper import SHAPE_MEDIA_TYPES, Shape, map_zenodo, parse_payload
from ontology import Record, record_id

log = logging.getLogger(__name__)

RESULT_WINDOW = 10_000
"""Zenodo (Elasticsearch behind InvenioRDM) answers `page × size` up to 10,000; beyond: HTTP 400."""
ANONYMOUS_PAGE_SIZE = 25
AUTHENTICATED_PAGE_SIZE = 100
CHECKPOINT_VERSION = 1
N = TypeVar("N", int, float)


class ZenodoListingError(RuntimeError):
    """A listing Zenodo cannot answer as asked (names the source and what to change)."""


def stamp_ms(stamp: str) -> str:
    """An update stamp at the millisecond precision Zenodo's index compares at, as UTC ISO 8601."""
    return _ms_text(parse_stamp(stamp))


def _ms_text(moment: datetime) -> str:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000).isoformat(timespec="milliseconds")


def parse_stamp(stamp: str) -> datetime:
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def updated_clause(since: str) -> str:
    # quoted: InvenioRDM parses `q` with luqum, which rejects the colon of a bare timestamp's UTC offset (and then
    # silently falls back to a full-text match of the words)
    return f'updated:["{since}" TO *]'


@dataclass(frozen=True)
class ZenodoOptions:
    communities: tuple[str, ...] = ()
    query: str | None = None
    types: tuple[str, ...] = ()
    all_versions: bool = True
    records: tuple[str, ...] = ()
    token: str | None = field(default=None, repr=False)
    serialization: Shape = "rdm"
    overlap: timedelta = timedelta(minutes=60)
    page_size: int = ANONYMOUS_PAGE_SIZE

    @classmethod
    def from_spec(cls, spec: SourceSpec) -> ZenodoOptions:
        options = dict(spec.options)
        where = f"source {spec.name!r} (kind zenodo)"
        known = {
            "communities", "query", "type", "all_versions", "records", "access_token_env", "serialization",
            "overlap_minutes", "page_size",
        }  # fmt: skip
        if "access_token" in options:
            raise ValueError(
                f"{where}: do not put a Zenodo token in the sources file; put it in an environment variable "
                f"and name that variable in options.access_token_env"
            )
        unknown = sorted(set(options) - known)
        if unknown:
            raise ValueError(f"{where}: unknown options {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        token = None
        variable = options.get("access_token_env")
        if variable:
            token = os.environ.get(str(variable)) or None
            if token is None:
                log.warning("%s: environment variable %s is not set; harvesting anonymously", where, variable)
        serialization = options.get("serialization", "rdm")
        if serialization not in SHAPE_MEDIA_TYPES:
            raise ValueError(f"{where}: options.serialization must be 'rdm' or 'legacy', not {serialization!r}")
        limit = AUTHENTICATED_PAGE_SIZE if token else ANONYMOUS_PAGE_SIZE
        page_size = _number(options.get("page_size", limit), f"{where}: options.page_size", int)
        if not 1 <= page_size <= limit:
            raise ValueError(
                f"{where}: options.page_size must be between 1 and {limit} "
                f"({'with' if token else 'without'} a token, Zenodo refuses larger pages)"
            )
        overlap = _number(options.get("overlap_minutes", 60), f"{where}: options.overlap_minutes", float)
        if overlap < 0:
            raise ValueError(f"{where}: options.overlap_minutes must not be negative")
        return cls(
            communities=_strings(options.get("communities"), f"{where}: options.communities"),
            query=(str(options["query"]).strip() or None) if options.get("query") else None,
            types=_strings(options.get("type"), f"{where}: options.type"),
            all_versions=_boolean(options.get("all_versions", True), f"{where}: options.all_versions"),
            records=_strings(options.get("records"), f"{where}: options.records"),
            token=token,
            serialization=serialization,
            overlap=timedelta(minutes=overlap),
            page_size=page_size,
        )

    @property
    def media_type(self) -> str:
        return SHAPE_MEDIA_TYPES[self.serialization]

    def headers(self) -> tuple[tuple[str, str], ...]:
        headers = [("Accept", self.media_type)]
        if self.token:
            headers.append(("Authorization", f"Bearer {self.token}"))
        return tuple(headers)

    def base_clauses(self) -> tuple[str, ...]:
        clauses = []
        if self.query:
            clauses.append(f"({self.query})")
        kinds = [f'resource_type.type:("{t}")' for t in self.types if "-" not in t]
        # a subtype (`publication-article`) is searched as one: Zenodo indexes it whole in `props.subtype`
        kinds += [f'resource_type.subtype:("{t}")' for t in self.types if "-" in t]
        if kinds:
            clauses.append(kinds[0] if len(kinds) == 1 else "(" + " OR ".join(kinds) + ")")
        return tuple(clauses)

    def scope(self) -> str:
        """A fingerprint of what is listed: a checkpoint or watermark of another scope is not reused."""
        text = orjson.dumps(
            [self.communities, self.query, self.types, self.all_versions, self.records, self.serialization]
        )
        return hashlib.sha256(text).hexdigest()[:16]


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str | int):
        value = [value]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str | int) for v in value):
        raise ValueError(f"{where} must be a string or a list of strings")
    return tuple(str(v).strip() for v in value if str(v).strip())


def _number(value: Any, where: str, kind: type[N]) -> N:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{where} must be a number, not {value!r}")
    try:
        return kind(value)
    except ValueError:
        raise ValueError(f"{where} must be a number, not {value!r}") from None


def _boolean(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    raise ValueError(f"{where} must be true or false, not {value!r}")


@dataclass(frozen=True)
class UpdatedKeyset:
    """Paginator: the next page is page 1 of the same query from the last stamp seen (see the module docstring)."""

    base_clauses: tuple[str, ...]
    size: int

    def first(self, url: str, since: str | None, params: Mapping[str, str]) -> Request:
        return Request.of(url, {**params, "q": self.query(since), "sort": "updated-asc", "size": self.size, "page": 1})

    def query(self, since: str | None) -> str:
        clauses = list(self.base_clauses)
        if since is not None:
            clauses.append(updated_clause(since))
        return " AND ".join(clauses)

    def next_request(
        self, request: Request, response: httpx.Response, body: Any, items: Sequence[Any]
    ) -> Request | None:
        if not items:
            return None
        page = int(dict(request.params).get("page", "1"))
        total = dig(body, ("hits", "total"))
        if len(items) < self.size or (isinstance(total, int) and page * self.size >= total):
            return None
        first, last = stamp_ms(items[0].updated), stamp_ms(items[-1].updated)
        if first == last:
            if (page + 1) * self.size > RESULT_WINDOW:
                raise ZenodoListingError(
                    f"{request.url}: more than {RESULT_WINDOW} records share the update stamp {last}, and Zenodo "
                    f"answers no more than {RESULT_WINDOW} hits per query; narrow the source's query or type"
                )
            return request.with_params(page=page + 1)
        return request.with_params(q=self.query(last), page=1)


@dataclass
class _Cursor:
    """Where a run is; it is the checkpoint, and the final one carries the watermark for the next run."""

    scope: str
    full: bool
    since: str | None
    segment: int = 0
    next: dict[str, Any] | None = None
    boundary_stamp: str | None = None
    boundary_ids: list[str] = field(default_factory=list)
    pinned: int = 0
    phase: str = "search"
    watermark: str | None = None

    def state(self) -> dict[str, Any]:
        return {
            "v": CHECKPOINT_VERSION,
            "scope": self.scope,
            "full": self.full,
            "since": self.since,
            "segment": self.segment,
            "next": self.next,
            "boundary": {"stamp": self.boundary_stamp, "ids": sorted(self.boundary_ids)},
            "pinned": self.pinned,
            "phase": self.phase,
            "watermark": self.watermark,
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> _Cursor:
        boundary = state.get("boundary") or {}
        return cls(
            scope=state["scope"],
            full=bool(state.get("full")),
            since=state.get("since"),
            segment=int(state.get("segment", 0)),
            next=state.get("next"),
            boundary_stamp=boundary.get("stamp"),
            boundary_ids=list(boundary.get("ids", [])),
            pinned=int(state.get("pinned", 0)),
            phase=str(state.get("phase", "search")),
            watermark=state.get("watermark"),
        )

    def see(self, stamp: str) -> None:
        if self.watermark is None or parse_stamp(stamp) > parse_stamp(self.watermark):
            self.watermark = stamp


@register
class ZenodoConnector(Connector):
    kind: ClassVar[str] = "zenodo"
    mapping_version: ClassVar[str] = "1.0"
    default_url: ClassVar[str] = "https://zenodo.org"
    recommended_limits: ClassVar[Limits] = Limits(requests_per_minute=25, concurrency=1)
    """Zenodo allows 30 searches a minute (guests and token holders alike); 25 leaves room for retries."""
    pinned_per_page: ClassVar[int] = 20

    def __init__(self, spec: SourceSpec, http: Any) -> None:
        super().__init__(spec, http)
        self.options = ZenodoOptions.from_spec(spec)
        self.base = spec.url.rstrip("/")
        host = urlsplit(self.base).netloc
        rate = spec.limits.requests_per_minute
        if host.endswith("zenodo.org") and (rate is None or rate > 30):
            # the real service refuses more than 30 searches a minute: never configure a harvest above it
            http.set_host_limits(self.base, dataclasses.replace(spec.limits, requests_per_minute=30))

    # -- listing -------------------------------------------------------------------------------------------------
    def pages(self, state: HarvestState) -> Iterator[Page]:
        cursor = self._start(state)
        produced = 0
        segments: list[str | None] = list(self.options.communities) or [None]
        keyset = UpdatedKeyset(self.options.base_clauses(), self.options.page_size)
        while cursor.phase == "search" and cursor.segment < len(segments):
            listing = self._listing(keyset, cursor.since, segments[cursor.segment])
            resume = Request.from_state(cursor.next) if cursor.next else None
            for listed in listing.pages(self.http, resume=resume):
                page = self._search_page(listed.items, cursor, state)
                if listed.next is None:  # this community (or the whole source) is listed
                    cursor.segment, cursor.next = cursor.segment + 1, None
                    cursor.boundary_stamp, cursor.boundary_ids = None, []
                else:
                    cursor.next = listed.next.to_state()
                page.checkpoint = cursor.state()
                page.requests = 1
                produced += len(page.records)
                yield page
                if state.limit is not None and produced >= state.limit:
                    return
        if cursor.phase == "search":
            cursor.phase, cursor.next = "pinned", None
        while cursor.phase == "pinned" and cursor.pinned < len(self.options.records):
            chunk = self.options.records[cursor.pinned : cursor.pinned + self.pinned_per_page]
            page = self._pinned_page(chunk, state)
            cursor.pinned += len(chunk)
            # pinned records are fetched every run: their stamps do not move the search's watermark
            page.checkpoint = cursor.state()
            yield page
        cursor.phase = "done"
        yield Page(checkpoint=cursor.state(), listing_complete=cursor.full)

    def _start(self, state: HarvestState) -> _Cursor:
        scope = self.options.scope()
        resume = state.resume
        if resume and resume.get("v") == CHECKPOINT_VERSION and resume.get("scope") == scope:
            if resume.get("phase") != "done":
                return _Cursor.from_state(resume)
        elif resume:
            log.warning("%s: the interrupted run listed another scope (options changed); starting over", self.spec.name)
        previous = state.previous or {}
        watermark = previous.get("watermark") if previous.get("scope") == scope else None
        if state.full or not watermark:
            return _Cursor(scope=scope, full=state.full, since=None, watermark=watermark)
        since = (parse_stamp(str(watermark)) - self.options.overlap).isoformat(timespec="milliseconds")
        return _Cursor(scope=scope, full=False, since=since, watermark=watermark)

    def _listing(self, keyset: UpdatedKeyset, since: str | None, community: str | None) -> Listing:
        params: dict[str, str] = {}
        if self.options.all_versions:
            params["all_versions"] = "true"
        if community:
            params["communities"] = community
        return Listing(
            first=keyset.first(f"{self.base}/api/records", since, params),
            items_path=("hits", "hits"),
            paginator=keyset,
            headers=self.options.headers(),
            parse=parse_search_body,
        )

    def _search_page(self, hits: list[Hit], cursor: _Cursor, state: HarvestState) -> Page:
        fresh: list[Hit] = []
        stamps: list[str] = []  # each hit's stamp_ms, parsed once per page
        latest: tuple[datetime, str] | None = None  # the first fresh hit of the greatest stamp: what `see` keeps
        for hit in hits:
            if hit.id is None or not isinstance(hit.updated, str):
                raise ZenodoListingError(
                    f"{self.spec.name}: a search hit without id or updated stamp: {hit.describe()}"
                )
            native_id, moment = str(hit.id), parse_stamp(hit.updated)
            stamp = _ms_text(moment)
            stamps.append(stamp)
            if stamp == cursor.boundary_stamp and native_id in cursor.boundary_ids:
                continue  # the keyset re-reads the records of the last stamp: these were sent on the previous page
            fresh.append(hit)
            if latest is None or moment > latest[0]:
                latest = (moment, hit.updated)
        if hits:
            last = stamps[-1]
            at_last = {str(h.id) for h, stamp in zip(hits, stamps, strict=True) if stamp == last}
            if last == cursor.boundary_stamp:
                at_last |= set(cursor.boundary_ids)
            cursor.boundary_stamp, cursor.boundary_ids = last, sorted(at_last)
        if latest is not None:
            cursor.see(latest[1])  # as seeing every fresh hit in turn: the watermark only moves to a greater stamp
        return self._records_page(fresh, state)

    def _records_page(self, items: list[Hit], state: HarvestState) -> Page:
        known = state.known([str(item.id) for item in items]) if items else {}
        page = Page(checkpoint={})
        for item in items:
            native_id = str(item.id)
            if native_id in known and known[native_id] == item.updated:
                page.unchanged.append(native_id)
                continue
            page.records.append(self._raw(item))
        return page

    def _raw(self, item: Hit) -> RawRecord:
        native_id = str(item.id)
        link = item.self_link
        return RawRecord(
            native_id=native_id,
            payload=item.payload,
            media_type=self.options.media_type,
            url=link if isinstance(link, str) else f"{self.base}/api/records/{native_id}",
            source_updated=item.updated if isinstance(item.updated, str) else None,
        )

    # -- records pinned by id --------------------------------------------------------------------------------------
    def _pinned_page(self, ids: Sequence[str], state: HarvestState) -> Page:
        fetched: list[Hit] = []
        page = Page(checkpoint={})
        headers = dict(self.options.headers())
        for native_id in ids:
            url = f"{self.base}/api/records/{native_id}"
            page.requests += 1
            try:
                response = self.http.request("GET", url, headers=headers, ok_statuses=(404, 410))
            except HttpError as error:
                page.failures.append(FetchFailure(native_id, url, str(error)))
                continue
            if response.status_code == 410:
                page.deletions.append(Deletion(native_id, _tombstone_reason(response)))
            elif response.status_code == 404:
                message = f"Zenodo has no record {native_id} (HTTP 404): remove it from options.records"
                page.failures.append(FetchFailure(native_id, url, message))
            else:
                try:
                    hit = parse_record_body(response.content, url)
                except ValueError:  # retried as a body cut short
                    hit = self.http.get_json_response(url, headers=headers, parse=parse_record_body)[1]
                if hit.id is not None:
                    fetched.append(hit)
                else:
                    page.failures.append(FetchFailure(native_id, url, "the answer is not a Zenodo record"))
        records = self._records_page(fetched, state)
        page.records, page.unchanged = records.records, records.unchanged
        return page

    # -- mapping ---------------------------------------------------------------------------------------------------
    @classmethod
    def map_record(cls, raw: RawRecord, source: str) -> Record:
        data = parse_payload(raw.payload)
        fields = map_zenodo(data)
        if fields.native_id != raw.native_id:
            raise MappingError("id", f"the payload is record {fields.native_id}, listed as {raw.native_id}")
        try:
            return Record(
                id=record_id(source, fields.native_id),
                source=source,
                native_id=fields.native_id,
                provenance=provenance_for(cls, raw, source),
                **fields.values,
            )
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ())) or "record"
            raise MappingError(where, str(first.get("msg", error))) from None


def _tombstone_reason(response: httpx.Response) -> str:
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return f"Zenodo answered HTTP 410 (deleted): {response.text[:200]}"
    tombstone = body.get("tombstone") if isinstance(body, dict) else None
    if not isinstance(tombstone, dict):
        return "Zenodo answered HTTP 410 (deleted) without a tombstone"
    reason = dig(tombstone, ("removal_reason", "id")) or "unspecified"
    note = str(tombstone.get("note") or "").strip()
    when = tombstone.get("removal_date")
    text = f"deleted on Zenodo ({reason})"
    if when:
        text += f" on {when}"
    return f"{text}: {note}" if note else text
