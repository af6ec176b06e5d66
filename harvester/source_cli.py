"""`dmlake source add`: probe an endpoint, propose its sources-file table, and (with --write) append it.

dmlake source add --url URL [--kind KIND] [--name NAME] [--option KEY=VALUE]... [--config FILE] [--write] [--json]

The sources file written to is `--config FILE`, else the global `--config`, else the home's `sources.toml`. A home
without one uses dmlake's built-in default sources; the first `--write` starts its `sources.toml` from them, so the
sources that applied before still apply after.
"""

from __future__ import annotations

import os
import sys
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harvester import config as sources_config
from harvester.home import default_home
from harvester.onboarding import (
    ProbeError,
    ProbeReport,
    SourceExists,
    append_source,
    probe,
    render_toml,
)

source_app = typer.Typer(
    help="Onboard a source: probe its endpoint and propose its configuration.", no_args_is_help=True
)
out = Console()
err = Console(stderr=True)


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(message)}")
    return typer.Exit(code)


def sources_path(ctx: typer.Context, config: Path | None) -> tuple[Path, bool]:
    """The sources file to read and write, and whether it is the home's own (which starts from the defaults)."""
    root = ctx.find_root().params
    chosen = config or root.get("config")
    if chosen:
        return Path(chosen), False
    home = root.get("home") or os.environ.get("DMLAKE_HOME")
    folder = Path(home).expanduser() if home else default_home()
    return folder.resolve() / "sources.toml", True


def parse_option(text: str) -> tuple[str, Any]:
    """`KEY=VALUE`: the value read as TOML (`page_size=50`, `sets=["a","b"]`, `all_versions=false`), else as text."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ValueError(f"--option {text!r}: write KEY=VALUE, e.g. --option communities=escape2020")
    try:
        return key, tomllib.loads(f"v = {value.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        return key, value.strip()


@source_app.command("add")
def add_command(
    ctx: typer.Context,
    url: Annotated[str, typer.Option("--url", help="The endpoint: an OAI-PMH base URL, a portal, a community page.")],
    kind: Annotated[
        str | None,
        typer.Option("--kind", help="oai, cernopendata, zenodo, hepdata, gitlab or kcdc (default: detected)."),
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="The source's name (default: from the endpoint).")] = None,
    option: Annotated[
        list[str] | None,
        typer.Option("--option", "-o", help="A connector option as KEY=VALUE (TOML value), repeatable."),
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="Sources file to check names against and to write to.")
    ] = None,
    write: Annotated[bool, typer.Option("--write", help="Append the proposed source to the sources file.")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="With --write: write even though the first page did not map.")
    ] = False,
    sample: Annotated[int, typer.Option("--sample", help="Records of the first page to fetch and map.", min=1)] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Probe an endpoint and propose its table for the sources file (Identify, formats and sets for OAI-PMH; a first
    page fetched and mapped for every kind); --write appends it to the sources file."""
    try:
        options = dict(parse_option(text) for text in option or [])
    except ValueError as error:
        raise _fail(str(error), code=2) from None
    if name is not None and not sources_config.SOURCE_NAME.match(name):
        raise _fail(f"source name {name!r} must be letters, digits, '.', '_' or '-' (max 100)", code=2)
    path, is_home_file = sources_path(ctx, config)
    seed = sources_config.default_config_text() if is_home_file and not path.exists() else ""
    taken = _taken_names(path, seed)
    if name is not None and name in taken and write:
        raise _fail(f"{path} already has a source named {name!r}; choose another --name (nothing was written)")
    try:
        report = probe(url, kind, name=name, options=options, taken=taken, sample_size=sample)
    except ProbeError as error:
        raise _fail(str(error)) from None
    header = [
        f"added by `dmlake source add` on {datetime.now(UTC):%Y-%m-%d}: probed {report.url}",
        f"first page: {report.sample.mapped} of {report.sample.fetched} records mapped",
    ]
    written = None
    if write:
        if not report.sample.works and report.sample.fetched and not force:
            _show(report, as_json)
            raise _fail("the first page did not map, so nothing was written; fix the options, or --force")
        if report.sample.error and not force:
            _show(report, as_json)
            raise _fail("the first page could not be fetched, so nothing was written; fix the options, or --force")
        try:
            append_source(path, report.proposal, header, seed_text=seed)
        except SourceExists as error:
            raise _fail(str(error)) from None
        except sources_config.ConfigError as error:
            raise _fail(f"the proposed source was refused, nothing was written: {error}") from None
        written = path
    _show(report, as_json, written, seeded=bool(seed) and written is not None)


def _taken_names(path: Path, seed: str) -> set[str]:
    text = path.read_text(encoding="utf-8") if path.exists() else seed
    if not text.strip():
        return set()
    try:
        return set(tomllib.loads(text).get("sources", {}))
    except tomllib.TOMLDecodeError:
        return set()


def _show(report: ProbeReport, as_json: bool, written: Path | None = None, seeded: bool = False) -> None:
    if as_json:
        data = report.to_json() | {"written_to": str(written) if written else None}
        sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    proposal = report.proposal
    found = Table(title=f"{report.url} ({proposal.kind})", show_header=False)
    found.add_column("what", style="bold")
    found.add_column("value", overflow="fold")
    for what, value in report.found:
        found.add_row(escape(what), escape(value))
    out.print(found)
    sample = report.sample
    if sample.error is None:
        out.print(
            f"first page: {sample.fetched} records fetched, [green]{sample.mapped} mapped[/]"
            + (f", [red]{len(sample.failures)} failed[/]" if sample.failures else "")
            + (f", {sample.deleted} deletion markers" if sample.deleted else "")
        )
    for native_id, title in sample.titles:
        out.print(f"  [dim]{escape(native_id)}[/] {escape(title)}")
    if sample.failures:
        failures = Table(title="records that would fail")
        for column in ("native id", "stage", "field", "message"):
            failures.add_column(column, overflow="fold")
        for failure in sample.failures[:20]:
            failures.add_row(*(escape(v) for v in (failure.native_id, failure.stage, failure.field, failure.message)))
        out.print(failures)
    for problem in report.failed:
        out.print(f"[yellow]problem:[/] {escape(problem)}")
    if report.tried:
        out.print("[dim]tried: " + escape("; ".join(report.tried)) + "[/]")
    out.print("\nproposed configuration:\n")
    sys.stdout.flush()
    out.file.flush()
    out.print(render_toml(proposal), markup=False, highlight=False, soft_wrap=True)
    if written is not None:
        start = " (started from dmlake's default sources, which applied to this home until now)" if seeded else ""
        out.print(f"[green]appended[/] {escape(f'[sources.{proposal.name}]')} to {escape(str(written))}{start}")
        out.print(f"next: dmlake harvest {proposal.name} --dry-run")
    else:
        out.print("add it with --write, or copy it into your sources file")
