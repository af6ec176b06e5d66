"""Harvest runs: their states, counts and heartbeats, and the rule of at most one live run per source.

States: running → succeeded | failed | aborted; a run whose process died (killed, machine rebooted) is found by its
heartbeat and pid and marked interrupted, and the next run resumes from the checkpoint it left.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, and_, insert, select, update

from harvester.catalogue import Counts, now
from harvester.schema import run_errors, runs

STALE_AFTER = timedelta(minutes=10)
"""A running run on another host whose heartbeat is older than this is presumed dead."""


class SourceBusy(RuntimeError):
    """Another live run is harvesting the source."""


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

    @property
    def duration_seconds(self) -> float | None:
        end = self.finished_at or self.heartbeat_at
        return None if end is None else (end - self.started_at).total_seconds()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Runs:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.host = socket.gethostname()

    def reap_dead(self, source: str) -> list[int]:
        """Mark the source's running runs whose process is gone as interrupted; returns their ids."""
        dead = []
        with self.engine.begin() as conn:
            rows = conn.execute(select(runs).where(and_(runs.c.source == source, runs.c.state == "running")))
            for row in rows:
                same_host = row.host == self.host
                gone = (same_host and (row.pid is None or not _pid_alive(row.pid))) or (
                    not same_host and row.heartbeat_at is not None and now() - _aware(row.heartbeat_at) > STALE_AFTER
                )
                if gone:
                    dead.append(row.id)
            for run_id in dead:
                conn.execute(
                    update(runs)
                    .where(runs.c.id == run_id)
                    .values(state="interrupted", finished_at=now(), message="the harvesting process died")
                )
        return dead

    def start(self, source: str, mode: str) -> int:
        """Open a run; raises `SourceBusy` if a live run holds the source."""
        self.reap_dead(source)
        with self.engine.begin() as conn:
            live = conn.execute(
                select(runs.c.id, runs.c.pid, runs.c.host, runs.c.started_at).where(
                    and_(runs.c.source == source, runs.c.state == "running")
                )
            ).first()
            if live is not None:
                raise SourceBusy(
                    f"source {source!r} is being harvested by run {live.id} (pid {live.pid} on {live.host}, "
                    f"since {live.started_at:%Y-%m-%d %H:%M:%S}); wait for it or abort it"
                )
            stamp = now()
            result = conn.execute(
                insert(runs).values(
                    source=source,
                    state="running",
                    mode=mode,
                    started_at=stamp,
                    heartbeat_at=stamp,
                    host=self.host,
                    pid=os.getpid(),
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
            )
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])

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

    def errors(self, run_id: int) -> list[tuple[str | None, str | None, str]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(run_errors.c.native_id, run_errors.c.url, run_errors.c.message)
                .where(run_errors.c.run_id == run_id)
                .order_by(run_errors.c.id)
            )
            return [(r.native_id, r.url, r.message) for r in rows]


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
    )
