"""KCDC's data-shop page of preselections (`/datashop/fulldata`): the release table read from HTML → the model.

The production portal has no machine interface, so its page is the listing. Per DataShop section (`KASCADE`,
`COMBINED`) a header table names the download columns (`Data sets` | `ASCII` | `ROOT` | `HDF5`) and a data table has
one row per preselection: its name (`KASCADE_ReducedData_runs_0877-4683_xxx`) and description, then per format the
ZIP link, its size and a `details` PDF. One row is one release, one record.

The connector cuts the page into rows and hands each on as a small standalone HTML document: the page's own
update comment, a `<base>` naming the page, the section heading, the header table and the row, verbatim. The mapper
reads that document with the same parser, so a row maps the same whether it arrives alone or inside the page.

A page whose layout changed (no preselection table, a header without the format columns, a row without a name, a
download cell without its ZIP) raises `KcdcPageError` naming the page and the column, instead of losing rows quietly.
"""

from __future__ import annotations

import copy
import html
import re
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urljoin

import lxml.html
from lxml import etree

from connectors import kcdc_common as kcdc
from connectors.base import Connector, MappingError, RawRecord, provenance_for
from connectors.kcdc_tables import parse_size
from ontology.model import (
    Concept,
    Distribution,
    EnergyRange,
    Identifier,
    IdentifierScheme,
    Record,
    SelectedQuantity,
    record_id,
)
from ontology.vocabulary import experiment_physics

HEADER_CLASS = "kaosPreselectionsTableHeader"
TABLE_CLASS = "kaosPreselectionsTable"
NAME_COLUMN = "Data sets"
_UPDATED = re.compile(r"last\s+update\s+(\d{1,2})\.(\d{1,2})\.(\d{4})", re.IGNORECASE)
_SIZE = re.compile(r"\d[\d.,]*\s*[kKMGT]?B\b")
_ZIP_FORMAT = re.compile(r"_(?P<format>[A-Za-z0-9]+)\.zip$", re.IGNORECASE)
_PLACEHOLDER = re.compile(r"_x+$")
_ENERGY_ABOVE = re.compile(r"above\s+10\^(?P<exponent>\d+(?:\.\d+)?)\s*eV", re.IGNORECASE)
_SAMPLING = re.compile(r"every\s+(?P<n>\d+)\^?(?:st|nd|rd|th)\s+event", re.IGNORECASE)


class KcdcPageError(ValueError):
    """The page's layout is not the one dmlake reads: names the page, the column and what was found."""

    def __init__(self, page: str, column: str, message: str) -> None:
        super().__init__(f"KCDC page {page}, column {column!r}: {message}")
        self.page = page
        self.column = column
        self.message = message


@dataclass
class Download:
    format: str
    zip_url: str
    size_text: str | None
    details_url: str | None


@dataclass
class ReleaseRow:
    """One preselection row as the page shows it."""

    name: str
    label: str
    description: str
    section: str
    downloads: list[Download] = field(default_factory=list)
    element: etree._Element | None = field(default=None, repr=False)
    header: etree._Element | None = field(default=None, repr=False)


@dataclass
class ReleasePage:
    url: str
    updated: str | None
    update_comment: str | None
    rows: list[ReleaseRow] = field(default_factory=list)


def parse_page(data: bytes, url: str) -> ReleasePage:
    """Every preselection row of a data-shop page (or of one row's document). Raises `KcdcPageError`."""
    try:
        root = lxml.html.document_fromstring(data)
    except (etree.ParserError, ValueError) as error:
        raise KcdcPageError(url, NAME_COLUMN, f"not an HTML page ({error})") from None
    base = root.find(".//base")
    page_url = base.get("href") if base is not None and base.get("href") else url
    comment = next((c.text for c in root.iter(etree.Comment) if c.text and _UPDATED.search(c.text)), None)
    page = ReleasePage(page_url, _updated(comment), comment)
    tables = [t for t in root.iter("table") if TABLE_CLASS in (t.get("class") or "").split()]
    if not tables:
        raise KcdcPageError(page_url, NAME_COLUMN, f"no preselection table (table.{TABLE_CLASS}): the layout changed")
    for table in tables:
        header = table.getprevious()
        while header is not None and header.tag != "table":
            header = header.getprevious()
        if header is None or HEADER_CLASS not in (header.get("class") or "").split():
            raise KcdcPageError(page_url, NAME_COLUMN, f"the preselection table has no header table.{HEADER_CLASS}")
        formats = _formats(header, page_url)
        section = _section(table)
        for row in table.iter("tr"):
            cells = [c for c in row if c.tag == "td"]
            if not cells:
                continue  # the page has a stray empty <tr> before its COMBINED rows
            page.rows.append(_row(cells, formats, section, page_url, row, header))
    return page


def _updated(comment: str | None) -> str | None:
    match = _UPDATED.search(comment or "")
    if match is None:
        return None
    day, month, year = (int(g) for g in match.groups())
    try:
        return date(year, month, day).isoformat()
    except ValueError:  # `41.13.2022` reads as no date: the stamp is the page's, no row loses its record for it
        return None


def _formats(header: etree._Element, page_url: str) -> list[str]:
    rows = [[_text(c) for c in r if c.tag == "td"] for r in header.iter("tr")]
    if not rows or not rows[0] or rows[0][0] != NAME_COLUMN:
        found = rows[0][0] if rows and rows[0] else "nothing"
        raise KcdcPageError(
            page_url, NAME_COLUMN, f"the header's first column should read {NAME_COLUMN!r}, found {found!r}"
        )
    formats = rows[-1][1:] if len(rows) > 1 else []
    if not formats or any(not f for f in formats):
        raise KcdcPageError(
            page_url,
            "Download Info",
            f"expected a format name (ASCII, ROOT, HDF5) per download column, found {formats}",
        )
    return formats


def _section(table: etree._Element) -> str:
    box = table.getparent()
    heading = box.find(".//a[@name]") if box is not None else None
    return heading.get("name", "").upper() if heading is not None else ""


def _row(
    cells: list[etree._Element],
    formats: list[str],
    section: str,
    page_url: str,
    element: etree._Element,
    header: etree._Element,
) -> ReleaseRow:
    if len(cells) != 1 + len(formats):
        raise KcdcPageError(
            page_url,
            NAME_COLUMN,
            f"a row has {len(cells)} cells, the header names {1 + len(formats)}: {_text(element)[:120]!r}",
        )
    first = cells[0]
    bold = first.find("b")
    label = _text(bold) if bold is not None else ""
    if not label:
        raise KcdcPageError(page_url, NAME_COLUMN, f"a row without a set name in bold: {_text(first)[:120]!r}")
    description = _description(first, bold)
    downloads = [
        download
        for fmt, cell in zip(formats, cells[1:], strict=True)
        if (download := _download(fmt, cell, page_url, label)) is not None
    ]
    name = _name(label, downloads, page_url)
    return ReleaseRow(name, label, description, section, downloads, element, header)


def _download(fmt: str, cell: etree._Element, page_url: str, label: str) -> Download | None:
    text = _text(cell)
    links = [a.get("href", "").strip() for a in cell.iter("a")]
    zips = [link for link in links if link.lower().endswith(".zip")]
    if not text and not zips:
        return None  # no download in this format (the wA samples have no ASCII)
    if len(zips) != 1:
        raise KcdcPageError(page_url, fmt, f"row {label!r}: expected one ZIP link, found {len(zips)}: {links}")
    size = _SIZE.search(text)
    # what the cell says besides its `details` link is its size: kept even when unreadable, for the mapper to reject
    rest = " ".join(text.replace("details", " ").split())
    details = next((link for link in links if link.lower().endswith(".pdf")), None)
    return Download(
        fmt,
        _resolved(zips[0], page_url, fmt, label),
        size.group(0) if size and size.group(0) == rest else (rest or None),
        _resolved(details, page_url, fmt, label) if details else None,
    )


def _resolved(link: str, page_url: str, column: str, label: str) -> str:
    try:
        return urljoin(page_url, link)
    except ValueError as error:  # a host urljoin cannot split (`https://[kcdc/…`), in the link or in the page's URL
        raise KcdcPageError(
            page_url, column, f"row {label!r}: {link!r} is not a URL on {page_url!r} ({error})"
        ) from None


def _name(label: str, downloads: list[Download], page_url: str) -> str:
    """The set's name without its format: from the ZIP links (`…_ASCII.zip`), which must agree with each other."""
    names = {_ZIP_FORMAT.sub("", d.zip_url.rsplit("/", 1)[-1]) for d in downloads}
    if len(names) > 1:
        raise KcdcPageError(
            page_url, downloads[0].format, f"row {label!r} links ZIPs of different sets: {sorted(names)}"
        )
    return names.pop() if names else _PLACEHOLDER.sub("", label)


def _description(cell: etree._Element, bold: etree._Element) -> str:
    cell = copy.deepcopy(cell)
    for sup in cell.iter("sup"):
        if sup.text and sup.text.strip():
            sup.text = f"^{sup.text.strip()}"
    first_bold = cell.find("b")
    if first_bold is not None:
        tail = first_bold.tail
        first_bold.getparent().remove(first_bold)
        cell.text = (cell.text or "") + (tail or "")
    return _text(cell)


def _text(element: etree._Element) -> str:
    return " ".join(html.unescape(element.text_content()).split())


# -- one row, as the connector hands it on --------------------------------------------------------------------
def row_document(page: ReleasePage, row: ReleaseRow) -> bytes:
    """A standalone HTML document carrying one row, verbatim, with what the mapper needs to read it alone."""
    assert row.element is not None and row.header is not None
    parts = [
        "<!DOCTYPE html>\n<html>\n",
        f"<!--{page.update_comment}-->\n" if page.update_comment else "",
        f'<head><meta charset="utf-8"><base href="{html.escape(page.url, quote=True)}">'
        f"<title>{html.escape(row.name)}</title></head>\n<body>\n",
        f'<div class="kaosPreselectionsAreaBox"><a name="{html.escape(row.section.lower(), quote=True)}"></a>\n',
        etree.tostring(row.header, encoding="unicode", method="html", with_tail=False),
        f'\n<table class="{TABLE_CLASS}">\n',
        etree.tostring(row.element, encoding="unicode", method="html", with_tail=False),
        "\n</table>\n</div>\n</body>\n</html>\n",
    ]
    return "".join(parts).encode("utf-8")


def map_kcdc_html_record(raw: RawRecord, source: str, connector: type[Connector]) -> Record:
    """Map one row document (see `row_document`) to the model."""
    try:
        page = parse_page(raw.payload, raw.url)
    except KcdcPageError as error:
        raise MappingError(f"row[{error.column}]", error.message) from None
    if not page.rows:
        raise MappingError(f"row[{NAME_COLUMN}]", "expected one preselection row, found none")
    if len(page.rows) > 1:
        names = ", ".join(repr(row.label) for row in page.rows)
        raise MappingError(f"row[{NAME_COLUMN}]", f"expected one preselection row, found {len(page.rows)}: {names}")
    row = page.rows[0]
    if row.name != raw.native_id:
        raise MappingError("row[Data sets]", f"the row names {row.name!r}, it was listed as {raw.native_id!r}")
    name = kcdc.parse_set_name(row.name)
    distributions: list[Distribution] = []
    total = 0
    for download in row.downloads:
        size = parse_size(download.size_text) if download.size_text else None
        if download.size_text and size is None:
            raise MappingError(f"row[{download.format}].size", f"{download.size_text!r} is not a size such as '7.3 GB'")
        total += size or 0
        distributions.append(kcdc.archive(row.name, download.zip_url, size, download.format))
        if download.details_url:
            distributions.append(
                Distribution(
                    name=download.details_url.rsplit("/", 1)[-1],
                    url=download.details_url,
                    media_type="application/pdf",
                    format="PDF",
                    description=f"details of the {download.format} preselection",
                    role="documentation",
                )
            )
    experiments = kcdc.experiments(name)
    physics = experiment_physics(experiments)
    selection = _selection(row, name)
    energy = next((q for q in selection if q.quantity == "E" and q.min is not None), None)
    return Record(
        id=record_id(source, raw.native_id),
        source=source,
        native_id=raw.native_id,
        identifiers=[Identifier(scheme=IdentifierScheme.URL, value=f"{page.url}#{row.name}")],
        landing_page=page.url,
        title=row.name,
        description=row.description or None,
        resource_type=concept_dataset(),
        experiments=experiments,
        publisher=kcdc.organisation(kcdc.PUBLISHER),
        license=kcdc.eula(),
        modified=page.updated,
        messengers=physics.messengers,
        detection_technique=physics.techniques,
        targets=physics.targets,
        resource_categories=[kcdc.event_data("preselection of reconstructed events")],
        energy_range=EnergyRange(min=energy.min, unit="eV", raw=energy.raw) if energy is not None else None,
        selection=selection,
        distributions=distributions,
        size_bytes=total if any(d.size_bytes is not None for d in distributions) else None,
        formats=[d.format for d in row.downloads],
        is_part_of=[kcdc.repository_doi(kcdc.REPOSITORY_DOI, "row")],
        provenance=provenance_for(connector, raw, source),
    )


def concept_dataset() -> Concept:
    return Concept(uri="http://purl.org/dc/dcmitype/Dataset", label="Dataset", raw="preselection")


def _selection(row: ReleaseRow, name: kcdc.SetName | None) -> list[SelectedQuantity]:
    """What the page says of the selection: the run range (from the name), an energy cut, a sampling."""
    selection: list[SelectedQuantity] = []
    if name is not None:
        selection.append(
            SelectedQuantity(
                quantity="R",
                description="Run number",
                group="general",
                min=name.first_run,
                max=name.last_run,
                raw=f"runs {name.first_run}-{name.last_run} (set name {row.name})",
            )
        )
    energy = _ENERGY_ABOVE.search(row.description)
    threshold = _power_of_ten(energy.group("exponent")) if energy is not None else None
    if energy is not None and threshold is not None:  # an exponent past a float's range is left in the prose
        selection.append(
            SelectedQuantity(
                quantity="E",
                description="reconstructed primary energy",
                min=threshold,
                unit="eV",
                cut="cut",
                applied=True,
                raw=energy.group(0),
            )
        )
    sampling = _SAMPLING.search(row.description)
    if sampling is not None:
        selection.append(
            SelectedQuantity(
                quantity="Ev",
                description="every n-th event of the whole data set",
                cut=f"1/{sampling.group('n')}th",
                applied=True,
                raw=sampling.group(0),
            )
        )
    return selection


def _power_of_ten(exponent: str) -> float | None:
    """10^exponent, or None past a float's range."""
    try:
        return 10 ** float(exponent)
    except OverflowError:
        return None


__all__ = ["KcdcPageError", "ReleasePage", "ReleaseRow", "map_kcdc_html_record", "parse_page", "row_document"]
