"""Telling a source's data managers what its last run needs from them: by e-mail (SMTP) and webhook (JSON POST).

After a run ends, `Notifier.after_run(source, run_id)` looks at the run and the source's `[sources.NAME.notify]`
settings and sends a notice when one of the events it asks for happened:

* `failure`: the run failed (or its process died: interrupted);
* `pending_deletions`: records disappeared beyond the mass-deletion guard and wait for `dmlake deletions confirm`;
* `error_rate`: the share of records that failed (fetch errors and quarantined, over all records the run saw) rose
  by at least `error_rate_jump` compared with the previous harvest run of the source (0 when there is none).

A notice carries the source, run id, state, counts, the run's message and a link to the run in the admin API
(`DMLAKE_PUBLIC_URL` or `[notify] public_url`, + `/admin/runs/{id}`), with the command that shows it. Delivery is
best effort: a notice that cannot be delivered is logged, never fails the run; webhooks are retried by the shared
HTTP client (backoff on connection errors, 429 and 5xx).
"""

from __future__ import annotations

import logging
import os
import smtplib
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from sqlalchemy import Engine, and_, select

from connectors.base import Limits
from connectors.http import HttpClient
from harvester.catalogue import Counts
from harvester.config import NotifySettings, Source, SourceNotify
from harvester.runs import RunRow, Runs
from harvester.schema import runs

log = logging.getLogger(__name__)

PUBLIC_URL_ENV = "DMLAKE_PUBLIC_URL"
HARVEST_MODES = ("full", "incremental", "resume")
"""Runs that fetch (a retry or remap of the raw store is not a baseline for the error rate)."""
FAILED_STATES = ("failed", "interrupted")
WEBHOOK_RETRIES = 3


@dataclass(frozen=True)
class Notice:
    source: str
    run_id: int
    state: str
    mode: str
    events: tuple[str, ...]
    counts: dict[str, int]
    requests: int
    retries: int
    message: str | None
    link: str | None
    command: str
    error_rate: float | None
    previous_error_rate: float | None
    started_at: datetime
    finished_at: datetime | None
    duration_seconds: float | None

    @property
    def subject(self) -> str:
        what = []
        if "failure" in self.events:
            what.append(f"run {self.run_id} {self.state}")
        if "pending_deletions" in self.events:
            what.append(f"{self.counts['pending_deletions']:,} deletions await confirmation")
        if "error_rate" in self.events:
            what.append(f"error rate up to {_percent(self.error_rate)}")
        return f"[dmlake] {self.source}: " + ", ".join(what)

    def text(self) -> str:
        c = self.counts
        lines = [
            f"Source: {self.source}",
            f"Run: {self.run_id} ({self.mode}), {self.state}",
            f"Started: {self.started_at:%Y-%m-%d %H:%M:%S} UTC"
            + (f", {self.duration_seconds:.1f} s" if self.duration_seconds is not None else ""),
            f"Records: {c['added']:,} added, {c['updated']:,} updated, {c['unchanged']:,} unchanged, "
            f"{c['deleted']:,} deleted",
            f"Errors: {c['errored']:,} fetch errors, {c['quarantined']:,} quarantined "
            f"(error rate {_percent(self.error_rate)}, previous run {_percent(self.previous_error_rate)})",
            f"Pending deletions: {c['pending_deletions']:,}",
            f"Requests: {self.requests:,} ({self.retries:,} retries)",
        ]
        if self.message:
            lines += ["", self.message]
        lines += ["", "What to do:"]
        if "failure" in self.events:
            lines.append(f"  read the run: {self.command}; the next run resumes after the last committed page")
        if "pending_deletions" in self.events:
            lines.append(
                f"  review them: dmlake deletions list {self.source}; then dmlake deletions confirm {self.source} "
                f"(or reject)"
            )
        if "error_rate" in self.events:
            lines.append(
                f"  see what fails: dmlake errors {self.source}; after a fix: dmlake errors retry {self.source}"
            )
        if self.link:
            lines += ["", f"Run report: {self.link}"]
        return "\n".join(lines) + "\n"

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "run_id": self.run_id,
            "state": self.state,
            "mode": self.mode,
            "events": list(self.events),
            "counts": dict(self.counts),
            "requests": self.requests,
            "retries": self.retries,
            "error_rate": self.error_rate,
            "previous_error_rate": self.previous_error_rate,
            "message": self.message,
            "link": self.link,
            "command": self.command,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "duration_seconds": self.duration_seconds,
            "summary": self.subject,
        }


@dataclass(frozen=True)
class Delivery:
    channel: str
    """`email` or `webhook`."""
    target: str
    ok: bool
    error: str | None = None


def error_rate(counts: Counts) -> float | None:
    """The share of the records a run saw that failed (fetch errors and quarantined); None when it saw none."""
    failed = counts.errored + counts.quarantined
    seen = counts.added + counts.updated + counts.unchanged + failed
    return failed / seen if seen else None


def events_for(run: RunRow, previous: RunRow | None, wanted: SourceNotify) -> tuple[str, ...]:
    """The events of `wanted.on` that this run is an instance of."""
    found = []
    if "failure" in wanted.on and run.state in FAILED_STATES:
        found.append("failure")
    if "pending_deletions" in wanted.on and run.counts.pending_deletions > 0:
        found.append("pending_deletions")
    rate = error_rate(run.counts)
    baseline = (error_rate(previous.counts) if previous else None) or 0.0
    # a small epsilon: 0.15 - 0.10 is 0.04999… in floating point, and a jump of exactly the threshold counts
    if "error_rate" in wanted.on and rate is not None and rate > 0 and rate - baseline >= wanted.error_rate_jump - 1e-9:
        found.append("error_rate")
    return tuple(found)


def previous_run(engine: Engine, run: RunRow) -> RunRow | None:
    """The source's last harvest run before `run` that ended and saw records: the error rate's baseline."""
    runs_ = Runs(engine)
    with engine.connect() as conn:
        ids = conn.execute(
            select(runs.c.id)
            .where(
                and_(
                    runs.c.source == run.source,
                    runs.c.id < run.id,
                    runs.c.mode.in_(HARVEST_MODES),
                    runs.c.state.in_(("succeeded", "failed")),
                )
            )
            .order_by(runs.c.id.desc())
            .limit(20)
        ).scalars()
        candidates = list(ids)
    for run_id in candidates:
        row = runs_.get(run_id)
        if row is not None and error_rate(row.counts) is not None:
            return row
    return None


def run_link(run_id: int, settings: NotifySettings) -> str | None:
    base = os.environ.get(PUBLIC_URL_ENV) or settings.public_url
    return f"{base.rstrip('/')}/admin/runs/{run_id}" if base else None


class Notifier:
    """Sends the notices of ended runs. Never raises for a delivery: failures come back as `Delivery(ok=False)`."""

    def __init__(
        self,
        engine: Engine,
        settings: NotifySettings,
        *,
        contact: str | None = None,
        smtp: Callable[..., smtplib.SMTP] = smtplib.SMTP,
        http: HttpClient | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.contact = contact
        self._smtp = smtp
        self._http = http

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def notice(self, source: Source, run_id: int) -> Notice | None:
        """The notice the run calls for under the source's settings (None: nothing to tell, or no one to tell)."""
        wanted = source.notify
        if wanted is None or not wanted.anyone:
            return None
        run = Runs(self.engine).get(run_id)
        if run is None:
            return None
        previous = previous_run(self.engine, run)
        events = events_for(run, previous, wanted)
        if not events:
            return None
        c = run.counts
        return Notice(
            source=run.source,
            run_id=run.id,
            state=run.state,
            mode=run.mode,
            events=events,
            counts={name: getattr(c, name) for name in Counts.__dataclass_fields__},
            requests=run.requests,
            retries=run.retries,
            message=run.message,
            link=run_link(run.id, self.settings),
            command=f"dmlake run show {run.id}",
            error_rate=error_rate(c),
            previous_error_rate=error_rate(previous.counts) if previous else None,
            started_at=run.started_at,
            finished_at=run.finished_at,
            duration_seconds=run.duration_seconds,
        )

    def after_run(self, source: Source, run_id: int) -> list[Delivery]:
        """Notify the source's data managers about the run if it calls for it; every delivery's outcome."""
        try:
            notice = self.notice(source, run_id)
        except Exception as error:  # reading the run must not fail the harvest either
            log.warning("could not prepare the notification of run %d of %s: %s", run_id, source.name, error)
            return [Delivery("notice", source.name, False, f"{type(error).__name__}: {error}")]
        if notice is None or source.notify is None:
            return []
        return self.send(notice, source.notify)

    def send(self, notice: Notice, wanted: SourceNotify) -> list[Delivery]:
        deliveries = []
        if wanted.email:
            deliveries.append(
                self._deliver("email", ", ".join(wanted.email), lambda: self._email(notice, wanted.email))
            )
        if wanted.webhook:
            url = wanted.webhook
            deliveries.append(self._deliver("webhook", url, lambda: self._webhook(notice, url)))
        return deliveries

    def _deliver(self, channel: str, target: str, send: Callable[[], None]) -> Delivery:
        try:
            send()
        except Exception as error:
            message = f"{type(error).__name__}: {error}"
            log.warning("notification by %s to %s could not be delivered: %s", channel, target, message)
            return Delivery(channel, target, False, message)
        log.info("notification by %s sent to %s", channel, target)
        return Delivery(channel, target, True)

    def _email(self, notice: Notice, recipients: tuple[str, ...]) -> None:
        settings = self.settings
        message = EmailMessage()
        message["Subject"] = notice.subject
        message["From"] = settings.sender or self.contact or f"dmlake@{socket.getfqdn()}"
        message["To"] = ", ".join(recipients)
        message["X-Dmlake-Source"] = notice.source
        message["X-Dmlake-Run"] = str(notice.run_id)
        message["X-Dmlake-Events"] = ", ".join(notice.events)
        message.set_content(notice.text())
        password = None
        if settings.username:
            password = os.environ.get(settings.password_env or "")
            if password is None:
                raise RuntimeError(
                    f"[notify] username is set but the password variable {settings.password_env or '(password_env)'} "
                    "is not: set it in the environment of the harvest"
                )
        with self._smtp(settings.smtp_host, settings.smtp_port, timeout=settings.timeout) as server:
            if settings.starttls:
                server.starttls()
            if settings.username and password is not None:
                server.login(settings.username, password)
            server.send_message(message)

    def _webhook(self, notice: Notice, url: str) -> None:
        if self._http is None:
            limits = Limits(timeout=self.settings.timeout, max_retries=WEBHOOK_RETRIES)
            self._http = HttpClient(limits, contact=self.contact, max_backoff=5.0, max_retry_after=30.0)
        self._http.request("POST", url, json_body=notice.to_json())


def _percent(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate:.1%}"
