"""How many mapping workers a harvest starts: one per usable core beyond the first, bounded, and the override."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harvester import mapping
from harvester.machine import usable_cores
from harvester.mapping import MAP_WORKERS_ENV

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("cores", "workers"), [(1, 0), (2, 1), (3, 2), (5, 4), (64, 4)])
def test_one_worker_per_core_beyond_the_first(monkeypatch: pytest.MonkeyPatch, cores: int, workers: int) -> None:
    monkeypatch.delenv(mapping.MAP_WORKERS_ENV, raising=False)
    monkeypatch.setattr(mapping, "usable_cores", lambda: cores)
    assert mapping.default_workers() == workers
    assert mapping.Mapper().workers == workers


def test_the_environment_sets_the_number(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mapping, "usable_cores", lambda: 2)
    monkeypatch.setenv(mapping.MAP_WORKERS_ENV, "3")
    assert mapping.default_workers() == 3
    monkeypatch.setenv(mapping.MAP_WORKERS_ENV, "0")
    assert mapping.default_workers() == 0
    monkeypatch.setenv(mapping.MAP_WORKERS_ENV, "-2")
    assert mapping.default_workers() == 0


def test_a_setting_that_is_not_a_number_says_what_to_type(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(mapping.MAP_WORKERS_ENV, "two")
    with pytest.raises(ValueError, match=r"DMLAKE_MAP_WORKERS='two' is not a whole number.*0 maps inline"):
        mapping.default_workers()


def test_a_process_narrowed_to_one_core_maps_inline() -> None:
    # as `taskset -c N` or a container's cpuset would narrow it: the cores of the machine no longer count
    one_core = min(os.sched_getaffinity(0))
    script = (
        "import os, sys\n"
        f"os.sched_setaffinity(0, {{{one_core}}})\n"
        "from harvester.machine import usable_cores\n"
        "from harvester.mapping import default_workers\n"
        "print(usable_cores(), default_workers())\n"
    )
    environment = {key: value for key, value in os.environ.items() if key != MAP_WORKERS_ENV}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=environment, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "0"]
    assert usable_cores() == len(os.sched_getaffinity(0))
