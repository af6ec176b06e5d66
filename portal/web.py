"""The web page's server side: record pages and plots of a record's tables, as HTML for people and crawlers.

* `/records/{id}`: every field the record has, its files (sizes, checksums, replicas), provenance, how to cite it,
  its schema.org JSON-LD embedded, links to every format the API serves; 404 for an unknown id, 410 for a record
  removed at its source. `?file=N` (with `x=` and `y=`) shows the plot of file N without any script.
* `/records/{id}/plot?file=N&x=…&y=…`: the plot section alone (the page's script swaps it in place).
* `/records/{id}/plot.svg?file=N&x=…&y=…`: the figure alone.

Ids are routed as the API routes them: the short `SOURCE/NATIVE_ID` or the full URI, percent-encoded or not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import xarray as xr
from fastapi import APIRouter
from fastapi import Query as Param
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from dmlake.lake import Lake, RecordNotFound
from harvester.catalogue import StoredRecord
from portal.plots import svg_plot
from portal.record_page import FORMAT_NAMES, FileRow, file_rows, page_path, record_page
from portal.table_files import FileCache, FileUnavailable, human_size
from portal.tables import TableError, choose_columns, numeric_columns, read_table

_templates = Environment(
    loader=PackageLoader("portal", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_templates.filters["human_size"] = human_size


@dataclass(frozen=True)
class Plot:
    """What the plot section shows: the figure and the choices behind it, or why there is none."""

    file: FileRow | None
    files: list[FileRow]
    svg: Markup | None = None
    message: str | None = None
    x: str | None = None
    ys: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()
    rows: int = 0
    table: int = 0
    tables: int = 1
    units: tuple[tuple[str, str], ...] = ()


def web_router(lake: Lake) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    files = FileCache(lake.home.path / "cache" / "files")

    def plot_for(stored: StoredRecord, file: int | None, x: str | None, y: list[str], table: int) -> Plot:
        rows = [row for row in file_rows(stored.record) if row.plottable]
        if not rows:
            return Plot(None, rows, message="This record has no file the page can plot (CSV, TSV or text tables).")
        chosen = next((r for r in rows if r.index == file), None) if file is not None else rows[0]
        if chosen is None:
            return Plot(None, rows, message=f"File {file} of this record is not a table the page can plot.")
        try:
            dataset = _dataset(files, chosen, table)
            x_column, ys = choose_columns(dataset, x or None, y)
        except (FileUnavailable, TableError) as error:
            return Plot(chosen, rows, message=str(error), table=table)
        return Plot(
            chosen,
            rows,
            svg=Markup(
                svg_plot(dataset, x_column, ys, title=chosen.file.name)
            ),  # matplotlib escapes the text it writes
            x=x_column,
            ys=tuple(ys),
            columns=tuple(numeric_columns(dataset)),
            rows=int(dataset.sizes.get("row", 0)),
            table=int(dataset.attrs.get("table", 0)),
            tables=int(dataset.attrs.get("tables", 1)),
            units=tuple((str(n), str(v.attrs["units"])) for n, v in dataset.data_vars.items() if "units" in v.attrs),
        )

    @router.get("/records/{record_id:path}/plot.svg")
    def plot_svg(
        record_id: str,
        file: int | None = None,
        x: str | None = None,
        y: Annotated[list[str] | None, Param()] = None,
        table: int = 0,
    ) -> Response:
        stored = _find(lake, record_id)
        if stored is None or stored.tombstone:
            return Response("no such record", status_code=404 if stored is None else 410, media_type="text/plain")
        plot = plot_for(stored, file, x, y or [], table)
        if plot.svg is None:
            return Response(plot.message or "no plot", status_code=422, media_type="text/plain")
        return Response(str(plot.svg), media_type="image/svg+xml")

    @router.get("/records/{record_id:path}/plot", response_class=HTMLResponse)
    def plot_fragment(
        record_id: str,
        file: int | None = None,
        x: str | None = None,
        y: Annotated[list[str] | None, Param()] = None,
        table: int = 0,
        columns_for: int | None = None,
    ) -> HTMLResponse:
        stored = _find(lake, record_id)
        if stored is None or stored.tombstone:
            return HTMLResponse(
                '<p class="message" role="alert">No such record.</p>', status_code=404 if stored is None else 410
            )
        if columns_for is not None and columns_for != file:
            x, y, table = None, None, 0  # columns chosen for another file mean nothing for this one
        plot = plot_for(stored, file, x, y or [], table)
        page = page_path(stored.id)
        return HTMLResponse(_templates.get_template("_plot.html").render(plot=plot, page=page))

    @router.get("/records/{record_id:path}", response_class=HTMLResponse)
    def record(
        record_id: str,
        file: int | None = None,
        x: str | None = None,
        y: Annotated[list[str] | None, Param()] = None,
        table: int = 0,
        columns_for: int | None = None,
    ) -> HTMLResponse:
        stored = _find(lake, record_id)
        if stored is None:
            body = _templates.get_template("not_found.html").render(record_id=record_id)
            return HTMLResponse(body, status_code=404)
        if stored.tombstone:
            body = _templates.get_template("gone.html").render(stored=stored, page=page_path(stored.id))
            return HTMLResponse(body, status_code=410)
        view = record_page(lake, stored)
        plot = Plot(None, view.table_files)  # the choice of a file; the page's script draws the first
        if file is not None:
            if columns_for is not None and columns_for != file:
                x, y, table = None, None, 0
            plot = plot_for(stored, file, x, y or [], table)
        body = _templates.get_template("record.html").render(
            view=view, r=view.record, plot=plot, format_names=FORMAT_NAMES
        )
        return HTMLResponse(body, headers={"Link": f'<{view.api}?format=schemaorg>; rel="alternate"'})

    return router


def _find(lake: Lake, record_id: str) -> StoredRecord | None:
    try:
        return lake.record(record_id)
    except RecordNotFound:
        return None


def _dataset(files: FileCache, row: FileRow, table: int) -> xr.Dataset:
    data = files.fetch(row.file)
    return read_table(data, row.file.name, table=table)
