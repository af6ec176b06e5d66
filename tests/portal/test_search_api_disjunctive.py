"""`/api/search?disjunctive=true`: facets of filtered fields counted without their own field's filters, through the
plain route and the documented one alike, described in the OpenAPI."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from lakes import generated_lake

import portal.search_route
from dmlake.lake import Lake
from indexer.query import Query
from portal.app import create_app

FACETS = "experiment,source,year_histogram,energy_histogram"


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lake]:
    with generated_lake(tmp_path_factory.mktemp("disjunctive-home"), 600, seed=11) as the_lake:
        yield the_lake


@pytest.fixture(scope="module")
def client(lake: Lake) -> TestClient:
    return TestClient(create_app(lake))


def search(client: TestClient, documented: bool, **params: Any) -> Any:
    with pytest.MonkeyPatch.context() as patch:
        if documented:
            patch.setattr(portal.search_route, "plain_search_arguments", lambda _params: None)
        return client.get("/api/search", params=params)


def counts(body: Any, facet: str) -> dict[str, int]:
    return {v["value"]: v["count"] for v in body["facets"][facet]}


def test_a_filtered_fields_other_values_stay_listed(client: TestClient, lake: Lake) -> None:
    everything = client.get("/api/search", params={"facet": FACETS, "size": 0}).json()
    experiment = max(counts(everything, "experiment").items(), key=lambda item: item[1])[0]
    filters = [f"experiment={experiment}", "year=2000..2010"]
    params: dict[str, Any] = {"facet": FACETS, "filter": filters, "size": 5}
    plain = client.get("/api/search", params=params).json()
    either = client.get("/api/search", params={**params, "disjunctive": "true"}).json()
    assert (either["total"], either["hits"]) == (plain["total"], plain["hits"])
    assert counts(plain, "experiment") == {experiment: plain["total"]}
    others = counts(either, "experiment")
    assert others[experiment] == plain["total"] and len(others) > 3
    # each other value's count is what choosing it alone (with the year range) finds
    second = next(name for name in others if name != experiment)
    alone = client.get("/api/search", params={"filter": [f"experiment={second}", "year=2000..2010"], "size": 0})
    assert alone.json()["total"] == others[second]
    # the year histogram is counted without the year range: years outside it still have their bars
    years = counts(either, "year_histogram")
    assert any(int(year) > 2010 and count for year, count in years.items())
    expected = lake.search(Query.parse("", filters=filters, facets=[FACETS], size=5, disjunctive=True)).to_json()
    assert either == expected


@pytest.mark.parametrize("flag", ["true", "1", "false", "0", "yes", "off"])
def test_the_plain_and_documented_routes_agree(client: TestClient, flag: str) -> None:
    # sorted by title: relevance cursors name the snapshot they read, which differs between two requests
    params = {"q": "dark", "facet": FACETS, "filter": "source=zenodo", "sort": "title", "disjunctive": flag}
    plain, documented = search(client, False, **params), search(client, True, **params)
    assert plain.status_code == documented.status_code == 200
    assert plain.content == documented.content and plain.headers["etag"] == documented.headers["etag"]
    refused = search(client, False, **{**params, "disjunctive": "maybe"})
    assert refused.status_code == 422 and "disjunctive" in refused.text


def test_the_openapi_describes_it(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    parameters = {p["name"]: p for p in spec["paths"]["/api/search"]["get"]["parameters"]}
    assert parameters["disjunctive"]["schema"]["type"] == "boolean"
    assert "own field" in parameters["disjunctive"]["description"]
