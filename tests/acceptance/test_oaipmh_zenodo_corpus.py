"""Issue 3 acceptance 1: the recorded Zenodo OAI-PMH sessions, replayed by the sandbox, harvested through a Lake —
every record harvested, deleted headers become tombstones, the recorded 422 errors handled as that server sent them.
Also issue 3 acceptance 5 end to end: an expired resumption token mid-harvest through the real harvester."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from lakes import edit, harvest_all, replica_requests, sources_of

from dmlake.lake import Lake
from sandbox.replicas.oaipmh import revise
from sandbox.replicas.oaipmh_zenodo import ZENODO, GeneratedZenodoBase, ZenodoOaiReplica, load_corpus
from sandbox.server import RunningSandbox, start
from sandbox.store import ReplicaStore


@pytest.fixture(scope="module")
def running(corpus: Path) -> Iterator[RunningSandbox]:
    replica = ZenodoOaiReplica.from_corpus(corpus)
    assert replica is not None
    ordered = ZenodoOaiReplica(
        ReplicaStore(GeneratedZenodoBase(620, seed=5), revise), replace(ZENODO, order="datestamp")
    )
    with start({"zenodo-oai": replica, "ordered-oai": ordered}) as served:
        yield served


def test_recorded_sessions_harvest_every_record_and_deleted_headers_become_tombstones(
    running: RunningSandbox, corpus: Path, tmp_path: Path
) -> None:
    recorded = load_corpus(corpus) or []
    expected = {r.identifier for r in recorded if "oai_dc" in r.bodies and not r.deleted}
    lake = Lake.open(tmp_path / "home")
    try:
        config = sources_of(running)
        config.sources.pop("ordered-oai")
        report = harvest_all(lake, config)["zenodo-oai"]
        assert report.state == "succeeded", report.message
        stored = {s.native_id for s in lake.catalogue.iter_records("zenodo-oai")}
        quarantined = {q.native_id: q for q in lake.catalogue.quarantined("zenodo-oai")}
        assert stored | set(quarantined) == expected
        assert not quarantined, [(q.native_id, q.field, q.message) for q in quarantined.values()][:5]
        assert report.counts.added == len(expected) == lake.catalogue.count("zenodo-oai")

        # Zenodo's own deleted headers: a record the catalogue holds, later listed as deleted, is tombstoned
        gone = edit(running, "zenodo-oai", "delete", ids=sorted(expected)[:3])
        replica_requests(running, "zenodo-oai", clear=True)
        second = harvest_all(lake, config)["zenodo-oai"]
        assert second.state == "succeeded", second.message
        assert second.counts.deleted == 3
        for native_id in gone:
            row = next(s for s in lake.catalogue.iter_records("zenodo-oai", include_tombstones=True)
                       if s.native_id == native_id)  # fmt: skip
            assert row.tombstone is not None and 'status="deleted"' in row.tombstone
        assert lake.catalogue.count("zenodo-oai") == len(expected) - 3
        # the incremental run's requests were answered as Zenodo answers: HTTP 200 pages, and only ListRecords
        verbs = [e["query"].split("verb=")[1].split("&")[0] for e in replica_requests(running, "zenodo-oai")]
        assert verbs.count("Identify") == 1 and "ListRecords" in verbs
    finally:
        lake.close()


def test_recorded_errors_stop_a_misconfigured_run_with_a_clear_message(running: RunningSandbox, tmp_path: Path) -> None:
    lake = Lake.open(tmp_path / "home")
    try:
        text = running.sources_toml().replace('metadata_prefix = "oai_dc"', 'metadata_prefix = "XXX"', 1)
        from connectors import registry
        from harvester.config import parse

        config = parse(text, "<sandbox>", sorted(registry()))
        config.sources.pop("ordered-oai")
        report = harvest_all(lake, config)["zenodo-oai"]
        assert report.state == "failed"
        assert "does not offer metadataPrefix 'XXX'" in (report.message or "")
        assert "oai_datacite" in (report.message or "")
    finally:
        lake.close()


def test_expired_token_mid_harvest_through_the_harvester(running: RunningSandbox, tmp_path: Path) -> None:
    lake = Lake.open(tmp_path / "home")
    try:
        config = sources_of(running)
        config.sources.pop("zenodo-oai")
        url = running.urls["ordered-oai"]
        replica_requests(running, "ordered-oai", clear=True)
        pages_seen = 0

        def expire_after_third_page(progress: object) -> None:
            nonlocal pages_seen
            pages_seen += 1
            if pages_seen == 3:
                httpx.post(f"{url}/_sandbox/expire-tokens", json={}, timeout=10).raise_for_status()

        with lake.harvester() as harvester:
            harvester.batch_records = 1  # progress after every page: the tokens expire after the third one
            report = harvester.harvest(config.sources["ordered-oai"], on_progress=expire_after_third_page)
        assert report.state == "succeeded", report.message
        assert lake.catalogue.count("ordered-oai") + len(lake.catalogue.quarantined("ordered-oai")) == 620
        log = [e for e in replica_requests(running, "ordered-oai") if "verb=ListRecords" in e["query"]]
        assert [e["status"] for e in log].count(422) == 1
        assert len([e for e in log if e["status"] == 200]) <= 620 // 50 + 2  # at most one page fetched twice
    finally:
        lake.close()
