"""How schedules, run timeouts and the [scheduler] table are written, and what an error says when they are not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from harvester.config import ConfigError, parse
from harvester.schedules import ScheduleSyntaxError, format_duration, parse_duration, parse_schedule

SOURCE = """[sources.z]
kind = "zenodo"
url = "https://zenodo.org"
schedule = {schedule}
timeout = {timeout}
"""


def test_intervals_and_cron_are_read_and_normalised() -> None:
    assert parse_schedule("every   90m").text == "every 1h30m"
    assert parse_schedule("every 6h").interval == timedelta(hours=6)
    cron = parse_schedule("*/15 * * * *")
    assert (cron.kind, cron.text) == ("cron", "*/15 * * * *")
    assert cron.next_after(datetime(2026, 1, 1, 0, 1, tzinfo=UTC)) == datetime(2026, 1, 1, 0, 15, tzinfo=UTC)
    daily = parse_schedule("@daily")
    assert daily.next_after(datetime(2026, 1, 1, 5, tzinfo=UTC)) == datetime(2026, 1, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("interval 30m", 'write "every 30m"'),
        ("every 5 minutes", "after 'every' give a duration"),
        ("every 0s", "after 'every' give a duration"),
        ("61 * * * *", "not a valid cron expression"),
        ("* * *", "five fields"),
        ("", "not a schedule"),
    ],
)
def test_a_bad_schedule_says_what_is_accepted(text: str, says: str) -> None:
    with pytest.raises(ScheduleSyntaxError, match=says):
        parse_schedule(text)


def test_durations_read_back_as_written() -> None:
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_duration("2d") == timedelta(days=2)
    assert format_duration(timedelta(minutes=90)) == "1h30m"
    assert format_duration(9 * 86400) == "9d"
    for bad in ("90", "soon", "0m", "1x"):
        with pytest.raises(ScheduleSyntaxError):
            parse_duration(bad)


def test_the_sources_file_carries_schedule_timeout_and_scheduler_settings() -> None:
    text = (
        SOURCE.format(schedule='"every 6h"', timeout='"2h"') + '[scheduler]\nmisfire_grace = "5m"\ncoalesce = false\n'
    )
    config = parse(text, "s.toml")
    source = config.sources["z"]
    assert (source.schedule, source.timeout_seconds) == ("every 6h", 7200.0)
    assert (config.scheduler.misfire_grace_seconds, config.scheduler.coalesce, config.scheduler.workers) == (
        300.0,
        False,
        4,
    )
    default = parse(SOURCE.format(schedule='"@hourly"', timeout='"30m"'), "s.toml").scheduler
    assert (default.misfire_grace_seconds, default.coalesce) == (3600.0, True)


@pytest.mark.parametrize(
    ("schedule", "timeout", "extra", "says"),
    [
        ('"every 5 minutes"', '"2h"', "", "s.toml:4: sources.z.schedule: 'every 5 minutes': after 'every'"),
        ("15", '"2h"', "", "s.toml:4: sources.z.schedule: 15 is not a schedule: write it in quotes"),
        ('"every 1h"', "7200", "", "s.toml:5: sources.z.timeout: 7200: the run timeout is a duration"),
        ('"every 1h"', '"2 hours"', "", "s.toml:5: sources.z.timeout: '2 hours' is not a duration"),
        (
            '"every 1h"',
            '"2h"',
            '[scheduler]\nmisfire = "1m"\n',
            "s.toml:7: scheduler.misfire: unknown key 'misfire'; did you mean 'misfire_grace'?",
        ),
        ('"every 1h"', '"2h"', "[scheduler]\nworkers = 0\n", "s.toml:7: scheduler.workers:"),
    ],
)
def test_config_errors_name_line_and_key(schedule: str, timeout: str, extra: str, says: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse(SOURCE.format(schedule=schedule, timeout=timeout) + extra, "s.toml")
    assert says in str(error.value)
