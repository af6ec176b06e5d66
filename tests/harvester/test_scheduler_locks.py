"""At most one run of a source at a time: the lock every run takes, its heartbeat, and its expiry when the holder
dies. On SQLite and on PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import delete, insert, select, update

from harvester.catalogue import Catalogue, Counts, now
from harvester.run_control import abort_run
from harvester.runs import RunNotQueued, Runs, SourceBusy
from harvester.schema import leases, runs


def dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    ended = subprocess.Popen(["true"])
    ended.wait()
    return ended.pid


def lease_of(catalogue: Catalogue, source: str) -> object:
    with catalogue.engine.connect() as conn:
        return conn.execute(select(leases).where(leases.c.name == f"source:{source}")).first()


def test_a_second_run_of_a_source_is_refused_until_the_first_ends(catalogue: Catalogue) -> None:
    first = Runs(catalogue.engine)
    run_id = first.start("demo", "full")
    holder = lease_of(catalogue, "demo")
    assert holder is not None and holder.run_id == run_id  # type: ignore[attr-defined]
    with pytest.raises(SourceBusy, match=rf"run {run_id} \(pid \d+ on .*\); wait for it or abort it"):
        Runs(catalogue.engine).start("demo", "full")
    other = Runs(catalogue.engine).start("other", "full")  # another source is not held up
    first.finish(run_id, "succeeded", Counts(), 0, 0, 0, None)
    assert lease_of(catalogue, "demo") is None
    again = Runs(catalogue.engine).start("demo", "incremental")
    assert again != run_id and other not in (run_id, again)


def test_the_lock_of_a_dead_process_on_this_host_is_taken_over_at_once(catalogue: Catalogue) -> None:
    runs_ = Runs(catalogue.engine)
    pid, stamp = dead_pid(), now()
    with catalogue.engine.begin() as conn:
        orphan = conn.execute(
            insert(runs).values(
                source="demo",
                state="running",
                mode="full",
                started_at=stamp,
                heartbeat_at=stamp,
                host=runs_.host,
                pid=pid,
                pages=0,
                added=0,
                updated=0,
                unchanged=0,
                deleted=0,
                errored=0,
                quarantined=0,
                pending_deletions=0,
                requests=0,
                retries=0,
                not_modified=0,
            )
        ).inserted_primary_key[0]
        conn.execute(
            insert(leases).values(
                name="source:demo",
                run_id=orphan,
                host=runs_.host,
                pid=pid,
                acquired_at=stamp,
                expires_at=stamp + timedelta(hours=1),
            )
        )
    run_id = runs_.start("demo", "resume")
    dead = runs_.get(orphan)
    assert dead is not None and dead.state == "interrupted" and "process died" in (dead.message or "")
    assert lease_of(catalogue, "demo").run_id == run_id  # type: ignore[union-attr]


def test_the_lock_of_another_host_holds_until_it_expires(catalogue: Catalogue) -> None:
    elsewhere = Runs(catalogue.engine)
    elsewhere.host = "harvester-2.example.org"
    run_id = elsewhere.start("demo", "full")
    elsewhere._stop_keeper(run_id)  # that host goes silent (its keeper would renew the lease)
    here = Runs(catalogue.engine)
    with pytest.raises(SourceBusy, match=r"harvester-2\.example\.org"):
        here.start("demo", "full")
    # a minute without renewal: the lease expired; the run row's heartbeat is stale too
    with catalogue.engine.begin() as conn:
        conn.execute(update(leases).values(expires_at=now() - timedelta(seconds=1)))
        conn.execute(update(runs).where(runs.c.id == run_id).values(heartbeat_at=now() - timedelta(minutes=3)))
    taken = here.start("demo", "resume")
    gone = here.get(run_id)
    assert gone is not None and gone.state == "interrupted"
    assert lease_of(catalogue, "demo").run_id == taken  # type: ignore[union-attr]


def test_the_keeper_renews_lock_and_heartbeat_and_notices_an_abort(catalogue: Catalogue) -> None:
    runs_ = Runs(catalogue.engine)
    runs_.renew_seconds = 0.1
    run_id = runs_.start("demo", "full")
    first = lease_of(catalogue, "demo").expires_at  # type: ignore[union-attr]
    beat = runs_.get(run_id).heartbeat_at  # type: ignore[union-attr]
    time.sleep(0.5)
    assert lease_of(catalogue, "demo").expires_at > first  # type: ignore[union-attr]
    assert runs_.get(run_id).heartbeat_at > beat  # type: ignore[operator, union-attr]
    assert not runs_.ended_elsewhere(run_id)
    abort_run(catalogue.engine, run_id, reason="wrong window")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not runs_._keepers[run_id].ended_elsewhere.is_set():
        time.sleep(0.05)
    assert runs_.ended_elsewhere(run_id)
    # an aborted run's lock does not hold the source
    Runs(catalogue.engine).start("demo", "resume")


def test_a_queued_run_starts_as_itself_or_not_at_all(catalogue: Catalogue) -> None:
    queued = Runs(catalogue.engine).queue("demo", "schedule")
    row = Runs(catalogue.engine).get(queued)
    assert row is not None and (row.state, row.trigger, row.duration_seconds) == ("queued", "schedule", None)
    time.sleep(0.05)
    adopter = Runs(catalogue.engine, adopt=queued)
    assert adopter.start("demo", "full") == queued
    started = adopter.get(queued)
    assert started is not None and started.state == "running" and started.waited_seconds >= 0.05  # type: ignore[operator]
    adopter.finish(queued, "succeeded", Counts(added=3), 1, 1, 0, None)

    cancelled = Runs(catalogue.engine).queue("demo", "run-now")
    abort_run(catalogue.engine, cancelled)
    with pytest.raises(RunNotQueued, match=f"run {cancelled} of demo is no longer queued"):
        Runs(catalogue.engine, adopt=cancelled).start("demo", "full")
    assert lease_of(catalogue, "demo") is None


def test_abort_of_a_daemons_run_returns_once_the_run_lets_its_lock_go(catalogue: Catalogue) -> None:
    """A scheduler daemon takes the abort's SIGINT for that run only and goes on: `abort_run` waits for the run to
    release its lock, not for the daemon to exit."""
    daemon = subprocess.Popen(
        [sys.executable, "-c", "import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); time.sleep(60)"]
    )
    try:
        time.sleep(0.3)  # the SIGINT handler is in place
        holder = Runs(catalogue.engine)
        run_id = holder.start("demo", "full")
        with catalogue.engine.begin() as conn:  # the run belongs to the daemon process
            conn.execute(update(runs).where(runs.c.id == run_id).values(pid=daemon.pid))
            conn.execute(update(leases).where(leases.c.run_id == run_id).values(pid=daemon.pid))

        def release_after_its_page() -> None:
            time.sleep(1.0)
            with catalogue.engine.begin() as conn:
                conn.execute(delete(leases).where(leases.c.run_id == run_id))

        releaser = threading.Thread(target=release_after_its_page)
        releaser.start()
        started = time.monotonic()
        outcome = abort_run(catalogue.engine, run_id, reason="wrong window", wait_seconds=20)
        releaser.join()
        assert outcome.signalled and outcome.stopped, outcome
        assert "goes on" in outcome.note and time.monotonic() - started < 10
        assert daemon.poll() is None  # the daemon lives on
    finally:
        daemon.kill()
        daemon.wait()


def test_a_keeper_that_cannot_renew_past_its_lease_gives_the_run_up(
    catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unreachable database for longer than the lease: another process may take the source over, so the keeper
    stops renewing and marks the run ended elsewhere (a scheduler then stops it) instead of retrying for ever."""
    holder = Runs(catalogue.engine)
    holder.renew_seconds, holder.lease_seconds = 0.05, 0.3
    run_id = holder.start("demo", "full")

    def unreachable(self: Runs, run_id: int, lease: str) -> bool:
        raise OSError("connection refused")

    monkeypatch.setattr(Runs, "renew", unreachable)
    keeper = holder._keepers[run_id]
    keeper._thread.join(5)
    assert not keeper._thread.is_alive()
    assert holder.ended_elsewhere(run_id)
