"""`/api/suggest` completes vocabulary names ranked by what the catalogue holds; `/api/facets` counts without hits."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from lakes import harvest_all, sources_of

from dmlake.lake import Lake
from indexer.query import Query
from portal.app import create_app
from sandbox import build_replicas, start


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lake]:
    the_lake = Lake.open(tmp_path_factory.mktemp("suggest-home"))
    with start(build_replicas(generate=60, seed=4, kinds=["zenodo"])) as running:
        harvest_all(the_lake, sources_of(running))
    yield the_lake
    the_lake.close()


@pytest.fixture(scope="module")
def client(lake: Lake) -> TestClient:
    return TestClient(create_app(lake))


def test_experiments_are_completed_from_any_name_ranked_by_datasets_held(client: TestClient, lake: Lake) -> None:
    held = {f.value: f.count for f in lake.search(Query.parse("", facets=["experiment"], size=0)).facets["experiment"]}
    assert held, "the generated Zenodo records name experiments"
    answer = client.get("/api/suggest", params={"prefix": "x"}).json()
    labels = [s["label"] for s in answer["suggestions"]]
    assert "XENON" in labels
    assert all(s["count"] == held.get(s["label"], 0) for s in answer["suggestions"])
    everything = client.get("/api/suggest", params={"prefix": "", "size": 100})
    assert everything.status_code == 422  # a prefix is required
    for prefix in ("c", "l", "p", "d"):
        found = client.get("/api/suggest", params={"prefix": prefix, "size": 100}).json()["suggestions"]
        counts = [s["count"] for s in found]
        assert counts == sorted(counts, reverse=True), found  # what the catalogue holds comes first
    assert [
        s["label"] for s in client.get("/api/suggest", params={"prefix": "compact muon"}).json()["suggestions"]
    ] == ["CMS"]
    neutrino = client.get("/api/suggest", params={"prefix": "neu", "field": "messenger"}).json()
    assert [s["label"] for s in neutrino["suggestions"]] == ["neutrino"]
    refused = client.get("/api/suggest", params={"prefix": "x", "field": "title"})
    assert refused.status_code == 400 and "experiment" in refused.json()["error"]


def test_facets_alone_equal_the_search_facets(client: TestClient, lake: Lake) -> None:
    params = {"q": "dark matter", "facet": ["experiment", "source"], "filter": ["year=2015..2030"]}
    alone = client.get("/api/facets", params=params).json()
    search = client.get("/api/search", params={**params, "size": 0}).json()
    assert alone == {"total": search["total"], "facets": search["facets"]}
    assert alone["total"] > 0 and alone["facets"]["source"]
    unparsable = client.get("/api/facets", params={"q": "title:(", "facet": "source"})
    assert unparsable.status_code == 400 and "position" in unparsable.text
