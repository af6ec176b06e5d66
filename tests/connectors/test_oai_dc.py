"""Dublin Core (`oai_dc`) → `DublinCore` → model values, per field group, on every `oai_dc` record Zenodo sent in
the recorded sessions (2024 and 2026)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree

from connectors.base import MappingError
from connectors.oai_dc import DublinCore, dc_identifier, describe_dublin_core, parse_dublin_core
from ontology import IdentifierScheme

OAI_DC = "{http://www.openarchives.org/OAI/2.0/oai_dc/}dc"


@pytest.fixture(scope="module")
def records(corpus: Path) -> list[DublinCore]:
    out = []
    for path in sorted((corpus / "zenodo" / "oai" / "extracted").glob("*oai_dc*__200.xml")):
        try:
            tree = etree.parse(str(path))
        except etree.XMLSyntaxError:
            continue
        out += [parse_dublin_core(element) for element in tree.iter(OAI_DC)]
    return out


def test_every_record_is_read(records: list[DublinCore]) -> None:
    assert len(records) >= 200
    for dc in records:
        described = describe_dublin_core(dc)
        assert described.title == dc.first("title")


def test_creators_and_contributors(records: list[DublinCore]) -> None:
    for dc in records:
        described = describe_dublin_core(dc)
        assert [c.name for c in described.creators] == dc.get("creator")
        assert [c.name for c in described.contributors] == dc.get("contributor")
        for agent in described.creators:
            if agent.kind == "person" and "," in agent.name:
                family, given = (p.strip() for p in agent.name.split(",", 1))
                assert (agent.family_name, agent.given_name) == (family, given)


def test_identifiers(records: list[DublinCore]) -> None:
    with_doi = 0
    for dc in records:
        described = describe_dublin_core(dc)
        dois = [v for v in dc.get("identifier") if v.startswith("https://doi.org/10.")]
        got = [i.value for i in described.identifiers if i.scheme == IdentifierScheme.DOI]
        expected = list(dict.fromkeys(d.removeprefix("https://doi.org/").lower() for d in dois))
        assert expected == [g.lower() for g in got]  # each DOI once
        with_doi += bool(dois)
        assert any(i.scheme == IdentifierScheme.OAI for i in described.identifiers)
    assert with_doi >= 190
    assert dc_identifier("issn:2222-3333") is not None
    assert dc_identifier("arXiv:2101.00001") == dc_identifier("https://arxiv.org/abs/2101.00001")
    assert dc_identifier("hdl:10.1000/182") is not None


def test_relations_are_links(records: list[DublinCore]) -> None:
    for dc in records:
        described = describe_dublin_core(dc)
        for value in dc.get("relation"):
            target = dc_identifier(value)
            assert target is not None
            assert (target.uri() or target.value) in described.relations.links


def test_rights_give_licence_and_access(records: list[DublinCore]) -> None:
    counted = 0
    for dc in records:
        described = describe_dublin_core(dc)
        rights = dc.get("rights")
        if "info:eu-repo/semantics/openAccess" in rights:
            assert described.access == "open"
        if "info:eu-repo/semantics/restrictedAccess" in rights:
            assert described.access == "restricted"
        if "https://creativecommons.org/licenses/by/4.0/legalcode" in rights:
            assert described.license is not None and described.license.label == "CC-BY-4.0"
            counted += 1
        if "https://opensource.org/licenses/MIT" in rights:
            assert described.license is not None and described.license.label == "MIT"
    assert counted >= 100


def test_descriptions_are_plain_text(records: list[DublinCore]) -> None:
    escaped = 0
    for dc in records:
        described = describe_dublin_core(dc)
        if not dc.get("description"):
            assert described.description is None
            continue
        assert described.description
        assert not re.search(r"</?(p|h2|ul|li|a|em|span)\b", described.description)
        assert "&lt;" not in described.description and "&nbsp;" not in described.description
        escaped += any("&lt;p&gt;" in text for text in dc.get("description"))
    assert escaped >= 50  # Zenodo escapes its HTML abstracts once more inside oai_dc


def test_dates_subjects_language_type(records: list[DublinCore]) -> None:
    for dc in records:
        described = describe_dublin_core(dc)
        assert described.issued == (dc.first("date") or "").split("/")[0] or None  # an interval's start
        assert described.keywords == list(dict.fromkeys(dc.get("subject")))
        assert described.language == dc.first("language")
        assert described.type_general == dc.first("type")


def test_format_size_and_coverage() -> None:
    dc = parse_dublin_core(
        etree.fromstring(
            b'<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
            b'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title> T </dc:title><dc:format>Size: 11.273 MB'
            b"</dc:format><dc:format>Format: HDF5</dc:format><dc:coverage>1998-05-08/2003-12-20</dc:coverage>"
            b"<dc:coverage>Karlsruhe</dc:coverage><dc:date>circa 1900</dc:date><dc:date>2020</dc:date></oai_dc:dc>"
        )
    )
    described = describe_dublin_core(dc)
    assert described.title == "T"
    assert (described.size_bytes, described.formats) == (11_273_000, ["HDF5"])
    assert described.coverage is not None
    assert (described.coverage.start, described.coverage.end) == ("1998-05-08", "2003-12-20")
    assert described.issued == "2020"  # a free-text date is passed over


def test_not_oai_dc_is_refused() -> None:
    with pytest.raises(MappingError) as error:
        parse_dublin_core(etree.fromstring(b'<dc xmlns="http://purl.org/dc/elements/1.1/"/>'))
    assert error.value.field == "metadata"
