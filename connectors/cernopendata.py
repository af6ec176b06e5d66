"""CERN Open Data portal (opendata.cern.ch): list everything by recid windows, fetch what changed, map.

The portal's REST API (Invenio v3, invenio-records-rest) has no "changed since" filter (FORMATS.md §1), so every
run lists the whole portal and compares: a search hit carries the record's `updated` stamp, the catalogue knows the
stamp it holds (`HarvestState.known`), equal stamps go to `Page.unchanged` without a request, and only new or
changed records are fetched (`GET /api/records/<recid>`, concurrently within the source's concurrency limit),
because search hits carry no files. A 410 on fetch is a deletion; a record gone from a complete listing is
tombstoned by the harvester (the last page says `listing_complete`).

Conditional GET. The portal's record endpoint (invenio-records-rest's `record_responsify`) sends `ETag: "<revision
id>"` and `Last-Modified: <updated>` and answers a matching `If-None-Match` with 304. Every record fetch keeps the
validators it was answered with (`RawRecord.validators`, stored with the record by the catalogue); a record the
listing does not show as changed (a `full` run, or a hit without an `updated` stamp) is fetched with those
validators, and a 304 puts it in `Page.unchanged` without a download. A record whose stamp differs is fetched
unconditionally: its revision changed, so a 304 could not come.

Listing. The search refuses `page * size >= 10000`, so the listing is split into recid windows
(`q=recid:[low TO high]`) small enough to page through, sized adaptively from the hit totals the portal reports:
a window reporting more hits than fit is shrunk before its first page is used, a sparse one makes the next
window wider, and an empty window followed by an empty `recid:[low TO *]` ends the listing. Within a window the
pages follow `links.next` (declared pagination, `connectors.paging`); the portal leaves `ondemand=true` out of
that link (it reads the parameter outside its search factory), so the paginator puts it back, or the cold-storage
records would silently drop out after the first page. `sort=mostrecent` (date_published, then recid) gives a
total order. A window whose total changes while it is being paged, or that yields fewer distinct records than it
reported, is listed again, so a record edited or deleted mid-run cannot make another one go unseen (and be
tombstoned by mistake).

The checkpoint after each page holds the window and the request for its next page, so a crashed run resumes
right after the last committed page (on the source's current URL: only the page's parameters are kept). The
final checkpoint keeps the learned window width, so the next run starts with windows of the right size.

A `full` run fetches every record again (a forced refresh), conditionally where the catalogue holds validators for
it (a record mapped by an older mapping version has none, so it is fetched and mapped anew); other runs fetch only
new and changed ones.

Options (`[sources.<name>.options]`): `page_size` (hits per search page, default 200: hits carry full metadata,
and author lists can be large), `window_target` (hits aimed at per recid window, default 10 pages), `max_relists`
(how often a window that changed while listed is listed again, default 3).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

import httpx

from connectors.base import (
    Connector,
    Deletion,
    FetchFailure,
    HarvestState,
    MappingError,
    Page,
    RawRecord,
    provenance_for,
    register,
)
from connectors.cernopendata_mapper import map_cern_record
from connectors.http import HttpError, NotModified, Validators
from connectors.paging import LinksNext, Listing, Request, dig
from ontology import Record

log = logging.getLogger(__name__)

MAX_RESULT_WINDOW = 10_000
"""invenio-records-rest refuses `page * size >= max_result_window` (10,000 for the records index)."""


@dataclass(frozen=True)
class LinksNextKeeping:
    """Follow `links.next` on the endpoint asked, putting back parameters the server leaves out of the link.

    Only the link's query is taken: Invenio writes its links with the host and scheme it believes it has
    (`http://` behind the portal's proxy), while the endpoint asked is the one the source is configured with.
    """

    keep: tuple[str, ...]
    path: tuple[str, ...] = ("links", "next")

    def next_request(
        self, request: Request, response: httpx.Response, body: Any, items: Sequence[Any]
    ) -> Request | None:
        following = LinksNext(self.path).next_request(request, response, body, items)
        if following is None:
            return None
        carried = {k: v for k, v in request.params if k in self.keep}
        return Request(request.url, following.params).with_params(**carried)


@dataclass
class Cursor:
    """Where a listing stands; the checkpoint is this, as a dict."""

    low: int = 0
    """First recid of the current window."""
    width: int = 5000
    """Recids per window (learned from the hit density; carried into the next run)."""
    high: int | None = None
    next: dict[str, Any] | None = None
    """The request for the current window's next page; None: the window at `low` is not started."""
    total: int | None = None
    """Hits the current window reported on its first page."""
    relists: int = 0
    listed: int = 0
    done: bool = False

    @classmethod
    def from_checkpoint(cls, checkpoint: dict[str, Any] | None) -> Cursor:
        if not checkpoint:
            return cls()
        known = {k: v for k, v in checkpoint.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def checkpoint(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Window:
    """The current window's bookkeeping that does not survive a restart (distinct records seen)."""

    seen: set[str] = field(default_factory=set)
    complete_view: bool = True
    """False after a resume mid-window: records seen before the restart are not in `seen`."""


@register
class CernOpenDataConnector(Connector):
    kind: ClassVar[str] = "cernopendata"
    mapping_version: ClassVar[str] = "1.0"
    default_url: ClassVar[str] = "https://opendata.cern.ch"

    def __init__(self, spec: Any, http: Any) -> None:
        super().__init__(spec, http)
        options = spec.options
        self.base = spec.url.rstrip("/")
        self.page_size = int(options.get("page_size", 200))
        if not 1 <= self.page_size < MAX_RESULT_WINDOW:
            raise ValueError(f"{spec.name}: page_size must be between 1 and {MAX_RESULT_WINDOW - 1}")
        # the last page a window can reach is the largest p with p * size < 10000
        self.max_window = ((MAX_RESULT_WINDOW - 1) // self.page_size) * self.page_size
        self.target = min(int(options.get("window_target", 10 * self.page_size)), self.max_window)
        self.max_relists = int(options.get("max_relists", 3))

    # -- listing ---------------------------------------------------------------------------------------------
    def _window_listing(self, low: int, high: int | None, size: int) -> Listing:
        query = f"recid:[{low} TO {'*' if high is None else high}]"
        first = Request.of(
            f"{self.base}/api/records/",
            {"q": query, "sort": "mostrecent", "size": size, "page": 1, "ondemand": "true"},
        )
        return Listing(first, ("hits", "hits"), LinksNextKeeping(("ondemand",)))

    def pages(self, state: HarvestState) -> Iterator[Page]:
        cursor = Cursor.from_checkpoint(state.resume)
        if state.resume is None and state.previous and state.previous.get("width"):
            cursor.width = max(1, int(state.previous["width"]))
        if cursor.done:
            return
        window = _Window(complete_view=cursor.next is None)
        requests = 0
        while True:
            if cursor.next is None:
                high = cursor.low + cursor.width - 1
                listing = self._window_listing(cursor.low, high, self.page_size)
                pages = listing.pages(self.http)
                first = next(pages)
                requests += 1
                total = _total(first.body, first.response)
                if total > self.max_window and cursor.width > 1:
                    # too many hits to page through: narrow the window before using any of it
                    cursor.width = max(1, min(cursor.width // 2, cursor.width * self.target // total))
                    continue
                if total == 0:
                    rest = next(self._window_listing(cursor.low, None, 1).pages(self.http))
                    requests += 1
                    if _total(rest.body, rest.response) == 0:
                        cursor.done, cursor.next = True, None
                        yield Page(checkpoint=cursor.checkpoint(), listing_complete=True, requests=requests)
                        return
                    cursor.low = high + 1
                    cursor.width = min(cursor.width * 4, 1 << 30)
                    continue
                cursor.high, cursor.total, window = high, total, _Window()
                listed = first
            else:
                listing = self._window_listing(cursor.low, cursor.high, self.page_size)
                # the checkpoint's parameters, on the endpoint configured now (the URL may have moved since)
                resume_at = Request(listing.first.url, Request.from_state(cursor.next).params)
                pages = listing.pages(self.http, resume_at)
                listed = next(pages)
                requests += 1
            while True:
                page, stop = self._page(listed, state, cursor, window, requests)
                requests = 0
                yield page
                if stop:
                    return
                if cursor.next is None:
                    break
                listed = next(pages)
                requests += 1

    def _page(
        self, listed: Any, state: HarvestState, cursor: Cursor, window: _Window, requests: int
    ) -> tuple[Page, bool]:
        """Turn one search page into a harvest page and move the cursor past it. Returns (page, stop now)."""
        hits = [h for h in listed.items if isinstance(h, dict)]
        total = _total(listed.body, listed.response)
        stamps: dict[str, str | None] = {}
        for hit in hits:
            recid = hit.get("id", dig(hit, ("metadata", "recid")))
            if recid is None:
                raise HttpError(str(listed.response.request.url), f"a search hit without an id: {str(hit)[:200]}")
            stamps.setdefault(str(recid), hit.get("updated"))
        ids = list(stamps)
        limited = state.limit is not None and cursor.listed + len(ids) >= state.limit
        if limited and state.limit is not None:
            ids = ids[: max(0, state.limit - cursor.listed)]
        cursor.listed += len(ids)
        window.seen.update(ids)

        known = state.known(ids) if ids else {}
        unchanged = [i for i in ids if not state.full and known.get(i) is not None and known.get(i) == stamps[i]]
        same = set(unchanged)
        wanted = [i for i in ids if i not in same]
        # only records the listing does not show as changed can be answered 304: ask for their validators alone
        unsure = [i for i in wanted if i in known and not _stamp_changed(known[i], stamps[i])]
        validators = state.validators(unsure) if unsure else {}
        fetched = self.http.map_concurrently(
            lambda recid: self._fetch(recid, validators.get(recid)), wanted, workers=self.spec.limits.concurrency
        )
        page = Page(checkpoint={}, unchanged=unchanged, requests=requests + len(fetched))
        for outcome in fetched:
            if isinstance(outcome, str):
                page.unchanged.append(outcome)
            elif isinstance(outcome, RawRecord):
                page.records.append(outcome)
            elif isinstance(outcome, Deletion):
                page.deletions.append(outcome)
            else:
                page.failures.append(outcome)

        changed = total != cursor.total
        if listed.next is not None and not changed:
            cursor.next = listed.next.to_state()
        else:
            short = window.complete_view and len(window.seen) < total
            if (changed or short) and cursor.relists < self.max_relists:
                log.info(
                    "%s: recid window [%s, %s] changed while listed (%s hits, then %s; %s seen): listing it again",
                    self.spec.name, cursor.low, cursor.high, cursor.total, total, len(window.seen),
                )  # fmt: skip
                cursor.relists += 1
            else:
                if changed or short:
                    log.warning(
                        "%s: recid window [%s, %s] kept changing; moving on after %s attempts",
                        self.spec.name, cursor.low, cursor.high, cursor.relists + 1,
                    )  # fmt: skip
                self._advance(cursor)
            cursor.next, cursor.total = None, None
        page.checkpoint = cursor.checkpoint()
        return page, limited

    def _advance(self, cursor: Cursor) -> None:
        """Past the finished window; the next one sized for about `target` hits at the density just seen."""
        seen = max(1, cursor.total or 0)
        scale = self.target / seen
        width = int(cursor.width * min(4.0, max(0.25, scale)))
        cursor.low = (cursor.high if cursor.high is not None else cursor.low + cursor.width - 1) + 1
        cursor.width = max(1, width)
        cursor.high, cursor.relists = None, 0

    # -- fetching --------------------------------------------------------------------------------------------
    def _fetch(self, recid: str, held: Mapping[str, str] | None = None) -> RawRecord | Deletion | FetchFailure | str:
        """Fetch one record: with `held` validators a 304 returns the recid (the catalogue's copy is current).

        Without validators no conditional header is sent at all, not even one the client remembers for the URL:
        only the catalogue knows which answer was committed.
        """
        url = f"{self.base}/api/records/{recid}"
        try:
            answer = self.http.get_conditional(
                url,
                validators=Validators.from_state(held) if held else Validators(),
                parse="json",
                ok_statuses=(404, 410),
            )
        except HttpError as error:
            return FetchFailure(recid, url, str(error))
        if isinstance(answer, NotModified):
            if not held:  # a 304 to an unconditional request vouches for nothing: the record is not in the catalogue
                return FetchFailure(recid, url, "answered 304 Not Modified to a request that was not conditional")
            return recid
        response, body = answer.response, answer.body
        if response.status_code == 410:
            return Deletion(recid, f"HTTP 410 from {url}: {_message(response)}")
        if response.status_code == 404:
            return FetchFailure(recid, url, f"listed by the search but HTTP 404: {_message(response)}")
        updated = body.get("updated") if isinstance(body, dict) else None
        return RawRecord(
            recid,
            response.content,
            "application/json",
            url,
            str(updated) if updated else None,
            validators=answer.validators.to_state() if answer.validators else None,
        )

    # -- mapping ---------------------------------------------------------------------------------------------
    @classmethod
    def map_record(cls, raw: RawRecord, source: str) -> Record:
        record = map_cern_record(raw.payload, source, provenance_for(cls, raw, source))
        if record.native_id != raw.native_id:
            raise MappingError(
                "metadata.recid", f"the payload is record {record.native_id}, fetched as {raw.native_id}"
            )
        return record


def _stamp_changed(held: str | None, listed: Any) -> bool:
    """Whether the listing shows a record changed since the catalogue's copy (both stamps known and different)."""
    return held is not None and listed is not None and held != listed


def _total(body: Any, response: httpx.Response) -> int:
    total = dig(body, ("hits", "total"))
    if isinstance(total, dict):  # OpenSearch 7 style, should a deployment ever pass it through
        total = total.get("value")
    if not isinstance(total, int) or isinstance(total, bool):
        raise HttpError(str(response.request.url), f"search response without an integer hits.total: {str(body)[:200]}")
    return total


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    return str(body.get("message", body)) if isinstance(body, dict) else str(body)[:200]
