"""The catalogue's rules, on an in-memory source: counts, no-op re-runs, updates, quarantine, deletions, resume."""

from __future__ import annotations

from fake_source import FakeConnector, FakeStore

from connectors.base import Limits, SourceSpec
from connectors.http import HttpClient
from harvester.catalogue import Catalogue
from harvester.config import Source
from harvester.harvest import Harvester


def make(catalogue: Catalogue, count: int = 35, fraction: float = 0.5) -> tuple[Harvester, Source, FakeStore]:
    store = FakeStore(count)
    FakeConnector.store = store
    harvester = Harvester(catalogue, HttpClient(Limits()), {"fake": FakeConnector})
    source = Source(SourceSpec("demo", "fake", "http://fake.invalid"), True, fraction, None)
    return harvester, source, store


def test_first_run_adds_everything_and_feeds_changes(catalogue: Catalogue) -> None:
    harvester, source, _ = make(catalogue)
    report = harvester.harvest(source)
    assert report.state == "succeeded"
    assert (report.counts.added, report.counts.updated, report.counts.unchanged) == (35, 0, 0)
    assert report.pages == 4
    assert catalogue.count("demo") == 35
    assert catalogue.last_seq() == 35
    assert {c.kind for c in catalogue.changes_since(0, 100)} == {"upsert"}


def test_rerun_with_nothing_changed_writes_nothing(catalogue: Catalogue) -> None:
    harvester, source, _ = make(catalogue)
    harvester.harvest(source)
    seq = catalogue.last_seq()
    report = harvester.harvest(source)
    assert (report.counts.added, report.counts.updated, report.counts.unchanged) == (0, 0, 35)
    assert catalogue.last_seq() == seq


def test_full_rerun_with_same_content_writes_no_change(catalogue: Catalogue) -> None:
    harvester, source, _ = make(catalogue)
    harvester.harvest(source)
    seq = catalogue.last_seq()
    report = harvester.harvest(source, full=True)
    assert report.counts.unchanged == 35
    assert catalogue.last_seq() == seq


def test_edits_become_exactly_that_many_updates_with_history(catalogue: Catalogue) -> None:
    harvester, source, store = make(catalogue)
    harvester.harvest(source)
    for native_id in ("r00003", "r00011", "r00030"):
        store.edit(native_id, title=f"Changed {native_id}")
    report = harvester.harvest(source)
    assert report.counts.updated == 3
    assert report.counts.unchanged == 32
    stored = catalogue.find("demo", "r00011")
    assert stored is not None and stored.record.title == "Changed r00011"
    new = catalogue.changes_since(35, 100)
    assert sorted(c.record_id.rsplit("/", 1)[1] for c in new) == ["r00003", "r00011", "r00030"]


def test_a_stamp_change_without_content_change_is_not_an_update(catalogue: Catalogue) -> None:
    harvester, source, store = make(catalogue)
    harvester.harvest(source)
    store.edit("r00004")  # new stamp, same title: the source re-saved the record
    report = harvester.harvest(source)
    assert report.counts.updated == 0
    assert catalogue.last_seq() == 35


def test_mapping_failure_is_quarantined_and_the_run_goes_on(catalogue: Catalogue) -> None:
    harvester, source, store = make(catalogue)
    store.items["r00007"]["broken"] = "\x00"
    report = harvester.harvest(source)
    assert report.state == "succeeded"
    assert report.counts.added == 34
    assert report.counts.quarantined == 1
    [entry] = catalogue.quarantined("demo")
    assert (entry.native_id, entry.stage, entry.field) == ("r00007", "mapping", "title")
    assert "cannot read title" in entry.message
    raw = catalogue.raw_payload(entry.raw_sha256 or "")
    assert raw is not None and b"broken" in raw[0]
    # the source fixes the record: it enters the catalogue and leaves the quarantine
    del store.items["r00007"]["broken"]
    store.edit("r00007")
    report = harvester.harvest(source)
    assert report.counts.added == 1
    assert catalogue.quarantined("demo") == []


def test_validation_failure_is_quarantined_with_field(catalogue: Catalogue) -> None:
    harvester, source, store = make(catalogue)
    store.items["r00002"]["issued"] = "2999-01-01"
    harvester.harvest(source)
    [entry] = catalogue.quarantined("demo")
    assert (entry.native_id, entry.stage, entry.field) == ("r00002", "validation", "issued")


def test_disappearance_from_full_listing_tombstones(catalogue: Catalogue) -> None:
    harvester, source, store = make(catalogue)
    harvester.harvest(source)
    for native_id in ("r00001", "r00020"):
        del store.items[native_id]
    report = harvester.harvest(source)
    assert report.counts.deleted == 2
    stored = catalogue.find("demo", "r00020")
    assert stored is not None and stored.tombstone is not None
    assert catalogue.count("demo") == 33
    assert [c.kind for c in catalogue.changes_since(35, 100)] == ["delete", "delete"]


def test_explicit_deletion_signal_tombstones(catalogue: Catalogue) -> None:
    harvester, source, store = make(catalogue)
    harvester.harvest(source)
    store.deleted_signals = ["r00005"]
    report = harvester.harvest(source)
    assert report.counts.deleted >= 1
    stored = catalogue.find("demo", "r00005")
    assert stored is not None and stored.tombstone == "source says deleted"


def test_mass_disappearance_waits_for_confirmation(catalogue: Catalogue) -> None:
    harvester, source, store = make(catalogue, fraction=0.1)
    harvester.harvest(source)
    for native_id in sorted(store.items)[:10]:
        del store.items[native_id]
    report = harvester.harvest(source)
    assert report.counts.deleted == 0
    assert report.pending_deletions == 10
    assert report.message is not None and "dmlake deletions confirm demo" in report.message
    assert catalogue.count("demo") == 35
    confirmed = catalogue.confirm_pending_deletions("demo")
    assert len(confirmed) == 10
    assert catalogue.count("demo") == 25


def test_crashed_run_resumes_after_last_committed_page(catalogue: Catalogue) -> None:
    harvester, source, store = make(catalogue)
    store.fail_after_pages = 2
    report = harvester.harvest(source)
    assert report.state == "failed"
    assert catalogue.count("demo") == 20
    store.fail_after_pages = None
    report = harvester.harvest(source)
    assert report.mode == "resume"
    assert report.counts.added == 15
    assert report.pages == 2
    assert catalogue.count("demo") == 35
    assert catalogue.last_seq() == 35  # nothing duplicated in the feed


def test_resumed_full_listing_still_detects_disappearance(catalogue: Catalogue) -> None:
    harvester, source, store = make(catalogue)
    harvester.harvest(source)
    del store.items["r00034"]
    store.fail_after_pages = 1
    harvester.harvest(source, full=True)
    store.fail_after_pages = None
    report = harvester.harvest(source)
    assert report.mode == "resume"
    assert report.counts.deleted == 1
