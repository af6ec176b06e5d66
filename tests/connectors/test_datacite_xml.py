"""DataCite XML → `DataCiteResource` → model values, per field group, on real records: the recorded Zenodo
`datacite` responses, KCDC's 37 DataCite 4.4 drafts and DataCite's own kernel-4.5/4.6 examples."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from connectors.datacite_xml import DataCiteResource, parse_resource
from connectors.datacite_xml_values import (
    Described,
    RightsStatement,
    describe_datacite,
    licence_and_access,
    size_in_bytes,
    spdx_from_name,
    spdx_from_uri,
)
from ontology.vocabulary import SPDX_IDS

KERNEL4 = "{http://datacite.org/schema/kernel-4}"


def _resources(path: Path) -> list[etree._Element]:
    return list(etree.parse(str(path)).iter(f"{KERNEL4}resource"))


@pytest.fixture(scope="module")
def zenodo(corpus: Path) -> list[tuple[DataCiteResource, Described]]:
    out = []
    for path in sorted((corpus / "zenodo" / "oai" / "extracted").glob("*datacite*__200.xml")):
        for element in _resources(path):
            resource = parse_resource(element)
            out.append((resource, describe_datacite(resource)))
    return out


@pytest.fixture(scope="module")
def kcdc(corpus: Path) -> dict[str, tuple[DataCiteResource, Described]]:
    out = {}
    for path in sorted((corpus / "kcdc" / "datacite44_drafts" / "md_xml").glob("*.xml")):
        resource = parse_resource(etree.parse(str(path)).getroot())
        out[path.name.removesuffix(".md.xml")] = (resource, describe_datacite(resource))
    return out


@pytest.fixture(scope="module")
def example(standards: Path) -> tuple[DataCiteResource, Described]:
    root = etree.parse(str(standards / "datacite" / "kernel-4.6" / "example" / "datacite-example-dataset-v4.xml"))
    resource = parse_resource(root.getroot())
    return resource, describe_datacite(resource)


def test_corpus_is_all_there(zenodo: list, kcdc: dict) -> None:
    assert len(zenodo) >= 50
    assert len(kcdc) == 37


def test_titles(zenodo: list, kcdc: dict) -> None:
    for resource, described in zenodo:
        assert described.title == resource.titles[0].text
    resource, described = kcdc["KASCADE_ReducedData_runs_0877-4683_HDF5"]
    assert [t.title_type for t in resource.titles] == [None, "Subtitle"]
    assert resource.titles[0].lang == "en-US"
    # whitespace-padded text nodes are trimmed; the subtitle repeats the title, so it is not appended
    assert described.title == "KASCADE_ReducedData _runs_0877-4683_HDF5"


def test_creators_with_orcids_and_affiliations(zenodo: list, example: tuple) -> None:
    with_orcid = 0
    for resource, described in zenodo:
        assert [c.name for c in described.creators] == [c.name for c in resource.creators]
        for entry, agent in zip(resource.creators, described.creators, strict=True):
            orcids = [i.value for i in entry.identifiers if (i.scheme or "").lower() == "orcid"]
            assert agent.orcid == (orcids[0] if orcids else None)
            with_orcid += bool(orcids)
            if entry.given_name:
                assert (agent.given_name, agent.family_name) == (entry.given_name, entry.family_name)
            assert [a.name for a in agent.affiliations] == [a.name for a in entry.affiliations]
    assert with_orcid >= 40
    _, described = example
    organisation = described.creators[0]
    assert (organisation.kind, organisation.ror) == ("organization", "https://ror.org/043kfff89")
    contact = described.contributors[0]
    assert (contact.orcid, contact.given_name, contact.family_name) == ("0000-0002-2572-6428", "Joseph", "Padfield")
    assert contact.affiliations[0].ror == "https://ror.org/043kfff89"
    assert described.publisher is not None and described.publisher.ror == "https://ror.org/043kfff89"


def test_dates(zenodo: list, example: tuple, kcdc: dict) -> None:
    for resource, described in zenodo:
        issued = next(d.value for d in resource.dates if d.date_type == "Issued")
        assert described.issued == issued
        updated = [d.value for d in resource.dates if d.date_type == "Updated"]
        assert described.modified == (updated[0] if updated else None)
    _, described = example
    assert described.issued == "2022"
    assert described.coverage is not None and (described.coverage.start, described.coverage.end) == ("2010", "2020")
    _, described = kcdc["KASCADE_ReducedData_runs_0877-4683_HDF5"]
    assert (described.created, described.issued) == ("2020-05-07", "2020")  # Created date, publicationYear


def test_identifiers_and_relations(zenodo: list) -> None:
    version_of = 0
    for resource, described in zenodo:
        assert described.identifiers[0].value.lower() == (resource.identifier or "").lower()
        assert any(i.scheme == "oai" for i in described.identifiers)
        for related in resource.related_identifiers:
            relation = (related.relation_type or "").lower()
            if relation == "isversionof":
                version_of += 1
                assert related.value.lower() in {i.value.lower() for i in described.relations.get("is_version_of")}
            elif relation == "issupplementto":
                assert related.value in {i.value for i in described.relations.get("is_supplement_to")}
            elif relation in ("iscitedby", "isderivedfrom", "issourceof", "issupplementedby"):
                assert any(related.value in link for link in described.relations.links)
    assert version_of >= 40


def test_licences_and_access(zenodo: list, example: tuple) -> None:
    for resource, described in zenodo:
        spdx = [r for r in resource.rights if r.identifier]
        assert described.license is not None
        assert described.license.raw == spdx[0].identifier
        # mapped to SPDX whenever the vocabulary knows the licence (cc-by-1.0 it does not)
        known = spdx[0].identifier.lower() in {i.lower() for i in SPDX_IDS}
        assert described.license.mapped == known, resource.rights
    _, described = example
    # the example's identifier says CC-BY-4.0 (its URI says BY-NC): the identifier wins
    assert described.license is not None and described.license.label == "CC-BY-4.0"
    assert licence_and_access([RightsStatement(uri="info:eu-repo/semantics/embargoedAccess")]) == (None, "embargoed")
    assert spdx_from_uri("https://creativecommons.org/licenses/by-nc-sa/4.0/legalcode") == "CC-BY-NC-SA-4.0"
    assert spdx_from_uri("https://creativecommons.org/publicdomain/zero/1.0/") == "CC0-1.0"
    assert spdx_from_name("Creative Commons Attribution Non Commercial 4.0 International") == "CC-BY-NC-4.0"
    assert spdx_from_name("BSD 3-Clause Clear License") is None  # not BSD-3-Clause


def test_kcdc_licence_is_kept_unmapped(kcdc: dict) -> None:
    for _, described in kcdc.values():
        assert described.license is not None and not described.license.mapped
        assert "EULA" in described.license.label


def test_subjects_and_vocabulary(kcdc: dict, zenodo: list, example: tuple) -> None:
    for _resource, described in kcdc.values():
        assert [s.uri for s in described.subjects] == [
            "https://physh.org/concepts/678197d1-8bf1-4c16-86cc-8133fba03b86"
        ]
        assert described.subjects[0].label == "Cosmic rays & astroparticles"
        assert "KASCADE-Grande Collaboration" in described.organisations
    for resource, described in zenodo:
        bare = [s.text for s in resource.subjects if not s.scheme and not s.value_uri]
        assert described.keywords == list(dict.fromkeys(bare))
    _, described = example
    assert {s.uri for s in described.subjects} >= {"https://www.wikidata.org/wiki/Q11466"}


def test_sizes_and_formats(kcdc: dict, example: tuple) -> None:
    for name, (resource, described) in kcdc.items():
        assert described.formats == resource.formats
        assert described.formats[0] in name  # ..._HDF5 → HDF5
        value, unit = resource.sizes[0].split()
        assert described.size_bytes == round(float(value) * {"kB": 1e3, "MB": 1e6, "GB": 1e9}[unit])
    _, described = example
    assert described.size_bytes == 13_600_000
    assert described.formats == ["application/json"]
    assert size_in_bytes("285 kb") == 285_000
    assert size_in_bytes("2 GiB") == 2 * 2**30
    assert size_in_bytes("100 pages") is None


def test_descriptions(kcdc: dict, zenodo: list) -> None:
    resource, described = kcdc["KASCADE_ReducedData_runs_0877-4683_HDF5"]
    assert described.description is not None
    assert described.description.startswith("Quick tests of data samples and cuts to optimize requests")
    assert "Table of contents:\nevents.root / 35 MB" in described.description  # "Table of Contents" type
    assert len(described.technical_info) == 1
    assert "Estimated primary energy" in described.technical_info[0]
    assert "|" in described.technical_info[0].splitlines()[1]  # the ASCII table keeps its layout
    for resource, described in zenodo:
        abstract = next(d for d in resource.descriptions if d.description_type == "Abstract")
        first_words = abstract.text.split()[:3]
        assert described.description is not None and described.description.split()[:3] == first_words


def test_funding(zenodo: list, example: tuple) -> None:
    funded = [(r, d) for r, d in zenodo if r.funding]
    assert funded
    for resource, described in funded:
        for funding in resource.funding:
            assert funding.funder_name
            assert funding.funder_identifier_type == "ROR"
            if funding.award_uri:
                assert funding.award_uri in described.links
    resource, described = example
    (funding,) = resource.funding
    assert (funding.funder_name, funding.award_number) == ("H2020 Excellent Science", "871034")
    assert funding.funder_identifier == "https://doi.org/10.13039/100010662"
    assert described.links == ["https://cordis.europa.eu/project/id/871034"]


def test_geo_locations_are_read_though_the_model_has_no_place_for_them(example: tuple) -> None:
    resource, _ = example
    (place,) = resource.geo_locations
    assert place.place == "Roof of National Gallery, London, UK"
    assert place.point == (51.50872, -0.12841)
    box = etree.fromstring(
        b'<resource xmlns="http://datacite.org/schema/kernel-4"><titles><title>T</title></titles><geoLocations>'
        b"<geoLocation><geoLocationBox><westBoundLongitude>-1</westBoundLongitude><eastBoundLongitude>2"
        b"</eastBoundLongitude><southBoundLatitude>40</southBoundLatitude><northBoundLatitude>50"
        b"</northBoundLatitude></geoLocationBox></geoLocation></geoLocations></resource>"
    )
    assert parse_resource(box).geo_locations[0].box == (-1.0, 2.0, 40.0, 50.0)


def test_kernel_2_records_read_too(standards: Path) -> None:
    """DataCite's oai_datacite sample wraps a kernel-2.1 resource: bare `<rights>`, no nameType."""
    root = etree.parse(str(standards / "datacite" / "oai-1.1" / "oai-sample-1.1.xml")).getroot()
    element = next(root.iter("{http://datacite.org/schema/kernel-2.1}resource"))
    resource = parse_resource(element)
    assert resource.kernel == "2.1"
    assert [r.text for r in resource.rights] == ["Open Database License [ODbL]"]
    assert resource.sizes == ["285 kb", "100 pages"]
    assert "<br/>" not in resource.descriptions[0].text and "\n" in resource.descriptions[0].text
