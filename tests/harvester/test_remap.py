"""Re-mapping from the raw store (`harvester.remap`): retry of the quarantine after a mapping fix, and a remap of
every record after a mapping change, on the in-memory source, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import orjson
import pytest
from fake_source import FakeConnector, FakeStore

from connectors.base import HarvestState, Limits, MappingError, Page, RawRecord, SourceSpec
from connectors.http import HttpClient
from harvester.catalogue import Catalogue
from harvester.config import Source
from harvester.harvest import Harvester
from harvester.remap import RemapError, Remapper
from harvester.run_control import abort_run
from harvester.runs import Runs
from harvester.triage import error_groups
from ontology import Record


class BuggyConnector(FakeConnector):
    """A mapper release with a bug: it cannot read a title containing a colon."""

    @classmethod
    def map_record(cls, raw: RawRecord, source: str) -> Record:
        title = orjson.loads(raw.payload)["title"]
        if ":" in title:
            raise MappingError("title", f"cannot read title {title!r}: unexpected ':'")
        return super().map_record(raw, source)


class FixedConnector(FakeConnector):
    """The fixed release; it never lists anything, so a test fails if re-mapping tried to."""

    def pages(self, state: HarvestState) -> Iterator[Page]:
        raise AssertionError("re-mapping must not list the source")


class TitleCaseConnector(FixedConnector):
    """A new mapping version that changes what some records map to (titles with 'special' are upper-cased)."""

    mapping_version: ClassVar[str] = "2"

    @classmethod
    def map_record(cls, raw: RawRecord, source: str) -> Record:
        record = super().map_record(raw, source)
        if "special" in record.title:
            record.title = record.title.upper()
        record.provenance.mapping_version = cls.mapping_version
        return record


def harvest(catalogue: Catalogue, connector: type[FakeConnector], store: FakeStore) -> None:
    connector.store = store
    harvester = Harvester(catalogue, HttpClient(Limits()), {"fake": connector})
    source = Source(SourceSpec("demo", "fake", "http://fake.invalid"), True, 0.5, None)
    report = harvester.harvest(source)
    harvester.close()
    assert report.state == "succeeded", report


def store_with_colons(count: int = 30, colons: tuple[int, ...] = (3, 8, 21)) -> FakeStore:
    store = FakeStore(count)
    for i in colons:
        store.items[f"r{i:05d}"]["title"] = f"Record {i}: the sequel"
    return store


def test_retry_after_a_mapping_fix_stores_them_like_a_harvest(catalogue: Catalogue) -> None:
    store = store_with_colons()
    harvest(catalogue, BuggyConnector, store)
    assert catalogue.count("demo") == 27
    [group] = error_groups(catalogue.engine)
    assert (group.field, group.records) == ("title", 3)
    seq = catalogue.last_seq()

    with Remapper(catalogue, {"fake": FixedConnector}, batch_size=2) as remapper:
        [report] = remapper.retry("demo")
    assert report.state == "succeeded"
    assert (report.attempted, report.counts.added, report.still_failing) == (3, 3, 0)
    assert report.batches == 2
    assert catalogue.quarantined("demo") == []
    assert catalogue.count("demo") == 30
    stored = catalogue.find("demo", "r00008")
    assert stored is not None and stored.record.title == "Record 8: the sequel"
    # stored as a harvest stores: the change feed has exactly the three, the raw payload and URL are the harvest's
    assert sorted(c.record_id.rsplit("/", 1)[-1] for c in catalogue.changes_since(seq, 100)) == [
        "r00003",
        "r00008",
        "r00021",
    ]
    assert stored.record.provenance.source_url == "fake:r00008"
    assert stored.record.provenance.harvest_run == report.run_id
    assert stored.source_updated == "1"
    run = Runs(catalogue.engine).get(report.run_id)
    assert run is not None and (run.mode, run.state, run.counts.added, run.requests) == ("retry", "succeeded", 3, 0)


def test_records_still_failing_stay_with_their_new_message(catalogue: Catalogue) -> None:
    store = store_with_colons()
    harvest(catalogue, BuggyConnector, store)

    class HalfFixed(FixedConnector):
        @classmethod
        def map_record(cls, raw: RawRecord, source: str) -> Record:
            if b"Record 21" in raw.payload:
                raise MappingError("title", "still cannot read 'Record 21: the sequel'")
            return super().map_record(raw, source)

    before = {e.native_id: e for e in catalogue.quarantined("demo")}
    with Remapper(catalogue, {"fake": HalfFixed}) as remapper:
        [report] = remapper.retry("demo")
    assert (report.counts.added, report.still_failing) == (2, 1)
    assert report.errors == {"mapping/title: MappingError": 1}
    [entry] = catalogue.quarantined("demo")
    assert entry.native_id == "r00021"
    assert entry.message == "still cannot read 'Record 21: the sequel'"
    assert entry.run_id == report.run_id
    assert entry.first_seen == before["r00021"].first_seen
    assert entry.count == before["r00021"].count + 1


def test_retry_narrowed_to_one_group(catalogue: Catalogue) -> None:
    store = store_with_colons()
    store.items["r00010"]["issued"] = "2999-01-01"  # a validation error in another field
    harvest(catalogue, BuggyConnector, store)
    assert {(g.field, g.records) for g in error_groups(catalogue.engine)} == {("title", 3), ("issued", 1)}
    with Remapper(catalogue, {"fake": FixedConnector}) as remapper:
        [report] = remapper.retry("demo", field="title", error_class="MappingError")
    assert report.attempted == 3
    assert [e.native_id for e in catalogue.quarantined("demo")] == ["r00010"]


def test_remap_changes_only_records_whose_mapping_changed(catalogue: Catalogue) -> None:
    store = FakeStore(25)
    for i in (4, 17):
        store.items[f"r{i:05d}"]["title"] = f"special record {i}"
    harvest(catalogue, FakeConnector, store)
    seq = catalogue.last_seq()

    with Remapper(catalogue, {"fake": FixedConnector}) as remapper:
        same = remapper.remap("demo")
    assert (same.attempted, same.counts.unchanged, same.counts.updated) == (25, 25, 0)
    assert catalogue.last_seq() == seq  # an unchanged mapping writes nothing to the feed

    with Remapper(catalogue, {"fake": TitleCaseConnector}, batch_size=10) as remapper:
        changed = remapper.remap("demo")
    assert (changed.counts.updated, changed.counts.unchanged, changed.batches) == (2, 23, 3)
    assert sorted(c.record_id.rsplit("/", 1)[-1] for c in catalogue.changes_since(seq, 100)) == ["r00004", "r00017"]
    stored = catalogue.find("demo", "r00017")
    assert stored is not None and stored.record.title == "SPECIAL RECORD 17"
    assert stored.record.provenance.mapping_version == "2"
    run = Runs(catalogue.engine).get(changed.run_id)
    assert run is not None and (run.mode, run.counts.updated) == ("remap", 2)


def test_remap_keeps_retrieval_time_and_skips_tombstones(catalogue: Catalogue) -> None:
    store = FakeStore(12)
    store.deleted_signals = ["r00002"]
    harvest(catalogue, FakeConnector, store)
    before = catalogue.find("demo", "r00005")
    assert before is not None and catalogue.count("demo") == 11
    with Remapper(catalogue, {"fake": TitleCaseConnector}) as remapper:
        report = remapper.remap("demo")
    assert report.attempted == 11  # the tombstone is not brought back
    after = catalogue.find("demo", "r00005")
    assert after is not None
    assert after.record.provenance.retrieved_at == before.record.provenance.retrieved_at
    gone = catalogue.find("demo", "r00002")
    assert gone is not None and gone.tombstone is not None


def test_remap_maps_the_newest_payload_of_a_quarantined_record(catalogue: Catalogue) -> None:
    store = FakeStore(10)
    harvest(catalogue, BuggyConnector, store)
    store.edit("r00006", title="Record 6: revised")  # the source's new revision fails with the buggy mapper
    harvest(catalogue, BuggyConnector, store)
    stored = catalogue.find("demo", "r00006")
    assert stored is not None and stored.record.title == "Record 6"  # the last good version stays
    with Remapper(catalogue, {"fake": FixedConnector}) as remapper:
        report = remapper.remap("demo")
    assert (report.attempted, report.counts.updated, report.counts.unchanged) == (10, 1, 9)
    stored = catalogue.find("demo", "r00006")
    assert stored is not None and stored.record.title == "Record 6: revised"
    assert catalogue.quarantined("demo") == []


def test_remap_leaves_pending_deletions_pending(catalogue: Catalogue) -> None:
    store = FakeStore(20)
    harvest(catalogue, FakeConnector, store)
    for i in range(12):
        del store.items[f"r{i:05d}"]
    FakeConnector.store = store
    harvester = Harvester(catalogue, HttpClient(Limits()), {"fake": FakeConnector})
    report = harvester.harvest(Source(SourceSpec("demo", "fake", "http://fake.invalid"), True, 0.5, None), full=True)
    assert report.pending_deletions == 12
    with Remapper(catalogue, {"fake": TitleCaseConnector}) as remapper:
        remapper.remap("demo")
    assert len(catalogue.pending_deletions("demo")) == 12


def test_retry_skips_records_deleted_since_they_failed(catalogue: Catalogue) -> None:
    store = FakeStore(10)
    harvest(catalogue, FakeConnector, store)
    store.edit("r00001", title="Record 1: revised")
    harvest(catalogue, BuggyConnector, store)
    del store.items["r00001"]
    store.deleted_signals = ["r00001"]
    harvest(catalogue, BuggyConnector, store)
    gone = catalogue.find("demo", "r00001")
    assert gone is not None and gone.tombstone is not None
    with Remapper(catalogue, {"fake": FixedConnector}) as remapper:
        [report] = remapper.retry("demo")
    assert report.attempted == 0
    [skipped] = report.skipped
    assert skipped.native_id == "r00001" and "deleted at the source" in skipped.reason
    gone = catalogue.find("demo", "r00001")
    assert gone is not None and gone.tombstone is not None


def test_abort_stops_between_batches(catalogue: Catalogue) -> None:
    store = FakeStore(30)
    harvest(catalogue, FakeConnector, store)
    engine = catalogue.engine

    class AbortingMidway(TitleCaseConnector):
        @classmethod
        def map_record(cls, raw: RawRecord, source: str) -> Record:
            if raw.native_id == "r00012":  # in the second batch: a data manager aborts the run meanwhile
                [run] = Runs(engine).recent("demo", 1)
                abort_run(engine, run.id)
            return super().map_record(raw, source)

    with Remapper(catalogue, {"fake": AbortingMidway}, batch_size=10) as remapper:
        report = remapper.remap("demo")
    assert report.state == "aborted"
    assert (report.batches, report.attempted) == (2, 20)
    run = Runs(engine).get(report.run_id)
    assert run is not None and run.state == "aborted"


def test_unknown_source_or_kind_is_explained(catalogue: Catalogue) -> None:
    with Remapper(catalogue, {"fake": FixedConnector}) as remapper, pytest.raises(RemapError, match="no source"):
        remapper.remap("nowhere")
    harvest(catalogue, FakeConnector, FakeStore(3))
    with Remapper(catalogue, {"other": FixedConnector}) as remapper, pytest.raises(RemapError, match="kind 'fake'"):
        remapper.remap("demo")


def test_remap_skips_a_record_whose_payload_is_gone_and_maps_the_rest_batch_by_batch(catalogue: Catalogue) -> None:
    from sqlalchemy import delete, select

    from harvester.schema import raw_payloads, records

    store = FakeStore(11)
    for i in (2, 9):
        store.items[f"r{i:05d}"]["title"] = f"special record {i}"
    harvest(catalogue, FakeConnector, store)
    with catalogue.engine.begin() as conn:
        sha = conn.execute(select(records.c.raw_sha256).where(records.c.native_id == "r00005")).scalar_one()
        conn.execute(delete(raw_payloads).where(raw_payloads.c.sha256 == sha))

    with Remapper(catalogue, {"fake": TitleCaseConnector}, batch_size=3) as remapper:
        report = remapper.remap("demo")
    # 11 rows read 3 at a time: 4 batches of rows, the one without a payload skipped, not mapped
    assert (report.attempted, report.batches, report.counts.updated, report.counts.unchanged) == (10, 4, 2, 8)
    [skipped] = report.skipped
    assert skipped.native_id == "r00005"
    assert sha in skipped.reason and "dmlake harvest demo --full" in skipped.reason
    assert report.state == "succeeded" and "1 records skipped" in (report.message or "")
    kept = catalogue.find("demo", "r00005")
    assert kept is not None and kept.record.provenance.mapping_version != "2"
