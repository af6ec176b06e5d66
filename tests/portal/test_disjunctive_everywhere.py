"""Disjunctive facets wherever a search is asked for: `/api/facets?disjunctive=true`, `dmlake search --disjunctive`
and `Catalog.search(..., disjunctive=True)` (a home and a service) answer as `/api/search?disjunctive=true` does."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from lakes import generated_lake
from oai_harness import serving

from dmlake import Catalog
from dmlake.lake import Lake
from portal.app import create_app

REPO = Path(__file__).resolve().parents[2]
FACETS = ["experiment", "source", "year", "year_histogram", "energy_histogram"]


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lake]:
    with generated_lake(tmp_path_factory.mktemp("disjunctive-everywhere"), 500, seed=23) as the_lake:
        yield the_lake


@pytest.fixture(scope="module")
def client(lake: Lake) -> TestClient:
    return TestClient(create_app(lake))


@pytest.fixture(scope="module")
def chosen(client: TestClient) -> dict[str, Any]:
    """A query filtering two facetted fields: the commonest experiment and a range of years."""
    everything = client.get("/api/search", params={"facet": "experiment", "size": 0}).json()
    experiment = max(everything["facets"]["experiment"], key=lambda v: v["count"])["value"]
    return {"q": "", "filter": [f"experiment={experiment}", "year=2005..2015"]}


def counts(facets: dict[str, Any], name: str) -> dict[str, int]:
    return {v["value"]: v["count"] for v in facets[name]}


def api_search(client: TestClient, chosen: dict[str, Any], disjunctive: bool, size: int = 7) -> dict[str, Any]:
    params = {"q": chosen["q"], "filter": chosen["filter"], "facet": FACETS, "size": size, "sort": "title"}
    answer = client.get("/api/search", params={**params, "disjunctive": str(disjunctive).lower()})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_facets_endpoint_counts_as_the_search_does(client: TestClient, chosen: dict[str, Any]) -> None:
    search = api_search(client, chosen, disjunctive=True, size=0)
    plain = api_search(client, chosen, disjunctive=False, size=0)
    params = {"q": chosen["q"], "filter": chosen["filter"], "facet": FACETS}
    alone = client.get("/api/facets", params={**params, "disjunctive": "true"})
    assert alone.status_code == 200, alone.text
    assert alone.json() == {"total": search["total"], "facets": search["facets"]}
    # not a vacuous equality: disjunctive counting differs from the plain one for the filtered fields only
    assert search["total"] == plain["total"] > 0
    assert len(counts(search["facets"], "experiment")) > len(counts(plain["facets"], "experiment")) == 1
    assert sum(counts(search["facets"], "year_histogram").values()) > plain["total"]
    assert search["facets"]["source"] == plain["facets"]["source"]  # no source filter: counted the same
    assert search["facets"]["energy_histogram"] == plain["facets"]["energy_histogram"]
    # without the flag (or with false) /api/facets still counts within every filter
    for flag in ({}, {"disjunctive": "false"}):
        assert client.get("/api/facets", params={**params, **flag}).json()["facets"] == plain["facets"]
    refused = client.get("/api/facets", params={**params, "disjunctive": "maybe"})
    assert refused.status_code == 422 and "disjunctive" in refused.text


def test_cli_json_equals_the_api(lake: Lake, client: TestClient, chosen: dict[str, Any]) -> None:
    command = [sys.executable, "-m", "harvester.cli", "--home", str(lake.home.path), "search", chosen["q"], "--json",
               "--size", "7", "--sort", "title", "--disjunctive"]  # fmt: skip
    for item in chosen["filter"]:
        command += ["--filter", item]
    for item in FACETS:
        command += ["--facet", item]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, check=True, timeout=120)
    assert json.loads(done.stdout) == api_search(client, chosen, disjunctive=True)
    # and the table output prints the disjunctive counts: every experiment, not only the chosen one
    table = subprocess.run([c for c in command if c != "--json"], capture_output=True, text=True, cwd=REPO,
                           check=True, timeout=120, env={"COLUMNS": "400", "PATH": "/usr/bin:/bin"})  # fmt: skip
    experiments = api_search(client, chosen, disjunctive=True)["facets"]["experiment"]
    line = next(row for row in table.stdout.splitlines() if row.startswith("experiment:"))
    assert all(f"{v['value']} ({v['count']:,})" in line for v in experiments), line


def test_catalog_forwards_it_from_a_home_and_a_service(lake: Lake, client: TestClient, chosen: dict[str, Any]) -> None:
    experiment = chosen["filter"][0].split("=", 1)[1]
    options: dict[str, Any] = {"experiment": experiment, "filters": ["year=2005..2015"], "facets": FACETS,
                               "size": 7, "sort": "title"}  # fmt: skip
    expected = api_search(client, chosen, disjunctive=True)
    with serving(create_app(lake)) as url, Catalog(url, cache_dir=lake.home.path / "remote-cache") as remote:
        from_service = remote.search(chosen["q"], disjunctive=True, **options)
        within = remote.search(chosen["q"], **options)
    with Catalog(lake.home.path) as local:
        from_home = local.search(chosen["q"], disjunctive=True, **options)
    for found in (from_service, from_home):
        assert found.query.disjunctive
        assert found.total == expected["total"] and [h.id for h in found] == [h["id"] for h in expected["hits"]]
        for name in FACETS:
            assert found.facet(name) == counts(expected["facets"], name), name
    assert within.facet("experiment") == {experiment: within.total}  # the flag is what made the difference


def test_the_openapi_describes_it_for_facets_as_for_search(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    described = {
        path: {p["name"]: p for p in spec["paths"][path]["get"]["parameters"]}
        for path in ("/api/search", "/api/facets")
    }
    facets, search = described["/api/facets"]["disjunctive"], described["/api/search"]["disjunctive"]
    assert facets["schema"] == search["schema"] and facets["schema"]["type"] == "boolean"
    assert facets["schema"]["default"] is False and not facets["required"]
    assert facets["description"] == search["description"] and "own field" in facets["description"]
