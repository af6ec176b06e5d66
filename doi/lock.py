"""One registrar at a time per catalogue: the lease `doi` in the catalogue's `leases` table (migration 0005).

Two registrars at once could both reserve a row for the same record, or give two versions the same `.vN`; the
unique constraints would refuse the second, but only after it had called DataCite. The lease expires unless renewed
(a killed holder does not block for ever), and a holder on this host whose process is gone is taken over at once.
"""

from __future__ import annotations

import os
import socket
import time
from datetime import UTC, datetime, timedelta
from types import TracebackType

from sqlalchemy import Engine, and_, delete, insert, select, update

from harvester.runs import pid_alive
from harvester.schema import leases

LEASE = "doi"
TTL = timedelta(minutes=10)


class RegistrarBusy(RuntimeError):
    """Another registrar holds the lease; the message says which process and since when."""


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class RegistrarLock:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self._renewed = 0.0

    def acquire(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(leases).where(and_(leases.c.name == LEASE, leases.c.expires_at < _now())))
            holder = conn.execute(select(leases).where(leases.c.name == LEASE)).first()
            if holder is not None:
                if holder.host == self.host and (holder.pid == self.pid or not pid_alive(holder.pid)):
                    conn.execute(delete(leases).where(leases.c.name == LEASE))
                else:
                    raise RegistrarBusy(
                        f"another DOI registrar (pid {holder.pid} on {holder.host}, since "
                        f"{_aware(holder.acquired_at):%Y-%m-%d %H:%M:%S} UTC) is running on this catalogue: wait for "
                        f"it to finish (its lease expires {_aware(holder.expires_at):%H:%M:%S} UTC if it died)"
                    )
            stamp = _now()
            conn.execute(insert(leases).values(name=LEASE, run_id=None, host=self.host, pid=self.pid,
                                               acquired_at=stamp, expires_at=stamp + TTL))  # fmt: skip
        self._renewed = time.monotonic()

    def renew(self) -> None:
        """Push the expiry on; cheap to call often (writes at most once a minute)."""
        if time.monotonic() - self._renewed < 60:
            return
        with self.engine.begin() as conn:
            conn.execute(update(leases).where(and_(leases.c.name == LEASE, leases.c.pid == self.pid))
                         .values(expires_at=_now() + TTL))  # fmt: skip
        self._renewed = time.monotonic()

    def release(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(leases).where(and_(leases.c.name == LEASE, leases.c.pid == self.pid,
                                                   leases.c.host == self.host)))  # fmt: skip

    def __enter__(self) -> RegistrarLock:
        self.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.release()
