"""`dmlake schedule ...` and `dmlake scheduler run` as people use them: real processes, a sandbox replica, SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import httpx
from cli import dmlake

from dmlake.lake import Lake
from harvester.runs import Runs
from sandbox import build_replicas
from sandbox.faults import FaultPlan
from sandbox.server import start

REPO = Path(__file__).resolve().parents[2]
RECORDS = 200
"""Twenty pages of ten, each answered in 0.8 s: a run lasts long enough to be stopped halfway."""


def records_in(database: Path, source: str) -> int:
    try:
        with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)) as conn:
            return int(conn.execute("SELECT count(*) FROM records WHERE source = ?", (source,)).fetchone()[0])
    except sqlite3.Error:
        return 0


def wait(condition: object, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_schedule_commands_without_a_daemon(tmp_path: Path) -> None:
    home, sources = tmp_path / "home", tmp_path / "sources.toml"
    sources.write_text(
        '[sources.z]\nkind = "zenodo"\nurl = "http://127.0.0.1:9"\nschedule = "every 6h"\ntimeout = "2h"\n'
        '[sources.h]\nkind = "hepdata"\nurl = "http://127.0.0.1:9"\n',
        encoding="utf-8",
    )
    run = ["--config", str(sources), "schedule"]
    listed = dmlake(home, *run, "list")
    assert "scheduler: not running" in listed.stdout
    assert "every 6h" in listed.stdout and "when the scheduler starts" in listed.stdout and "2h" in listed.stdout

    set_ = dmlake(home, *run, "set", "z", "*/15 * * * *")
    assert "z: */15 * * * * (the sources file's 'every 6h' is set aside until cleared)" in set_.stdout
    assert "the scheduler is not running" in set_.stdout
    dmlake(home, *run, "pause", "h")
    dmlake(home, *run, "run-now", "h")
    document = json.loads(dmlake(home, *run, "list", "--json").stdout)
    entries = {entry["source"]: entry for entry in document["sources"]}
    assert document["scheduler"] is None
    assert (entries["z"]["schedule"], entries["z"]["origin"], entries["z"]["configured"]) == (
        "*/15 * * * *",
        "set",
        "every 6h",
    )
    assert entries["z"]["timeout_seconds"] == 7200
    assert entries["h"]["paused"] and entries["h"]["schedule"] is None and entries["h"]["run_now_requested"]

    cleared = dmlake(home, *run, "clear", "z")
    assert "z: back to the sources file's every 6h" in cleared.stdout
    assert "no longer scheduled" in dmlake(home, *run, "clear", "h").stdout

    bad = dmlake(home, *run, "set", "z", "every 5 minutes", check=False)
    assert bad.returncode == 2 and "after 'every' give a duration" in bad.stderr
    unknown = dmlake(home, *run, "pause", "nope", check=False)
    assert unknown.returncode == 1 and "no source named 'nope'; configured: z, h" in unknown.stderr


def test_sigterm_commits_the_page_in_hand_and_an_abort_stops_only_its_run(tmp_path: Path) -> None:
    home, database = tmp_path / "home", tmp_path / "home" / "catalogue.sqlite"
    with start(build_replicas(generate=RECORDS, seed=4, kinds=["zenodo"])) as sandbox:
        url = sandbox.urls["zenodo"]
        sources = tmp_path / "sources.toml"
        sources.write_text(
            f'[sources.z]\nkind = "zenodo"\nurl = "{url}"\nschedule = "every 1h"\n[sources.z.options]\n'
            'page_size = 10\n[sources.z.limits]\nrequests_per_minute = "unlimited"\n',
            encoding="utf-8",
        )
        slow = FaultPlan(kind="slow", slow_seconds=0.8, every=1).to_dict()
        httpx.put(f"{url}/_sandbox/faults", json=[slow], timeout=30).raise_for_status()
        command = [sys.executable, "-m", "harvester.cli", "--home", str(home), "--config", str(sources)]
        daemon = subprocess.Popen(
            [*command, "scheduler", "run", "--no-index", "--poll", "0.5"],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={"PATH": os.environ.get("PATH", ""), "COLUMNS": "200"},
        )
        try:
            # the first run starts at once (nothing harvested yet); abort it: SIGINT to the daemon stops that run only
            wait(lambda: records_in(database, "z") >= 10)
            lake = Lake.open(home)
            [first] = Runs(lake.catalogue.engine).recent("z", 1)
            assert (first.state, first.pid, first.trigger) == ("running", daemon.pid, "schedule")
            # `dmlake run abort` waits for the run to let its lock go; the daemon lives on, and the command says so
            aborted = dmlake(home, "run", "abort", str(first.id), check=False)
            assert aborted.returncode == 0, aborted.stdout + aborted.stderr
            assert f"run {first.id} of z: marked aborted; the run stopped (pid {daemon.pid} goes on" in aborted.stdout
            wait(lambda: Runs(lake.catalogue.engine).get(first.id).message.endswith("resumes after it"))  # type: ignore[union-attr]
            assert daemon.poll() is None

            # a second run (asked for now) resumes; SIGTERM mid-run: it commits the page in hand and the daemon ends
            dmlake(home, "--config", str(sources), "schedule", "run-now", "z")
            wait(lambda: Runs(lake.catalogue.engine).recent("z", 1)[0].id != first.id)
            [second] = Runs(lake.catalogue.engine).recent("z", 1)
            wait(lambda: (Runs(lake.catalogue.engine).get(second.id).pages or 0) > 0)  # type: ignore[union-attr]
            signalled = time.monotonic()
            daemon.send_signal(signal.SIGTERM)
            output, _ = daemon.communicate(timeout=30)
            stopped_in = time.monotonic() - signalled
        finally:
            if daemon.poll() is None:
                daemon.kill()
                daemon.wait()
        assert daemon.returncode == 0, output
        assert stopped_in < 5, output
        assert "scheduler stopped" in output
        stopped = Runs(lake.catalogue.engine).get(second.id)
        assert stopped is not None and (stopped.mode, stopped.state, stopped.trigger) == (
            "resume",
            "interrupted",
            "run-now",
        )
        assert "the scheduler stopped (SIGTERM) after the page in hand" in (stopped.message or "")
        committed = lake.catalogue.count("z")
        assert 10 <= committed < RECORDS
        # whatever was fetched was committed, with its checkpoint: the two runs added exactly what the catalogue holds
        assert stopped.counts.added + Runs(lake.catalogue.engine).get(first.id).counts.added == committed  # type: ignore[union-attr]

        # the next run resumes after the last committed page
        httpx.put(f"{url}/_sandbox/faults", json=[], timeout=30).raise_for_status()
        dmlake(home, "--config", str(sources), "harvest", "--no-index")
        [resumed] = Runs(lake.catalogue.engine).recent("z", 1)
        assert (resumed.mode, resumed.state) == ("resume", "succeeded")
        assert (resumed.counts.added, resumed.counts.unchanged) == (RECORDS - committed, 0)
        lake.close()
