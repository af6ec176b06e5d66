"""HEPData (hepdata.net): the publication data tables of particle physics, one record per finalised version.

Listing. HEPData's search is capped at 10,000 hits, so harvesting goes through `/search/ids?inspire_ids=true`
(every finished record's INSPIRE id, one JSON list) and then the record page JSON per record
(`/record/ins<ID>?format=json[&version=N]`). The id list is sorted and cut into pages; a page's checkpoint is the
last INSPIRE id it covered, so a crashed run resumes right after its last committed page, in a list fetched anew.

Versions. Each finalised HEPData version is its own dmlake record (`ins<ID>.v<N>`, DOI
`10.17182/hepdata.<recid>.v<N>`, see `hepdata_mapping`). A finalised version's tables never change, but its page
does when a newer version is finalised (version count, DOI form, access URLs), so every version of a record is
fetched again when the record gains a version; otherwise older versions are fetched once, and the latest again only
when its `last_updated` differs from the catalogue's stamp.

Incremental. `/search/ids?…&last_updated=<date>` lists records with a version finalised on or after that date.
The watermark is the date a run started; the next run asks from one day before it (the filter has day
granularity, and the overlap covers clock skew and versions finalised while the run was listing).

Full listing. To find what changed without downloading every table list again, a record the catalogue already
has is first asked for with `light=true` (no tables: version count and `last_updated` only); only new or changed
versions are fetched whole. The last page of a full listing says `listing_complete`: a record that was not
listed has been removed from HEPData (which answers 404 for it and leaves no tombstone).

No conditional GET. hepdata.net answers its record pages with Flask's `jsonify`: no ETag, no Last-Modified. And the
page carries the record's view counter (`access_count`, incremented on every view), so even a validator computed
from the body (a proxy's, the sandbox's) changes on each request and a 304 could never come. The light probe is
HEPData's cheap "has it changed" question instead.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar

from connectors.base import (
    Connector,
    FetchFailure,
    HarvestState,
    Page,
    RawRecord,
    provenance_for,
    register,
)
from connectors.hepdata_mapping import MAPPING_VERSION, map_payload, native_id
from connectors.http import HttpError
from ontology import Record

log = logging.getLogger(__name__)

PAGE_SIZE = 50
"""INSPIRE ids per page (a page is fetched concurrently and committed at once)."""
OVERLAP = timedelta(days=1)
MAX_VERSIONS = 50
"""How many versions to look for in the catalogue when a record's version count cannot be learnt."""


@dataclass
class _Fetch:
    """One record page fetched (or not): what the next step needs to know."""

    inspire: int
    version: int | None
    url: str
    payload: bytes = b""
    version_count: int = 0
    stamp: str | None = None
    error: str | None = None
    gone: bool = False


@dataclass
class _Plan:
    """What a page still has to fetch, and what it already knows is unchanged or failed."""

    fetch: list[tuple[int, int | None]] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failures: list[FetchFailure] = field(default_factory=list)
    records: list[RawRecord] = field(default_factory=list)


@register
class HEPDataConnector(Connector):
    kind: ClassVar[str] = "hepdata"
    mapping_version: ClassVar[str] = MAPPING_VERSION
    default_url: ClassVar[str] = "https://www.hepdata.net"

    @property
    def base(self) -> str:
        return self.spec.url.rstrip("/")

    @property
    def page_size(self) -> int:
        return int(self.spec.options.get("page_size", PAGE_SIZE))

    # -- listing -----------------------------------------------------------------------------------------------
    def pages(self, state: HarvestState) -> Iterator[Page]:
        if state.resume:
            mode = str(state.resume["mode"])
            since = state.resume.get("since")
            watermark = str(state.resume["watermark"])
            after = state.resume.get("after")
        else:
            watermark = datetime.now(UTC).date().isoformat()
            previous = state.previous or {}
            if state.full or not previous.get("watermark"):
                mode, since = "full", None
            else:
                mode = "incremental"
                since = (date.fromisoformat(str(previous["watermark"])) - OVERLAP).isoformat()
            after = None
        ids = sorted(set(self._list_ids(since)))
        if after is not None:
            ids = [i for i in ids if i > int(after)]
        chunks = [ids[i : i + self.page_size] for i in range(0, len(ids), self.page_size)]

        def checkpoint(last: int | None, done: bool) -> dict[str, Any]:
            return {"mode": mode, "since": since, "watermark": watermark, "after": last, "done": done}

        if not chunks:
            yield Page(checkpoint=checkpoint(after, True), listing_complete=mode == "full", requests=1)
            return
        emitted = 0
        for number, chunk in enumerate(chunks):
            page = self._page(chunk, mode, state)
            if number == 0:
                page.requests += 1  # the id list
            final = number == len(chunks) - 1
            page.checkpoint = checkpoint(chunk[-1], final)
            page.listing_complete = final and mode == "full"
            yield page
            emitted += len(page.records) + len(page.unchanged)
            if state.limit is not None and emitted >= state.limit:
                return

    def _list_ids(self, since: str | None) -> list[int]:
        params: dict[str, str] = {"inspire_ids": "true"}
        if since:
            params.update(last_updated=since, sort_by="latest")
        body = self.http.get_json(f"{self.base}/search/ids", params=params)
        if not isinstance(body, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in body):
            raise HttpError(f"{self.base}/search/ids", f"expected a JSON list of INSPIRE ids, got {str(body)[:200]}")
        return list(body)

    # -- one page ----------------------------------------------------------------------------------------------
    def _page(self, chunk: Sequence[int], mode: str, state: HarvestState) -> Page:
        plan = _Plan()
        requests = 0
        if mode == "full":
            have = state.known([native_id(i, 1) for i in chunk])
            probe = [i for i in chunk if native_id(i, 1) in have]
            fresh = [i for i in chunk if native_id(i, 1) not in have]
        else:
            probe, fresh = [], list(chunk)
        # records the catalogue has: a light page tells whether anything changed
        light = self.http.map_concurrently(lambda i: self._fetch(i, None, light=True), probe)
        requests += len(light)
        self._plan_from_light(light, state, plan)
        # records to fetch whole: the latest version first (it tells how many versions there are)
        latest = self.http.map_concurrently(lambda i: self._fetch(i, None), fresh)
        requests += len(latest)
        self._plan_from_latest(latest, state, plan)
        rest = self.http.map_concurrently(lambda item: self._fetch(item[0], item[1]), plan.fetch)
        requests += len(rest)
        for result in rest:
            self._collect(result, plan)
        return Page(
            checkpoint={},
            records=plan.records,
            unchanged=plan.unchanged,
            failures=plan.failures,
            requests=requests,
        )

    def _plan_from_light(self, results: list[_Fetch], state: HarvestState, plan: _Plan) -> None:
        wanted = [native_id(r.inspire, k) for r in results if not r.error for k in range(1, r.version_count + 1)]
        stamps = state.known(wanted) if wanted else {}
        for result in results:
            if result.gone:
                continue  # removed since it was listed: a full listing's disappearance deals with it
            if result.error:
                self._fail_all_known(result, state, plan)
                continue
            grew = _has_new_versions(result, stamps)
            for version in range(1, result.version_count + 1):
                ident = native_id(result.inspire, version)
                current = version == result.version_count and stamps.get(ident) != result.stamp
                if ident in stamps and not current and not grew:
                    plan.unchanged.append(ident)
                else:
                    plan.fetch.append((result.inspire, version))

    def _plan_from_latest(self, results: list[_Fetch], state: HarvestState, plan: _Plan) -> None:
        wanted = [native_id(r.inspire, k) for r in results if not r.error for k in range(1, r.version_count + 1)]
        stamps = state.known(wanted) if wanted else {}
        for result in results:
            if result.gone:
                continue
            if result.error:
                plan.failures.append(FetchFailure(f"ins{result.inspire}", result.url, result.error))
                continue
            self._collect(result, plan, stamps=stamps)
            grew = _has_new_versions(result, stamps)
            for version in range(1, result.version_count):
                ident = native_id(result.inspire, version)
                if ident in stamps and not grew:
                    plan.unchanged.append(ident)
                else:
                    plan.fetch.append((result.inspire, version))

    def _collect(self, result: _Fetch, plan: _Plan, stamps: Mapping[str, str | None] | None = None) -> None:
        if result.gone:
            return
        if result.error or result.version is None:
            ident = native_id(result.inspire, result.version) if result.version else f"ins{result.inspire}"
            plan.failures.append(FetchFailure(ident, result.url, result.error or "no version in the record page"))
            return
        ident = native_id(result.inspire, result.version)
        if stamps is not None and ident in stamps and stamps[ident] == result.stamp:
            plan.unchanged.append(ident)
            return
        plan.records.append(
            RawRecord(
                native_id=ident,
                payload=result.payload,
                media_type="application/json",
                url=result.url,
                source_updated=result.stamp,
            )
        )

    def _fail_all_known(self, result: _Fetch, state: HarvestState, plan: _Plan) -> None:
        """A record that could not be probed: report its versions as failed so a full listing does not take the
        failure for a removal."""
        candidates = [native_id(result.inspire, k) for k in range(1, MAX_VERSIONS + 1)]
        known = state.known(candidates)
        for ident in candidates:
            if ident in known:
                plan.failures.append(FetchFailure(ident, result.url, result.error or "unknown error"))

    def _fetch(self, inspire: int, version: int | None, light: bool = False) -> _Fetch:
        params = {"format": "json"}
        if version is not None:
            params["version"] = str(version)
        if light:
            params["light"] = "true"
        url = f"{self.base}/record/ins{inspire}?" + "&".join(f"{k}={v}" for k, v in params.items())
        try:
            response, body = self.http.get_json_response(f"{self.base}/record/ins{inspire}", params=params)
        except HttpError as error:
            if error.status == 404:
                log.info("hepdata: ins%s was listed but is gone (404): %s", inspire, error)
                return _Fetch(inspire, version, url, gone=True)
            return _Fetch(inspire, version, url, error=str(error))
        if not isinstance(body, dict):
            return _Fetch(inspire, version, url, error=f"expected the record page JSON object, got {str(body)[:100]}")
        number, count = body.get("version"), body.get("version_count")
        record = body.get("record")
        if not isinstance(number, int) or not isinstance(count, int) or not isinstance(record, dict):
            return _Fetch(inspire, version, url, error="not a HEPData record page: no version, version_count, record")
        if version is not None and number != version:
            return _Fetch(inspire, version, url, error=f"asked for version {version}, HEPData answered {number}")
        stamp = record.get("last_updated")
        return _Fetch(
            inspire,
            number,
            url,
            payload=response.content,
            version_count=count,
            stamp=str(stamp) if stamp is not None else None,
        )

    # -- mapping -----------------------------------------------------------------------------------------------
    @classmethod
    def map_record(cls, raw: RawRecord, source: str) -> Record:
        return map_payload(raw, source, provenance_for(cls, raw, source))


def _has_new_versions(result: _Fetch, known: Mapping[str, str | None]) -> bool:
    """True when the catalogue holds some but not all of the record's versions: it has gained a version since."""
    idents = [native_id(result.inspire, version) for version in range(1, result.version_count + 1)]
    held = sum(ident in known for ident in idents)
    return 0 < held < len(idents)
