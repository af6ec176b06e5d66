"""Any OAI-PMH 2.0 repository (Zenodo, CERN Open Data, KCDC's prototype, ...): list, harvest incrementally, map.

Start of a run. Identify (granularity, the repository's clock), ListMetadataFormats (the configured prefix must be
offered) and, when sets are configured, ListSets (each must exist; a repository with tens of thousands of sets,
like Zenodo's communities, is read for at most `check_sets_pages` pages, after which an unseen set only gets a
warning — Zenodo answers an unknown set with `noRecordsMatch`, not an error).

Listing. ListRecords (or, with `mode = "identifiers"`, ListIdentifiers and one GetRecord per new or changed
record), one set after another, page by page with resumption tokens. Each page is committed with a checkpoint
holding the token, the set being listed and the largest datestamp seen, so a run killed at any point resumes with
the next page. A record in several configured sets is delivered once: in a later set, a record whose header also
names an earlier configured set was delivered with that set already. Records whose datestamp equals the one the
catalogue holds are reported unchanged, not mapped again.

Expired or bad resumption tokens (`badResumptionToken`; Zenodo's expire after two minutes, and a resumed run's
token is usually stale). The listing of that set starts again with `from` = the largest datestamp seen in it, so
at most about one page is listed twice (everything from that datestamp on, inclusive: with day granularity, that
day's records). This loses nothing when the repository lists in datestamp order, which the connector checks as it
reads. When it does not (Zenodo lists in index order), records listed after the break with an older datestamp
would be skipped: the connector then says so in the log, does not claim a complete listing (no deletions inferred),
and keeps the previous watermark, so the next run lists that range again.

Incremental runs ask `from` = the previous run's watermark minus `overlap_minutes`, at the repository's
granularity. The watermark is the responseDate of the run's first request (Identify), on the repository's clock.

Deletions. A header with `status="deleted"` is a `Deletion`, whatever Identify's `deletedRecord` says (Zenodo says
`no` and sends them anyway). A run without a `from` lists everything: its last page says `listing_complete`, so what
it did not see is tombstoned (subject to the harvester's mass-deletion guard). `noRecordsMatch` is an empty listing.

Options (`[sources.<name>.options]`):

* `metadata_prefix`: the format to harvest (default `oai_dc`; also `oai_datacite`, `datacite`, ...)
* `sets`: set specs to harvest, in turn (default: the whole repository)
* `profile`: which mapping profile reads the records: `generic` (default), `zenodo`, `cernopendata`, `kcdc`
* `granularity`: `YYYY-MM-DD` or `YYYY-MM-DDThh:mm:ssZ` (default: what Identify says)
* `mode`: `records` (ListRecords, default) or `identifiers` (ListIdentifiers + GetRecord per record)
* `overlap_minutes`: safety overlap of incremental runs (default 60)
* `check_sets_pages`: how many ListSets pages to read when checking configured sets (default 10)
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar
from urllib.parse import quote_plus, urlencode

import orjson
from lxml import etree

from connectors.base import (
    Connector,
    Deletion,
    FetchFailure,
    HarvestState,
    Page,
    RawRecord,
    SourceSpec,
    register,
)
from connectors.http import HttpError
from connectors.oaipmh_protocol import (
    DAY,
    SECONDS,
    Header,
    Identify,
    ListPage,
    OaiClient,
    OaiError,
    at_granularity,
    header_of,
    minus,
    parse_datestamp,
    record_payload,
    request_params,
)
from ontology import Record

log = logging.getLogger(__name__)

CHECKPOINT_VERSION = 1
PROFILES = ("generic", "zenodo", "cernopendata", "kcdc")
MODES = ("records", "identifiers")


class OaiConfigurationError(ValueError):
    """The source's options ask for something the repository does not offer (names the option and the fix)."""


@dataclass(frozen=True)
class OaiOptions:
    metadata_prefix: str = "oai_dc"
    sets: tuple[str, ...] = ()
    profile: str = "generic"
    granularity: str | None = None
    mode: str = "records"
    overlap: timedelta = timedelta(minutes=60)
    check_sets_pages: int = 10

    @classmethod
    def from_spec(cls, spec: SourceSpec) -> OaiOptions:
        options = dict(spec.options)
        where = f"source {spec.name!r} (kind oaipmh)"
        known = {"metadata_prefix", "sets", "profile", "granularity", "mode", "overlap_minutes", "check_sets_pages"}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ValueError(f"{where}: unknown options {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        prefix = options.get("metadata_prefix", "oai_dc")
        if not isinstance(prefix, str) or not prefix.strip():
            raise ValueError(f"{where}: options.metadata_prefix must be a non-empty string such as 'oai_dc'")
        sets = options.get("sets", [])
        if isinstance(sets, str):
            sets = [sets]
        if not isinstance(sets, list | tuple) or not all(isinstance(s, str) and s.strip() for s in sets):
            raise ValueError(f"{where}: options.sets must be a list of set specs (strings)")
        profile = options.get("profile", "generic")
        if profile not in PROFILES:
            raise ValueError(f"{where}: options.profile must be one of {', '.join(PROFILES)}, not {profile!r}")
        granularity = options.get("granularity")
        if granularity is not None and granularity not in (DAY, SECONDS):
            raise ValueError(f"{where}: options.granularity must be {DAY!r} or {SECONDS!r}, not {granularity!r}")
        mode = options.get("mode", "records")
        if mode not in MODES:
            raise ValueError(f"{where}: options.mode must be 'records' or 'identifiers', not {mode!r}")
        overlap = options.get("overlap_minutes", 60)
        if isinstance(overlap, bool) or not isinstance(overlap, int | float) or overlap < 0:
            raise ValueError(f"{where}: options.overlap_minutes must be a number ≥ 0, not {overlap!r}")
        pages = options.get("check_sets_pages", 10)
        if isinstance(pages, bool) or not isinstance(pages, int) or pages < 1:
            raise ValueError(f"{where}: options.check_sets_pages must be a whole number ≥ 1, not {pages!r}")
        return cls(
            metadata_prefix=prefix.strip(),
            sets=tuple(dict.fromkeys(s.strip() for s in sets)),
            profile=profile,
            granularity=granularity,
            mode=mode,
            overlap=timedelta(minutes=overlap),
            check_sets_pages=pages,
        )

    @property
    def media_type(self) -> str:
        return f"application/xml; oai-profile={self.profile}"

    def scope(self) -> str:
        """What is listed: a checkpoint or watermark of another scope is not reused."""
        text = orjson.dumps([self.metadata_prefix, list(self.sets), self.mode])
        return hashlib.sha256(text).hexdigest()[:16]


def in_set(specs: Sequence[str], wanted: str) -> bool:
    """Whether a header's setSpecs put the record in `wanted` (sets are hierarchical: `a:b` is inside `a`)."""
    return any(spec == wanted or spec.startswith(wanted + ":") for spec in specs)


@dataclass
class _Cursor:
    """Where a run is; it is the checkpoint, and the final one carries the watermark for the next run."""

    scope: str
    granularity: str
    since: str | None
    started: str
    previous_watermark: str | None
    set_index: int = 0
    token: str | None = None
    restart_from: str | None = None
    last_datestamp: str | None = None
    ordered: bool = True
    lossy: bool = False
    restarts: int = 0
    phase: str = "list"
    watermark: str | None = None

    def state(self) -> dict[str, Any]:
        return {
            "v": CHECKPOINT_VERSION,
            "scope": self.scope,
            "granularity": self.granularity,
            "since": self.since,
            "started": self.started,
            "previous_watermark": self.previous_watermark,
            "set_index": self.set_index,
            "token": self.token,
            "restart_from": self.restart_from,
            "last_datestamp": self.last_datestamp,
            "ordered": self.ordered,
            "lossy": self.lossy,
            "restarts": self.restarts,
            "phase": self.phase,
            "watermark": self.watermark,
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> _Cursor:
        return cls(
            scope=str(state["scope"]),
            granularity=str(state["granularity"]),
            since=state.get("since"),
            started=str(state["started"]),
            previous_watermark=state.get("previous_watermark"),
            set_index=int(state.get("set_index", 0)),
            token=state.get("token"),
            restart_from=state.get("restart_from"),
            last_datestamp=state.get("last_datestamp"),
            ordered=bool(state.get("ordered", True)),
            lossy=bool(state.get("lossy", False)),
            restarts=int(state.get("restarts", 0)),
            phase=str(state.get("phase", "list")),
            watermark=state.get("watermark"),
        )

    def next_set(self) -> None:
        self.set_index += 1
        self.token = self.restart_from = self.last_datestamp = None
        self.ordered = True

    def see(self, datestamp: str) -> None:
        if self.last_datestamp is not None and parse_datestamp(datestamp) < parse_datestamp(self.last_datestamp):
            self.ordered = False
        if self.last_datestamp is None or parse_datestamp(datestamp) > parse_datestamp(self.last_datestamp):
            self.last_datestamp = datestamp


@register
class OaiPmhConnector(Connector):
    kind: ClassVar[str] = "oaipmh"
    mapping_version: ClassVar[str] = "1.0"
    default_url: ClassVar[str] = "https://zenodo.org/oai2d"
    max_restarts_per_set: ClassVar[int] = 50
    """A repository whose tokens expire over and over makes no progress: stop and say so rather than loop."""

    def __init__(self, spec: SourceSpec, http: Any) -> None:
        super().__init__(spec, http)
        self.options = OaiOptions.from_spec(spec)
        self.client = OaiClient(http, spec.url, spec.name)
        prefix = urlencode({"metadataPrefix": self.options.metadata_prefix})
        self._record_url_parts = (f"{self.client.url_for(verb='GetRecord')}&identifier=", f"&{prefix}")

    # -- start of a run ----------------------------------------------------------------------------------------------
    def _check_repository(self) -> Identify:
        identify = self.client.identify()
        formats = self.client.list_metadata_formats()
        prefixes = [f.prefix for f in formats]
        if self.options.metadata_prefix not in prefixes:
            raise OaiConfigurationError(
                f"source {self.spec.name!r}: the repository at {self.spec.url} does not offer metadataPrefix "
                f"{self.options.metadata_prefix!r}; it offers {', '.join(prefixes) or 'none'}. "
                f"Set options.metadata_prefix to one of them."
            )
        if self.options.sets:
            self._check_sets()
        return identify

    def _check_sets(self) -> None:
        known, complete = self.client.list_sets(self.options.check_sets_pages)
        missing = [s for s in self.options.sets if s not in known]
        if not missing:
            return
        if complete:
            raise OaiConfigurationError(
                f"source {self.spec.name!r}: the repository at {self.spec.url} has no set "
                f"{', '.join(map(repr, missing))} (ListSets names {len(known)} sets). Fix options.sets."
            )
        log.warning(
            "%s: sets %s not among the first %d ListSets pages; harvesting them anyway (an unknown set lists nothing)",
            self.spec.name,
            ", ".join(missing),
            self.options.check_sets_pages,
        )

    def _start(self, state: HarvestState) -> _Cursor:
        identify = self._check_repository()
        granularity = self.options.granularity or (SECONDS if identify.granularity == SECONDS else DAY)
        scope = self.options.scope()
        resume = state.resume
        if resume and resume.get("v") == CHECKPOINT_VERSION and resume.get("scope") == scope:
            if resume.get("phase") != "done":
                cursor = _Cursor.from_state(resume)
                cursor.granularity = granularity
                return cursor
        elif resume:
            log.warning("%s: the interrupted run listed another scope (options changed); starting over", self.spec.name)
        started = identify.response_date or ""
        previous = state.previous or {}
        watermark = previous.get("watermark") if previous.get("scope") == scope else None
        since = None
        if not state.full and watermark:
            since = minus(str(watermark), self.options.overlap, granularity)
        return _Cursor(scope=scope, granularity=granularity, since=since, started=started, previous_watermark=watermark)

    # -- listing -----------------------------------------------------------------------------------------------------
    def pages(self, state: HarvestState) -> Iterator[Page]:
        cursor = self._start(state)
        segments: list[str | None] = list(self.options.sets) or [None]
        verb = "ListIdentifiers" if self.options.mode == "identifiers" else "ListRecords"
        produced = 0
        stopped_early = False
        while cursor.phase == "list" and cursor.set_index < len(segments):
            current = segments[cursor.set_index]
            earlier = [s for s in segments[: cursor.set_index] if s is not None]
            listed = self._list(verb, cursor, current)
            page = self._page(verb, listed, earlier, cursor, state)
            if listed.next_token is None:
                cursor.next_set()
            else:
                cursor.token = listed.next_token
            page.checkpoint = cursor.state()
            produced += len(page.records)
            yield page
            if state.limit is not None and produced >= state.limit:
                stopped_early = True
                break
        if stopped_early:
            return
        cursor.phase = "done"
        complete = cursor.since is None and not cursor.lossy
        if cursor.lossy:
            # records may have been skipped after an expired token on an unordered listing: list this range again
            cursor.watermark = cursor.previous_watermark
        else:
            cursor.watermark = cursor.started or cursor.previous_watermark
        yield Page(checkpoint=cursor.state(), listing_complete=complete)

    def _list(self, verb: str, cursor: _Cursor, set_spec: str | None) -> ListPage:
        """The next page of the current set, starting the set's listing again if its token went stale."""
        while True:
            if cursor.token:
                params = {"resumptionToken": cursor.token}
            else:
                lower = cursor.restart_from or cursor.since
                params = request_params(
                    metadataPrefix=self.options.metadata_prefix,
                    set=set_spec,
                    from_=at_granularity(lower, cursor.granularity) if lower else None,
                )
            try:
                return self.client.list_page(verb, params)
            except OaiError as error:
                if error.code != "badResumptionToken" or not cursor.token:
                    raise
                self._restart(cursor, set_spec, error)

    def _restart(self, cursor: _Cursor, set_spec: str | None, error: OaiError) -> None:
        cursor.restarts += 1
        if cursor.restarts > self.max_restarts_per_set * max(1, len(self.options.sets)):
            raise HttpError(
                error.url,
                f"resumption tokens of {self.spec.name!r} expired {cursor.restarts} times in one run; is the "
                f"harvest slower than the repository's token lifetime? Raise the source's requests_per_minute.",
            ) from error
        lower = cursor.last_datestamp or cursor.restart_from or cursor.since
        if not cursor.ordered:
            cursor.lossy = True
            log.warning(
                "%s: resumption token refused (%s) and the repository does not list in datestamp order; listing "
                "%s again from %s may miss records, so this run will not infer deletions and the next run lists "
                "this range again",
                self.spec.name,
                error.message or error.code,
                f"set {set_spec!r}" if set_spec else "the repository",
                lower,
            )
        else:
            log.info(
                "%s: resumption token refused (%s); listing again from the last datestamp seen, %s",
                self.spec.name,
                error.message or error.code,
                lower,
            )
        cursor.token = None
        cursor.restart_from = lower

    def _page(self, verb: str, listed: ListPage, earlier: list[str], cursor: _Cursor, state: HarvestState) -> Page:
        page = Page(checkpoint={}, requests=1)
        fresh: list[tuple[Header, etree._Element]] = []
        for element in listed.items:
            header = header_of(element)
            cursor.see(header.datestamp)
            if any(in_set(header.set_specs, spec) for spec in earlier):
                continue  # delivered with an earlier configured set of this run
            if header.deleted:
                page.deletions.append(Deletion(header.identifier, _deletion_reason(header)))
                continue
            fresh.append((header, element))
        known = state.known([h.identifier for h, _ in fresh]) if fresh else {}
        wanted: list[tuple[Header, etree._Element]] = []
        for header, element in fresh:
            if header.identifier in known and known[header.identifier] == header.datestamp:
                page.unchanged.append(header.identifier)
            else:
                wanted.append((header, element))
        if verb == "ListRecords":
            page.records = [self._raw(header, element) for header, element in wanted]
        else:
            self._get_records(wanted, page)
        return page

    def _get_records(self, wanted: list[tuple[Header, etree._Element]], page: Page) -> None:
        def fetch(header: Header) -> RawRecord | Deletion | FetchFailure:
            url = self._record_url(header.identifier)
            try:
                record = self.client.get_record(header.identifier, self.options.metadata_prefix)
            except (OaiError, HttpError) as error:
                return FetchFailure(header.identifier, url, str(error))
            fetched = header_of(record)
            if fetched.deleted:
                return Deletion(fetched.identifier, _deletion_reason(fetched))
            return self._raw(fetched, record)

        results = self.http.map_concurrently(fetch, [h for h, _ in wanted])
        page.requests += len(wanted)
        for result in results:
            if isinstance(result, RawRecord):
                page.records.append(result)
            elif isinstance(result, Deletion):
                page.deletions.append(result)
            else:
                page.failures.append(result)

    def _record_url(self, identifier: str) -> str:
        # `url_for(verb="GetRecord", identifier=..., metadataPrefix=...)` with the constant parts encoded once: every
        # listed record gets one, and `urlencode` of all three arguments was a few µs of the harvest's serial part
        head, tail = self._record_url_parts
        return f"{head}{quote_plus(identifier)}{tail}"

    def _raw(self, header: Header, record: etree._Element) -> RawRecord:
        return RawRecord(
            native_id=header.identifier,
            payload=record_payload(record),
            media_type=self.options.media_type,
            url=self._record_url(header.identifier),
            source_updated=header.datestamp,
        )

    # -- mapping -----------------------------------------------------------------------------------------------------
    @classmethod
    def map_record(cls, raw: RawRecord, source: str) -> Record:
        from connectors.oai_metadata import map_oai_record  # the metadata formats live in their own module

        return map_oai_record(raw, source, cls)


def _deletion_reason(header: Header) -> str:
    return f'deleted in the OAI-PMH repository (header status="deleted", datestamp {header.datestamp})'
