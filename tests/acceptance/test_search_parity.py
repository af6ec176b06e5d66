"""Issue #2 acceptance 7 (first half): the same query gives the same hits and facets through the CLI, the HTTP API
and Python; and the record endpoints answer in every format. The lake holds generated records of all three portals.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from lakes import harvest_all, sources_of

from dmlake.lake import Lake
from indexer.query import Query
from portal.app import create_app
from sandbox import build_replicas
from sandbox.server import start

REPO = Path(__file__).resolve().parents[2]
QUERIES: list[dict[str, Any]] = [
    {"text": "", "filters": [], "facets": ["source", "experiment"]},
    {"text": "collision", "filters": ["experiment=CMS"], "facets": ["year", "collision_type"]},
    {"text": "dark matter", "filters": ["messenger=dark-matter direct detection"], "facets": ["experiment"]},
    {"text": "", "filters": ["year=2010..2016", "source=hepdata"], "facets": ["experiment", "resource_category"]},
    {"text": "data", "filters": [], "facets": ["messenger"], "sort": "-issued"},
    {"text": "", "filters": ["source=zenodo"], "facets": ["license"], "sort": "title"},
    {"text": "experiment:cms energy:[1 TeV TO 100 TeV]", "filters": [], "facets": ["energy_histogram"]},
    {
        "text": "collision",
        "filters": ["date=2000..2030", "energy=1TeV.."],
        "facets": ["year_histogram", "experiment"],
        "fields": "title,doi,experiment",
        "highlight": True,
    },
]


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lake]:
    home = tmp_path_factory.mktemp("parity-home")
    the_lake = Lake.open(home)
    with start(build_replicas(generate=400, seed=11)) as running:
        reports = harvest_all(the_lake, sources_of(running))
    assert all(r.state == "succeeded" and r.counts.quarantined == 0 for r in reports.values()), reports
    yield the_lake
    the_lake.close()


def via_cli(home: Path, spec: dict[str, Any], cursor: str | None = None) -> dict[str, Any]:
    command = [
        sys.executable,
        "-m",
        "harvester.cli",
        "--home",
        str(home),
        "search",
        spec["text"],
        "--json",
        "--size",
        "15",
    ]
    for item in spec["filters"]:
        command += ["--filter", item]
    for item in spec["facets"]:
        command += ["--facet", item]
    if spec.get("sort"):
        command += ["--sort", spec["sort"]]
    if spec.get("fields"):
        command += ["--fields", spec["fields"]]
    if spec.get("highlight"):
        command.append("--highlight")
    if cursor:
        command += ["--cursor", cursor]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, check=True, timeout=120)
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def via_api(client: TestClient, spec: dict[str, Any], cursor: str | None = None) -> dict[str, Any]:
    params: list[tuple[str, str]] = [("q", spec["text"]), ("size", "15")]
    params += [("filter", f) for f in spec["filters"]] + [("facet", f) for f in spec["facets"]]
    if spec.get("sort"):
        params.append(("sort", spec["sort"]))
    if spec.get("fields"):
        params.append(("fields", spec["fields"]))
    if spec.get("highlight"):
        params.append(("highlight", "true"))
    if cursor:
        params.append(("cursor", cursor))
    response = client.get("/api/search", params=params)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def via_python(lake: Lake, spec: dict[str, Any], cursor: str | None = None) -> dict[str, Any]:
    query = Query.parse(
        spec["text"],
        filters=spec["filters"],
        facets=spec["facets"],
        sort=spec.get("sort"),
        size=15,
        cursor=cursor,
        fields=[spec["fields"]] if spec.get("fields") else None,
        highlight=bool(spec.get("highlight")),
    )
    return lake.search(query).to_json()


def answer(result: dict[str, Any]) -> dict[str, Any]:
    """What must agree: total, hits (ids, scores, fields) and facets. Relevance cursors name a per-search snapshot,
    so two equal searches hand out different (equally valid) cursors; whether there is a next page must agree."""
    return {
        "total": result["total"],
        "hits": result["hits"],
        "facets": result["facets"],
        "more": bool(result["next_cursor"]),
    }


@pytest.mark.parametrize("spec", QUERIES, ids=[str(i) for i in range(len(QUERIES))])
def test_cli_api_and_python_agree(lake: Lake, spec: dict[str, Any]) -> None:
    client = TestClient(create_app(lake))
    python = via_python(lake, spec)
    assert python["total"] > 0, f"query {spec} matches nothing: the comparison would prove little"
    assert answer(via_api(client, spec)) == answer(python)
    assert answer(via_cli(lake.home.path, spec)) == answer(python)
    if python["next_cursor"]:
        # the second page through each interface, from the same cursor
        second = via_python(lake, spec, python["next_cursor"])
        assert answer(via_api(client, spec, python["next_cursor"])) == answer(second)
        assert answer(via_cli(lake.home.path, spec, python["next_cursor"])) == answer(second)


def test_bad_query_is_a_400_naming_the_problem(lake: Lake) -> None:
    client = TestClient(create_app(lake))
    response = client.get("/api/search", params={"filter": "year=2010..twenty"})
    assert response.status_code == 400
    body = response.json()
    assert body["parameter"] == "filter"
    assert "twenty" in body["error"] and body["hint"]
    response = client.get("/api/search", params={"facet": "colour"})
    assert response.status_code == 400 and "colour" in response.json()["error"]


def test_record_endpoint_negotiates_every_format(lake: Lake) -> None:
    client = TestClient(create_app(lake))
    hit = lake.search(Query.parse("", filters=["source=cernopendata"], size=1)).hits[0]
    short = hit.id.split("/record/", 1)[1]
    as_json = client.get(f"/api/records/{short}")
    assert as_json.status_code == 200 and as_json.json()["id"] == hit.id
    assert client.get(f"/api/records/{hit.id}").json()["id"] == hit.id
    expectations = {
        "text/turtle": (b"dcat:Dataset", "text/turtle"),
        "application/ld+json": (b"@context", "application/ld+json"),
        "application/rdf+xml": (b"rdf:RDF", "application/rdf+xml"),
        "application/vnd.datacite.datacite+xml": (b"http://datacite.org/schema/kernel-4", "application/vnd.datacite"),
    }
    for accept, (marker, media) in expectations.items():
        response = client.get(f"/api/records/{short}", headers={"Accept": accept})
        assert response.status_code == 200, (accept, response.text[:300])
        assert response.headers["content-type"].startswith(media)
        assert marker in response.content
    etag = as_json.headers["etag"]
    assert client.get(f"/api/records/{short}", headers={"If-None-Match": etag}).status_code == 304
    assert client.get(f"/api/records/{short}", headers={"Accept": "image/png"}).status_code == 406
    assert client.get("/api/records/cernopendata/does-not-exist").status_code == 404


def test_openapi_describes_the_endpoints(lake: Lake) -> None:
    spec = TestClient(create_app(lake)).get("/openapi.json").json()
    assert {"/api/search", "/api/records/{record_id}"} <= set(spec["paths"])
    names = {p["name"] for p in spec["paths"]["/api/search"]["get"]["parameters"]}
    assert names == {"q", "facet", "filter", "sort", "size", "cursor", "fields", "highlight", "disjunctive"}
