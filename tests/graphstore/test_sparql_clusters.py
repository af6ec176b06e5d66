"""SPARQL counts datasets as the search does: each record's graph names its identity cluster (`dml:cluster`), the
documented questions (`graphstore.examples`) count clusters as datasets and records as records, merges and splits
reach the graph through the change feed, and a graph written before it kept clusters is rewritten once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fake_source import FakeConnector
from fake_sources import Lab

from connectors.base import RawRecord
from dmlake.lake import Lake
from graphstore.clusters import clustered_graph, rebuild_clustered_graph
from graphstore.examples import MULTI_MESSENGER, QUESTIONS, TOTALS
from indexer.query import Query
from ontology import record_id
from ontology.model import EnergyRange, Record
from ontology.vocabulary import concept


class PhysicsConnector(FakeConnector):
    """The fake kind, with a messenger, an experiment and an energy range from the item."""

    @classmethod
    def map_record(cls, raw: RawRecord, source: str) -> Record:
        record = super().map_record(raw, source)
        data = orjson.loads(raw.payload)
        if "messenger" in data:
            record.messengers = [concept("messenger", data["messenger"])]
        if "experiment" in data:
            record.experiments = [concept("experiment", data["experiment"])]
        if "energy" in data:
            low, high, unit = data["energy"]
            record.energy_range = EnergyRange(min=low, max=high, unit=unit)
        return record


def item(native_id: str, doi: str | None = None, **physics: Any) -> dict[str, Any]:
    return {"id": native_id, **({"dois": [doi]} if doi else {}), **physics}


NEUTRINO_TEV: dict[str, Any] = {"messenger": "neutrino", "experiment": "IceCube", "energy": (5.0, 50.0, "TeV")}
PHOTON_GEV: dict[str, Any] = {
    "messenger": "photon",
    "experiment": "Fermi-LAT",
    "energy": (0.1, 300.0, "GeV"),
}  # below 1 TeV


@pytest.fixture
def lab_lake(tmp_path: Path) -> Iterator[tuple[Lake, Lab]]:
    lake = Lake.open(tmp_path / "home")
    lab = Lab(lake.catalogue)
    # two sources holding the same datasets (same DOIs): 3 datasets in both, 1 only in each; 8 records, 5 datasets
    lab.source(
        "rest",
        [
            item("1", "10.1234/a", **NEUTRINO_TEV),
            item("2", "10.1234/b", **NEUTRINO_TEV),
            item("3", "10.1234/c", **PHOTON_GEV),
            item("4", **NEUTRINO_TEV),
        ],
        base=PhysicsConnector,
    )
    lab.source(
        "oai",
        [
            item("a", "10.1234/a", **NEUTRINO_TEV),
            item("b", "10.1234/b", **NEUTRINO_TEV),
            item("c", "10.1234/c", **PHOTON_GEV),
            item("d", **PHOTON_GEV),
        ],
        base=PhysicsConnector,
    )
    lab.harvest()
    yield lake, lab
    lake.close()


def answer(lake: Lake, text: str) -> list[dict[str, str]]:
    graph = clustered_graph(lake)
    lake.update_graph()
    body = orjson.loads(graph.answer(text, "json", None, timeout=60).body)
    return [{name: value["value"] for name, value in row.items()} for row in body["results"]["bindings"]]


def search_total(lake: Lake) -> int:
    lake.update_index()
    return lake.search(Query.parse("", size=0)).total


def test_every_record_names_its_cluster_and_datasets_count_as_search_hits(lab_lake: tuple[Lake, Lab]) -> None:
    lake, lab = lab_lake
    [totals] = answer(lake, TOTALS)
    assert (int(totals["records"]), int(totals["datasets"])) == (8, 5)
    assert int(totals["datasets"]) == search_total(lake)
    rows = answer(lake, "SELECT ?record ?dataset WHERE { ?record dml:cluster ?dataset }")
    cluster_of = {row["record"]: row["dataset"] for row in rows}
    assert len(cluster_of) == 8
    for source, native_id in (("rest", "1"), ("oai", "a"), ("rest", "4"), ("oai", "d")):
        members = lab.members(source, native_id)
        assert cluster_of[record_id(source, native_id)] == members[0]  # the record speaking for the cluster
    assert cluster_of[record_id("rest", "4")] == record_id("rest", "4")  # matched nothing: its own cluster


def test_the_multi_messenger_question_counts_datasets_and_records(lab_lake: tuple[Lake, Lab]) -> None:
    lake, _ = lab_lake
    rows = answer(lake, MULTI_MESSENGER)
    # neutrinos at 5-50 TeV: rest 1, 2, 4 and oai a, b — 5 records of 3 datasets; the photons are below 1 TeV
    assert [(row["experiment"], int(row["datasets"]), int(row["records"])) for row in rows] == [("IceCube", 3, 5)]
    assert set(QUESTIONS.values()) == {MULTI_MESSENGER, TOTALS}
    for text in QUESTIONS.values():
        assert "?datasets" in text and "?records" in text and "counts datasets" in text


def test_a_split_and_a_merge_reach_the_graph_through_the_feed(lab_lake: tuple[Lake, Lab]) -> None:
    lake, lab = lab_lake
    assert answer(lake, TOTALS)[0]["datasets"] == "5"
    [link] = lake.catalogue.cluster(record_id("rest", "2")).links
    lake.catalogue.undo_link(link.id, "two releases that share a DOI by mistake")
    [totals] = answer(lake, TOTALS)
    assert (totals["records"], totals["datasets"]) == ("8", "6")
    assert int(totals["datasets"]) == search_total(lake)
    lab.stores["oai"].edit("d", dois=["10.1234/c"])  # d joins c's dataset
    lab.harvest("oai")
    [totals] = answer(lake, TOTALS)
    assert (totals["records"], totals["datasets"]) == ("8", "5")
    assert int(totals["datasets"]) == search_total(lake)


def test_a_graph_written_without_clusters_is_rewritten_once(lab_lake: tuple[Lake, Lab]) -> None:
    lake, _ = lab_lake
    lake.update_graph()  # as before clusters were kept: no dml:cluster anywhere
    assert answer_without_catch_up(lake, "SELECT (COUNT(*) AS ?n) WHERE { ?r dml:cluster ?c }") == "0"
    assert answer(lake, TOTALS)[0]["datasets"] == "5"
    assert lake.graph.keeps_clusters() and lake.graph.record_count() == 8
    assert rebuild_clustered_graph(lake) > 0
    assert answer(lake, TOTALS)[0] == {"records": "8", "datasets": "5"}


def answer_without_catch_up(lake: Lake, text: str) -> str:
    [row] = list(lake.graph.query(text))  # type: ignore[arg-type]
    return str(row[0].value)
