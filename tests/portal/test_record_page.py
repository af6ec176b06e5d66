"""Record pages (`/records/{id}`) and their plots, served over a lake harvested from the DMDC GitLab replica (the
COSINE-100 release of the corpus, with its files) and the HEPData replica (tables with a CSV and a YAML view)."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, unquote

import httpx
import pytest
from fastapi.testclient import TestClient
from lakes import harvest_all, sources_of
from lxml import etree
from lxml import html as lxml_html

from dmlake.lake import Lake
from ontology.model import RECORD_ID_BASE, record_id
from ontology.views import FORMATS
from portal.app import create_app
from portal.citation import bibtex, citation
from portal.record_page import script_json
from sandbox import build_replicas, start
from sandbox.server import RunningSandbox

COSINE = record_id("dmdc", "dmdc/cosine/cosine100-6years-modulation@v1.0")
HEPDATA = record_id("hepdata", "ins1396331.v1")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, corpus: Path) -> Iterator[tuple[TestClient, Lake, RunningSandbox]]:
    lake = Lake.open(tmp_path_factory.mktemp("record-page-home"))
    with start(build_replicas(corpus, kinds=["dmdc", "hepdata"])) as running:
        harvest_all(lake, sources_of(running))
        yield TestClient(create_app(lake)), lake, running
    lake.close()


def short(rid: str) -> str:
    return rid.removeprefix(RECORD_ID_BASE)


def test_the_record_page_shows_every_field_files_provenance_citation_and_formats(served: tuple) -> None:
    client, lake, _ = served
    answer = client.get(f"/records/{short(COSINE)}")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    record = lake.record(COSINE).record
    page = lxml_html.fromstring(answer.text)
    text = " ".join(page.text_content().split())
    assert page.findtext(".//h1") == record.title
    for concept in (*record.experiments, *record.targets, *record.messengers, *record.resource_categories):
        assert concept.label in text
    assert record.license is not None and record.license.label in text
    # files: each with its human size and checksum, in the record's order
    rows = page.xpath("//table[@class='files']//tr[@class='file']")
    assert len(rows) == len(record.distributions)
    for row, file in zip(rows, record.distributions, strict=True):
        assert file.name in row.text_content()
        if file.checksum is not None:
            assert row.xpath(".//td[@class='checksum']/code")[0].text == str(file.checksum)
    assert "18.7 kB" in text  # LICENSE: 18,657 bytes
    # provenance
    assert record.provenance.mapping_version in text and record.native_id in text
    assert f"sha256:{record.provenance.raw_sha256}" in text
    assert record.provenance.harvest_run is not None
    # how to cite: the DataCite-style string and BibTeX, as the citation module writes them
    assert page.xpath("//p[@class='citation']")[0].text == citation(record)
    assert page.xpath("//pre[@id='bibtex']")[0].text == bibtex(record)
    assert citation(record).startswith("COSINE-100 Collaboration (2025). COSINE-100 Full Dataset")
    # the embedded JSON-LD is the API's schema.org view
    embedded = json.loads(page.xpath("//script[@type='application/ld+json']")[0].text)
    assert embedded == client.get(f"/api/records/{short(COSINE)}", params={"format": "schemaorg"}).json()
    # a link to every format, each answering
    links = {a.get("data-format"): a.get("href") for a in page.xpath("//*[@id='formats']//a[@data-format]")}
    assert set(links) == set(FORMATS)
    for fmt, link in links.items():
        served_format = client.get(link)
        assert served_format.status_code == 200, (fmt, served_format.text[:300])


def test_record_ids_with_slashes_and_colons_route_as_the_api_routes_them(served: tuple) -> None:
    client, lake, _ = served
    oai_like = lake.record(HEPDATA).record
    spellings = [short(COSINE), unquote(short(COSINE)), quote(COSINE, safe=""), unquote(COSINE)]
    for spelling in spellings:
        answer = client.get(f"/records/{spelling}")
        assert answer.status_code == 200, spelling
        assert f'<link rel="canonical" href="/records/{short(COSINE)}">' in answer.text
    assert client.get(f"/records/{short(oai_like.id)}").status_code == 200


def test_unknown_records_are_404_pages_and_removed_ones_410(served: tuple) -> None:
    client, lake, _ = served
    for missing in ("dmdc/no-such-project", "not-a-record-id", "hepdata/ins0.v1"):
        answer = client.get(f"/records/{missing}")
        assert answer.status_code == 404 and "No such record" in answer.text
        assert html.escape(missing) in answer.text
    # a tombstone, as a harvest writes it when the source deletes the record
    gone = lake.record(HEPDATA)
    with lake.catalogue.engine.begin() as conn:
        lake.catalogue._tombstone(conn, gone.id, None, "deleted at the source (test)", datetime.now(UTC))
    try:
        answer = client.get(f"/records/{short(HEPDATA)}")
        assert answer.status_code == 410
        assert "removed at its source" in answer.text and "deleted at the source (test)" in answer.text
        assert client.get(f"/records/{short(HEPDATA)}/plot", params={"file": 1}).status_code == 410
    finally:
        with lake.catalogue.engine.begin() as conn:
            from harvester.schema import records

            conn.execute(records.update().where(records.c.id == gone.id).values(tombstone=None, tombstoned_at=None))


def svg_of(fragment: str) -> etree._Element:
    match = re.search(r"<svg.*</svg>", fragment, re.DOTALL)
    assert match, fragment[:500]
    return etree.fromstring(match.group(0).encode())


def lines_drawn(svg: etree._Element) -> list[int]:
    """Points on each data line of a matplotlib SVG (its `line2d` groups with a path)."""
    ns = {"s": "http://www.w3.org/2000/svg"}
    counts = []
    for group in svg.xpath("//s:g[starts-with(@id, 'line2d')]", namespaces=ns):
        for path in group.xpath("s:path", namespaces=ns):
            counts.append(len([p for p in re.split(r"[ML]", path.get("d", "")) if p.strip()]))
    return counts


def test_a_cosine_table_is_plotted_and_the_reader_chooses_the_columns(served: tuple) -> None:
    client, lake, _ = served
    record = lake.record(COSINE).record
    index = next(i for i, f in enumerate(record.distributions) if f.name == "data/EventRate_erc1-3.csv")
    fragment = client.get(f"/records/{short(COSINE)}/plot", params={"file": index})
    assert fragment.status_code == 200
    svg = svg_of(fragment.text)
    assert "day_centers" in svg.get("aria-label")
    # one line per default column (the 8 first numeric columns after x, uncertainties left out); grid lines have 2
    # points and the legend's samples 3; matplotlib simplifies flat stretches, so a line keeps fewer than 160
    data_lines = [n for n in lines_drawn(svg) if n > 3]
    assert len(data_lines) == 8 and max(data_lines) >= 100, lines_drawn(svg)
    # the reader's choice: mean residual (with its error bars) against day
    chosen = client.get(
        f"/records/{short(COSINE)}/plot",
        params={"file": index, "x": "day_centers", "y": "mean_residual", "columns_for": index},
    )
    page = lxml_html.fromstring(chosen.text)
    assert [o.get("value") for o in page.xpath("//select[@name='x']/option[@selected]")] == ["day_centers"]
    assert [c.get("value") for c in page.xpath("//input[@name='y'][@checked]")] == ["mean_residual"]
    assert "mean_residual against day_centers in data/EventRate_erc1-3.csv" in svg_of(chosen.text).get("aria-label")
    # the same figure, alone
    alone = client.get(f"/records/{short(COSINE)}/plot.svg", params={"file": index, "y": "mean_residual"})
    assert alone.headers["content-type"].startswith("image/svg+xml")
    assert etree.fromstring(alone.content).get("aria-label").startswith("Plot of mean_residual")
    # without JavaScript: the record page itself draws the plot asked for
    page_with_plot = client.get(f"/records/{short(COSINE)}", params={"file": index})
    assert page_with_plot.status_code == 200 and "<svg" in page_with_plot.text
    # a column the table does not have is a message naming the columns, not an error page
    wrong = client.get(f"/records/{short(COSINE)}/plot", params={"file": index, "x": "no_such", "columns_for": index})
    assert (
        wrong.status_code == 200
        and "has no numeric column 'no_such'" in html.unescape(wrong.text)
        and "day_centers" in wrong.text
    )


def test_hepdata_tables_are_plotted_from_csv_and_yaml(served: tuple) -> None:
    client, lake, _ = served
    record = lake.record(HEPDATA).record
    for suffix in (".csv", ".yaml"):
        index = next(i for i, f in enumerate(record.distributions) if f.name.endswith("Table_1" + suffix))
        fragment = client.get(f"/records/{short(HEPDATA)}/plot", params={"file": index}).text
        assert "PT [GEV]" in svg_of(fragment).get("aria-label"), suffix
        assert "PT [GEV] in GEV" in " ".join(fragment.split())  # the unit read from the header


def test_files_that_cannot_be_plotted_say_why_and_never_fail_the_page(served: tuple) -> None:
    client, lake, running = served
    record = lake.record(COSINE).record
    readme = next(i for i, f in enumerate(record.distributions) if f.name == "README.md")
    not_table = client.get(f"/records/{short(COSINE)}/plot", params={"file": readme})
    assert not_table.status_code == 200 and "is not a table the page can plot" in not_table.text
    # the source fails: the page says the file could not be fetched
    index = next(i for i, f in enumerate(record.distributions) if f.name == "data/CosineIQF.csv")
    base = running.urls["dmdc"]
    httpx.put(
        f"{base}/_sandbox/faults", json=[{"kind": "status", "status": 503, "path": ".*CosineIQF.*", "every": 1}]
    ).raise_for_status()
    try:
        failing = client.get(f"/records/{short(COSINE)}/plot", params={"file": index})
    finally:
        httpx.put(f"{base}/_sandbox/faults", json=[]).raise_for_status()
    assert failing.status_code == 200
    assert "data/CosineIQF.csv could not be fetched" in failing.text and "503" in failing.text
    assert "<svg" not in failing.text


def test_json_in_a_script_element_cannot_close_it() -> None:
    hostile = json.dumps({"name": "</script><script>alert(1)</script> & <!--"})
    safe = script_json(hostile)
    assert "<" not in safe and ">" not in safe and "&" not in safe
    assert json.loads(safe) == json.loads(hostile)
