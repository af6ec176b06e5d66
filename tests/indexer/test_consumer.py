"""The index consumer on a small in-memory change feed: bulk batches, deletes, cursor handling, idempotent replay
and crashes between the index commit and the cursor write."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from indexer.consumer import IndexConsumer, Progress
from indexer.query import Query
from indexer.tantivy_backend import TantivyIndex
from ontology.feed import Change, ChangeFeed, ChangeKind
from ontology.model import Record


class MemoryFeed:
    """A real, small change feed: live records, an append-only change log and per-consumer cursors."""

    def __init__(self) -> None:
        self.live: dict[str, Record] = {}
        self.log: list[Change] = []
        self.cursors: dict[str, int] = {}
        self.largest_records_call = 0
        self.fail_next_set_cursor = False

    def _append(self, record_id: str, kind: ChangeKind) -> None:
        self.log.append(Change(seq=len(self.log) + 1, record_id=record_id, kind=kind))

    def upsert(self, record: Record) -> None:
        self.live[record.id] = record
        self._append(record.id, "upsert")

    def delete(self, record_id: str) -> None:
        self.live.pop(record_id, None)
        self._append(record_id, "delete")

    # the ChangeFeed protocol
    def changes_since(self, seq: int, limit: int) -> Sequence[Change]:
        start = bisect.bisect_right([c.seq for c in self.log], seq)
        return self.log[start : start + limit]

    def records(self, ids: Sequence[str]) -> Mapping[str, Record]:
        self.largest_records_call = max(self.largest_records_call, len(ids))
        return {record_id: self.live[record_id] for record_id in ids if record_id in self.live}

    def cursor(self, consumer: str) -> int:
        return self.cursors.get(consumer, 0)

    def set_cursor(self, consumer: str, seq: int) -> None:
        if self.fail_next_set_cursor:
            self.fail_next_set_cursor = False
            raise RuntimeError("simulated crash after the index commit, before the cursor write")
        self.cursors[consumer] = seq

    def last_seq(self) -> int:
        return len(self.log)


class CountingIndex:
    """The real index, counting commits and able to crash just before one."""

    def __init__(self, index: TantivyIndex) -> None:
        self.inner = index
        self.commits = 0
        self.crash_before_commit = False

    def index(self, records: Iterable[Record]) -> int:
        return self.inner.index(records)

    def delete(self, record_ids: Iterable[str]) -> int:
        return self.inner.delete(record_ids)

    def commit(self) -> None:
        if self.crash_before_commit:
            self.crash_before_commit = False
            self.inner.rollback()  # what a dead process leaves behind: nothing uncommitted
            raise RuntimeError("simulated crash before the index commit")
        self.commits += 1
        self.inner.commit()


def contents(index: TantivyIndex) -> list[tuple[str, Any]]:
    """Everything a search can show, in a fixed order: the comparison for "the same index"."""
    out: list[tuple[str, Any]] = []
    cursor = None
    while True:
        page = index.search(Query.parse(sort="title", size=1000, cursor=cursor))
        out.extend((hit.id, dict(hit.fields)) for hit in page.hits)
        cursor = page.next_cursor
        if cursor is None:
            return out


@pytest.fixture
def feed(generated: Callable[..., Iterator[Record]]) -> MemoryFeed:
    feed = MemoryFeed()
    for record in generated(600, seed=21):
        feed.upsert(record)
    return feed


@pytest.fixture
def index(tmp_path: Path) -> Iterator[CountingIndex]:
    real = TantivyIndex(tmp_path / "index")
    yield CountingIndex(real)
    real.close()


def test_the_memory_feed_is_a_change_feed(feed: MemoryFeed) -> None:
    def accepts(_: ChangeFeed) -> bool:
        return True

    assert accepts(feed)
    assert [c.seq for c in feed.changes_since(598, 10)] == [599, 600]


def test_a_run_indexes_every_change_and_advances_the_cursor(feed: MemoryFeed, index: CountingIndex) -> None:
    consumer = IndexConsumer(feed, index)
    assert consumer.run(batch_size=64) == 600
    assert feed.cursor("index") == 600
    assert index.inner.count() == 600
    assert {hit_id for hit_id, _ in contents(index.inner)} == set(feed.live)
    assert consumer.run(batch_size=64) == 0
    assert index.commits == 1


def test_updates_and_deletes_follow_the_catalogue(
    feed: MemoryFeed, index: CountingIndex, record_factory: Callable[..., Record]
) -> None:
    consumer = IndexConsumer(feed, index)
    consumer.run()
    ids = list(feed.live)
    renamed = feed.live[ids[0]].model_copy(update={"title": "Quasar spectra renamed"})
    feed.upsert(renamed)
    for record_id in ids[1:11]:
        feed.delete(record_id)
    feed.delete("https://w3id.org/dmlake/record/zenodo/never-existed")
    assert consumer.run(batch_size=4) == 12
    assert index.inner.count() == 590
    hits = index.inner.search(Query.parse("quasar")).hits
    assert [h.id for h in hits] == [ids[0]] and hits[0].fields["title"] == "Quasar spectra renamed"
    assert not set(ids[1:11]) & {hit_id for hit_id, _ in contents(index.inner)}


def test_the_newest_change_of_a_record_wins_within_a_batch(feed: MemoryFeed, index: CountingIndex) -> None:
    consumer = IndexConsumer(feed, index)
    consumer.run()
    ids = list(feed.live)
    gone, back = feed.live[ids[0]], feed.live[ids[1]]
    feed.upsert(gone)
    feed.delete(gone.id)  # upsert then delete: removed
    feed.delete(back.id)
    feed.upsert(back.model_copy(update={"title": "Back again"}))  # delete then upsert: present, new content
    assert consumer.run(batch_size=100) == 4
    present = dict(contents(index.inner))
    assert gone.id not in present
    assert present[back.id]["title"] == "Back again"


def test_an_upsert_of_a_record_deleted_later_removes_it(feed: MemoryFeed, index: CountingIndex) -> None:
    consumer = IndexConsumer(feed, index)
    consumer.run()
    record = next(iter(feed.live.values()))
    feed.upsert(record)
    feed.delete(record.id)
    # the consumer reads only the upsert (batch of 1): the feed no longer has the record, so it is removed anyway
    consumer.run(batch_size=1, limit=1)
    assert record.id not in dict(contents(index.inner))
    assert consumer.run() == 1
    assert record.id not in dict(contents(index.inner))


def test_replaying_changes_gives_the_same_index(feed: MemoryFeed, index: CountingIndex) -> None:
    consumer = IndexConsumer(feed, index)
    consumer.run(batch_size=50)
    for record_id in list(feed.live)[:30]:
        feed.delete(record_id)
    for record in list(feed.live.values())[:40]:
        feed.upsert(record.model_copy(update={"title": record.title + " v2"}))
    consumer.run(batch_size=50)
    once = contents(index.inner)
    for cursor in (0, 300, 610):
        feed.set_cursor("index", cursor)
        assert consumer.run(batch_size=37) == feed.last_seq() - cursor
        assert contents(index.inner) == once
        assert index.inner.count() == len(once) == 570


def test_a_crash_after_the_commit_replays_the_batch(feed: MemoryFeed, index: CountingIndex) -> None:
    consumer = IndexConsumer(feed, index)
    feed.fail_next_set_cursor = True
    with pytest.raises(RuntimeError, match="simulated crash"):
        consumer.run(batch_size=100, commit_every=200)
    assert index.inner.count() == 200  # the index has the first commit's changes ...
    assert feed.cursor("index") == 0  # ... but the cursor never moved: they are read again
    assert consumer.run(batch_size=100, commit_every=200) == 600
    assert feed.cursor("index") == 600
    assert {hit_id for hit_id, _ in contents(index.inner)} == set(feed.live)


def test_a_crash_before_the_commit_loses_nothing(feed: MemoryFeed, index: CountingIndex) -> None:
    consumer = IndexConsumer(feed, index)
    consumer.run(batch_size=100, commit_every=300, limit=300)
    index.crash_before_commit = True
    with pytest.raises(RuntimeError, match="simulated crash"):
        consumer.run(batch_size=100, commit_every=300)
    assert feed.cursor("index") == 300
    assert index.inner.count() == 300
    consumer.run(batch_size=100, commit_every=300)
    assert index.inner.count() == 600


def test_batches_bound_memory_and_commits_follow_commit_every(feed: MemoryFeed, index: CountingIndex) -> None:
    progress: list[Progress] = []
    consumer = IndexConsumer(feed, index, on_progress=progress.append)
    assert consumer.run(batch_size=100, commit_every=250) == 600
    assert feed.largest_records_call <= 100
    assert [p.cursor for p in progress] == [300, 600]
    assert index.commits == 2
    assert progress[-1] == Progress(cursor=600, last_seq=600, changes=600, indexed=600, deleted=0)


def test_limit_and_named_cursors(feed: MemoryFeed, index: CountingIndex) -> None:
    first = IndexConsumer(feed, index, name="index")
    assert first.run(batch_size=64, limit=100) == 100
    assert feed.cursor("index") == 100
    assert feed.cursor("other") == 0
    assert IndexConsumer(feed, index, name="other").run(limit=50) == 50
    assert feed.cursor("other") == 50 and feed.cursor("index") == 100


def test_bad_arguments(feed: MemoryFeed, index: CountingIndex) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        IndexConsumer(feed, index).run(batch_size=0)


def test_applied_changes_are_committed_only_when_asked(
    feed: MemoryFeed, index: CountingIndex, generated: Callable[..., Iterator[Record]], tmp_path: Path
) -> None:
    """A follower applies changes as they arrive and commits when it chooses: until then the stored cursor stays,
    searches see nothing new, and later changes are read from where the last call stopped, not from the cursor."""
    progress: list[Progress] = []
    consumer = IndexConsumer(feed, index, on_progress=progress.append)
    assert consumer.apply_new(batch_size=100, commit_every=10_000) == 600
    assert (consumer.pending, index.commits, feed.cursor("index"), index.inner.count()) == (600, 0, 0, 0)
    assert consumer.apply_new(batch_size=100, commit_every=10_000) == 0  # nothing new: nothing read again
    added = list(generated(5, seed=99))
    for record in added:
        feed.upsert(record)
    feed.delete(next(rid for rid in feed.live if rid not in {r.id for r in added}))
    assert consumer.apply_new(batch_size=100, commit_every=10_000) == 6
    assert consumer.pending == 606 and feed.cursor("index") == 0
    assert consumer.commit_applied() == 606
    assert (consumer.pending, index.commits, feed.cursor("index")) == (0, 1, 606)
    assert progress == [Progress(cursor=606, last_seq=606, changes=606, indexed=600 + 5, deleted=1)]
    assert consumer.commit_applied() == 0 and index.commits == 1  # nothing pending: no empty commit

    fresh = TantivyIndex(tmp_path / "fresh")
    IndexConsumer(feed, fresh, name="fresh").run(batch_size=1000)
    assert contents(index.inner) == contents(fresh)
    fresh.close()


def test_applying_commits_every_commit_every_changes_and_leaves_the_rest_pending(
    feed: MemoryFeed, index: CountingIndex
) -> None:
    consumer = IndexConsumer(feed, index)
    assert consumer.apply_new(batch_size=100, commit_every=400) == 600
    assert (index.commits, feed.cursor("index"), consumer.pending) == (1, 400, 200)
    assert index.inner.count() == 400


def test_a_follower_that_dies_before_its_commit_loses_nothing(feed: MemoryFeed, index: CountingIndex) -> None:
    """What a killed follower applied without committing is applied again by the next consumer, from the cursor."""
    consumer = IndexConsumer(feed, index)
    consumer.apply_new(batch_size=100, commit_every=300)
    assert feed.cursor("index") == 600 and consumer.pending == 0
    feed.cursors["index"] = 300  # as if the second commit had not happened
    index.inner.rollback()
    again = IndexConsumer(feed, index)
    assert again.run(batch_size=100) == 300
    assert feed.cursor("index") == 600
    assert {hit_id for hit_id, _ in contents(index.inner)} == set(feed.live)
    # `run` starts from the stored cursor even when this consumer has applied changes it has not committed
    consumer.apply_new(batch_size=100)
    assert consumer.run(batch_size=100) == 0
