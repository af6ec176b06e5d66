"""schema.org Dataset JSON-LD, checked offline against Science-on-Schema.org + Google's required properties, the
schema.org 30.0 release shapes and vocabulary (read in place from the shared standards), as VALIDATORS.md §5 says."""

from __future__ import annotations

import re
from typing import Any

import pytest
from rdflib import BNode, Literal, URIRef

from ontology import rdf, schemaorg, shacl, vocabulary
from ontology.model import Checksum, Distribution, Record
from ontology.summary import GENERATED_MARK, SUPPLEMENT_MARK

SO = "http://schema.org/"


@pytest.fixture
def doc(full: Record) -> dict[str, Any]:
    return schemaorg.document(full)


def test_the_full_record_passes_soso_google_required_and_the_schemaorg_shapes(doc: dict[str, Any]) -> None:
    report = shacl.validate_schemaorg([doc])
    assert report.records == 1
    assert report.violations("soso") == [], report.summary()
    assert report.violations("schemaorg") == [], report.summary()
    assert report.violations("schemaorg-vocabulary") == [], report.summary()
    assert report.unattributed == []
    assert report.conforms()
    # Google's recommended list (SOSO writes it as Violations) is advice, counted apart
    assert report.count("google-recommended") > 0
    assert not shacl.GATES["google-recommended"].blocking


def test_it_parses_offline_with_schema_org_terms_in_the_http_namespace(doc: dict[str, Any]) -> None:
    graph = shacl.schemaorg_graph(doc)
    dataset = URIRef(doc["@id"])
    assert (dataset, URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"), URIRef(SO + "Dataset")) in graph
    assert not any(str(p).startswith("https://schema.org/") for p in graph.predicates())


def test_dataset_fields(doc: dict[str, Any], full: Record) -> None:
    assert doc["@context"] == ["https://schema.org/", {"spdx": "http://spdx.org/rdf/terms#"}]
    assert doc["@type"] == "Dataset" and doc["@id"] == full.id
    assert doc["name"] == full.title and doc["url"] == "https://opendata.cern.ch/record/12345"
    assert doc["description"] == full.description
    doi = doc["identifier"][0]
    assert doi == {
        "@type": "PropertyValue",
        "propertyID": "https://registry.identifiers.org/registry/doi",
        "value": "doi:10.7483/OPENDATA.CMS.ABCD.1234",
        "url": "https://doi.org/10.7483/OPENDATA.CMS.ABCD.1234",
    }
    assert doc["identifier"][-1] == full.id
    assert "https://doi.org/10.7483/OPENDATA.CMS.ABCD.1234" in doc["sameAs"] and full.id in doc["sameAs"]
    assert doc["version"] == "2.0"
    assert doc["license"] == "http://spdx.org/licenses/CC0-1.0"
    assert doc["isAccessibleForFree"] is True and "conditionsOfAccess" not in doc
    assert (doc["datePublished"], doc["dateModified"], doc["dateCreated"]) == (
        "2016-04",
        "2021-06-01T10:00:00Z",
        "2011",
    )
    assert doc["temporalCoverage"] == "2011-03-13/2011-08-31"
    assert doc["inLanguage"] == "en"
    jane = doc["creator"][0]
    assert jane["@type"] == "Person" and jane["@id"] == "https://orcid.org/0000-0002-1825-0097"
    assert jane["affiliation"] == [
        {
            "@type": "Organization",
            "name": "CERN",
            "@id": "https://ror.org/01ggx4157",
            "identifier": "https://ror.org/01ggx4157",
        }
    ]
    assert doc["publisher"]["@type"] == "Organization" and doc["publisher"]["name"] == "CERN Open Data Portal"
    assert doc["includedInDataCatalog"] == {
        "@type": "DataCatalog",
        "name": "CERN Open Data Portal",
        "url": "https://opendata.cern.ch/",
    }


def test_keywords_are_text_and_the_concepts_defined_terms(doc: dict[str, Any]) -> None:
    assert all(isinstance(k, str) for k in doc["keywords"])  # Google reads keywords as Text
    assert doc["keywords"][:2] == ["muon", "dimuon"]
    assert {"CMS", "collider", "xenon", "collision data", "Particle physics", "pp"} <= set(doc["keywords"])
    terms = {t["@id"]: t for t in doc["about"]}
    assert terms["https://w3id.org/dmlake/vocab/experiment/CMS"] == {
        "@type": "DefinedTerm",
        "@id": "https://w3id.org/dmlake/vocab/experiment/CMS",
        "name": "CMS",
        "termCode": "CMS",
        "inDefinedTermSet": "https://w3id.org/dmlake/vocab/experiment",
    }
    assert "https://w3id.org/dmlake/vocab/messenger/collider" in terms
    assert len(terms) == len(doc["about"])  # CMS is experiment and collaboration: named once
    assert doc["measurementTechnique"][0]["@id"] == "https://w3id.org/dmlake/vocab/technique/collider-detector"


def test_variables_measured_and_related_works(doc: dict[str, Any]) -> None:
    observable, energy = doc["variableMeasured"]
    assert observable == {"@type": "PropertyValue", "name": "invariant mass"}
    assert energy == {
        "@type": "PropertyValue",
        "name": "energy",
        "unitText": "GeV",
        "unitCode": "http://qudt.org/vocab/unit/GigaEV",
        "minValue": 1.0,
        "maxValue": 3500.0,
    }
    assert doc["isPartOf"] == [{"@type": "CreativeWork", "@id": "https://opendata.cern.ch/record/1"}]
    assert doc["hasPart"] == [
        {
            "@type": "CreativeWork",
            "identifier": {"@type": "PropertyValue", "propertyID": "gitlab-path", "value": "cms/run2011b/part1"},
        }
    ]
    assert doc["citation"] == [
        {"@type": "CreativeWork", "@id": "https://arxiv.org/abs/1206.1234"},
        {"@type": "CreativeWork", "@id": "https://doi.org/10.1088/1748-0221/3/08/S08004"},
    ]
    assert doc["isBasedOn"] == [{"@type": "CreativeWork", "@id": "https://doi.org/10.7483/OPENDATA.CMS.ABCD.1233"}]


def test_files_are_data_downloads_with_checksums(doc: dict[str, Any]) -> None:
    index, root = doc["distribution"]
    assert index == {
        "@type": "DataDownload",
        "name": "CMS_Run2011B_DoubleMu_AOD_file_index.json",
        "contentUrl": "https://opendata.cern.ch/record/12345/files/CMS_Run2011B_DoubleMu_AOD_file_index.json",
        "description": "Index of the ROOT files",
        "encodingFormat": "application/json",
        "contentSize": "4521 B",
        "spdx:checksum": {
            "@type": "spdx:Checksum",
            "spdx:algorithm": {"@id": "spdx:checksumAlgorithm_adler32"},
            "spdx:checksumValue": "08b2a4a8",
        },
    }
    assert root["url"] == "https://opendata.cern.ch/record/12345" and root["encodingFormat"] == "root"


def test_a_missing_description_is_generated_and_long_enough_for_google(minimal: Record) -> None:
    description = schemaorg.document(minimal)["description"]
    assert description.startswith(GENERATED_MARK) and 50 <= len(description) <= 5000


def test_a_short_description_is_extended_with_marked_context(full: Record) -> None:
    description = schemaorg.document(full.model_copy(update={"description": "Data for figure 3."}))["description"]
    assert description.startswith("Data for figure 3. " + SUPPLEMENT_MARK)
    assert "CMS" in description and "√s = 7 TeV" in description


def test_a_long_description_is_cut_at_a_word_with_an_ellipsis(full: Record) -> None:
    description = schemaorg.document(full.model_copy(update={"description": "muon pairs " * 1000}))["description"]
    assert len(description) <= 5000 and re.search(r" (muon|pairs)…$", description)


def test_the_minimal_record_is_advised_of_what_soso_wants_and_it_lacks(minimal: Record) -> None:
    report = shacl.validate_schemaorg([schemaorg.document(minimal)])
    assert report.violations("soso") == [] and report.conforms()
    # SOSO's version and keywords requirements are kept as advice: dmlake does not invent what sources do not give
    advice = {(f.path, f.constraint) for f in report.findings if f.gate == "soso" and f.severity == "Warning"}
    assert {(SO + "version", "MinCountConstraintComponent"), (SO + "keywords", "MinCountConstraintComponent")} <= advice
    assert report.violations("schemaorg") == [] and report.violations("schemaorg-vocabulary") == []


def test_the_gates_catch_a_malformed_document(doc: dict[str, Any]) -> None:
    bad = dict(doc)
    bad["creator"] = "Jane Doe"  # a Person or Organization, not a string
    bad["licence"] = "CC0"  # British spelling: not a schema.org term
    bad["description"] = "Too short."
    del bad["url"]
    report = shacl.validate_schemaorg([bad])
    found = {(f.gate, f.path) for f in report.violations()}
    assert ("schemaorg", SO + "creator") in found
    assert ("schemaorg-vocabulary", SO + "licence") in found
    assert ("soso", SO + "url") in found
    assert ("soso", SO + "description") in found
    assert report.failing_records() == {doc["@id"]}


def test_documents_are_validated_together_and_traced_apart(full: Record, minimal: Record) -> None:
    report = shacl.validate_schemaorg([schemaorg.document(full), schemaorg.document(minimal)])
    assert report.records == 2
    assert {f.record_id for f in report.findings if f.gate == "soso" and f.path == SO + "version"} == {minimal.id}


def test_checksums_of_all_algorithms_are_written(full: Record) -> None:
    files = [
        Distribution(name="a", url="https://example.org/a", checksum=Checksum(algorithm="md5", value="00" * 16)),
        Distribution(name="b", url="https://example.org/b", checksum=Checksum(algorithm="sha256", value="ab" * 32)),
    ]
    downloads = schemaorg.document(full.model_copy(update={"distributions": files}))["distribution"]
    assert [d["spdx:checksum"]["spdx:algorithm"]["@id"] for d in downloads] == [
        "spdx:checksumAlgorithm_md5",
        "spdx:checksumAlgorithm_sha256",
    ]


def test_restricted_records_say_so(full: Record) -> None:
    doc = schemaorg.document(full.model_copy(update={"access_rights": "embargoed"}))
    assert doc["isAccessibleForFree"] is False and doc["conditionsOfAccess"] == "embargoed"


# ---------------------------------------------------------------------------- values the context makes IRIs (@id)
def test_a_licence_no_vocabulary_knows_is_a_named_creative_work(full: Record) -> None:
    """Zenodo's "Other (Open)" (and four more licences of the corpus) are no SPDX licence: written as a plain string,
    the context's `"license": {"@type": "@id"}` made it a relative IRI, read as the address of the page itself."""
    unknown = vocabulary.license_concept("Other (Open)")
    assert unknown.uri is None
    doc = schemaorg.document(full.model_copy(update={"license": unknown}))
    assert doc["license"] == {"@type": "CreativeWork", "name": "Other (Open)"}
    graph = shacl.schemaorg_graph(doc)
    [licence] = graph.objects(URIRef(full.id), URIRef(SO + "license"))
    assert isinstance(licence, BNode)
    assert graph.value(licence, URIRef(SO + "name")) == Literal("Other (Open)")
    report = shacl.validate_schemaorg([doc])
    assert report.conforms(), report.summary()


def test_a_licence_given_by_its_address_stays_an_iri(full: Record) -> None:
    address = vocabulary.license_concept("https://example.org/licences/open-data-1.0")
    assert address.uri is None
    doc = schemaorg.document(full.model_copy(update={"license": address}))
    assert doc["license"] == "https://example.org/licences/open-data-1.0"
    assert (URIRef(full.id), URIRef(SO + "license"), URIRef(doc["license"])) in shacl.schemaorg_graph(doc)


def test_urls_with_spaces_are_written_as_iris(full: Record) -> None:
    """A GitLab release asset named "Paper (arXiv:2409.13226)" has that name in its URL: the space is %-encoded, as in
    the RDF view, so the JSON-LD reader keeps the address instead of resolving a relative reference."""
    url = "https://gitlab.example.org/dmdc/cosine/-/releases/v1.0/downloads/Paper (arXiv:2409.13226)"
    paper = Distribution(name="Paper (arXiv:2409.13226)", url=url)
    doc = schemaorg.document(full.model_copy(update={"distributions": [paper]}))
    [download] = doc["distribution"]
    encoded = "https://gitlab.example.org/dmdc/cosine/-/releases/v1.0/downloads/Paper%20(arXiv:2409.13226)"
    assert download["contentUrl"] == encoded
    assert encoded in {str(o) for o in shacl.schemaorg_graph(doc).objects(None, URIRef(SO + "contentUrl"))}
    assert str(rdf.iri(url)) == encoded  # the same IRI as the DCAT view's downloadURL
    assert shacl.validate_schemaorg([doc]).conforms()


def test_the_iri_gate_catches_a_text_where_a_url_is_expected(doc: dict[str, Any]) -> None:
    bad = dict(doc)
    bad["license"] = "Other (Open)"
    bad["distribution"] = [{**doc["distribution"][0], "contentUrl": "files/index.json"}]
    report = shacl.validate_schemaorg([bad])
    found = {(f.path, f.value, f.message) for f in report.violations("jsonld-iri")}
    expected = "where an absolute IRI is expected (a name or path given as a URL?)"
    assert found == {
        (SO + "license", "", f"a text that is no IRI (spaces?) {expected}"),
        (SO + "contentUrl", "files/index.json", f"the relative reference 'files/index.json' {expected}"),
    }, report.summary()
    assert not report.conforms() and report.failing_records() == {doc["@id"]}


def test_batches_of_documents_give_the_same_findings_as_one_call(full: Record, minimal: Record) -> None:
    docs = [schemaorg.document(r) for r in (full, minimal)] + [
        {**schemaorg.document(full), "@id": full.id + "0", "description": "Too short.", "licence": "CC0"}
    ]
    together = shacl.validate_schemaorg(docs)
    one_by_one = shacl.validate_schemaorg(docs, batch_size=1)
    assert together.records == one_by_one.records == 3
    assert sorted(map(str, together.findings)) == sorted(map(str, one_by_one.findings))
    assert together.failing_records() == {full.id + "0"}
