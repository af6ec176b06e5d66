"""`dmlake schedule list|set|clear|pause|resume|run-now` and `dmlake scheduler run` (see `harvester.scheduler`)."""

from __future__ import annotations

import logging
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Table

from harvester.cli_context import lake_of
from harvester.config import ConfigError, SourcesConfig
from harvester.schedules import ScheduleSyntaxError, format_duration, parse_schedule

if TYPE_CHECKING:
    from dmlake.lake import Lake

schedule_app = typer.Typer(
    help="When each source is harvested: list, set at run time, pause, or run now.", no_args_is_help=True
)
scheduler_app = typer.Typer(help="The scheduler daemon.", no_args_is_help=True)

out = Console()
err = Console(stderr=True)
ConfigOption = Annotated[Path | None, typer.Option("--config", help="Sources file (overrides the global option).")]


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


def _config(ctx: typer.Context, config: Path | None) -> tuple[Lake, SourcesConfig]:
    lake = lake_of(ctx)
    try:
        return lake, lake.sources(config or ctx.find_root().params.get("config"))
    except ConfigError as error:
        raise _fail(str(error)) from None


def _known(configured: SourcesConfig, source: str) -> None:
    if source not in configured.sources:
        raise _fail(
            f"{configured.path}: no source named {source!r}; configured: {', '.join(configured.sources) or '(none)'}"
        )


def _when(moment: datetime | None) -> str:
    return "" if moment is None else f"{moment:%Y-%m-%d %H:%M:%S} UTC"


@schedule_app.command("list")
def schedule_list(
    ctx: typer.Context,
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Each source's schedule (and where it comes from), whether paused, its next and last run."""
    from harvester.scheduler import plan, running_daemon

    lake, configured = _config(ctx, config)
    engine = lake.catalogue.engine
    daemon = running_daemon(engine)
    planned = plan(engine, configured)
    if as_json:
        document = {
            "scheduler": None
            if daemon is None
            else {"host": daemon.host, "pid": daemon.pid, "since": daemon.since.isoformat()},
            "sources": [entry.to_json() for entry in planned],
        }
        sys.stdout.write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    if daemon is None:
        out.print("scheduler: [yellow]not running[/] (start it with `dmlake scheduler run`)")
    else:
        out.print(f"scheduler: running, pid {daemon.pid} on {daemon.host} since {_when(daemon.since)}")
    table = Table(title=f"Schedules ({configured.path})")
    for column in ("source", "schedule", "from", "paused", "next run", "last run", "timeout"):
        table.add_column(column, overflow="fold")
    now_ = datetime.now().astimezone()
    for entry in planned:
        if not entry.enabled:
            schedule, origin = "(disabled)", ""
        else:
            schedule, origin = entry.schedule or "-", entry.origin or ""
        if entry.origin == "set" and entry.configured:
            origin = f"set (file: {entry.configured})"
        if entry.paused or not entry.schedule or not entry.enabled:
            upcoming = ""
        elif entry.next_run is None:
            upcoming = "when the scheduler starts"
        else:
            upcoming = _when(entry.next_run) + (" (overdue)" if entry.next_run < now_ and daemon is None else "")
        if entry.run_now_requested is not None:
            upcoming = f"run requested {_when(entry.run_now_requested)}" + (f"; then {upcoming}" if upcoming else "")
        last = entry.last_run
        last_text = "" if last is None else f"{last.id} {last.state} {_when(last.started_at)}"
        timeout = format_duration(entry.timeout_seconds) if entry.timeout_seconds else ""
        table.add_row(entry.source, schedule, origin, "yes" if entry.paused else "", upcoming, last_text, timeout)
    out.print(table)


@schedule_app.command("set")
def schedule_set(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(help="A configured source.")],
    schedule: Annotated[str, typer.Argument(help='"every 6h", "every 30m" or cron in UTC, e.g. "*/15 * * * *".')],
    config: ConfigOption = None,
) -> None:
    """Set a source's schedule at run time; it wins over the sources file's until `dmlake schedule clear`."""
    from harvester.scheduler import ScheduleBook

    lake, configured = _config(ctx, config)
    _known(configured, source)
    try:
        parsed = parse_schedule(schedule)
    except ScheduleSyntaxError as error:
        raise _fail(f"schedule of {source}: {error}", code=2) from None
    ScheduleBook(lake.catalogue.engine).set(source, parsed)
    file_note = f" (the sources file's {configured.sources[source].schedule!r} is set aside until cleared)"
    out.print(f"{source}: {parsed.text}{file_note if configured.sources[source].schedule else ''}")
    _daemon_note(lake)


@schedule_app.command("clear")
def schedule_clear(ctx: typer.Context, source: Annotated[str, typer.Argument()], config: ConfigOption = None) -> None:
    """Drop the run-time schedule: the sources file's applies again (if it has one)."""
    from harvester.scheduler import ScheduleBook

    lake, configured = _config(ctx, config)
    _known(configured, source)
    ScheduleBook(lake.catalogue.engine).clear(source)
    configured_schedule = configured.sources[source].schedule
    out.print(
        f"{source}: "
        + (f"back to the sources file's {configured_schedule}" if configured_schedule else "no longer scheduled")
    )
    _daemon_note(lake)


@schedule_app.command("pause")
def schedule_pause(ctx: typer.Context, source: Annotated[str, typer.Argument()], config: ConfigOption = None) -> None:
    """Stop starting scheduled runs of the source (a running one goes on) until `dmlake schedule resume`."""
    _pause(ctx, source, config, True)


@schedule_app.command("resume")
def schedule_resume(ctx: typer.Context, source: Annotated[str, typer.Argument()], config: ConfigOption = None) -> None:
    """Start scheduled runs of the source again."""
    _pause(ctx, source, config, False)


def _pause(ctx: typer.Context, source: str, config: Path | None, paused: bool) -> None:
    from harvester.scheduler import ScheduleBook

    lake, configured = _config(ctx, config)
    _known(configured, source)
    ScheduleBook(lake.catalogue.engine).pause(source, paused)
    out.print(f"{source}: {'paused' if paused else 'resumed'}")
    _daemon_note(lake)


@schedule_app.command("run-now")
def schedule_run_now(ctx: typer.Context, source: Annotated[str, typer.Argument()], config: ConfigOption = None) -> None:
    """Ask the scheduler to run the source now (queued behind a run of it already going)."""
    from harvester.scheduler import ScheduleBook

    lake, configured = _config(ctx, config)
    _known(configured, source)
    ScheduleBook(lake.catalogue.engine).request_run(source)
    out.print(f"{source}: run requested")
    _daemon_note(lake)


def _daemon_note(lake: Lake) -> None:
    from harvester.scheduler import POLL_SECONDS, running_daemon

    daemon = running_daemon(lake.catalogue.engine)
    if daemon is None:
        out.print(
            "the scheduler is not running: this applies when `dmlake scheduler run` starts "
            "(`dmlake harvest SOURCE` harvests now without it)"
        )
    else:
        out.print(f"the scheduler (pid {daemon.pid} on {daemon.host}) applies it within {POLL_SECONDS:g} s")


@scheduler_app.command("run")
def scheduler_run(
    ctx: typer.Context,
    config: ConfigOption = None,
    index: Annotated[bool, typer.Option("--index/--no-index", help="Update the search index after each run.")] = True,
    notify: Annotated[bool, typer.Option("--notify/--no-notify", help="Send the sources' notifications.")] = True,
    poll: Annotated[float, typer.Option("--poll", min=0.1, help="Seconds between looks at settings and runs.")] = 2.0,
    stop_grace: Annotated[
        float, typer.Option("--stop-grace", min=0, help="Seconds a stop waits for the pages in hand.")
    ] = 30.0,
) -> None:
    """Run the scheduler in the foreground until SIGTERM or Ctrl-C (which let running harvests commit the page in
    hand and stop; a second one stops at once)."""
    from harvester.scheduler import SchedulerBusy, SchedulerDaemon

    if not logging.getLogger().isEnabledFor(logging.INFO):
        # a daemon's log is its only voice: what it scheduled, started and stopped
        logging.getLogger("harvester").setLevel(logging.INFO)
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        for handler in logging.getLogger().handlers:
            handler.setLevel(logging.INFO)
    lake = lake_of(ctx)
    config_file = config or ctx.find_root().params.get("config")
    try:
        daemon = SchedulerDaemon(
            lake, config_file, index=index, notify=notify, poll_seconds=poll, stop_grace_seconds=stop_grace
        )
        daemon.start()
    except (ConfigError, SchedulerBusy) as error:
        raise _fail(str(error)) from None
    jobs = daemon.jobs()
    err.print(
        f"scheduler running on {lake.home.path}: {len(jobs)} scheduled sources; SIGTERM or Ctrl-C stops it after the "
        "pages in hand"
    )
    for name, upcoming in sorted(jobs.items()):
        err.print(f"  {name}: next run {_when(upcoming) or 'paused'}")
    daemon.serve()
    err.print("scheduler stopped")
