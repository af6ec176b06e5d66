"""The service's bound on concurrent searches (`dmlake.search_slots`): first come first served, never more than the
bound at once, the same answers as without it, and its settings read with errors that say what to type."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from lakes import generated_lake
from rich.console import Console
from typer.testing import CliRunner

from dmlake.lake import Lake
from dmlake.search_slots import (
    SEARCH_THREADS_ENV,
    SearchSlots,
    configured_search_threads,
    default_search_threads,
)
from harvester.cli import app
from harvester.machine import usable_cores
from indexer.query import Query, SearchResult


def wait_until(condition: object, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def test_a_freed_slot_goes_to_the_longest_waiting_search() -> None:
    slots = SearchSlots(1)  # one slot: the order searches enter in is the order the slot was handed on
    slots.acquire()
    entered: list[int] = []

    def search(number: int) -> None:
        with slots:
            entered.append(number)

    waiters = []
    for number in range(6):
        waiter = threading.Thread(target=search, args=(number,))
        waiter.start()
        wait_until(lambda n=number: slots.waiting == n + 1)  # queued before the next one arrives
        waiters.append(waiter)
    slots.release()
    for waiter in waiters:
        waiter.join(timeout=10)
    assert entered == list(range(6))
    assert slots.waiting == 0


def test_no_more_searches_run_at_once_than_the_slots() -> None:
    slots, lock = SearchSlots(3), threading.Lock()
    running, most = 0, 0

    def search() -> None:
        nonlocal running, most
        with slots:
            with lock:
                running += 1
                most = max(most, running)
            time.sleep(0.002)
            with lock:
                running -= 1

    threads = [threading.Thread(target=lambda: [search() for _ in range(20)]) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert 1 <= most <= 3
    assert running == 0 and slots.waiting == 0
    # every slot came back: three can be taken again without waiting
    for _ in range(3):
        slots.acquire()
    assert slots.waiting == 0


def test_a_slot_is_given_back_when_the_search_fails() -> None:
    slots = SearchSlots(1)
    with pytest.raises(RuntimeError), slots:
        raise RuntimeError("the query failed")
    done = threading.Event()
    threading.Thread(target=lambda: (slots.acquire(), done.set())).start()
    assert done.wait(5)


def test_slots_must_be_at_least_one() -> None:
    with pytest.raises(ValueError, match="1 or more"):
        SearchSlots(0)


def test_the_default_is_elasticsearchs_search_pool_for_the_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SEARCH_THREADS_ENV, raising=False)
    assert default_search_threads() == usable_cores() * 3 // 2 + 1
    assert configured_search_threads() == default_search_threads()
    monkeypatch.setattr("dmlake.search_slots.usable_cores", lambda: 2)
    assert configured_search_threads() == 4


def test_the_bound_is_read_from_the_option_then_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SEARCH_THREADS_ENV, "6")
    assert configured_search_threads() == 6
    assert configured_search_threads(3) == 3  # the option wins
    monkeypatch.setenv(SEARCH_THREADS_ENV, "0")
    assert configured_search_threads() == 0
    monkeypatch.setenv(SEARCH_THREADS_ENV, "four")
    with pytest.raises(ValueError, match=r"DMLAKE_SEARCH_THREADS='four' is not a whole number"):
        configured_search_threads()
    with pytest.raises(ValueError, match=r"--search-threads is -1; it takes 0 \(no bound\) or more"):
        configured_search_threads(-1)


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lake]:
    with generated_lake(tmp_path_factory.mktemp("slots-home"), 300, seed=5) as the_lake:
        yield the_lake


def summary(result: SearchResult) -> tuple[int, list[str], dict[str, list[tuple[str, int]]]]:
    return (
        result.total,
        [hit.id for hit in result.hits],
        {name: [(value.value, value.count) for value in values] for name, values in result.facets.items()},
    )


def test_bounded_searches_answer_as_unbounded_ones(lake: Lake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DMLAKE_ES_URL", raising=False)
    queries = [
        Query.parse("muon", facets=["experiment"]),
        Query.parse("", filters=["year=2010..2016"], facets=["year_histogram"]),
        Query.parse("dark matter", sort="-issued", size=5),
    ]
    lake.search_slots = None
    expected = [summary(lake.search(query)) for query in queries]
    try:
        assert lake.bound_searches(2) == 2 and lake.search_slots is not None
        answers: list[list[object]] = []

        def search_all() -> None:
            answers.append([summary(lake.search(query)) for query in queries])

        threads = [threading.Thread(target=search_all) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert answers == [expected] * 6
        assert lake.search_slots.waiting == 0
    finally:
        lake.search_slots = None


def test_no_slots_for_elasticsearch_or_a_zero_bound(lake: Lake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DMLAKE_ES_URL", "http://127.0.0.1:9")  # read only: nothing connects to it here
    assert lake.bound_searches(4) == 0 and lake.search_slots is None  # the cluster bounds its own search threads
    monkeypatch.delenv("DMLAKE_ES_URL")
    assert lake.bound_searches(0) == 0 and lake.search_slots is None


def test_serve_refuses_a_bad_bound_before_starting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["--home", str(tmp_path / "home"), "serve", "--search-threads", "-2"])
    assert result.exit_code == 1
    assert "--search-threads is -2; it takes 0 (no bound) or more" in result.output
    monkeypatch.setenv(SEARCH_THREADS_ENV, "many")
    result = runner.invoke(app, ["--home", str(tmp_path / "home"), "serve"])
    assert result.exit_code == 1
    assert "DMLAKE_SEARCH_THREADS='many' is not a whole number" in result.output


def test_the_load_benchmark_reads_the_bounds_to_compare() -> None:
    from argparse import ArgumentTypeError

    from bench.search_load import _search_threads_list

    assert _search_threads_list("4,0") == [4, 0]
    assert _search_threads_list("default, 2") == [None, 2]
    with pytest.raises(ArgumentTypeError, match="'-1' is no search-thread count"):
        _search_threads_list("-1")


def test_each_in_process_invocation_opens_its_own_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI keeps its lake for the invocation: a second invocation in the same process (as here, or a program
    embedding the app) must not go on with the first one's home."""
    monkeypatch.delenv(SEARCH_THREADS_ENV, raising=False)
    monkeypatch.setattr("harvester.cli.out", Console(width=300))  # a wide terminal: Rich folds nothing
    runner = CliRunner()
    first = runner.invoke(app, ["--home", str(tmp_path / "first"), "serve", "--search-threads", "-1"])
    assert first.exit_code == 1
    second_home = tmp_path / "second"
    second_home.mkdir()
    (second_home / "sources.toml").write_text(
        '[sources.only_in_the_second_home]\nkind = "zenodo"\nurl = "http://127.0.0.1:9/"\n', encoding="utf-8"
    )
    listed = runner.invoke(app, ["--home", str(second_home), "sources"])
    assert listed.exit_code == 0, listed.output
    assert "only_in_the_second_home" in listed.output
