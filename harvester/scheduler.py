"""The scheduler: `dmlake scheduler run`, a foreground daemon that harvests each source on its schedule.

What data managers decide lives in two places: the sources file (`schedule = "every 6h"` or cron, `timeout`, and
`[scheduler]` misfire grace, coalescing and workers) and the `schedules` table, written by `dmlake schedule
set|clear|pause|resume|run-now` (a schedule set there wins over the file's until cleared). The daemon reads both
every `POLL_SECONDS` and keeps one APScheduler job per scheduled source in APScheduler's SQLAlchemy job store, in the
catalogue database itself (`apscheduler_jobs`): the next run times survive a restart or a `kill -9`, and a run whose
time passed while the daemon was down still starts if it is within the misfire grace (several missed ones coalesce
into one).

When a job fires, the run is recorded as `queued` and handed to a worker. It starts when it gets its source's lock
(`harvester.runs`: a lease renewed by the run's heartbeat, taken over when its holder dies), so a source never has
two runs at once, whoever started the other one; a source still busy after the misfire grace gives the queued run
up. All runs share one HTTP client, so sources on the same host share its politeness limits (the strictest source's
rate and concurrency), while each run counts its own requests.

SIGTERM or SIGINT stops the daemon: running harvests commit the page in hand with its checkpoint and end
`interrupted`, queued runs end without starting, and the next start resumes them. `dmlake run abort ID` of a run the
daemon holds sends it SIGINT too: that stops only the aborted run (its row, marked aborted first, tells them apart).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from apscheduler.executors.pool import ThreadPoolExecutor as JobExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Column, Engine, Float, MetaData, Table, Unicode, and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from connectors import registry
from connectors.base import Connector, Limits
from connectors.http import HttpClient
from harvester.catalogue import now
from harvester.config import ConfigError, Source, SourcesConfig
from harvester.harvest import Harvester, StopRequest
from harvester.mapping import Mapper
from harvester.runs import LEASE_SECONDS, RunNotQueued, RunRow, Runs, SourceBusy, _aware, pid_alive
from harvester.schedules import Schedule, format_duration, parse_schedule
from harvester.schema import leases, runs, schedules

if TYPE_CHECKING:
    from dmlake.lake import Lake

log = logging.getLogger(__name__)

JOBSTORE_TABLE = "apscheduler_jobs"
DAEMON_LEASE = "scheduler"
POLL_SECONDS = 2.0
"""How often the daemon reads the sources file and the schedules table, renews its lease and checks its runs."""
REAP_SECONDS = 30.0
"""How often the daemon looks for runs whose process died (and at start)."""
STOP_GRACE_SECONDS = 30.0
"""How long a stopping daemon waits for running harvests to commit the page in hand."""
ABORT_SIGNAL_WINDOW = timedelta(seconds=60)
"""A SIGINT this soon after `dmlake run abort` marked one of the daemon's runs aborted is that abort's signal."""


_jobs = Table(JOBSTORE_TABLE, MetaData(), Column("id", Unicode(191)), Column("next_run_time", Float(25)))
"""The columns of APScheduler's job table that `dmlake schedule list` reads (APScheduler creates the table)."""


class SchedulerBusy(RuntimeError):
    """Another scheduler daemon runs on this catalogue."""


class UnknownSource(LookupError):
    """A schedule command named a source the sources file does not have."""


# -- what data managers set at run time ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Setting:
    """A row of the `schedules` table."""

    source: str
    schedule: str | None
    paused: bool
    run_now_at: datetime | None


class ScheduleBook:
    """The `schedules` table: schedules set at run time, pauses and run-now requests. The daemon applies them."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def settings(self) -> dict[str, Setting]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(schedules))
            return {
                r.source: Setting(r.source, r.schedule, bool(r.paused), _aware(r.run_now_at) if r.run_now_at else None)
                for r in rows
            }

    def _write(self, source: str, **values: Any) -> None:
        stamp = now()
        with self.engine.begin() as conn:
            changed = conn.execute(
                update(schedules).where(schedules.c.source == source).values(updated_at=stamp, **values)
            )
            if changed.rowcount == 0:
                try:
                    with conn.begin_nested():
                        conn.execute(insert(schedules).values(source=source, updated_at=stamp, **values))
                except IntegrityError:  # written meanwhile by another command: update that row
                    conn.execute(
                        update(schedules).where(schedules.c.source == source).values(updated_at=stamp, **values)
                    )

    def set(self, source: str, schedule: Schedule) -> None:
        self._write(source, schedule=schedule.text)

    def clear(self, source: str) -> None:
        self._write(source, schedule=None)

    def pause(self, source: str, paused: bool = True) -> None:
        self._write(source, paused=paused)

    def request_run(self, source: str) -> None:
        self._write(source, run_now_at=now())

    def run_requested(self, source: str, at: datetime) -> None:
        """The run asked for at `at` was started: forget the request (not a newer one)."""
        with self.engine.begin() as conn:
            conn.execute(
                update(schedules)
                .where(and_(schedules.c.source == source, schedules.c.run_now_at <= at))
                .values(run_now_at=None)
            )


# -- the daemon's own lease ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DaemonInfo:
    host: str
    pid: int
    since: datetime
    renewed_until: datetime


def running_daemon(engine: Engine) -> DaemonInfo | None:
    """The scheduler daemon holding this catalogue, if one is alive (by its lease)."""
    with engine.connect() as conn:
        row = conn.execute(select(leases).where(leases.c.name == DAEMON_LEASE)).first()
    if row is None or _lease_dead(row):
        return None
    return DaemonInfo(row.host, row.pid, _aware(row.acquired_at), _aware(row.expires_at))


def _lease_dead(row: Any) -> bool:
    return _aware(row.expires_at) < now() or (row.host == socket.gethostname() and not pid_alive(row.pid))


def _take_daemon_lease(engine: Engine) -> None:
    stamp = now()
    with engine.begin() as conn:
        conn.execute(delete(leases).where(and_(leases.c.name == DAEMON_LEASE, leases.c.expires_at < stamp)))
        row = conn.execute(select(leases).where(leases.c.name == DAEMON_LEASE)).first()
        if row is not None:
            if not _lease_dead(row):
                raise SchedulerBusy(
                    f"a scheduler already runs on this catalogue (pid {row.pid} on {row.host}, since "
                    f"{_aware(row.acquired_at):%Y-%m-%d %H:%M:%S} UTC); stop it first (SIGTERM), one is enough"
                )
            conn.execute(delete(leases).where(leases.c.name == DAEMON_LEASE))
        try:
            with conn.begin_nested():
                conn.execute(
                    insert(leases).values(
                        name=DAEMON_LEASE,
                        host=socket.gethostname(),
                        pid=os.getpid(),
                        acquired_at=stamp,
                        expires_at=stamp + timedelta(seconds=LEASE_SECONDS),
                    )
                )
        except IntegrityError:
            raise SchedulerBusy("another scheduler started on this catalogue just now; one is enough") from None


def _renew_daemon_lease(engine: Engine) -> bool:
    with engine.begin() as conn:
        renewed = conn.execute(
            update(leases)
            .where(and_(leases.c.name == DAEMON_LEASE, leases.c.pid == os.getpid()))
            .values(expires_at=now() + timedelta(seconds=LEASE_SECONDS))
        )
    return renewed.rowcount == 1


def _release_daemon_lease(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            delete(leases).where(
                and_(leases.c.name == DAEMON_LEASE, leases.c.pid == os.getpid(), leases.c.host == socket.gethostname())
            )
        )


# -- what `dmlake schedule list` shows ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Planned:
    source: str
    schedule: str | None
    """The schedule in force (None: the source is not scheduled)."""
    origin: str | None
    """`set` (at run time, `dmlake schedule set`) or `config` (the sources file)."""
    configured: str | None
    """The sources file's schedule, even when a run-time one wins over it."""
    paused: bool
    enabled: bool
    next_run: datetime | None
    """From the daemon's job store; None when paused, not scheduled, or the daemon never planned it yet."""
    last_run: RunRow | None
    timeout_seconds: float | None
    run_now_requested: datetime | None

    def to_json(self) -> dict[str, Any]:
        last = self.last_run
        return {
            "source": self.source,
            "schedule": self.schedule,
            "origin": self.origin,
            "configured": self.configured,
            "paused": self.paused,
            "enabled": self.enabled,
            "next_run": self.next_run.isoformat() if self.next_run else None,
            "last_run": None
            if last is None
            else {
                "id": last.id,
                "state": last.state,
                "trigger": last.trigger,
                "started_at": last.started_at.isoformat(),
                "finished_at": last.finished_at.isoformat() if last.finished_at else None,
            },
            "timeout_seconds": self.timeout_seconds,
            "run_now_requested": self.run_now_requested.isoformat() if self.run_now_requested else None,
        }


def stored_next_runs(engine: Engine) -> dict[str, datetime | None]:
    """Each job's next run time in the job store (None: paused); empty when no daemon ever ran here."""
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(_jobs.c.id, _jobs.c.next_run_time))
            return {r.id: datetime.fromtimestamp(r.next_run_time, UTC) if r.next_run_time else None for r in rows}
    except SQLAlchemyError:
        return {}


def effective(source: Source, setting: Setting | None) -> tuple[str | None, str | None]:
    """The schedule in force and where it comes from: a run-time setting wins over the sources file."""
    if setting is not None and setting.schedule:
        return setting.schedule, "set"
    if source.schedule:
        return source.schedule, "config"
    return None, None


def plan(engine: Engine, config: SourcesConfig) -> list[Planned]:
    """Every configured source's schedule, pause, next run and last run."""
    settings = ScheduleBook(engine).settings()
    next_runs = stored_next_runs(engine)
    last = Runs(engine).last(list(config.sources))
    planned = []
    for name, source in config.sources.items():
        setting = settings.get(name)
        schedule, origin = effective(source, setting)
        planned.append(
            Planned(
                name,
                schedule,
                origin,
                source.schedule,
                bool(setting and setting.paused),
                source.enabled,
                next_runs.get(name) if schedule and source.enabled else None,
                last.get(name),
                source.timeout_seconds,
                setting.run_now_at if setting else None,
            )
        )
    return planned


# -- the daemon ---------------------------------------------------------------------------------------------------
_daemon: SchedulerDaemon | None = None
"""The daemon of this process: APScheduler's stored jobs name `fire` by its import path, which reaches it here."""


def fire(source: str) -> None:
    """An APScheduler job: a source's scheduled time came."""
    daemon = _daemon
    if daemon is None:
        log.warning("scheduled run of %s fired with no scheduler daemon in this process; ignored", source)
        return
    daemon.dispatch(source, "schedule")


class _SharedMapper(Mapper):
    """One mapping pool for every run of the daemon, started once however many runs ask for it at the same time."""

    def __init__(self) -> None:
        super().__init__()
        self._start_lock = threading.Lock()

    def _ensure_pool(self) -> Any:
        with self._start_lock:
            return super()._ensure_pool()


@dataclass
class ActiveRun:
    """A run the daemon queued and has not seen end."""

    source: str
    run_id: int
    trigger: str
    runs: Runs
    stop: StopRequest = field(default_factory=StopRequest)
    future: Future[None] | None = None
    started: bool = False


class SchedulerDaemon:
    """Runs sources on their schedules until stopped. `start()`, then `serve()` on the main thread (or `tick()`
    from a test), then `stop()`."""

    def __init__(
        self,
        lake: Lake,
        config_file: Path | None = None,
        *,
        index: bool = True,
        notify: bool = True,
        poll_seconds: float = POLL_SECONDS,
        stop_grace_seconds: float = STOP_GRACE_SECONDS,
        kinds: dict[str, type[Connector]] | None = None,
    ) -> None:
        self.lake = lake
        self.engine = lake.catalogue.engine
        self.config_file = config_file
        self.index = index
        self.notify = notify
        self.poll_seconds = poll_seconds
        self.stop_grace_seconds = stop_grace_seconds
        self.kinds = kinds or registry()
        self.book = ScheduleBook(self.engine)
        self.runs = Runs(self.engine)
        self.config = self._load_config()
        self._config_stamp = self._stamp()
        self.http = HttpClient(Limits(), contact=self.config.contact)
        self.mapper = _SharedMapper()
        self._lock = threading.RLock()
        self._index_lock = threading.Lock()
        self._active: dict[str, ActiveRun] = {}
        self._pool = ThreadPoolExecutor(max_workers=self.config.scheduler.workers, thread_name_prefix="scheduled-run")
        self._aps: BackgroundScheduler | None = None
        self._wake = threading.Event()
        self._signals: list[int] = []
        self._stopping = False
        self._stopped = threading.Event()
        self._last_reap = 0.0
        self._abort_signals_used: set[int] = set()
        self._stop_reason: str | None = None
        self.on_run_end: Callable[[ActiveRun], None] | None = None
        """Called after each run ends (tests use it to wait)."""

    # -- configuration ---------------------------------------------------------------------------------------
    def _load_config(self) -> SourcesConfig:
        return self.lake.sources(self.config_file)

    def _config_path(self) -> Path | None:
        if self.config_file is not None:
            return self.config_file
        home_file = self.lake.home.sources_file
        return home_file if home_file.exists() else None

    def _stamp(self) -> tuple[int, int] | None:
        path = self._config_path()
        try:
            info = path.stat() if path else None
        except OSError:
            return None
        return None if info is None else (info.st_mtime_ns, info.st_size)

    def _reload_config(self) -> None:
        stamp = self._stamp()
        if stamp == self._config_stamp:
            return
        self._config_stamp = stamp
        try:
            config = self._load_config()
        except ConfigError as error:
            log.error("the sources file changed but cannot be used, keeping the previous one: %s", error)
            return
        log.info("sources file %s reloaded", config.path)
        self.config = config
        self._apply_host_limits()

    def _apply_host_limits(self) -> None:
        # every source's limits on its host up front: two sources of one host share the strictest limits from
        # their first request, whichever runs first
        for source in self.config.sources.values():
            if source.enabled:
                self.http.set_host_limits(source.spec.url, source.spec.limits)

    # -- lifecycle -------------------------------------------------------------------------------------------
    def start(self) -> None:
        """Take the daemon lease, mark runs of dead processes interrupted, load the stored jobs and apply the
        schedules; jobs whose time passed while no daemon ran fire now if within the misfire grace."""
        global _daemon
        _take_daemon_lease(self.engine)
        try:
            if _daemon is not None:
                raise SchedulerBusy("this process already runs a scheduler daemon")
            _daemon = self
            self._reap()
            self._apply_host_limits()
            settings = self.config.scheduler
            self._aps = BackgroundScheduler(
                jobstores={"default": SQLAlchemyJobStore(engine=self.engine, tablename=JOBSTORE_TABLE)},
                executors={"default": JobExecutor(2)},
                job_defaults={
                    "coalesce": settings.coalesce,
                    "misfire_grace_time": int(settings.misfire_grace_seconds),
                    "max_instances": 1,
                },
                timezone=UTC,
            )
            self._aps.start(paused=True)
            self._reconcile()
            self._aps.resume()
        except BaseException:
            _daemon = None if _daemon is self else _daemon
            _release_daemon_lease(self.engine)
            raise
        log.info("scheduler started (pid %d): %d scheduled sources", os.getpid(), len(self._aps.get_jobs()))

    def serve(self) -> None:
        """Run until SIGTERM or SIGINT (installed here: call from the main thread) or `request_stop`."""
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            while not self._stopping:
                self._wake.wait(self.poll_seconds)
                self._wake.clear()
                if self._handle_signals():
                    break
                self.tick()
        finally:
            self.stop("SIGTERM or SIGINT" if self._signals else "asked to")
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _on_signal(self, signum: int, _frame: object) -> None:
        if self._stopping:
            # a second signal while stopping: the operator does not want to wait for the page in hand
            raise SystemExit(128 + signum)
        self._signals.append(signum)
        self._wake.set()

    def request_stop(self) -> None:
        self._signals.append(signal.SIGTERM)
        self._wake.set()

    def _handle_signals(self) -> bool:
        """True when a signal asks the daemon to stop (a SIGINT that belongs to an abort does not)."""
        while self._signals:
            signum = self._signals.pop(0)
            if signum == signal.SIGINT and self._abort_signal():
                continue
            self._stop_reason = signal.Signals(signum).name
            return True
        return False

    def _abort_signal(self) -> bool:
        """Whether a SIGINT came from `dmlake run abort` of one of our runs: that run's row was just marked aborted
        by a data manager (it is stopped here; the daemon goes on)."""
        since = now() - ABORT_SIGNAL_WINDOW
        with self.engine.connect() as conn:
            aborted = conn.execute(
                select(runs.c.id).where(
                    and_(
                        runs.c.pid == os.getpid(),
                        runs.c.host == socket.gethostname(),
                        runs.c.state == "aborted",
                        runs.c.finished_at >= since,
                    )
                )
            ).scalars()
            fresh = [run_id for run_id in aborted if run_id not in self._abort_signals_used]
        if not fresh:
            return False
        self._abort_signals_used.add(fresh[0])
        self._stop_aborted()
        log.info("SIGINT was `dmlake run abort %d`: that run stops, the scheduler goes on", fresh[0])
        return True

    def stop(self, reason: str = "asked to") -> None:
        """Stop: no new runs; running harvests commit the page in hand and end interrupted; queued runs end."""
        global _daemon
        with self._lock:
            if self._stopped.is_set():
                return
            self._stopping = True
            active = list(self._active.values())
        reason = self._stop_reason or reason
        log.info("scheduler stopping (%s): %d runs to end", reason, len(active))
        if self._aps is not None and self._aps.running:
            self._aps.shutdown(wait=True)
        message = (
            f"the scheduler stopped ({reason}) after the page in hand; the next run resumes after the last "
            "committed page"
        )
        for job in active:
            job.stop.request("interrupted", message)
        self._pool.shutdown(wait=False, cancel_futures=True)
        for job in active:
            if job.future is not None and job.future.cancelled():
                job.runs.end_if_live(job.run_id, "interrupted", f"not started: the scheduler stopped ({reason})")
                self._forget(job)
        deadline = time.monotonic() + self.stop_grace_seconds
        while time.monotonic() < deadline:
            with self._lock:
                if not self._active:
                    break
            time.sleep(0.05)
        with self._lock:
            left = list(self._active.values())
        for job in left:
            log.warning(
                "run %d of %s did not finish its page within %.0f s; it is left to the next start, which marks it "
                "interrupted and resumes from its checkpoint",
                job.run_id,
                job.source,
                self.stop_grace_seconds,
            )
        if not left:
            self.mapper.close()
            self.http.close()
        _release_daemon_lease(self.engine)
        if _daemon is self:
            _daemon = None
        self._stopped.set()
        log.info("scheduler stopped")

    # -- the periodic work -----------------------------------------------------------------------------------
    def tick(self) -> None:
        """Apply changed settings, start requested runs, stop aborted ones, renew the lease, reap the dead."""
        try:
            if not _renew_daemon_lease(self.engine):
                log.warning("the scheduler's lease was lost (the database was unreachable too long?); retaking it")
                _take_daemon_lease(self.engine)
            self._reload_config()
            self._reconcile()
            self._run_requested()
            self._stop_aborted()
            if time.monotonic() - self._last_reap >= REAP_SECONDS:
                self._reap()
        except SchedulerBusy:
            raise
        except Exception as error:  # a busy or unreachable database: the next tick tries again
            log.warning("scheduler tick failed: %s: %s", type(error).__name__, error)

    def _reap(self) -> None:
        self._last_reap = time.monotonic()
        for run_id in self.runs.reap_dead():
            log.warning(
                "run %d: its process died; marked interrupted (the next run resumes from its checkpoint)", run_id
            )

    def _desired(self) -> dict[str, tuple[Schedule, bool]]:
        settings = self.book.settings()
        desired = {}
        for name, source in self.config.sources.items():
            if not source.enabled:
                continue
            setting = settings.get(name)
            text, _origin = effective(source, setting)
            if text is None:
                continue
            try:
                desired[name] = (parse_schedule(text), bool(setting and setting.paused))
            except ValueError as error:
                log.error("source %s: schedule %r cannot be used: %s", name, text, error)
        return desired

    def _reconcile(self) -> None:
        assert self._aps is not None
        desired = self._desired()
        jobs = {job.id: job for job in self._aps.get_jobs()}
        settings = self.config.scheduler
        grace, coalesce = int(settings.misfire_grace_seconds), settings.coalesce
        for name in jobs.keys() - desired.keys():
            self._aps.remove_job(name)
            log.info("%s: no longer scheduled", name)
        for name, (schedule, paused) in desired.items():
            job = jobs.get(name)
            if job is None:
                self._aps.add_job(
                    fire,
                    trigger=self._trigger(name, schedule),
                    args=[name],
                    id=name,
                    name=schedule.text,
                    replace_existing=True,
                    misfire_grace_time=grace,
                    coalesce=coalesce,
                    max_instances=1,
                    **({"next_run_time": None} if paused else {}),
                )
                log.info("%s: scheduled %s%s", name, schedule.text, " (paused)" if paused else "")
                continue
            if job.name != schedule.text:
                self._aps.modify_job(name, name=schedule.text)
                job = self._aps.reschedule_job(name, trigger=self._trigger(name, schedule))
                log.info("%s: schedule now %s", name, schedule.text)
                if paused:
                    self._aps.pause_job(name)
            if job.misfire_grace_time != grace or job.coalesce != coalesce:
                self._aps.modify_job(name, misfire_grace_time=grace, coalesce=coalesce)
            if paused and job.next_run_time is not None:
                self._aps.pause_job(name)
                log.info("%s: paused", name)
            elif not paused and job.next_run_time is None:
                self._aps.resume_job(name)
                log.info("%s: resumed", name)

    def _trigger(self, name: str, schedule: Schedule) -> Any:
        """An interval counts from the source's last run (of any kind): due now if that is longer ago, so a new
        or long-stopped source is harvested at once and a restart does not shift the rhythm."""
        if schedule.kind != "interval" or schedule.interval is None:
            return schedule.trigger()
        last = self.runs.last([name]).get(name)
        moment = now() + timedelta(seconds=1)  # a start already past would be skipped to the next interval
        start = moment if last is None else max(moment, last.started_at + schedule.interval)
        return schedule.trigger(start)

    def _run_requested(self) -> None:
        for name, setting in self.book.settings().items():
            if setting.run_now_at is None:
                continue
            source = self.config.sources.get(name)
            if source is None:
                log.warning("run-now of %s: no such source in %s; request dropped", name, self.config.path)
                self.book.run_requested(name, setting.run_now_at)
                continue
            if self.dispatch(name, "run-now") is not None:
                self.book.run_requested(name, setting.run_now_at)

    def _stop_aborted(self) -> None:
        """Stop the runs a data manager aborted (`dmlake run abort`, the admin API): they end after their page."""
        with self._lock:
            active = list(self._active.values())
        for job in active:
            if job.stop.is_set() or not job.runs.ended_elsewhere(job.run_id):
                continue
            row = self.runs.get(job.run_id)
            message = (row.message if row and row.message else "aborted by a data manager") + (
                "; the page in hand was committed and the next run resumes after it"
            )
            job.stop.request("aborted", message)
            log.info("run %d of %s was aborted: it stops after the page in hand", job.run_id, job.source)

    # -- running a source ------------------------------------------------------------------------------------
    def dispatch(self, name: str, trigger: str) -> int | None:
        """Queue a run of the source (None: not queued, because it already has one here, or the daemon stops)."""
        with self._lock:
            if self._stopping:
                return None
            if name in self._active:
                current = self._active[name]
                log.info(
                    "%s: %s run skipped, run %d (%s) is still %s",
                    name,
                    trigger,
                    current.run_id,
                    current.trigger,
                    "running" if current.started else "queued",
                )
                return None
            source = self.config.sources.get(name)
            if source is None or not source.enabled:
                log.warning("%s: not in the sources file (or disabled); no run", name)
                return None
            run_id = self.runs.queue(name, trigger)
            job = ActiveRun(name, run_id, trigger, Runs(self.engine, adopt=run_id))
            self._active[name] = job
            try:
                job.future = self._pool.submit(self._work, source, job)
            except RuntimeError:  # the pool is shutting down
                job.runs.end_if_live(run_id, "interrupted", "not started: the scheduler stopped")
                del self._active[name]
                return None
            return run_id

    def _work(self, source: Source, job: ActiveRun) -> None:
        try:
            report = self._harvest(source, job)
            if report is not None:
                self._after(source, job.run_id)
        except Exception as error:
            log.exception("scheduled run %d of %s failed", job.run_id, source.name)
            job.runs.end_if_live(job.run_id, "failed", f"{type(error).__name__}: {error}")
        finally:
            # a harvest that raised before ending its run must not keep the source locked in a long-lived process
            job.runs.end_if_live(job.run_id, "failed", "the harvest ended without recording how (see the log)")
            self._forget(job)
            if self.on_run_end is not None:
                self.on_run_end(job)

    def _harvest(self, source: Source, job: ActiveRun) -> Any:
        harvester = Harvester(self.lake.catalogue, self.http.for_job(), self.kinds, self.mapper)
        harvester.runs = job.runs
        grace = self.config.scheduler.misfire_grace_seconds
        queued = time.monotonic()
        while True:
            if job.stop.is_set():
                job.runs.end_if_live(job.run_id, job.stop.state, f"not started: {job.stop.message}")
                return None
            job.started = True
            try:
                return harvester.harvest(source, stop=job.stop)
            except SourceBusy as busy:
                job.started = False
                if time.monotonic() - queued > grace:
                    job.runs.end_if_live(
                        job.run_id,
                        "aborted",
                        f"not started: {busy}, for longer than the misfire grace "
                        f"({format_duration(grace)}); the next scheduled run tries again",
                    )
                    return None
                job.runs.note(job.run_id, f"waiting for the source's lock: {busy}")
                job.stop.wait(self.poll_seconds)
            except RunNotQueued as gone:
                log.info("%s", gone)
                return None

    def _after(self, source: Source, run_id: int) -> None:
        """What `dmlake harvest` does after a source: notify its data managers, update the index (best effort)."""
        if self.notify and source.notify is not None and source.notify.anyone:
            from harvester.notify import Notifier

            notifier = Notifier(self.engine, self.config.notify, contact=self.config.contact)
            try:
                for delivery in notifier.after_run(source, run_id):
                    if not delivery.ok:
                        log.warning(
                            "%s: run %d not notified to %s: %s", source.name, run_id, delivery.target, delivery.error
                        )
            finally:
                notifier.close()
        if self.index:
            try:
                with self._index_lock:
                    applied = self.lake.update_index()
                log.info("%s: run %d, %d changes indexed", source.name, run_id, applied)
            except Exception as error:
                log.warning(
                    "%s: run %d: the index update failed (`dmlake index` catches up): %s", source.name, run_id, error
                )

    def _forget(self, job: ActiveRun) -> None:
        with self._lock:
            if self._active.get(job.source) is job:
                del self._active[job.source]

    # -- for people and tests --------------------------------------------------------------------------------
    def active(self) -> dict[str, int]:
        with self._lock:
            return {name: job.run_id for name, job in self._active.items()}

    def jobs(self) -> dict[str, datetime | None]:
        assert self._aps is not None
        return {job.id: job.next_run_time for job in self._aps.get_jobs()}
