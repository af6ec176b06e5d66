"""The HEPData connector inside the real harvester (SQLite catalogue): runs, counts, version records, deletions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from connectors.base import Limits, SourceSpec
from connectors.hepdata import HEPDataConnector
from connectors.http import HttpClient
from harvester.catalogue import Catalogue
from harvester.config import Source
from harvester.harvest import Harvester
from sandbox.replicas.hepdata import HEPDataReplica
from sandbox.server import start


@pytest.fixture
def catalogue(tmp_path: Path) -> Iterator[Catalogue]:
    opened = Catalogue.open(f"sqlite:///{tmp_path / 'catalogue.sqlite'}")
    yield opened
    opened.close()


def test_corpus_and_generated_records_through_the_harvester(corpus: Path, catalogue: Catalogue) -> None:
    corpus_replica = HEPDataReplica.from_corpus(corpus)
    assert corpus_replica is not None
    replicas = {"corpus": corpus_replica, "generated": HEPDataReplica.generated(30, seed=8)}
    with start(replicas) as running, HttpClient(Limits(), sleep=lambda seconds: None) as http:
        harvester = Harvester(catalogue, http, {"hepdata": HEPDataConnector})
        sources = {n: Source(SourceSpec(n, "hepdata", running.urls[n]), True, 0.5, None) for n in replicas}

        report = harvester.harvest(sources["corpus"])
        assert (report.state, report.mode, report.counts.added, report.counts.errored) == ("succeeded", "full", 2, 0)
        assert report.counts.quarantined == 0
        again = harvester.harvest(sources["corpus"])
        assert (again.mode, again.counts.added, again.counts.updated, again.requests) == ("incremental", 0, 0, 1)

        first = harvester.harvest(sources["generated"])
        versions = first.counts.added
        assert first.counts.errored == first.counts.quarantined == 0 and versions > 30

        url = running.urls["generated"]
        edited = httpx.post(f"{url}/_sandbox/edit", json={"count": 4}, timeout=30).json()["edited"]
        earlier = sum(
            len(catalogue.known_stamps("generated", [f"ins{e.removeprefix('ins')}.v{v}" for v in range(1, 10)]))
            for e in edited
        )
        changed = harvester.harvest(sources["generated"])
        # a new version each; the earlier versions' pages now carry the newest version's record metadata, so they
        # are read again and updated where their mapping changed (their links), never anything else
        assert (changed.mode, changed.counts.added) == ("incremental", len(edited))
        assert len(edited) <= changed.counts.updated <= earlier
        settled = harvester.harvest(sources["generated"])
        assert (settled.counts.added, settled.counts.updated) == (0, 0)

        deleted = httpx.post(f"{url}/_sandbox/delete", json={"count": 3, "seed": 1}, timeout=30).json()["deleted"]
        gone_versions = sum(
            len(catalogue.known_stamps("generated", [f"{d}.v{v}" for v in range(1, 10)])) for d in deleted
        )
        full = harvester.harvest(sources["generated"], full=True)
        assert (full.state, full.counts.deleted) == ("succeeded", gone_versions)
        assert full.counts.unchanged == versions + len(edited) - gone_versions
