"""`dmlake identity …`: the clusters the identity rules made, and undoing (or redoing) a merge.

dmlake identity show RECORD            the record's cluster: members, and every link with its rule and evidence
dmlake identity links [--rule R]       the merges, newest last (`--undone` for those a data manager undid)
dmlake identity undo LINK --reason …   split a merge for good; the index follows at once
dmlake identity redo LINK              take an undo back
dmlake identity rebuild                recompute every record's keys and recluster (after the rules changed)
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from harvester.cli_context import lake_of
from harvester.identity import Link, LinkNotFound

if TYPE_CHECKING:
    from dmlake.lake import Lake

identity_app = typer.Typer(
    help="Records of the same dataset from several sources: clusters, the rules that merged them, undo.",
    no_args_is_help=True,
)
out = Console()
err = Console(stderr=True)


def _links_table(links: list[Link], title: str) -> Table:
    table = Table(title=title)
    for column in ("link", "rule", "evidence", "records", "state"):
        table.add_column(column, overflow="fold")
    for link in links:
        state = "active" if link.active else f"undone {link.undone_at:%Y-%m-%d}: {link.undone_reason}"
        table.add_row(str(link.id), link.rule, link.key, f"{link.record_a}\n{link.record_b}", state)
    return table


@identity_app.command("show")
def show_command(
    ctx: typer.Context,
    record: Annotated[str, typer.Argument(help="Record id (full URI or SOURCE/NATIVE_ID).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The record's cluster: its members, the rule that joined each, and every link (active or undone)."""
    from dmlake.lake import RecordNotFound

    lake = lake_of(ctx)
    try:
        stored = lake.record(record)
    except RecordNotFound as error:
        err.print(f"[red]error:[/] {error}")
        raise typer.Exit(1) from None
    cluster = lake.catalogue.cluster(stored.id)
    if as_json:
        out.print_json(json.dumps(cluster.to_json()))
        return
    if len(cluster.members) == 1 and not cluster.links:
        out.print(f"{stored.id} is in no cluster: no other record matched it.")
        return
    table = Table(title=f"cluster {cluster.id}")
    table.add_column("member", overflow="fold")
    table.add_column("joined by")
    for member in cluster.members:
        table.add_row(member, cluster.rules.get(member, "—"))
    out.print(table)
    out.print(_links_table(list(cluster.links), "links"))


@identity_app.command("links")
def links_command(
    ctx: typer.Context,
    rule: Annotated[str | None, typer.Option(help="Only this rule (same-doi, same-portal-id, …).")] = None,
    undone: Annotated[bool, typer.Option("--undone", help="Only the links a data manager undid.")] = False,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The merges the rules made, oldest first."""
    links = lake_of(ctx).catalogue.identity_links(rule=rule, undone=True if undone else None, limit=limit)
    if as_json:
        out.print_json(json.dumps([link.to_json() for link in links]))
    elif not links:
        out.print("no links")
    else:
        out.print(_links_table(links, "identity links"))


def _recluster(ctx: typer.Context, link_id: int, reason: str | None) -> None:
    lake = lake_of(ctx)
    try:
        catalogue = lake.catalogue
        changed = catalogue.redo_link(link_id) if reason is None else catalogue.undo_link(link_id, reason)
    except LinkNotFound as error:
        err.print(f"[red]error:[/] {error}")
        raise typer.Exit(1) from None
    if not changed:
        out.print(f"link {link_id} was already {'undone' if reason is not None else 'active'}: nothing changed")
        return
    out.print(f"{len(changed)} records reclustered: {', '.join(sorted(changed))}")
    _update_index(lake)


def _update_index(lake: Lake) -> None:
    from indexer import IndexBusyError

    try:
        lake.update_index()
        out.print("the search index is up to date")
    except IndexBusyError:
        out.print("the search index is open in another process (`dmlake serve`?); it follows the change feed there")


@identity_app.command("undo")
def undo_command(
    ctx: typer.Context,
    link: Annotated[int, typer.Argument(help="Link id (from `dmlake identity show`).")],
    reason: Annotated[str, typer.Option(help="Why the merge is wrong, kept with the link.")],
) -> None:
    """Undo a merge for good: the two records recluster, and the rules never merge the pair again."""
    if not reason.strip():
        err.print("[red]error:[/] say why with --reason; it is kept with the link for the next data manager")
        raise typer.Exit(2)
    _recluster(ctx, link, reason.strip())


@identity_app.command("redo")
def redo_command(
    ctx: typer.Context,
    link: Annotated[int, typer.Argument(help="Link id of an undone merge.")],
) -> None:
    """Take an undo back: the link counts again."""
    _recluster(ctx, link, None)


@identity_app.command("rebuild")
def rebuild_command(ctx: typer.Context) -> None:
    """Recompute every record's match keys and recluster the catalogue (after the rules changed)."""
    lake = lake_of(ctx)
    clustered = lake.catalogue.rebuild_identities()
    out.print(f"{clustered} records are in clusters of two or more")
    _update_index(lake)
