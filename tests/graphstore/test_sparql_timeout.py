"""A SPARQL query has a time limit: past it the worker process running it is killed (the work stops), and the
endpoint (`DMLAKE_SPARQL_TIMEOUT`, a 503) and `dmlake sparql --timeout` say so and what to do. Tested with a
deliberately slow query: every triple of the vocabularies joined with every other, twice (about 10^9 rows)."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from cli import dmlake
from fastapi.testclient import TestClient

from dmlake.lake import Lake
from graphstore import GraphStore
from graphstore.timed import DEFAULT_TIMEOUT, QueryTimeout
from ontology.model import Provenance, Record
from portal.app import create_app
from portal.sparql import TIMEOUT_VARIABLE, configured_timeout

SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
FAST = "SELECT (COUNT(*) AS ?n) WHERE { ?s a skos:Concept }"


@pytest.fixture
def graph(tmp_path: Path) -> Iterator[GraphStore]:
    store = GraphStore(tmp_path / "graph")
    yield store
    store.close()


def count(answer_body: bytes) -> int:
    return int(orjson.loads(answer_body)["results"]["bindings"][0]["n"]["value"])


def test_a_slow_query_is_stopped_at_its_limit_and_its_worker_killed(
    graph: GraphStore, caplog: pytest.LogCaptureFixture
) -> None:
    concepts = count(graph.answer(FAST, timeout=60).body)  # a worker is running now
    assert concepts > 100
    caplog.set_level(logging.WARNING, logger="graphstore.timed")
    started = time.monotonic()
    with pytest.raises(QueryTimeout) as stopped:
        graph.answer(SLOW, timeout=1.5, advice="raise --timeout")
    assert 1.5 <= time.monotonic() - started < 10
    assert str(stopped.value) == "query stopped after 1.5 s: narrow it or raise --timeout"
    [pid] = [int(n) for n in re.findall(r"worker (\d+) killed", caplog.text)]
    assert not Path(f"/proc/{pid}").exists()  # killed and reaped: the query no longer runs anywhere
    assert count(graph.answer(FAST, timeout=60).body) == concepts  # a new worker answers the next query


def test_a_snapshot_serves_queries_until_the_graph_changes(tmp_path: Path) -> None:
    graph = GraphStore(tmp_path / "graph")
    graph.answer(FAST, timeout=60)
    graph.answer(FAST, "csv", timeout=60)
    snapshots = tmp_path / "graph-snapshots"
    assert [p.name for p in snapshots.iterdir()] == ["1"]
    record = Record(
        id="https://w3id.org/dmlake/record/demo/1",
        source="demo",
        native_id="1",
        title="A dataset",
        provenance=Provenance(source="demo", source_kind="demo", raw_sha256="0" * 64, mapping_version="1"),
    )
    graph.index([record])
    graph.commit()
    titles = orjson.loads(graph.answer(f"SELECT ?t WHERE {{ <{record.id}> dct:title ?t }}", timeout=60).body)
    assert [row["t"]["value"] for row in titles["results"]["bindings"]] == ["A dataset"]
    assert [p.name for p in snapshots.iterdir()] == ["2"]  # the new one; the old one, unused, is gone
    graph.close()
    assert not snapshots.exists()


def test_the_endpoint_answers_503_after_its_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TIMEOUT_VARIABLE, "1")
    lake = Lake.open(tmp_path / "home")
    try:
        client = TestClient(create_app(lake))
        slow = client.get("/sparql", params={"query": SLOW})
        assert slow.status_code == 503
        assert slow.json() == {
            "error": f"query stopped after 1 s: narrow it or ask the service's operator to raise {TIMEOUT_VARIABLE}"
        }
        posted = client.post("/sparql", content=SLOW, headers={"content-type": "application/sparql-query"})
        assert posted.status_code == 503 and "query stopped after 1 s" in posted.json()["error"]
        fast = client.get("/sparql", params={"query": FAST, "format": "csv"})
        assert fast.status_code == 200 and fast.text.startswith("n\r\n") and int(fast.text.split()[1]) > 100
    finally:
        lake.close()


def test_the_limit_is_configured_in_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TIMEOUT_VARIABLE, raising=False)
    assert configured_timeout() == DEFAULT_TIMEOUT == 30.0
    monkeypatch.setenv(TIMEOUT_VARIABLE, "2.5")
    assert configured_timeout() == 2.5
    for wrong in ("0", "-3", "soon", "nan"):
        monkeypatch.setenv(TIMEOUT_VARIABLE, wrong)
        with pytest.raises(ValueError, match=f"{TIMEOUT_VARIABLE}=.*number of seconds above 0"):
            configured_timeout()


def test_the_cli_stops_a_slow_query_and_says_how_to_raise_the_limit(tmp_path: Path) -> None:
    from harvester import graph_cli

    assert graph_cli.DEFAULT_TIMEOUT == DEFAULT_TIMEOUT
    home = tmp_path / "home"
    Lake.open(home).close()
    started = time.monotonic()
    done = dmlake(home, "sparql", "--timeout", "1", SLOW, check=False)
    assert done.returncode == 2
    assert "error: query stopped after 1 s: narrow it or raise --timeout" in done.stderr
    assert time.monotonic() - started < 60
    table = dmlake(home, "sparql", "--timeout", "60", FAST)
    assert re.search(r"│\s*\d{3,}\s*│", table.stdout) and "1 row(s)" in table.stderr
    assert dmlake(home, "sparql", "ASK { ?s a skos:Concept }").stdout.strip() == "yes"
