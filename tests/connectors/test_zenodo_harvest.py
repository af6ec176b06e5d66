"""The Zenodo connector through the running replica, page by page, the way the harvester drives it.

`harvest()` below plays the harvester's part: it keeps the source stamps of what it has "committed" and answers
`known()` from them, so records seen again with the same stamp come back as unchanged, as they do in a real run.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.base import Deletion, FetchFailure, HarvestState, Limits, Page, RawRecord, SourceSpec
from connectors.http import HttpClient
from connectors.paging import Request
from connectors.zenodo import UpdatedKeyset, ZenodoConnector, ZenodoListingError, stamp_ms
from connectors.zenodo_hits import Hit
from sandbox.replicas.zenodo import ZenodoReplica
from sandbox.server import start


@contextmanager
def serve(replica: ZenodoReplica) -> Iterator[str]:
    with start({"zenodo": replica}) as running:
        yield running.urls["zenodo"]


def connector(url: str, **options: Any) -> ZenodoConnector:
    spec = SourceSpec("zenodo", "zenodo", url, options, Limits(requests_per_minute=None))
    return ZenodoConnector(spec, HttpClient(Limits(), sleep=lambda _: None, max_backoff=0.01))


@dataclass
class Run:
    pages: list[Page]
    records: list[RawRecord] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deletions: list[Deletion] = field(default_factory=list)
    failures: list[FetchFailure] = field(default_factory=list)

    @property
    def final(self) -> dict[str, Any]:
        return self.pages[-1].checkpoint

    @property
    def ids(self) -> list[str]:
        return [r.native_id for r in self.records]


def harvest(source: ZenodoConnector, catalogue: dict[str, str | None], **state: Any) -> Run:
    """Run `pages()` to the end, committing each page into `catalogue` (native id → source stamp)."""
    known = state.pop("known", lambda ids: {i: catalogue[i] for i in ids if i in catalogue})
    run = Run([])
    for page in source.pages(HarvestState(known=known, **state)):
        run.pages.append(page)
        run.records += page.records
        run.unchanged += page.unchanged
        run.deletions += page.deletions
        run.failures += page.failures
        for raw in page.records:
            catalogue[raw.native_id] = raw.source_updated
        for deletion in page.deletions:
            catalogue.pop(deletion.native_id, None)
    return run


def searches(url: str) -> list[dict[str, Any]]:
    return [r for r in httpx.get(f"{url}/_sandbox/requests").json() if r["path"] == "/api/records"]


def all_ids(replica: ZenodoReplica) -> set[str]:
    return {e.native_id for e in replica.store.entries()}


@pytest.fixture
def corpus_replica(corpus: Path) -> ZenodoReplica:
    replica = ZenodoReplica.from_corpus(corpus)
    assert replica is not None
    return replica


# -- the whole corpus ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("serialization", ["rdm", "legacy"])
def test_whole_corpus_is_listed_and_mapped(corpus_replica: ZenodoReplica, serialization: str) -> None:
    with serve(corpus_replica) as url:
        run = harvest(connector(url, serialization=serialization), {}, full=True)
    assert sorted(run.ids) == sorted(all_ids(corpus_replica)) and len(run.ids) == 17
    assert run.pages[-1].listing_complete and not any(p.listing_complete for p in run.pages[:-1])
    media_type = {"rdm": "application/vnd.inveniordm.v1+json", "legacy": "application/json"}[serialization]
    errors = []
    for raw in run.records:
        assert raw.media_type == media_type and raw.url == f"{url}/api/records/{raw.native_id}"
        try:
            record = ZenodoConnector.map_record(raw, "zenodo")
        except Exception as error:  # collected, so one failure does not hide the others
            errors.append(f"{raw.native_id}: {error}")
            continue
        assert record.provenance.source_url == raw.url
        assert record.modified == raw.source_updated
    assert errors == []
    stamps = [r.source_updated for r in run.records if r.source_updated]
    assert run.final["watermark"] == max(stamps, key=lambda s: datetime.fromisoformat(s))
    assert run.final["phase"] == "done"


def test_options_restrict_the_listing(corpus_replica: ZenodoReplica) -> None:
    with serve(corpus_replica) as url:
        datasets = harvest(connector(url, query="linguistics", type="dataset"), {}, full=True)
        assert len(datasets.ids) == 11 and "3974864" not in datasets.ids  # the software record is out
        latest_only = harvest(connector(url, all_versions=False), {}, full=True)
        assert {"20510517", "17880109", "5173799"}.isdisjoint(latest_only.ids) and len(latest_only.ids) == 14
        lexibank = harvest(connector(url, communities=["lexibank", "biosyslit"]), {}, full=True)
        assert sorted(lexibank.ids) == ["15482", "5173799"]
        mixed = harvest(connector(url, type=["software", "publication-article"]), {}, full=True)
        assert sorted(mixed.ids) == ["15482", "17880109", "20510517", "22705923", "3974864"]
        queries = [httpx.QueryParams(r["query"])["q"] for r in searches(url)]
    assert '(linguistics) AND resource_type.type:("dataset")' in queries
    assert '(resource_type.type:("software") OR resource_type.subtype:("publication-article"))' in queries


# -- incremental runs ------------------------------------------------------------------------------------------


def test_incremental_run_after_no_change_asks_only_for_recent_records(corpus_replica: ZenodoReplica) -> None:
    catalogue: dict[str, str | None] = {}
    with serve(corpus_replica) as url:
        source = connector(url, overlap_minutes=90)
        first = harvest(source, catalogue, full=True)
        httpx.delete(f"{url}/_sandbox/requests")
        second = harvest(source, catalogue, previous=first.final)
        requests = searches(url)
    assert second.records == [] and second.deletions == []
    watermark = datetime.fromisoformat(first.final["watermark"])
    since = (watermark - timedelta(minutes=90)).isoformat(timespec="milliseconds")
    assert since == "2026-09-10T22:30:00.000+00:00"
    assert len(requests) == 1
    params = httpx.QueryParams(requests[0]["query"])
    assert params["q"] == f'updated:["{since}" TO *]'
    assert params["sort"] == "updated-asc" and params["page"] == "1" and params["all_versions"] == "true"
    assert second.unchanged == ["22705923"]  # inside the safety overlap, stamp unchanged: not sent again
    assert second.final["watermark"] == first.final["watermark"]


def test_ten_edited_records_come_back_and_nothing_else() -> None:
    replica = ZenodoReplica.generated(400, seed=21)
    catalogue: dict[str, str | None] = {}
    with serve(replica) as url:
        source = connector(url)
        first = harvest(source, catalogue, full=True)
        assert len(first.ids) == 400 == len(set(first.ids))
        edited = httpx.post(f"{url}/_sandbox/edit", json={"count": 10, "seed": 2}).json()["edited"]
        second = harvest(source, catalogue, previous=first.final)
        third = harvest(source, catalogue, previous=second.final)
    assert sorted(second.ids) == sorted(edited) and len(edited) == 10
    assert parse(second.final["watermark"]) > parse(first.final["watermark"])
    for raw in second.records:
        record = ZenodoConnector.map_record(raw, "zenodo")
        assert record.description is not None and "Revision 1 of this record" in record.description
    assert third.records == []


def parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)


def test_deleted_records_are_absent_from_a_full_listing() -> None:
    replica = ZenodoReplica.generated(300, seed=22)
    catalogue: dict[str, str | None] = {}
    with serve(replica) as url:
        source = connector(url)
        first = harvest(source, catalogue, full=True)
        deleted = httpx.post(f"{url}/_sandbox/delete", json={"count": 5, "seed": 4}).json()["deleted"]
        incremental = harvest(source, catalogue, previous=first.final)
        full = harvest(source, {}, full=True)
    assert len(deleted) == 5
    assert incremental.records == [] and incremental.deletions == []  # Zenodo's search does not list deletions
    assert set(full.ids) == set(first.ids) - set(deleted)
    assert full.pages[-1].listing_complete


def test_pinned_records_report_tombstones_and_missing_ids(corpus_replica: ZenodoReplica) -> None:
    pinned = ["22705918", "1", "591564", "5173799"]  # a tombstone, nothing, a concept id, a live record
    catalogue: dict[str, str | None] = {}
    with serve(corpus_replica) as url:
        source = connector(url, communities=["lexibank"], records=pinned)
        first = harvest(source, catalogue)
        assert [d.native_id for d in first.deletions] == ["22705918"]
        assert "spam" in first.deletions[0].reason and "User was blocked" in first.deletions[0].reason
        assert [f.native_id for f in first.failures] == ["1"] and "HTTP 404" in first.failures[0].message
        # the concept id answers with its latest version; the pinned live record was also listed by its community
        assert sorted(first.ids) == ["22705923", "5173799"]
        assert first.unchanged == ["5173799"]
        httpx.post(f"{url}/_sandbox/delete", json={"ids": ["5173799"]})
        second = harvest(source, catalogue, previous=first.final)
    assert [d.native_id for d in second.deletions] == ["22705918", "5173799"]
    assert "deleted on Zenodo (retracted)" in second.deletions[1].reason


# -- robustness ------------------------------------------------------------------------------------------------


def test_injected_429_503_and_truncated_bodies_are_survived() -> None:
    replica = ZenodoReplica.generated(250, seed=23)
    with serve(replica) as url:
        clean = harvest(connector(url), {}, full=True)
        plans = [
            {"kind": "status", "status": 429, "retry_after": 1, "path": "^/api/records", "every": 3},
            {"kind": "status", "status": 503, "path": "^/api/records", "every": 4},
            {"kind": "truncate", "path": "^/api/records", "every": 5},
        ]
        assert httpx.put(f"{url}/_sandbox/faults", json=plans).status_code == 200
        source = connector(url)
        faulty = harvest(source, {}, full=True)
        injected = [p["injected"] for p in httpx.get(f"{url}/_sandbox/faults").json()]
    assert all(count > 0 for count in injected)
    assert sorted(faulty.ids) == sorted(clean.ids) and len(faulty.ids) == 250
    stats = source.http.stats
    assert stats.retries >= sum(injected) - 1 and stats.by_status[429] > 0 and stats.by_status[503] > 0


def test_resume_from_a_mid_run_checkpoint() -> None:
    replica = ZenodoReplica.generated(300, seed=24)
    with serve(replica) as url:
        source = connector(url)
        whole = harvest(source, {}, full=True)
        before: list[str] = []
        checkpoint: dict[str, Any] = {}
        for number, page in enumerate(source.pages(HarvestState(full=True)), start=1):
            before += [r.native_id for r in page.records]
            checkpoint = page.checkpoint
            if number == 4:
                break  # the process dies here; the harvester committed four pages and their checkpoint
        after = harvest(source, {}, resume=checkpoint)
    assert checkpoint["phase"] == "search" and checkpoint["next"] is not None
    assert set(before).isdisjoint(after.ids)
    assert sorted(before + after.ids) == sorted(whole.ids)
    assert after.pages[-1].listing_complete  # the resumed run finishes the full listing it belongs to


def test_edits_during_a_full_listing_lose_no_record() -> None:
    """Offset paging skips a record for every record edited behind the cursor; the keyset does not."""
    replica = ZenodoReplica.generated(300, seed=25)
    with serve(replica) as url:
        source = connector(url)
        seen: list[str] = []
        for number, page in enumerate(source.pages(HarvestState(full=True)), start=1):
            seen += [r.native_id for r in page.records]
            if number == 3:
                listed, ahead = seen[:15], [i for i in sorted(all_ids(replica)) if i not in seen][:15]
                httpx.post(f"{url}/_sandbox/edit", json={"ids": listed + ahead})
    assert set(seen) == all_ids(replica)


def test_more_records_with_one_stamp_than_a_page_holds() -> None:
    replica = ZenodoReplica.generated(200, seed=26)
    moment = datetime(2026, 11, 1, 12, 0, 0, 123456, tzinfo=UTC)
    same = replica.store.sample_ids(60, seed=1)
    replica.store.edit(same, when=moment)
    catalogue: dict[str, str | None] = {}
    with serve(replica) as url:
        source = connector(url)
        previous = {"v": 1, "scope": source.options.scope(), "watermark": "2026-10-31T00:00:00+00:00"}
        run = harvest(source, catalogue, previous=previous)
        pages = [httpx.QueryParams(r["query"])["page"] for r in searches(url)]
    assert sorted(run.ids) == sorted(same) and len(run.ids) == 60
    assert "3" in pages  # the tie was walked with links.next, past one page of records sharing the stamp
    assert run.final["watermark"] == moment.isoformat()


def test_a_tie_larger_than_the_result_window_is_refused() -> None:
    keyset = UpdatedKeyset((), 25)
    request = Request.of("https://zenodo.org/api/records", {"q": "", "page": 400, "size": 25})
    items = [Hit.of({"id": i, "updated": "2024-01-01T00:00:00.000001+00:00"}) for i in range(25)]
    body = {"hits": {"hits": items, "total": 20000}}
    with pytest.raises(ZenodoListingError, match="10000 records share the update stamp"):
        keyset.next_request(request, httpx.Response(200), body, items)
    following = keyset.next_request(request.with_params(page=3), httpx.Response(200), body, items)
    assert following is not None and dict(following.params)["page"] == "4"


def test_limit_stops_early() -> None:
    replica = ZenodoReplica.generated(200, seed=27)
    with serve(replica) as url:
        run = harvest(connector(url), {}, full=True, limit=30)
    assert 30 <= len(run.ids) < 200 and not run.pages[-1].listing_complete


# -- options and credentials -----------------------------------------------------------------------------------


def test_option_errors_name_the_source_and_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    http = HttpClient(Limits())
    with pytest.raises(ValueError, match="unknown options colections"):
        ZenodoConnector(SourceSpec("z", "zenodo", "http://x", {"colections": ["a"]}), http)
    with pytest.raises(ValueError, match="environment variable"):
        ZenodoConnector(SourceSpec("z", "zenodo", "http://x", {"access_token": "secret"}), http)
    with pytest.raises(ValueError, match="between 1 and 25"):
        ZenodoConnector(SourceSpec("z", "zenodo", "http://x", {"page_size": 100}), http)
    with pytest.raises(ValueError, match="'rdm' or 'legacy'"):
        ZenodoConnector(SourceSpec("z", "zenodo", "http://x", {"serialization": "xml"}), http)
    with pytest.raises(ValueError, match="page_size must be a number"):
        ZenodoConnector(SourceSpec("z", "zenodo", "http://x", {"page_size": "many"}), http)
    with pytest.raises(ValueError, match="true or false"):
        ZenodoConnector(SourceSpec("z", "zenodo", "http://x", {"all_versions": "yes"}), http)
    monkeypatch.delenv("DMLAKE_TEST_ZENODO_TOKEN", raising=False)
    anonymous = ZenodoConnector(
        SourceSpec("z", "zenodo", "http://x", {"access_token_env": "DMLAKE_TEST_ZENODO_TOKEN"}), http
    )
    assert anonymous.options.token is None and anonymous.options.page_size == 25


def test_a_token_from_the_environment_allows_pages_of_100(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DMLAKE_TEST_ZENODO_TOKEN", "not-logged")
    replica = ZenodoReplica.generated(230, seed=28)
    with serve(replica) as url:
        source = connector(url, access_token_env="DMLAKE_TEST_ZENODO_TOKEN")
        assert source.options.page_size == 100 and "not-logged" not in repr(source.options)
        run = harvest(source, {}, full=True)
        sizes = {httpx.QueryParams(r["query"])["size"] for r in searches(url)}
        statuses = {r["status"] for r in searches(url)}
    assert len(run.ids) == 230 and sizes == {"100"} and statuses == {200}  # anonymous size=100 would be a 400
    assert all("not-logged" not in str(page.checkpoint) for page in run.pages)


def test_the_real_zenodo_is_never_asked_faster_than_it_allows() -> None:
    class Recorder:
        def __init__(self) -> None:
            self.calls: list[tuple[str, Limits]] = []

        def set_host_limits(self, url: str, limits: Limits) -> None:
            self.calls.append((url, limits))

    recorder = Recorder()
    ZenodoConnector(SourceSpec("z", "zenodo", "https://zenodo.org", {}, Limits(requests_per_minute=120)), recorder)
    assert [(u, limit.requests_per_minute) for u, limit in recorder.calls] == [("https://zenodo.org", 30)]
    polite = Recorder()
    ZenodoConnector(SourceSpec("z", "zenodo", "https://zenodo.org", {}, ZenodoConnector.recommended_limits), polite)
    assert polite.calls == []


def test_stamps_compare_at_millisecond_precision() -> None:
    assert stamp_ms("2023-08-16T02:26:53.786928+00:00") == "2023-08-16T02:26:53.786+00:00"
    assert stamp_ms("2023-08-16T04:26:53.786928+02:00") == "2023-08-16T02:26:53.786+00:00"
