"""The request validator the Elasticsearch tests rely on (`es_openapi`): what it accepts, what it refuses, and why.

Each refusal here is one Elasticsearch itself makes (its error named in the comment); each acceptance is a body
Elasticsearch documents, which the specification's literal reading would refuse (VALIDATORS.md §4).
"""

from __future__ import annotations

from es_openapi import ElasticsearchSpec
from es_testing import es_spec

__all__ = ["es_spec"]  # fixtures

SEARCH = "/dmlake-records/_search"


def messages(
    spec: ElasticsearchSpec, method: str, path: str, body: object, params: dict[str, str] | None = None
) -> str:
    return "\n".join(str(p) for p in spec.check_request(method, path, params, body))


def test_overlapping_unions_are_read_as_any_of(es_spec: ElasticsearchSpec) -> None:
    body = {"query": {"range": {"issued": {"gte": "2020-01-01"}}}}  # valid under several RangeQuery members
    assert messages(es_spec, "POST", SEARCH, body) == ""


def test_a_discriminated_mapping_is_checked_as_its_own_type(es_spec: ElasticsearchSpec) -> None:
    mapping = {"mappings": {"properties": {"doi": {"type": "keyword", "analyzer": "standard"}}}}
    # Elasticsearch: mapper_parsing_exception "unknown parameter [analyzer] on mapper [doi] of type [keyword]"
    assert "'analyzer'" in messages(es_spec, "PUT", "/x", mapping)
    text = {"mappings": {"properties": {"title": {"type": "text", "analyzer": "standard"}}}}
    assert messages(es_spec, "PUT", "/x", text) == ""
    # Elasticsearch: "No handler for type [keywrd] declared on field [doi]"
    assert "keywrd" in messages(es_spec, "PUT", "/x", {"mappings": {"properties": {"doi": {"type": "keywrd"}}}})


def test_misspelt_keys_are_found_at_any_depth(es_spec: ElasticsearchSpec) -> None:
    body = {"query": {"bool": {"must": [{"match_phrase": {"title": {"query": "x", "slpo": 1}}}]}}, "siez": 3}
    found = messages(es_spec, "POST", SEARCH, body)
    # Elasticsearch: "[match_phrase] query does not support [slpo]", "Unknown key for a VALUE_NUMBER in [siez]"
    assert "'slpo'" in found and "'siez'" in found
    assert "body/query/bool/must/0/match_phrase/title" in found


def test_field_keyed_maps_the_spec_dropped_stay_open(es_spec: ElasticsearchSpec) -> None:
    body = {"query": {"terms": {"experiment": ["CMS", "ATLAS"]}}, "sort": [{"year": {"order": "desc"}}]}
    assert messages(es_spec, "POST", SEARCH, body) == ""


def test_query_parameters_are_named_and_typed(es_spec: ElasticsearchSpec) -> None:
    assert messages(es_spec, "DELETE", "/old-index", None, {"ignore_unavailable": "true"}) == ""
    # Elasticsearch: "request [/old-index] contains unrecognized parameter: [ignore_unavailble]"
    assert "ignore_unavailble" in messages(es_spec, "DELETE", "/old-index", None, {"ignore_unavailble": "true"})
    # Elasticsearch: "Failed to parse value [yes] as only [true] or [false] are allowed."
    assert "yes" in messages(es_spec, "DELETE", "/old-index", None, {"ignore_unavailable": "yes"})


def test_bulk_bodies_are_read_line_by_line(es_spec: ElasticsearchSpec) -> None:
    good = b'{"index":{"_index":"i","_id":"1"}}\n{"title":"x"}\n{"delete":{"_index":"i","_id":"2"}}\n'
    assert messages(es_spec, "POST", "/_bulk", good) == ""
    # Elasticsearch: "The bulk request must be terminated by a newline [\\n]"
    assert "newline" in messages(es_spec, "POST", "/_bulk", good.rstrip(b"\n"))
    assert "without its source line" in messages(es_spec, "POST", "/_bulk", b'{"index":{"_index":"i"}}\n')
    assert "'upsert'" in messages(es_spec, "POST", "/_bulk", b'{"upsert":{"_index":"i"}}\n{}\n')


def test_a_request_to_no_operation_is_refused(es_spec: ElasticsearchSpec) -> None:
    assert "no operation" in messages(es_spec, "PATCH", "/dmlake-records", {})
    assert "takes no request body" in messages(es_spec, "POST", "/dmlake-records/_refresh", {"x": 1})


def test_responses_are_checked_too(es_spec: ElasticsearchSpec) -> None:
    assert es_spec.response_problems("indices-create", 200, {"acknowledged": True, "shards_acknowledged": True,
                                                             "index": "x"}) == []  # fmt: skip
    assert es_spec.response_problems("indices-create", 200, {"acknowledged": "yes", "index": "x"})
