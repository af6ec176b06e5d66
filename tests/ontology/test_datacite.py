"""DataCite 4.6: the XML validates against the kernel-4.6 XSD and the JSON against the 4.6 JSON schema (both read in
place from the shared standards), and every model field lands where DataCite expects it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from lxml import etree

from ontology import datacite
from ontology.model import Affiliation, Agent, Concept, Identifier, IdentifierScheme, Record, TemporalCoverage
from ontology.vocabulary import concept

NS = {"d": datacite.NAMESPACE}


def valid_xml(record: Record, doi: str | None = None) -> etree._Element:
    document = datacite.to_xml(record, doi)
    assert datacite.xml_errors(document) == []
    return etree.fromstring(document)


def valid_json(record: Record, doi: str | None = None) -> dict[str, Any]:
    data = datacite.attributes(record, doi)
    assert datacite.json_errors(data) == []
    return data


@pytest.fixture
def dated(minimal: Record) -> Record:
    """The minimal record with the one date DataCite cannot do without."""
    return minimal.model_copy(update={"issued": "2017"})


def test_full_record_is_valid_xml_and_json_that_say_the_same(full: Record) -> None:
    root = valid_xml(full)
    data = valid_json(full)
    assert root.findtext("d:identifier", namespaces=NS) == data["doi"] == "10.7483/OPENDATA.CMS.ABCD.1234"
    assert [e.text for e in root.iterfind("d:creators/d:creator/d:creatorName", NS)] == [
        c["name"] for c in data["creators"]
    ]
    assert [e.text for e in root.iterfind("d:subjects/d:subject", NS)] == [s["subject"] for s in data["subjects"]]
    assert [(e.get("relationType"), e.text) for e in root.iterfind("d:relatedIdentifiers/d:relatedIdentifier", NS)] == [
        (r["relationType"], r["relatedIdentifier"]) for r in data["relatedIdentifiers"]
    ]
    assert root.findtext("d:publicationYear", namespaces=NS) == data["publicationYear"] == "2016"


def test_full_record_fields(full: Record) -> None:
    data = valid_json(full)
    assert data["url"] == "https://opendata.cern.ch/record/12345"
    assert data["types"] == {"resourceTypeGeneral": "Dataset", "resourceType": "Dataset / Collision"}
    jane = data["creators"][0]
    assert jane["name"] == "Doe, Jane" and jane["nameType"] == "Personal"
    assert jane["nameIdentifiers"] == [
        {
            "nameIdentifier": "https://orcid.org/0000-0002-1825-0097",
            "nameIdentifierScheme": "ORCID",
            "schemeUri": "https://orcid.org",
        }
    ]
    assert jane["affiliation"][0]["affiliationIdentifier"] == "https://ror.org/01ggx4157"
    assert data["creators"][1] == {"name": "CMS Collaboration", "nameType": "Organizational"}
    assert data["publisher"]["publisherIdentifier"] == "https://ror.org/01ggx4157"
    assert {"contributorType": "ResearchGroup", "name": "CMS Collaboration", "nameType": "Organizational"} in data[
        "contributors"
    ]
    assert data["contributors"][0]["contributorType"] == "Other" and data["contributors"][0]["name"] == "Smith, John"
    experiment = next(s for s in data["subjects"] if s["subject"] == "CMS")
    assert experiment == {
        "subject": "CMS",
        "subjectScheme": "dmlake experiment",
        "schemeUri": "https://w3id.org/dmlake/vocab/experiment",
        "valueUri": "https://w3id.org/dmlake/vocab/experiment/CMS",
    }
    assert {"subject": "muon"} in data["subjects"] and {"subject": "collision data"} in data["subjects"]
    assert data["dates"] == [
        {"date": "2016-04", "dateType": "Issued"},
        {"date": "2021-06-01T10:00:00Z", "dateType": "Updated"},
        {"date": "2011", "dateType": "Created"},
        {"date": "2011-03-13/2011-08-31", "dateType": "Collected"},
    ]
    assert data["language"] == "en"
    assert {"alternateIdentifier": full.id, "alternateIdentifierType": "dmlake"} in data["alternateIdentifiers"]
    assert {"alternateIdentifier": "1234567", "alternateIdentifierType": "INSPIRE"} in data["alternateIdentifiers"]
    assert not any(a["alternateIdentifierType"] == "DOI" for a in data["alternateIdentifiers"])
    assert {
        "relatedIdentifier": "arXiv:1206.1234",
        "relatedIdentifierType": "arXiv",
        "relationType": "IsSupplementTo",
    } in data["relatedIdentifiers"]
    assert {
        "relatedIdentifier": "10.7483/OPENDATA.CMS.ABCD",
        "relatedIdentifierType": "DOI",
        "relationType": "IsVersionOf",
    } in data["relatedIdentifiers"]
    assert data["sizes"] == ["2147488169 bytes", "2 files", "29944565 events"]
    assert data["formats"] == ["AOD", "root", "application/json"]
    assert data["version"] == "2.0"
    assert data["rightsList"] == [
        {
            "rights": "CC0-1.0",
            "rightsUri": "http://spdx.org/licenses/CC0-1.0",
            "rightsIdentifier": "CC0-1.0",
            "rightsIdentifierScheme": "SPDX",
            "schemeUri": "https://spdx.org/licenses/",
        },
        {"rights": "Open Access", "rightsUri": "info:eu-repo/semantics/openAccess"},
    ]
    abstract, technical = data["descriptions"]
    assert abstract["descriptionType"] == "Abstract" and abstract["description"].startswith("Muon pairs")
    assert technical["descriptionType"] == "TechnicalInfo"
    assert "√s = 7 TeV" in technical["description"] and "exposure 1.5 t·yr" in technical["description"]
    assert data["schemaVersion"] == "http://datacite.org/schema/kernel-4"


def test_a_record_without_doi_carries_the_to_be_assigned_placeholder_and_its_own_ids(dated: Record) -> None:
    root = valid_xml(dated)
    identifier = root.find("d:identifier", NS)
    assert identifier is not None and identifier.text == "(:tba)" and identifier.get("identifierType") == "DOI"
    data = valid_json(dated)
    assert "doi" not in data
    assert data["alternateIdentifiers"] == [{"alternateIdentifier": dated.id, "alternateIdentifierType": "dmlake"}]


def test_the_doi_registrar_can_render_the_doi_it_is_about_to_mint(dated: Record) -> None:
    root = valid_xml(dated, doi="10.5072/dmlake.42")
    assert root.findtext("d:identifier", namespaces=NS) == "10.5072/dmlake.42"
    assert valid_json(dated, doi="10.5072/dmlake.42")["doi"] == "10.5072/dmlake.42"


def test_missing_mandatory_values_use_datacite_standard_values(dated: Record) -> None:
    data = valid_json(dated)
    assert data["creators"] == [{"name": "(:unav)"}]
    assert data["publisher"] == {"name": "(:unav)"}
    assert data["types"] == {"resourceTypeGeneral": "Dataset"}
    assert "descriptions" not in data  # nothing is generated for DataCite


def test_a_collaboration_stands_in_for_missing_creators(dated: Record) -> None:
    record = dated.model_copy(update={"collaboration": [concept("experiment", "ATLAS Collaboration")]})
    data = valid_json(record)
    assert data["creators"] == [{"name": "ATLAS Collaboration", "nameType": "Organizational"}]
    assert "contributors" not in data


@pytest.mark.parametrize(
    ("update", "year"),
    [
        ({"issued": "2014-05-02"}, "2014"),
        ({"created": "2011"}, "2011"),
        ({"modified": "2019-01-01T00:00:00Z"}, "2019"),
    ],
)
def test_publication_year_falls_back_through_the_dates(minimal: Record, update: dict[str, str], year: str) -> None:
    assert valid_json(minimal.model_copy(update=update))["publicationYear"] == year


def test_publication_year_falls_back_to_the_harvest_date_and_else_is_an_error(minimal: Record) -> None:
    harvested = minimal.provenance.model_copy(update={"retrieved_at": datetime(2025, 3, 1, tzinfo=UTC)})
    assert valid_json(minimal.model_copy(update={"provenance": harvested}))["publicationYear"] == "2025"
    with pytest.raises(datacite.DataCiteError, match=r"hepdata/ins1396331-t1: DataCite requires a publicationYear"):
        datacite.attributes(minimal)


@pytest.mark.parametrize(
    ("resource_type", "categories", "general"),
    [
        ("Software", [], "Software"),
        ("software", [], "Software"),
        ("Environment/VM", [], "Software"),
        ("Documentation/Guide", [], "Text"),
        ("publication-article", [], "Text"),
        ("image-figure", [], "Image"),
        ("ComputationalNotebook", [], "ComputationalNotebook"),
        (None, ["software"], "Software"),
        (None, ["environment"], "Software"),
        (None, ["documentation"], "Text"),
        (None, ["likelihood"], "Model"),
        (None, ["background-model"], "Model"),
        (None, ["event-data"], "Dataset"),
        ("Supplementaries", [], "Dataset"),
    ],
)
def test_resource_type_general(dated: Record, resource_type: str | None, categories: list[str], general: str) -> None:
    update: dict[str, Any] = {"resource_categories": [concept("resource-category", c) for c in categories]}
    if resource_type:
        update["resource_type"] = Concept(uri=None, label=resource_type, raw=resource_type)
    record = dated.model_copy(update=update)
    assert datacite.resource_type_general(record) == general
    root = valid_xml(record)
    resource = root.find("d:resourceType", NS)
    assert resource is not None and resource.get("resourceTypeGeneral") == general


def test_organisations_temporal_edges_and_an_invalid_language(dated: Record) -> None:
    record = dated.model_copy(
        update={
            "creators": [Agent(name="KASCADE-Grande", kind="organization", ror="https://ror.org/04t3en479")],
            "publisher": Agent(name="KIT", kind="organization"),
            "temporal_coverage": TemporalCoverage(start="1996-01", end=None),
            "language": "English",
            "license": Concept(uri=None, label="KCDC terms of use", raw="KCDC terms of use"),
            "access_rights": "embargoed",
            "is_part_of": [Identifier(scheme=IdentifierScheme.GITLAB_PATH, value="dmdc/xenon")],
            "references": [Identifier(scheme=IdentifierScheme.HEPDATA, value="ins1396331")],
        }
    )
    data = valid_json(record)
    valid_xml(record)
    assert data["creators"][0]["nameIdentifiers"][0]["nameIdentifierScheme"] == "ROR"
    assert data["publisher"] == {"name": "KIT"}
    assert data["dates"][-1] == {
        "date": "1996-01",
        "dateType": "Collected",
        "dateInformation": "start of data taking; the other end is not given",
    }
    assert "language" not in data  # not a BCP 47 tag: the XSD would reject it
    assert data["rightsList"] == [
        {"rights": "KCDC terms of use"},
        {"rights": "Embargoed Access", "rightsUri": "info:eu-repo/semantics/embargoedAccess"},
    ]
    # a GitLab path has no resolver and no DataCite identifier type; a HEPData record is cited by its URL
    assert data["relatedIdentifiers"] == [
        {
            "relatedIdentifier": "https://www.hepdata.net/record/ins1396331",
            "relatedIdentifierType": "URL",
            "relationType": "References",
        }
    ]


def test_control_characters_do_not_break_the_xml(dated: Record) -> None:
    record = dated.model_copy(update={"title": 'bell \x07 & <angle> "quotes"', "description": "a\x0bb"})
    root = valid_xml(record)
    assert root.findtext("d:titles/d:title", namespaces=NS) == 'bell  & <angle> "quotes"'


def test_the_validators_reject_what_the_schemas_forbid(full: Record) -> None:
    document = datacite.to_xml(full).replace(b"<publicationYear>2016</publicationYear>", b"")
    errors = datacite.xml_errors(document)
    assert errors and "publicationYear" in " ".join(errors)
    data = datacite.attributes(full)
    data["types"]["resourceTypeGeneral"] = "Spreadsheet"
    data["colour"] = "blue"
    messages = " | ".join(datacite.json_errors(data))
    assert "'Spreadsheet' is not one of" in messages and "'colour' was unexpected" in messages


def test_repeated_values_are_written_once(dated: Record) -> None:
    """DataCite's lists are sets: a source listing an author's institute twice must not break the schema."""
    author = Agent(name="Rossi, Anna", affiliations=[Affiliation(name="Rome U., Tor Vergata")] * 2)
    record = dated.model_copy(update={"creators": [author], "keywords": ["muon", "muon", "dimuon"]})
    data = valid_json(record)
    valid_xml(record)
    assert data["creators"][0]["affiliation"] == [{"name": "Rome U., Tor Vergata"}]
    assert data["subjects"] == [{"subject": "muon"}, {"subject": "dimuon"}]


def test_the_json_lists_render_as_kernel_xml_in_order_with_their_attributes(full: Record) -> None:
    data = datacite.attributes(full, "10.1234/abc")
    data["dates"] = [{"date": "2020", "dateType": "Collected", "dateInformation": "run 1"}]
    data["rightsList"] = [{"rights": "CC BY 4.0\x02", "rightsUri": "https://x.org/by", "schemeUri": ""}]
    root = etree.fromstring(datacite.xml_from_attributes(data))
    ns = {"d": datacite.NAMESPACE}
    [date] = root.findall("d:dates/d:date", ns)
    assert (date.text, dict(date.attrib)) == ("2020", {"dateType": "Collected", "dateInformation": "run 1"})
    [rights] = root.findall("d:rightsList/d:rights", ns)
    assert (rights.text, dict(rights.attrib)) == ("CC BY 4.0", {"rightsURI": "https://x.org/by"})  # empty: left out
    related = root.findall("d:relatedIdentifiers/d:relatedIdentifier", ns)
    assert [list(r.attrib) for r in related] == [["relatedIdentifierType", "relationType"]] * len(related)
    assert [child.tag.split("}")[1] for child in root][:4] == ["identifier", "creators", "titles", "publisher"]
    del data["relatedIdentifiers"][0]["relationType"]
    with pytest.raises(KeyError, match="relationType"):
        datacite.xml_from_attributes(data)
    del data["titles"]
    data.pop("relatedIdentifiers")
    with pytest.raises(KeyError, match="titles"):
        datacite.xml_from_attributes(data)
