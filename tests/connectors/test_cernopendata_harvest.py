"""The CERN Open Data connector against the running replica, through `pages()`: the whole corpus, incremental runs,
edits, deletions, injected faults, resuming, and a generated portal larger than the 10,000-hit search window.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.base import Deletion, HarvestState, Limits, Page, RawRecord, SourceSpec
from connectors.cernopendata import CernOpenDataConnector, LinksNextKeeping
from connectors.http import HttpClient
from connectors.paging import Request
from ontology import IdentifierScheme, Record
from sandbox.replicas.cernopendata import CernOpenDataReplica
from sandbox.replicas.cernopendata_api import isoformat
from sandbox.server import RunningSandbox, start

SOURCE = "cern"
RECORD_PATH = re.compile(r"^/api/records/(\d+)$")


@dataclass
class Harvest:
    pages: list[Page]
    raws: dict[str, RawRecord]
    records: dict[str, Record]
    errors: dict[str, str]

    @property
    def stamps(self) -> dict[str, str | None]:
        return {n: r.source_updated for n, r in self.raws.items()}

    @property
    def listed(self) -> list[str]:
        return [i for p in self.pages for i in [*(r.native_id for r in p.records), *p.unchanged]]


def connector(url: str, http: HttpClient | None = None, **options: Any) -> CernOpenDataConnector:
    spec = SourceSpec(SOURCE, "cernopendata", url, options=options, limits=Limits(concurrency=8, timeout=30))
    return CernOpenDataConnector(spec, http or HttpClient(spec.limits, max_backoff=0.2))


def harvest(conn: CernOpenDataConnector, state: HarvestState) -> Harvest:
    pages = list(conn.pages(state))
    raws = {r.native_id: r for p in pages for r in p.records}
    records: dict[str, Record] = {}
    errors: dict[str, str] = {}
    for native_id, raw in raws.items():
        try:
            records[native_id] = CernOpenDataConnector.map_record(raw, SOURCE)
        except Exception as error:  # every failure is collected and reported by the test
            errors[native_id] = f"{type(error).__name__}: {error}"
    return Harvest(pages, raws, records, errors)


def knowing(stamps: dict[str, str | None]) -> HarvestState:
    return HarvestState(known=lambda ids: {i: stamps[i] for i in ids if i in stamps})


def requests_of(running: RunningSandbox, name: str = SOURCE) -> list[dict[str, Any]]:
    response = httpx.get(f"{running.urls[name]}/_sandbox/requests", timeout=30)
    log: list[dict[str, Any]] = response.json()
    return log


def fetched_ids(log: list[dict[str, Any]]) -> list[str]:
    return [m.group(1) for entry in log if (m := RECORD_PATH.match(entry["path"]))]


@pytest.fixture(scope="module")
def fixtures(corpus: Path) -> dict[str, dict[str, Any]]:
    records: dict[str, dict[str, Any]] = {}
    for path in sorted((corpus / "cernopendata" / "records").glob("*.json")):
        for record in json.loads(path.read_text()):
            records[record["recid"]] = record
    return records


def corpus_sandbox(corpus: Path) -> RunningSandbox:
    replica = CernOpenDataReplica.from_corpus(corpus)
    assert replica is not None
    return start({SOURCE: replica})


@pytest.fixture(scope="module")
def running(corpus: Path) -> Iterator[RunningSandbox]:
    with corpus_sandbox(corpus) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def first(running: RunningSandbox) -> Harvest:
    """One uninterrupted first run over the whole corpus (nothing known, so every record is fetched)."""
    return harvest(connector(running.urls[SOURCE]), HarvestState())


# -- the whole corpus -----------------------------------------------------------------------------------------------
def test_whole_corpus_is_listed_fetched_and_mapped_without_errors(
    first: Harvest, fixtures: dict[str, dict[str, Any]], running: RunningSandbox
) -> None:
    assert first.errors == {}
    assert set(first.raws) == set(fixtures) and len(first.raws) == 7443
    assert len(first.listed) == len(set(first.listed)) == 7443
    assert [p.listing_complete for p in first.pages] == [False] * (len(first.pages) - 1) + [True]
    assert not any(p.failures or p.deletions for p in first.pages)
    log = requests_of(running)
    assert {entry["status"] for entry in log} == {200}  # never ran into the 10,000-hit window
    assert sum(p.requests for p in first.pages) == len(log)
    searches = [e for e in log if e["path"] == "/api/records/"]
    assert all("ondemand=true" in e["query"] for e in searches)
    raw = first.raws["1"]
    assert raw.media_type == "application/json" and raw.url.endswith("/api/records/1")
    assert json.loads(raw.payload)["updated"] == raw.source_updated


def test_every_identifier_file_energy_and_type_reaches_the_model(
    first: Harvest, fixtures: dict[str, dict[str, Any]]
) -> None:
    for recid, fixture in fixtures.items():
        record = first.records[recid]
        assert record.identifier(IdentifierScheme.CERN_RECID) == recid
        assert record.doi == fixture.get("doi"), recid
        assert [e.raw for e in record.experiments] == fixture["experiment"]
        assert all(e.uri for e in record.experiments), recid
        files = {d.access_url or d.url: d for d in record.distributions}
        assert len(files) == len(fixture.get("files", [])), recid
        for file in fixture.get("files", []):
            distribution = files[file["uri"]]
            assert distribution.size_bytes == file["size"], (recid, file["uri"])
            assert str(distribution.checksum) == file["checksum"].lower(), (recid, file["uri"])
        collision = fixture.get("collision_information") or {}
        if collision.get("energy"):
            assert record.collision is not None and record.collision.sqrt_s is not None
            assert record.collision.sqrt_s.raw == collision["energy"]
        if collision.get("type"):
            assert record.collision is not None and record.collision.type is not None
            assert record.collision.type.raw == collision["type"] and record.collision.type.uri, recid


def test_counts_per_experiment_equal_the_corpus(first: Harvest, fixtures: dict[str, dict[str, Any]]) -> None:
    expected = Counter(e for f in fixtures.values() for e in f["experiment"])
    harvested = Counter(e.label for r in first.records.values() for e in r.experiments)
    assert harvested == expected
    assert harvested["CMS"] == 6993 and harvested["ATLAS"] == 172


# -- incremental ----------------------------------------------------------------------------------------------------
def test_second_listing_with_the_stored_stamps_fetches_no_record(first: Harvest, running: RunningSandbox) -> None:
    httpx.delete(f"{running.urls[SOURCE]}/_sandbox/requests", timeout=30)
    again = harvest(connector(running.urls[SOURCE]), knowing(first.stamps))
    assert again.raws == {}
    assert sorted(again.listed) == sorted(first.raws)
    assert again.pages[-1].listing_complete
    log = requests_of(running)
    assert fetched_ids(log) == []
    assert len(log) < 60  # search pages only


def test_after_editing_ten_records_exactly_those_are_fetched(corpus: Path, first: Harvest) -> None:
    with corpus_sandbox(corpus) as sandbox:
        url = sandbox.urls[SOURCE]
        edited = httpx.post(f"{url}/_sandbox/edit", json={"count": 10, "seed": 4}, timeout=30).json()["edited"]
        assert len(edited) == 10
        run = harvest(connector(url), knowing(first.stamps))
        assert set(run.raws) == set(edited)
        assert sorted(fetched_ids(requests_of(sandbox))) == sorted(edited)
        for native_id in edited:
            assert run.raws[native_id].source_updated != first.stamps[native_id]
            assert "Metadata revision 1" in (run.records[native_id].description or "")
        assert len(run.listed) == 7443 and run.pages[-1].listing_complete


def test_deleted_records_are_absent_from_a_complete_listing(corpus: Path, first: Harvest) -> None:
    with corpus_sandbox(corpus) as sandbox:
        url = sandbox.urls[SOURCE]
        deleted = httpx.post(f"{url}/_sandbox/delete", json={"count": 5, "seed": 2}, timeout=30).json()["deleted"]
        assert len(deleted) == 5
        run = harvest(connector(url), knowing(first.stamps))
        assert run.pages[-1].listing_complete
        assert set(run.listed) == set(first.raws) - set(deleted)
        assert run.raws == {}


def test_a_record_deleted_between_listing_and_fetch_is_a_deletion(corpus: Path, first: Harvest) -> None:
    with corpus_sandbox(corpus) as sandbox:
        url = sandbox.urls[SOURCE]
        victims: list[str] = []

        def known(ids: Any) -> dict[str, str | None]:
            # the first time the listing asks, one listed record is deleted before the connector fetches it
            stamps = {i: first.stamps[i] for i in ids}
            if not victims:
                victims.append(ids[0])
                httpx.post(f"{url}/_sandbox/delete", json={"ids": victims}, timeout=30).raise_for_status()
                del stamps[ids[0]]
            return stamps

        pages = list(connector(url).pages(HarvestState(known=known)))
        deletions = [d for p in pages for d in p.deletions]
        assert deletions == [Deletion(victims[0], deletions[0].reason)]
        assert "410" in deletions[0].reason and "PID has been deleted." in deletions[0].reason


# -- faults ---------------------------------------------------------------------------------------------------------
def test_listing_survives_429_503_and_truncated_bodies(corpus: Path, first: Harvest) -> None:
    waits: list[float] = []
    with corpus_sandbox(corpus) as sandbox:
        url = sandbox.urls[SOURCE]
        plans = [
            {
                "kind": "status",
                "status": 429,
                "retry_after": 1,
                "path": r"^/api/records/\?",
                "every": 3,
                "max_faults": 4,
            },
            {"kind": "status", "status": 503, "path": r"^/api/records/\d+", "rate": 0.05, "seed": 1},
            {"kind": "truncate", "path": r"^/api/records/\d+", "rate": 0.03, "seed": 2},
            {"kind": "truncate", "path": r"^/api/records/\?", "every": 5, "max_faults": 3},
        ]
        httpx.put(f"{url}/_sandbox/faults", json=plans, timeout=30).raise_for_status()

        def nap(seconds: float) -> None:  # record the waits asked for, without spending them
            waits.append(seconds)
            time.sleep(min(seconds, 0.01))

        http = HttpClient(Limits(concurrency=8, timeout=30), max_backoff=5, sleep=nap)
        # a third of the records are "new" to this catalogue, so fetches meet the faults too
        stamps = {n: s for n, s in first.stamps.items() if int(n) % 3}
        run = harvest(connector(url, http), knowing(stamps))
        injected = [p["injected"] for p in httpx.get(f"{url}/_sandbox/faults", timeout=30).json()]
    assert all(count > 0 for count in injected), injected
    assert 1.0 in waits  # Retry-After honoured
    assert run.errors == {} and [f for p in run.pages for f in p.failures] == []
    assert run.pages[-1].listing_complete
    assert sorted(run.listed) == sorted(first.raws)
    assert set(run.raws) == {n for n in first.raws if int(n) % 3 == 0}
    for native_id, record in run.records.items():
        expected = first.records[native_id].content_dict()
        got = record.content_dict()
        expected.pop("provenance"), got.pop("provenance")
        assert got == expected, native_id


# -- resuming -------------------------------------------------------------------------------------------------------
def test_a_restarted_listing_yields_exactly_the_records_after_its_checkpoint(
    first: Harvest, running: RunningSandbox
) -> None:
    options = {"page_size": 100, "window_target": 450}
    whole = list(connector(running.urls[SOURCE], **options).pages(knowing(first.stamps)))
    assert whole[-1].listing_complete and len(whole) > 20
    mid_window = next(n for n, p in enumerate(whole[:-1]) if p.checkpoint["next"] is not None)
    between = next(n for n, p in enumerate(whole[:-1]) if n > 5 and p.checkpoint["next"] is None)
    for cut in (mid_window, between, len(whole) // 2):
        resumed = list(
            connector(running.urls[SOURCE], **options).pages(
                HarvestState(resume=whole[cut].checkpoint, known=knowing(first.stamps).known)
            )
        )
        after = [i for p in whole[cut + 1 :] for i in p.unchanged]
        assert [i for p in resumed for i in p.unchanged] == after
        assert resumed[-1].listing_complete
    ids = [i for p in whole for i in p.unchanged]
    assert len(ids) == len(set(ids)) == 7443


def test_a_checkpoint_resumes_on_the_endpoint_configured_now(
    corpus: Path, first: Harvest, running: RunningSandbox
) -> None:
    options = {"page_size": 100, "window_target": 450}
    whole = list(connector(running.urls[SOURCE], **options).pages(knowing(first.stamps)))
    cut = next(n for n, p in enumerate(whole) if n > 10 and p.checkpoint["next"] is not None)
    with corpus_sandbox(corpus) as moved:  # the same portal, now at another address
        resumed = list(
            connector(moved.urls[SOURCE], **options).pages(
                HarvestState(resume=whole[cut].checkpoint, known=knowing(first.stamps).known)
            )
        )
        hosts = {e["path"] for e in requests_of(moved)}
    assert [i for p in resumed for i in p.unchanged] == [i for p in whole[cut + 1 :] for i in p.unchanged]
    assert hosts == {"/api/records/"}


def test_next_links_are_followed_on_the_endpoint_asked_with_ondemand_kept() -> None:
    asked = Request.of("https://opendata.cern.ch/api/records/", {"q": "recid:[1 TO 9]", "page": 1, "ondemand": "true"})
    body = {"links": {"next": "http://opendata.cern.ch/api/records/?page=2&sort=mostrecent&q=recid%3A%5B1+TO+9%5D"}}
    following = LinksNextKeeping(("ondemand",)).next_request(asked, httpx.Response(200), body, [{}])
    assert following == Request(
        "https://opendata.cern.ch/api/records/",
        (("ondemand", "true"), ("page", "2"), ("q", "recid:[1 TO 9]"), ("sort", "mostrecent")),
    )
    assert LinksNextKeeping(("ondemand",)).next_request(asked, httpx.Response(200), {"links": {}}, [{}]) is None


def test_limit_stops_early_without_claiming_a_complete_listing(first: Harvest, running: RunningSandbox) -> None:
    state = HarvestState(known=knowing(first.stamps).known, limit=250)
    pages = list(connector(running.urls[SOURCE]).pages(state))
    assert sum(len(p.unchanged) + len(p.records) for p in pages) == 250
    assert not any(p.listing_complete for p in pages)


# -- a generated portal beyond the search window --------------------------------------------------------------------
def test_generated_portal_larger_than_the_search_window_is_listed_whole() -> None:
    replica = CernOpenDataReplica.generated(25_000, seed=8)
    base = replica.base
    stamps = {base.native_id(i): isoformat(base.updated(i)) for i in range(len(base))}
    cold = {base.native_id(i) for i in range(len(base)) if base.profile(base.profile_id_at(i)).ondemand}
    with start({SOURCE: replica}) as sandbox:
        pages = list(connector(sandbox.urls[SOURCE], page_size=1000).pages(knowing(stamps)))
        log = requests_of(sandbox)
    listed = [i for p in pages for i in p.unchanged]
    assert not any(p.records for p in pages)
    assert len(listed) == len(set(listed)) == 25_000
    assert cold and cold <= set(listed)  # on-demand records too: `ondemand=true` survives links.next
    assert pages[-1].listing_complete
    assert {e["status"] for e in log} == {200}
    windows = {re.search(r"q=recid%3A%5B(\d+)", e["query"]).group(1) for e in log if "q=" in e["query"]}  # type: ignore[union-attr]
    assert len(windows) >= 3
