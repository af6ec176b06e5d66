"""`dmlake where ID [--site S] [--json]`: where to read each file of a record, and why there (`dmlake.where`).

Per file: the best URL for this reader (an online, checksum-verified copy at a preferred site, a verified copy on
this machine, any verified copy, else the source portal's own URL), the site of that copy, the reason, and every copy
replication knows of. `--json` prints what `GET /api/records/{id}/where` answers.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harvester.cli_context import lake_of

out = Console()
err = Console(stderr=True)

_STATE_STYLE = {"online": "green", "on-tape": "cyan", "replicating": "yellow", "requested": "yellow"}


def where(
    ctx: typer.Context,
    record: Annotated[str, typer.Argument(metavar="ID", help="Record id (full URI or SOURCE/NATIVE_ID).")],
    site: Annotated[
        list[str] | None,
        typer.Option(
            "--site",
            help="A site (Rucio RSE) you prefer, nearest first; repeatable or comma-separated. "
            "Default: DMLAKE_SITES, else [where] preferred_sites in the home's replication.toml.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON instead of a table.")] = False,
) -> None:
    """Where to read each file of a record: the best copy for you, why, and every copy replication knows of."""
    from dmlake.lake import RecordNotFound
    from dmlake.where import SettingsError, where_to_read

    lake = lake_of(ctx)
    try:
        sites = [s for value in site or () for s in value.split(",")]
        try:
            answer = where_to_read(lake, record, sites)
        except (RecordNotFound, SettingsError) as error:
            err.print(f"[red]error:[/] {escape(str(error))}")
            raise typer.Exit(1) from None
        if answer.gone:
            err.print(f"[red]error:[/] {escape(answer.stored.id)} was removed at its source: {answer.stored.tombstone}")
            raise typer.Exit(2)
        if as_json:
            print(json.dumps(answer.to_json(), indent=2, ensure_ascii=False))
            return
        if not answer.files:
            out.print(f"{answer.stored.id} lists no files.")
            return
        table = Table(title=escape(f"{answer.stored.record.title}\n{answer.stored.id}"), title_justify="left")
        table.add_column("file", overflow="fold")
        table.add_column("availability")
        table.add_column("read it at", overflow="fold")
        table.add_column("why", overflow="fold")
        table.add_column("copies", overflow="fold")
        for choice in answer.files:
            copies = "\n".join(
                f"[{_STATE_STYLE.get(r.state.value, 'white')}]{escape(r.site)}[/] {r.state.value}"
                + (" ✓" if r.checksum_verified else "")
                for r in choice.replicas
            )
            table.add_row(
                escape(choice.name),
                choice.availability.value,
                escape(choice.url) if choice.url else "[red]nowhere yet[/]",
                escape(choice.reason),
                copies or "—",
            )
        out.print(table)
        if answer.preferred_sites:
            out.print(f"preferred sites: {', '.join(answer.preferred_sites)}  (✓: checksum verified)")
        else:
            out.print("✓: checksum verified. Prefer sites with --site or DMLAKE_SITES.")
    finally:
        lake.close()
