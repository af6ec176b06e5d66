"""The cernopendata-oai replica: CERN Open Data's invenio-oaiserver over the 7,443 corpus records and the generator.

Every answer of a whole corpus listing is valid OAI-PMH 2.0 (with oai_dc); a set per experiment with the corpus's
counts; `oai_dc` as the portal's dumper writes it; invenio's errors (HTTP 422) and paging (10 per page, cursor and
completeListSize, 60 s tokens); `from`/`until` against the REST replica's stamps; edits; a million generated records.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from cern_corpus import cern_records_by_recid
from lxml import etree
from oai_schema import oai_pmh_schema

from sandbox.replicas import replica_class
from sandbox.replicas.cernopendata_api import fixture_stamps
from sandbox.replicas.oaipmh_cernopendata import CernOpenDataOaiReplica, dublin_core
from sandbox.server import RunningSandbox, start

OAI = "{http://www.openarchives.org/OAI/2.0/}"
DC = "{http://purl.org/dc/elements/1.1/}"
CORPUS_SETS = {"CMS": 6993, "ATLAS": 172, "ALICE": 161, "LHCb": 119, "DELPHI": 1}


@pytest.fixture(scope="module")
def schema(standards: Path) -> etree.XMLSchema:
    return oai_pmh_schema(standards)


@pytest.fixture(scope="module")
def fixtures(corpus: Path) -> dict[str, dict[str, Any]]:
    return cern_records_by_recid(corpus)


@pytest.fixture(scope="module")
def sandbox(corpus: Path) -> Iterator[RunningSandbox]:
    replica = CernOpenDataOaiReplica.from_corpus(corpus)
    assert replica is not None
    edited = CernOpenDataOaiReplica.from_corpus(corpus)  # a second copy the edit test may change
    assert edited is not None
    generated = CernOpenDataOaiReplica.generated(1_000_000, seed=1)
    with start({"corpus": replica, "edited": edited, "generated": generated}) as running:
        yield running


_client = httpx.Client(timeout=60)  # one client: building one per request (its TLS context) costs more than the answer


def get(running: RunningSandbox, name: str, **params: str) -> httpx.Response:
    return _client.get(running.urls[name] + "/oai2d", params=params)


def walk(running: RunningSandbox, name: str, verb: str, **params: str) -> Iterator[etree._Element]:
    response = get(running, name, verb=verb, **params)
    while True:
        assert response.status_code == 200, response.text[:300]
        root = etree.fromstring(response.content)
        yield root
        token = root.find(f".//{OAI}resumptionToken")
        if token is None or not (token.text or "").strip():
            return
        response = get(running, name, verb=verb, resumptionToken=token.text or "")


def headers(root: etree._Element) -> list[etree._Element]:
    return root.findall(f".//{OAI}header")


def test_registered_as_the_cernopendata_oai_source(sandbox: RunningSandbox) -> None:
    assert replica_class("cernopendata-oai") is CernOpenDataOaiReplica
    toml = sandbox.sources_toml()
    assert 'profile = "cernopendata"' in toml and 'metadata_prefix = "oai_dc"' in toml and 'kind = "oaipmh"' in toml


def test_every_answer_of_a_whole_corpus_listing_is_valid_oai_pmh(
    sandbox: RunningSandbox, schema: etree.XMLSchema, fixtures: dict[str, dict[str, Any]]
) -> None:
    roots = [etree.fromstring(get(sandbox, "corpus", verb=v).content) for v in ("Identify", "ListMetadataFormats")]
    roots += list(walk(sandbox, "corpus", "ListSets"))
    pages = list(walk(sandbox, "corpus", "ListRecords", metadataPrefix="oai_dc"))
    roots += pages
    roots.append(etree.fromstring(get(sandbox, "corpus", verb="ListIdentifiers", metadataPrefix="oai_dc").content))
    roots.append(
        etree.fromstring(
            get(
                sandbox, "corpus", verb="GetRecord", identifier="oai:cernopendata.cern:416", metadataPrefix="oai_dc"
            ).content
        )
    )
    invalid = [
        (root.findtext(f"{OAI}request"), str(schema.error_log.last_error))
        for root in roots
        if not schema.validate(root)
    ]
    assert invalid == []
    # 10 per page, as invenio-oaiserver's default page size; every record exactly once, in recid order
    assert len(pages) == 745
    listed = [h.findtext(f"{OAI}identifier") for page in pages for h in headers(page)]
    assert len(listed) == len(set(listed)) == len(fixtures) == 7443
    assert listed == [f"oai:cernopendata.cern:{recid}" for recid in sorted(fixtures, key=int)]
    tokens = [page.find(f".//{OAI}resumptionToken") for page in pages]
    assert all(t is not None for t in tokens)
    assert [int(t.get("cursor", "-1")) for t in tokens if t is not None] == list(range(0, 7450, 10))
    assert {t.get("completeListSize") for t in tokens if t is not None} == {"7443"}
    assert tokens[-1] is not None and not (tokens[-1].text or "").strip()  # the last page's token is empty


def test_identify_and_formats_as_invenio_oaiserver_answers_for_the_portal(
    sandbox: RunningSandbox, fixtures: dict[str, dict[str, Any]]
) -> None:
    identify = etree.fromstring(get(sandbox, "corpus", verb="Identify").content).find(f"{OAI}Identify")
    assert identify is not None
    assert identify.findtext(f"{OAI}repositoryName") == "CERN Open Data Portal"
    assert identify.findtext(f"{OAI}adminEmail") == "info@inveniosoftware.org"
    assert identify.findtext(f"{OAI}deletedRecord") == "no"
    assert identify.findtext(f"{OAI}granularity") == "YYYY-MM-DDThh:mm:ssZ"
    assert (identify.findtext(f"{OAI}baseURL") or "").endswith("/oai2d")
    earliest = min(fixture_stamps(r)[0] for r in fixtures.values())
    assert identify.findtext(f"{OAI}earliestDatestamp") == earliest.strftime("%Y-%m-%dT%H:%M:%SZ")
    formats = etree.fromstring(get(sandbox, "corpus", verb="ListMetadataFormats").content)
    assert [f.text for f in formats.iter(f"{OAI}metadataPrefix")] == ["oai_dc"]


def test_a_set_per_experiment_with_the_corpus_counts(sandbox: RunningSandbox) -> None:
    listed = etree.fromstring(get(sandbox, "corpus", verb="ListSets").content)
    assert sorted(s.text or "" for s in listed.iter(f"{OAI}setSpec")) == sorted(CORPUS_SETS)
    counted = {}
    for spec in CORPUS_SETS:
        pages = list(walk(sandbox, "corpus", "ListIdentifiers", metadataPrefix="oai_dc", set=spec))
        found = [h for page in pages for h in headers(page)]
        assert all(spec in [s.text for s in h.iter(f"{OAI}setSpec")] for h in found)
        counted[spec] = len(found)
        token = pages[0].find(f".//{OAI}resumptionToken")
        if token is not None:
            assert token.get("completeListSize") == str(len(found))
    assert counted == CORPUS_SETS
    # recid 416 names four experiments and is in four sets; DELPHI's one record is its data policy (data-policies.json)
    delphi = etree.fromstring(
        get(sandbox, "corpus", verb="ListIdentifiers", metadataPrefix="oai_dc", set="DELPHI").content
    )
    (only,) = headers(delphi)
    record = etree.fromstring(
        get(
            sandbox, "corpus", verb="GetRecord", identifier="oai:cernopendata.cern:416", metadataPrefix="oai_dc"
        ).content
    )
    specs = [s.text for s in record.iter(f"{OAI}setSpec")]
    assert specs == ["ALICE", "ATLAS", "CMS", "LHCb"]
    assert only.findtext(f"{OAI}identifier") == "oai:cernopendata.cern:417"
    # an unknown set matches nothing: invenio's noRecordsMatch, HTTP 422
    none = get(sandbox, "corpus", verb="ListRecords", metadataPrefix="oai_dc", set="JADE")
    assert none.status_code == 422 and b'code="noRecordsMatch"' in none.content


def test_oai_dc_is_what_the_portal_dumper_writes(sandbox: RunningSandbox, fixtures: dict[str, dict[str, Any]]) -> None:
    checked = 0
    for recid in sorted(fixtures, key=int)[::97]:
        fixture = fixtures[recid]
        identifier = f"oai:cernopendata.cern:{recid}"
        answer = get(sandbox, "corpus", verb="GetRecord", identifier=identifier, metadataPrefix="oai_dc")
        dc = etree.fromstring(answer.content).find(
            f".//{OAI}metadata/{{http://www.openarchives.org/OAI/2.0/oai_dc/}}dc"
        )
        assert dc is not None
        elements = [(etree.QName(e).localname, e.text) for e in dc]
        names = [name for name, _ in elements]
        assert names == sorted(names), f"{recid}: simpledc writes its elements in rule order"
        values = dict(elements)
        assert values["title"] == fixture["title"]
        assert values["identifier"] == identifier
        assert values["publisher"] == "CERN Open Data"
        assert values["type"] == fixture["type"]["primary"]
        assert values["date"] == fixture["date_published"]
        assert values.get("creator") == (fixture.get("collaboration") or {}).get("name")
        formats = [text for name, text in elements if name == "format"]
        assert formats == list((fixture.get("distribution") or {}).get("formats") or [])
        description = (fixture.get("abstract") or {}).get("description") or None
        assert values.get("description") == description
        datestamp = etree.fromstring(answer.content).findtext(f".//{OAI}datestamp")
        assert datestamp == fixture_stamps(fixture)[1].strftime("%Y-%m-%dT%H:%M:%SZ")
        checked += 1
    assert checked == 77
    # the body the replica serves is byte for byte the dumper's
    fixture = fixtures["416"]
    answer = get(sandbox, "corpus", verb="GetRecord", identifier="oai:cernopendata.cern:416", metadataPrefix="oai_dc")
    assert dublin_core(fixture, "oai:cernopendata.cern:416").encode() in answer.content


def test_errors_as_invenio_oaiserver_answers_them(sandbox: RunningSandbox) -> None:
    UNKNOWN, CONFIGURED = "oai:cernopendata.cern:0", "oai:opendata.cern.ch:recid/416"
    cases = [
        ({"verb": "ListRecords", "metadataPrefix": "marcxml"}, "badArgument", "metadataPrefix does not exist"),
        ({"verb": "GetRecord", "metadataPrefix": "oai_dc", "identifier": UNKNOWN}, "idDoesNotExist", None),
        # the configured OAISERVER_ID_PREFIX form is not what the minter registers
        ({"verb": "GetRecord", "metadataPrefix": "oai_dc", "identifier": CONFIGURED}, "idDoesNotExist", None),
        ({"verb": "ListRecords", "resumptionToken": "forged"}, "badResumptionToken", None),
        ({"verb": "ListRecords", "resumptionToken": "forged", "metadataPrefix": "oai_dc"}, "badArgument", None),
        ({"verb": "ListRecords"}, "badArgument", None),
        ({"verb": "Harvest"}, "badVerb", None),
        ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2030-01-01"}, "noRecordsMatch", None),
        ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2020-13-01"}, "badArgument", None),
    ]  # fmt: skip
    for params, code, message in cases:
        response = get(sandbox, "corpus", **params)
        assert response.status_code == 422, params
        root = etree.fromstring(response.content)
        error = root.find(f"{OAI}error")
        assert error is not None and error.get("code") == code, (params, response.text[:400])
        if message is not None:
            assert error.text == message
        assert not response.content.startswith(b"<?xml")  # invenio's error envelope has no XML declaration
        assert root.find(f"{OAI}request").attrib == {}  # nor the request's arguments


def test_from_and_until_select_by_the_rest_replicas_stamps(
    sandbox: RunningSandbox, fixtures: dict[str, dict[str, Any]]
) -> None:
    lower, upper = "2016-01-01T00:00:00Z", "2017-06-30T23:59:59Z"
    low, high = datetime.fromisoformat(lower), datetime.fromisoformat(upper)
    expected = {f"oai:cernopendata.cern:{r}" for r, f in fixtures.items() if low <= fixture_stamps(f)[1] <= high}
    assert 100 < len(expected) < 7000
    pages = list(walk(sandbox, "corpus", "ListIdentifiers", metadataPrefix="oai_dc", **{"from": lower, "until": upper}))
    listed = [h.findtext(f"{OAI}identifier") for page in pages for h in headers(page)]
    assert len(listed) == len(set(listed)) and set(listed) == expected
    token = pages[0].find(f".//{OAI}resumptionToken")
    assert token is not None and token.get("completeListSize") == str(len(expected))
    # day granularity is accepted too, and a set narrows the range
    days = list(
        walk(sandbox, "corpus", "ListIdentifiers", metadataPrefix="oai_dc", set="ATLAS", **{"from": "2016-01-01"})
    )
    atlas = {h.findtext(f"{OAI}identifier") for page in days for h in headers(page)}
    wanted = {
        f"oai:cernopendata.cern:{r}"
        for r, f in fixtures.items()
        if "ATLAS" in f["experiment"] and fixture_stamps(f)[1] >= datetime.fromisoformat("2016-01-01T00:00:00Z")
    }
    assert atlas == wanted and wanted


def test_tokens_expire_and_an_edit_moves_the_datestamp(
    sandbox: RunningSandbox, fixtures: dict[str, dict[str, Any]]
) -> None:
    first = etree.fromstring(get(sandbox, "edited", verb="ListIdentifiers", metadataPrefix="oai_dc").content)
    token = first.find(f".//{OAI}resumptionToken")
    assert token is not None and token.text
    expires = datetime.fromisoformat(token.get("expirationDate", "").replace("Z", "+00:00"))
    responded = datetime.fromisoformat((first.findtext(f"{OAI}responseDate") or "").replace("Z", "+00:00"))
    assert 55 <= (expires - responded).total_seconds() <= 65  # invenio's default: 60 s
    httpx.post(sandbox.urls["edited"] + "/_sandbox/expire-tokens", json={}, timeout=10).raise_for_status()
    refused = get(sandbox, "edited", verb="ListIdentifiers", resumptionToken=token.text)
    assert refused.status_code == 422 and b'code="badResumptionToken"' in refused.content

    identifier = "oai:cernopendata.cern:416"
    edit = httpx.post(sandbox.urls["edited"] + "/_sandbox/edit", json={"ids": [identifier]}, timeout=10)
    edit.raise_for_status()
    answer = etree.fromstring(
        get(sandbox, "edited", verb="GetRecord", identifier=identifier, metadataPrefix="oai_dc").content
    )
    stamp = answer.findtext(f".//{OAI}datestamp") or ""
    assert stamp > fixture_stamps(fixtures["416"])[1].strftime("%Y-%m-%dT%H:%M:%SZ")
    assert "Metadata revision 1" in (answer.findtext(f".//{DC}description") or "")
    since = get(sandbox, "edited", verb="ListIdentifiers", metadataPrefix="oai_dc", **{"from": stamp})
    assert [h.findtext(f"{OAI}identifier") for h in headers(etree.fromstring(since.content))] == [identifier]

    gone = httpx.post(sandbox.urls["edited"] + "/_sandbox/delete", json={"ids": [identifier]}, timeout=10)
    gone.raise_for_status()
    deleted = etree.fromstring(
        get(sandbox, "edited", verb="GetRecord", identifier=identifier, metadataPrefix="oai_dc").content
    )
    header = deleted.find(f".//{OAI}header")
    assert header is not None and header.get("status") == "deleted"
    assert deleted.find(f".//{OAI}metadata") is None


def test_a_million_generated_records_answer_at_once(sandbox: RunningSandbox, schema: etree.XMLSchema) -> None:
    sets = etree.fromstring(get(sandbox, "generated", verb="ListSets").content)
    specs = [s.text or "" for s in sets.iter(f"{OAI}setSpec")]
    assert {"CMS", "DELPHI", "ATLAS", "ALICE", "JADE", "LHCb", "OPERA"} <= set(specs)
    whole = etree.fromstring(get(sandbox, "generated", verb="ListRecords", metadataPrefix="oai_dc").content)
    assert schema.validate(whole), schema.error_log.last_error
    token = whole.find(f".//{OAI}resumptionToken")
    assert token is not None and token.get("completeListSize") == "1000000"
    sizes: Counter[str] = Counter()
    for spec in specs:
        root = etree.fromstring(
            get(sandbox, "generated", verb="ListIdentifiers", metadataPrefix="oai_dc", set=spec).content
        )
        token = root.find(f".//{OAI}resumptionToken")
        sizes[spec] = int(token.get("completeListSize", "0")) if token is not None else len(headers(root))
    assert sum(sizes.values()) == 1_000_000  # one experiment per generated record
    assert sizes["CMS"] > sizes["DELPHI"] > sizes["ATLAS"] > sizes["LHCb"]
    # the last record, rebuilt from its index alone, through the next pages of a listing
    following = whole.findtext(f".//{OAI}resumptionToken") or ""
    page = etree.fromstring(get(sandbox, "generated", verb="ListRecords", resumptionToken=following).content)
    assert schema.validate(page) and len(page.findall(f".//{OAI}record")) == 10
    last = "oai:cernopendata.cern:" + str(1 + 999_999 + 5 * (999_999 // 64))
    record = get(sandbox, "generated", verb="GetRecord", identifier=last, metadataPrefix="oai_dc")
    root = etree.fromstring(record.content)
    assert schema.validate(root), schema.error_log.last_error
    assert root.findtext(f".//{DC}identifier") == last and root.findtext(f".//{DC}publisher") == "CERN Open Data"
