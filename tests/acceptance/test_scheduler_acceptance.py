"""Issue 6, acceptance 1: a scheduler running three sandbox sources on 1-minute intervals for 5 minutes runs each on
time and never two runs of one source at once; killing it (`kill -9`) and starting it again loses no schedule, marks
the killed run interrupted, and the next run resumes from its checkpoint.

Real time, real processes: `dmlake scheduler run` against replicas of Zenodo, HEPData and CERN Open Data. Two
sources are scheduled in the sources file, the third at run time (`dmlake schedule set`, overriding the file's hourly
schedule), so the kill has both kinds of schedule to lose. Zenodo answers slowly at first, so that its first run is
still going when the scheduler is killed.
"""

from __future__ import annotations

import itertools
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import defaultdict
from contextlib import closing
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest
from cli import dmlake

from dmlake.lake import Lake
from harvester.runs import RunRow, Runs
from harvester.scheduler import stored_next_runs
from sandbox import build_replicas
from sandbox.faults import FaultPlan
from sandbox.server import start

REPO = Path(__file__).resolve().parents[2]
RECORDS = 60
PAGE = 10
WINDOW = 5 * 60 + 10
"""Seconds the scheduler (both lives of it) runs: five 1-minute intervals and the first runs at once."""
ON_TIME = 5.0
"""How far from the minute a scheduled run may start (queueing, a busy 2-core machine); the misfire grace is 1 h."""
pytestmark = pytest.mark.xdist_group("scheduler-acceptance")


def scheduler(home: Path, sources: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "harvester.cli",
            "--home",
            str(home),
            "--config",
            str(sources),
            "scheduler",
            "run",
            "--no-index",
            "--poll",
            "1",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={"PATH": os.environ.get("PATH", ""), "COLUMNS": "200"},
    )


def count_records(database: Path, source: str) -> int:
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)) as conn:
        return int(conn.execute("SELECT count(*) FROM records WHERE source = ?", (source,)).fetchone()[0])


def wait_for(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():  # type: ignore[operator]
                return
        except sqlite3.Error:  # the catalogue's tables are not there yet
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_three_sources_every_minute_for_five_minutes_with_a_kill_in_between(tmp_path: Path) -> None:
    home = tmp_path / "home"
    database = home / "catalogue.sqlite"
    with start(build_replicas(generate=RECORDS, seed=11, kinds=["zenodo", "hepdata", "cernopendata"])) as sandbox:
        text = sandbox.sources_toml()
        for name, schedule in (("zenodo", "every 1m"), ("hepdata", "every 1m"), ("cernopendata", "every 1h")):
            text = text.replace(f"[sources.{name}]\n", f'[sources.{name}]\nschedule = "{schedule}"\n', 1)
        sources = tmp_path / "sources.toml"
        sources.write_text(text + f"\n[sources.zenodo.options]\npage_size = {PAGE}\n", encoding="utf-8")
        zenodo = sandbox.urls["zenodo"]
        slow = FaultPlan(kind="slow", slow_seconds=0.8, every=1).to_dict()
        httpx.put(f"{zenodo}/_sandbox/faults", json=[slow], timeout=30).raise_for_status()

        # the run-time schedule wins over the file's hourly one, and must survive the kill like the others
        dmlake(home, "--config", str(sources), "schedule", "set", "cernopendata", "every 1m")
        started = time.time()
        first = scheduler(home, sources)
        try:
            wait_for(lambda: count_records(database, "zenodo") >= 2 * PAGE, 90, "zenodo's first pages")
            lake = Lake.open(home)
            runs = Runs(lake.catalogue.engine)
            [killed] = [r for r in runs.recent("zenodo", 5) if r.state == "running"]
            assert killed.pid == first.pid and killed.trigger == "schedule"
            planned = stored_next_runs(lake.catalogue.engine)
            assert set(planned) == {"zenodo", "hepdata", "cernopendata"}
            killed_at = time.time()
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=30)
        finally:
            if first.poll() is None:
                first.kill()
        committed = count_records(database, "zenodo")
        assert PAGE <= committed < RECORDS
        httpx.put(f"{zenodo}/_sandbox/faults", json=[], timeout=30).raise_for_status()
        httpx.delete(f"{zenodo}/_sandbox/requests", timeout=30).raise_for_status()

        second = scheduler(home, sources)
        try:
            remaining = started + WINDOW - time.time()
            time.sleep(max(0.0, remaining))
            assert second.poll() is None, second.communicate()
            second.send_signal(signal.SIGTERM)
            output, _ = second.communicate(timeout=60)
        finally:
            if second.poll() is None:
                second.kill()
        assert second.returncode == 0, output
        zenodo_log = httpx.get(f"{zenodo}/_sandbox/requests", timeout=30).json()

    all_runs = [r for r in Runs(lake.catalogue.engine).recent(None, 200)]
    by_source: dict[str, list[RunRow]] = defaultdict(list)
    for run in sorted(all_runs, key=lambda r: r.started_at):
        by_source[run.source].append(run)
    assert set(by_source) == {"zenodo", "hepdata", "cernopendata"}

    # the killed run was found dead (by the restarted scheduler) and marked interrupted
    interrupted = Runs(lake.catalogue.engine).get(killed.id)
    assert interrupted is not None and interrupted.state == "interrupted"
    assert "process died" in (interrupted.message or "")

    # no schedule lost: each source's first run after the restart came at the time stored before the kill
    for name, runs_of in by_source.items():
        after = [r for r in runs_of if r.started_at.timestamp() > planned[name].timestamp() - ON_TIME]  # type: ignore[union-attr]
        assert after, f"{name}: no run after the restart"
        assert abs(after[0].started_at.timestamp() - planned[name].timestamp()) < ON_TIME, (name, after[0])  # type: ignore[union-attr]

    for name, runs_of in by_source.items():
        scheduled = [r for r in runs_of if r.trigger == "schedule"]
        # five minutes of 1-minute intervals: a run at once, then one a minute
        assert len(scheduled) >= 5, (name, [(r.id, r.started_at, r.state) for r in runs_of])
        starts = [r.started_at.timestamp() for r in scheduled]
        gaps = [b - a for a, b in itertools.pairwise(starts)]
        assert all(abs(gap - 60) < ON_TIME for gap in gaps), (name, gaps)
        # never two at once: each run ended before the next one of the source started
        for earlier, later in itertools.pairwise(runs_of):
            assert earlier.finished_at is not None and earlier.finished_at <= later.started_at, (name, earlier, later)
        for run in runs_of:
            # interrupted: the runs going when the scheduler was killed (found dead) or stopped at the end (SIGTERM)
            died = run.started_at.timestamp() < killed_at and "process died" in (run.message or "")
            expected = {"succeeded"} | ({"interrupted"} if died or run is runs_of[-1] else set())
            assert run.state in expected, (name, run)

    # the next zenodo run resumed from the killed run's checkpoint: it added exactly the records not yet committed,
    # saw none of the committed ones again, and its listing started at the checkpoint's stamp (Zenodo pages by a
    # keyset on the update stamp), not at the beginning
    resumed = next(r for r in by_source["zenodo"] if r.started_at > interrupted.started_at)
    assert (resumed.mode, resumed.state) == ("resume", "succeeded"), resumed
    assert (resumed.counts.added, resumed.counts.unchanged) == (RECORDS - committed, 0), resumed.counts
    listing = [
        parse_qs(entry["query"]).get("q", [""])[0]
        for entry in zenodo_log
        if resumed.started_at.timestamp() - 1 <= entry["time"] <= _end(resumed).timestamp() + 1
        and entry["path"].startswith("/api/records")
    ]
    assert listing and all("updated:[" in q for q in listing), listing
    assert len(listing) <= -(-(RECORDS - committed) // PAGE) + 1, listing
    assert count_records(database, "zenodo") == RECORDS
    lake.close()


def _end(run: RunRow) -> datetime:
    assert run.finished_at is not None
    return run.finished_at
