"""A malformed value of a KCDC record is quarantined by a `MappingError` naming where the record has it.

The harvest quarantines a record under the field its `MappingError` names; any other exception is reported as a
mapper bug ("(mapper)"). KCDC's records come in two shapes, both mutated here:

* the OAI-PMH prototype's `oai_dc` records (all 37 of the corpus): every element blanked, dropped, doubled or given
  a child (`mutate_element`), and the text of every labelled value and description block changed the ways a
  hand-flattened table goes wrong — numbers spelt as words or too long for a float, a range with an end missing or
  reversed, a unit nobody knows, a cell blanked, missing or extra, empty lines, the block cut short. Each mutant maps
  or fails with a `MappingError` naming the DC element whose text was changed (`dc:format[Size]`,
  `dc:description[TechnicalInfo[KASCADE].row[2]]`);
* the data-shop page's rows (all 13 of the saved page, each as the standalone document the connector hands on):
  every element mutated, and every cell blanked, dropped or doubled, its size unreadable or too long, its links
  broken, the page's update date impossible, the table gone. Each mutant maps or fails with a `MappingError` naming
  the row's column (`row[ROOT].size`, `row[Data sets]`) as the page's header names it.

Explicit cases pin the field and message of each cause that used to escape as another exception, and which
malformed optional values are skipped (kept as text) rather than quarantined.
"""

from __future__ import annotations

import copy
import random
import re
from collections.abc import Callable
from functools import partial
from pathlib import Path

import lxml.html
import pytest
from lxml import etree
from malformed import Outcomes, mutated_elements

from connectors.base import MappingError, RawRecord
from connectors.kcdc import KcdcConnector
from connectors.kcdc_html import HEADER_CLASS, NAME_COLUMN, TABLE_CLASS, parse_page, row_document
from connectors.oaipmh import OaiPmhConnector
from ontology import Record

RECORDS = Path("kcdc/oai_dc_prototype_server/records")
PAGE = Path("kcdc/portal_pages/datashop_fulldata_preselections.html")
PAGE_URL = "https://kcdc.iap.kit.edu/datashop/fulldata"
OAI_MEDIA_TYPE = "application/xml; oai-profile=kcdc"
DC = "{http://purl.org/dc/elements/1.1/}"
SEED = 23
NAME = "KASCADE_ReducedData_runs_4685-7417_HDF5"
"""The record the explicit OAI cases change: one table per detector, a Table of Contents, a size in German digits."""
LOPES_ROW = "KASCADE-LOPES_runs_5534-6821"
HIGH_ENERGY_ROW = "KASCADE_HighEnergyData_runs_0877-7417"


# -- records ---------------------------------------------------------------------------------------------------------


def _oai_raw(native_id: str, fragment: bytes) -> RawRecord:
    """A corpus `<metadata>` fragment in the `<record>` the OAI-PMH connector hands on."""
    payload = (
        b'<record xmlns="http://www.openarchives.org/OAI/2.0/"><header><identifier>'
        + native_id.encode()
        + b"</identifier><datestamp>2025-10-07</datestamp></header>"
        + fragment
        + b"</record>"
    )
    return RawRecord(native_id, payload, OAI_MEDIA_TYPE, f"http://kcdc-oai/?verb=GetRecord&identifier={native_id}")


@pytest.fixture(scope="module")
def oai_raws(corpus: Path) -> dict[str, RawRecord]:
    files = sorted((corpus / RECORDS).glob("*.md.xml"))
    return {f.name.removesuffix(".md.xml"): _oai_raw(f.name.removesuffix(".md.xml"), f.read_bytes()) for f in files}


@pytest.fixture(scope="module")
def html_raws(corpus: Path) -> dict[str, RawRecord]:
    page = parse_page((corpus / PAGE).read_bytes(), PAGE_URL)
    return {row.name: RawRecord(row.name, row_document(page, row), "text/html", PAGE_URL) for row in page.rows}


def _map_oai(raw: RawRecord) -> Record:
    return OaiPmhConnector.map_record(raw, "kcdc-oai")


def _map_html(raw: RawRecord) -> Record:
    return KcdcConnector.map_record(raw, "kcdc-html")


def _changed(raw: RawRecord, old: bytes, new: bytes) -> RawRecord:
    assert raw.payload.count(old) >= 1, old
    return RawRecord(raw.native_id, raw.payload.replace(old, new, 1), raw.media_type, raw.url)


def _error(mapper: Callable[[RawRecord], Record], raw: RawRecord) -> MappingError:
    with pytest.raises(MappingError) as caught:
        mapper(raw)
    return caught.value


# -- OAI-PMH: every element mutated ----------------------------------------------------------------------------------


_OAI_FIELD = re.compile(r"^(?:metadata|header\.status|dc:[a-z]+(?:\[.+\])?)$")
"""What a KCDC OAI error may name: the record's metadata, its header's status, or a DC element (and the labelled
value or description block inside it)."""


def _names_the_oai_element(dc_name: str | None, error: MappingError) -> bool:
    """A changed DC element is the one named (a dropped ZIP URL is missing from dc:identifier, say)."""
    return bool(_OAI_FIELD.match(error.field)) and not (dc_name and not error.field.startswith(dc_name))


def test_every_mutated_oai_element_maps_or_names_its_element(oai_raws: dict[str, RawRecord]) -> None:
    assert len(oai_raws) == 37
    rng = random.Random(SEED)
    outcomes = Outcomes()
    for raw in oai_raws.values():
        for number, element, tree in mutated_elements(raw.payload, etree.fromstring, rng):
            dc_name = f"dc:{element.tag[len(DC) :]}" if element.tag.startswith(DC) else None
            outcomes.attempt(
                f"{raw.native_id} <{etree.QName(element).localname}> #{number}",
                partial(_map_oai, RawRecord(raw.native_id, etree.tostring(tree), raw.media_type, raw.url)),
                partial(_names_the_oai_element, dc_name),
            )
    outcomes.assert_every_one_named(mapped_over=600, quarantined_over=50)


# -- OAI-PMH: the text of labelled values and description blocks, mutated -----------------------------------------

_RANGE = re.compile(r"(?P<low>[-+]?\d[\d,.]*)(?P<between>\s*(?:-|–|to)\s*)(?P<high>[-+]?\d[\d,.]*)")
_NUMBER = re.compile(r"\d[\d,.]*")
_KNOWN_UNIT = re.compile(r"(?<=[\d\s])(?:eV|hPa|m|°|MB|kB|GB)\b|°")


def _first_number(word: str) -> Callable[[str], str | None]:
    def change(line: str) -> str | None:
        found = _NUMBER.search(line)
        return None if found is None else line[: found.start()] + word + line[found.end() :]

    return change


def _last_number_as_word(line: str) -> str | None:
    found = list(_NUMBER.finditer(line))
    return None if not found else line[: found[-1].start()] + "several" + line[found[-1].end() :]


def _range_without_high(line: str) -> str | None:
    found = _RANGE.search(line)
    return None if found is None else line[: found.start("high")] + line[found.end("high") :]


def _range_without_low(line: str) -> str | None:
    found = _RANGE.search(line)
    return None if found is None else line[: found.start("low")] + line[found.end("low") :]


def _range_reversed(line: str) -> str | None:
    found = _RANGE.search(line)
    if found is None:
        return None
    swapped = found.group("high") + found.group("between") + found.group("low")
    return line[: found.start()] + swapped + line[found.end() :]


def _unknown_unit(line: str) -> str | None:
    found = _KNOWN_UNIT.search(line)
    return None if found is None else line[: found.start()] + "furlongs" + line[found.end() :]


def _cell(change: Callable[[list[str]], list[str]]) -> Callable[[str], str | None]:
    def on_cells(line: str) -> str | None:
        return "|".join(change(line.split("|"))) if "|" in line else None

    return on_cells


LINE_MUTATIONS: dict[str, Callable[[str], str | None]] = {
    "a number spelt as a word": _first_number("many"),
    "the last number spelt as a word": _last_number_as_word,
    "a number too long for a float": _first_number("9" * 400),
    "an exponent past a float's range": _first_number("1e999"),
    "a range without its upper end": _range_without_high,
    "a range without its lower end": _range_without_low,
    "a range reversed": _range_reversed,
    "an unknown unit": _unknown_unit,
    "a cell blanked": _cell(lambda cells: [cells[0], " ", *cells[2:]]),
    "a cell dashed": _cell(lambda cells: [*cells[:-1], " – "]),
    "a cell missing": _cell(lambda cells: cells[:-1]),
    "an extra cell": _cell(lambda cells: [*cells, " x "]),
    "the line blanked": lambda line: "",
    "the line cut in half": lambda line: line[: len(line) // 2],
}


def _text_mutants(text: str, rng: random.Random) -> list[tuple[str, str]]:
    """(what was done, new text): per line two of the line mutations that change it, an empty line before it and
    the block cut after it or in it, chosen by `rng`; the block cut at fractions of its length; the label alone."""
    lines = text.split("\n")
    mutants = []
    for number, line in enumerate(lines):
        candidates = [
            (kind, "\n".join([*lines[:number], new, *lines[number + 1 :]]))
            for kind, change in LINE_MUTATIONS.items()
            if (new := change(line)) not in (None, line)
        ]
        candidates += [
            ("an empty line before", "\n".join([*lines[:number], "", *lines[number:]])),
            ("the block cut after it", "\n".join(lines[: number + 1])),
            ("the block cut in it", "\n".join([*lines[:number], line[: len(line) // 2]])),
        ]
        mutants += [(f"line {number}: {kind}", new) for kind, new in rng.sample(candidates, 2)]
    mutants += [(f"the block cut at {share:.0%}", text[: int(len(text) * share)]) for share in (0.25, 0.5, 0.75)]
    if ":" in text:
        mutants.append(("the label alone", text.split(":", 1)[0] + ":"))
    return mutants


def _names_the_element(dc_name: str, error: MappingError) -> bool:
    return error.field.startswith(dc_name)


def test_every_mutated_description_block_and_labelled_value_maps_or_names_its_element(
    oai_raws: dict[str, RawRecord],
) -> None:
    """Each distinct text (the ASCII, ROOT and HDF5 records of a preselection share their tables) is mutated in the
    first record that has it; the error names the DC element whose text changed."""
    rng = random.Random(SEED)
    outcomes = Outcomes()
    kinds: set[str] = set()
    seen: set[tuple[str, str]] = set()
    for raw in oai_raws.values():
        tree = etree.fromstring(raw.payload)
        for element in [e for e in tree.iter() if isinstance(e.tag, str) and e.tag.startswith(DC)]:
            dc_name, original = f"dc:{element.tag[len(DC) :]}", element.text or ""
            if dc_name in ("dc:title", "dc:identifier") or not original.strip() or (dc_name, original) in seen:
                continue  # titles and identifiers are not labelled text: `mutate_element` covers them
            seen.add((dc_name, original))
            for what, text in _text_mutants(original, rng):
                kinds.add(what.split(": ", 1)[-1])
                element.text = text
                outcomes.attempt(
                    f"{raw.native_id} {dc_name} {what}",
                    partial(_map_oai, RawRecord(raw.native_id, etree.tostring(tree), raw.media_type, raw.url)),
                    partial(_names_the_element, dc_name),
                )
            element.text = original
    outcomes.assert_every_one_named(mapped_over=1500, quarantined_over=500)
    assert set(LINE_MUTATIONS) <= kinds, set(LINE_MUTATIONS) - kinds


# -- OAI-PMH: the causes, one by one ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("2020-13-06", "'2020-13-06' is not a calendar date (month must be in 1..12)"),
        ("2020-02-30", "'2020-02-30' is not a calendar date (day is out of range for month)"),
        ("2020-00", "'2020-00' is not a calendar date (month must be in 1..12)"),
    ],
)
def test_a_date_that_is_not_on_the_calendar_is_named(
    oai_raws: dict[str, RawRecord], written: str, message: str
) -> None:
    """A month 13 used to reach the model and fail there, unnamed (a pydantic ValidationError); a 30 February,
    which the model's pattern lets through, used to be kept as a day that never was."""
    error = _error(_map_oai, _changed(oai_raws[NAME], b"2020-05-06", written.encode()))
    assert (error.field, error.message) == ("dc:date", message)


def test_a_size_too_long_for_a_float_is_named(oai_raws: dict[str, RawRecord]) -> None:
    """Hundreds of digits used to overflow (OverflowError) in `parse_size`; they are no size, as 'eleven MB' is not."""
    digits = "9" * 400
    error = _error(_map_oai, _changed(oai_raws[NAME], b"Size: 11.273 MB", f"Size: {digits} MB".encode()))
    assert (error.field, error.message) == (
        "dc:format[Size]",
        f"'{digits} MB' is not a size such as '11.273 MB' or '542 kB'",
    )


@pytest.mark.parametrize("size", ["2.480.0 MB", f"{'9' * 400} MB"])
def test_a_file_size_in_the_table_of_contents_that_cannot_be_read_is_named(
    oai_raws: dict[str, RawRecord], size: str
) -> None:
    """Such a size used to leave the file without a size (or overflow): the line is named, as a malformed line is."""
    raw = _changed(oai_raws[NAME], b"events.h5 / 2480 MB", f"events.h5 / {size}".encode())
    error = _error(_map_oai, raw)
    assert (error.field, error.message) == (
        "dc:description[Table of Contents]",
        f"'events.h5 / {size}': '{size}' is not a size such as '2480 MB' or '75 kB'",
    )


def test_a_contributor_label_without_a_name_is_named_as_the_source_spells_it(oai_raws: dict[str, RawRecord]) -> None:
    """It used to make an agent without a name, which the model refused (ValidationError). The label keeps the
    prototype's Cyrillic С: the field names the value as the record has it."""
    raw = _changed(
        oai_raws[NAME], "СontributorName: KASCADE-Grande Collaboration".encode(), "СontributorName:".encode()
    )
    error = _error(_map_oai, raw)
    assert error.field == "dc:contributor[СontributorName]"
    assert error.message == (
        "empty: expected a name after the label, such as 'ContributorName: KASCADE-Grande Collaboration'"
    )
    raw = _changed(oai_raws[NAME], b"<dc:publisher>", b"<dc:contributor>Editor: </dc:contributor><dc:publisher>")
    assert _error(_map_oai, raw).field == "dc:contributor[Editor]"


def test_an_affiliation_without_a_name_is_still_skipped(oai_raws: dict[str, RawRecord]) -> None:
    raw = oai_raws[NAME]
    blank = _changed(
        raw, b"Affiliation: Karlsruhe Institute of Technology (https://ror.org/04t3en479)", b"Affiliation:"
    )
    contributors = _map_oai(blank).contributors
    assert [(c.name, c.affiliations) for c in contributors] == [("KASCADE-Grande Collaboration", [])]


def test_a_range_with_an_exponent_past_a_float_is_kept_as_text(oai_raws: dict[str, RawRecord]) -> None:
    """It used to overflow (OverflowError) in `parse_range`. A range the mapper cannot read is kept as the source
    wrote it, without bounds (as the flattening's garbled ranges are), and the record is not lost for it."""
    raw = _changed(
        oai_raws[NAME],
        b"   Xc    |     X-core position      |    -91 - +91 m ",
        b"   Xc    |     X-core position      |    -91 - +1e999 m ",
    )
    core = next(q for q in _map_oai(raw).selection if q.group == "KASCADE" and q.quantity == "Xc")
    assert (core.min, core.max, core.unit) == (None, None, None)
    assert "-91 - +1e999 m" in core.raw


# -- the data-shop page: every element and cell mutated -------------------------------------------------------------

_HTML_FIELD = re.compile(r"^row\[(?P<column>[^\]]+)\](?:\.size)?$")


def _columns(payload: bytes) -> set[str]:
    """The columns a row document's header names (its format columns as the mutant has them), and the two the
    mapper names for the row itself."""
    document = lxml.html.document_fromstring(payload)
    headers = [t for t in document.iter("table") if HEADER_CLASS in (t.get("class") or "").split()]
    cells = {" ".join(cell.text_content().split()) for table in headers for cell in table.iter("td")}
    return cells | {NAME_COLUMN, "Download Info"}


def _names_a_column(payload: bytes, error: MappingError) -> bool:
    named = _HTML_FIELD.match(error.field)
    return named is not None and named.group("column") in _columns(payload)


def _check_html(outcomes: Outcomes, what: str, mutant: RawRecord) -> None:
    outcomes.attempt(what, partial(_map_html, mutant), partial(_names_a_column, mutant.payload))


def test_every_mutated_html_element_maps_or_names_its_column(html_raws: dict[str, RawRecord]) -> None:
    assert len(html_raws) == 13
    rng = random.Random(SEED)
    outcomes = Outcomes()
    for raw in html_raws.values():
        for number, element, document in mutated_elements(raw.payload, lxml.html.document_fromstring, rng):
            mutant = RawRecord(raw.native_id, lxml.html.tostring(document), raw.media_type, raw.url)
            _check_html(outcomes, f"{raw.native_id} <{element.tag}> #{number}", mutant)
    outcomes.assert_every_one_named(mapped_over=150, quarantined_over=100)


def _blanked(cell: lxml.html.HtmlElement) -> None:
    for child in list(cell):
        cell.remove(child)
    cell.text = ""


def _rewritten(pattern: str, replacement: str) -> Callable[[lxml.html.HtmlElement], None]:
    """Rewrite a cell's markup (its size text, its links) and put the result in its place."""

    def rewrite(cell: lxml.html.HtmlElement) -> None:
        markup = lxml.html.tostring(cell, encoding="unicode", with_tail=False)
        changed = lxml.html.fragment_fromstring(re.sub(pattern, replacement, markup, count=1))
        changed.tail = cell.tail
        parent = cell.getparent()
        assert parent is not None
        parent.replace(cell, changed)

    return rewrite


_SIZE = r"\d[\d.,]*(?=\s*[kMG]B)"
CELL_MUTATIONS: dict[str, Callable[[lxml.html.HtmlElement], None]] = {
    "blanked": _blanked,
    "missing": lambda cell: cell.getparent().remove(cell),  # type: ignore[union-attr]
    "doubled (an extra cell)": lambda cell: cell.addnext(copy.deepcopy(cell)),
    "a size spelt as a word": _rewritten(_SIZE, "many"),
    "a size too long for a float": _rewritten(_SIZE, "9" * 400),
    "a size in an unknown unit": _rewritten(r"(?<=\d)\s*[kMG]B", " parsecs"),
    "a size with two decimal points": _rewritten(_SIZE, "1.2.3"),
    "its ZIP link not a ZIP": _rewritten(r"\.zip\b", ".tar"),
    "its ZIP link's host unreadable": _rewritten(r"https://kcdc\.iap\.kit\.edu", "https://[kcdc"),
    "its details link's host unreadable": _rewritten(r'href="/static', 'href="https://[kcdc/static'),
}


def test_every_mutated_cell_maps_or_names_its_column(html_raws: dict[str, RawRecord]) -> None:
    """Every cell of the header and of the row, each changed every way of `CELL_MUTATIONS` that applies."""
    outcomes = Outcomes()
    for raw in html_raws.values():
        cell_count = len(list(lxml.html.document_fromstring(raw.payload).iter("td")))
        for number in range(cell_count):
            for kind, change in CELL_MUTATIONS.items():
                document = lxml.html.document_fromstring(raw.payload)
                change(list(document.iter("td"))[number])
                payload = lxml.html.tostring(document)
                if payload == lxml.html.tostring(lxml.html.document_fromstring(raw.payload)):
                    continue  # nothing to change: a cell without a size or links
                mutant = RawRecord(raw.native_id, payload, raw.media_type, raw.url)
                _check_html(outcomes, f"{raw.native_id} cell {number} {kind}", mutant)
    outcomes.assert_every_one_named(mapped_over=50, quarantined_over=500)


PAGE_MUTATIONS: dict[str, tuple[bytes, bytes]] = {
    "an update date not on the calendar": (b"last update 21.12.2022", b"last update 41.13.2022"),
    "an update date in year 0": (b"last update 21.12.2022", b"last update 1.1.0000"),
    "an update date that is no date": (b"last update 21.12.2022", b"last update yesterday"),
    "the release table gone": (f'class="{TABLE_CLASS}"'.encode(), b'class="kaosReleases"'),
    "the header table gone": (f'class="{HEADER_CLASS}"'.encode(), b'class="kaosHeader"'),
    "the row gone": (b"<tr>\n", b"<!--"),
    "the page's address unreadable": (b'<base href="https://kcdc', b'<base href="https://[kcdc'),
    "the row cut in half": (b"</td>", b""),
}


def test_every_mutated_page_part_maps_or_names_its_column(html_raws: dict[str, RawRecord]) -> None:
    outcomes = Outcomes()
    for raw in html_raws.values():
        for kind, (old, new) in PAGE_MUTATIONS.items():
            _check_html(outcomes, f"{raw.native_id} {kind}", _changed(raw, old, new))
        cut = RawRecord(raw.native_id, raw.payload[: len(raw.payload) // 2], raw.media_type, raw.url)
        _check_html(outcomes, f"{raw.native_id} the document cut short", cut)
    outcomes.assert_every_one_named(mapped_over=3 * 13 - 1, quarantined_over=50)


# -- the data-shop page: the causes, one by one ----------------------------------------------------------------------


def test_a_size_too_long_for_a_float_is_named_by_its_column(html_raws: dict[str, RawRecord]) -> None:
    """It used to overflow (OverflowError) in `parse_size`."""
    digits = "9" * 400
    error = _error(_map_html, _changed(html_raws[LOPES_ROW], b"686 kB", f"{digits} kB".encode()))
    assert (error.field, error.message) == ("row[ROOT].size", f"'{digits} kB' is not a size such as '7.3 GB'")


@pytest.mark.parametrize("written", [b"last update 41.13.2022", b"last update 29.2.2023", b"last update 1.1.0000"])
def test_an_update_date_not_on_the_calendar_is_skipped_as_an_unreadable_one_is(
    html_raws: dict[str, RawRecord], written: bytes
) -> None:
    """It used to reach the model and fail there, unnamed (ValidationError). The date is the page's, not the row's:
    an update comment the mapper cannot read has always left the release without a modification date rather
    than cost every row of the page its record, and so does one with an impossible date."""
    raw = html_raws[LOPES_ROW]
    assert _map_html(raw).modified == "2022-12-21"
    unreadable = _map_html(_changed(raw, b"last update 21.12.2022", b"last update soon"))
    impossible = _map_html(_changed(raw, b"last update 21.12.2022", written))
    assert unreadable.modified is None and impossible.modified is None
    assert impossible.model_dump(exclude={"provenance"}) == unreadable.model_dump(exclude={"provenance"})


def test_an_energy_cut_past_a_float_stays_in_the_prose(html_raws: dict[str, RawRecord]) -> None:
    """It used to overflow (OverflowError) reading `above 10^N eV` from the description. The cut is read from prose
    where the prose allows; past a float's range it is not read, and the sentence stays in the description."""
    raw = html_raws[HIGH_ENERGY_ROW]
    assert b"<sup>15.7</sup>" in raw.payload
    assert [q.quantity for q in _map_html(raw).selection] == ["R", "E"]
    record = _map_html(_changed(raw, b"<sup>15.7</sup>", b"<sup>999</sup>"))
    assert [q.quantity for q in record.selection] == ["R"] and record.energy_range is None
    assert "10^999 eV" in (record.description or "")


def test_a_document_without_exactly_one_row_names_the_data_sets_column(html_raws: dict[str, RawRecord]) -> None:
    """It used to name only "row", which says nothing of where."""
    raw = html_raws[LOPES_ROW]
    error = _error(_map_html, _changed(raw, b"<tr>\n", b"<!--"))
    assert (error.field, error.message) == ("row[Data sets]", "expected one preselection row, found none")
    start = raw.payload.index(b"<tr>\n")
    end = raw.payload.index(b"</tr>", start) + len(b"</tr>")
    doubled = raw.payload[:end] + raw.payload[start:end] + raw.payload[end:]
    error = _error(_map_html, RawRecord(raw.native_id, doubled, raw.media_type, raw.url))
    assert error.field == "row[Data sets]"
    assert error.message == (
        "expected one preselection row, found 2: 'KASCADE-LOPES_runs_5534-6821_xxx', 'KASCADE-LOPES_runs_5534-6821_xxx'"
    )


def test_a_link_whose_host_cannot_be_read_is_named_by_its_column(html_raws: dict[str, RawRecord]) -> None:
    """`urljoin` used to raise a bare ValueError ("Invalid IPv6 URL"), in the mapper and in the connector's
    reading of the whole page."""
    raw = html_raws[LOPES_ROW]
    broken = b"https://[kcdc/Preselections/KASCADE-LOPES_runs_5534-6821_ROOT.zip"
    error = _error(
        _map_html,
        _changed(raw, b"https://kcdc.iap.kit.edu/Preselections/KASCADE-LOPES_runs_5534-6821_ROOT.zip", broken),
    )
    assert error.field == "row[ROOT]"
    assert error.message == (
        f"row 'KASCADE-LOPES_runs_5534-6821_xxx': {broken.decode()!r} is not a URL on {PAGE_URL!r} (Invalid IPv6 URL)"
    )
    error = _error(_map_html, _changed(raw, b'<base href="https://kcdc', b'<base href="https://[kcdc'))
    assert error.field == "row[ASCII]" and "Invalid IPv6 URL" in error.message
