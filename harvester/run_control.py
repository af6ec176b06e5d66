"""Stopping a run from outside: `dmlake run abort ID` and the admin API's `POST /admin/runs/{id}/abort`.

The run row is marked `aborted` first, so the stop is recorded whatever happens next and the source is free for
the next run. Then the process holding the run, if it is alive on this host, gets SIGINT: a harvest stops where
it is (the page in hand is not committed; the next run resumes after the last committed page) and a retry or remap
stops between batches. A process on another host cannot be signalled from here; the outcome says so.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from dataclasses import dataclass

from sqlalchemy import Engine, and_, select, update

from harvester.catalogue import now
from harvester.runs import pid_alive
from harvester.schema import leases, runs

ABORTABLE = ("queued", "running")


class RunNotFound(LookupError):
    pass


class RunNotAbortable(ValueError):
    """The run already ended."""


@dataclass(frozen=True)
class AbortOutcome:
    run_id: int
    source: str
    signalled: bool
    """SIGINT was sent to the run's process."""
    stopped: bool
    """The run has stopped: its process is gone (it ended within the wait, or there was none alive), or it let the
    run's lock go and lives on (a scheduler daemon with other runs)."""
    note: str

    def to_json(self) -> dict[str, object]:
        return {
            "run_id": self.run_id,
            "source": self.source,
            "state": "aborted",
            "signalled": self.signalled,
            "stopped": self.stopped,
            "note": self.note,
        }


def abort_run(engine: Engine, run_id: int, *, wait_seconds: float = 10.0, reason: str | None = None) -> AbortOutcome:
    """Mark the run aborted and interrupt its process if it runs on this host; wait for it up to `wait_seconds`."""
    message = f"aborted by a data manager{f': {reason}' if reason else ''}"
    with engine.begin() as conn:
        row = conn.execute(
            select(runs.c.source, runs.c.state, runs.c.host, runs.c.pid).where(runs.c.id == run_id)
        ).first()
        if row is None:
            raise RunNotFound(f"no run {run_id} in the catalogue (`dmlake runs` lists them)")
        if row.state not in ABORTABLE:
            raise RunNotAbortable(f"run {run_id} of {row.source} has already ended ({row.state}); nothing to abort")
        conn.execute(
            update(runs)
            .where(and_(runs.c.id == run_id, runs.c.state.in_(ABORTABLE)))
            .values(state="aborted", finished_at=now(), message=message)
        )
    here = row.host == socket.gethostname()
    if row.pid is None or row.pid == os.getpid():
        return AbortOutcome(run_id, row.source, False, True, "marked aborted (no other process holds the run)")
    if not here:
        return AbortOutcome(
            run_id,
            row.source,
            False,
            False,
            f"marked aborted; its process (pid {row.pid}) runs on {row.host}, which cannot be signalled from here: "
            "stop it there",
        )
    if not pid_alive(row.pid):
        return AbortOutcome(run_id, row.source, False, True, f"marked aborted; its process (pid {row.pid}) was gone")
    try:
        os.kill(row.pid, signal.SIGINT)
    except ProcessLookupError:
        return AbortOutcome(run_id, row.source, False, True, f"marked aborted; its process (pid {row.pid}) was gone")
    except PermissionError:
        return AbortOutcome(
            run_id,
            row.source,
            False,
            False,
            f"marked aborted; its process (pid {row.pid}) belongs to another user and was not signalled",
        )
    deadline = time.monotonic() + wait_seconds
    # A plain harvest ends with its run; a scheduler daemon goes on with its other runs and only lets this one go
    # (it releases the run's lock after committing the page in hand): either means the run has stopped.
    locked = _holds_lock(engine, run_id)  # runs started before locks existed hold none: wait for their process
    while time.monotonic() < deadline and pid_alive(row.pid) and (_holds_lock(engine, run_id) or not locked):
        time.sleep(0.1)
    if pid_alive(row.pid) and (_holds_lock(engine, run_id) or not locked):
        return AbortOutcome(
            run_id,
            row.source,
            True,
            False,
            f"marked aborted and interrupted pid {row.pid}; it was still running after {wait_seconds:g} s "
            "(it stops at the next point it can)",
        )
    # a harvest process ends shortly after its run; a daemon does not
    settle = time.monotonic() + min(SETTLE_SECONDS, max(0.0, deadline - time.monotonic()))
    while time.monotonic() < settle and pid_alive(row.pid):
        time.sleep(0.1)
    if pid_alive(row.pid):
        message = f"marked aborted; the run stopped (pid {row.pid} goes on with its other work)"
        return AbortOutcome(run_id, row.source, True, True, message)
    return AbortOutcome(run_id, row.source, True, True, f"marked aborted; pid {row.pid} interrupted and ended")


SETTLE_SECONDS = 3.0
"""How long to wait, once an aborted run let its lock go, for its process to end, before saying it lives on."""


def _holds_lock(engine: Engine, run_id: int) -> bool:
    """Whether the run still holds a lock (its source's lease): it is running."""
    with engine.connect() as conn:
        return conn.execute(select(leases.c.name).where(leases.c.run_id == run_id)).first() is not None
