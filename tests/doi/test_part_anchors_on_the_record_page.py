"""The DOIs of a release's files and tables land on its record page: following a part's landing URL (as DataCite
resolves it) reaches the element with the URL's anchor, that element is the part's row, and the part's DOI is shown
there once it resolves (not while a draft). A table added after the others is anchored where its DOI will land
before the DOI exists."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from doi_lab import PUBLIC_URL, DoiLab, assert_in_step, live_ids, resolves
from fastapi.testclient import TestClient
from lakes import harvest_all, sources_of
from lxml import html as lxml_html

from dmlake.lake import Lake
from ontology.model import RECORD_ID_BASE, Distribution, IdentifierScheme, Record, record_id
from portal.app import create_app
from sandbox import build_replicas, start


def parts_of(rows: list[dict[str, Any]], release: str) -> list[dict[str, Any]]:
    return [r for r in rows if r["parent_key"] == release]


def table_key(distribution: Distribution) -> str:
    """The part key of a table distribution: its landing without the host."""
    landing = urlsplit(distribution.access_url or "")
    return f"table:{landing.path}?{landing.query}"


def without_dois(record: Record) -> Record:
    """The record as a source that mints no DOIs would publish it: `tables-lab`, no DOI on it or on its tables."""
    return record.model_copy(
        update={
            "id": record_id("tables-lab", record.native_id),
            "source": "tables-lab",
            "identifiers": [i for i in record.identifiers if i.scheme != IdentifierScheme.DOI],
            "is_version_of": [],
            "distributions": [d.model_copy(update={"identifiers": []}) for d in record.distributions],
        }
    )


@pytest.fixture
def tables_release(lab: DoiLab, corpus: Path) -> Iterator[Record]:
    """A HEPData release with at least three tables, as a source minting no DOIs would publish it (`tables-lab`); the
    policy gives DMDC releases DOIs per data file and `tables-lab` releases DOIs per table."""
    with start(build_replicas(corpus=corpus, kinds=["hepdata"])) as running:
        lake = Lake.open(lab.home)
        try:
            harvest_all(lake, sources_of(running))
            records = [stored.record for stored in lake.catalogue.iter_records(source="hepdata")]
        finally:
            lake.close()
    original = next(r for r in records if len({d.access_url for d in r.distributions if d.role == "table"}) >= 3)
    release = without_dois(original)
    lab.store(release, kind="fake")
    policy = (lab.home / "doi.toml").read_text().replace("[doi]\n", '[doi]\nsources = ["tables-lab"]\n')
    (lab.home / "doi.toml").write_text(policy)
    lab.parts_policy('sources = ["dmdc"]\ndois = "files"')
    lab.parts_policy('sources = ["tables-lab"]\ndois = "tables"')
    yield release


def page(lab: DoiLab, url: str) -> lxml_html.HtmlElement:
    """The page at `url` (a landing URL on the public host, or a path), served from the lab's home."""
    lake = Lake.open(lab.home)
    try:
        answer = TestClient(create_app(lake)).get(urlsplit(url).path)
    finally:
        lake.close()
    assert answer.status_code == 200, (url, answer.text[:300])
    return lxml_html.fromstring(answer.text)


def page_of(record: str) -> str:
    return f"{PUBLIC_URL}/records/{record.removeprefix(RECORD_ID_BASE)}"


def landed(document: lxml_html.HtmlElement, url: str) -> lxml_html.HtmlElement:
    """The element `url`'s fragment names: exactly one, as a browser scrolls to it."""
    fragment = urlsplit(url).fragment
    assert fragment, url
    found = document.xpath("//*[@id=$anchor]", anchor=fragment)
    assert len(found) == 1, f"{url}: {len(found)} elements with id {fragment!r}"
    return found[0]


def shown_dois(element: lxml_html.HtmlElement) -> set[str]:
    return {a.get("href").removeprefix("https://doi.org/") for a in element.xpath(".//a[@class='part-doi' or "
            "parent::*[@class='part-doi']]")}  # fmt: skip


def file_name(row: dict[str, str]) -> str:
    return row["part_key"].removeprefix("file:")


def test_every_part_doi_lands_on_its_row(lab: DoiLab, tables_release: Record) -> None:
    lab.doi("reserve")
    rows = assert_in_step(lab)
    releases = [*live_ids(lab, "dmdc"), tables_release.id]
    parts = [p for release in releases for p in parts_of(rows, release)]
    assert {p["kind"] for p in parts} == {"file", "table"}
    # drafts: each part's landing is anchored already, with no DOI shown (a draft does not resolve)
    for release in releases:
        document = page(lab, page_of(release))
        assert not document.xpath("//a[@class='release-doi']")
        for part in parts_of(rows, release):
            anchor = part["doi"].rsplit("/", 1)[1]
            element = landed(document, f"{page_of(release)}#{anchor}")
            assert not shown_dois(element), "a draft DOI is not shown"

    lab.doi("publish", "--source", "dmdc")
    lab.doi("publish", tables_release.id)
    rows = assert_in_step(lab)
    by_key = {r["key"]: r for r in rows}
    for release in releases:
        document = page(lab, page_of(release))
        release_doi = by_key[release]["doi"]
        assert [a.get("href") for a in document.xpath("//a[@class='release-doi']")] == [
            f"https://doi.org/{release_doi}"
        ]
        for part in parts_of(rows, release):
            landing = resolves(lab, part["doi"])  # DataCite sends a reader here
            assert landing is not None and landing.startswith(page_of(release) + "#"), landing
            element = landed(page(lab, landing), landing)
            assert shown_dois(element) == {part["doi"]}
            if part["kind"] == "file":
                assert element.tag == "tr" and element.get("class") == "file"
                assert file_name(part) in element.xpath("./td[1]")[0].text_content()
            else:
                assert element.get("class") == "table-part" and element.get("id") == landing.rsplit("#", 1)[1]
                # its formats follow, each saying which table it belongs to
                members = document.xpath("//tr[@class='file'][@data-table=$t]", t=element.get("id"))
                record = lab.record(release)
                formats = [d for d in record.distributions if d.role == "table" and table_key(d) == part["part_key"]]
                assert [m.xpath("string(./td[1]/a[1])") for m in members] == [d.name for d in formats]
    # every table and every file has an anchor, each id once
    document = page(lab, page_of(tables_release.id))
    ids = document.xpath("//table[@class='files']//tr/@id")
    tables = {table_key(d) for d in tables_release.distributions if d.role == "table"}
    files = [d for d in tables_release.distributions if d.role != "table"]
    assert len(ids) == len(set(ids)) == len(tables) + len(files)
    assert {i for i in ids if not i.startswith("f.")} == {f"t{n}" for n in range(1, len(tables) + 1)}


def test_a_table_added_later_is_anchored_where_its_doi_will_land(lab: DoiLab, tables_release: Record) -> None:
    lab.doi("reserve")
    lab.doi("publish", tables_release.id)
    rows = parts_of(assert_in_step(lab), tables_release.id)
    numbers = sorted(int(p["doi"].rsplit("/t", 1)[1]) for p in rows)
    assert numbers == list(range(1, len(rows) + 1))
    # the source drops Table 2 and adds a table: until the registrar runs, the page already anchors the new table
    # at the next number (never Table 2's, whose DOI still resolves to this page)
    record = lab.record(tables_release.id)
    second = next(p for p in rows if p["doi"].endswith("/t2"))
    added = [
        d.model_copy(update={"access_url": d.access_url.replace("Table%201", "Extra%20table"),
                             "name": d.name.replace("Table_1", "Extra_table")})
        for d in record.distributions if d.access_url and d.access_url.endswith("Table%201")
    ]  # fmt: skip
    kept = [d for d in record.distributions if table_key(d) != second["part_key"]]
    lab.store(record.model_copy(update={"distributions": [*kept, *added]}), kind="fake")
    before = page(lab, page_of(tables_release.id))
    predicted = before.xpath("//tr[@class='table-part'][contains(., 'Extra table')]")
    assert [t.get("id") for t in predicted] == [f"t{len(rows) + 1}"]
    assert not shown_dois(predicted[0]) and not before.xpath("//*[@id='t2']")
    lab.doi("reserve")
    after = {p["part_key"]: p for p in parts_of(assert_in_step(lab), tables_release.id)}
    new = next(p for key, p in after.items() if "Extra%20table" in key)
    landing = resolves(lab, new["doi"])
    assert landing == f"{page_of(tables_release.id)}#t{len(rows) + 1}"
    element = landed(page(lab, landing), landing)
    assert "Extra table" in element.text_content() and shown_dois(element) == {new["doi"]}
    # Table 2's DOI, hidden, still resolves to the page; the table is gone from it, so no row claims its anchor
    assert resolves(lab, second["doi"]) == f"{page_of(tables_release.id)}#t2"


def test_hepdata_tables_keep_hepdatas_numbers_and_dois(tmp_path: Path, corpus: Path) -> None:
    """A source's own table DOIs (HEPData's `…/t<n>`) land on the rows of the same tables, and are shown there."""
    home = tmp_path / "hepdata-home"
    lake = Lake.open(home)
    try:
        with start(build_replicas(corpus=corpus, kinds=["hepdata"])) as running:
            harvest_all(lake, sources_of(running))
        records = [stored.record for stored in lake.catalogue.iter_records(source="hepdata")]
        client = TestClient(create_app(lake))
        assert records
        for record in records:
            answer = client.get(urlsplit(page_of(record.id)).path)
            document = lxml_html.fromstring(answer.text)
            for d in record.distributions:
                if d.role != "table":
                    continue
                doi = next(i.value for i in d.identifiers)
                table = landed(document, f"{page_of(record.id)}#{doi.rsplit('/', 1)[1]}")  # HEPData's own /t<n>
                assert table.get("class") == "table-part" and shown_dois(table) == {doi}
                row = document.xpath("//tr[@class='file'][string(td[1]/a[1]) = $name]", name=d.name)
                assert row and row[0].get("data-table") == table.get("id")
    finally:
        lake.close()
