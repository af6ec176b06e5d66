"""The OAI-PMH connector against the sandbox's OAI-PMH replicas: listing, sets, incremental runs, deletions,
expired resumption tokens, errors answered with HTTP 422, and resuming from a checkpoint after a kill."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from lxml import etree

from connectors.base import HarvestState, Limits, Page, SourceSpec
from connectors.http import HttpClient
from connectors.oaipmh import OaiConfigurationError, OaiPmhConnector
from connectors.oaipmh_protocol import parse_datestamp
from sandbox.replicas.oaipmh import revise
from sandbox.replicas.oaipmh_zenodo import ZENODO, GeneratedZenodoBase, ZenodoOaiReplica, load_corpus
from sandbox.server import RunningSandbox, start
from sandbox.store import ReplicaStore

GENERATED = 537  # 11 pages of 50, the last one short


@pytest.fixture(scope="module")
def sandbox(corpus: Path) -> Iterator[RunningSandbox]:
    replicas = {
        "corpus": ZenodoOaiReplica.from_corpus(corpus),
        "generated": ZenodoOaiReplica.generated(GENERATED, seed=3),
        # a repository that lists by datestamp (most do; Zenodo does not): resuming from a datestamp loses nothing
        "ordered": ZenodoOaiReplica(
            ReplicaStore(GeneratedZenodoBase(GENERATED, seed=3), revise), replace(ZENODO, order="datestamp")
        ),
    }
    with start({k: v for k, v in replicas.items() if v is not None}) as running:
        yield running


@pytest.fixture
def http() -> Iterator[HttpClient]:
    with HttpClient(Limits(requests_per_minute=None, max_retries=2), max_backoff=0.5) as client:
        yield client


def connector(running: RunningSandbox, name: str, http: HttpClient, **options: Any) -> OaiPmhConnector:
    spec = SourceSpec(name=f"{name}-oai", kind="oaipmh", url=running.urls[name] + "/oai2d", options=options)
    return OaiPmhConnector(spec, http)


def harvest(c: OaiPmhConnector, state: HarvestState | None = None) -> list[Page]:
    return list(c.pages(state or HarvestState()))


def record_ids(pages: list[Page]) -> list[str]:
    return [r.native_id for p in pages for r in p.records]


def admin(running: RunningSandbox, name: str, route: str, body: Any = None) -> Any:
    response = httpx.post(f"{running.urls[name]}/_sandbox/{route}", json=body or {}, timeout=30)
    response.raise_for_status()
    return response.json()


def requests_of(running: RunningSandbox, name: str, clear: bool = False) -> list[dict[str, Any]]:
    url = f"{running.urls[name]}/_sandbox/requests"
    entries: list[dict[str, Any]] = httpx.get(url, timeout=30).json()
    if clear:
        httpx.delete(url, timeout=30)
    return entries


def listing_requests(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in entries if "verb=ListRecords" in e["query"]]


def test_corpus_full_listing_delivers_every_recorded_record_and_deletion(
    sandbox: RunningSandbox, http: HttpClient, corpus: Path
) -> None:
    recorded = load_corpus(corpus) or []
    with_dc = {r.identifier for r in recorded if "oai_dc" in r.bodies}
    deleted = {r.identifier for r in recorded if r.deleted and "oai_dc" in r.bodies}
    assert len(with_dc) == 216 and len(deleted) >= 2
    pages = harvest(connector(sandbox, "corpus", http, profile="zenodo"))
    ids = record_ids(pages)
    assert len(ids) == len(set(ids))
    assert set(ids) == with_dc - deleted
    assert {d.native_id for p in pages for d in p.deletions} == deleted
    assert pages[-1].listing_complete and not any(p.listing_complete for p in pages[:-1])
    raw = pages[0].records[0]
    assert raw.media_type == "application/xml; oai-profile=zenodo"
    assert raw.url.startswith(sandbox.urls["corpus"] + "/oai2d?verb=GetRecord&identifier=oai%3Azenodo.org%3A")
    root = etree.fromstring(raw.payload)
    assert root.tag == "{http://www.openarchives.org/OAI/2.0/}record"
    assert root.findtext(
        "{http://www.openarchives.org/OAI/2.0/}header/{http://www.openarchives.org/OAI/2.0/}identifier"
    ) == (raw.native_id)
    metadata = root.find("{http://www.openarchives.org/OAI/2.0/}metadata")
    assert metadata is not None and etree.QName(metadata[0]).namespace == "http://www.openarchives.org/OAI/2.0/oai_dc/"
    assert raw.source_updated is not None and parse_datestamp(raw.source_updated).year >= 2014


def test_oai_datacite_wraps_the_recorded_datacite_kernel(
    sandbox: RunningSandbox, http: HttpClient, corpus: Path
) -> None:
    recorded = load_corpus(corpus) or []
    with_datacite = {r.identifier for r in recorded if "datacite" in r.bodies}
    deleted = {r.identifier for r in recorded if r.deleted}  # deleted headers are listed in every format
    pages = harvest(connector(sandbox, "corpus", http, profile="zenodo", metadata_prefix="oai_datacite"))
    assert len(with_datacite) == 54
    assert set(record_ids(pages)) == with_datacite - deleted
    assert {d.native_id for p in pages for d in p.deletions} == deleted
    for raw in pages[0].records:
        root = etree.fromstring(raw.payload)
        payload = root.find(".//{http://schema.datacite.org/oai/oai-1.1/}payload")
        assert payload is not None and payload[0].tag == "{http://datacite.org/schema/kernel-4}resource"


def test_list_identifiers_mode_fetches_each_record_and_reports_headers_without_metadata(
    sandbox: RunningSandbox, http: HttpClient, corpus: Path
) -> None:
    recorded = load_corpus(corpus) or []
    bare = {r.identifier for r in recorded if "oai_dc" in r.listed and not r.bodies}
    pages = harvest(connector(sandbox, "corpus", http, profile="zenodo", mode="identifiers"))
    failures = {f.native_id: f.message for p in pages for f in p.failures}
    assert set(failures) == bare and len(bare) > 100
    assert all("cannotDisseminateFormat" in m for m in failures.values())
    live = {r.identifier for r in recorded if "oai_dc" in r.bodies and not r.deleted}
    assert set(record_ids(pages)) == live
    # a record fetched by GetRecord is the same element ListRecords gives
    listed = {r.native_id: r.payload for r in harvest(connector(sandbox, "corpus", http, profile="zenodo"))[0].records}
    fetched = {r.native_id: r.payload for p in pages for r in p.records}
    common = set(listed) & set(fetched)
    assert common and all(listed[i] == fetched[i] for i in common)


def test_unknown_prefix_and_unknown_set_are_configuration_errors(sandbox: RunningSandbox, http: HttpClient) -> None:
    with pytest.raises(OaiConfigurationError, match=r"does not offer metadataPrefix 'marc99'.*oai_datacite"):
        harvest(connector(sandbox, "corpus", http, metadata_prefix="marc99"))
    with pytest.raises(OaiConfigurationError, match="no set 'user-nonexistent'"):
        harvest(connector(sandbox, "generated", http, sets=["user-nonexistent"]))
    with pytest.raises(ValueError, match=r"options\.mode"):
        connector(sandbox, "generated", http, mode="everything")


def test_no_records_match_is_an_empty_listing(sandbox: RunningSandbox, http: HttpClient) -> None:
    """Zenodo answers an empty range with HTTP 422 noRecordsMatch: an empty result, not a failed run."""
    c = connector(sandbox, "generated", http, overlap_minutes=0)
    state = HarvestState(previous={"scope": c.options.scope(), "watermark": "2099-01-01T00:00:00Z"})
    requests_of(sandbox, "generated", clear=True)
    pages = harvest(c, state)
    assert record_ids(pages) == [] and not pages[-1].listing_complete
    statuses = [e["status"] for e in listing_requests(requests_of(sandbox, "generated"))]
    assert statuses == [422]


def test_sets_are_harvested_in_turn_and_a_record_in_two_sets_counted_once(
    sandbox: RunningSandbox, http: HttpClient
) -> None:
    replica = sandbox.replicas["generated"]
    assert isinstance(replica, ZenodoOaiReplica)
    base = replica.oai_base
    in_community = {base.native_id(i) for i in range(GENERATED) if "user-escape2020" in base.sets_of(i)}
    in_data = {base.native_id(i) for i in range(GENERATED) if "openaire_data" in base.sets_of(i)}
    assert in_community & in_data and in_community - in_data
    ids = record_ids(harvest(connector(sandbox, "generated", http, sets=["user-escape2020", "openaire_data"])))
    assert len(ids) == len(set(ids))
    assert set(ids) == in_community | in_data


def test_expired_token_mid_harvest_refetches_at_most_one_page_and_loses_nothing(
    sandbox: RunningSandbox, http: HttpClient
) -> None:
    c = connector(sandbox, "ordered", http)
    requests_of(sandbox, "ordered", clear=True)
    delivered: list[str] = []
    pages = c.pages(HarvestState())
    for number, page in enumerate(pages):
        delivered += [r.native_id for r in page.records]
        if number == 3:
            admin(sandbox, "ordered", "expire-tokens")
    log = listing_requests(requests_of(sandbox, "ordered"))
    assert set(delivered) == {f"oai:zenodo.org:{40_000_000 + 2 * i}" for i in range(GENERATED)}
    assert len(delivered) - GENERATED <= 50  # at most one page listed twice
    refused = [e for e in log if e["status"] == 422]
    assert len(refused) == 1 and "resumptionToken=" in refused[0]["query"]
    restarted = log[log.index(refused[0]) + 1]
    assert "from=" in restarted["query"] and "resumptionToken" not in restarted["query"]
    assert len([e for e in log if e["status"] == 200]) <= GENERATED // 50 + 2


def test_unordered_listing_with_expired_token_keeps_the_watermark_and_infers_no_deletions(
    sandbox: RunningSandbox, http: HttpClient
) -> None:
    """Zenodo lists in index order: resuming from a datestamp may skip records, so the run claims nothing."""
    c = connector(sandbox, "corpus", http, profile="zenodo")
    pages: list[Page] = []
    for number, page in enumerate(c.pages(HarvestState())):
        pages.append(page)
        if number == 1:
            admin(sandbox, "corpus", "expire-tokens")
    final = pages[-1]
    assert final.checkpoint["lossy"] is True
    assert not final.listing_complete
    assert final.checkpoint["watermark"] is None  # the next run lists everything again


def test_incremental_run_lists_only_what_changed_and_reports_deletions(
    sandbox: RunningSandbox, http: HttpClient
) -> None:
    c = connector(sandbox, "generated", http, overlap_minutes=0)
    first = harvest(c)
    assert len(record_ids(first)) == GENERATED
    final = first[-1].checkpoint
    assert final["phase"] == "done" and final["watermark"]
    edited = admin(sandbox, "generated", "edit", {"ids": ["oai:zenodo.org:40000008", "oai:zenodo.org:40000300"]})
    gone = admin(sandbox, "generated", "delete", {"ids": ["oai:zenodo.org:40000012"]})
    assert (len(edited["edited"]), len(gone["deleted"])) == (2, 1)  # ids of records the replica serves
    requests_of(sandbox, "generated", clear=True)
    second = harvest(c, HarvestState(previous=final))
    assert sorted(record_ids(second)) == sorted(edited["edited"])
    assert [d.native_id for p in second for d in p.deletions] == gone["deleted"]
    assert not second[-1].listing_complete
    first_listing = listing_requests(requests_of(sandbox, "generated"))[0]["query"]
    assert "from=" in first_listing
    for raw in [r for p in second for r in p.records]:
        assert b"(revision 1)</dc:title>" in raw.payload


def test_day_granularity_sends_days(sandbox: RunningSandbox, http: HttpClient) -> None:
    c = connector(sandbox, "generated", http, granularity="YYYY-MM-DD", overlap_minutes=0)
    requests_of(sandbox, "generated", clear=True)
    state = HarvestState(previous={"scope": c.options.scope(), "watermark": "2020-03-04T05:06:07Z"})
    pages = harvest(c, state)
    query = listing_requests(requests_of(sandbox, "generated"))[0]["query"]
    assert "from=2020-03-04&" in query + "&"
    assert all(
        parse_datestamp(r.source_updated or "").date().isoformat() >= "2020-03-04" for p in pages for r in p.records
    )


def test_resume_after_a_kill_continues_after_the_last_committed_page(sandbox: RunningSandbox, http: HttpClient) -> None:
    c = connector(sandbox, "ordered", http)
    committed: list[str] = []
    checkpoint: dict[str, Any] = {}
    for number, page in enumerate(c.pages(HarvestState())):
        committed += [r.native_id for r in page.records]
        checkpoint = page.checkpoint
        if number == 4:
            break  # the process dies here: pages after this one were never committed
    assert checkpoint["token"]
    requests_of(sandbox, "ordered", clear=True)
    rest = harvest(connector(sandbox, "ordered", http), HarvestState(resume=checkpoint))
    ids = committed + record_ids(rest)
    everything = {f"oai:zenodo.org:{40_000_000 + 2 * i}" for i in range(GENERATED)}
    assert set(ids) == everything
    assert len(ids) == len(set(ids))  # the token was still valid: nothing listed twice
    first_listing = listing_requests(requests_of(sandbox, "ordered"))[0]["query"]
    assert "resumptionToken=" in first_listing
    # after a longer outage the checkpoint's token has expired: the listing restarts from its last datestamp
    admin(sandbox, "ordered", "expire-tokens")
    again = harvest(connector(sandbox, "ordered", http), HarvestState(resume=checkpoint))
    assert set(committed + record_ids(again)) == set(ids)
    assert len(record_ids(again)) - len(record_ids(rest)) <= 50
