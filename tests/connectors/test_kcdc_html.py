"""KCDC's data-shop page: the release table parsed into releases, the connector and replica inside the harvester."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from connectors.base import HarvestState, Limits, MappingError, RawRecord, SourceSpec
from connectors.http import HttpClient
from connectors.kcdc import KcdcConnector
from connectors.kcdc_html import KcdcPageError, parse_page, row_document
from harvester.catalogue import Catalogue
from harvester.config import Source
from harvester.harvest import Harvester
from ontology import Record, shacl
from sandbox.replicas.kcdc_html import KcdcHtmlReplica
from sandbox.server import start

PAGE = Path("kcdc/portal_pages/datashop_fulldata_preselections.html")
URL = "https://kcdc.iap.kit.edu/datashop/fulldata"


@pytest.fixture(scope="module")
def page_bytes(corpus: Path) -> bytes:
    return (corpus / PAGE).read_bytes()


@pytest.fixture(scope="module")
def records(page_bytes: bytes) -> dict[str, Record]:
    page = parse_page(page_bytes, URL)
    raws = [RawRecord(row.name, row_document(page, row), "text/html", URL) for row in page.rows]
    return {raw.native_id: KcdcConnector.map_record(raw, "kcdc-html") for raw in raws}


def test_every_row_of_the_page_is_a_release(page_bytes: bytes, records: dict[str, Record]) -> None:
    page = parse_page(page_bytes, URL)
    assert page.updated == "2022-12-21"
    assert len(records) == 13
    assert sum(len(row.downloads) for row in page.rows) == 37
    assert [row.section for row in page.rows].count("COMBINED") == 5
    wa = records["KASCADE_SmallDataSample_wA_runs_0877-7417"]
    assert wa.formats == ["ROOT", "HDF5"]  # the samples with data arrays have no ASCII download


def test_a_release_in_the_model(records: dict[str, Record]) -> None:
    record = records["KASCADE_ReducedData_runs_0877-4683"]
    assert record.title == "KASCADE_ReducedData_runs_0877-4683" and record.landing_page == URL
    assert record.description is not None and record.description.startswith("all KASCADE-Array quantities in the run")
    zips = [d for d in record.distributions if d.media_type == "application/zip"]
    assert [(d.format, d.size_bytes) for d in zips] == [
        ("ASCII", 7_300_000_000),
        ("ROOT", 7_100_000_000),
        ("HDF5", 6_200_000_000),
    ]
    assert record.size_bytes == 20_600_000_000
    pdfs = [d.url for d in record.distributions if d.role == "documentation"]
    assert pdfs[0] == "https://kcdc.iap.kit.edu/static/pdf/kaos_datashop/KASCADE_ReducedData_runs_0877-4683_ASCII.pdf"
    assert record.modified == "2022-12-21" and [i.value for i in record.is_part_of] == ["10.17616/R3TS4P"]
    runs = record.selection[0]
    assert (runs.quantity, runs.min, runs.max) == ("R", 877, 4683)
    assert [m.label for m in record.messengers] == ["charged cosmic ray"]


def test_cuts_stated_on_the_page(records: dict[str, Record]) -> None:
    high = records["COMBINED_HighEnergyData_runs_4775-7039"]
    assert high.energy_range is not None and high.energy_range.min == pytest.approx(10**15.7)
    assert high.energy_range.max is None and high.energy_range.unit == "eV"
    assert "10^15.7 eV" in (high.description or "")
    sample = records["KASCADE_SmallDataSample_nA_runs_0877-7417"]
    assert [(q.quantity, q.cut, q.applied) for q in sample.selection[1:]] == [("Ev", "1/400th", True)]
    # the production page links the info PDFs under a misspelt name; the link is kept as the page gives it
    assert any("SmallDataSamnple" in (d.url or "") for d in sample.distributions)


def test_every_release_passes_the_dcat_ap_gate(records: dict[str, Record]) -> None:
    report = shacl.validate(records.values(), gates=("dcat-ap", "dml"))
    assert report.records == 13
    assert report.violations("dcat-ap") == [] and report.violations("dml") == [], report.summary(examples=10)


@pytest.mark.parametrize(
    ("old", "new", "column"),
    [
        (b"<b>Data sets</b>", b"<b>Datasets</b>", "Data sets"),
        (b"<b>ROOT</b></td>", b"</td>", "Download Info"),
        (b'class="kaosPreselectionsTable"', b'class="kaosReleases"', "Data sets"),
        (
            b"<a href=https://kcdc.iap.kit.edu/Preselections/KASCADE-LOPES_runs_5534-6821_ROOT.zip>",
            b"<a href=https://kcdc.iap.kit.edu/Preselections/KASCADE-LOPES_runs_5534-6821_ROOT.tar>",
            "ROOT",
        ),
    ],
)
def test_a_changed_layout_names_the_page_and_the_column(page_bytes: bytes, old: bytes, new: bytes, column: str) -> None:
    assert old in page_bytes
    with pytest.raises(KcdcPageError) as caught:
        parse_page(page_bytes.replace(old, new), URL)
    assert caught.value.column == column and caught.value.page == URL
    assert URL in str(caught.value)


def test_a_malformed_row_is_quarantined_with_its_field(page_bytes: bytes) -> None:
    page = parse_page(page_bytes, URL)
    row = page.rows[5]
    payload = row_document(page, row).replace(b"686 kB", b"686 parsecs kB")
    with pytest.raises(MappingError) as caught:
        KcdcConnector.map_record(RawRecord(row.name, payload, "text/html", URL), "kcdc-html")
    assert caught.value.field == "row[ROOT].size"


# -- the replica and the connector inside the harvester -------------------------------------------------------------
@pytest.fixture
def catalogue(tmp_path: Path) -> Iterator[Catalogue]:
    opened = Catalogue.open(f"sqlite:///{tmp_path / 'catalogue.sqlite'}")
    yield opened
    opened.close()


def test_the_replica_serves_the_saved_page_as_the_portal_does(corpus: Path, page_bytes: bytes) -> None:
    replica = KcdcHtmlReplica.from_corpus(corpus)
    assert replica is not None and len(replica.store) == 13
    with start({"kcdc-html": replica}) as running:
        response = httpx.get(f"{running.urls['kcdc-html']}/datashop/fulldata", timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.content == page_bytes


def test_generated_pages_have_the_structure_and_the_rows_asked_for() -> None:
    replica = KcdcHtmlReplica.generated(40, seed=3)
    page = parse_page(replica.page().encode(), URL)
    assert len(page.rows) == len(replica.store) == 40 and len({r.name for r in page.rows}) == 40
    assert page.rows[0].name == replica.store.base.native_id(0)
    assert replica.page() == KcdcHtmlReplica.generated(40, seed=3).page()
    for row in page.rows[:8]:
        record = KcdcConnector.map_record(RawRecord(row.name, row_document(page, row), "text/html", URL), "g")
        assert record.distributions and record.size_bytes


def test_harvest_edits_and_a_vanished_row_becomes_a_tombstone(corpus: Path, catalogue: Catalogue) -> None:
    replica = KcdcHtmlReplica.from_corpus(corpus)
    assert replica is not None
    with start({"kcdc-html": replica}) as running, HttpClient(Limits(), sleep=lambda s: None) as http:
        url = running.urls["kcdc-html"]
        harvester = Harvester(catalogue, http, {"kcdc": KcdcConnector})
        source = Source(SourceSpec("kcdc-html", "kcdc", url), True, 0.1, None)
        first = harvester.harvest(source)
        assert (first.state, first.counts.added, first.counts.errored, first.counts.quarantined) == (
            "succeeded",
            13,
            0,
            0,
        )
        again = harvester.harvest(source)
        assert (again.counts.added, again.counts.updated, again.counts.deleted) == (0, 0, 0)

        edited = httpx.post(f"{url}/_sandbox/edit", json={"ids": ["KASCADE-LOPES_runs_5534-6821"]}, timeout=30)
        assert edited.json()["edited"] == ["KASCADE-LOPES_runs_5534-6821"]
        deleted = httpx.post(f"{url}/_sandbox/delete", json={"ids": ["COMBINED-LOPES_runs_5534-6821"]}, timeout=30)
        assert deleted.json()["deleted"] == ["COMBINED-LOPES_runs_5534-6821"]
        changed = harvester.harvest(source)
        assert (changed.state, changed.counts.updated, changed.counts.deleted) == ("succeeded", 1, 1)
        stored = catalogue.records(["https://w3id.org/dmlake/record/kcdc-html/KASCADE-LOPES_runs_5534-6821"])
        lopes = next(iter(stored.values()))
        assert "revision 1" in (lopes.description or "")
        assert [d.size_bytes for d in lopes.distributions if d.format == "ROOT"] == [687_000]


def test_the_connector_lists_the_whole_page_on_one_complete_page(corpus: Path) -> None:
    replica = KcdcHtmlReplica.generated(25, seed=1)
    with start({"kcdc-html": replica}) as running, HttpClient(Limits(), sleep=lambda s: None) as http:
        connector = KcdcConnector(SourceSpec("kcdc-html", "kcdc", running.urls["kcdc-html"]), http)
        pages = list(connector.pages(HarvestState()))
        limited = list(connector.pages(HarvestState(limit=5)))
    assert len(pages) == 1 and pages[0].listing_complete and len(pages[0].records) == 25
    assert len(limited[0].records) == 5 and not limited[0].listing_complete
