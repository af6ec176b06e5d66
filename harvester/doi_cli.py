"""`dmlake doi …`: DataCite DOIs for the records the policy chooses (doi/, README "DOIs").

dmlake doi reserve [--all]             run the registrar over the change feed: drafts for new records, metadata
                                       updates, tombstoned records hidden; then retry what failed before (--all:
                                       every record again, after a change of the policy)
dmlake doi publish ID… | --source S    a data manager's approval: the records' DOIs become findable
dmlake doi status [--source S] [--json] every DOI we hold (releases, concepts, tables, files): intended and
                                       confirmed state, approval, last report
dmlake doi check [--fix]               compare DataCite's copy of every DOI we own with our records, field by field

The policy is the `[doi]` table of the home's `doi.toml` (or `--config FILE`); credentials come from
DATACITE_USERNAME / DATACITE_PASSWORD or the policy's secrets file, and are never printed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from harvester.cli_context import lake_of

if TYPE_CHECKING:
    from dmlake.lake import Lake
    from doi.registrar import DoiRegistrar, Outcome

doi_app = typer.Typer(help="DataCite DOIs: reserve drafts, publish, hide on deletion, check for drift.",
                      no_args_is_help=True)  # fmt: skip
out = Console()
err = Console(stderr=True)
ConfigOption = Annotated[Path | None, typer.Option("--config", help="DOI policy file (default: HOME/doi.toml).")]


def _registrar(lake: Lake, config: Path | None) -> DoiRegistrar:
    from connectors.base import Limits
    from connectors.http import HttpClient
    from doi.client import DataCiteClient
    from doi.policy import PolicyError, load
    from doi.registrar import DoiRegistrar
    from doi.store import DoiStore
    from harvester.schema import sources

    try:
        policy = load(config or lake.home.path / "doi.toml")
        credentials = policy.credentials()
    except PolicyError as error:
        err.print(f"[red]error:[/] {error}")
        raise typer.Exit(2) from None
    with lake.catalogue.engine.connect() as conn:
        kinds = {row.name: row.kind for row in conn.execute(select(sources.c.name, sources.c.kind))}
    rate = policy.requests_per_minute
    http = HttpClient(Limits(requests_per_minute=rate, concurrency=1))
    client = DataCiteClient(policy.endpoint, credentials, http, requests_per_minute=rate)
    return DoiRegistrar(lake.catalogue, DoiStore(lake.catalogue.engine), client, policy, kinds)


@contextmanager
def _locked(registrar: DoiRegistrar) -> Iterator[None]:
    """Hold the catalogue's DOI lease while writing to DataCite; a second registrar is refused, saying who holds it."""
    from doi.lock import RegistrarBusy, RegistrarLock

    lock = RegistrarLock(registrar.store.engine)
    try:
        lock.acquire()
    except RegistrarBusy as error:
        err.print(f"[red]error:[/] {error}")
        raise typer.Exit(3) from None
    registrar.heartbeat = lock.renew
    try:
        yield
    finally:
        lock.release()


def _summary(outcome: Outcome) -> int:
    for line in outcome.reserved:
        out.print(f"reserved {line}")
    for line in outcome.changed:
        out.print(line)
    for key, report in outcome.failed.items():
        err.print(f"[red]failed[/] {key}: {report}")
    out.print(
        f"{len(outcome.reserved)} reserved, {len(outcome.changed)} DataCite changes, {len(outcome.failed)} failed"
    )
    return 1 if outcome.failed else 0


def _run(action: str, call: object) -> object:
    from doi.client import DataCiteError

    try:
        return call() if callable(call) else None
    except DataCiteError as error:
        err.print(f"[red]error:[/] {action}: {error}; nothing further was sent, run the command again later")
        raise typer.Exit(1) from None


@doi_app.command("reserve")
def reserve_command(
    ctx: typer.Context,
    config: ConfigOption = None,
    every: Annotated[
        bool, typer.Option("--all", help="Go over every record again (after a policy change: a source, parts).")
    ] = False,
) -> None:
    """Run the registrar over the change feed (drafts, metadata updates, hiding), then retry earlier failures."""
    registrar = _registrar(lake_of(ctx), config)
    with _locked(registrar):
        outcome = _run("reserving DOIs", registrar.reserve_all if every else registrar.reserve)
    raise typer.Exit(_summary(outcome))  # type: ignore[arg-type]


@doi_app.command("publish")
def publish_command(
    ctx: typer.Context,
    records: Annotated[list[str] | None, typer.Argument(help="Record ids (URI or SOURCE/NATIVE_ID).")] = None,
    source: Annotated[str | None, typer.Option("--source", help="Every DOI of this source.")] = None,
    config: ConfigOption = None,
) -> None:
    """Approve DOIs: they become findable (first reserving any the feed has not brought yet)."""
    if not records and source is None:
        err.print("[red]error:[/] name record ids or --source SOURCE")
        raise typer.Exit(2)
    lake = lake_of(ctx)
    registrar = _registrar(lake, config)
    with _locked(registrar):
        _publish(lake, registrar, records or [], source)


def _publish(lake: Lake, registrar: DoiRegistrar, records: list[str], source: str | None) -> None:
    from dmlake.lake import RecordNotFound

    _run("reserving DOIs", registrar.reserve)
    keys: list[str] = []
    for text in records:
        try:
            keys.append(lake.record(text).id)
        except RecordNotFound as error:
            err.print(f"[red]error:[/] {error}")
            raise typer.Exit(2) from None
    if source is not None:
        keys += [row.key for row in registrar.store.rows(source=source, kind="record") if row.live]
    missing = [key for key in keys if registrar.store.get(key) is None]
    if missing:
        err.print(f"[red]error:[/] no DOI for {', '.join(missing)}: the [doi] policy does not choose these records")
        raise typer.Exit(2)
    outcome = _run("publishing DOIs", lambda: registrar.publish(keys))
    raise typer.Exit(_summary(outcome))  # type: ignore[arg-type]


@doi_app.command("status")
def status_command(
    ctx: typer.Context,
    source: Annotated[str | None, typer.Option("--source", help="Only this source's DOIs.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every DOI we hold: the state we intend, the state DataCite confirmed, approval, and the last failure."""
    from doi.store import DoiStore

    lake = lake_of(ctx)
    rows = list(DoiStore(lake.catalogue.engine).rows(source=source))
    if as_json:
        fields = ("key", "doi", "source", "kind", "intended", "confirmed", "approved", "live", "report",
                  "parent_key", "part_key")  # fmt: skip
        out.print_json(json.dumps([{f: getattr(r, f) for f in fields} for r in rows]))
        return
    table = Table(title=f"{len(rows)} DOIs")
    for column in ("DOI", "record", "intended", "confirmed", "approved", "report"):
        table.add_column(column, overflow="fold")
    for r in rows:
        gone = " (not in a live release)" if r.parent_key else " (tombstoned)"
        table.add_row(r.doi, r.key if r.live else f"{r.key}{gone}", r.intended, r.confirmed or "-",
                      "yes" if r.approved else "no", r.report or "")  # fmt: skip
    out.print(table)


@doi_app.command("check")
def check_command(
    ctx: typer.Context,
    fix: Annotated[bool, typer.Option("--fix", help="Update DataCite where it differs from our records.")] = False,
    source: Annotated[str | None, typer.Option("--source", help="Only this source's DOIs.")] = None,
    config: ConfigOption = None,
) -> None:
    """Compare DataCite's metadata and state of every DOI we own with our records; report drift (and mend it)."""
    from doi.registrar import DoiChecker, Drift

    registrar = _registrar(lake_of(ctx), config)
    with _locked(registrar) if fix else nullcontext():
        drifts: list[Drift] = _run("checking DOIs", lambda: DoiChecker(registrar).check(fix=fix, source=source))  # type: ignore[assignment]
    for drift in drifts:
        out.print(f"drift {drift.doi} {drift.field}: ours {json.dumps(drift.ours, ensure_ascii=False)} · "
                  f"DataCite {json.dumps(drift.theirs, ensure_ascii=False)}")  # fmt: skip
    orphans = [d for d in drifts if d.field == "(unknown to dmlake)"]
    drifted = [d for d in drifts if d not in orphans]
    dois = len({d.doi for d in drifted})
    out.print(f"{dois} DOIs drifted ({len(drifted)} fields)" + ("; mended" if fix and drifted else ""))
    if orphans:
        out.print(f"{len(orphans)} DOIs under our prefix and suffix scheme are unknown to this catalogue (not mended: "
                  "registered and findable DOIs cannot be deleted; look at them in DataCite Fabrica)")  # fmt: skip
    raise typer.Exit(1 if orphans or (drifted and not fix) else 0)
