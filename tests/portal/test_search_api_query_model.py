"""`/api/search`, `/api/facets` and `dmlake search` with the portal query model: field syntax with units, overlap
filters, histograms, projection and highlighting give the Python API's JSON; refusals are 400s naming the problem."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from cli import dmlake
from fastapi.testclient import TestClient
from lakes import harvest_all, sources_of

from dmlake.lake import Lake
from indexer.query import Query
from portal.app import create_app
from sandbox import build_replicas, start


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lake]:
    the_lake = Lake.open(tmp_path_factory.mktemp("query-model-home"))
    with start(build_replicas(generate=80, seed=5, kinds=["cernopendata", "zenodo"])) as running:
        harvest_all(the_lake, sources_of(running))
    yield the_lake
    the_lake.close()


@pytest.fixture(scope="module")
def client(lake: Lake) -> TestClient:
    return TestClient(create_app(lake))


def test_the_api_answers_as_the_python_api(client: TestClient, lake: Lake) -> None:
    params = {
        "q": "experiment:cms energy:[1 TeV TO 100 TeV]",
        "filter": ["date=2000..2030"],
        "facet": ["year_histogram", "energy_histogram", "source"],
        "fields": "title,doi,experiment",
        "highlight": "true",
        "size": "5",
    }
    answer = client.get("/api/search", params=params)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    python = lake.search(
        Query.parse(
            params["q"],  # type: ignore[arg-type]
            filters=["date=2000..2030"],
            facets=["year_histogram", "energy_histogram", "source"],
            fields=["title,doi,experiment"],
            highlight=True,
            size=5,
        )
    ).to_json()
    assert {k: v for k, v in body.items() if k != "next_cursor"} == {
        k: v for k, v in python.items() if k != "next_cursor"
    }
    assert body["total"] > 0 and body["hits"]
    assert all(set(hit) == {"id", "score", "title", "doi", "experiments", "highlight"} for hit in body["hits"])
    assert body["facets"]["energy_histogram"] and all("low" in b for b in body["facets"]["energy_histogram"])
    facets = client.get("/api/facets", params={k: params[k] for k in ("q", "filter", "facet")}).json()
    assert facets == {"total": body["total"], "facets": body["facets"]}


@pytest.mark.parametrize(
    ("params", "parameter", "in_hint"),
    [
        ({"q": "colour:red"}, "q", "energy"),
        ({"q": "energy:13parsecs"}, "q", "TeV"),
        ({"q": "energy:[10 TeV TO 1 TeV]"}, "q", "swap"),
        ({"filter": "energy=10TeV..1TeV"}, "filter", "swap"),
        ({"fields": "title,colour"}, "fields", "landing_page"),
        ({"facet": "colour_histogram"}, "facet", "energy_histogram"),
    ],
)
def test_refusals_name_the_parameter_and_give_a_hint(
    client: TestClient, params: dict[str, str], parameter: str, in_hint: str
) -> None:
    answer = client.get("/api/search", params=params)
    assert answer.status_code == 400
    body = answer.json()
    assert body["parameter"] == parameter and in_hint in body["hint"] and body["error"]


def test_the_openapi_documents_the_parameters(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    parameters = {p["name"]: p for p in spec["paths"]["/api/search"]["get"]["parameters"]}
    assert {"q", "filter", "facet", "fields", "highlight", "sort", "size", "cursor"} <= set(parameters)
    assert "energy:[1 TeV TO 100 TeV]" in parameters["q"]["description"]
    assert "year_histogram" in parameters["facet"]["description"]
    assert "date=" in parameters["filter"]["description"]
    assert parameters["highlight"]["schema"]["type"] == "boolean"
    facets = {p["name"] for p in spec["paths"]["/api/facets"]["get"]["parameters"]}
    assert {"q", "filter", "facet"} <= facets


def test_the_cli_prints_the_same_json_and_draws_histograms(lake: Lake) -> None:
    arguments = ["search", "sqrt_s:[7TeV TO 13TeV]", "--facet", "energy_histogram"]
    printed = dmlake(lake.home.path, *arguments, "--json", "--fields", "title", "--highlight", "--size", "3")

    answer = json.loads(printed.stdout)
    python = lake.search(
        Query.parse("sqrt_s:[7TeV TO 13TeV]", facets=["energy_histogram"], fields=["title"], highlight=True, size=3)
    ).to_json()
    assert {k: v for k, v in answer.items() if k != "next_cursor"} == {
        k: v for k, v in python.items() if k != "next_cursor"
    }
    table = dmlake(lake.home.path, *arguments, "--facet", "year_histogram")
    assert "energy_histogram" in table.stdout and "TeV" in table.stdout and "█" in table.stdout
    refused = dmlake(lake.home.path, "search", "energy:[9 TeV TO 1 TeV]", check=False)
    assert refused.returncode == 2 and "swap the bounds" in refused.stderr
