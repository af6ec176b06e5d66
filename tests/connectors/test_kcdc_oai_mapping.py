"""KCDC's OAI-PMH prototype records (the 37 preselections, `oai_dc`, profile `kcdc`) through the kcdc mapper.

The corpus holds the prototype's `<metadata>` fragments; each is wrapped in the `<record>` (header + metadata) the
OAI-PMH connector hands on, exactly as the prototype's ListRecords template nests them. Field groups are checked
on the real records, sizes and ZIPs against the production data-shop page, and every record against DCAT-AP 3.0.1.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar

import pytest

from connectors.base import Connector, MappingError, RawRecord
from connectors.kcdc_html import parse_page
from connectors.kcdc_oai import map_kcdc_oai_record
from connectors.kcdc_tables import parse_size
from connectors.oaipmh import OaiPmhConnector
from ontology import Record, shacl
from ontology.model import SelectedQuantity

RECORDS = Path("kcdc/oai_dc_prototype_server/records")
PAGE = Path("kcdc/portal_pages/datashop_fulldata_preselections.html")
OAI_HEAD = b'<record xmlns="http://www.openarchives.org/OAI/2.0/"><header><identifier>%s</identifier>'
OAI_HEAD += b"<datestamp>2025-10-07</datestamp></header>"


class OaiStandIn(Connector):
    """Stands for the OAI-PMH connector (kind `oaipmh`) whose provenance the mapper writes."""

    kind: ClassVar[str] = "oaipmh"
    mapping_version: ClassVar[str] = "test"
    default_url: ClassVar[str] = ""

    def pages(self, state):  # type: ignore[no-untyped-def]
        return iter(())

    @classmethod
    def map_record(cls, raw: RawRecord, source: str) -> Record:
        return map_kcdc_oai_record(raw, source, cls)


def wrap(native_id: str, fragment: bytes) -> RawRecord:
    payload = OAI_HEAD % native_id.encode() + fragment + b"</record>"
    url = f"http://kcdc-oai/?verb=GetRecord&identifier={native_id}&metadataPrefix=oai_dc"
    return RawRecord(native_id, payload, "application/xml; oai-profile=kcdc", url)


@pytest.fixture(scope="module")
def fragments(corpus: Path) -> dict[str, bytes]:
    files = sorted((corpus / RECORDS).glob("*.md.xml"))
    return {f.name.removesuffix(".md.xml"): f.read_bytes() for f in files}


@pytest.fixture(scope="module")
def records(fragments: dict[str, bytes]) -> dict[str, Record]:
    return {name: OaiStandIn.map_record(wrap(name, data), "kcdc-oai") for name, data in fragments.items()}


def quantity(record: Record, group: str, symbol: str) -> SelectedQuantity:
    found = [q for q in record.selection if q.group.lower() == group.lower() and q.quantity == symbol]  # type: ignore[union-attr]
    assert len(found) >= 1, (
        f"{record.native_id}: no {group}/{symbol} in {[(q.group, q.quantity) for q in record.selection]}"
    )
    return found[0]


def test_all_37_preselections_map(records: dict[str, Record]) -> None:
    assert len(records) == 37
    # the prototype's files are named by the set; eight records' own dc:title spell it differently
    # (`KASCADE-GRANDE ReducedData _runs_4775- 7398_ASCII`, `COMBINED_LOPES_nA_…`): kept as the source wrote them
    titled_otherwise = {name: r.title for name, r in records.items() if r.title != name}
    assert len(titled_otherwise) == 8
    for name, title in titled_otherwise.items():
        assert re.sub(r"\D", "", title).endswith(re.sub(r"\D", "", name)[-8:]), (name, title)
    for name, record in records.items():
        assert record.native_id == name
        assert record.publisher is not None and record.publisher.name == "KASCADE Cosmic Ray Data Centre (KCDC)"
        assert [c.name for c in record.creators] == [
            "Institute for Astroparticle Physics, Karlsruhe Institute of Technology"
        ]
        assert record.language == "en" and record.issued is not None and record.issued.startswith("2020-")
        assert record.description and "Abstract" not in record.description


def test_repository_doi_is_where_each_record_belongs_not_its_own_doi(records: dict[str, Record]) -> None:
    for record in records.values():
        assert [(i.scheme, i.value) for i in record.is_part_of] == [("doi", "10.17616/R3TS4P")]
        assert record.doi is None


def test_zip_size_and_format(records: dict[str, Record]) -> None:
    record = records["KASCADE_ReducedData_runs_4685-7417_HDF5"]
    archive = record.distributions[0]
    assert archive.url == "https://kcdc.iap.kit.edu/Preselections/KASCADE_ReducedData_runs_4685-7417_HDF5.zip"
    assert (archive.format, archive.media_type, archive.size_bytes) == ("HDF5", "application/zip", 11_273_000_000)
    assert record.size_bytes == 11_273_000_000 and record.formats == ["HDF5"]
    assert records["KASCADE-LOPES_runs_5534-6821_ASCII"].size_bytes == 542_000
    assert records["COMBINED_SmallDataSample_nA_runs_4775-7039_HDF5"].size_bytes == 27_400_000
    for record in records.values():
        assert str(record.distributions[0].url).endswith(f"/Preselections/{record.native_id}.zip")
        assert record.formats and record.formats[0] in ("ASCII", "HDF5", "ROOT")
        assert record.native_id.endswith(record.formats[0])


def test_files_inside_the_zip_with_their_sizes(records: dict[str, Record]) -> None:
    lopes = records["KASCADE-LOPES_runs_5534-6821_ASCII"]
    inside = {d.name: d.size_bytes for d in lopes.distributions[1:]}
    assert inside == {
        "array.txt": 75_000,
        "general.txt": 348_000,
        "lopes.txt": 732_000,
        "grande.txt": 237_000,
        "row_mapping.txt": 52_000,
    }
    assert all(d.access_url == lopes.distributions[0].url and d.url is None for d in lopes.distributions[1:])
    hdf5 = records["KASCADE_ReducedData_runs_4685-7417_HDF5"].distributions[1]
    assert (hdf5.name, hdf5.size_bytes, hdf5.format) == ("events.h5", 2_480_000_000, "HDF5")


def test_sizes_agree_with_the_production_page(records: dict[str, Record], corpus: Path) -> None:
    """The OAI sizes and the page's rounded sizes describe the same 37 ZIPs. Every `N.NNN MB` of the prototype
    agrees with the page once read with German digit grouping (13.028 MB is the page's 13.0 GB); five sizes differ
    between the two KCDC sources themselves (the page's 1 GB for an 11,273 MB file among them), and stay as each
    source says."""
    page = parse_page((corpus / PAGE).read_bytes(), "https://kcdc.iap.kit.edu/datashop/fulldata")
    on_page = {d.zip_url: parse_size(d.size_text or "") or 0 for row in page.rows for d in row.downloads}
    assert set(on_page) == {r.distributions[0].url for r in records.values()}
    disagree = []
    for record in records.values():
        shown = on_page[str(record.distributions[0].url)]
        assert shown and record.size_bytes is not None
        if abs(shown - record.size_bytes) > 0.06 * record.size_bytes:
            disagree.append(record.native_id)
    assert sorted(disagree) == [
        "COMBINED-LOPES_runs_5534-6821_ASCII",
        "COMBINED_HighEnergyData_runs_4775-7039_ASCII",
        "COMBINED_SmallDataSample_nA_runs_4775-7039_ASCII",
        "KASCADE_HighEnergyData_runs_0877-7417_HDF5",
        "KASCADE_ReducedData_runs_4685-7417_HDF5",
    ]
    grouped = [r for r in records.values() if r.size_bytes and r.size_bytes >= 7_000_000_000]
    assert len(grouped) == 5
    agreeing = [
        r
        for r in grouped
        if abs(on_page[str(r.distributions[0].url)] - (r.size_bytes or 0)) <= 0.01 * (r.size_bytes or 0)
    ]
    assert len(agreeing) == 4


def test_quantities_and_ranges(records: dict[str, Record]) -> None:
    record = records["KASCADE_ReducedData_runs_4685-7417_HDF5"]
    energy = quantity(record, "KASCADE", "E")
    assert (energy.description, energy.min, energy.max, energy.unit) == ("Estimated primary energy", 1e13, 1e19, "eV")
    assert (energy.cut, energy.applied) == ("full range", False)
    core = quantity(record, "KASCADE", "Xc")
    assert (core.min, core.max, core.unit) == (-91, 91, "m")
    pressure = quantity(record, "general", "P")
    assert (pressure.min, pressure.max, pressure.unit) == (960, 1040, "hPa")
    time = quantity(record, "general", "Gt")
    assert (time.description, time.min, time.max) == (
        "Global time (sec’s since 1.1.1970)",
        1_017_887_940,
        1_358_239_243,
    )
    assert record.energy_range is not None
    assert (record.energy_range.min, record.energy_range.max, record.energy_range.unit) == (1e13, 1e19, "eV")
    assert "Estimated primary energy (E)" in {o.label for o in record.observables}
    assert record.temporal_coverage is not None
    assert (record.temporal_coverage.start, record.temporal_coverage.end) == ("2003-12-20", "2013-01-15")
    grande = quantity(records["KASCADE-GRANDE_ReducedData_runs_4775-7398_ROOT"], "GRANDE", "Nch")
    assert (grande.description, grande.min, grande.max) == ("Number of charged particles Grande", 11111, 1e9)


def test_run_range_of_every_table_matches_the_set_name(records: dict[str, Record]) -> None:
    """A strong check of the table reading: the `R` row agrees with the set's name, but where the source itself
    disagrees (the KASCADE small samples' tables say 887 for run 877)."""
    disagree = {}
    for record in records.values():
        first, last = (int(n) for n in re.search(r"_runs_(\d+)-(\d+)", record.native_id).groups())  # type: ignore[union-attr]
        runs = [q for q in record.selection if q.quantity == "R" and q.group and q.group.lower() == "general"]
        assert len(runs) == 1, record.native_id
        if (runs[0].min, runs[0].max) != (first, last):
            disagree[record.native_id] = (runs[0].min, runs[0].max)
        assert record.temporal_coverage is not None and record.temporal_coverage.start < record.temporal_coverage.end  # type: ignore[operator]
    assert disagree == {name: (887, 7417) for name in records if name.startswith("KASCADE_SmallDataSample_")}
    assert len(disagree) == 5


def test_cuts(records: dict[str, Record]) -> None:
    high = records["KASCADE_HighEnergyData_runs_0877-7417_ROOT"]
    cut = quantity(high, "KASCADE", "E")
    assert (cut.cut, cut.applied, cut.unit) == ("cut", True, "eV") and cut.min == pytest.approx(10**15.7)
    assert high.energy_range is not None and high.energy_range.min == pytest.approx(10**15.7)
    calorimeter = quantity(records["KASCADE-CALOR_ReducedData_runs_0877-5496_ASCII"], "CALORIMETER", "Nhad")
    assert (calorimeter.min, calorimeter.max, calorimeter.cut, calorimeter.applied) == (1, 511, "cut", True)
    hadrons = quantity(records["KASCADE-CALOR_ReducedData_runs_0877-5496_ASCII"], "CALORIMETER", "Ehad")
    assert (hadrons.min, hadrons.max, hadrons.applied) == (0, 1e16, False)
    sample = quantity(records["KASCADE_SmallDataSample_nA_runs_0877-7417_ROOT"], "KASCADE", "E")
    assert (sample.cut, sample.applied) == ("1/400th", True)
    lopes = records["KASCADE-LOPES_runs_5534-6821_ASCII"]
    assert quantity(lopes, "general", "R").applied
    assert "LOPES has produced a valid reconstruction" in (lopes.description or "")


def test_experiments_messenger_and_vocabulary(records: dict[str, Record]) -> None:
    for record in records.values():
        assert [m.label for m in record.messengers] == ["charged cosmic ray"]
        assert [c.label for c in record.collaboration] == ["KASCADE-Grande"]
        assert record.contributors[0].affiliations[0].ror == "https://ror.org/04t3en479"
        assert (
            record.license is not None
            and record.license.uri == "https://kcdc.iap.kit.edu/static/pdf/kcdc_mainpage/EULA.pdf"
        )
        assert [c.label for c in record.resource_categories] == ["event data"]
        assert record.subjects[0].uri == "https://physh.org/concepts/678197d1-8bf1-4c16-86cc-8133fba03b86"
        assert all(e.uri for e in record.experiments)
    assert {e.label for e in records["COMBINED-LOPES_runs_5534-6821_ROOT"].experiments} == {"KASCADE-Grande", "LOPES"}
    assert {e.label for e in records["KASCADE-CALOR_ReducedData_runs_0877-5496_HDF5"].experiments} == {"KASCADE"}


def test_every_record_passes_the_dcat_ap_gate(records: dict[str, Record]) -> None:
    report = shacl.validate(records.values(), gates=("dcat-ap", "dml"))
    assert report.records == 37
    assert report.violations("dcat-ap") == [], report.summary(examples=10)
    assert report.violations("dml") == [], report.summary(examples=10)


# -- malformed records: quarantined with the field named ----------------------------------------------------------
NAME = "KASCADE_ReducedData_runs_4685-7417_HDF5"


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        (b"Size: 11.273 MB", b"Size: eleven MB", "dc:format[Size]"),
        (b"Format: HDF5", b"Format: ", "dc:format[Format]"),
        (
            b"Quantity |       Description        |",
            b"Quantity |       Meaning        |",
            "dc:description[TechnicalInfo[KASCADE]]",
        ),
        (
            b"   Xc    |     X-core position      |",
            b"   Xc    |     X-core position      ",
            "dc:description[TechnicalInfo[KASCADE].row[2]]",
        ),
        (b"events.h5 / 2480 MB", b"events.h5 (2480 MB)", "dc:description[Table of Contents]"),
        (b"2020-05-06", b"6 May 2020", "dc:date"),
        (b"<dc:title>", b"<dc:subject>", "dc:title"),
        (b"<oai_dc:dc ", b"<oai_dc:dcx ", "metadata"),
    ],
)
def test_a_malformed_block_names_its_field(fragments: dict[str, bytes], old: bytes, new: bytes, field: str) -> None:
    data = fragments[NAME]
    assert old in data
    if old == b"<dc:title>":
        data = data.replace(b"</dc:title>", b"</dc:subject>", 1)
    if old == b"<oai_dc:dc ":
        data = data.replace(b"</oai_dc:dc>", b"</oai_dc:dcx>")
    with pytest.raises(MappingError) as caught:
        OaiStandIn.map_record(wrap(NAME, data.replace(old, new, 1)), "kcdc-oai")
    assert caught.value.field == field, str(caught.value)


def test_an_entity_bomb_is_refused_not_expanded() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><record>&b;</record>'
    with pytest.raises(MappingError) as caught:
        OaiStandIn.map_record(RawRecord("x", bomb, "application/xml; oai-profile=kcdc", "http://x"), "kcdc-oai")
    assert caught.value.field == "record" and "DOCTYPE" in caught.value.message


def test_the_oai_pmh_connector_dispatches_the_kcdc_profile_here(fragments: dict[str, bytes]) -> None:
    """The same records through `OaiPmhConnector.map_record` (profile read from the media type): same content."""
    for name, data in list(fragments.items())[:6]:
        raw = wrap(name, data)
        through_oai = OaiPmhConnector.map_record(raw, "kcdc-oai")
        assert through_oai.content_dict() == OaiStandIn.map_record(raw, "kcdc-oai").content_dict()
        assert through_oai.provenance.source_kind == "oaipmh" and through_oai.selection
