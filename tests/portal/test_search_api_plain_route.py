"""`/api/search` answers plainly well-formed requests itself (`portal.search_route`), without FastAPI's parameter
models: the same query reaches the index and the same bytes, ETag and errors come back as through the documented
FastAPI route, which still answers everything else and describes the endpoint in the OpenAPI."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from lakes import generated_lake

import portal.search_route
from bench.search_load import QUERIES
from dmlake.lake import Lake
from indexer.query import Query
from portal.app import create_app
from portal.search_route import PlainSearchRoute, plain_search_arguments

REQUESTS: list[dict[str, Any] | list[tuple[str, str]]] = [
    *QUERIES,
    {},
    {"q": "", "size": "0"},
    {"q": "muon", "size": "1000", "highlight": "0"},
    {"q": "muon", "highlight": "1", "fields": ""},
    {"q": "higgs", "sort": "", "cursor": ""},
    [("q", "first"), ("q", "muon"), ("size", "3"), ("size", "7")],  # the last of a repeated single value
    [("facet", "experiment,source"), ("facet", "year"), ("filter", "year=2000..2020"), ("filter", "source=zenodo")],
    {"q": "dark matter", "unknown": "ignored"},
    [("facet", "experiment,year_histogram"), ("filter", "experiment=CMS"), ("disjunctive", "1")],
    {"q": "muon", "facet": "source", "filter": "source=zenodo", "disjunctive": "false"},
]
REFUSED_OR_LENIENT: list[dict[str, str]] = [
    {"size": "1001"},
    {"size": "-1"},
    {"size": "020"},
    {"size": " 20"},
    {"size": "twenty"},
    {"size": "٣"},  # a digit, but not an ASCII one
    {"highlight": "yes"},
    {"highlight": "True"},
    {"highlight": "maybe"},
    {"disjunctive": "yes"},
    {"disjunctive": "maybe"},
    {"q": "title:("},
    {"filter": "nonsense"},
]


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lake]:
    with generated_lake(tmp_path_factory.mktemp("plain-route-home"), 400, seed=3) as the_lake:
        yield the_lake


@pytest.fixture(scope="module")
def client(lake: Lake) -> TestClient:
    return TestClient(create_app(lake))


def answered(client: TestClient, lake: Lake, params: Any, documented: bool) -> tuple[Any, list[Query]]:
    """The response and the queries that reached the index, through the plain route or forced to the documented."""
    seen: list[Query] = []
    search = lake.search

    def recording(query: Query) -> Any:
        seen.append(query)
        return search(query)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(lake, "search", recording)
        if documented:
            patch.setattr(portal.search_route, "plain_search_arguments", lambda _params: None)
        response = client.get("/api/search", params=params)
    return response, seen


@pytest.mark.parametrize("params", REQUESTS, ids=str)
def test_plain_requests_get_the_documented_routes_answer(client: TestClient, lake: Lake, params: Any) -> None:
    plain, plain_queries = answered(client, lake, params, documented=False)
    documented, documented_queries = answered(client, lake, params, documented=True)
    assert plain.status_code == documented.status_code == 200, documented.text
    assert plain_queries == documented_queries and len(plain_queries) == 1
    cursorless = {k: v for k, v in plain.json().items() if k != "next_cursor"}
    assert cursorless == {k: v for k, v in documented.json().items() if k != "next_cursor"}
    if plain.json()["next_cursor"] is None or plain_queries[0].effective_sort != "relevance":
        # relevance cursors name the snapshot they read, so two requests differ there; all else is byte-identical
        assert plain.content == documented.content and plain.headers["etag"] == documented.headers["etag"]
    again = client.get("/api/search", params=params, headers={"If-None-Match": plain.headers["etag"]})
    assert again.status_code == 304 or plain.json()["next_cursor"] is not None


@pytest.mark.parametrize("params", REQUESTS, ids=str)
def test_the_plain_route_takes_these(params: Any) -> None:
    from starlette.datastructures import QueryParams

    assert plain_search_arguments(QueryParams(params)) is not None


@pytest.mark.parametrize("params", REFUSED_OR_LENIENT, ids=str)
def test_everything_else_is_answered_by_the_documented_route(client: TestClient, lake: Lake, params: Any) -> None:
    plain, _ = answered(client, lake, params, documented=False)
    documented, _ = answered(client, lake, params, documented=True)
    assert plain.status_code == documented.status_code != 500
    assert plain.json() == documented.json()
    if plain.status_code == 422:
        assert plain.json()["detail"][0]["loc"] == ["query", next(iter(params))]


def test_the_openapi_still_describes_the_search(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    names = {p["name"] for p in spec["paths"]["/api/search"]["get"]["parameters"]}
    assert names == {"q", "facet", "filter", "sort", "size", "cursor", "fields", "highlight", "disjunctive"}
    first = client.app.router.routes[0]  # type: ignore[attr-defined]
    assert isinstance(first, PlainSearchRoute) and not first.include_in_schema


def test_cross_origin_requests_get_the_cors_headers(client: TestClient) -> None:
    answer = client.get("/api/search", params={"q": "muon"}, headers={"Origin": "https://portal.example.org"})
    assert answer.status_code == 200 and answer.headers["access-control-allow-origin"] == "*"
    assert "ETag" in answer.headers["access-control-expose-headers"]


def test_other_methods_are_refused_as_before(client: TestClient) -> None:
    for method in ("HEAD", "POST", "DELETE"):
        assert client.request(method, "/api/search", params={"q": "muon"}).status_code == 405
