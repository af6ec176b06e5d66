"""`dmlake fair [SOURCE] [--record ID] [--json]`: the FAIR report of the catalogue, per source or for one record.

Per source, the records are streamed from the catalogue (never held together), checked one at a time, and only the
counts are kept: mean score, score distribution, how often each check passed or failed, the most common gaps.
What is checked and how the score is computed: `ontology/fair.py`.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Table

from harvester.cli_context import lake_of
from ontology import fair

if TYPE_CHECKING:
    from dmlake.lake import Lake

out = Console()
err = Console(stderr=True)

_STATUS = {
    fair.Status.PASS: "[green]✓ pass[/]",
    fair.Status.FAIL: "[red]✗ fail[/]",
    fair.Status.NOT_APPLICABLE: "[dim]– n/a[/]",
}


def fair_command(
    ctx: typer.Context,
    source: Annotated[
        str | None, typer.Argument(metavar="SOURCE", help="Only this source (default: every source).")
    ] = None,
    record: Annotated[
        str | None, typer.Option("--record", help="One record's checklist (record URI or SOURCE/NATIVE_ID).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines instead of tables.")] = False,
    top: Annotated[int, typer.Option("--top", min=1, help="How many missing properties to list per source.")] = 5,
) -> None:
    """FAIR report: per source (mean score, distribution, what is missing most) or one record's checklist."""
    the_lake = lake_of(ctx)
    try:
        if record is not None:
            _one_record(the_lake, record, source, as_json)
            return
        known = sources_in(the_lake) if source is not None else []
        if source is not None and source not in known:
            listed = ", ".join(known) or "none: harvest first (`dmlake harvest`)"
            raise _fail(f"no records of source {source!r} in the catalogue at {the_lake.home.path}; sources: {listed}")
        if source is not None:
            summaries = [summarise_source(the_lake, source)]
        else:  # one pass over the whole catalogue rather than one per source
            every = fair.summarise(stored.record for stored in the_lake.catalogue.iter_records())
            summaries = [every[name] for name in sorted(every)]
        if as_json:
            _write_json({"sources": [summary.to_json(limit=top) for summary in summaries]})
            return
        if not summaries:
            out.print("the catalogue holds no records yet: harvest first (`dmlake harvest`)")
        for summary in summaries:
            print_summary(summary, top, out)
    finally:
        the_lake.close()


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


def sources_in(lake: Lake) -> list[str]:
    """The sources that have live records in the catalogue, by name."""
    return lake.live_sources()


def summarise_source(lake: Lake, source: str) -> fair.SourceSummary:
    """The FAIR aggregate of one source's live records, streamed from the catalogue."""
    summary = fair.SourceSummary(source)
    for stored in lake.catalogue.iter_records(source):
        summary.add(fair.assess(stored.record))
    return summary


def _one_record(lake: Lake, text: str, source: str | None, as_json: bool) -> None:
    from dmlake.lake import RecordNotFound

    try:
        stored = lake.record(text)
    except RecordNotFound as error:
        raise _fail(str(error)) from None
    if source is not None and stored.source != source:
        raise _fail(f"record {stored.id} is from source {stored.source!r}, not {source!r}", code=2)
    if stored.tombstone:
        err.print(f"[yellow]note:[/] this record is tombstoned: {stored.tombstone}")
    report = fair.assess(stored.record)
    if as_json:
        _write_json(report.to_json())
        return
    print_record(report, out)


def print_record(report: fair.RecordReport, out: Console) -> None:
    groups = " · ".join(f"{group} {score:g}" for group, score in report.group_scores().items())
    table = Table(
        title=f"FAIR checklist of {report.record_id}",
        caption=f"score {report.score:g} / 100 ({report.weight_passed} of {report.weight_applicable} weight "
        f"points; {groups})",
    )
    for column in ("principle", "check", "weight", "status", "found", "how to fix"):
        table.add_column(column, overflow="fold", justify="right" if column == "weight" else "left")
    for group in fair.GROUPS:
        table.add_section()
        for result in (r for r in report.results if r.check.group == group):
            check = result.check
            table.add_row(
                ", ".join(check.principles),
                check.label,
                str(check.weight),
                _STATUS[result.status],
                result.outcome.detail,
                check.hint if result.failed else "",
            )
    out.print(f"[bold]{report.title}[/]")
    out.print(table)


def print_summary(summary: fair.SourceSummary, top: int, out: Console) -> None:
    n = summary.records
    title = f"FAIR report of {summary.source}: {n:,} records, mean score {summary.mean_score:g}"
    if n:
        title += f" (min {summary.min_score:g}, max {summary.max_score:g})"
    table = Table(title=title)
    for column in ("principle", "check", "weight", "passed", "failed", "n/a", "pass rate"):
        table.add_column(column, justify="left" if column in ("principle", "check") else "right")
    for group in fair.GROUPS:
        table.add_section()
        for check in (c for c in fair.CHECKS if c.group == group):
            counts = summary.checks[check.id]
            applicable = counts.passed + counts.failed
            rate = f"{100 * counts.passed / applicable:.0f} %" if applicable else "–"
            table.add_row(
                ", ".join(check.principles),
                check.label,
                str(check.weight),
                f"{counts.passed:,}",
                f"[red]{counts.failed:,}[/]" if counts.failed else "0",
                f"{counts.not_applicable:,}",
                rate,
            )
    out.print(table)
    bins = "  ".join(
        f"{low}–{high if high < 100 else 100}: {count:,}"
        for (low, high), count in zip(fair.SCORE_BINS, summary.distribution, strict=True)
    )
    out.print(f"scores  {bins}")
    missing = summary.most_missing(top)
    if not missing:
        out.print("nothing missing: every applicable check passed for every record\n")
        return
    gaps = Table(title=f"most often missing in {summary.source}", title_justify="left")
    for column in ("check", "principle", "records", "how to fix at the source"):
        gaps.add_column(column, overflow="fold", justify="right" if column == "records" else "left")
    for check, count in missing:
        gaps.add_row(check.label, ", ".join(check.principles), f"{count:,} ({100 * count / n:.0f} %)", check.hint)
    out.print(gaps)
    out.print()


def _write_json(data: object) -> None:
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")
