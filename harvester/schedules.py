"""How a schedule and a duration are written, in the sources file and on the command line.

A schedule is either an interval, `every DURATION` (`every 6h`, `every 30m`, `every 1h30m`), counted from when the
scheduler first planned it, or a cron expression of five fields, minute hour day-of-month month day-of-week, in UTC
(`*/15 * * * *`, `0 3 * * mon-fri`), or one of `@hourly`, `@daily`, `@weekly`, `@monthly`. A duration is a number
and a unit, repeated: `90s`, `30m`, `6h`, `2d`, `1w`, `1h30m`.

One spelling each, so that what `dmlake schedule list` shows is what was written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+)\s*([smhdw])")
_DURATION = re.compile(r"^\s*(?:\d+\s*[smhdw]\s*)+$")
DURATION_HELP = 'a duration such as "90s", "30m", "6h", "2d" or "1h30m"'
SCHEDULE_HELP = (
    'write "every DURATION" (e.g. "every 6h", "every 30m") or a cron expression of five fields, minute hour '
    'day-of-month month day-of-week, in UTC (e.g. "*/15 * * * *", "0 3 * * mon-fri"), or @hourly, @daily, @weekly, '
    "@monthly"
)
CRON_ALIASES = {"@hourly": "0 * * * *", "@daily": "0 0 * * *", "@weekly": "0 0 * * mon", "@monthly": "0 0 1 * *"}


class ScheduleSyntaxError(ValueError):
    """A schedule or duration that cannot be read; the message quotes it and says what would be accepted."""


def parse_duration(text: str) -> timedelta:
    """`"1h30m"` → 90 minutes. Refuses zero, bare numbers and unknown units."""
    if not isinstance(text, str) or not _DURATION.match(text):
        raise ScheduleSyntaxError(f"{text!r} is not a duration: write {DURATION_HELP}")
    seconds = sum(int(amount) * UNIT_SECONDS[unit] for amount, unit in _PART.findall(text))
    if seconds <= 0:
        raise ScheduleSyntaxError(f"{text!r} is no time at all: write {DURATION_HELP}")
    return timedelta(seconds=seconds)


def format_duration(value: timedelta | float) -> str:
    """90 minutes → `"1h30m"`: the shortest spelling `parse_duration` reads back."""
    seconds = int(value.total_seconds() if isinstance(value, timedelta) else value)
    parts = []
    for unit, size in sorted(UNIT_SECONDS.items(), key=lambda item: -item[1]):
        if unit == "w" and seconds % size:
            continue  # "1w2d" reads worse than "9d"
        amount, seconds = divmod(seconds, size)
        if amount:
            parts.append(f"{amount}{unit}")
    return "".join(parts) or "0s"


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule: `text` as written (spaces normalised), and what it means."""

    text: str
    kind: Literal["interval", "cron"]
    interval: timedelta | None = None
    cron: str | None = None

    def trigger(self, start: datetime | None = None) -> BaseTrigger:
        """The APScheduler trigger; an interval counts from `start` (default: one interval from now)."""
        if self.kind == "interval":
            assert self.interval is not None
            first = start or datetime.now(UTC) + self.interval
            return IntervalTrigger(seconds=self.interval.total_seconds(), start_date=first, timezone=UTC)
        assert self.cron is not None
        return CronTrigger.from_crontab(self.cron, timezone=UTC)

    def next_after(self, moment: datetime) -> datetime | None:
        """When it fires next after `moment`, were a scheduler to plan it now (for showing, not for running)."""
        if self.kind == "interval":
            assert self.interval is not None
            return moment + self.interval
        fire: datetime | None = self.trigger().get_next_fire_time(None, moment)
        return fire


def parse_schedule(text: str) -> Schedule:
    """Read a schedule (`every 6h`, `*/15 * * * *`, `@daily`); `ScheduleSyntaxError` says what is accepted."""
    if not isinstance(text, str) or not text.strip():
        raise ScheduleSyntaxError(f"{text!r} is not a schedule: {SCHEDULE_HELP}")
    words = text.split()
    normalised = " ".join(words)
    if words[0].lower() == "every":
        rest = "".join(words[1:])
        try:
            interval = parse_duration(rest)
        except ScheduleSyntaxError:
            raise ScheduleSyntaxError(
                f"{normalised!r}: after 'every' give {DURATION_HELP} (e.g. \"every 6h\")"
            ) from None
        return Schedule(f"every {format_duration(interval)}", "interval", interval=interval)
    if words[0].lower() in ("interval", "each"):
        raise ScheduleSyntaxError(f'{normalised!r} is not a schedule: write "every {" ".join(words[1:])}"')
    cron = CRON_ALIASES.get(normalised.lower(), normalised)
    if len(cron.split()) != 5:
        raise ScheduleSyntaxError(f"{normalised!r} is not a schedule: {SCHEDULE_HELP}")
    try:
        CronTrigger.from_crontab(cron, timezone=UTC)
    except ValueError as error:
        raise ScheduleSyntaxError(f"{normalised!r} is not a valid cron expression ({error}): {SCHEDULE_HELP}") from None
    return Schedule(normalised, "cron", cron=cron)
