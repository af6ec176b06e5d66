"""The `oai_dc` view: valid against oai_dc.xsd, every element as the module's rules say, and read back by our own
Dublin Core reader (connectors.oai_dc) as the same title, DOI, creators, date, licence and access right."""

from __future__ import annotations

import pytest
from lxml import etree

from connectors.oai_dc import describe_dublin_core, parse_dublin_core
from ontology import oai_dc, views, vocabulary
from ontology.model import Agent, Concept, Distribution, Identifier, IdentifierScheme, Record, TemporalCoverage

DC = f"{{{oai_dc.DC_NAMESPACE}}}"


def values(record: Record) -> dict[str, list[str]]:
    root = etree.fromstring(oai_dc.to_xml(record))
    found: dict[str, list[str]] = {}
    for child in root:
        found.setdefault(etree.QName(child).localname, []).append(child.text or "")
    return found


def test_full_and_minimal_records_validate(full: Record, minimal: Record) -> None:
    for record in (full, minimal):
        document = oai_dc.to_xml(record)
        assert oai_dc.xml_errors(document) == []
        root = etree.fromstring(document)
        assert root.tag == f"{{{oai_dc.OAI_DC_NAMESPACE}}}dc"
        assert root.get(f"{{{oai_dc.XSI}}}schemaLocation") == oai_dc.SCHEMA_LOCATION


def test_an_invalid_document_is_reported() -> None:
    broken = (
        f'<oai_dc:dc xmlns:oai_dc="{oai_dc.OAI_DC_NAMESPACE}" xmlns:dc="{oai_dc.DC_NAMESPACE}">'
        "<dc:titel>x</dc:titel></oai_dc:dc>"
    ).encode()
    errors = oai_dc.xml_errors(broken)
    assert errors and "titel" in errors[0]


def test_every_element_of_the_full_record(full: Record) -> None:
    dc = values(full)
    assert dc["title"] == [full.title]
    # people as "Family, Given", organisations by name; the collaboration is a creator already, not repeated
    assert dc["creator"] == ["Doe, Jane", "CMS Collaboration"]
    assert dc["contributor"] == ["Smith, John"]
    assert dc["subject"] == [
        "muon", "dimuon", "Particle physics", "CMS", "collider", "general-purpose collider detector",
    ]  # fmt: skip
    assert dc["description"][0] == full.description
    assert dc["description"][1].startswith("pp collisions; √s = 7 TeV;")
    assert dc["publisher"] == ["CERN Open Data Portal"]
    assert dc["date"] == ["2016-04"]
    assert dc["type"] == ["Dataset", "Dataset / Collision"]
    assert dc["format"] == ["application/json", "ROOT", "AOD"]
    # the DOI first, then the landing page (the CERN recid resolves to it: once), INSPIRE, the dmlake URI last
    assert dc["identifier"] == [
        "https://doi.org/10.7483/OPENDATA.CMS.ABCD.1234",
        "https://opendata.cern.ch/record/12345",
        "https://inspirehep.net/literature/1234567",
        full.id,
    ]
    assert dc["source"] == ["https://opendata.cern.ch/api/records/12345"]
    assert dc["language"] == ["eng"]
    assert dc["relation"] == [
        "https://doi.org/10.7483/OPENDATA.CMS.ABCD",  # is_version_of (the concept DOI)
        "https://opendata.cern.ch/record/1",  # is_part_of
        "https://arxiv.org/abs/1206.1234",  # is_supplement_to
        "https://doi.org/10.1088/1748-0221/3/08/S08004",  # references
        "https://doi.org/10.7483/OPENDATA.CMS.ABCD.1233",  # is_new_version_of
        "https://cms-opendata-guide.web.cern.ch/",  # related link (the GitLab part has no resolver)
    ]
    assert dc["coverage"] == ["2011-03-13/2011-08-31", "not applicable: collider data"]
    assert dc["rights"] == ["info:eu-repo/semantics/openAccess", "http://spdx.org/licenses/CC0-1.0"]


def test_minimal_record_has_title_type_and_its_dmlake_uri(minimal: Record) -> None:
    assert values(minimal) == {"title": ["Table 1"], "type": ["Dataset"], "identifier": [minimal.id]}


def test_collaborations_are_the_creators_when_no_person_is_named(full: Record) -> None:
    record = full.model_copy(update={"creators": [], "contributors": []})
    dc = values(record)
    assert dc["creator"] == ["CMS Collaboration"]
    assert "contributor" not in dc


@pytest.mark.parametrize(
    ("update", "element", "expected"),
    [
        ({"issued": None}, "date", ["2011"]),  # created
        ({"issued": None, "created": None}, "date", ["2021-06-01T10:00:00Z"]),  # modified, as W3CDTF
        ({"access_rights": "embargoed"}, "rights", ["info:eu-repo/semantics/embargoedAccess"]),
        ({"access_rights": "restricted"}, "rights", ["info:eu-repo/semantics/restrictedAccess"]),
        ({"access_rights": "closed"}, "rights", ["info:eu-repo/semantics/closedAccess"]),
        ({"language": "de-CH"}, "language", ["deu"]),
        ({"language": "eng"}, "language", ["eng"]),
        ({"temporal_coverage": TemporalCoverage(start="2011-03-13")}, "coverage", ["2011-03-13/.."]),
        ({"temporal_coverage": TemporalCoverage(end="2012")}, "coverage", ["../2012"]),
        ({"temporal_coverage": TemporalCoverage(start="2012", end="2012")}, "coverage", ["2012"]),
    ],
)
def test_fallbacks_and_encodings(full: Record, update: dict[str, object], element: str, expected: list[str]) -> None:
    found = values(full.model_copy(update=update))[element]
    assert found[: len(expected)] == expected


@pytest.mark.parametrize(
    ("resource_type", "categories", "dcmi"),
    [
        ("Software", [], "Software"),
        ("Documentation", [], "Text"),
        ("Figure", [], "Image"),
        ("video", [], "MovingImage"),
        (None, ["likelihood"], "Dataset"),
        (None, ["software"], "Software"),
    ],
)
def test_dcmi_type_from_the_datacite_general_type(
    minimal: Record, resource_type: str | None, categories: list[str], dcmi: str
) -> None:
    record = minimal.model_copy(
        update={
            "resource_type": Concept(label=resource_type, raw=resource_type) if resource_type else None,
            "resource_categories": [vocabulary.concept("resource-category", c) for c in categories],
        }
    )
    assert values(record)["type"][0] == dcmi


def test_other_has_no_dcmi_term(minimal: Record) -> None:
    record = minimal.model_copy(update={"resource_type": Concept(label="Other", raw="other")})
    assert values(record)["type"] == ["Other"]


def test_media_types_from_files_and_format_names(minimal: Record) -> None:
    record = minimal.model_copy(
        update={
            "distributions": [
                Distribution(name="table.csv"),
                Distribution(name="data.bin", media_type="application/octet-stream; charset=binary"),
                Distribution(name="events", format="HDF5"),
                Distribution(name="ntuple", format="parquet"),
            ],
            "formats": ["yaml", "NanoAOD"],
        }
    )
    assert values(record)["format"] == [
        "text/csv", "application/octet-stream", "application/vnd.apache.parquet", "application/yaml", "HDF5",
        "NANOAOD",
    ]  # fmt: skip


def test_control_characters_and_repeats_are_left_out(minimal: Record) -> None:
    record = minimal.model_copy(
        update={"title": "Bad\x00 \x1btitle", "keywords": ["Muon", "muon", " ", "dimuon"], "description": "a\x07b"}
    )
    document = oai_dc.to_xml(record)
    assert oai_dc.xml_errors(document) == []
    dc = values(record)
    assert dc["title"] == ["Bad title"]
    assert dc["subject"] == ["Muon", "dimuon"]
    assert dc["description"] == ["ab"]


def test_identifiers_without_a_resolver_are_not_written(minimal: Record) -> None:
    record = minimal.model_copy(
        update={
            "identifiers": [
                Identifier(scheme=IdentifierScheme.GITLAB_PATH, value="dmdc/cosine-100"),
                Identifier(scheme=IdentifierScheme.HEPDATA, value="ins1396331"),
                Identifier(scheme=IdentifierScheme.ARXIV, value="arXiv:1603.02234"),
                Identifier(scheme=IdentifierScheme.OAI, value="oai:hepdata.net:1"),
            ]
        }
    )
    assert values(record)["identifier"] == [
        "https://www.hepdata.net/record/ins1396331",
        "https://arxiv.org/abs/1603.02234",
        minimal.id,
    ]


def test_our_dublin_core_reader_reads_back_what_matters(full: Record) -> None:
    described = describe_dublin_core(parse_dublin_core(oai_dc.element(full)))
    assert described.title == full.title
    assert [i.value for i in described.identifiers if i.scheme == IdentifierScheme.DOI] == [full.doi]
    people = [(a.family_name, a.given_name) for a in described.creators if a.kind == "person"]
    assert people == [("Doe", "Jane")]
    assert [a.name for a in described.creators if a.kind == "organization"] == ["CMS Collaboration"]
    assert described.issued == full.issued
    assert described.license is not None and described.license.uri == full.license.uri  # type: ignore[union-attr]
    assert described.access == "open"
    assert described.coverage is not None and (described.coverage.start, described.coverage.end) == (
        "2011-03-13",
        "2011-08-31",
    )


def test_the_view_is_registered_and_not_negotiated_by_application_xml(full: Record) -> None:
    body, media_type = views.render(full, "oai-dc")
    assert media_type == "application/xml" and body == oai_dc.to_xml(full)
    assert views.negotiate("application/xml") == "datacite-xml"


def test_organisation_creators_keep_their_name(minimal: Record) -> None:
    record = minimal.model_copy(
        update={"creators": [Agent(name="IceCube Collaboration", kind="organization"), Agent(name="Jane Doe")]}
    )
    assert values(record)["creator"] == ["IceCube Collaboration", "Jane Doe"]
