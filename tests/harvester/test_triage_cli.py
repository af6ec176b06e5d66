"""`dmlake run abort` on a real `dmlake harvest` process, and `dmlake remap` after it, against a sandbox replica."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import httpx
from cli import dmlake
from lakes import replica_requests

from dmlake.lake import Lake
from harvester.runs import Runs
from sandbox import build_replicas
from sandbox.faults import FaultPlan
from sandbox.server import start

REPO = Path(__file__).resolve().parents[2]


def wait_for_records(database: Path, source: str, count: int, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)) as conn:
                found = conn.execute("SELECT count(*) FROM records WHERE source = ?", (source,)).fetchone()[0]
            if found >= count:
                return True
        except sqlite3.Error:  # not created yet, or its tables not yet
            pass
        time.sleep(0.2)
    return False


def test_abort_stops_a_running_harvest_which_then_resumes(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with start(build_replicas(generate=60, seed=4, kinds=["zenodo"])) as sandbox:
        sources = tmp_path / "sources.toml"
        sources.write_text(sandbox.sources_toml() + "\n[sources.zenodo.options]\npage_size = 10\n", encoding="utf-8")
        slow = FaultPlan(kind="slow", slow_seconds=0.8, every=1).to_dict()  # every answer takes 0.8 s
        httpx.put(f"{sandbox.urls['zenodo']}/_sandbox/faults", json=[slow], timeout=30).raise_for_status()
        harvest = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "harvester.cli",
                "--home",
                str(home),
                "--config",
                str(sources),
                "harvest",
                "--no-index",
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={"PATH": os.environ.get("PATH", ""), "COLUMNS": "200"},
        )
        try:
            # read-only polling with sqlite3 until a page is in (something to resume from): opening the lake while
            # the harvest creates the catalogue would race its migration
            assert wait_for_records(home / "catalogue.sqlite", "zenodo", 10), harvest.communicate(timeout=60)
            lake = Lake.open(home)
            [run] = Runs(lake.catalogue.engine).recent("zenodo", 1)
            assert run.state == "running" and run.pid == harvest.pid

            aborted = dmlake(home, "--config", str(sources), "run", "abort", str(run.id), "--reason", "wrong window")
            assert f"run {run.id} of zenodo: marked aborted; pid {harvest.pid} interrupted and ended" in aborted.stdout
            harvest.wait(timeout=30)
        finally:
            if harvest.poll() is None:
                harvest.kill()
                harvest.wait()
        assert harvest.returncode != 0
        stopped = Runs(lake.catalogue.engine).get(run.id)
        assert stopped is not None and stopped.state == "aborted"
        assert lake.catalogue.count("zenodo") < 60

        httpx.put(f"{sandbox.urls['zenodo']}/_sandbox/faults", json=[], timeout=30).raise_for_status()
        dmlake(home, "--config", str(sources), "harvest", "--no-index")
        [resumed] = Runs(lake.catalogue.engine).recent("zenodo", 1)
        assert (resumed.mode, resumed.state) == ("resume", "succeeded")
        assert lake.catalogue.count("zenodo") == 60

        # a remap of the whole source asks the portal nothing and changes nothing (the mapping did not change)
        replica_requests(sandbox, "zenodo", clear=True)
        seq = lake.catalogue.last_seq()
        remapped = dmlake(home, "--config", str(sources), "remap", "zenodo", "--no-index")
        assert "│ zenodo │" in remapped.stdout and "remap" in remapped.stdout
        assert replica_requests(sandbox, "zenodo") == []
        assert lake.catalogue.last_seq() == seq
        [done] = Runs(lake.catalogue.engine).recent("zenodo", 1)
        assert (done.mode, done.state, done.counts.unchanged) == ("remap", "succeeded", 60)
        lake.close()


def test_abort_of_an_unknown_or_ended_run_is_explained(tmp_path: Path) -> None:
    missing = dmlake(tmp_path / "home", "run", "abort", "7", check=False)
    assert missing.returncode == 1 and "no run 7 in the catalogue" in missing.stderr
    lake = Lake.open(tmp_path / "home")
    runs_ = Runs(lake.catalogue.engine)
    run_id = runs_.start("demo", "full")
    from harvester.catalogue import Counts

    runs_.finish(run_id, "succeeded", Counts(), 0, 0, 0, None)
    ended = dmlake(tmp_path / "home", "run", "abort", str(run_id), check=False)
    assert ended.returncode == 1 and "has already ended (succeeded)" in ended.stderr
    lake.close()
