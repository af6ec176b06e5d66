"""`dmlake errors …`, `dmlake remap` and `dmlake run abort`: triage what failed, fix, re-map without fetching.

dmlake errors [SOURCE]                      the quarantine grouped by stage, error class and field
dmlake errors SOURCE --field F --records    the records of one group (--format csv|json [--output FILE] to export)
dmlake errors retry [SOURCE] [--field F]    after a mapping fix: map the quarantined records again from the raw store
dmlake remap SOURCE                         after a mapping change: map every record of the source again
dmlake run abort ID                         mark a run aborted and interrupt its process
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from harvester.cli_context import lake_of
from harvester.triage import (
    EXPORT_FORMATS,
    ErrorFilter,
    ErrorGroup,
    QuarantinedRecord,
    error_groups,
    export,
    quarantined_count,
    quarantined_records,
)

if TYPE_CHECKING:
    from dmlake.lake import Lake
    from harvester.remap import RemapReport

out = Console()
err = Console(stderr=True)


class _ListByDefault(TyperGroup):
    """`dmlake errors [SOURCE] [options]` lists; `dmlake errors retry …` retries. A first word that is not a
    subcommand (a source name, an option) belongs to `list`, so both spellings work without `list`."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # typer vendors click: its Context type
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "-h")):
            args = ["list", *args]
        return super().parse_args(ctx, args)


errors_app = typer.Typer(
    cls=_ListByDefault,
    help="Quarantined records: grouped by what failed, listed, exported, retried after a fix. "
    "`dmlake errors [SOURCE] [OPTIONS]` is `dmlake errors list`.",
)

SourceArgument = Annotated[str | None, typer.Argument(metavar="[SOURCE]", help="Only this source.")]
FieldOption = Annotated[str | None, typer.Option("--field", help="Only errors at this field (as `errors` shows it).")]
ClassOption = Annotated[
    str | None, typer.Option("--class", help="Only errors of this class (MappingError, ValidationError, ...).")
]
NoIndexOption = Annotated[bool, typer.Option("--no-index", help="Do not update the search index afterwards.")]


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


@errors_app.command("list")
def errors_list(
    ctx: typer.Context,
    source: SourceArgument = None,
    field: FieldOption = None,
    error_class: ClassOption = None,
    records: Annotated[bool, typer.Option("--records", help="List the records instead of the groups.")] = False,
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the export to FILE.")] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="At most N records (with --records).")] = None,
) -> None:
    """The quarantine grouped by stage, error class and field (count, first/last seen, an example)."""
    if fmt not in ("table", *EXPORT_FORMATS):
        raise _fail(f"--format {fmt!r}: choose table, {', '.join(EXPORT_FORMATS)}", code=2)
    if output is not None and fmt == "table":
        raise _fail("--output writes an export: add --format csv or --format json", code=2)
    engine = lake_of(ctx).catalogue.engine
    where = ErrorFilter(source, field, error_class)
    rows: list[ErrorGroup] | list[QuarantinedRecord]
    rows = quarantined_records(engine, where, limit) if records else error_groups(engine, where)
    if fmt != "table":
        text = export(rows, fmt, QuarantinedRecord if records else ErrorGroup)  # type: ignore[arg-type]
        if output is None:
            sys.stdout.write(text)
        else:
            output.write_text(text, encoding="utf-8")
            err.print(f"{len(rows):,} {'records' if records else 'groups'} written to {output}")
        return
    if not rows:
        out.print("no quarantined records" + (f" matching {_describe(where)}" if _describe(where) else ""))
        return
    if records:
        _print_records([r for r in rows if isinstance(r, QuarantinedRecord)], quarantined_count(engine, where))
    else:
        _print_groups([g for g in rows if isinstance(g, ErrorGroup)])


def _print_groups(groups: list[ErrorGroup]) -> None:
    total = sum(g.records for g in groups)
    table = Table(title=f"{total:,} quarantined records in {len(groups)} groups")
    for column in ("source", "stage", "error", "field", "records", "first seen", "last seen", "example"):
        table.add_column(column, overflow="fold", justify="right" if column == "records" else "left")
    for g in groups:
        table.add_row(
            g.source,
            g.stage,
            g.error_class,
            g.field,
            f"{g.records:,}",
            f"{g.first_seen:%Y-%m-%d %H:%M}",
            f"{g.last_seen:%Y-%m-%d %H:%M}",
            f"{g.example_record}: {g.example_message}",
        )
    out.print(table)
    first = groups[0]
    out.print(
        f"records of a group: dmlake errors {first.source} --field {_quote(first.field)} --records; "
        f"after a fix: dmlake errors retry {first.source} --field {_quote(first.field)}",
        soft_wrap=True,
    )


def _print_records(entries: list[QuarantinedRecord], total: int) -> None:
    shown = f"{len(entries):,} of {total:,}" if len(entries) < total else f"{total:,}"
    table = Table(title=f"{shown} quarantined records")
    for column in ("source", "record", "stage", "error", "field", "message", "first seen", "last seen", "attempts"):
        table.add_column(column, overflow="fold")
    for e in entries:
        table.add_row(
            e.source,
            e.native_id,
            e.stage,
            e.error_class,
            e.field,
            e.message,
            f"{e.first_seen:%Y-%m-%d %H:%M}",
            f"{e.last_seen:%Y-%m-%d %H:%M}",
            str(e.attempts),
        )
    out.print(table)


@errors_app.command("retry")
def errors_retry(
    ctx: typer.Context,
    source: SourceArgument = None,
    field: FieldOption = None,
    error_class: ClassOption = None,
    no_index: NoIndexOption = False,
) -> None:
    """After a mapping fix: map the quarantined records again from the raw store, fetching nothing."""
    from connectors import registry
    from harvester.remap import RemapError, Remapper
    from harvester.runs import SourceBusy

    lake = lake_of(ctx)
    if quarantined_count(lake.catalogue.engine, ErrorFilter(source, field, error_class)) == 0:
        described = _describe(ErrorFilter(source, field, error_class))
        out.print("no quarantined records" + (f" matching {described}" if described else ""))
        return
    try:
        with Remapper(lake.catalogue, registry()) as remapper:
            reports = remapper.retry(source, field=field, error_class=error_class)
    except (RemapError, SourceBusy) as error:
        raise _fail(str(error)) from None
    _finish(lake, reports, no_index)


def remap_command(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(help="The source whose records to map again.")],
    no_index: NoIndexOption = False,
) -> None:
    """After a mapping change: map every record of the source again from the raw store, fetching nothing. Records
    whose mapping changed get a change in the feed; unchanged ones write nothing."""
    from connectors import registry
    from harvester.remap import RemapError, Remapper
    from harvester.runs import SourceBusy

    lake = lake_of(ctx)
    try:
        with Remapper(lake.catalogue, registry()) as remapper:
            report = remapper.remap(source)
    except (RemapError, SourceBusy) as error:
        raise _fail(str(error)) from None
    _finish(lake, [report], no_index)


def _finish(lake: Lake, reports: list[RemapReport], no_index: bool) -> None:
    table = Table(title="Re-mapped from the raw store (no requests)")
    for column in ("source", "run", "mode", "state", "records", "added", "updated", "unchanged", "still failing"):
        table.add_column(column, justify="left" if column in ("source", "mode", "state") else "right")
    for r in reports:
        style = "green" if r.state == "succeeded" else "red"
        c = r.counts
        table.add_row(
            r.source,
            str(r.run_id),
            r.mode,
            f"[{style}]{r.state}[/]",
            f"{r.attempted:,}",
            f"{c.added:,}",
            f"{c.updated:,}",
            f"{c.unchanged:,}",
            f"{r.still_failing:,}",
        )
    out.print(table)
    for r in reports:
        for what, count in sorted(r.errors.items(), key=lambda item: -item[1]):
            out.print(f"[yellow]{r.source}[/]: {count:,} still failing at {what} (dmlake errors {r.source})")
        for skipped in r.skipped[:20]:
            out.print(f"[yellow]{r.source}[/] {skipped.native_id} skipped: {skipped.reason}", soft_wrap=True)
        if len(r.skipped) > 20:
            out.print(f"[yellow]{r.source}[/]: … and {len(r.skipped) - 20:,} more skipped")
        if r.message and r.state != "succeeded":
            err.print(f"[bold]{r.source}[/]: {r.message}")
    if not no_index and any(r.counts.added or r.counts.updated for r in reports):
        applied = lake.update_index()
        out.print(f"index: {applied:,} changes applied")
    if any(r.state != "succeeded" for r in reports):
        raise typer.Exit(1)


def run_abort_command(
    ctx: typer.Context,
    run_id: Annotated[int, typer.Argument(metavar="ID")],
    reason: Annotated[str | None, typer.Option("--reason", help="Why (kept in the run's message).")] = None,
    wait: Annotated[float, typer.Option("--wait", help="Seconds to wait for the process to stop.")] = 10.0,
) -> None:
    """Mark a running run aborted and interrupt its process (the next run resumes from its last checkpoint)."""
    from harvester.run_control import RunNotAbortable, RunNotFound, abort_run

    try:
        outcome = abort_run(lake_of(ctx).catalogue.engine, run_id, wait_seconds=wait, reason=reason)
    except (RunNotFound, RunNotAbortable) as error:
        raise _fail(str(error)) from None
    out.print(f"run {outcome.run_id} of [bold]{outcome.source}[/]: {outcome.note}")
    if not outcome.stopped:
        raise typer.Exit(1)


def _describe(where: ErrorFilter) -> str:
    parts: list[Any] = []
    if where.source:
        parts.append(f"source {where.source}")
    if where.field:
        parts.append(f"field {where.field}")
    if where.error_class:
        parts.append(f"class {where.error_class}")
    return ", ".join(parts)


def _quote(text: str) -> str:
    return text if text.replace(".", "").replace("_", "").replace("-", "").isalnum() else repr(text)
