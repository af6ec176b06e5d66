"""A replica of KCDC's data-shop page of preselections (`GET /datashop/fulldata`, `text/html; charset=utf-8`).

From the corpus it serves the saved production page byte for byte. The page is kept as its text cut around the
preselection rows (`<tr>…</tr>` of each `table.kaosPreselectionsTable`): the text between rows stays as it is, each
row is a record of the store. An edit through the overlay gives a row a new revision (its description gains a line
saying so and its sizes grow), a deletion drops the row from the page, and the page is put back together from the
live rows, so a harvest sees exactly what a changed portal page would show. `generated(count, seed)` writes a page
of the same structure (head, the two DataShop sections, header and data tables, the same row markup) with `count`
rows.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sandbox.replica import Replica
from sandbox.store import ListBase, ReplicaStore

PAGE_PATH = "/datashop/fulldata"
CORPUS_PAGE = Path("kcdc/portal_pages/datashop_fulldata_preselections.html")
CONTENT_TYPE = "text/html; charset=utf-8"
PAGE_STAMP = datetime(2022, 12, 21, tzinfo=UTC)
"""The saved page's own `last update 21.12.2022`."""

_TABLE = re.compile(r'<table[^>]*class="?kaosPreselectionsTable"?[^>]*>(?P<body>.*?)</table>', re.DOTALL)
_ROW = re.compile(r"[ \t]*<tr>\s*<td valign=top.*?</tr>", re.DOTALL)
_NAME = re.compile(r"<b>\s*(?P<name>[^<]+?)_x+\s*</b>")
_SIZE = re.compile(r"(<br><br>\s*)(?P<number>\d+(?:\.\d+)?)(?P<unit>\s*[kMG]B<br>)")


@dataclass(frozen=True)
class PageTemplate:
    """A page cut into text and row slots: `pieces` alternate literal text (str) and row indices (int)."""

    pieces: tuple[str | int, ...]

    def render(self, rows: dict[int, str]) -> str:
        return "".join(piece if isinstance(piece, str) else rows.get(piece, "") for piece in self.pieces)


def split_page(text: str) -> tuple[PageTemplate, list[dict[str, Any]]]:
    """Cut a data-shop page into a template and its rows (`{"name": …, "html": …}`), in page order."""
    pieces: list[str | int] = []
    rows: list[dict[str, Any]] = []
    position = 0
    for table in _TABLE.finditer(text):
        body_start = table.start("body")
        for row in _ROW.finditer(table.group("body")):
            start, end = body_start + row.start(), body_start + row.end()
            name = _NAME.search(row.group(0))
            if name is None:
                raise ValueError(f"a preselection row without a set name in bold: {row.group(0)[:200]!r}")
            pieces.append(text[position:start])
            pieces.append(len(rows))
            rows.append({"name": name.group("name").strip(), "html": row.group(0)})
            position = end
    pieces.append(text[position:])
    return PageTemplate(tuple(pieces)), rows


def revise(record: dict[str, Any], revision: int, when: datetime) -> dict[str, Any]:
    """A new revision of a row: a line in its description and sizes grown by `revision` units."""
    html = record["html"].replace(
        "</b><br><br>", f"</b><br><br>\n\t      revised (revision {revision}, {when:%Y-%m-%d})<br>", 1
    )
    html = _SIZE.sub(lambda m: f"{m.group(1)}{_grown(m.group('number'), revision)}{m.group('unit')}", html)
    return {**record, "html": html}


def _grown(number: str, revision: int) -> str:
    if "." in number:
        whole, fraction = number.split(".")
        return f"{int(whole) + revision}.{fraction}"
    return str(int(number) + revision)


class KcdcHtmlReplica(Replica):
    kind = "kcdc"

    def __init__(self, store: ReplicaStore, template: PageTemplate) -> None:
        super().__init__(store)
        self.template = template

    def routes(self) -> list[BaseRoute]:
        return [Route(PAGE_PATH, self._page, methods=["GET", "HEAD"]), Route(PAGE_PATH + "/", self._page)]

    def page(self) -> str:
        rows = {entry.index: self.store.record(entry)["html"] for entry in self.store.entries()}
        return self.template.render(rows)

    async def _page(self, request: Request) -> Response:
        return Response(self.page().encode("utf-8"), media_type=CONTENT_TYPE)

    @classmethod
    def _from_text(cls, text: str) -> KcdcHtmlReplica:
        template, rows = split_page(text)
        for number, row in enumerate(rows):
            row["slot"] = number
        # the store lists rows in page order: ListBase sorts by native id, so the sort key is the row's place
        order = {row["name"]: number for number, row in enumerate(rows)}
        base = ListBase.build(rows, lambda r: r["name"], lambda r: PAGE_STAMP, sort_key=lambda name: order[name])
        return cls(ReplicaStore(base, revise), template)

    @classmethod
    def from_corpus(cls, corpus: Path) -> KcdcHtmlReplica | None:
        path = corpus / CORPUS_PAGE
        if not path.is_file():
            return None
        replica = cls._from_text(path.read_text(encoding="utf-8"))
        if len(replica.store) == 0:
            raise ValueError(f"{path}: no preselection rows (table.kaosPreselectionsTable) found in the saved page")
        return replica

    @classmethod
    def generated(cls, count: int, seed: int = 0) -> KcdcHtmlReplica:
        return cls._from_text(generated_page(count, seed))


# -- generated pages ---------------------------------------------------------------------------------------------
_SHOPS = {"kascade": ("KASCADE", "KASCADE-GRANDE", "KASCADE-CALOR", "KASCADE-LOPES"), "combined": ("COMBINED",)}
_SAMPLES = ("ReducedData", "HighEnergyData", "SmallDataSample_nA", "SmallDataSample_wA")
_FORMATS = ("ASCII", "ROOT", "HDF5")
_HEAD = """<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN" "http://www.w3.org/TR/html4/strict.dtd">

<html lang="en">

  <!-- last update 21.12.2022 -->
<head>
        <meta http-equiv="Content-Type" content="text/html; charset=utf-8">
        <title> DataShop </title>
</head>

<body>
<div id="kaosContentArea">
    <div id="kaosDataShopAreaHead">Data Preselections from 'KASCADE' and 'COMBINED' </div>
    <div id="kaosDataShopArea"><br>
"""
_SECTION = """
      <div class="kaosPreselectionsAreaBox">
        <div class="kaosPreselectionsAreaBoxHead">
          <a name="{anchor}">Data Preselections from '{title}'</a>
        </div>
        <div class="kaosPreselectionsHeadSpacer"> &nbsp;</div>

         <table border frames=void rules=none class="kaosPreselectionsTableHeader">
          <tr style="margin-left:10px;">
            <td style="text-align:left; padding-left:10px; font-size:14px"> <b>Data sets</b></td>
            <td colspan=3 align=center style="border-left:2px solid #e5e5e5;  font-size:14px"> <b>Download Info</b></td>
          </tr>
          <tr style="height:15px">
            <td> </td>
            <td style="border-left:2px solid #e5e5e5"> <b>ASCII</b></td>
            <td style="border-left:2px solid #e5e5e5"> <b>ROOT</b></td>
            <td style="border-left:2px solid #e5e5e5"> <b>HDF5</b></td>
          </tr>
        </table>
        <div class="kaosPreselectionsTableSpacer"> &nbsp;</div>

         <table border frames=void rules=none class="kaosPreselectionsTable">
{rows}
        </table>
      </div>
"""
_TAIL = """
    </div>
</div>
</body>
</html>
"""
_ROW_HTML = """          <tr>
            <td valign=top><b> {name}_xxx</b><br><br>
              {description}
            </td>
{cells}
          </tr>
"""
_CELL = """            <td valign=top  class="kaosPreselectionsTableData"><b>
                <a href=https://kcdc.iap.kit.edu/Preselections/{name}_{fmt}.zip>
                  <img class="kcdcPreselectionsDownlImg" src="/static/img/kcdc_mainpage/downloadPresel.png"> </a>
                </b><br><br>{size}<br>
              <b><a target="_blank" href="/static/pdf/kaos_datashop/{name}_{fmt}.pdf">details</a></b>
            </td>"""
_EMPTY_CELL = """            <td valign=top  class="kaosPreselectionsTableData">
            </td>"""


def generated_page(count: int, seed: int = 0) -> str:
    """A data-shop page with `count` deterministic preselection rows, split over the two sections."""
    draw = random.Random(seed)
    sections: dict[str, list[str]] = {"kascade": [], "combined": []}
    for number in range(count):
        section = "kascade" if number % 3 else "combined"
        shop = _SHOPS[section][number % len(_SHOPS[section])]
        sample = _SAMPLES[number % len(_SAMPLES)]
        first = 877 + draw.randrange(4000)
        last = first + 1 + draw.randrange(3000)
        name = f"{shop}_{sample}_g{number:06d}_runs_{first:04d}-{last:04d}"
        cells = []
        for fmt in _FORMATS:
            if sample.endswith("_wA") and fmt == "ASCII":
                cells.append(_EMPTY_CELL)
                continue
            size = (
                f"{draw.randrange(1, 999)} MB"
                if draw.random() < 0.7
                else f"{draw.randrange(1, 14)}.{draw.randrange(10)} GB"
            )
            cells.append(_CELL.format(name=name, fmt=fmt, size=size))
        description = (
            "Events with a reconstructed primary energy above 10<sup>15.7</sup> eV"
            if sample == "HighEnergyData"
            else f"all {shop} quantities in the run range {first}-{last}, <br>\n\t      no cuts applied, no data arrays"
        )
        sections[section].append(_ROW_HTML.format(name=name, description=description, cells="\n".join(cells)))
    body = "".join(
        _SECTION.format(anchor=anchor, title=anchor.upper(), rows="\n".join(rows))
        for anchor, rows in sections.items()
        if rows
    )
    return _HEAD + body + _TAIL
