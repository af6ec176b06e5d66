"""The SPARQL 1.1 Protocol endpoint (`/sparql`) and `dmlake sparql`: formats by name and by Accept, GET and both
POST forms, read-only, clear errors; the graph catches up with the feed before answering."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
import rdflib
from cli import dmlake
from fastapi.testclient import TestClient
from lakes import harvest_all, sources_of

from dmlake.lake import Lake
from portal.app import create_app
from sandbox import build_replicas
from sandbox.server import start

REPO = Path(__file__).resolve().parents[2]
TITLES = "SELECT ?d ?title WHERE { ?d a dcat:Dataset ; dct:title ?title } ORDER BY ?d"
CONSTRUCT = "CONSTRUCT { ?d dct:title ?title } WHERE { ?d a dcat:Dataset ; dct:title ?title }"


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lake]:
    the_lake = Lake.open(tmp_path_factory.mktemp("sparql-home"))
    with start(build_replicas(generate=30, seed=3, kinds=["zenodo"])) as running:
        reports = harvest_all(the_lake, sources_of(running))
    assert all(r.state == "succeeded" for r in reports.values()), reports
    yield the_lake
    the_lake.close()


@pytest.fixture(scope="module")
def client(lake: Lake) -> TestClient:
    return TestClient(create_app(lake))


def titles_of(lake: Lake) -> dict[str, str]:
    return {stored.id: stored.record.title for stored in lake.catalogue.iter_records()}


def test_select_answers_json_by_default_and_every_result_format(client: TestClient, lake: Lake) -> None:
    response = client.get("/sparql", params={"query": TITLES})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/sparql-results+json")
    bindings = response.json()["results"]["bindings"]
    assert {b["d"]["value"]: b["title"]["value"] for b in bindings} == titles_of(lake)

    as_csv = client.get("/sparql", params={"query": TITLES}, headers={"Accept": "text/csv"})
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert {row["d"]: row["title"] for row in rows} == titles_of(lake)
    for fmt, media in (("xml", "application/sparql-results+xml"), ("tsv", "text/tab-separated-values")):
        answered = client.get("/sparql", params={"query": TITLES, "format": fmt})
        assert answered.status_code == 200 and answered.headers["content-type"].startswith(media)
    ask = client.get("/sparql", params={"query": "ASK { ?d a dcat:Dataset }"})
    assert ask.json()["boolean"] is True


def test_construct_answers_rdf_by_accept(client: TestClient, lake: Lake) -> None:
    accept = {"Accept": "application/n-triples;q=0.9, text/turtle"}
    response = client.get("/sparql", params={"query": CONSTRUCT}, headers=accept)
    assert response.headers["content-type"].startswith("text/turtle")
    graph = rdflib.Graph().parse(data=response.text, format="turtle")
    assert {str(s): str(o) for s, _, o in graph} == titles_of(lake)
    nt = client.get("/sparql", params={"query": CONSTRUCT, "format": "ntriples"})
    assert len(rdflib.Graph().parse(data=nt.text, format="nt")) == len(graph)


def test_post_forms_and_errors(client: TestClient, lake: Lake) -> None:
    direct = client.post("/sparql", content=TITLES, headers={"Content-Type": "application/sparql-query"})
    form = client.post("/sparql", content=urlencode({"query": TITLES}),
                       headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert direct.json() == form.json() and len(direct.json()["results"]["bindings"]) == len(titles_of(lake))
    assert client.post("/sparql", content=TITLES, headers={"Content-Type": "text/plain"}).status_code == 415
    broken = client.get("/sparql", params={"query": "SELECT ?x WHERE { ?x"})
    assert broken.status_code == 400 and "not a SPARQL 1.1 query" in broken.json()["error"]
    update = client.post("/sparql", content="INSERT DATA { <urn:a> <urn:b> <urn:c> }",
                         headers={"Content-Type": "application/sparql-query"})  # fmt: skip
    assert update.status_code == 400
    assert client.get("/sparql", params={"query": "ASK { <urn:a> <urn:b> <urn:c> }"}).json()["boolean"] is False
    wrong = client.get("/sparql", params={"query": TITLES, "format": "turtle"})
    assert wrong.status_code == 406 and "SELECT/ASK answers come as" in wrong.json()["error"]


def test_cli_sparql_table_and_json(lake: Lake) -> None:
    titles = titles_of(lake)
    lake.release_graph()  # the CLI is another process: it needs the graph store to itself
    table = dmlake(lake.home.path, "sparql", TITLES)
    assert f"{len(titles)} row(s)" in table.stderr
    assert all(title[:20] in table.stdout for title in titles.values())
    as_json = dmlake(lake.home.path, "sparql", "--format", "json", TITLES)
    assert {b["d"]["value"]: b["title"]["value"] for b in json.loads(as_json.stdout)["results"]["bindings"]} == titles
    bad = dmlake(lake.home.path, "sparql", "SELECT ?x WHERE {", check=False)
    assert bad.returncode == 2 and "not a SPARQL 1.1 query" in " ".join(bad.stderr.split())
