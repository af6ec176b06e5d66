"""The HEPData connector harvesting the running replica through `pages()`: full, incremental, edits, deletions,
faults and resuming after a crash. A small in-test catalogue plays the harvester's part (stamps, checkpoints)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from connectors import registry
from connectors.base import HarvestState, Limits, Page, SourceSpec
from connectors.hepdata import HEPDataConnector
from connectors.http import HttpClient
from ontology import Record
from sandbox.replicas.hepdata import HEPDataReplica
from sandbox.server import RunningSandbox, start


@dataclass
class Run:
    pages: list[Page]
    records: dict[str, Record]

    @property
    def seen(self) -> set[str]:
        return {n for p in self.pages for n in [r.native_id for r in p.records] + p.unchanged}

    @property
    def failures(self) -> list[Any]:
        return [f for p in self.pages for f in p.failures]


@dataclass
class Catalogue:
    """What the harvester keeps between runs: the stamp of every record it holds and the last final checkpoint."""

    stamps: dict[str, str | None] = field(default_factory=dict)
    previous: dict[str, Any] | None = None

    def known(self, ids: Any) -> dict[str, str | None]:
        return {i: self.stamps[i] for i in ids if i in self.stamps}

    def harvest(self, connector: HEPDataConnector, stop_after: int | None = None, **state: Any) -> Run:
        run = Run([], {})
        for page in connector.pages(HarvestState(known=self.known, previous=self.previous, **state)):
            json.dumps(page.checkpoint)  # a checkpoint is stored as JSON
            for raw in page.records:
                run.records[raw.native_id] = HEPDataConnector.map_record(raw, "hepdata")
                self.stamps[raw.native_id] = raw.source_updated
            run.pages.append(page)
            if stop_after is not None and len(run.pages) == stop_after:
                return run  # the process dies here: this page is committed, the next is not
        if run.pages[-1].listing_complete:
            for gone in set(self.stamps) - run.seen - {f.native_id for f in run.failures}:
                del self.stamps[gone]
        self.previous = run.pages[-1].checkpoint
        return run


@pytest.fixture
def http() -> Iterator[HttpClient]:
    with HttpClient(Limits(concurrency=4, max_retries=6), sleep=lambda seconds: None, max_backoff=0.01) as client:
        yield client


def connector(url: str, http: HttpClient, page_size: int = 10) -> HEPDataConnector:
    return HEPDataConnector(SourceSpec("hepdata", "hepdata", url, options={"page_size": page_size}), http)


def requests(url: str) -> list[dict[str, Any]]:
    log: list[dict[str, Any]] = httpx.get(f"{url}/_sandbox/requests", timeout=30).json()
    return log


def clear_requests(url: str) -> None:
    httpx.delete(f"{url}/_sandbox/requests", timeout=30)


def record_fetches(url: str) -> list[dict[str, Any]]:
    return [r for r in requests(url) if r["path"].startswith("/record/")]


@pytest.fixture
def generated() -> Iterator[RunningSandbox]:
    with start({"hepdata": HEPDataReplica.generated(40, seed=9)}) as running:
        yield running


def test_the_connector_is_registered() -> None:
    assert registry()["hepdata"] is HEPDataConnector
    assert HEPDataConnector.default_url == "https://www.hepdata.net"


def test_the_corpus_is_harvested_without_an_error(corpus: Path, http: HttpClient) -> None:
    replica = HEPDataReplica.from_corpus(corpus)
    assert replica is not None
    with start({"hepdata": replica}) as running:
        url = running.urls["hepdata"]
        run = Catalogue().harvest(connector(url, http))
        assert sorted(run.records) == ["ins1396331.v1", "ins1512299.v1"]
        assert run.failures == [] and run.pages[-1].listing_complete
        assert [r["path"] for r in requests(url)] == ["/search/ids", "/record/ins1396331", "/record/ins1512299"]
        assert all(parse_qs(r["query"]).get("light") is None for r in record_fetches(url))
        assert run.pages[-1].requests == 3


def test_every_version_is_its_own_record(generated: RunningSandbox, http: HttpClient) -> None:
    url = generated.urls["hepdata"]
    run = Catalogue().harvest(connector(url, http))
    counts: dict[str, int] = {}
    for native in run.records:
        inspire, version = native.split(".v")
        counts[inspire] = max(counts.get(inspire, 0), int(version))
    assert len(counts) == 40 and set(counts.values()) == {1, 2, 3}
    assert len(run.records) == sum(counts.values())
    for inspire, latest in counts.items():
        for version in range(2, latest + 1):
            newer, older = run.records[f"{inspire}.v{version}"], run.records[f"{inspire}.v{version - 1}"]
            assert [i.value for i in newer.is_new_version_of] == [older.doi]
            assert newer.is_version_of == older.is_version_of
    assert [p.checkpoint["after"] for p in run.pages] == sorted(p.checkpoint["after"] for p in run.pages)
    assert [p.listing_complete for p in run.pages] == [False, False, False, True]


def test_incremental_after_no_change_asks_for_changes_and_fetches_nothing(
    generated: RunningSandbox, http: HttpClient
) -> None:
    url = generated.urls["hepdata"]
    catalogue = Catalogue()
    catalogue.harvest(connector(url, http))
    watermark = date.fromisoformat(catalogue.previous["watermark"])  # type: ignore[index]
    assert watermark == datetime.now(UTC).date()
    clear_requests(url)
    run = catalogue.harvest(connector(url, http))
    assert [(r["path"], parse_qs(r["query"])) for r in requests(url)] == [
        (
            "/search/ids",
            {
                "inspire_ids": ["true"],
                "last_updated": [(watermark - timedelta(days=1)).isoformat()],
                "sort_by": ["latest"],
            },
        )
    ]
    assert run.records == {} and run.pages[-1].checkpoint["mode"] == "incremental"
    assert not run.pages[-1].listing_complete  # an incremental run cannot tell what is gone


def test_ten_edited_records_fetch_their_new_version_and_refresh_their_earlier_ones(
    generated: RunningSandbox, http: HttpClient
) -> None:
    url = generated.urls["hepdata"]
    catalogue = Catalogue()
    first = catalogue.harvest(connector(url, http))
    edited = httpx.post(f"{url}/_sandbox/edit", json={"count": 10, "seed": 1}, timeout=30).json()["edited"]
    assert len(edited) == 10
    clear_requests(url)
    run = catalogue.harvest(connector(url, http))
    latest_before = {n.split(".v")[0]: int(n.split(".v")[1]) for n in sorted(first.records, key=_version)}
    new_versions = {f"{i}.v{latest_before[i] + 1}" for i in edited}
    # an earlier version's page changes when a newer one is finalised (HEPData serves the newest version's record
    # metadata with every version), so the earlier versions of exactly these ten records are fetched again
    earlier = {f"{i}.v{v}" for i in edited for v in range(1, latest_before[i] + 1)}
    assert set(run.records) == new_versions | earlier
    fetched = {
        (r["path"].removeprefix("/record/"), parse_qs(r["query"]).get("version", [None])[0])
        for r in record_fetches(url)
        if "light" not in parse_qs(r["query"])
    }
    assert {path for path, _ in fetched} == set(edited)
    for native in new_versions:
        inspire, version = native.split(".v")
        record = run.records[native]
        assert [i.value for i in record.is_new_version_of] == [first.records[f"{inspire}.v{int(version) - 1}"].doi]
        assert record.modified is not None and record.modified.startswith(datetime.now(UTC).date().isoformat())
    for native in earlier:
        assert run.records[native].doi == first.records[native].doi  # the same version, read again
    assert not {n for p in run.pages for n in p.unchanged} & (new_versions | earlier)


def _version(native: str) -> int:
    return int(native.split(".v")[1])


def test_a_full_relisting_without_change_only_probes_lightly(generated: RunningSandbox, http: HttpClient) -> None:
    url = generated.urls["hepdata"]
    catalogue = Catalogue()
    first = catalogue.harvest(connector(url, http))
    clear_requests(url)
    run = catalogue.harvest(connector(url, http), full=True)
    assert run.records == {} and run.seen == set(first.records) and run.pages[-1].listing_complete
    fetches = record_fetches(url)
    assert len(fetches) == 40 and all(parse_qs(r["query"])["light"] == ["true"] for r in fetches)


def test_five_deleted_records_are_absent_from_a_full_listing(generated: RunningSandbox, http: HttpClient) -> None:
    url = generated.urls["hepdata"]
    catalogue = Catalogue()
    first = catalogue.harvest(connector(url, http))
    deleted = httpx.post(f"{url}/_sandbox/delete", json={"count": 5, "seed": 2}, timeout=30).json()["deleted"]
    assert len(deleted) == 5
    run = catalogue.harvest(connector(url, http), full=True)
    gone = {n for n in first.records if n.split(".v")[0] in deleted}
    assert gone and run.seen == set(first.records) - gone
    assert run.pages[-1].listing_complete and run.failures == []
    assert not gone & set(catalogue.stamps)  # what a complete listing did not see is gone from the catalogue


def test_injected_429_503_and_truncated_bodies_are_survived() -> None:
    # Seeded rates, not "every n-th": with four requests in flight a counter can hand one request's retries the
    # faulted slots again and again. Here ~39% of record requests fail; 12 retries make a lost record ~1e-5 likely.
    patient = HttpClient(Limits(concurrency=4, max_retries=12), sleep=lambda seconds: None, max_backoff=0.01)
    with (
        patient,
        start({"clean": HEPDataReplica.generated(30, seed=5), "faulty": HEPDataReplica.generated(30, seed=5)}) as sb,
    ):
        faulty = sb.urls["faulty"]
        plans = [
            {"kind": "status", "status": 503, "path": "^/search/ids", "every": 1, "max_faults": 2},
            {"kind": "status", "status": 429, "retry_after": 1, "path": "^/record/", "rate": 0.15, "seed": 1},
            {"kind": "status", "status": 503, "path": "^/record/", "rate": 0.15, "seed": 2},
            {"kind": "truncate", "path": "^/record/", "rate": 0.15, "seed": 3},
        ]
        assert httpx.put(f"{faulty}/_sandbox/faults", json=plans, timeout=30).status_code == 200
        run = Catalogue().harvest(connector(faulty, patient))
        injected = [p["injected"] for p in httpx.get(f"{faulty}/_sandbox/faults", timeout=30).json()]
        assert injected[0] == 2 and all(n > 0 for n in injected)
        assert run.failures == []
        clean = Catalogue().harvest(connector(sb.urls["clean"], patient))
        assert sorted(run.records) == sorted(clean.records)
        for native, record in clean.records.items():
            # the two replicas differ only in their address
            mine = json.dumps(run.records[native].content_dict()).replace(faulty, "<site>")
            theirs = json.dumps(record.content_dict()).replace(sb.urls["clean"], "<site>")
            assert mine == theirs


def test_a_crashed_run_resumes_after_its_last_committed_page(generated: RunningSandbox, http: HttpClient) -> None:
    url = generated.urls["hepdata"]
    whole = Catalogue().harvest(connector(url, http, page_size=7))
    assert len(whole.pages) == 6
    crashed = Catalogue()
    partial = crashed.harvest(connector(url, http, page_size=7), stop_after=2)
    resume = partial.pages[-1].checkpoint
    assert resume["after"] == whole.pages[1].checkpoint["after"] and not resume["done"]
    rest = crashed.harvest(connector(url, http, page_size=7), resume=resume)
    assert rest.seen == {n for p in whole.pages[2:] for n in [r.native_id for r in p.records] + p.unchanged}
    assert set(partial.records) | set(rest.records) == set(whole.records)
    assert rest.pages[-1].listing_complete and rest.pages[-1].checkpoint["watermark"] == resume["watermark"]
    # resuming the very end (the last page was committed, the run not yet closed) finishes the listing at once
    end = crashed.harvest(connector(url, http, page_size=7), resume=rest.pages[-1].checkpoint)
    assert end.records == {} and len(end.pages) == 1 and end.pages[0].listing_complete


def test_a_record_answering_404_counts_as_removed_not_as_an_error(generated: RunningSandbox, http: HttpClient) -> None:
    url = generated.urls["hepdata"]
    catalogue = Catalogue()
    first = catalogue.harvest(connector(url, http))
    target = sorted(first.records)[0].split(".v")[0]
    plans = [{"kind": "status", "status": 404, "path": f"^/record/{target}\\?", "every": 1}]
    httpx.put(f"{url}/_sandbox/faults", json=plans, timeout=30)
    run = catalogue.harvest(connector(url, http), full=True)
    assert run.failures == [] and not {n for n in run.seen if n.startswith(target + ".")}
    assert {n.split(".v")[0] for n in run.seen} == {n.split(".v")[0] for n in first.records} - {target}


def test_a_record_that_keeps_failing_is_reported_and_not_taken_for_removed(generated: RunningSandbox) -> None:
    url = generated.urls["hepdata"]
    catalogue = Catalogue()
    with HttpClient(Limits(max_retries=1), sleep=lambda seconds: None) as patient:
        first = catalogue.harvest(connector(url, patient))
        target = sorted(first.records)[-1].split(".v")[0]
        versions = {n for n in first.records if n.startswith(target + ".")}
        plans = [{"kind": "status", "status": 500, "path": f"^/record/{target}\\?", "every": 1}]
        httpx.put(f"{url}/_sandbox/faults", json=plans, timeout=30)
        run = catalogue.harvest(connector(url, patient), full=True)
    assert {f.native_id for f in run.failures} == versions
    assert all("HTTP 500" in f.message and f.url.endswith("light=true") for f in run.failures)
    assert versions <= set(catalogue.stamps)


def test_a_limit_stops_the_run_early(generated: RunningSandbox, http: HttpClient) -> None:
    run = Catalogue().harvest(connector(generated.urls["hepdata"], http, page_size=5), limit=5)
    assert len(run.pages) == 1 and len(run.records) >= 5
