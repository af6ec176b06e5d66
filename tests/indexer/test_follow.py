"""The index follower's pace (`dmlake.follow`): it applies changes as a harvest writes them but commits every few
seconds, or at once when told to stop, and reports only what it committed."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

from fake_sources import Lab

from dmlake import follow
from dmlake.lake import Lake
from indexer.query import Query


def test_the_follower_commits_when_due_or_stopping(tmp_path: Path) -> None:
    lake = Lake.open(tmp_path / "home")
    lab = Lab(lake.catalogue)
    store = lab.source("rest", [{"id": str(n)} for n in range(20)])
    lab.harvest()
    applied = multiprocessing.get_context("spawn").Value("q", 0)
    state = follow._Follow(lake, applied)

    assert state.step(stopping=False) == 20  # the first catch-up commits at once
    assert lake.search(Query()).total == 20 and applied.value == 20

    store.items.update({str(n): {"id": str(n), "title": f"rest {n}", "stamp": 1} for n in range(20, 25)})
    lab.harvest()
    assert state.step(stopping=False) == 5
    assert state.consumer is not None and state.consumer.pending == 5
    assert lake.search(Query()).total == 20 and applied.value == 20  # applied, not yet committed
    assert state.step(stopping=False) == 0 and state.consumer.pending == 5  # not due yet

    state.last_commit = time.monotonic() - follow.COMMIT_SECONDS  # as if the time had passed
    assert state.step(stopping=False) == 0
    assert lake.search(Query()).total == 25 and applied.value == 25 and state.consumer.pending == 0

    store.edit("3", title="rest three, edited")
    lab.harvest()
    assert state.step(stopping=True) == 1  # told to stop: what it applied is committed before it ends
    assert state.consumer.pending == 0 and applied.value == 26
    assert [hit.fields["title"] for hit in lake.search(Query.parse("edited")).hits] == ["rest three, edited"]
    lake.close()
