"""The OAI-PMH provider at /oai over a catalogue harvested from every sandbox replica kind, with edited and deleted
records: each verb, complete lists with resumption tokens, from/until, sets, deleted records, every error code.
Every answer is checked against OAI-PMH.xsd together with the oai_dc, oai_datacite (DataCite kernel 4.6),
provenance and oai-identifier schemas."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient
from lxml import etree
from oai_harness import NS, OaiAnswers, Scenario, identifier_of, oai_app, scenario_lake, store_undated_record

from dmlake.lake import Lake
from harvester.catalogue import StoredRecord
from portal.app import create_app
from portal.oai_formats import unwritable, unwritable_stored
from portal.oai_settings import OaiSettings

SETTINGS = OaiSettings(page_size=25, identifiers_page_size=40, admin_emails=("data-manager@example.org",))
DC = "http://purl.org/dc/elements/1.1/"
DATACITE = "http://datacite.org/schema/kernel-4"
OAI_DATACITE = "http://schema.datacite.org/oai/oai-1.1/"
PROVENANCE = "http://www.openarchives.org/OAI/2.0/provenance"
UNDATED = "legacy", "u1"


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    with scenario_lake(tmp_path_factory.mktemp("oai-home")) as built:
        store_undated_record(built.lake, *UNDATED, title="An undated record from an older harvest")
        yield built


@pytest.fixture(scope="module")
def lake(scenario: Scenario) -> Lake:
    return scenario.lake


@pytest.fixture(scope="module")
def oai(lake: Lake, standards: Path) -> OaiAnswers:
    return OaiAnswers(TestClient(oai_app(lake, SETTINGS)), standards)


@pytest.fixture(scope="module")
def stored(lake: Lake) -> dict[str, StoredRecord]:
    """Every catalogue row, tombstones included, by OAI identifier."""
    rows = lake.catalogue.iter_records(include_tombstones=True)
    return {identifier_of(row.id, SETTINGS): row for row in rows}


def datestamp(row: StoredRecord) -> str:
    return row.updated_at.strftime("%Y-%m-%dT%H:%M:%SZ")


def expected_sets(row: StoredRecord) -> list[str]:
    """The sets a row is in, derived here from the record: its source, its experiments' and messengers' vocabulary
    ids in lower case (the scenario's records carry only mapped concepts)."""
    record = row.record
    specs = [f"source:{row.source}"]
    for group, concepts in (("experiment", record.experiments), ("messenger", record.messengers)):
        for concept in concepts:
            assert concept.uri, f"{row.id}: unmapped {group} {concept.raw!r}"
            specs.append(f"{group}:{concept.uri.rsplit('/', 1)[1].lower()}")
    return sorted(set(specs))


def in_set(row: StoredRecord, spec: str) -> bool:
    return any(s == spec or s.startswith(spec + ":") for s in expected_sets(row))


def text(element: etree._Element, path: str) -> str:
    found = element.findtext(path, namespaces={**NS, "dc": DC, "dcr": DATACITE, "od": OAI_DATACITE, "p": PROVENANCE})
    assert found is not None, (path, etree.tostring(element)[:800])
    return found


# -- Identify, formats, sets ----------------------------------------------------------------------------------------
def test_identify_describes_the_repository(oai: OaiAnswers, stored: dict[str, StoredRecord]) -> None:
    root = oai.get(verb="Identify")
    identify = root.find("oai:Identify", NS)
    assert identify is not None
    assert text(identify, "oai:repositoryName").startswith("dmlake")
    assert text(identify, "oai:baseURL") == text(root, "oai:request") == "http://testserver/oai"
    assert text(identify, "oai:protocolVersion") == "2.0"
    assert [e.text for e in identify.iterfind("oai:adminEmail", NS)] == ["data-manager@example.org"]
    assert text(identify, "oai:earliestDatestamp") == min(datestamp(row) for row in stored.values())
    assert text(identify, "oai:deletedRecord") == "persistent"
    assert text(identify, "oai:granularity") == "YYYY-MM-DDThh:mm:ssZ"
    assert text(identify, "oai:compression") == "gzip"
    scheme = "{http://www.openarchives.org/OAI/2.0/oai-identifier}"
    assert identify.findtext(f"oai:description/{scheme}oai-identifier/{scheme}repositoryIdentifier", namespaces=NS) == (
        "dmlake.localhost"
    )
    assert root.find("oai:request", NS).attrib == {"verb": "Identify"}


def test_the_service_serves_it_at_oai_by_get_and_post(lake: Lake, standards: Path) -> None:
    client = TestClient(create_app(lake))
    answers = OaiAnswers(client, standards)
    assert answers.get(verb="Identify").find("oai:Identify", NS) is not None
    posted = client.post(
        "/oai", content="verb=ListMetadataFormats", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert posted.status_code == 200 and answers.schema.validate(etree.fromstring(posted.content))
    assert b"<metadataPrefix>oai_datacite</metadataPrefix>" in posted.content
    compressed = client.get("/oai", params={"verb": "ListSets"}, headers={"Accept-Encoding": "gzip"})
    assert compressed.headers["content-encoding"] == "gzip" and b"<ListSets>" in compressed.content


def test_list_metadata_formats_for_the_repository_and_for_an_item(
    oai: OaiAnswers, stored: dict[str, StoredRecord]
) -> None:
    def prefixes(root: etree._Element) -> list[str]:
        return [e.text or "" for e in root.iterfind(".//oai:metadataPrefix", NS)]

    everything = oai.get(verb="ListMetadataFormats")
    assert prefixes(everything) == ["oai_dc", "oai_datacite"]
    assert [e.text for e in everything.iterfind(".//oai:metadataNamespace", NS)] == [
        "http://www.openarchives.org/OAI/2.0/oai_dc/",
        OAI_DATACITE,
    ]
    live = next(i for i, row in stored.items() if not row.tombstone and row.source != UNDATED[0])
    assert prefixes(oai.get(verb="ListMetadataFormats", identifier=live)) == ["oai_dc", "oai_datacite"]
    undated = identifier_of(f"https://w3id.org/dmlake/record/{UNDATED[0]}/{UNDATED[1]}", SETTINGS)
    assert prefixes(oai.get(verb="ListMetadataFormats", identifier=undated)) == ["oai_dc"]


def test_list_sets_names_every_source_experiment_and_messenger(
    oai: OaiAnswers, stored: dict[str, StoredRecord]
) -> None:
    root = oai.get(verb="ListSets")
    sets = {text(s, "oai:setSpec"): s for s in root.iterfind("oai:ListSets/oai:set", NS)}
    expected = {spec for row in stored.values() for spec in expected_sets(row)}
    assert set(sets) == expected | {"source", "experiment", "messenger"}
    assert {"source:zenodo", "source:cernopendata-oai", "experiment:cms", "messenger:collider"} <= set(sets)
    assert text(sets["experiment:cms"], "oai:setName") == "Experiment: CMS"
    assert text(sets["experiment"], "oai:setName") == "Records by experiment"
    assert text(sets["experiment:cms"], "oai:setDescription/*/dc:identifier") == (
        "https://w3id.org/dmlake/vocab/experiment/CMS"
    )
    zenodo_source = text(sets["source:zenodo"], "oai:setDescription/*/dc:identifier")
    assert zenodo_source.startswith("http://127.0.0.1:")


# -- complete lists -------------------------------------------------------------------------------------------------
def test_list_records_gives_every_record_once_in_datestamp_order(
    oai: OaiAnswers, stored: dict[str, StoredRecord], scenario: Scenario
) -> None:
    walk = oai.walk("ListRecords", metadataPrefix="oai_dc")
    identifiers = walk.identifiers()
    assert len(identifiers) == len(set(identifiers)) == len(stored)
    assert set(identifiers) == set(stored)
    stamps = [text(h, "oai:datestamp") for h in walk.headers()]
    assert stamps == sorted(stamps)
    deleted = {i for i, row in stored.items() if row.tombstone}
    assert walk.deleted() == deleted and len(deleted) == 6
    by_source: dict[str, set[str]] = {}
    for identifier in deleted:
        by_source.setdefault(stored[identifier].source, set()).add(stored[identifier].native_id)
    assert by_source["zenodo"] == set(scenario.deleted["zenodo"])
    assert by_source["zenodo-oai"] == set(scenario.deleted["zenodo-oai"])
    for item in walk.items:
        header = item.find("oai:header", NS)
        row = stored[text(header, "oai:identifier")]
        assert text(header, "oai:datestamp") == datestamp(row)
        assert [s.text for s in header.iterfind("oai:setSpec", NS)] == expected_sets(row)
        if row.tombstone:
            assert header.get("status") == "deleted" and item.find("oai:metadata", NS) is None
        else:
            assert header.get("status") is None
            assert text(item, "oai:metadata/*/dc:title") == row.record.title.strip()


def test_tokens_count_the_list_and_say_when_they_expire(oai: OaiAnswers, stored: dict[str, StoredRecord]) -> None:
    walk = oai.walk("ListRecords", metadataPrefix="oai_dc")
    assert len(walk.pages) == -(-len(stored) // SETTINGS.page_size) > 3
    delivered = 0
    for page, token in zip(walk.pages, walk.tokens, strict=True):
        assert token.get("cursor") == str(delivered)
        assert token.get("completeListSize") == str(len(stored))
        delivered += len(page.findall("oai:ListRecords/oai:record", NS))
        if token.text:
            issued = datetime.strptime(text(page, "oai:responseDate"), "%Y-%m-%dT%H:%M:%SZ")
            expires = datetime.strptime(token.get("expirationDate") or "", "%Y-%m-%dT%H:%M:%SZ")
            assert abs(expires - issued - SETTINGS.token_lifetime) <= timedelta(seconds=1)
        else:
            assert token.get("expirationDate") is None and token is walk.tokens[-1]
    assert delivered == len(stored)


def test_a_list_that_fits_one_answer_has_no_token(oai: OaiAnswers, stored: dict[str, StoredRecord]) -> None:
    sizes: dict[str, int] = {}
    for row in stored.values():
        sizes[row.source] = sizes.get(row.source, 0) + 1
    source = min(sizes, key=lambda s: sizes[s])
    assert sizes[source] <= SETTINGS.identifiers_page_size
    root = oai.get(verb="ListIdentifiers", metadataPrefix="oai_dc", set=f"source:{source}")
    body = root.find("oai:ListIdentifiers", NS)
    assert body is not None and body.find("oai:resumptionToken", NS) is None
    assert len(body.findall("oai:header", NS)) == sizes[source]


def test_oai_datacite_wraps_the_datacite_kernel_and_leaves_out_what_it_cannot_express(
    oai: OaiAnswers, stored: dict[str, StoredRecord]
) -> None:
    walk = oai.walk("ListRecords", metadataPrefix="oai_datacite")
    undated = {i for i, row in stored.items() if row.source == UNDATED[0]}
    assert len(undated) == 1
    assert set(walk.identifiers()) == set(stored) - undated
    for item in walk.items:
        row = stored[text(item, "oai:header/oai:identifier")]
        if row.tombstone:
            continue
        envelope = item.find(f"oai:metadata/{{{OAI_DATACITE}}}oai_datacite", NS)
        assert envelope is not None
        assert text(envelope, "od:schemaVersion") == "4.6" and text(envelope, "od:datacentreSymbol") == "DMLAKE"
        resource = envelope.find(f"od:payload/{{{DATACITE}}}resource", {"od": OAI_DATACITE})
        assert resource is not None
        assert text(resource, "dcr:identifier") == (row.record.doi or "(:tba)")
        assert text(resource, "dcr:titles/dcr:title") == row.record.title.strip()
    identifiers = oai.walk("ListIdentifiers", metadataPrefix="oai_datacite")
    assert identifiers.identifiers() == walk.identifiers()


def test_list_identifiers_gives_the_same_headers_as_list_records(oai: OaiAnswers) -> None:
    records = oai.walk("ListRecords", metadataPrefix="oai_dc")
    headers = oai.walk("ListIdentifiers", metadataPrefix="oai_dc")
    assert [etree.tostring(h) for h in headers.headers()] == [etree.tostring(h) for h in records.headers()]
    assert len(headers.pages) == -(-len(headers.items) // SETTINGS.identifiers_page_size)


# -- GetRecord --------------------------------------------------------------------------------------------------------
def test_get_record_of_a_live_a_deleted_and_an_oai_harvested_record(
    oai: OaiAnswers, stored: dict[str, StoredRecord]
) -> None:
    live = next(i for i, row in stored.items() if row.source == "cernopendata" and not row.tombstone)
    record = oai.get(verb="GetRecord", identifier=live, metadataPrefix="oai_dc").find("oai:GetRecord/oai:record", NS)
    assert record is not None
    assert text(record, "oai:metadata/*/dc:title") == stored[live].record.title.strip()
    assert record.find("oai:about", NS) is None  # harvested over REST: no OAI provenance
    as_datacite = oai.get(verb="GetRecord", identifier=live, metadataPrefix="oai_datacite")
    assert as_datacite.find(f".//{{{DATACITE}}}resource", NS) is not None

    gone = next(i for i, row in stored.items() if row.tombstone)
    for prefix in ("oai_dc", "oai_datacite"):
        record = oai.get(verb="GetRecord", identifier=gone, metadataPrefix=prefix).find("oai:GetRecord/oai:record", NS)
        assert record is not None and record.find("oai:header", NS).get("status") == "deleted"
        assert record.find("oai:metadata", NS) is None

    harvested = next(i for i, row in stored.items() if row.source == "zenodo-oai" and not row.tombstone)
    row = stored[harvested]
    record = oai.get(verb="GetRecord", identifier=harvested, metadataPrefix="oai_dc").find(
        "oai:GetRecord/oai:record", NS
    )
    assert record is not None
    origin = record.find(f"oai:about/{{{PROVENANCE}}}provenance/{{{PROVENANCE}}}originDescription", NS)
    assert origin is not None and origin.get("altered") == "true"
    assert origin.get("harvestDate") == row.record.provenance.retrieved_at.strftime("%Y-%m-%dT%H:%M:%SZ")  # type: ignore[union-attr]
    assert text(origin, "p:identifier") == row.native_id
    assert text(origin, "p:datestamp") == row.source_updated
    assert (row.record.provenance.source_url or "").startswith(text(origin, "p:baseURL") + "?")
    assert text(origin, "p:metadataNamespace") in ("http://www.openarchives.org/OAI/2.0/oai_dc/", OAI_DATACITE)


# -- selective harvesting ---------------------------------------------------------------------------------------------
def test_from_and_until_select_exactly_the_records_of_their_datestamps(
    oai: OaiAnswers, stored: dict[str, StoredRecord]
) -> None:
    stamps = sorted({datestamp(row) for row in stored.values()})
    assert len(stamps) >= 3, "the scenario should give records of several datestamps"
    for stamp in (stamps[0], stamps[len(stamps) // 2], stamps[-1]):
        after = oai.walk("ListIdentifiers", metadataPrefix="oai_dc", **{"from": stamp})
        assert set(after.identifiers()) == {i for i, row in stored.items() if datestamp(row) >= stamp}
        before = oai.walk("ListIdentifiers", metadataPrefix="oai_dc", until=stamp)
        assert set(before.identifiers()) == {i for i, row in stored.items() if datestamp(row) <= stamp}
        exactly = oai.walk("ListIdentifiers", metadataPrefix="oai_dc", until=stamp, **{"from": stamp})
        assert set(exactly.identifiers()) == {i for i, row in stored.items() if datestamp(row) == stamp}
    day = stamps[0][:10]
    whole_day = oai.walk("ListIdentifiers", metadataPrefix="oai_dc", until=day, **{"from": day})
    assert set(whole_day.identifiers()) == {i for i, row in stored.items() if datestamp(row)[:10] == day}
    next_day = (datetime.strptime(stamps[-1][:10], "%Y-%m-%d") + timedelta(days=1)).strftime("%Y-%m-%d")
    assert oai.codes(verb="ListIdentifiers", metadataPrefix="oai_dc", **{"from": next_day}) == ["noRecordsMatch"]


def test_sets_select_exactly_their_records(oai: OaiAnswers, stored: dict[str, StoredRecord]) -> None:
    specs = [text(s, "oai:setSpec") for s in oai.get(verb="ListSets").iterfind("oai:ListSets/oai:set", NS)]
    for spec in specs:
        walk = oai.walk("ListIdentifiers", metadataPrefix="oai_dc", set=spec)
        expected = {i for i, row in stored.items() if in_set(row, spec)}
        assert sorted(walk.identifiers()) == sorted(expected), spec
        assert walk.deleted() == {i for i in expected if stored[i].tombstone}, spec


def test_a_set_and_a_range_together(oai: OaiAnswers, stored: dict[str, StoredRecord], scenario: Scenario) -> None:
    zenodo = {i: row for i, row in stored.items() if row.source == "zenodo"}
    second_harvest = min(datestamp(row) for row in zenodo.values() if row.tombstone)
    walk = oai.walk("ListRecords", metadataPrefix="oai_dc", set="source:zenodo", **{"from": second_harvest})
    expected = {i for i, row in zenodo.items() if datestamp(row) >= second_harvest}
    assert set(walk.identifiers()) == expected
    changed = {zenodo[i].native_id for i in expected}
    assert set(scenario.deleted["zenodo"]) < changed <= set(scenario.deleted["zenodo"]) | set(scenario.edited["zenodo"])


# -- errors ---------------------------------------------------------------------------------------------------------
def test_every_error_code_for_the_request_that_should_produce_it(
    oai: OaiAnswers, stored: dict[str, StoredRecord]
) -> None:
    live = next(i for i, row in stored.items() if not row.tombstone and row.source == "zenodo")
    gone = next(i for i, row in stored.items() if row.tombstone)
    undated = next(i for i, row in stored.items() if row.source == UNDATED[0])
    token = oai.walk("ListIdentifiers", metadataPrefix="oai_dc").tokens[0].text or ""
    cases: list[tuple[list[tuple[str, str]], str]] = [
        ([], "badVerb"),
        ([("verb", "ListEverything")], "badVerb"),
        ([("verb", "Identify"), ("verb", "Identify")], "badVerb"),
        ([("verb", "Identify"), ("set", "x")], "badArgument"),
        ([("verb", "ListRecords")], "badArgument"),
        ([("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("metadataPrefix", "oai_dc")], "badArgument"),
        ([("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("resumptionToken", token)], "badArgument"),
        ([("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("from", "2024-13-01")], "badArgument"),
        ([("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("from", "2024-02-30")], "badArgument"),
        ([("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("from", "2024-01-01T00:00:00.5Z")], "badArgument"),
        ([("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("from", "2024-01-01T00:00:00+01:00")], "badArgument"),
        (
            [
                ("verb", "ListRecords"),
                ("metadataPrefix", "oai_dc"),
                ("from", "2024-01-01"),
                ("until", "2030-01-01T00:00:00Z"),
            ],
            "badArgument",
        ),
        ([("verb", "ListIdentifiers"), ("metadataPrefix", "oai_dc"), ("set", "bad set")], "badArgument"),
        ([("verb", "ListIdentifiers"), ("metadataPrefix", "oai_dc"), ("from", "")], "badArgument"),
        ([("verb", "GetRecord"), ("identifier", live)], "badArgument"),
        ([("verb", "GetRecord"), ("metadataPrefix", "oai_dc")], "badArgument"),
        ([("verb", "ListMetadataFormats"), ("metadataPrefix", "oai_dc")], "badArgument"),
        ([("verb", "ListRecords"), ("resumptionToken", "abc\x01")], "badArgument"),  # XML cannot carry it back
        ([("verb", "ListRecords"), ("resumptionToken", "not-a-token")], "badResumptionToken"),
        (
            [("verb", "ListRecords"), ("resumptionToken", token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))],
            "badResumptionToken",
        ),
        ([("verb", "ListRecords"), ("resumptionToken", token)], "badResumptionToken"),  # a ListIdentifiers token
        ([("verb", "ListSets"), ("resumptionToken", token)], "badResumptionToken"),
        ([("verb", "ListRecords"), ("metadataPrefix", "marc21")], "cannotDisseminateFormat"),
        ([("verb", "GetRecord"), ("identifier", live), ("metadataPrefix", "marc21")], "cannotDisseminateFormat"),
        (
            [("verb", "GetRecord"), ("identifier", undated), ("metadataPrefix", "oai_datacite")],
            "cannotDisseminateFormat",
        ),
        (
            [("verb", "GetRecord"), ("identifier", "oai:elsewhere.org:1"), ("metadataPrefix", "oai_dc")],
            "idDoesNotExist",
        ),
        ([("verb", "GetRecord"), ("identifier", live + "x"), ("metadataPrefix", "oai_dc")], "idDoesNotExist"),
        ([("verb", "ListMetadataFormats"), ("identifier", "oai:dmlake.localhost:nothing")], "idDoesNotExist"),
        ([("verb", "GetRecord"), ("identifier", 'a b <c> & "d"'), ("metadataPrefix", "oai_dc")], "idDoesNotExist"),
        ([("verb", "ListMetadataFormats"), ("identifier", gone)], "noMetadataFormats"),
        ([("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("until", "1999-12-31")], "noRecordsMatch"),
        ([("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("set", "experiment:no-such")], "noRecordsMatch"),
        (
            [("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("from", "2030-01-02"), ("until", "2030-01-01")],
            "noRecordsMatch",
        ),
    ]
    for pairs, code in cases:
        root = oai.get(*pairs)
        errors = [(e.get("code"), e.text) for e in root.iterfind("oai:error", NS)]
        assert errors and {c for c, _ in errors} == {code}, (pairs, errors)
        assert all(message and len(message) > 20 for _, message in errors), errors
        request = root.find("oai:request", NS)
        assert request is not None and request.text == "http://testserver/oai"
        if code in ("badVerb", "badArgument"):
            assert request.attrib == {}, "the request element of a badVerb/badArgument answer has no attributes"
        else:
            assert dict(request.attrib) == dict(pairs)
    produced = {code for _, code in cases}
    assert produced == {
        "badVerb",
        "badArgument",
        "badResumptionToken",
        "cannotDisseminateFormat",
        "idDoesNotExist",
        "noMetadataFormats",
        "noRecordsMatch",
    }  # fmt: skip  (noSetHierarchy needs a catalogue without records: test_oai_provider_tokens)


def test_the_index_knows_without_building_them_which_records_datacite_cannot_express(
    stored: dict[str, StoredRecord],
) -> None:
    for row in stored.values():
        as_stored = orjson.loads(row.record.model_dump_json(exclude_none=True))
        assert unwritable_stored(as_stored) == unwritable(row.record), row.id
    assert [row.source for row in stored.values() if unwritable(row.record)] == [UNDATED[0]]


def test_error_messages_say_what_to_do(oai: OaiAnswers) -> None:
    (message,) = [m for _, m in oai.errors(verb="ListRecords", metadataPrefix="marc21")]
    assert "oai_dc, oai_datacite" in message
    (message,) = [m for _, m in oai.errors(verb="GetRecord", identifier="x", metadataPrefix="oai_dc")]
    assert "oai:dmlake.localhost:<source>/<native id>" in message
    messages = [m for _, m in oai.errors(verb="ListRecords", set="x", foo="1")]
    assert any("resumptionToken" not in m and "metadataPrefix" in m for m in messages)
    assert any("'foo'" in m for m in messages)
