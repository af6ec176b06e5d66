"""Bulk indexing into Elasticsearch: partial failures retried, permanent ones reported by record and field,
version conflicts accepted, whole requests retried or split, lanes keep each document's writes in order.

The cluster is `es_double.ElasticsearchDouble` with scripted bulk answers (it stores nothing); the answers are
shaped as Elasticsearch's bulk API documents them, and every request sent is validated against the specification.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pytest
from es_double import ElasticsearchDouble, Recorded, error_body, item_result, lines_actions
from es_openapi import ElasticsearchSpec
from es_testing import Sleeps, assert_valid, es_double, es_index, es_spec, sleeps

from indexer.elasticsearch_backend import ElasticsearchIndex
from indexer.elasticsearch_bulk import BulkIndexError, BulkSettings, BulkWriter, field_of, index_operation

__all__ = ["es_double", "es_index", "es_spec", "sleeps"]  # fixtures


def documents(count: int, start: int = 0, **extra: Any) -> list[dict[str, Any]]:
    return [
        {
            "id": f"https://w3id.org/dmlake/record/zenodo/{i}",
            "title": [f"Record {i}"],
            "year": 2000 + i % 20,
            "summary": {"title": f"Record {i}"},
            **extra,
        }
        for i in range(start, start + count)
    ]


class ScriptedBulk:
    """Answers each bulk request item by item: `decide(attempt, action, meta)` gives (status, error) or None for
    success; `attempt` counts how many times this document id has been sent before."""

    def __init__(self, decide: Callable[[int, str, dict[str, Any]], tuple[int, dict[str, Any]] | None]) -> None:
        self.decide = decide
        self.attempts: dict[str, int] = defaultdict(int)
        self.requests: list[list[str]] = []
        self.lock = threading.Lock()

    def __call__(self, request: Recorded) -> tuple[int, Any]:
        items = []
        ids = []
        errors = False
        for action in lines_actions(request.lines):
            ((kind, meta),) = action.items()
            with self.lock:
                attempt = self.attempts[meta["_id"]]
                self.attempts[meta["_id"]] += 1
            ids.append(meta["_id"])
            outcome = self.decide(attempt, kind, meta)
            if outcome is None:
                items.append({kind: item_result(meta, 200 if kind == "delete" else 201, "created")})
            else:
                status, error = outcome
                errors = True
                items.append({kind: item_result(meta, status, error=error)})
        self.requests.append(ids)
        return 200, {"took": 2, "errors": errors, "items": items}


REJECTED = {"type": "es_rejected_execution_exception", "reason": "rejected execution of coordinating operation"}


def test_items_refused_with_429_or_5xx_are_sent_again_alone(
    es_index: ElasticsearchIndex, es_double: ElasticsearchDouble, sleeps: Sleeps, es_spec: ElasticsearchSpec
) -> None:
    docs = documents(60)
    flaky = {docs[i]["id"]: status for i, status in ((3, 429), (17, 503), (40, 429))}

    def decide(attempt: int, kind: str, meta: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        if meta["_id"] in flaky and attempt == 0:
            return flaky[meta["_id"]], REJECTED
        return None

    es_index.ensure()
    es_double.bulk = scripted = ScriptedBulk(decide)
    assert es_index.index_documents(docs) == 60
    assert scripted.requests[0] == [d["id"] for d in docs]
    assert sorted(scripted.requests[1]) == sorted(flaky)  # only the refused ones, once
    assert len(scripted.requests) == 2
    assert es_index.last_stats.retried_operations == 3 and es_index.last_stats.indexed == 60
    assert len(sleeps) == 1 and 0.25 <= sleeps[0] <= 0.5  # first backoff: 0.5 s with jitter
    retried = es_double.of("PUT", r"/dmlake-records-write/_bulk")[1]
    assert retried.lines[1::2] == [{k: v for k, v in d.items()} for d in docs if d["id"] in flaky]
    assert_valid(es_spec, es_double.requests)


def test_backoff_grows_and_gives_up_naming_what_is_left(
    es_index: ElasticsearchIndex, es_double: ElasticsearchDouble, sleeps: Sleeps
) -> None:
    es_index.bulk_settings = BulkSettings(max_retries=4, initial_backoff=1.0, max_backoff=5.0)
    es_index.ensure()
    docs = documents(5)
    stubborn = docs[2]["id"]
    es_double.bulk = ScriptedBulk(lambda attempt, kind, meta: (429, REJECTED) if meta["_id"] == stubborn else None)
    with pytest.raises(BulkIndexError) as caught:
        es_index.index_documents(docs)
    assert len(sleeps) == 4
    for slept, ceiling in zip(sleeps, (1.0, 2.0, 4.0, 5.0), strict=True):  # doubling, capped at max_backoff
        assert ceiling / 2 <= slept <= ceiling
    error = caught.value
    assert [e.doc_id for e in error.errors] == [stubborn]
    assert "1 of 5" in str(error) and stubborn in str(error) and "run the indexer again" in str(error)


def test_a_document_the_mapping_refuses_is_reported_by_record_and_field_and_the_rest_goes_through(
    es_index: ElasticsearchIndex, es_double: ElasticsearchDouble, sleeps: Sleeps
) -> None:
    docs = documents(250)
    bad_year, unknown_field = docs[7]["id"], docs[180]["id"]

    def decide(attempt: int, kind: str, meta: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        if meta["_id"] == bad_year:
            return 400, {
                "type": "document_parsing_exception",
                "reason": "[1:87] failed to parse field [year] of type [long] in document with id "
                f"'{bad_year}'. Preview of field's value: 'MMX'",
                "caused_by": {"type": "illegal_argument_exception", "reason": 'For input string: "MMX"'},
            }
        if meta["_id"] == unknown_field:
            return 400, {
                "type": "strict_dynamic_mapping_exception",
                "reason": "[1:2] mapping set to strict, dynamic introduction of [member_ids] within [_doc] is not "
                "allowed",
            }
        return None

    es_index.ensure()
    es_double.bulk = scripted = ScriptedBulk(decide)
    with pytest.raises(BulkIndexError) as caught:
        es_index.index_documents(docs)
    assert [len(ids) for ids in scripted.requests] == [100, 100, 50]  # every chunk still sent, nothing retried
    assert not sleeps
    errors = {e.doc_id: e for e in caught.value.errors}
    assert set(errors) == {bad_year, unknown_field}
    assert errors[bad_year].field == "year" and errors[bad_year].status == 400
    assert errors[unknown_field].field == "member_ids"
    message = str(caught.value)
    assert "2 of 250" in message and "field 'year'" in message and "field 'member_ids'" in message
    assert "python -m indexer.elasticsearch_template" in message


def test_a_stale_external_version_is_not_an_error(
    es_index: ElasticsearchIndex, es_double: ElasticsearchDouble, es_spec: ElasticsearchSpec
) -> None:
    """An older update arriving late is refused by Elasticsearch with 409 and the newer document stays."""
    docs = documents(4)
    for sequence, document in zip((10, 11, 12, 13), docs, strict=True):
        document["version"] = sequence
    stale = docs[1]["id"]
    conflict = {
        "type": "version_conflict_engine_exception",
        "reason": f"[{stale}]: version conflict, current version [20] is higher or equal to the one provided [11]",
    }
    es_index.ensure()
    es_double.bulk = ScriptedBulk(lambda attempt, kind, meta: (409, conflict) if meta["_id"] == stale else None)
    assert es_index.index_documents(docs) == 4
    assert es_index.last_stats.superseded == 1 and es_index.last_stats.indexed == 3
    (bulk,) = es_double.of("PUT", r"/dmlake-records-write/_bulk")
    assert [a["index"]["version"] for a in bulk.lines[0::2]] == [10, 11, 12, 13]
    assert {a["index"]["version_type"] for a in bulk.lines[0::2]} == {"external"}
    assert all("version" not in source for source in bulk.lines[1::2])
    assert_valid(es_spec, es_double.requests)


def test_deletes_with_versions_and_of_missing_documents(
    es_index: ElasticsearchIndex, es_double: ElasticsearchDouble, es_spec: ElasticsearchSpec
) -> None:
    missing = {"type": "not_found"}

    def decide(attempt: int, kind: str, meta: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        return (404, missing) if meta["_id"] == "gone" else None

    es_index.ensure()
    es_double.bulk = ScriptedBulk(decide)
    assert es_index.delete(["a", ("b", 42), "gone"]) == 3
    assert es_index.last_stats.deleted == 2 and es_index.last_stats.not_found == 1
    (bulk,) = es_double.of("PUT", r"/dmlake-records-write/_bulk")
    assert bulk.lines == [
        {"delete": {"_index": "dmlake-records-write", "_id": "a"}},
        {"delete": {"_index": "dmlake-records-write", "_id": "b", "version": 42, "version_type": "external"}},
        {"delete": {"_index": "dmlake-records-write", "_id": "gone"}},
    ]
    assert_valid(es_spec, es_double.requests)


def test_a_whole_request_refused_is_retried_honouring_retry_after(
    es_index: ElasticsearchIndex, es_double: ElasticsearchDouble, sleeps: Sleeps
) -> None:
    calls = []

    def overloaded_once(request: Recorded) -> Any:
        calls.append(len(request.lines))
        if len(calls) == 1:
            return 429, error_body(429, "es_rejected_execution_exception", "queue full"), {"Retry-After": "3"}
        return ScriptedBulk(lambda *_: None)(request)

    es_index.ensure()
    es_double.bulk = overloaded_once
    assert es_index.index_documents(documents(10)) == 10
    assert calls == [20, 20]
    assert len(sleeps) == 1 and sleeps[0] >= 3
    assert es_index.last_stats.retried_requests == 1


def test_a_request_too_large_is_split(es_index: ElasticsearchIndex, es_double: ElasticsearchDouble) -> None:
    sizes = []

    def small_limit(request: Recorded) -> Any:
        sizes.append(len(request.lines) // 2)
        if len(request.lines) > 2 * 16:
            return 413, error_body(413, "request_entity_too_large", "Request Entity Too Large")
        return ScriptedBulk(lambda *_: None)(request)

    es_index.ensure()
    es_double.bulk = small_limit
    assert es_index.index_documents(documents(100)) == 100
    assert sizes[:3] == [100, 50, 25]
    delivered = sum(size for size in sizes if size <= 16)
    assert delivered == 100


def test_a_lost_connection_is_retried_then_reported(sleeps: Sleeps) -> None:
    from elasticsearch import Elasticsearch

    client = Elasticsearch("http://127.0.0.1:9", request_timeout=2)  # nothing listens on the discard port
    writer = BulkWriter(client, "dmlake-records-write", BulkSettings(max_retries=2), sleep=sleeps)
    with pytest.raises(BulkIndexError) as caught:
        writer.run(index_operation("dmlake-records-write", d) for d in documents(3))
    assert len(sleeps) == 2
    assert len(caught.value.errors) == 3 and "ConnectionError" in caught.value.errors[0].reason
    assert "run the indexer again" in str(caught.value)


def test_lanes_bound_what_is_in_flight_and_keep_each_documents_writes_in_order(es_double: ElasticsearchDouble) -> None:
    from elasticsearch import Elasticsearch

    active = 0
    most = 0
    seen: dict[str, list[str]] = defaultdict(list)
    lock = threading.Lock()

    def slow(request: Recorded) -> Any:
        nonlocal active, most
        with lock:
            active += 1
            most = max(most, active)
            for action, source in zip(request.lines[0::2], request.lines[1::2], strict=True):
                seen[action["index"]["_id"]].append(source["title"][0])
        time.sleep(0.02)
        with lock:
            active -= 1
        return ScriptedBulk(lambda *_: None)(request)

    es_double.bulk = slow
    # 30 documents, each written 5 times in a row: the last write must win, as with one lane
    writes = [dict(d, title=[f"{d['id']} #{n}"]) for n in range(5) for d in documents(30)]
    settings = BulkSettings(max_actions=7, concurrency=3)
    with Elasticsearch(es_double.url) as client:
        stats = BulkWriter(client, "dmlake-records-write", settings).run(
            index_operation("dmlake-records-write", w) for w in writes
        )
    assert stats.indexed == 150
    assert 1 < most <= 3
    for doc_id, titles in seen.items():
        assert titles == [f"{doc_id} #{n}" for n in range(5)]


def test_versions_must_be_non_negative_integers() -> None:
    for bad in (True, -1, 1.5, "7", 2**63):
        with pytest.raises(ValueError, match="record x: 'version' must be an integer"):
            index_operation("i", {"id": "x", "version": bad})
    with pytest.raises(ValueError, match="non-empty string 'id'"):
        index_operation("i", {"title": ["no id"]})


@pytest.mark.parametrize(
    ("error", "field"),
    [
        (
            {"reason": "[1:10] failed to parse field [sqrt_s_gev] of type [double] in document with id 'x'."},
            "sqrt_s_gev",
        ),
        (
            {"reason": "mapping set to strict, dynamic introduction of [records] within [_doc] is not allowed"},
            "records",
        ),
        (
            {
                "reason": "bad",
                "caused_by": {
                    "reason": "Document contains at least one immense term in "
                    'field="title_exact" (whose UTF8 encoding is longer)'
                },
            },
            "title_exact",
        ),
        ({"reason": "something else entirely"}, None),
    ],
)
def test_the_field_is_read_from_the_reason(error: dict[str, Any], field: str | None) -> None:
    assert field_of(error) == field
