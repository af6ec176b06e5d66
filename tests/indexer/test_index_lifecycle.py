"""Relevance cursors (snapshots, expiry), one writer and many readers, and opening an index built by another
schema version."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from indexer.document import SCHEMA_VERSION
from indexer.query import Query, QueryError
from indexer.tantivy_backend import MARKER_FILE, IndexBusyError, IndexVersionError, TantivyIndex
from ontology.model import Record


def build(path: Path, record_factory: Callable[..., Record], count: int = 60, **options: float) -> TantivyIndex:
    index = TantivyIndex(path, **options)  # type: ignore[arg-type]
    index.index(record_factory(i, title=f"Muon run {i}", keywords=["muon"] * (i % 3)) for i in range(count))
    index.commit()
    return index


def test_relevance_pages_continue_from_the_snapshot(tmp_path: Path, record_factory: Callable[..., Record]) -> None:
    index = build(tmp_path / "index", record_factory)
    first = index.search(Query.parse("muon", size=25))
    assert first.next_cursor and first.total == 60
    index.index(record_factory(1000 + i, title="Muon muon muon") for i in range(10))
    index.commit()
    rest = index.search(Query.parse("muon", size=50, cursor=first.next_cursor))
    ids = [h.id for h in first.hits] + [h.id for h in rest.hits]
    assert rest.total == 60  # the snapshot's count, not the grown index's
    assert len(ids) == len(set(ids)) == 60 and rest.next_cursor is None
    assert index.search(Query.parse("muon", size=0)).total == 70
    index.close()


def test_an_expired_snapshot_of_an_unchanged_index_is_rebuilt(
    tmp_path: Path, record_factory: Callable[..., Record]
) -> None:
    build(tmp_path / "index", record_factory).close()
    serving = TantivyIndex(tmp_path / "index", snapshot_ttl=0.0)
    first = serving.search(Query.parse("muon", size=20))
    time.sleep(0.01)
    # a second process (another portal worker, or this one restarted) serves the next page of the same files
    other = TantivyIndex(tmp_path / "index")
    second = other.search(Query.parse("muon", size=20, cursor=first.next_cursor))
    third = serving.search(Query.parse("muon", size=20, cursor=second.next_cursor))
    ids = [h.id for page in (first, second, third) for h in page.hits]
    assert len(ids) == len(set(ids)) == 60
    reference = [h.id for h in serving.search(Query.parse("muon", size=60)).hits]
    assert ids == reference


def test_an_expired_snapshot_of_a_changed_index_asks_for_a_restart(
    tmp_path: Path, record_factory: Callable[..., Record]
) -> None:
    index = build(tmp_path / "index", record_factory, snapshot_ttl=0.0)
    first = index.search(Query.parse("muon", size=20))
    index.index([record_factory(500, title="Muon again")])
    index.commit()
    time.sleep(0.01)
    with pytest.raises(QueryError) as caught:
        index.search(Query.parse("muon", size=20, cursor=first.next_cursor))
    assert caught.value.parameter == "cursor"
    assert caught.value.message.startswith("cursor expired, restart the query")
    assert caught.value.hint and "-issued" in caught.value.hint
    index.close()


def test_snapshots_are_bounded(tmp_path: Path, record_factory: Callable[..., Record]) -> None:
    index = build(tmp_path / "index", record_factory, snapshot_capacity=3)
    cursors = [index.search(Query.parse("muon", size=1)).next_cursor for _ in range(5)]
    assert all(cursors)
    assert len(index._snapshots) == 3
    index.close()


def test_one_writer_at_a_time(tmp_path: Path, record_factory: Callable[..., Record]) -> None:
    writer = build(tmp_path / "index", record_factory)
    second = TantivyIndex(tmp_path / "index")
    assert second.count() == 60  # reading needs no lock
    with pytest.raises(IndexBusyError, match="another writer holds its lock"):
        second.index([record_factory(99)])
    writer.close()
    second.index([record_factory(99, title="Written by the second")])
    second.commit()
    assert second.count() == 61
    second.close()


def test_readers_see_commits_while_a_writer_works(tmp_path: Path, record_factory: Callable[..., Record]) -> None:
    writer = build(tmp_path / "index", record_factory, count=10)
    reader = TantivyIndex(tmp_path / "index")
    errors: list[BaseException] = []
    seen: list[list[int]] = [[], [], []]
    stop = threading.Event()

    def read(totals: list[int]) -> None:
        try:
            while not stop.is_set():
                result = reader.search(Query.parse("muon", facets=["year"], size=5))
                assert sum(v.count for v in result.facets["year"]) <= result.total
                totals.append(result.total)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=read, args=(totals,)) for totals in seen]
    for thread in threads:
        thread.start()
    for batch in range(5):
        writer.index(record_factory(100 + batch * 10 + i, title="Muon more") for i in range(10))
        writer.commit()
    deadline = time.monotonic() + 10
    while reader.count() != 60 and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    for thread in threads:
        thread.join()
    assert not errors
    assert reader.count() == 60  # the other object reloaded on the commits (tantivy watches the index files)
    for totals in seen:
        assert totals == sorted(totals)  # each reader's counts only grow, by whole commits
        assert set(totals) <= {10, 20, 30, 40, 50, 60}
    writer.close()


def test_a_writer_in_another_process_is_seen(tmp_path: Path, record_factory: Callable[..., Record]) -> None:
    build(tmp_path / "index", record_factory, count=5).close()
    reader = TantivyIndex(tmp_path / "index")
    assert reader.count() == 5
    script = (
        "import sys\n"
        "from sandbox.generated_records import generated_records\n"
        "from indexer.tantivy_backend import TantivyIndex\n"
        "index = TantivyIndex(sys.argv[1])\n"
        "index.index(generated_records(7, start=1000)); index.commit(); index.close()\n"
    )
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "index")], check=True)
    deadline = time.monotonic() + 10
    while reader.count() != 12 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert reader.count() == 12


def test_an_index_of_another_schema_version_is_refused(tmp_path: Path, record_factory: Callable[..., Record]) -> None:
    build(tmp_path / "index", record_factory, count=3).close()
    marker = tmp_path / "index" / MARKER_FILE
    assert json.loads(marker.read_text())["schema_version"] == SCHEMA_VERSION
    marker.write_text(json.dumps({"schema_version": SCHEMA_VERSION - 1}))
    with pytest.raises(IndexVersionError, match=f"version {SCHEMA_VERSION - 1}.*Rebuild it"):
        TantivyIndex(tmp_path / "index")
    marker.unlink()
    with pytest.raises(IndexVersionError, match="unknown schema"):
        TantivyIndex(tmp_path / "index")


def test_an_in_memory_index(record_factory: Callable[..., Record]) -> None:
    index = TantivyIndex(None)
    index.index(record_factory(i, title=f"Muon {i}") for i in range(30))
    index.commit()
    first = index.search(Query.parse("muon", size=20))
    second = index.search(Query.parse("muon", size=20, cursor=first.next_cursor))
    assert len({h.id for h in [*first.hits, *second.hits]}) == 30
    index.close()


def test_facets_follow_commits(tmp_path: Path, record_factory: Callable[..., Record]) -> None:
    index = build(tmp_path / "index", record_factory, count=20)
    query = Query.parse(facets=["source"], size=0)
    before = {v.value: v.count for v in index.search(query).facets["source"]}
    assert sum(before.values()) == 20
    assert index.search(query).facets == index.search(query).facets  # served again, unchanged
    index.index(record_factory(100 + i, source="kcdc") for i in range(5))
    index.commit()
    after = {v.value: v.count for v in index.search(query).facets["source"]}
    assert after["kcdc"] == before.get("kcdc", 0) + 5
    assert sum(after.values()) == 25
    index.delete([record_factory(100).id])
    index.commit()
    assert {v.value: v.count for v in index.search(query).facets["source"]}["kcdc"] == after["kcdc"] - 1
    index.close()


def test_bare_latency_baseline(tmp_path: Path, record_factory: Callable[..., Record]) -> None:
    index = build(tmp_path / "index", record_factory, count=20)
    figures = index.bare_query_latency_ms("muon", repeat=5)
    assert set(figures) == {"p50", "p95"}
    assert 0 < figures["p50"] <= figures["p95"]
    index.close()
