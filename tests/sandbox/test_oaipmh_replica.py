"""The OAI-PMH replicas: every answer valid against the OAI-PMH 2.0 XSD (with the metadata formats it serves), errors as
the recorded Zenodo server sent them, resumption tokens that expire, from/until, sets, cursor and completeListSize."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from lxml import etree
from oai_schema import oai_pmh_schema

from sandbox.replicas.oaipmh_kcdc import KcdcOaiReplica
from sandbox.replicas.oaipmh_zenodo import ZenodoOaiReplica, load_corpus
from sandbox.server import RunningSandbox, start

OAI = "{http://www.openarchives.org/OAI/2.0/}"


@pytest.fixture(scope="module")
def schema(standards: Path) -> etree.XMLSchema:
    return oai_pmh_schema(standards)


@pytest.fixture(scope="module")
def sandbox(corpus: Path) -> Iterator[RunningSandbox]:
    corpus_replica = ZenodoOaiReplica.from_corpus(corpus)
    assert corpus_replica is not None
    with start({"corpus": corpus_replica, "generated": ZenodoOaiReplica.generated(1_000_000, seed=1)}) as running:
        yield running


def get(running: RunningSandbox, name: str, **params: str) -> httpx.Response:
    return httpx.get(running.urls[name] + "/oai2d", params=params, timeout=60)


def walk(running: RunningSandbox, name: str, verb: str, **params: str) -> Iterator[etree._Element]:
    response = get(running, name, verb=verb, **params)
    while True:
        root = etree.fromstring(response.content)
        yield root
        token = root.find(f".//{OAI}resumptionToken")
        if token is None or not (token.text or "").strip():
            return
        response = get(running, name, verb=verb, resumptionToken=token.text or "")


def test_every_answer_of_the_corpus_replica_is_valid_oai_pmh(sandbox: RunningSandbox, schema: etree.XMLSchema) -> None:
    roots = [
        etree.fromstring(get(sandbox, "corpus", verb=verb).content) for verb in ("Identify", "ListMetadataFormats")
    ]
    roots += list(walk(sandbox, "corpus", "ListSets"))
    for prefix in ("oai_dc", "oai_datacite"):
        roots += list(walk(sandbox, "corpus", "ListRecords", metadataPrefix=prefix))
        roots += list(walk(sandbox, "corpus", "ListIdentifiers", metadataPrefix=prefix))
    record = get(sandbox, "corpus", verb="GetRecord", identifier="oai:zenodo.org:10357859", metadataPrefix="oai_dc")
    roots.append(etree.fromstring(record.content))
    invalid = []
    for root in roots:
        if not schema.validate(root):
            invalid.append((root.findtext(f"{OAI}request"), str(schema.error_log.last_error)))
    assert invalid == []
    assert len(roots) > 12


def test_generated_answers_are_valid_in_every_format(sandbox: RunningSandbox, schema: etree.XMLSchema) -> None:
    for prefix in ("oai_dc", "oai_datacite", "datacite"):
        response = get(sandbox, "generated", verb="ListRecords", metadataPrefix=prefix, set="user-escape2020")
        root = etree.fromstring(response.content)
        assert schema.validate(root), schema.error_log.last_error
        assert len(root.findall(f".//{OAI}record")) == 50


def test_errors_are_answered_as_the_recorded_zenodo_server_answered(sandbox: RunningSandbox, corpus: Path) -> None:
    folder = corpus / "zenodo/oai/extracted"
    recorded = [e for e in json.loads((folder / "INDEX.json").read_text()) if e["status"] == 422]
    assert len(recorded) >= 20
    compared = 0
    for entry in recorded:
        query = httpx.URL(entry["uri"]).params
        params = dict(query)
        if "resumptionToken" in params:
            params["resumptionToken"] = "expired-or-foreign-token"
        if "from" in params:  # the replica holds the 2026 recordings too: ask past all of them, as 2026's session did
            params["from"] = "2030-01-15"
        response = get(sandbox, "corpus", **params)
        assert response.status_code == 422, entry["file"]
        mine = etree.fromstring(response.content)
        theirs = etree.fromstring((folder / Path(entry["file"]).name).read_bytes())
        error, expected = mine.find(f"{OAI}error"), theirs.find(f"{OAI}error")
        assert error is not None and expected is not None
        assert (error.get("code"), error.text or "") == (expected.get("code"), expected.text or ""), entry["file"]
        assert mine.find(f"{OAI}request").attrib == theirs.find(f"{OAI}request").attrib
        compared += 1
    assert compared == len(recorded)


def test_listing_pages_carry_cursor_and_complete_list_size(sandbox: RunningSandbox, corpus: Path) -> None:
    live = [r for r in load_corpus(corpus) or [] if "oai_dc" in r.bodies]
    cursors, sizes, count = [], set(), 0
    for root in walk(sandbox, "corpus", "ListRecords", metadataPrefix="oai_dc"):
        token = root.find(f".//{OAI}resumptionToken")
        assert token is not None
        cursors.append(int(token.get("cursor", "-1")))
        sizes.add(int(token.get("completeListSize", "-1")))
        count += len(root.findall(f".//{OAI}record"))
    assert count == len(live) == 216
    assert sizes == {216}
    assert cursors == [0, 50, 100, 150, 200]


def test_tokens_expire_on_demand_and_by_age(sandbox: RunningSandbox) -> None:
    first = etree.fromstring(get(sandbox, "generated", verb="ListIdentifiers", metadataPrefix="oai_dc").content)
    token = (first.findtext(f".//{OAI}resumptionToken") or "").strip()
    assert get(sandbox, "generated", verb="ListIdentifiers", resumptionToken=token).status_code == 200
    httpx.post(sandbox.urls["generated"] + "/_sandbox/expire-tokens", json={}, timeout=10).raise_for_status()
    refused = get(sandbox, "generated", verb="ListIdentifiers", resumptionToken=token)
    assert refused.status_code == 422 and b'code="badResumptionToken"' in refused.content
    httpx.post(sandbox.urls["generated"] + "/_sandbox/expire-tokens", json={"lifetime": 0}, timeout=10)
    try:
        root = etree.fromstring(get(sandbox, "generated", verb="ListIdentifiers", metadataPrefix="oai_dc").content)
        token = (root.findtext(f".//{OAI}resumptionToken") or "").strip()
        aged = get(sandbox, "generated", verb="ListIdentifiers", resumptionToken=token)
        assert b'code="badResumptionToken"' in aged.content
    finally:
        httpx.post(sandbox.urls["generated"] + "/_sandbox/expire-tokens", json={"lifetime": 120}, timeout=10)
    mixed = get(sandbox, "generated", verb="ListRecords", resumptionToken=token, metadataPrefix="oai_dc")
    assert b"You have passed too many arguments." in mixed.content


def test_from_until_and_sets_select_by_datestamp_and_membership(sandbox: RunningSandbox) -> None:
    root = etree.fromstring(
        get(
            sandbox,
            "generated",
            verb="ListIdentifiers",
            metadataPrefix="oai_dc",
            set="user-escape2020",
            **{"from": "2020-06-01", "until": "2020-06-01"},
        ).content
    )
    headers = root.findall(f".//{OAI}header")
    assert headers
    for header in headers:
        assert (header.findtext(f"{OAI}datestamp") or "").startswith("2020-06-01")
        assert "user-escape2020" in [s.text for s in header.findall(f"{OAI}setSpec")]
    token = root.find(f".//{OAI}resumptionToken")
    size = int(token.get("completeListSize", "0")) if token is not None else len(headers)
    # the size counted by arithmetic equals the records of that day in the set, found one by one
    replica = sandbox.replicas["generated"]
    assert isinstance(replica, ZenodoOaiReplica)
    base = replica.oai_base
    day = [i for i in range(420_000, 440_000) if base.updated(i).date().isoformat() == "2020-06-01"]
    assert 400 < len(day) < 500  # a record every 180 s
    expected = [base.native_id(i) for i in day if "user-escape2020" in base.sets_of(i)]
    assert size == len(expected) and 0 < size < len(day)
    assert [h.findtext(f"{OAI}identifier") for h in headers] == expected[: len(headers)]
    mixed = {"from": "2020-06-01T00:00:00Z", "until": "2020-06-02"}
    bad = get(sandbox, "generated", verb="ListIdentifiers", metadataPrefix="oai_dc", **mixed)
    assert b'code="badArgument"' in bad.content


def test_a_set_without_members_is_no_records_match_at_once(sandbox: RunningSandbox) -> None:
    """A million records are not scanned to find that nothing is in a set Zenodo does not have."""
    response = get(sandbox, "generated", verb="ListRecords", metadataPrefix="oai_dc", set="user-cosine-100")
    assert response.status_code == 422 and b'code="noRecordsMatch"' in response.content


def test_deleted_records_are_headers_with_status_deleted(sandbox: RunningSandbox) -> None:
    identifier = "oai:zenodo.org:40000124"
    httpx.post(sandbox.urls["generated"] + "/_sandbox/delete", json={"ids": [identifier]}, timeout=10)
    root = etree.fromstring(
        get(sandbox, "generated", verb="GetRecord", identifier=identifier, metadataPrefix="oai_dc").content
    )
    header = root.find(f".//{OAI}header")
    assert header is not None and header.get("status") == "deleted"
    assert root.find(f".//{OAI}metadata") is None


def test_kcdc_prototype_serves_the_37_preselections_as_the_prototype_does(
    corpus: Path, schema: etree.XMLSchema
) -> None:
    replica = KcdcOaiReplica.from_corpus(corpus)
    assert replica is not None
    names = sorted(p.name.removesuffix(".md.xml") for p in (corpus / "kcdc/oai_dc_prototype_server/records").iterdir())
    with start({"kcdc-oai": replica, "generated": KcdcOaiReplica.generated(40)}) as running:
        url = running.urls["kcdc-oai"] + "/oai"
        root = etree.fromstring(httpx.get(url, params={"verb": "ListRecords", "metadataPrefix": "oai_dc"}).content)
        assert schema.validate(root), schema.error_log.last_error
        assert root.find(f".//{OAI}resumptionToken") is None  # one answer holds everything
        assert sorted(h.text or "" for h in root.iter(f"{OAI}identifier")) == names and len(names) == 37
        stamps = {h.text for h in root.iter(f"{OAI}datestamp")}
        assert all(len(s or "") == 10 for s in stamps)  # day granularity
        wrong = httpx.get(url, params={"verb": "ListRecords", "metadataPrefix": "marc"})
        assert wrong.status_code == 200 and b'code="cannotDisseminateFormat"' in wrong.content
        in_set = etree.fromstring(
            httpx.get(
                url, params={"verb": "ListIdentifiers", "metadataPrefix": "oai_dc", "set": "experimental:COMBINED"}
            ).content
        )
        assert {h.text for h in in_set.iter(f"{OAI}identifier")} == {n for n in names if n.split("_")[0] == "COMBINED"}
        generated = httpx.get(
            running.urls["generated"] + "/oai", params={"verb": "ListRecords", "metadataPrefix": "oai_dc"}
        )
        assert schema.validate(etree.fromstring(generated.content)), schema.error_log.last_error
