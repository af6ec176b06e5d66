"""The scheduler daemon in this process, on second-scale schedules against sandbox replicas: sources of one host
share its limits, run-time settings (set, pause, resume, run-now) apply, a busy source's run waits queued, a timeout
stops a run after its page, and an aborted run stops while the daemon goes on."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from dmlake.lake import Lake
from harvester.catalogue import Counts
from harvester.run_control import abort_run
from harvester.runs import RunRow, Runs
from harvester.scheduler import ScheduleBook, SchedulerDaemon
from harvester.schedules import parse_schedule
from sandbox import build_replicas
from sandbox.faults import FaultPlan
from sandbox.server import RunningSandbox, start


@pytest.fixture
def zenodo() -> Iterator[RunningSandbox]:
    with start(build_replicas(generate=20, seed=3, kinds=["zenodo"])) as running:
        yield running


def source_table(name: str, url: str, *lines: str, limits: str = 'requests_per_minute = "unlimited"') -> str:
    body = "\n".join(lines)
    return (
        f'[sources.{name}]\nkind = "zenodo"\nurl = "{url}"\n{body}\n'
        f"[sources.{name}.options]\npage_size = 5\n[sources.{name}.limits]\n{limits}\n"
    )


def daemon_for(tmp_path: Path, text: str) -> tuple[SchedulerDaemon, Lake]:
    config = tmp_path / "sources.toml"
    config.write_text(text, encoding="utf-8")
    lake = Lake.open(tmp_path / "home")
    daemon = SchedulerDaemon(lake, config, index=False, notify=False, poll_seconds=0.2, stop_grace_seconds=20)
    daemon.start()
    return daemon, lake


def ticking(daemon: SchedulerDaemon, until: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        daemon.tick()
        if until():
            return
        time.sleep(0.2)
    raise AssertionError("timed out")


def ended(lake: Lake, source: str) -> list[RunRow]:
    return [r for r in Runs(lake.catalogue.engine).recent(source, 100) if r.finished_at is not None]


def test_two_sources_of_one_host_share_its_rate_and_count_their_own_requests(
    tmp_path: Path, zenodo: RunningSandbox
) -> None:
    url = zenodo.urls["zenodo"]
    polite = "requests_per_minute = 150\nconcurrency = 1"  # one request every 0.4 s for the host, not per source
    text = source_table("first", url, 'schedule = "every 1h"', limits=polite) + source_table(
        "second", url, 'schedule = "every 1h"', limits=polite
    )
    httpx.delete(f"{url}/_sandbox/requests", timeout=30)
    daemon, lake = daemon_for(tmp_path, text)
    try:
        ticking(daemon, lambda: len(ended(lake, "first")) == 1 and len(ended(lake, "second")) == 1)
    finally:
        daemon.stop()
    [first], [second] = ended(lake, "first"), ended(lake, "second")
    assert first.state == second.state == "succeeded" and first.trigger == "schedule"
    assert first.started_at < second.finished_at and second.started_at < first.finished_at  # at the same time
    arrivals = sorted(e["time"] for e in httpx.get(f"{url}/_sandbox/requests", timeout=30).json())
    assert first.requests + second.requests == len(arrivals)  # each run counted its own requests only
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert min(gaps) >= 0.35, gaps  # the host's one rate, shared by both sources
    lake.close()


def test_run_time_settings_apply_and_a_busy_source_waits_queued(tmp_path: Path, zenodo: RunningSandbox) -> None:
    url = zenodo.urls["zenodo"]
    daemon, lake = daemon_for(tmp_path, source_table("z", url))  # no schedule in the file
    book = ScheduleBook(lake.catalogue.engine)
    try:
        assert daemon.jobs() == {}
        book.request_run("z")
        ticking(daemon, lambda: len(ended(lake, "z")) == 1)
        assert ended(lake, "z")[0].trigger == "run-now"
        assert book.settings()["z"].run_now_at is None

        book.set("z", parse_schedule("every 1s"))
        ticking(daemon, lambda: len(ended(lake, "z")) >= 3)
        book.pause("z")
        daemon.tick()
        assert daemon.jobs() == {"z": None}
        time.sleep(0.5)  # a run may have fired before the pause was seen
        paused_at = len(Runs(lake.catalogue.engine).recent("z", 100))
        time.sleep(2.5)
        assert len(Runs(lake.catalogue.engine).recent("z", 100)) == paused_at

        # someone else holds the source: the scheduled run waits, queued, saying why, and runs when it is free
        manual = Runs(lake.catalogue.engine)
        held = manual.start("z", "incremental")
        book.pause("z", False)
        waiting: list[RunRow] = []

        def queued() -> bool:
            waiting[:] = [r for r in Runs(lake.catalogue.engine).recent("z", 3) if r.state == "queued"]
            return bool(waiting and "waiting for the source's lock" in (waiting[0].message or ""))

        ticking(daemon, queued)
        assert f"run {held}" in (waiting[0].message or "")
        manual.finish(held, "succeeded", Counts(), 0, 0, 0, None)
        ticking(daemon, lambda: Runs(lake.catalogue.engine).get(waiting[0].id).state == "succeeded")  # type: ignore[union-attr]
        done = Runs(lake.catalogue.engine).get(waiting[0].id)
        assert done is not None and done.waited_seconds is not None and done.waited_seconds > 0
    finally:
        daemon.stop()
    runs_of = sorted(Runs(lake.catalogue.engine).recent("z", 100), key=lambda r: r.started_at)
    for earlier, later in itertools.pairwise(runs_of):  # never two at once
        assert earlier.finished_at is not None and earlier.finished_at <= later.started_at
    lake.close()


def test_a_timeout_and_an_abort_stop_a_run_after_its_page(tmp_path: Path, zenodo: RunningSandbox) -> None:
    url = zenodo.urls["zenodo"]
    slow = FaultPlan(kind="slow", slow_seconds=0.5, every=1).to_dict()
    httpx.put(f"{url}/_sandbox/faults", json=[slow], timeout=30).raise_for_status()
    daemon, lake = daemon_for(tmp_path, source_table("z", url, 'timeout = "1s"'))
    book = ScheduleBook(lake.catalogue.engine)
    try:
        book.request_run("z")
        ticking(daemon, lambda: len(ended(lake, "z")) == 1)
        [timed_out] = ended(lake, "z")
        assert timed_out.state == "failed" and "stopped after 1s, the source's timeout" in (timed_out.message or "")
        assert 0 < lake.catalogue.count("z") < 20
        assert timed_out.counts.added == lake.catalogue.count("z")  # what it fetched, it committed

        # without the timeout, a run a data manager aborts stops after its page; the daemon goes on
        (tmp_path / "sources.toml").write_text(source_table("z", url), encoding="utf-8")
        book.request_run("z")
        ticking(
            daemon,
            lambda: any(r.state == "running" and r.pages > 0 for r in Runs(lake.catalogue.engine).recent("z", 1)),
        )
        [running] = Runs(lake.catalogue.engine).recent("z", 1)
        outcome = abort_run(lake.catalogue.engine, running.id, reason="wrong window")
        assert outcome.stopped and not outcome.signalled  # our own process: no signal, the daemon notices
        ticking(daemon, lambda: daemon.active() == {})  # abort_run marked the row at once; the harvest ends after
        aborted = Runs(lake.catalogue.engine).get(running.id)
        assert aborted is not None and aborted.state == "aborted"
        assert (aborted.message or "").startswith("aborted by a data manager: wrong window; the page in hand")
        assert aborted.mode == "resume"
        assert daemon.active() == {}
    finally:
        daemon.stop()
    lake.close()
