"""Keep the search index following the change feed while a harvest writes it, in a process of its own.

Indexing a record (reading it back, building its document, adding it to tantivy) costs about as much CPU as
mapping it, and one Python process runs one thread at a time: a second process lets the index keep up with the
harvest instead of starting after it. The follower is an ordinary change-feed consumer (its own cursor, idempotent),
so a crash of either process loses nothing: the next run's consumer carries on from the cursor.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from dataclasses import dataclass, field
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

from harvester.gc_tuning import tune_for_bulk_work
from harvester.mapping import die_with_parent
from indexer.tantivy_backend import IndexBusyError

POLL_SECONDS = 0.5
BUSY_PATIENCE_SECONDS = 60.0


def _follow(home: str, database_url: str, parent: int, stop: Event, applied: Any) -> None:
    die_with_parent(parent)
    from dmlake.lake import Lake

    lake = Lake.open(home, database_url)
    tune_for_bulk_work()
    waited_busy = 0.0
    try:
        while os.getppid() == parent:
            stopping = stop.is_set()
            try:
                count = lake.update_index()
            except IndexBusyError:
                # a writer left by a killed run holds the lock until its process is gone
                if waited_busy > BUSY_PATIENCE_SECONDS:
                    raise
                time.sleep(POLL_SECONDS)
                waited_busy += POLL_SECONDS
                continue
            with applied.get_lock():
                applied.value += count
            if stopping and count == 0:
                return
            if count == 0:
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
        context = multiprocessing.get_context("spawn")
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
        """Stop after the last change; returns (changes applied, whether the follower ended cleanly)."""
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
