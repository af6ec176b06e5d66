"""`dmlake`: harvest portals, search the catalogue, serve it, and run local portal replicas.

Every command works on one home (`--home DIR` or `$DMLAKE_HOME`): the catalogue, raw store and index live there.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from dmlake.follow import IndexFollower
from harvester.analysis_cli import open_command, plot_command
from harvester.config import ConfigError
from harvester.doi_cli import doi_app
from harvester.fair_cli import fair_command
from harvester.gc_tuning import tune_for_bulk_work
from harvester.graph_cli import export_command, graph_command, sparql_command
from harvester.identity_cli import identity_app
from harvester.replication_cli import replication_app
from harvester.schedule_cli import schedule_app, scheduler_app
from harvester.source_cli import source_app
from harvester.triage_cli import errors_app, remap_command, run_abort_command
from harvester.where_cli import where

if TYPE_CHECKING:
    from dmlake.lake import Lake
    from harvester.harvest import Progress as HarvestProgress
    from harvester.harvest import SourceReport
    from harvester.notify import Notifier
    from sandbox.control import DoiSetup

app = typer.Typer(
    name="dmlake",
    help="Federated data lake and metadata harvester for dark-matter, astroparticle and HEP open data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
sandbox_app = typer.Typer(
    help="Local replicas of the portal APIs, for demos, tests and benchmarks.", no_args_is_help=True
)
deletions_app = typer.Typer(help="Records that vanished from a listing beyond the guard.", no_args_is_help=True)
run_app = typer.Typer(help="One harvest run.", no_args_is_help=True)
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(deletions_app, name="deletions")
app.add_typer(run_app, name="run")
app.add_typer(identity_app, name="identity")
app.add_typer(doi_app, name="doi")
app.add_typer(errors_app, name="errors")
app.add_typer(schedule_app, name="schedule")
app.add_typer(scheduler_app, name="scheduler")
app.add_typer(source_app, name="source")
app.add_typer(replication_app, name="replication")
app.command("remap")(remap_command)
app.command("where")(where)
app.command("open")(open_command)
app.command("plot")(plot_command)
run_app.command("abort")(run_abort_command)

out = Console()
err = Console(stderr=True)


class _State:
    home: str | None = None
    config: Path | None = None
    lake: Lake | None = None


state = _State()


def fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


def lake() -> Lake:
    from dmlake.lake import Lake

    if state.lake is None:
        state.lake = Lake.open(state.home)
    return state.lake


@app.callback()
def main_options(
    home: Annotated[
        str | None,
        typer.Option("--home", envvar="DMLAKE_HOME", help="Folder of the catalogue, raw store and index."),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", envvar="DMLAKE_CONFIG", help="Sources file (TOML). Default: the live portals."),
    ] = None,
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="More log output (-vv: debug).")] = 0,
) -> None:
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("httpx").setLevel(max(level, logging.WARNING))
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        # started as a background job of a script, which ignores SIGINT: `dmlake run abort` stops a run with it
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if state.lake is not None:  # another invocation in the same process (an embedding program, the tests)
        state.lake.close()
        state.lake = None
    state.home = home
    state.config = config


# -- sources and harvesting --------------------------------------------------------------------------------------
@app.command()
def sources(
    config: Annotated[Path | None, typer.Option("--config", help="Sources file (overrides the global option).")] = None,
) -> None:
    """List the configured sources."""
    try:
        configured = lake().sources(config or state.config)
    except ConfigError as error:
        raise fail(str(error)) from None
    table = Table(title=f"Sources ({configured.path})")
    for column in ("name", "kind", "url", "enabled", "request rate (from)", "at once"):
        table.add_column(column, overflow="fold")  # a URL cut short with an ellipsis is no use to anyone
    for source in configured.sources.values():
        limits = source.spec.limits
        rate = f"{limits.requests_per_minute:g}/min" if limits.requests_per_minute else "unlimited"
        table.add_row(
            source.name,
            source.spec.kind,
            source.spec.url,
            "yes" if source.enabled else "no",
            f"{rate} ({source.rate_origin})",
            str(limits.concurrency),
        )
    out.print(table)


@app.command()
def harvest(
    names: Annotated[
        list[str] | None, typer.Argument(metavar="[SOURCE]...", help="Sources to harvest (default: all).")
    ] = None,
    config: Annotated[Path | None, typer.Option("--config", help="Sources file (overrides the global option).")] = None,
    full: Annotated[bool, typer.Option("--full", help="List everything instead of asking for changes only.")] = False,
    confirm_deletions: Annotated[
        bool, typer.Option("--confirm-deletions", help="Apply mass disappearances without holding them back.")
    ] = False,
    no_index: Annotated[bool, typer.Option("--no-index", help="Do not update the search index afterwards.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Fetch and map, compare with the catalogue, write nothing.")
    ] = False,
    limit: Annotated[
        int | None, typer.Option("--limit", help="With --dry-run: records to look at (default 100, 0: all).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="With --dry-run: print the report as JSON.")] = False,
) -> None:
    """Harvest sources (incrementally unless --full) and update the index."""
    if dry_run or limit is not None or as_json:
        from harvester import dry_run as dry

        wanted = dry.DEFAULT_LIMIT if limit is None else limit
        code = dry.command(
            names or [], home=state.home, config=config or state.config, limit=wanted, full=full, as_json=as_json,
            dry=dry_run,
        )  # fmt: skip
        raise typer.Exit(code)
    the_lake = lake()
    try:
        configured = the_lake.sources(config or state.config)
        chosen = configured.select(tuple(names or ()))
    except ConfigError as error:
        raise fail(str(error)) from None
    reports = []
    show_progress = out.is_terminal
    follower = None if no_index else IndexFollower(the_lake.home.path, the_lake.home.database_url).start()
    notifier = _notifier(the_lake, configured)
    try:
        with the_lake.harvester(configured.contact) as harvester:
            for source in chosen:
                reports.append(_harvest_one(harvester, source, full, confirm_deletions, show_progress))
                _notify(notifier, source, reports[-1].run_id)
    finally:
        notifier.close()
        if follower is not None:
            started = time.monotonic()
            followed, clean = follower.finish(timeout=3600)
            # whatever the follower did not get to (it failed, or was stopped) is indexed here
            applied = followed + the_lake.update_index()
            note = "" if clean else " (the index follower failed; caught up here)"
            err.print(f"index: {applied} changes applied in {time.monotonic() - started:.1f} s after the harvest{note}")
    _print_reports(reports)
    if any(r.state != "succeeded" for r in reports):
        raise typer.Exit(1)


def _notifier(the_lake: Lake, configured: Any) -> Notifier:
    from harvester.notify import Notifier

    return Notifier(the_lake.catalogue.engine, configured.notify, contact=configured.contact)


def _notify(notifier: Notifier, source: Any, run_id: int) -> None:
    """Tell the source's data managers what the run needs from them (best effort: a failed delivery is reported
    here, never fails the harvest)."""
    for delivery in notifier.after_run(source, run_id):
        if delivery.ok:
            err.print(f"{source.name}: run {run_id} notified by {delivery.channel} to {delivery.target}")
        else:
            err.print(
                f"[yellow]{source.name}: the {delivery.channel} notification of run {run_id} to {delivery.target} "
                f"was not delivered:[/] {delivery.error}"
            )


def _harvest_one(harvester: Any, source: Any, full: bool, confirm: bool, show_progress: bool) -> SourceReport:
    from harvester.runs import SourceBusy

    if not show_progress:
        try:
            report: SourceReport = harvester.harvest(source, full=full, confirm_deletions=confirm)
        except (SourceBusy, ConfigError) as error:
            raise fail(str(error)) from None
        return report
    with Progress(
        TextColumn("[bold]{task.fields[source]}"),
        BarColumn(bar_width=None, pulse_style="cyan"),
        TextColumn("{task.completed:>8,.0f} records"),
        TextColumn("{task.fields[rate]:>7,.0f}/s"),
        TextColumn("{task.fields[pages]:>5} pages"),
        TextColumn("[red]{task.fields[errors]} errors"),
        TimeElapsedColumn(),
        console=out,
        transient=False,
    ) as bar:
        task = bar.add_task(source.name, total=None, source=source.name, rate=0.0, pages=0, errors=0)

        def update(progress: HarvestProgress) -> None:
            bar.update(
                task, completed=progress.records, rate=progress.rate, pages=progress.pages, errors=progress.errors
            )

        try:
            report = harvester.harvest(source, full=full, confirm_deletions=confirm, on_progress=update)
        except (SourceBusy, ConfigError) as error:
            raise fail(str(error)) from None
        bar.update(task, total=max(1, bar.tasks[0].completed))
        return report


def _print_reports(reports: list[SourceReport]) -> None:
    table = Table(title="Harvest")
    for column in (
        "source",
        "run",
        "mode",
        "state",
        "added",
        "updated",
        "unchanged",
        "deleted",
        "errored",
        "quarantined",
        "duration",
    ):
        table.add_column(column, justify="right" if column not in ("source", "mode", "state") else "left")
    for r in reports:
        c = r.counts
        style = "green" if r.state == "succeeded" else "red"
        table.add_row(
            r.source,
            str(r.run_id),
            r.mode,
            f"[{style}]{r.state}[/]",
            f"{c.added:,}",
            f"{c.updated:,}",
            f"{c.unchanged:,}",
            f"{c.deleted:,}",
            f"{c.errored:,}",
            f"{c.quarantined:,}",
            f"{r.seconds:.1f} s",
        )
    out.print(table)
    for r in reports:
        if r.message:
            (err if r.state != "succeeded" else out).print(f"[bold]{r.source}[/]: {r.message}")


@app.command()
def index(
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Drop the index and index every record again.")] = False,
) -> None:
    """Bring the search index up to date with the catalogue's change feed."""
    the_lake = lake()
    started = time.monotonic()
    applied = the_lake.rebuild_index() if rebuild else the_lake.update_index()
    out.print(
        f"{applied} changes applied in {time.monotonic() - started:.1f} s; {the_lake.index.count():,} datasets in the "
        "index (the records of one dataset from several sources count once)"
    )


# -- searching and showing ---------------------------------------------------------------------------------------
@app.command()
def search(
    text: Annotated[
        str,
        typer.Argument(
            help="Words, phrases, AND/OR/-word and FIELD:value, e.g. 'experiment:cms energy:[1 TeV TO 100 TeV]' "
            "(empty: everything)."
        ),
    ] = "",
    facet: Annotated[
        list[str] | None,
        typer.Option("--facet", help="Count values of a field, or year_histogram / energy_histogram (repeatable)."),
    ] = None,
    filter_: Annotated[
        list[str] | None,
        typer.Option(
            "--filter",
            help="field=value, field=low..high, energy=1TeV..100TeV, date=2015..2018-06, sqrt_s=13TeV (repeatable).",
        ),
    ] = None,
    sort: Annotated[str | None, typer.Option("--sort", help="relevance, issued, -issued, title, ...")] = None,
    size: Annotated[int, typer.Option("--size", help="Hits per page.")] = 10,
    cursor: Annotated[str | None, typer.Option("--cursor", help="next_cursor of the previous page.")] = None,
    fields: Annotated[
        str | None, typer.Option("--fields", help="Summary fields per hit, comma-separated (with --json).")
    ] = None,
    highlight: Annotated[
        bool, typer.Option("--highlight", help="Show the matched fragments of title and description.")
    ] = False,
    disjunctive: Annotated[
        bool,
        typer.Option(
            "--disjunctive",
            help="Count each facet without the filters on its own field (year facets without --filter year=, "
            "energy_histogram without energy=): a filtered field's other values stay listed with the datasets each "
            "would add. Hits and total are unchanged.",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON.")] = False,
) -> None:
    """Search the catalogue: text with field syntax, filters, facets and histograms, cursor paging."""
    from indexer.query import HISTOGRAMS, Query, QueryError

    try:
        query = Query.parse(
            text,
            filters=filter_ or (),
            facets=facet or (),
            sort=sort,
            size=size,
            cursor=cursor,
            fields=None if fields is None else [fields],
            highlight=highlight,
            disjunctive=disjunctive,
        )
        result = lake().search(query)
    except QueryError as error:
        where = f" at position {error.position}" if error.position else ""
        hint = f" ({error.hint})" if error.hint else ""
        raise fail(f"{error.parameter}{where}: {error.message}{hint}", code=2) from None
    if as_json:
        sys.stdout.write(orjson.dumps(result.to_json(), option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    table = Table(title=f"{result.total:,} datasets", show_lines=False)
    for column in ("record", "title", "experiment", "year", "also from"):
        table.add_column(column, overflow="fold")
    for hit in result.hits:
        fields_of = hit.fields
        short = hit.id.rsplit("/record/", 1)[-1]
        experiments = fields_of.get("experiments") or fields_of.get("experiment") or []
        # the other records of the same dataset (other sources, other versions): `dmlake identity show` lists them
        others = [r for r in fields_of.get("records") or [] if r.get("id") != hit.id]
        elsewhere = ", ".join(dict.fromkeys(str(r.get("source")) for r in others))
        also = f"{elsewhere} ({len(others)})" if others else ""
        title = str(fields_of.get("title", "") or "")
        if hit.highlight:
            marked = [*hit.highlight.get("title", []), *hit.highlight.get("description", [])[:1]]
            title = "\n".join(_marked_markup(fragment) for fragment in marked) or title
        table.add_row(short, title, ", ".join(experiments), str(fields_of.get("year") or ""), also)
    out.print(table)
    for name, values in result.facets.items():
        if name in HISTOGRAMS:
            _print_histogram(name, values)
        else:
            out.print(f"[bold]{name}[/]: " + ", ".join(f"{v.value} ({v.count:,})" for v in values))
    if result.next_cursor:
        out.print(f"next page: --cursor {result.next_cursor}", soft_wrap=True)


def _marked_markup(fragment: str) -> str:
    """A highlighted fragment (HTML with <mark>) as terminal markup: the marks bold, the rest plain text."""
    import html

    from rich.markup import escape

    parts = fragment.replace("</mark>", "<mark>").split("<mark>")
    return "".join(
        f"[bold yellow]{escape(html.unescape(part))}[/]" if i % 2 else escape(html.unescape(part))
        for i, part in enumerate(parts)
    )


def _print_histogram(name: str, values: Any) -> None:
    """A histogram facet as rows of bars scaled to the largest bucket."""
    out.print(f"[bold]{name}[/]:")
    if not values:
        out.print("  (no datasets)")
        return
    largest = max(v.count for v in values) or 1
    width = max(len(v.value) for v in values)
    for v in values:
        bar = "█" * round(30 * v.count / largest)
        out.print(f"  {v.value:>{width}} {bar} {v.count:,}")


@app.command()
def show(
    record_id: Annotated[str, typer.Argument(metavar="ID", help="Record URI or SOURCE/NATIVE_ID.")],
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="json, jsonld, turtle, rdfxml, ntriples, datacite-xml, datacite-json, schemaorg, oai-dc",
        ),
    ] = "json",
) -> None:
    """Print one record in a standard format."""
    from dmlake.lake import RecordNotFound
    from ontology.datacite import DataCiteError
    from ontology.views import FORMATS, render

    if fmt not in FORMATS:
        raise fail(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}", code=2)
    try:
        stored = lake().record(record_id)
    except RecordNotFound as error:
        raise fail(str(error)) from None
    if stored.tombstone:
        err.print(f"[yellow]note:[/] this record is tombstoned: {stored.tombstone}")
    try:
        content, _media_type = render(stored.record, fmt)
    except DataCiteError as error:
        raise fail(f"{record_id} cannot be written as {fmt}: {error}") from None
    sys.stdout.write(content if isinstance(content, str) else content.decode())
    if not (content.endswith("\n") if isinstance(content, str) else content.endswith(b"\n")):
        sys.stdout.write("\n")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0: any free port).")] = 8000,
    search_threads: Annotated[
        int | None,
        typer.Option(
            help="Searches of the embedded index run at once, the others queued in arrival order (0: no bound); "
            "default DMLAKE_SEARCH_THREADS, else cores × 3 / 2 + 1 (as Elasticsearch's search pool).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Serve the search API, record pages and the web page."""
    import uvicorn

    from portal.app import create_app
    from portal.sparql import follow_graph

    the_lake = lake()
    bound = bound_searches(the_lake, search_threads)
    the_lake.update_index()
    follow_graph(the_lake)
    searching = f"{bound} searches at a time" if bound else "searches unbounded"
    out.print(
        f"serving the catalogue at {the_lake.home.path} on http://{host}:{port}/ (OpenAPI: /openapi.json, "
        f"SPARQL: /sparql, OAI-PMH: /oai; {searching})"
    )
    uvicorn.run(create_app(the_lake), host=host, port=port, log_level="warning")


def bound_searches(the_lake: Lake, threads: int | None = None) -> int:
    """The service's bound on concurrent searches (`Lake.bound_searches`), a bad setting stopping it with why."""
    try:
        return the_lake.bound_searches(threads)
    except ValueError as error:
        raise fail(str(error)) from None


app.command("fair")(fair_command)
app.command("sparql")(sparql_command)
app.command("graph")(graph_command)
app.command("export")(export_command)


# -- runs, errors, deletions ------------------------------------------------------------------------------------
@app.command()
def runs(source: Annotated[str | None, typer.Argument(help="Only this source.")] = None, limit: int = 20) -> None:
    """Recent harvest runs."""
    from harvester.runs import Runs

    table = Table(title="Runs")
    for column in (
        "run",
        "source",
        "mode",
        "state",
        "trigger",
        "started",
        "duration",
        "added",
        "updated",
        "unchanged",
        "deleted",
        "errors",
    ):
        table.add_column(column)
    for row in Runs(lake().catalogue.engine).recent(source, limit):
        c = row.counts
        duration = f"{row.duration_seconds:.1f} s" if row.duration_seconds is not None else ""
        table.add_row(
            str(row.id),
            row.source,
            row.mode,
            row.state,
            row.trigger or "by hand",
            f"{row.started_at:%Y-%m-%d %H:%M:%S}",
            duration,
            str(c.added),
            str(c.updated),
            str(c.unchanged),
            str(c.deleted),
            str(c.errored + c.quarantined),
        )
    out.print(table)


@run_app.command("show")
def run_show(run_id: Annotated[int, typer.Argument(metavar="ID")]) -> None:
    """Counts, timings, requests and per-record errors of one run."""
    from harvester.runs import Runs

    runs_ = Runs(lake().catalogue.engine)
    row = runs_.get(run_id)
    if row is None:
        raise fail(f"no run {run_id}")
    out.print(f"run {row.id} of [bold]{row.source}[/] ({row.mode}): {row.state}, started {row.trigger or 'by hand'}")
    if row.queued_at is not None:
        out.print(f"queued {row.queued_at:%Y-%m-%d %H:%M:%S} UTC, waited {row.waited_seconds or 0:.1f} s")
    out.print(f"started {row.started_at:%Y-%m-%d %H:%M:%S} UTC, {row.duration_seconds or 0:.1f} s, {row.pages} pages")
    if row.finished_at is None and row.heartbeat_at is not None:
        out.print(f"last heartbeat {row.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC (pid {row.pid} on {row.host})")
    out.print(f"requests {row.requests}, retries {row.retries}, not modified {row.not_modified}")
    c = row.counts
    out.print(
        f"added {c.added}, updated {c.updated}, unchanged {c.unchanged}, deleted {c.deleted}, "
        f"errored {c.errored}, quarantined {c.quarantined}, pending deletions {c.pending_deletions}"
    )
    if row.message:
        out.print(row.message)
    for native_id, url, message in runs_.errors(run_id):
        out.print(f"  [red]fetch error[/] {native_id} {url}: {message}")
    for entry in lake().catalogue.quarantined(row.source):
        if entry.run_id == run_id:
            out.print(f"  [yellow]quarantined[/] {entry.native_id} {entry.stage} {entry.field}: {entry.message}")


@deletions_app.command("list")
def deletions_list(source: Annotated[str | None, typer.Argument()] = None) -> None:
    """Disappearances waiting for confirmation."""
    pending = lake().catalogue.pending_deletions(source)
    for name, record_id, detected in pending:
        out.print(f"{name}\t{record_id}\t{detected:%Y-%m-%d %H:%M}")
    out.print(f"{len(pending)} pending deletions")


@deletions_app.command("confirm")
def deletions_confirm(source: Annotated[str, typer.Argument()]) -> None:
    """Tombstone a source's held-back disappearances (and update the index)."""
    the_lake = lake()
    done = the_lake.catalogue.confirm_pending_deletions(source)
    the_lake.update_index()
    out.print(f"{len(done)} records tombstoned")


@deletions_app.command("reject")
def deletions_reject(source: Annotated[str, typer.Argument()]) -> None:
    """Keep the records: forget the held-back disappearances of a source."""
    out.print(f"{lake().catalogue.reject_pending_deletions(source)} pending deletions dropped")


# -- the main job -----------------------------------------------------------------------------------------------
@app.command()
def demo(
    generate: Annotated[int, typer.Option("--generate", help="Generated records per portal replica.")] = 2000,
    corpus: Annotated[
        Path | None, typer.Option("--corpus", help="Serve these real records instead of generated ones.")
    ] = None,
    port: Annotated[int, typer.Option(help="Port of the search API and page (0: any free port).")] = 8000,
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve", help="Keep serving after the summary.")] = True,
) -> None:
    """Start the portal replicas, harvest them, build catalogue and index, and serve the search API and page."""
    import socket

    import uvicorn

    from harvester.config import parse
    from indexer.query import Query
    from portal.app import create_app
    from sandbox import build_replicas, start

    the_lake = lake()
    bound_searches(the_lake)  # before the harvest: a bad setting is refused before minutes of work
    out.print(f"home: {the_lake.home.path}")
    replicas = build_replicas(corpus=corpus.resolve() if corpus else None, generate=None if corpus else generate)
    with start(replicas) as running:
        for name, url in running.urls.items():
            out.print(f"replica {name:<14} {url}")
        from connectors import registry

        configured = parse(running.sources_toml(), "<sandbox>", sorted(registry()))
        with the_lake.harvester() as harvester:
            reports = [
                _harvest_one(harvester, source, False, False, out.is_terminal) for source in configured.sources.values()
            ]
        started = time.monotonic()
        applied = the_lake.update_index()
        out.print(f"index: {applied:,} changes applied in {time.monotonic() - started:.1f} s")
        _print_reports(reports)
    result = the_lake.search(Query.parse("", facets=["source", "experiment", "messenger"], size=0))
    out.print(f"[bold]{result.total:,} records[/] in the catalogue")
    for name, values in result.facets.items():
        out.print(f"  {name}: " + ", ".join(f"{v.value} ({v.count:,})" for v in values[:8]))
    if not serve_after:
        return
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)  # before the URL is printed: a client that reads it at once is queued, not refused
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    out.print(
        f"[bold green]serving[/] {url}  (API: {url}api/search?q=dark+matter, OpenAPI: {url}openapi.json, "
        f"SPARQL: {url}sparql, OAI-PMH: {url}oai?verb=Identify); Ctrl-C stops"
    )
    from portal.sparql import follow_graph

    follow_graph(the_lake)
    server = uvicorn.Server(uvicorn.Config(create_app(the_lake), log_level="warning"))
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        threading.Event().set()


# -- the sandbox ------------------------------------------------------------------------------------------------
@sandbox_app.command("up")
def sandbox_up(
    corpus: Annotated[
        Path | None, typer.Option("--corpus", help="Serve the real records under DIR (../shared/corpus layout).")
    ] = None,
    generate: Annotated[int | None, typer.Option("--generate", help="Serve N generated records per portal.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the generated records.")] = 0,
    kinds: Annotated[str, typer.Option(help="Comma-separated portal kinds (default: all).")] = "",
    sources_out: Annotated[
        Path | None, typer.Option("--sources-out", help="Write a sources file naming the replicas.")
    ] = None,
    datacite: Annotated[
        bool, typer.Option("--datacite/--no-datacite", help="Serve the DataCite replica and point doi.toml at it.")
    ] = True,
) -> None:
    """Start replicas of the portal APIs on 127.0.0.1 (ephemeral ports), and of DataCite's REST API for DOIs."""
    from sandbox.control import SandboxError, point_doi_policy, up

    if corpus is not None and generate is not None:
        raise fail("give --corpus DIR or --generate N, not both", code=2)
    if corpus is not None and not corpus.is_dir():
        raise fail(f"{corpus} is not a folder", code=2)
    home = lake().home
    target = sources_out or home.sources_file
    try:
        started = up(
            home.sandbox_state,
            home.log_dir / "sandbox.log",
            corpus=corpus.resolve() if corpus else None,
            generate=generate if corpus is None else None,
            seed=seed,
            kinds=[k for k in kinds.split(",") if k] or None,
            sources_out=target.resolve(),
            services=["datacite"] if datacite else None,
        )
    except SandboxError as error:
        raise fail(str(error)) from None
    for name, info in started["sources"].items():
        out.print(f"{name:<14} {info['kind']:<14} {info['url']}")
    out.print(f"sources file: {target.resolve()} (pid {started['pid']}); stop with `dmlake sandbox down`")
    if "datacite" in started.get("services", {}):
        _sandbox_datacite(point_doi_policy(home.path, started["services"]["datacite"]["url"]), target.resolve())


def _sandbox_datacite(setup: DoiSetup, sources_file: Path) -> None:
    """Say where the DataCite replica is and how the DOI commands reach it; note it in the sources file too."""
    how = "" if setup.is_home_policy else f" --config {setup.policy}"
    note = [
        f"datacite replica (DOIs, not a source): {setup.endpoint}  prefix 10.80000, test account {setup.username}",
        f"DOI policy for it: {setup.policy} (test credentials in {setup.secrets}, or in the environment: "
        f"DATACITE_USERNAME={setup.username} DATACITE_PASSWORD={setup.password}, which wins)",
        f"try: dmlake doi reserve{how} · dmlake doi publish --source dmdc{how} · dmlake doi check{how}",
    ]
    if not setup.is_home_policy:
        note.insert(2, "(the home's own doi.toml is left alone)")
    for line in note:
        out.print(line, markup=False, highlight=False)
    with sources_file.open("a", encoding="utf-8") as handle:
        handle.write("\n".join(f"# {line}" for line in note) + "\n")


@sandbox_app.command("down")
def sandbox_down() -> None:
    """Stop the replicas (and remove the DOI policy `up` wrote for the DataCite replica)."""
    from sandbox.control import down, remove_doi_policy

    home = lake().home
    pid = down(home.sandbox_state)
    out.print("no sandbox was running" if pid is None else f"sandbox (pid {pid}) stopped")
    for path in remove_doi_policy(home.path):
        out.print(f"removed {path}")


@sandbox_app.command("status")
def sandbox_status() -> None:
    """Show the running replicas."""
    from sandbox.control import status

    running = status(lake().home.sandbox_state)
    if running is None:
        out.print("no sandbox is running")
        return
    for name, info in [*running["sources"].items(), *running.get("services", {}).items()]:
        out.print(f"{name:<14} {info['kind']:<14} {info['url']}")


def main() -> None:
    tune_for_bulk_work()  # a CLI process runs one command, and the heavy ones (harvest, index, export) work in bulk
    app()


if __name__ == "__main__":
    main()
