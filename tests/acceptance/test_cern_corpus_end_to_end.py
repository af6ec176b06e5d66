"""Issue #2 acceptance 1 and 4 on the real CERN Open Data corpus, through the whole pipeline.

All 7,443 corpus records go through the sandbox replica of /api/records, the connector, the mapper and the gate into
the catalogue and the index: zero errors, every DOI, recid, experiment, file, collision energy and type reaches the
model, and facet counts per experiment equal the corpus's own counts. Then the incremental rules: a second harvest
with nothing changed writes nothing and fetches no record; 10 edits give exactly 10 updates; 5 removals 5 tombstones.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lakes import edit, harvest_all, replica_requests, sources_of

from dmlake.lake import Lake
from harvester.harvest import Harvester
from indexer.query import Query
from ontology import IdentifierScheme
from sandbox.replicas.cernopendata import CernOpenDataReplica
from sandbox.server import RunningSandbox, start

pytestmark = pytest.mark.xdist_group("cern-corpus")
RECORD_FETCH = re.compile(r"^/api/records/\d+$")


def corpus_records(corpus: Path) -> list[dict[str, Any]]:
    records = []
    for path in sorted((corpus / "cernopendata" / "records").glob("*.json")):
        records.extend(json.loads(path.read_text()))
    return records


@pytest.fixture(scope="module")
def fixtures(corpus: Path) -> dict[str, dict[str, Any]]:
    return {str(r["recid"]): r for r in corpus_records(corpus)}


@pytest.fixture(scope="module")
def running(corpus: Path) -> Iterator[RunningSandbox]:
    replica = CernOpenDataReplica.from_corpus(corpus)
    assert replica is not None
    with start({"cernopendata": replica}) as served:
        yield served


@pytest.fixture(scope="module")
def lake(running: RunningSandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lake]:
    the_lake = Lake.open(tmp_path_factory.mktemp("cern-home"))
    config = sources_of(running, cernopendata="concurrency = 8")
    reports = harvest_all(the_lake, config)
    the_lake.first_report = reports["cernopendata"]  # type: ignore[attr-defined]
    yield the_lake
    the_lake.close()


def test_whole_corpus_harvested_with_zero_errors(lake: Lake, fixtures: dict[str, dict[str, Any]]) -> None:
    report = lake.first_report  # type: ignore[attr-defined]
    assert report.state == "succeeded", report.message
    assert (report.counts.errored, report.counts.quarantined) == (0, 0)
    assert report.counts.added == len(fixtures) == 7443
    assert lake.catalogue.quarantined() == []
    assert lake.catalogue.count("cernopendata") == 7443
    assert lake.index.count() == 7443


def test_every_identifier_file_and_collision_reaches_the_model(lake: Lake, fixtures: dict[str, dict[str, Any]]) -> None:
    missing: list[str] = []
    for stored in lake.catalogue.iter_records("cernopendata"):
        record, source = stored.record, fixtures[stored.native_id]
        if record.identifier(IdentifierScheme.CERN_RECID) != str(source["recid"]):
            missing.append(f"{stored.native_id}: recid")
        if "doi" in source and (record.doi or "").lower() != source["doi"].lower():
            missing.append(f"{stored.native_id}: doi {source['doi']}")
        wanted_experiments = set(source["experiment"])
        if {e.raw for e in record.experiments} != wanted_experiments:
            missing.append(f"{stored.native_id}: experiments {wanted_experiments}")
        files = {(f["uri"], f["size"], f["checksum"].lower()) for f in source.get("files", [])}
        mapped = {(d.access_url or d.url, d.size_bytes, str(d.checksum)) for d in record.distributions}
        if not files <= mapped:
            missing.append(f"{stored.native_id}: files {sorted(files - mapped)[:2]}")
        collision = source.get("collision_information") or {}
        if collision.get("type"):
            kind = record.collision.type if record.collision else None
            if kind is None or kind.raw != collision["type"]:
                missing.append(f"{stored.native_id}: collision type {collision['type']}")
        energy = collision.get("energy")
        single = re.fullmatch(r"([\d.]+)\s*([GT]eV)", energy or "")
        if single:
            sqrt_s = record.collision.sqrt_s if record.collision else None
            wanted = (float(single.group(1)), single.group(2))
            if sqrt_s is None or (sqrt_s.value, sqrt_s.unit) != wanted or sqrt_s.raw != energy:
                missing.append(f"{stored.native_id}: energy {energy}")
    assert missing == []


def test_experiment_facet_counts_equal_the_corpus_counts(lake: Lake, fixtures: dict[str, dict[str, Any]]) -> None:
    expected = Counter(e for r in fixtures.values() for e in r["experiment"])
    result = lake.search(Query.parse("", facets=["experiment"], size=0))
    assert result.total == 7443
    assert {v.value: v.count for v in result.facets["experiment"]} == dict(expected)
    assert dict(expected) == {"CMS": 6993, "ATLAS": 172, "ALICE": 161, "LHCb": 119, "DELPHI": 1}


def test_incremental_rules(lake: Lake, running: RunningSandbox) -> None:
    """Runs last in this module (pytest keeps file order): it changes the replica."""
    with lake.harvester() as harvester:
        run_incremental_rules(lake, running, harvester)


def run_incremental_rules(lake: Lake, running: RunningSandbox, harvester: Harvester) -> None:
    config = sources_of(running, cernopendata="concurrency = 8")
    source = config.sources["cernopendata"]
    replica_requests(running, "cernopendata", clear=True)
    seq = lake.catalogue.last_seq()

    nothing = harvester.harvest(source)
    assert (nothing.counts.added, nothing.counts.updated, nothing.counts.deleted) == (0, 0, 0)
    assert nothing.counts.unchanged == 7443
    assert lake.catalogue.last_seq() == seq, "a harvest with nothing changed wrote to the change feed"
    fetched = [r for r in replica_requests(running, "cernopendata", clear=True) if RECORD_FETCH.match(r["path"])]
    assert fetched == [], "the API has the stamps in its listing: no record should be fetched again"

    edited = edit(running, "cernopendata", "edit", count=10, seed=3)
    assert len(edited) == 10
    changed = harvester.harvest(source)
    assert (changed.counts.added, changed.counts.updated, changed.counts.deleted) == (0, 10, 0)
    fetched_ids = sorted(
        r["path"].rsplit("/", 1)[1]
        for r in replica_requests(running, "cernopendata", clear=True)
        if RECORD_FETCH.match(r["path"])
    )
    assert fetched_ids == sorted(edited)
    assert lake.catalogue.last_seq() == seq + 10

    removed = edit(running, "cernopendata", "delete", count=5, seed=7)
    assert len(removed) == 5
    gone = harvester.harvest(source)
    assert (gone.counts.added, gone.counts.updated, gone.counts.deleted) == (0, 0, 5)
    assert lake.catalogue.last_seq() == seq + 15
    lake.update_index()
    assert lake.index.count() == 7438
    for native_id in removed:
        stored = lake.catalogue.find("cernopendata", native_id)
        assert stored is not None and stored.tombstone is not None
    kept = lake.search(Query.parse("", filters=[f"identifier={edited[0]}"], size=5))
    assert [h.id.rsplit("/", 1)[1] for h in kept.hits] == [edited[0]]
    after = lake.search(Query.parse("", filters=[f"identifier={removed[0]}"], size=5))
    assert after.total == 0
