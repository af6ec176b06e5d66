"""Keep the search index following the change feed while a harvest writes it, in a process of its own.

Indexing a record (reading it back, building its document, adding it to tantivy) costs about as much CPU as
mapping it, and one Python process runs one thread at a time: a second process lets the index keep up with the
harvest instead of starting after it. The follower is an ordinary change-feed consumer (its own cursor, idempotent),
so a crash of either process loses nothing: the next run's consumer carries on from the cursor.

It applies changes as they arrive (polling every `POLL_SECONDS`) but commits at most every `COMMIT_SECONDS` (or
every `COMMIT_CHANGES` changes, and when it is told to stop): each tantivy commit writes a new segment that merges
later rewrite, about 40 ms of CPU however few documents it holds. Committing after every poll cost 0.31 ms of CPU
per record on 20k generated Zenodo records, committing every few thousand changes 0.19 ms. A harvested record is
therefore searchable within about `COMMIT_SECONDS` of its page's commit, and every record is when the harvest ends.

While it writes, tantivy's merges read whole segments through memory maps, and every page they touch counts in the
follower's resident set until the map is dropped: the largest merge of an N-record index touches about 0.5 KB per
record. The follower hands those pages back each `PAGE_OUT_SECONDS` (`harvester.heap.page_out_files`), so its
resident set does not grow with the index (they stay in the page cache while other processes map them).
"""

from __future__ import annotations

import multiprocessing
import os
import time
from dataclasses import dataclass, field
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harvester import heap
from harvester.children import SpawnWithoutMain, die_with_parent
from harvester.gc_tuning import tune_for_bulk_work
from indexer.tantivy_backend import IndexBusyError

if TYPE_CHECKING:
    from dmlake.lake import Lake
    from indexer.consumer import Progress, SearchIndexConsumer

POLL_SECONDS = 0.5
BUSY_PATIENCE_SECONDS = 60.0
COMMIT_SECONDS = 5.0
COMMIT_CHANGES = 10_000
BATCH_SIZE = 2_000
PAGE_OUT_SECONDS = 1.0


@dataclass
class _Follow:
    """One follower's state: the consumer once the index is open, what it committed, and when it last committed."""

    lake: Lake
    applied: Any
    consumer: SearchIndexConsumer | None = None
    last_commit: float = field(default_factory=time.monotonic)
    committed_before: int = 0
    """Changes committed by the first catch-up (`Lake.update_index`), before the consumer existed."""

    def step(self, stopping: bool) -> int:
        """Apply what is new, commit when due (or when stopping); returns how many changes it read."""
        if self.consumer is None:
            # The first catch-up rebuilds an index of another document schema first (`Lake.update_index`).
            read = self.lake.update_index(BATCH_SIZE)
            self.committed_before = read
            self._publish(read)
            from dmlake.lake import INDEX_CONSUMER
            from indexer.consumer import SearchIndexConsumer

            self.consumer = SearchIndexConsumer(
                self.lake.catalogue, self.lake.index, name=INDEX_CONSUMER, on_progress=self._committed
            )
            self.last_commit = time.monotonic()
            return read
        read = self.consumer.apply_new(BATCH_SIZE, commit_every=COMMIT_CHANGES)
        if self.consumer.pending and (stopping or time.monotonic() - self.last_commit >= COMMIT_SECONDS):
            self.consumer.commit_applied()
        return read

    def _committed(self, progress: Progress) -> None:
        # at each of the consumer's commits, everything it read is committed
        self.last_commit = time.monotonic()
        self._publish(self.committed_before + progress.changes)

    def _publish(self, committed: int) -> None:
        with self.applied.get_lock():
            self.applied.value = committed


def _follow(home: str, database_url: str, parent: int, stop: Event, applied: Any) -> None:
    die_with_parent(parent)
    from dmlake.lake import Lake

    lake = Lake.open(home, database_url)
    tune_for_bulk_work()
    heap.start_paging_out(lake.home.index_dir, PAGE_OUT_SECONDS)
    follow = _Follow(lake, applied)
    waited_busy = 0.0
    try:
        while os.getppid() == parent:
            stopping = stop.is_set()
            try:
                read = follow.step(stopping)
            except IndexBusyError:
                # a writer left by a killed run holds the lock until its process is gone
                if waited_busy > BUSY_PATIENCE_SECONDS:
                    raise
                time.sleep(POLL_SECONDS)
                waited_busy += POLL_SECONDS
                continue
            if stopping and read == 0 and not (follow.consumer and follow.consumer.pending):
                return
            if read == 0:
                stop.wait(POLL_SECONDS)
    finally:
        lake.close()


@dataclass
class IndexFollower:
    """Starts the follower process; `finish()` lets it catch up with the feed and stop, returning what it applied."""

    home: Path
    database_url: str
    _process: multiprocessing.process.BaseProcess | None = field(default=None, repr=False)
    _stop: Event | None = field(default=None, repr=False)
    _applied: Any = field(default=None, repr=False)

    def start(self) -> IndexFollower:
        # not `__main__` again: the command line's imports would cost the follower about a second of CPU at start
        context = SpawnWithoutMain()
        self._stop = context.Event()
        self._applied = context.Value("q", 0)
        self._process = context.Process(
            target=_follow,
            args=(str(self.home), self.database_url, os.getpid(), self._stop, self._applied),
            name="dmlake-index-follower",
            daemon=True,
        )
        self._process.start()
        return self

    def finish(self, timeout: float | None = None) -> tuple[int, bool]:
        """Stop after the last change; returns (changes committed, whether the follower ended cleanly)."""
        if self._process is None or self._stop is None:
            return 0, False
        self._stop.set()
        self._process.join(timeout)
        clean = self._process.exitcode == 0
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
            clean = False
        return int(self._applied.value), clean
