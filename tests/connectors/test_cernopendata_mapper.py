"""The CERN Open Data mapper, field group by field group, on corpus records served the way the portal serves them.

Each fixture is wrapped with the replica's own code (`sandbox.replicas.cernopendata_api.api_record`, the portal's
record serializer), so the mapper reads exactly the bytes the connector would fetch.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from connectors.base import MappingError, RawRecord
from connectors.cernopendata import CernOpenDataConnector
from connectors.cernopendata_mapper import html_to_text, https_url, parse_energy, parse_energy_span
from ontology import Availability, IdentifierScheme, Quantity, Record, record_id
from ontology.vocabulary import VOCAB_BASE
from sandbox.replicas.cernopendata import CorpusCernBase
from sandbox.replicas.cernopendata_api import api_record, dumps, fixture_stamps
from sandbox.replicas.cernopendata_generator import GeneratedCernBase

SOURCE = "cern"
Wrap = Callable[[dict[str, Any]], RawRecord]


@pytest.fixture(scope="module")
def fixtures(corpus: Path) -> dict[str, dict[str, Any]]:
    records: dict[str, dict[str, Any]] = {}
    for path in sorted((corpus / "cernopendata" / "records").glob("*.json")):
        for record in json.loads(path.read_text()):
            records[record["recid"]] = record
    return records


def wrap(fixture: dict[str, Any], index_members: dict[str, list[dict[str, Any]]] | None = None) -> RawRecord:
    created, updated = fixture_stamps(fixture)
    body = api_record(
        fixture, created=created, updated=updated, base_url="https://opendata.cern.ch", index_members=index_members
    )
    url = f"https://opendata.cern.ch/api/records/{fixture['recid']}"
    return RawRecord(str(fixture["recid"]), dumps(body), "application/json", url, body["updated"])


def mapped(fixture: dict[str, Any]) -> Record:
    return CernOpenDataConnector.map_record(wrap(fixture), SOURCE)


@pytest.fixture(scope="module")
def record(fixtures: dict[str, dict[str, Any]]) -> Callable[[str], Record]:
    return lambda recid: mapped(fixtures[recid])


def concept_uri(scheme: str, name: str) -> str:
    return f"{VOCAB_BASE}{scheme}/{name}"


# -- identity -------------------------------------------------------------------------------------------------------
def test_identity(record: Callable[[str], Record], fixtures: dict[str, dict[str, Any]]) -> None:
    one = record("1")
    assert one.id == record_id(SOURCE, "1") and one.native_id == "1" and one.source == SOURCE
    assert one.identifier(IdentifierScheme.CERN_RECID) == "1"
    assert one.doi == fixtures["1"]["doi"]
    assert one.identifier(IdentifierScheme.OAI) == "oai:cernopendata.cern:1"
    assert one.landing_page == "https://opendata.cern.ch/record/1"
    assert one.provenance.source_kind == "cernopendata" and one.provenance.mapping_version == "1.0"
    assert record("1819").doi is None


def test_mapping_is_pure(fixtures: dict[str, dict[str, Any]]) -> None:
    raw = wrap(fixtures["80010"])
    first = CernOpenDataConnector.map_record(raw, SOURCE)
    again = CernOpenDataConnector.map_record(
        RawRecord(raw.native_id, bytes(raw.payload), raw.media_type, raw.url), SOURCE
    )
    assert first.model_dump() == again.model_dump()


# -- description ----------------------------------------------------------------------------------------------------
def test_abstract_html_becomes_paragraphs(record: Callable[[str], Record]) -> None:
    one = record("1")
    assert one.title == "/BTau/Run2010B-Apr21ReReco-v1/AOD"
    assert one.description == (
        "BTau primary dataset in AOD format from RunB of 2010\n\n"
        "The list of validated runs, which must be applied to all analyses, can be found in"
    )
    wrapped = record("3000").description or ""
    assert "<i>" not in wrapped and "for information purposes" in wrapped
    assert "This file describes the exact setup for the CMS software executable" in wrapped  # newlines collapsed


def test_html_to_text() -> None:
    html = "<p>First &amp; <b>bold</b>\n   line</p><ul><li>one</li><li>two</li></ul>tail<br>next &nbsp;x"
    assert html_to_text(html) == "First & bold line\n\n- one\n- two\n\ntail\nnext x"
    assert html_to_text("plain\n      text") == "plain text"


# -- experiments, collaboration, accelerator, physics ---------------------------------------------------------------
def test_experiments_collaboration_and_physics(record: Callable[[str], Record]) -> None:
    cms = record("1")
    assert [e.uri for e in cms.experiments] == [concept_uri("experiment", "CMS")]
    assert [(c.uri, c.raw) for c in cms.collaboration] == [(concept_uri("experiment", "CMS"), "CMS collaboration")]
    assert [m.uri for m in cms.messengers] == [concept_uri("messenger", "collider")]
    assert [t.uri for t in cms.detection_technique] == [concept_uri("technique", "collider-detector")]
    policy = record("416")
    assert {e.label for e in policy.experiments} == {"ALICE", "ATLAS", "CMS", "LHCb"}
    outreach = record("53")
    assert outreach.collaboration[0].uri is None  # not an experiment: kept, unmapped, with its raw name
    assert outreach.collaboration[0].raw == "The International Particle Physics Outreach Group and QuarkNet"


def test_accelerator(record: Callable[[str], Record], fixtures: dict[str, dict[str, Any]]) -> None:
    lhc = concept_uri("accelerator", "CERN-LHC")
    assert record("1").accelerator is not None and record("1").accelerator.uri == lhc
    spaced = next(r for r, f in fixtures.items() if f.get("accelerator") == "CERN LHC")
    assert record(spaced).accelerator.uri == lhc  # type: ignore[union-attr]
    inferred = record("60")  # an ATLAS record without accelerator
    assert inferred.accelerator is not None and inferred.accelerator.uri == lhc
    assert inferred.accelerator.raw == "from experiment ATLAS"


def test_collision(record: Callable[[str], Record]) -> None:
    pp = record("80010").collision
    assert pp is not None and pp.type is not None
    assert pp.type.uri == concept_uri("collision-type", "pp")
    assert pp.sqrt_s == Quantity(value=13.0, unit="TeV", raw="13TeV")
    assert record("1101").collision.type.uri == record("11400").collision.type.uri  # type: ignore[union-attr]
    assert record("11400").collision.sqrt_s == Quantity(value=5.02, unit="TeV", raw="5.02TeV")  # type: ignore[union-attr]
    assert record("24850").collision.type.uri == concept_uri("collision-type", "pPb")  # type: ignore[union-attr]
    interfill = record("14023").collision
    assert interfill.type.uri == concept_uri("collision-type", "interfill")  # type: ignore[union-attr]
    assert interfill.sqrt_s == Quantity(value=0.0, unit="TeV", raw="0TeV")  # type: ignore[union-attr]
    energy_only = record("3000").collision
    assert energy_only is not None and energy_only.type is None and energy_only.sqrt_s.value == 7.0  # type: ignore[union-attr]
    assert record("552").collision is None
    assert parse_energy("91.2 GeV") == Quantity(value=91.2, unit="GeV", raw="91.2 GeV")
    with pytest.raises(ValueError, match="not an energy"):
        parse_energy("7TeV, 8TeV")


def test_energy_spans_go_to_the_energy_range(fixtures: dict[str, dict[str, Any]]) -> None:
    fixture = copy.deepcopy(fixtures["80010"])
    fixture["collision_information"] = {"energy": "183-209GeV", "type": "e+e-"}
    lep2 = mapped(fixture)
    assert lep2.collision is not None and lep2.collision.sqrt_s is None
    assert lep2.collision.type is not None and lep2.collision.type.uri == concept_uri("collision-type", "ee")
    assert lep2.energy_range is not None
    assert (lep2.energy_range.min, lep2.energy_range.max, lep2.energy_range.unit) == (183.0, 209.0, "GeV")
    assert lep2.energy_range.raw == "183-209GeV"
    assert parse_energy_span("7TeV") is None
    with pytest.raises(ValueError, match="below"):
        parse_energy_span("209-183 GeV")


# -- dates ----------------------------------------------------------------------------------------------------------
def test_dates(record: Callable[[str], Record], fixtures: dict[str, dict[str, Any]]) -> None:
    one = record("80010")
    assert one.issued == fixtures["80010"]["date_published"]
    assert one.temporal_coverage is not None
    assert (one.temporal_coverage.start, one.temporal_coverage.end) == ("2015", "2016")
    created, updated = fixture_stamps(fixtures["80010"])
    assert one.created == created.isoformat(timespec="microseconds")
    assert one.modified == updated.isoformat(timespec="microseconds")
    from_runs = record("50")  # no date_created, run period Run2011A
    assert from_runs.temporal_coverage is not None and from_runs.temporal_coverage.start == "2011"
    assert record("329").temporal_coverage is None
    spans = copy.deepcopy(fixtures["80010"])
    spans["date_created"] = ["2015-2016", "2018"]
    coverage = mapped(spans).temporal_coverage
    assert coverage is not None and (coverage.start, coverage.end) == ("2015", "2018")
    spans["date_created"] = ["sometime"]
    with pytest.raises(MappingError) as caught:
        mapped(spans)
    assert caught.value.field == "metadata.date_created[0]"


# -- type, categories, licence, keywords, subjects -------------------------------------------------------------------
def test_resource_type_and_categories(record: Callable[[str], Record]) -> None:
    def categories(recid: str) -> list[str | None]:
        return [c.uri for c in record(recid).resource_categories]

    collision = record("1")
    assert collision.resource_type is not None
    assert (collision.resource_type.uri, collision.resource_type.raw) == (
        "http://purl.org/dc/dcmitype/Dataset",
        "Dataset/Collision",
    )
    assert categories("1") == [concept_uri("resource-category", "event-data")]
    assert categories("15000") == [
        concept_uri("resource-category", "derived-data"),
        concept_uri("resource-category", "simulation"),
    ]
    assert categories("3000") == [concept_uri("resource-category", "supplementary")]
    assert categories("552") == [concept_uri("resource-category", "software")]
    assert record("552").resource_type.uri == "http://purl.org/dc/dcmitype/Software"  # type: ignore[union-attr]
    assert categories("1819") == [concept_uri("resource-category", "environment")]
    assert categories("416") == [concept_uri("resource-category", "documentation")]
    assert record("416").resource_type.uri == "http://purl.org/dc/dcmitype/Text"  # type: ignore[union-attr]


def test_licence_keywords_subjects_language(
    record: Callable[[str], Record], fixtures: dict[str, dict[str, Any]]
) -> None:
    assert record("1").license is not None and record("1").license.uri == "http://spdx.org/licenses/CC0-1.0"
    assert record("552").license.uri == "http://spdx.org/licenses/GPL-3.0-only"  # type: ignore[union-attr]
    assert record("52").license.uri == "http://spdx.org/licenses/MIT"  # type: ignore[union-attr]
    assert record("1819").license is None
    assert record("1").access_rights == "open"
    assert record("1200").keywords == fixtures["1200"]["keywords"]
    higgs = record("80010")
    categories = fixtures["80010"]["categories"]
    assert [s.label for s in higgs.subjects] == [categories["primary"], *categories.get("secondary", [])]
    assert record("40").language == "en"


# -- agents ---------------------------------------------------------------------------------------------------------
def test_authors_with_orcid_and_ror_affiliations(record: Callable[[str], Record]) -> None:
    creators = {c.name: c for c in record("329").creators}
    claire = creators["Adam-Bourdarios, Claire"]
    assert (claire.family_name, claire.given_name, claire.orcid) == ("Adam-Bourdarios", "Claire", "0000-0002-2634-4958")
    assert [(a.name, a.ror) for a in claire.affiliations] == [
        ("Orsay, LAL", "https://ror.org/046w3ze59"),
        ("Paris, IN2P3", "https://ror.org/03fd77x13"),
        ("Orsay", "https://ror.org/028rypz17"),
    ]
    assert all(c.kind == "person" for c in creators.values())


def test_collaboration_is_the_creator_without_authors(record: Callable[[str], Record]) -> None:
    one = record("1")
    assert [(c.name, c.kind) for c in one.creators] == [("CMS collaboration", "organization")]
    assert one.publisher is not None and (one.publisher.name, one.publisher.kind) == (
        "CERN Open Data Portal",
        "organization",
    )


# -- distribution and files -----------------------------------------------------------------------------------------
def test_files_and_index_files(record: Callable[[str], Record], fixtures: dict[str, dict[str, Any]]) -> None:
    fixture = fixtures["1"]
    one = record("1")
    assert one.formats == fixture["distribution"]["formats"]
    assert one.number_of_events == fixture["distribution"]["number_events"]
    assert one.size_bytes == fixture["distribution"]["size"]
    by_uri = {d.access_url: d for d in one.distributions}
    assert set(by_uri) == {f["uri"] for f in fixture["files"]}
    for file in fixture["files"]:
        distribution = by_uri[file["uri"]]
        assert distribution.size_bytes == file["size"]
        assert str(distribution.checksum) == file["checksum"]
        assert distribution.role == ("index" if "index" in file.get("type", "") else "data")
        assert distribution.url == "https://opendata.cern.ch" + file["uri"].removeprefix("root://eospublic.cern.ch/")
        assert distribution.name == file["uri"].rsplit("/", 1)[1]
        assert distribution.availability is Availability.ONLINE
        assert distribution.media_type in ("application/json", "text/plain")
    sha1 = record("270")
    assert {d.checksum.algorithm for d in sha1.distributions if d.checksum} == {"sha1"}
    assert https_url("root://eospublic.cern.ch//eos/opendata/x.root") == "https://opendata.cern.ch/eos/opendata/x.root"


def test_size_from_files_when_the_distribution_has_none(fixtures: dict[str, dict[str, Any]]) -> None:
    fixture = copy.deepcopy(fixtures["1819"])
    del fixture["distribution"]["size"]
    assert mapped(fixture).size_bytes == sum(f["size"] for f in fixture["files"])


def test_cold_storage_records_have_their_data_on_tape(fixtures: dict[str, dict[str, Any]]) -> None:
    fixture = copy.deepcopy(fixtures["80010"])
    fixture["distribution"]["availability"] = "ondemand"
    fixture["files"].append(
        {"checksum": "adler32:0a0b0c0d", "size": 10, "uri": "root://eospublic.cern.ch//eos/opendata/x.root"}
    )
    cold = mapped(fixture)
    states = {d.role: d.availability for d in cold.distributions}
    assert states == {"data": Availability.ON_TAPE, "index": Availability.ONLINE}


def test_generated_records_map(fixtures: dict[str, dict[str, Any]]) -> None:
    base = GeneratedCernBase(5_000, seed=9)
    for index in range(0, 5_000, 7):
        fixture = base.record(index)
        record = CernOpenDataConnector.map_record(wrap(fixture, base.index_members(index)), SOURCE)
        assert record.native_id == fixture["recid"]
        assert len(record.distributions) == len(fixture.get("files", []))
        if fixture.get("distribution", {}).get("availability") == "ondemand":
            assert {d.availability for d in record.distributions if d.role == "data"} <= {Availability.ON_TAPE}


# -- relations ------------------------------------------------------------------------------------------------------
def test_relations(record: Callable[[str], Record], fixtures: dict[str, dict[str, Any]]) -> None:
    child = record("80010")
    assert [(i.scheme, i.value) for i in child.is_part_of] == [
        (IdentifierScheme.CERN_RECID, "80020"),
        (IdentifierScheme.DOI, "10.7483/OPENDATA.ATLAS.9HK7.P5SI"),
    ]
    parent = record("80020")
    children = {i.value for i in parent.has_part if i.scheme == IdentifierScheme.CERN_RECID}
    assert children == {r["recid"] for r in fixtures["80020"]["relations"] if r["type"] == "isParentOf"}
    one = record("1")
    assert {i.value for i in one.references} == {"1000", "450"}  # abstract link, collaboration record
    assert all(i.value != "1" for i in one.references)
    software = record("552")
    assert {i.value for i in software.references} == {"700", "250", "14"}
    assert software.related_links == ["https://github.com/tpmccauley/dimuon-filter"]
    relative = record("56")
    assert relative.related_links == ["https://opendata.cern.ch/VM/CMS/validation/report"]


# -- errors name the field ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda f: f["files"][0].update(checksum="adler32:not-hex"), "metadata.index_files[0].checksum"),
        (lambda f: f["files"][0].update(checksum="crc64:0a0b"), "metadata.index_files[0].checksum"),
        (lambda f: f["files"][0].update(size=-5), "metadata.index_files[0].size"),
        (lambda f: f["files"][0].pop("uri"), "metadata.index_files[0].uri"),
        (lambda f: f["collision_information"].update(energy="seven TeV"), "metadata.collision_information.energy"),
        (lambda f: f.update(date_published="in 2016"), "metadata.date_published"),
        (lambda f: f.update(title=""), "metadata.title"),
        (lambda f: f.update(title=["a"]), "metadata.title"),
        (lambda f: f.update(experiment="CMS", keywords=[1]), "metadata.keywords[0]"),
        (lambda f: f.update(doi="not a doi"), "metadata.doi"),
        (lambda f: f.update(authors=[{"name": "A, B", "orcid": "1234"}]), "metadata.authors[0].orcid"),
        (lambda f: f.update(relations=[{"type": "isChildOf", "recid": "abc"}]), "metadata.relations[0].recid"),
        (lambda f: f["distribution"].update(number_events=-1), "metadata.distribution.number_events"),
    ],
)
def test_bad_values_name_the_field(fixtures: dict[str, dict[str, Any]], change: Any, field: str) -> None:
    # the field is named as the API serves it: this record's files are index files, served as `index_files`
    fixture = copy.deepcopy(fixtures["80010"])
    change(fixture)
    with pytest.raises(MappingError) as caught:
        mapped(fixture)
    assert caught.value.field == field


def test_payload_that_is_not_a_record() -> None:
    for payload, field in (
        (b"<html>", "payload"),
        (b'{"status": 404}', "metadata"),
        (b'{"metadata": {}}', "metadata.recid"),
    ):
        with pytest.raises(MappingError) as caught:
            CernOpenDataConnector.map_record(RawRecord("1", payload, "application/json", "u"), SOURCE)
        assert caught.value.field == field


def test_payload_of_another_record_is_refused(fixtures: dict[str, dict[str, Any]]) -> None:
    raw = wrap(fixtures["1"])
    with pytest.raises(MappingError, match="fetched as 2"):
        CernOpenDataConnector.map_record(RawRecord("2", raw.payload, raw.media_type, raw.url), SOURCE)


def test_corpus_base_serves_what_the_fixtures_hold(corpus: Path, fixtures: dict[str, dict[str, Any]]) -> None:
    base = CorpusCernBase.load(corpus / "cernopendata" / "records")
    assert base is not None
    index = base.index_of("80010")
    assert index is not None and base.record(index) == fixtures["80010"]
