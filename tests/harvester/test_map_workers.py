"""How many mapping workers a harvest starts: one per usable core beyond the first, bounded, and the override."""

from __future__ import annotations

import os

import pytest

from harvester import mapping
from harvester.machine import usable_cores


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


def test_usable_cores_follow_the_affinity() -> None:
    assert usable_cores() == len(os.sched_getaffinity(0)) >= 1
