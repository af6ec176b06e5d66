"""Every request the Elasticsearch backend sends, captured through the client's real transport, validates against
the Elasticsearch 8.17 OpenAPI specification (`../shared/standards/elasticsearch/`).

The requests go to `es_double.ElasticsearchDouble`, a protocol test double on 127.0.0.1: it records requests and
answers as Elasticsearch documents, but searches nothing (its searches answer no hits unless a test scripts them).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from es_double import ElasticsearchDouble, Recorded
from es_openapi import ElasticsearchSpec
from es_testing import ListedResults, assert_valid, es_double, es_index, es_spec, hit, request_problems, sleeps

from indexer.document import FLOAT_FIELDS, INTEGER_FIELDS, index_document
from indexer.elasticsearch_backend import ElasticsearchIndex
from indexer.query import FACETABLE, FIELDS, SORTABLE, Query
from ontology.model import Record

__all__ = ["es_double", "es_index", "es_spec", "sleeps"]  # fixtures

TEXTS = [
    "muon",
    "dark matter",
    '"dark matter"',
    '"neutrino oscillation"~2',
    '"neutrino osc"*',
    "B0->K*mumu",
    "e+e- OR PbPb",
    "13TeV",
    "√s",
    "J/psi -jets",
    "muon AND NOT calibration",
    "jets AND (-muon)",
    "title:higgs description:boson",
    "experiment:CMS",
    'experiment:"CMS Collaboration"',
    "doi:10.5281/zenodo.100003",
    "year:2010",
    "year:[2000 TO 2010]",
    "year:{2000 TO 2010]",
    "year:>2015",
    "sqrt_s_gev:<=7000.5",
    "experiment: IN [CMS ATLAS]",
    "title: IN [muons jets]",
    "title:[a TO c]",
    "doi:*",
    "*",
    "muon^2 jets",
    "(muon OR jets)^0.5 cms",
    "title:,",
    "muon title:,",
    "tiebreak:5",
    '"muon spec"* OR "dark mat"*',
]
FILTERS = [
    [],
    ["experiment=CMS"],
    ["experiment=CMS", "experiment=cms collaboration", "messenger=collider"],
    ["doi=https://doi.org/10.5281/ZENODO.100003", "identifier=arxiv:1207.7214"],
    ["year=2000..2010"],
    ["year=..1999", "sqrt_s_gev=7000..13000", "energy_max_gev=1000.."],
    ["year=2001.5..2003.2"],
    ["size_bytes=-inf..inf"],
    ["year=1e30.."],
    ["file_count=0..0", "availability=on-tape", "license=cc0"],
]
SORTS = [*(s for name in SORTABLE for s in (name, f"-{name}")), ""]


def queries() -> Iterator[Query]:
    for text in TEXTS:
        yield Query.parse(text, size=5)
    for filters in FILTERS:
        yield Query.parse("", filters=filters, facets=[",".join(FACETABLE)], size=3)
    for sort in SORTS:
        yield Query.parse("muon" if sort.lstrip("-") == "relevance" else "", sort=sort, size=2, facets=["year"])
    yield Query.parse("muon", facets=["experiment"], size=0)
    yield Query.parse("", facets=["experiment", "year"], facet_size=0, size=1)
    yield Query(filters=(("year", ("2010", "2011")),), size=4)


@pytest.fixture
def sample_documents(record_factory: Any) -> list[dict[str, Any]]:
    records: list[Record] = [record_factory(i) for i in range(40)]
    documents = [index_document(record) for record in records]
    for sequence, document in enumerate(documents[:10], start=100):
        document["version"] = sequence  # change-feed sequence numbers as external versions
    return documents


def test_the_index_lifecycle_sends_only_valid_requests(
    es_index: ElasticsearchIndex, es_double: ElasticsearchDouble, es_spec: ElasticsearchSpec, sample_documents: Any
) -> None:
    es_index.rebuild(sample_documents)
    es_index.rebuild(sample_documents[:5])  # second build: the alias swap removes the first index's aliases
    es_index.index_documents(sample_documents[5:20])
    es_index.delete([sample_documents[0]["id"], (sample_documents[1]["id"], 7), "never-indexed"])
    es_index.commit()
    es_index.count()
    kinds = {(r.method, r.path.rsplit("/", 1)[-1] if "_" in r.path else "{index}") for r in es_double.requests}
    assert {
        ("PUT", "dmlake-records"),
        ("PUT", "{index}"),
        ("PUT", "_bulk"),
        ("POST", "_refresh"),
        ("POST", "_aliases"),
        ("DELETE", "{index}"),
        ("GET", "dmlake-records"),
        ("POST", "_count"),
    } <= kinds, kinds
    assert_valid(es_spec, es_double.requests)


def test_bulk_lines_carry_external_versions_and_full_documents(
    es_index: ElasticsearchIndex, es_double: ElasticsearchDouble, sample_documents: Any
) -> None:
    es_index.rebuild([])
    es_double.clear()
    es_index.index_documents(sample_documents[:12])
    (bulk,) = es_double.of("PUT", r"/dmlake-records-write/_bulk")
    actions, sources = bulk.lines[0::2], bulk.lines[1::2]
    assert [a["index"]["_id"] for a in actions] == [d["id"] for d in sample_documents[:12]]
    assert all(a["index"]["_index"] == "dmlake-records-write" for a in actions)
    assert [a["index"].get("version") for a in actions] == [*range(100, 110), None, None]
    assert {a["index"].get("version_type") for a in actions[:10]} == {"external"}
    for source, document in zip(sources, sample_documents[:12], strict=True):
        assert "version" not in source
        assert source == {k: v for k, v in document.items() if k != "version" and v is not None and v != []}


def test_every_kind_of_search_sends_a_valid_body(
    es_index: ElasticsearchIndex, es_double: ElasticsearchDouble, es_spec: ElasticsearchSpec
) -> None:
    es_index.ensure()
    es_double.clear()
    for query in queries():
        es_index.search(query)
    searches = es_double.of("POST", r"/dmlake-records/_search")
    assert len(searches) == len(list(queries()))
    used = _query_kinds([r.json["query"] for r in searches])
    assert used >= {
        "bool",
        "match_phrase",
        "match_phrase_prefix",
        "term",
        "terms",
        "range",
        "exists",
        "match_all",
        "match_none",
    }, used
    assert {r.json.get("size") for r in searches} >= {0, 2, 6}
    assert all("from" not in r.json for r in searches)
    assert_valid(es_spec, es_double.requests)


def test_paged_searches_send_valid_pit_and_search_after_bodies(
    es_index: ElasticsearchIndex, es_double: ElasticsearchDouble, es_spec: ElasticsearchSpec
) -> None:
    es_index.ensure()
    for sort in ("-issued", "title", "relevance", "-sqrt_s_gev"):
        es_double.clear()
        levels = len(es_index_sort(sort))
        listed = ListedResults(
            [hit(f"r{i:03d}", [10.0 - i] * (levels - 1) + [f"r{i:03d}"], score=10.0 - i) for i in range(7)], es_double
        )
        es_double.search = listed
        query = Query.parse("muon" if sort == "relevance" else "", sort=sort, size=3, facets=["source"])
        cursor = None
        while True:
            page = es_index.search(query.with_cursor(cursor))
            cursor = page.next_cursor
            if cursor is None:
                break
        assert listed.served == 3
        assert es_double.of("POST", r"/dmlake-records/_pit") and es_double.of("DELETE", r"/_pit")
        assert_valid(es_spec, es_double.requests)


def es_index_sort(sort: str) -> list[Any]:
    from indexer.elasticsearch_query import sort_clauses

    return sort_clauses(sort)


def test_the_double_answers_as_the_specification_documents(
    es_index: ElasticsearchIndex, es_double: ElasticsearchDouble, es_spec: ElasticsearchSpec, sample_documents: Any
) -> None:
    """The double's answers are what Elasticsearch documents, so the backend is tested against realistic replies."""
    es_index.rebuild(sample_documents)
    es_index.rebuild(sample_documents)
    es_index.commit()
    es_index.count()
    es_double.search = ListedResults([hit(f"r{i}", [i, i, f"r{i}"]) for i in range(5)], es_double)
    page = es_index.search(Query.parse("", size=2, facets=["year"]))
    es_index.search(Query.parse("", size=2, cursor=page.next_cursor, facets=["year"]))
    problems = []
    for request in es_double.requests:
        operation = es_spec.operation(request.method, request.path)
        assert operation is not None, request.path
        if request.method == "HEAD" or request.status >= 300:
            continue
        for problem in es_spec.response_problems(operation.operation_id, request.status, request.response):
            problems.append(f"{request.method} {request.path} → {request.status}: {problem}")
    assert not problems, "\n".join(problems)


def test_the_validator_catches_what_elasticsearch_would_refuse(
    es_index: ElasticsearchIndex, es_double: ElasticsearchDouble, es_spec: ElasticsearchSpec, sample_documents: Any
) -> None:
    """The validation above can fail: broken copies of real captured requests are refused, each for its reason."""
    es_index.rebuild(sample_documents[:3])
    es_index.search(Query.parse("muon", filters=["year=2000..2010"], facets=["year"]))
    template = next(r for r in es_double.requests if r.path.startswith("/_index_template/"))
    search = es_double.of("POST", r"/dmlake-records/_search")[0]
    bulk = es_double.of("PUT", r"/dmlake-records-v.*/_bulk")[0]

    def broken(request: Recorded, change: Any) -> list[str]:
        copy = Recorded(
            request.method,
            request.path,
            dict(request.params),
            request.headers,
            request.raw,
            json.loads(json.dumps(request.json)),
            list(request.lines),
        )
        change(copy)
        return request_problems(es_spec, [copy])

    def mistype(r: Recorded) -> None:
        r.json["template"]["mappings"]["properties"]["year"]["type"] = "lnog"

    def misspell(r: Recorded) -> None:
        r.json["template"]["settings"]["index"]["analysis"]["filter"]["dmlake_english_stemmer"]["langauge"] = "en"

    def shortcut_term(r: Recorded) -> None:
        r.json["query"]["bool"]["filter"] = [{"term": {"doi": "10.1/x"}}]

    def size_text(r: Recorded) -> None:
        r.json["size"] = "ten"

    def aggs_alias(r: Recorded) -> None:
        r.json["aggs"] = r.json.pop("aggregations")

    def bad_version_type(r: Recorded) -> None:
        r.lines[0]["index"]["version_type"] = "newest"
        r.raw = b"".join(json.dumps(line).encode() + b"\n" for line in r.lines)

    assert any("lnog" in p for p in broken(template, mistype))
    assert any("langauge" in p for p in broken(template, misspell))
    assert broken(search, shortcut_term)
    assert any("'ten'" in p for p in broken(search, size_text))
    assert any("'aggs'" in p for p in broken(search, aggs_alias))
    assert any("newest" in p for p in broken(bulk, bad_version_type))
    assert es_spec.check_request("POST", "/dmlake-records/_pit", {"keepalive": "1m"})
    assert not request_problems(es_spec, [template, search, bulk])


def _query_kinds(queries: list[Any]) -> set[str]:
    kinds: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in (
                    "bool",
                    "match_phrase",
                    "match_phrase_prefix",
                    "term",
                    "terms",
                    "range",
                    "exists",
                    "match_all",
                    "match_none",
                ):
                    kinds.add(key)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(queries)
    return kinds


def test_numeric_fields_are_searched_as_numbers(es_index: ElasticsearchIndex, es_double: ElasticsearchDouble) -> None:
    es_index.ensure()
    for name, kind in FIELDS.items():
        if kind in ("integer", "float"):
            es_index.search(Query.parse(f"{name}:12", size=1))
    bodies = [r.json["query"] for r in es_double.of("POST", r"/dmlake-records/_search")]
    values = [next(iter(body["bool"]["must"][0]["term"].values()))["value"] for body in bodies]
    numeric = [name for name in FIELDS if name in (*INTEGER_FIELDS, *FLOAT_FIELDS)]
    assert values == [12] * len(numeric)
    assert [type(v) for v in values] == [float if name in FLOAT_FIELDS else int for name in numeric]


def test_the_live_suites_recording_proxy_forwards_requests_and_answers_unchanged(
    es_double: ElasticsearchDouble, sample_documents: Any
) -> None:
    """The live suite validates what the backend sends to a real cluster through `RecordingProxy`: in front of the
    double, it must record exactly what the double receives and hand back exactly what the double answers."""
    from es_proxy import RecordingProxy

    with RecordingProxy(es_double.url) as proxy:
        index = ElasticsearchIndex.from_url(proxy.url)
        index.rebuild(sample_documents[:5])
        es_double.search = ListedResults([hit(f"r{i}", [i, i, f"r{i}"]) for i in range(4)], es_double)
        page = index.search(Query.parse("", size=3, facets=["year"]))
        assert [h.id for h in page.hits] == ["r0", "r1", "r2"] and page.next_cursor
        index.close()
    seen = [(r.method, r.path, r.params, r.raw) for r in proxy.requests]
    assert seen == [(r.method, r.path, r.params, r.raw) for r in es_double.requests]
    assert proxy.requests[3].lines and proxy.requests[-1].json == es_double.requests[-1].json
