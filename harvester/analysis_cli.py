"""`dmlake open ID RESOURCE --to netcdf|csv [-o FILE]` and `dmlake plot ID RESOURCE -o plot.png [--x X --y Y]`:
a record's file opened as the Python API opens it (`dmlake.Catalog.open`), written out or plotted."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from dmlake.catalog import Catalog

err = Console(stderr=True)
out = Console()

ServiceOption = Annotated[
    str | None, typer.Option("--service", help="A running dmlake service's URL to read records from (default: --home).")
]
TableOption = Annotated[
    str, typer.Option("--table", help="Which table of a file holding several: a number, or a HEPData table's name.")
]


def _catalog(ctx: typer.Context, service: str | None) -> Catalog:
    from dmlake.catalog import Catalog

    return Catalog(service or ctx.find_root().params.get("home"))


def _table(text: str) -> int | str:
    return int(text) if text.strip().isdigit() else text


def open_command(
    ctx: typer.Context,
    record: Annotated[str, typer.Argument(help="Record URI or SOURCE/NATIVE_ID.")],
    resource: Annotated[str, typer.Argument(help="The file: its name, last path part, or position in the record.")],
    to: Annotated[str, typer.Option("--to", help="netcdf or csv.")] = "netcdf",
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="File to write (default: from the name).")
    ] = None,
    table: TableOption = "0",
    service: ServiceOption = None,
) -> None:
    """Open a record's table, NetCDF or HDF5 file (checksum verified, cached) and write it as NetCDF or CSV, with
    units, uncertainties and provenance."""
    from dmlake.open import OpenError
    from dmlake.save import FORMATS, save

    if to not in FORMATS:
        err.print(f"[bold red]error:[/] --to {to!r}: use one of {', '.join(FORMATS)}")
        raise typer.Exit(2)
    try:
        with _catalog(ctx, service) as catalog:
            dataset = catalog.open(record, resource, table=_table(table))
            target = output or Path(
                Path(str(dataset.attrs.get("file", resource))).stem + (".nc" if to == "netcdf" else ".csv")
            )
            save(dataset, target, to)
    except (OpenError, LookupError) as error:
        err.print(f"[bold red]error:[/] {error}")
        raise typer.Exit(1) from None
    out.print(f"wrote {target} ({to}: {len(dataset.data_vars)} variables, {dict(dataset.sizes)})")


def plot_command(
    ctx: typer.Context,
    record: Annotated[str, typer.Argument(help="Record URI or SOURCE/NATIVE_ID.")],
    resource: Annotated[str, typer.Argument(help="The file: its name, last path part, or position in the record.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The PNG to write.")] = Path("plot.png"),
    x: Annotated[str | None, typer.Option("--x", help="The column on the x axis (default: the first numeric).")] = None,
    y: Annotated[list[str] | None, typer.Option("--y", help="A column to draw (repeatable; default: up to 8).")] = None,
    table: TableOption = "0",
    service: ServiceOption = None,
) -> None:
    """Plot columns of a record's table as a PNG, with error bars where the table gives uncertainties."""
    from dmlake.open import OpenError
    from dmlake.save import plot_png
    from portal.tables import TableError

    try:
        with _catalog(ctx, service) as catalog:
            dataset = catalog.open(record, resource, table=_table(table))
            plot_png(dataset, output, x, y or ())
    except (OpenError, TableError, LookupError) as error:
        err.print(f"[bold red]error:[/] {error}")
        raise typer.Exit(1) from None
    out.print(f"wrote {output}")
