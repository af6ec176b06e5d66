"""Fixtures and helpers of the Elasticsearch backend tests (imported by `tests/indexer/test_elasticsearch_*.py`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from es_double import ElasticsearchDouble, Recorded, empty_search, shards
from es_openapi import ElasticsearchSpec, Problem
from es_reference import Reference

from indexer.elasticsearch_backend import ElasticsearchIndex
from indexer.elasticsearch_bulk import BulkSettings

SPEC_FILE = "elasticsearch/elasticsearch-openapi.8.17.json"


@pytest.fixture(scope="session")
def es_spec(standards: Path) -> ElasticsearchSpec:
    return ElasticsearchSpec.load(standards / SPEC_FILE)


@pytest.fixture
def es_double() -> Iterator[ElasticsearchDouble]:
    with ElasticsearchDouble() as double:
        yield double
    assert not double.failures, f"the double failed to answer: {double.failures}"


class Sleeps(list[float]):
    """Records the backoff delays instead of sleeping them."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def es_index(es_double: ElasticsearchDouble, sleeps: Sleeps) -> Iterator[ElasticsearchIndex]:
    index = ElasticsearchIndex.from_url(es_double.url, bulk=BulkSettings(max_actions=100), sleep=sleeps)
    yield index
    index.close()


def request_problems(spec: ElasticsearchSpec, requests: Sequence[Recorded]) -> list[str]:
    """Every problem of every recorded request, each naming the request."""
    problems: list[str] = []
    for request in requests:
        body: Any = request.raw if request.lines else request.json
        found: list[Problem] = spec.check_request(request.method, request.path, request.params, body)
        problems += [f"{request.method} {request.path}: {problem}" for problem in found]
    return problems


def assert_valid(spec: ElasticsearchSpec, requests: Sequence[Recorded]) -> None:
    problems = request_problems(spec, requests)
    assert not problems, "requests the specification refuses:\n" + "\n".join(problems)


def hit(doc_id: str, sort: Sequence[Any], *, score: float | None = None, title: str = "") -> dict[str, Any]:
    """A search hit as Elasticsearch returns it, carrying the `_source` fields the backend asks for."""
    return {
        "_index": "dmlake-records-v0",
        "_id": doc_id,
        "_score": score,
        "_source": {"id": doc_id, "summary": {"title": title or doc_id}},
        "sort": list(sort),
    }


class ListedResults:
    """A scripted search responder for paging tests: it holds hits *already in order* and answers each request
    with the `size` hits after the position its `search_after` names (the start without one). It evaluates no
    query and sorts nothing; it is what a cluster's paging protocol looks like from the client's side."""

    def __init__(self, hits: Sequence[Mapping[str, Any]], double: ElasticsearchDouble | None = None) -> None:
        self.hits = list(hits)
        self.position: dict[tuple[Any, ...], int] = {}
        self.double = double
        """With a double, each answer in a point in time hands out a new PIT id (Elasticsearch may do so)."""
        self.served = 0

    def _after(self, key: tuple[Any, ...]) -> int:
        """The index of the first hit after the one whose sort values start with `key` (a PIT search may carry
        one more value, the implicit `_shard_doc`, which the client need not send back). A key ending in the empty
        string names the position just before the first hit sharing the rest of the key (the empty id sorts before
        every id)."""
        if not self.position:
            self.position = {tuple(h["sort"][: len(key)]): i for i, h in enumerate(self.hits)}
        if key in self.position:
            return self.position[key] + 1
        if key[-1] == "":
            rest = key[:-1]
            return next((i for i, h in enumerate(self.hits) if tuple(h["sort"][: len(rest)]) == rest), len(self.hits))
        raise KeyError(f"no listed hit has the sort values {key}")

    def __call__(self, request: Recorded) -> tuple[int, Any]:
        body = request.json or {}
        size = int(body.get("size", 10))
        after = body.get("search_after")
        start = 0 if after is None else self._after(tuple(after))
        page = self.hits[start : start + size]
        response = empty_search(body)
        response["hits"] = {"total": {"value": len(self.hits), "relation": "eq"}, "max_score": None, "hits": page}
        self.served += 1
        if "pit" in body:
            response["pit_id"] = body["pit"]["id"]
            if self.double is not None:
                response["pit_id"] = f"{body['pit']['id']}.{self.served}"
                self.double.pits.add(response["pit_id"])
        return 200, response


def count_of(value: int) -> Callable[[Recorded], tuple[int, Any]]:
    return lambda request: (200, {"count": value, "_shards": shards()})


def cern_documents(corpus: Path, step: int = 1) -> list[dict[str, Any]]:
    """Index documents of the real CERN Open Data records (every `step`-th), mapped by the connector as harvested."""
    import json

    from connectors.base import RawRecord
    from connectors.cernopendata import CernOpenDataConnector
    from indexer.document import index_document
    from sandbox.replicas.cernopendata_api import api_record, dumps, fixture_stamps

    fixtures = []
    for path in sorted((corpus / "cernopendata" / "records").glob("*.json")):
        fixtures.extend(json.loads(path.read_text(encoding="utf-8")))
    documents = []
    for fixture in fixtures[::step]:
        created, updated = fixture_stamps(fixture)
        body = api_record(fixture, created=created, updated=updated, base_url="https://opendata.cern.ch")
        url = f"https://opendata.cern.ch/api/records/{fixture['recid']}"
        raw = RawRecord(str(fixture["recid"]), dumps(body), "application/json", url, body["updated"])
        documents.append(index_document(CernOpenDataConnector.map_record(raw, "cern")))
    return documents


class ReferenceSearch:
    """Answers `_search` as Elasticsearch would over the reference's documents: the total, and each aggregation
    asked for (`terms` facets, `filters` buckets) over the matching documents; hits are left empty."""

    def __init__(self, reference: Reference) -> None:
        self.reference = reference

    def __call__(self, request: Recorded) -> tuple[int, Any]:
        body = request.json or {}
        matching = self.reference.matching(body["query"])
        response = empty_search(body)
        response["hits"]["total"] = {"value": len(matching), "relation": "eq"}
        for name, aggregation in (body.get("aggregations") or {}).items():
            if "filters" in aggregation:
                inside = set(matching)
                response["aggregations"][name] = {
                    "buckets": {
                        key: {"doc_count": sum(1 for n in self.reference.matching(clause) if n in inside)}
                        for key, clause in aggregation["filters"]["filters"].items()
                    }
                }
                continue
            counts = self.reference.facet_counts(matching, aggregation["terms"]["field"])
            ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[: aggregation["terms"]["size"]]
            response["aggregations"][name]["buckets"] = [{"key": k, "doc_count": c} for k, c in ranked]
        return 200, response
