"""Harvest runs: their states, counts and heartbeats, and the rule of at most one run of a source at a time.

States: queued (a scheduled run waiting for its source's lock or a worker) → running → succeeded | failed | aborted;
a run whose process died (killed, machine rebooted) is found by its pid (same host) or its stale heartbeat (another
host) and marked interrupted, and the next run resumes from the checkpoint it left.

The lock: starting a run takes the lease `source:NAME` in the `leases` table, in the transaction that opens the
run, so two processes (or hosts, or a scheduler and a `dmlake harvest`) can never both start one. While the run
lives a keeper thread renews the lease and the run's heartbeat every `RENEW_SECONDS`, whether pages are coming or
not (a slow portal is not a dead harvester). The lease is released when the run ends; if its holder dies, the next
start takes it over: at once when the holder was on this host and its pid is gone, else once it expired
(`LEASE_SECONDS` after the last renewal), or when its run already ended (aborted by a data manager).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from harvester.catalogue import Counts, now
from harvester.schema import leases, run_errors, runs

log = logging.getLogger(__name__)

LEASE_SECONDS = 60.0
"""A lock not renewed for this long is free: its holder is dead or hung."""
RENEW_SECONDS = 10.0
"""How often a live run renews its lock and heartbeat."""
STALE_AFTER = timedelta(minutes=2)
"""A running run on another host whose heartbeat is older than this is presumed dead (twelve missed renewals)."""
LIVE_STATES = ("queued", "running")
ENDED_STATES = ("succeeded", "failed", "aborted", "interrupted")


class SourceBusy(RuntimeError):
    """Another live run is harvesting the source."""


class RunNotQueued(RuntimeError):
    """The queued run to be started is no longer queued (aborted meanwhile, or found dead)."""


@dataclass(frozen=True)
class RunRow:
    id: int
    source: str
    state: str
    mode: str
    started_at: datetime
    finished_at: datetime | None
    heartbeat_at: datetime | None
    host: str | None
    pid: int | None
    pages: int
    counts: Counts
    requests: int
    retries: int
    message: str | None
    not_modified: int = 0
    """Conditional GETs the servers answered 304 (Not Modified): records confirmed current without a download."""
    queued_at: datetime | None = None
    """When the scheduler queued the run (None: started at once, by hand)."""
    trigger: str | None = None
    """`schedule` or `run-now` for the scheduler's runs; None for runs started by hand."""

    @property
    def duration_seconds(self) -> float | None:
        if self.state == "queued":
            return None
        end = self.finished_at or self.heartbeat_at
        return None if end is None else (end - self.started_at).total_seconds()

    @property
    def waited_seconds(self) -> float | None:
        """How long the run waited in the queue (for its source's lock or a worker) before it started."""
        if self.queued_at is None:
            return None
        end = self.started_at if self.state != "queued" else (self.finished_at or now())
        return max(0.0, (end - self.queued_at).total_seconds())


def pid_alive(pid: int) -> bool:
    """Whether a process of this host is running (a zombie is not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie (ended, not yet reaped by its parent) is not running
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return True


def source_lease(source: str) -> str:
    return f"source:{source}"


class _Keeper:
    """Renews one run's lock and heartbeat on a daemon thread until the run ends here or elsewhere."""

    def __init__(self, runs: Runs, run_id: int, lease: str) -> None:
        self.runs, self.run_id, self.lease = runs, run_id, lease
        self.done = threading.Event()
        self.ended_elsewhere = threading.Event()
        """Set when the run row is no longer running although this process did not end it (`dmlake run abort`)."""
        self._thread = threading.Thread(target=self._loop, name=f"run-{run_id}-keeper", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        renewed = time.monotonic()
        while not self.done.wait(self.runs.renew_seconds):
            try:
                alive = self.runs.renew(self.run_id, self.lease)
            except Exception as error:  # a busy or unreachable database: try again at the next beat
                if time.monotonic() - renewed < self.runs.lease_seconds:
                    log.warning("run %d: could not renew its lock and heartbeat: %s", self.run_id, error)
                    continue
                # The lease has expired by now and another process may take the source over: stop renewing (a
                # scheduler stops the run; see `Runs.ended_elsewhere`).
                log.error(
                    "run %d: its lock could not be renewed for %.0f s (%s); another process may now take %s over",
                    self.run_id, time.monotonic() - renewed, error, self.lease,
                )  # fmt: skip
                self.ended_elsewhere.set()
                return
            renewed = time.monotonic()
            if not alive:
                self.ended_elsewhere.set()
                return

    def stop(self) -> None:
        self.done.set()


class Runs:
    """Run rows of one catalogue. `adopt`: the queued run (`queue`) that `start` turns into the running one."""

    def __init__(self, engine: Engine, *, adopt: int | None = None) -> None:
        self.engine = engine
        self.host = socket.gethostname()
        self.adopt = adopt
        self.lease_seconds = LEASE_SECONDS
        self.renew_seconds = RENEW_SECONDS
        self._keepers: dict[int, _Keeper] = {}

    # -- finding the dead ------------------------------------------------------------------------------------
    def reap_dead(self, source: str | None = None) -> list[int]:
        """Mark the live runs (of `source`, or of every source) whose process is gone as interrupted; returns them."""
        dead: list[tuple[int, str]] = []
        query = select(runs).where(runs.c.state.in_(LIVE_STATES))
        if source is not None:
            query = query.where(runs.c.source == source)
        with self.engine.begin() as conn:
            for row in conn.execute(query):
                same_host = row.host == self.host
                gone = (same_host and (row.pid is None or not pid_alive(row.pid))) or (
                    not same_host and row.heartbeat_at is not None and now() - _aware(row.heartbeat_at) > STALE_AFTER
                )
                if gone:
                    dead.append((row.id, row.state))
            for run_id, state in dead:
                message = (
                    "the harvesting process died; the next run resumes from the checkpoint it left"
                    if state == "running"
                    else "the scheduler holding this queued run died before it started"
                )
                conn.execute(
                    update(runs)
                    .where(and_(runs.c.id == run_id, runs.c.state.in_(LIVE_STATES)))
                    .values(state="interrupted", finished_at=now(), message=message)
                )
                conn.execute(delete(leases).where(leases.c.run_id == run_id))
        return [run_id for run_id, _ in dead]

    # -- opening a run ---------------------------------------------------------------------------------------
    def queue(self, source: str, trigger: str, message: str | None = None) -> int:
        """Record a run that waits for its source's lock or a worker (the scheduler's); `start` it with
        `Runs(engine, adopt=run_id)`, or end it with `end_if_live`."""
        stamp = now()
        with self.engine.begin() as conn:
            result = conn.execute(
                insert(runs).values(
                    source=source,
                    state="queued",
                    mode="queued",
                    started_at=stamp,
                    queued_at=stamp,
                    heartbeat_at=stamp,
                    host=self.host,
                    pid=os.getpid(),
                    trigger=trigger,
                    message=message,
                    **_zero_values(),
                )
            )
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])

    def start(self, source: str, mode: str) -> int:
        """Open a run (or start the adopted queued one) holding the source's lock; raises `SourceBusy` if a live
        run holds it, `RunNotQueued` if the adopted run was ended meanwhile."""
        self.reap_dead(source)
        lease = source_lease(source)
        with self.engine.begin() as conn:
            # a write first: on SQLite it takes the write lock before anything is read, so two starters queue up
            # here instead of both reading "free" and one failing on a stale snapshot
            conn.execute(delete(leases).where(and_(leases.c.name == lease, leases.c.expires_at < now())))
            holder = conn.execute(select(leases).where(leases.c.name == lease)).first()
            if holder is not None:
                if not self._lease_is_free(conn, holder):
                    raise SourceBusy(self._busy_message(conn, source, holder.run_id, holder.pid, holder.host))
                conn.execute(delete(leases).where(leases.c.name == lease))
            # runs opened before locks existed (or by an older dmlake) still count
            live = conn.execute(
                select(runs.c.id, runs.c.pid, runs.c.host).where(
                    and_(runs.c.source == source, runs.c.state == "running")
                )
            ).first()
            if live is not None:
                raise SourceBusy(self._busy_message(conn, source, live.id, live.pid, live.host))
            stamp = now()
            if self.adopt is not None:
                run_id = self.adopt
                started = conn.execute(
                    update(runs)
                    .where(and_(runs.c.id == run_id, runs.c.state == "queued"))
                    .values(state="running", mode=mode, started_at=stamp, heartbeat_at=stamp, pid=os.getpid())
                )
                if started.rowcount != 1:
                    ended = conn.execute(select(runs.c.state, runs.c.message).where(runs.c.id == run_id)).first()
                    raise RunNotQueued(
                        f"run {run_id} of {source} is no longer queued"
                        + (f" ({ended.state}: {ended.message})" if ended is not None else "")
                    )
                self.adopt = None  # a Runs adopts one run once
            else:
                result = conn.execute(
                    insert(runs).values(
                        source=source,
                        state="running",
                        mode=mode,
                        started_at=stamp,
                        heartbeat_at=stamp,
                        host=self.host,
                        pid=os.getpid(),
                        **_zero_values(),
                    )
                )
                key = result.inserted_primary_key
                assert key is not None
                run_id = int(key[0])
            try:
                # in a savepoint: on PostgreSQL a failed statement would otherwise end the whole transaction
                with conn.begin_nested():
                    conn.execute(
                        insert(leases).values(
                            name=lease,
                            run_id=run_id,
                            host=self.host,
                            pid=os.getpid(),
                            acquired_at=stamp,
                            expires_at=stamp + timedelta(seconds=self.lease_seconds),
                        )
                    )
            except IntegrityError:  # another process took the lock between our look and our insert
                raise SourceBusy(
                    f"source {source!r} was just started by another process; wait for that run or abort it"
                ) from None
        self._keepers[run_id] = _Keeper(self, run_id, lease)
        return run_id

    def _lease_is_free(self, conn: Connection, holder: Any) -> bool:
        if _aware(holder.expires_at) < now():
            return True
        if holder.host == self.host and not pid_alive(holder.pid):
            return True
        if holder.run_id is not None:
            state = conn.execute(select(runs.c.state).where(runs.c.id == holder.run_id)).scalar()
            return state not in LIVE_STATES
        return False

    def _busy_message(
        self, conn: Connection, source: str, run_id: int | None, pid: int | None, host: str | None
    ) -> str:
        since = conn.execute(select(runs.c.started_at).where(runs.c.id == run_id)).scalar() if run_id else None
        when = f", since {_aware(since):%Y-%m-%d %H:%M:%S} UTC" if since is not None else ""
        return (
            f"source {source!r} is being harvested by run {run_id} (pid {pid} on {host}{when}); wait for it or abort "
            f"it (`dmlake run abort {run_id}`)"
        )

    # -- while it runs ---------------------------------------------------------------------------------------
    def renew(self, run_id: int, lease: str) -> bool:
        """Heartbeat: extend the run's lock and stamp its row. False when the run no longer runs (ended elsewhere)."""
        stamp = now()
        with self.engine.begin() as conn:
            beat = conn.execute(
                update(runs).where(and_(runs.c.id == run_id, runs.c.state == "running")).values(heartbeat_at=stamp)
            )
            if beat.rowcount != 1:
                return False
            conn.execute(
                update(leases)
                .where(and_(leases.c.name == lease, leases.c.run_id == run_id))
                .values(expires_at=stamp + timedelta(seconds=self.lease_seconds))
            )
        return True

    def ended_elsewhere(self, run_id: int) -> bool:
        """Whether the run's row stopped being live without this process ending it (`dmlake run abort`)."""
        keeper = self._keepers.get(run_id)
        if keeper is not None and keeper.ended_elsewhere.is_set():
            return True
        with self.engine.connect() as conn:
            state = conn.execute(select(runs.c.state).where(runs.c.id == run_id)).scalar()
        return state is not None and state not in LIVE_STATES

    def progress(
        self, run_id: int, counts: Counts, pages: int, requests: int, retries: int, not_modified: int = 0
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(runs)
                .where(runs.c.id == run_id)
                .values(
                    heartbeat_at=now(),
                    pages=pages,
                    requests=requests,
                    retries=retries,
                    not_modified=not_modified,
                    **_count_values(counts),
                )
            )

    # -- ending ----------------------------------------------------------------------------------------------
    def finish(
        self,
        run_id: int,
        state: str,
        counts: Counts,
        pages: int,
        requests: int,
        retries: int,
        message: str | None,
        not_modified: int = 0,
    ) -> None:
        self._stop_keeper(run_id)
        with self.engine.begin() as conn:
            conn.execute(
                update(runs)
                .where(runs.c.id == run_id)
                .values(
                    state=state,
                    finished_at=now(),
                    heartbeat_at=now(),
                    pages=pages,
                    requests=requests,
                    retries=retries,
                    not_modified=not_modified,
                    message=message,
                    **_count_values(counts),
                )
            )
            conn.execute(delete(leases).where(leases.c.run_id == run_id))

    def end_if_live(self, run_id: int, state: str, message: str) -> bool:
        """End a run still queued or running (one whose harvest raised before it could end it, or a queued run that
        never started) and free its lock. False when it had already ended."""
        self._stop_keeper(run_id)
        with self.engine.begin() as conn:
            ended = conn.execute(
                update(runs)
                .where(and_(runs.c.id == run_id, runs.c.state.in_(LIVE_STATES)))
                .values(state=state, finished_at=now(), message=message)
            )
            conn.execute(delete(leases).where(leases.c.run_id == run_id))
        return ended.rowcount == 1

    def note(self, run_id: int, message: str) -> None:
        """Say on a live run's row what it is waiting for (a queued run's source is busy)."""
        with self.engine.begin() as conn:
            conn.execute(
                update(runs)
                .where(and_(runs.c.id == run_id, runs.c.state.in_(LIVE_STATES)))
                .values(message=message, heartbeat_at=now())
            )

    def _stop_keeper(self, run_id: int) -> None:
        keeper = self._keepers.pop(run_id, None)
        if keeper is not None:
            keeper.stop()

    # -- reading ---------------------------------------------------------------------------------------------
    def get(self, run_id: int) -> RunRow | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(runs).where(runs.c.id == run_id)).first()
        return None if row is None else _run_row(row)

    def recent(self, source: str | None = None, limit: int = 50) -> list[RunRow]:
        query = select(runs).order_by(runs.c.id.desc()).limit(limit)
        if source:
            query = query.where(runs.c.source == source)
        with self.engine.connect() as conn:
            return [_run_row(row) for row in conn.execute(query)]

    def last(self, sources: list[str]) -> dict[str, RunRow]:
        """The newest run of each of these sources."""
        if not sources:
            return {}
        newest = select(runs.c.source, func.max(runs.c.id).label("id")).where(runs.c.source.in_(sources))
        ids = newest.group_by(runs.c.source).subquery()
        with self.engine.connect() as conn:
            rows = conn.execute(select(runs).join(ids, runs.c.id == ids.c.id))
            return {row.source: _run_row(row) for row in rows}

    def errors(self, run_id: int) -> list[tuple[str | None, str | None, str]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(run_errors.c.native_id, run_errors.c.url, run_errors.c.message)
                .where(run_errors.c.run_id == run_id)
                .order_by(run_errors.c.id)
            )
            return [(r.native_id, r.url, r.message) for r in rows]


def _zero_values() -> dict[str, int]:
    return {
        "pages": 0,
        "requests": 0,
        "retries": 0,
        "not_modified": 0,
        **{name: 0 for name in Counts.__dataclass_fields__},
    }


def _count_values(counts: Counts) -> dict[str, int]:
    return {name: getattr(counts, name) for name in Counts.__dataclass_fields__}


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes for timezone-aware columns; every stamp we write is UTC
    return value if value.tzinfo else value.replace(tzinfo=now().tzinfo)


def _run_row(row: object) -> RunRow:
    r = row._mapping  # type: ignore[attr-defined]
    counts = Counts(**{name: r[name] for name in Counts.__dataclass_fields__})
    return RunRow(
        id=r["id"],
        source=r["source"],
        state=r["state"],
        mode=r["mode"],
        started_at=_aware(r["started_at"]),
        finished_at=_aware(r["finished_at"]) if r["finished_at"] else None,
        heartbeat_at=_aware(r["heartbeat_at"]) if r["heartbeat_at"] else None,
        host=r["host"],
        pid=r["pid"],
        pages=r["pages"],
        counts=counts,
        requests=r["requests"],
        retries=r["retries"],
        message=r["message"],
        not_modified=r["not_modified"] or 0,
        queued_at=_aware(r["queued_at"]) if r["queued_at"] else None,
        trigger=r["trigger"],
    )
