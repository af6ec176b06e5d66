"""KCDC's text tables: the quantity tables of a preselection's `TechnicalInfo`, their ranges, and file sizes.

KCDC describes each preselection with tables flattened from its PDF info sheets into ASCII (one per detector
component: `KASCADE quantities selected`, `GRANDE …`, `general …`), with the columns Quantity | Description | Range |
Cut. The flattening wrapped long cells into the next column and the next row, so a table's rows are often shifted
(`cut | Mt | Micro time | 0 – 999,999,999` is the cut of the row above, then the next quantity). The cells are
therefore read as one stream, left to right and top to bottom, and re-assembled into quantities by what each cell
looks like (a quantity symbol, a description, a range, a cut), which recovers the well-formed tables exactly and
the badly wrapped ones (LOPES) as far as their text allows. The raw text of every quantity is kept beside it.

Two losses of that flattening are undone where they are unambiguous: energies whose superscripts were dropped
(`1013 -1019 eV` is 10^13–10^19 eV: the page and the PDFs write 10<sup>13</sup>, and no KCDC detector sees primaries
of a thousand eV), and German digit grouping in sizes (`11.273 MB` is 11,273 MB, as the data-shop page's `13.0 GB`
for the same file confirms).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date

HEADER = ("quantity", "description", "range", "cut")


class TableError(ValueError):
    """A table whose layout is not KCDC's: names the table (field) and what was found."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


@dataclass
class QuantityRow:
    """One quantity as re-assembled from a table: its cells' text, whitespace collapsed."""

    group: str
    quantity: str
    description: str = ""
    range_text: str = ""
    cut: str | None = None

    @property
    def raw(self) -> str:
        return " | ".join((self.quantity, self.description, self.range_text, self.cut or ""))


@dataclass
class Table:
    group: str
    rows: list[QuantityRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class TechnicalInfo:
    tables: list[Table] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)

    def rows(self) -> list[QuantityRow]:
        return [row for table in self.tables for row in table.rows]


# -- reading the tables ------------------------------------------------------------------------------------------
_HEADING = re.compile(r"^\s*(?P<group>\S.*?)\s+quantities\s+selected\s*$", re.IGNORECASE)
_SEPARATOR = re.compile(r"^[\s\-+]+$")
_CUT = re.compile(r"^(?:full\s+range|cut|\d+\s*/\s*\d+(?:st|nd|rd|th)?)$", re.IGNORECASE)
_TRAILING_CUT = re.compile(r"^(?P<rest>.*\S)\s+(?P<cut>full\s+range|cut|\d+/\d+(?:st|nd|rd|th)?)$", re.IGNORECASE)
_SYMBOL = re.compile(r"^[A-Za-z][A-Za-z0-9_]*\*?$")
_SYMBOL_SHAPED = re.compile(r"^(?:[A-Za-z]{1,3}\*?|[A-Za-z][a-z]*[A-Z0-9_][A-Za-z0-9_]*\*?)$")
"""Short (`E`, `Xc`, `Nmu`) or with an inner capital, digit or underscore (`EDeposit`, `Geomag_Angle`): a symbol,
not a capitalised word that continues a description (`Grande`)."""
_RANGE_START = re.compile(r"^[-+–]?\s*\d")
_DANGLING = re.compile(r"(?:[-–/]|\bto|\bor)\s*$")
_DESCRIPTION_THEN_RANGE = re.compile(r"^(?P<text>.*[A-Za-z)])\s+(?P<range>[-+]?\d[\d,.]*\s*[-–])$")
_UNITS = frozenset(
    {"eV", "keV", "MeV", "GeV", "m", "cm", "km", "deg", "°", "hPa", "ns", "ms", "s", "rad", "V/m", "1/m", "/m"}
    | {"µV/m/MHz", "μV/m/MHz", "uV/m/MHz"}
)
_NOTE = re.compile(r"^(?:\*|note\b)", re.IGNORECASE)
_POLARISATION = re.compile(r"^(?:EW|NS|_EW|_NS|&)(?:\s*(?:EW|NS|_EW|_NS|&))*$")
"""LOPES quantities come per antenna polarisation (`AzL_EW`, `AzL_NS`); the flattening tore `EW & NS` off their
names and descriptions into cells of their own, which never start a quantity."""


def parse_technical_info(text: str) -> TechnicalInfo:
    """Parse the text after `TechnicalInfo:`. Raises `TableError` when a table's layout is not KCDC's."""
    info = TechnicalInfo()
    lines = text.splitlines()
    position = 0
    while position < len(lines):
        line = lines[position]
        heading = _HEADING.match(line)
        if heading is None:
            if line.strip():
                info.remarks.append(" ".join(line.split()))
            position += 1
            continue
        group = heading.group("group").strip()
        position, cells = _table_cells(lines, position + 1, group)
        info.tables.append(_assemble(group, cells))
    if not info.tables:
        raise TableError("TechnicalInfo", "no table of quantities ('<component> quantities selected') found")
    return info


def _table_cells(lines: list[str], position: int, group: str) -> tuple[int, list[str]]:
    where = f"TechnicalInfo[{group}]"
    while position < len(lines) and not lines[position].strip():
        position += 1
    if position >= len(lines):
        raise TableError(where, "the table has no header row")
    header = [" ".join(cell.split()).lower() for cell in lines[position].split("|")]
    if tuple(header) != HEADER:
        raise TableError(where, f"expected the columns Quantity | Description | Range | Cut, found {lines[position]!r}")
    position += 1
    if position < len(lines) and _SEPARATOR.match(lines[position]) and lines[position].strip():
        position += 1
    cells: list[str] = []
    row_number = 0
    while position < len(lines) and "|" in lines[position]:
        row_number += 1
        row = lines[position].split("|")
        if len(row) != len(HEADER):
            raise TableError(
                f"{where}.row[{row_number}]", f"expected {len(HEADER)} columns, found {len(row)}: {lines[position]!r}"
            )
        cells += [text for cell in row if (text := " ".join(cell.split()))]
        position += 1
    return position, cells


def _assemble(group: str, cells: list[str]) -> Table:
    """Re-assemble a table's cells, read as one stream, into quantities (see the module doc)."""
    table = Table(group)
    current: QuantityRow | None = None

    def close(cut: str | None = None) -> None:
        nonlocal current
        if current is not None:
            if cut is not None:
                current.cut = " ".join(cut.split())
            table.rows.append(current)
        current = None

    for cell in cells:
        if _POLARISATION.match(cell) and (current is not None or table.rows):
            target = current if current is not None else table.rows[-1]
            if target.description or target.range_text:
                target.description = _join(target.description, cell)
            else:
                target.quantity = _join(target.quantity, cell)
            continue
        if _CUT.match(cell):
            if current is not None:
                close(cell)
            elif table.rows and table.rows[-1].cut is None:
                table.rows[-1].cut = cell
            continue
        if current is None:
            if _NOTE.match(cell):
                table.notes.append(cell.lstrip("* ").strip())
            elif _RANGE_START.match(cell) and table.rows and not table.rows[-1].cut:
                table.rows[-1].range_text = _join(table.rows[-1].range_text, cell)
            else:
                current = _start(group, cell)
            continue
        if not current.range_text:
            if _continues_description(current, cell):
                current.description = _join(current.description, cell)
            elif (split := _DESCRIPTION_THEN_RANGE.match(cell)) is not None:
                current.description = _join(current.description, split.group("text"))
                current.range_text = split.group("range")
            elif _RANGE_START.match(cell) or cell in _UNITS:
                cut = _TRAILING_CUT.match(cell)
                if cut is not None:
                    current.range_text = cut.group("rest")
                    close(cut.group("cut"))
                else:
                    current.range_text = cell
            elif current.description and _SYMBOL_SHAPED.match(cell):
                close()
                current = _start(group, cell)
            else:
                current.description = _join(current.description, cell)
            continue
        # in the range: a dangling bound, a unit or a number continue it; anything else starts the next quantity
        if _DANGLING.search(current.range_text) or _RANGE_START.match(cell) or cell in _UNITS:
            cut = _TRAILING_CUT.match(cell)
            if cut is not None:
                current.range_text = _join(current.range_text, cut.group("rest"))
                close(cut.group("cut"))
            else:
                current.range_text = _join(current.range_text, cell)
            continue
        close()
        current = _start(group, cell)
    close()
    return table


def _start(group: str, cell: str) -> QuantityRow:
    first, _, rest = cell.partition(" ")
    if rest and _POLARISATION.match(rest):
        return QuantityRow(group, cell)
    if rest and _SYMBOL.match(first) and not _SYMBOL.match(cell):
        return QuantityRow(group, first, description=rest.strip())
    return QuantityRow(group, cell)


def _continues_description(row: QuantityRow, cell: str) -> bool:
    """A cell that closes a parenthesis the description opened (`Global time (sec's since` + `1.1.1970)`)."""
    return row.description.count("(") > row.description.count(")") and ")" in cell


def _join(left: str, right: str) -> str:
    return f"{left} {right}".strip() if left else right


# -- ranges ------------------------------------------------------------------------------------------------------
_NUMBER = r"[-+]?\s?\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+(?:\.\d+)?)?"
_RANGE = re.compile(
    rf"^(?P<low>{_NUMBER}(?:\s*(?:/|,\s)\s*{_NUMBER})*)\s*(?P<low_unit>(?!(?:or|to)\b)[^\d\s,\-–+/][^\s]*)?"
    rf"\s*(?:-|–|\bto\b|\bor\b)\s*(?P<high>{_NUMBER})\s*(?P<unit>\S.*)?$"
)
_SINGLE = re.compile(rf"^(?P<value>{_NUMBER})\s*(?P<unit>\S.*)?$")
_DATE = r"(\d{1,2})\.(\d{1,2})\.(\d{4})"
_DATE_RANGE = re.compile(rf"^{_DATE}\s*[-–]\s*{_DATE}$")
_GROUPED = re.compile(r"^\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_LOST_EXPONENT = re.compile(r"^10(\d{1,2}(?:\.\d+)?)$")
_UNIT_SPELLINGS = {"°": "deg", "µV/m/MHz": "uV/m/MHz", "μV/m/MHz": "uV/m/MHz", "/m": "1/m"}


@dataclass(frozen=True)
class ParsedRange:
    low: float | None
    high: float | None
    unit: str | None
    dates: tuple[date, date] | None = None


def parse_range(text: str) -> ParsedRange | None:
    """A numeric range (`-91 - +91 m`, `1013 -1019 eV`, `65 or 71`) or a date range (`8.3.2004 – 4.11.2010`);
    None when the text is neither (a range the flattening garbled is kept only as text)."""
    text = " ".join(text.split())
    dates = _DATE_RANGE.match(text)
    if dates is not None:
        day1, month1, year1, day2, month2, year2 = (int(g) for g in dates.groups())
        try:
            return ParsedRange(None, None, None, (date(year1, month1, day1), date(year2, month2, day2)))
        except ValueError:
            return None
    match = _RANGE.match(text)
    if match is None:
        return None
    unit = _unit(match.group("unit") or match.group("low_unit"))
    if match.group("unit") and match.group("low_unit") and _unit(match.group("low_unit")) != unit:
        return None
    lows = [_number(part, unit) for part in re.split(r"\s*(?:/|,\s)\s*", match.group("low"))]
    high = _number(match.group("high"), unit)
    if any(value is None for value in lows) or high is None:
        return None
    low = min(value for value in lows if value is not None)
    if low > high:
        return None
    return ParsedRange(low, high, unit)


def _unit(text: str | None) -> str | None:
    if not text:
        return None
    text = text.strip()
    return _UNIT_SPELLINGS.get(text, text)


def _number(text: str, unit: str | None) -> float | None:
    text = text.replace(" ", "")
    sign = -1.0 if text.startswith("-") else 1.0
    text = text.lstrip("+-")
    if unit == "eV" and (lost := _LOST_EXPONENT.match(text)) is not None:
        return sign * 10 ** float(lost.group(1))
    text = text.replace(",", "") if _GROUPED.match(text) else text.replace(",", ".")  # `0,1 rad`: decimal comma
    mantissa, _, exponent = text.partition("e")
    try:
        value = float(mantissa) * (10 ** float(exponent) if exponent else 1.0)
    except (ValueError, OverflowError):  # an exponent past a float's range (`1e999`) is no bound either
        return None
    return sign * value if math.isfinite(value) else None


# -- sizes -------------------------------------------------------------------------------------------------------
_SIZE = re.compile(r"^(?P<number>\d[\d.,]*)\s*(?P<unit>[kKMGT]?B)$")
_SIZE_FACTORS = {"B": 1, "kB": 10**3, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
_GERMAN_GROUPS = re.compile(r"^\d{1,3}(?:\.\d{3})+$")


def parse_size(text: str) -> int | None:
    """Bytes of a KCDC size: `11.273 MB` (German digit grouping), `13,882 MB` (English), `95,7 MB` (decimal comma),
    `27.4 MB`, `542 kB`; decimal prefixes."""
    match = _SIZE.match(" ".join(text.split()))
    if match is None:
        return None
    number = match.group("number")
    if _GERMAN_GROUPS.match(number):
        number = number.replace(".", "")
    elif _GROUPED.match(number):
        number = number.replace(",", "")
    else:
        number = number.replace(",", ".")  # a decimal comma: `95,7 MB`
    try:
        value = float(number)
    except ValueError:
        return None
    size = value * _SIZE_FACTORS[match.group("unit")]
    return round(size) if math.isfinite(size) else None  # hundreds of digits overflow a float: no size either
