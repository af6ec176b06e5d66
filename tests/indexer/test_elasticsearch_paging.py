"""Deep paging with search_after in a point in time, cursors, hits and facets, and the alias swap of a rebuild.

The cluster is `es_double.ElasticsearchDouble`. For paging, a `ListedResults` responder holds hits already in order
and answers each request with the hits after the position its `search_after` names: it checks what the backend
asks for and how it stitches pages together, not how Elasticsearch ranks (the live suite does that).
"""

from __future__ import annotations

from typing import Any

import pytest
from es_double import ElasticsearchDouble, Recorded, empty_search
from es_openapi import ElasticsearchSpec
from es_testing import ListedResults, Sleeps, assert_valid, es_double, es_index, es_spec, hit, sleeps

from indexer.elasticsearch_backend import ElasticsearchIndex, IndexMissingError
from indexer.elasticsearch_bulk import BulkIndexError
from indexer.elasticsearch_query import sort_clauses
from indexer.query import Query, QueryError, decode_cursor, encode_cursor

__all__ = ["es_double", "es_index", "es_spec", "sleeps"]  # fixtures


def listed(count: int, sort: str, *, shard_doc: bool = False) -> list[dict[str, Any]]:
    """`count` hits in the order of `sort`, each with that sort's values (plus `_shard_doc` if asked)."""
    levels = len(sort_clauses(sort))
    out = []
    for i in range(count):
        doc_id = f"https://w3id.org/dmlake/record/zenodo/{i:05d}"
        values: list[Any] = [10.0 - i / count] if sort == "relevance" else [i] * (levels - 2)
        values += [i * 7919, doc_id]
        if shard_doc:
            values.append(i)
        out.append(hit(doc_id, values, score=values[0] if sort == "relevance" else None, title=f"Record {i}"))
    return out


def walk(index: ElasticsearchIndex, query: Query) -> tuple[list[str], list[Any]]:
    ids: list[str] = []
    pages = []
    cursor = None
    while True:
        page = index.search(query.with_cursor(cursor))
        pages.append(page)
        ids.extend(h.id for h in page.hits)
        cursor = page.next_cursor
        if cursor is None:
            return ids, pages


def test_a_walk_past_ten_thousand_hits_uses_search_after_in_one_point_in_time(
    es_index: ElasticsearchIndex, es_double: ElasticsearchDouble, es_spec: ElasticsearchSpec
) -> None:
    es_index.ensure()
    es_double.clear()
    hits = listed(12_345, "-issued")
    es_double.search = ListedResults(hits, es_double)
    ids, pages = walk(es_index, Query.parse("", sort="-issued", size=1000))
    assert ids == [h["_id"] for h in hits]  # each once, in order, past the 10,000 of from/size paging
    assert len(pages) == 13 and all(p.total == 12_345 for p in pages)
    first, *rest = es_double.of("POST", r"/(dmlake-records/)?_search")
    assert first.path == "/dmlake-records/_search" and "pit" not in first.json and "search_after" not in first.json
    assert len(es_double.of("POST", r"/dmlake-records/_pit")) == 1  # opened once, for the second page
    assert es_double.of("POST", r"/dmlake-records/_pit")[0].params == {"keep_alive": "10m"}
    previous = first
    for request in rest:
        assert request.path == "/_search"  # a PIT search names no index
        assert request.json["pit"]["keep_alive"] == "10m"
        assert request.json["search_after"] == previous.response["hits"]["hits"][999]["sort"]
        assert request.json["size"] == 1001
        previous = request
    # each answer may hand out a new PIT id: the next page uses the newest, and the last one is closed
    assert [r.json["pit"]["id"] for r in rest[1:]] == [r.response["pit_id"] for r in rest[:-1]]
    (closed,) = es_double.of("DELETE", r"/_pit")
    assert closed.json == {"id": rest[-1].response["pit_id"]}
    assert not any("from" in r.json for r in es_double.requests if r.json)
    assert_valid(es_spec, es_double.requests)


def test_the_implicit_shard_doc_tiebreaker_is_left_out_of_the_cursor(
    es_index: ElasticsearchIndex, es_double: ElasticsearchDouble
) -> None:
    es_index.ensure()
    hits = listed(9, "title", shard_doc=True)
    es_double.search = ListedResults(hits, es_double)
    ids, _ = walk(es_index, Query.parse("", sort="title", size=4))
    assert len(ids) == 9
    continued = [r for r in es_double.of("POST", r"/_search")]
    assert continued and all(len(r.json["search_after"]) == len(sort_clauses("title")) for r in continued)


def test_an_expired_point_in_time_continues_a_field_walk_in_a_new_one(
    es_index: ElasticsearchIndex, es_double: ElasticsearchDouble
) -> None:
    es_index.ensure()
    hits = listed(30, "title")
    es_double.search = ListedResults(hits, es_double)
    first = es_index.search(Query.parse("", sort="title", size=8))
    second = es_index.search(Query.parse("", sort="title", size=8, cursor=first.next_cursor))
    es_double.pits.clear()  # keep_alive passed: the cluster freed every point in time
    third = es_index.search(Query.parse("", sort="title", size=8, cursor=second.next_cursor))
    assert [h.id for h in third.hits] == [h["_id"] for h in hits[16:24]]
    assert len(es_double.of("POST", r"/dmlake-records/_pit")) == 2
    fourth = es_index.search(Query.parse("", sort="title", size=8, cursor=third.next_cursor))
    assert [h.id for h in fourth.hits] == [h["_id"] for h in hits[24:]] and fourth.next_cursor is None


def test_an_expired_point_in_time_ends_a_relevance_walk(
    es_index: ElasticsearchIndex, es_double: ElasticsearchDouble
) -> None:
    es_index.ensure()
    es_double.search = ListedResults(listed(30, "relevance"), es_double)
    first = es_index.search(Query.parse("muon", size=10))
    second = es_index.search(Query.parse("muon", size=10, cursor=first.next_cursor))
    es_double.pits.clear()
    with pytest.raises(QueryError, match="cursor expired") as caught:
        es_index.search(Query.parse("muon", size=10, cursor=second.next_cursor))
    assert caught.value.parameter == "cursor" and caught.value.hint and "sort by a field" in caught.value.hint


def test_a_relevance_walk_refuses_to_continue_over_a_changed_result_set(
    es_index: ElasticsearchIndex, es_double: ElasticsearchDouble
) -> None:
    es_index.ensure()
    hits = listed(30, "relevance")
    es_double.search = ListedResults(hits, es_double)
    first = es_index.search(Query.parse("muon", size=10))
    added = hit("https://w3id.org/dmlake/record/zenodo/new", [0.5, 1, "new"], score=0.5)
    es_double.search = ListedResults([*hits, added], es_double)  # a commit added a match in between
    with pytest.raises(QueryError, match="index changed"):
        es_index.search(Query.parse("muon", size=10, cursor=first.next_cursor))
    assert es_double.of("DELETE", r"/_pit")  # the walk's point in time is released
    # same matches, but the collection's statistics moved every score a little
    moved = [dict(h, _score=h["_score"] * 1.01, sort=[h["sort"][0] * 1.01, *h["sort"][1:]]) for h in hits]
    es_double.search = ListedResults(moved, es_double)
    with pytest.raises(QueryError, match="index changed"):
        es_index.search(Query.parse("muon", size=10, cursor=first.next_cursor))
    es_double.search = ListedResults(hits, es_double)  # unchanged: the walk continues
    assert es_index.search(Query.parse("muon", size=10, cursor=first.next_cursor)).hits


def test_a_relevance_walk_is_ranked_by_score_then_tiebreak_then_id(
    es_index: ElasticsearchIndex, es_double: ElasticsearchDouble
) -> None:
    es_index.ensure()
    hits = listed(25, "relevance")
    es_double.search = ListedResults(hits, es_double)
    ids, pages = walk(es_index, Query.parse("muon", size=10))
    assert ids == [h["_id"] for h in hits]
    first = es_double.of("POST", r"/dmlake-records/_search")[0]
    assert first.json["sort"] == [
        {"_score": {"order": "desc"}},
        {"tiebreak": {"order": "asc"}},
        {"id": {"order": "asc"}},
    ]
    scores = [h.score for p in pages for h in p.hits]
    assert scores == [h["_score"] for h in hits]
    # the first continuation starts at the first page's last hit, to see it unchanged in the new point in time
    second, third = es_double.of("POST", r"/_search")
    assert second.json["search_after"] == [*hits[9]["sort"][:2], ""] and second.json["size"] == 12
    assert third.json["search_after"] == hits[19]["sort"] and third.json["size"] == 11


@pytest.mark.parametrize("sort", ["issued", "-issued", "title", "-year", "size_bytes", "-sqrt_s_gev", "modified"])
def test_field_sorts_end_with_the_tiebreak_and_the_id_and_put_missing_values_last(
    es_index: ElasticsearchIndex, es_double: ElasticsearchDouble, sort: str
) -> None:
    es_index.ensure()
    es_index.search(Query.parse("", sort=sort, size=3))
    (request,) = es_double.of("POST", r"/dmlake-records/_search")
    *levels, tiebreak, doc_id = request.json["sort"]
    order = "desc" if sort.startswith("-") else "asc"
    assert levels and all(next(iter(level.values())) == {"order": order, "missing": "_last"} for level in levels)
    assert tiebreak == {"tiebreak": {"order": "asc"}} and doc_id == {"id": {"order": "asc"}}


def test_hits_carry_the_summary_and_facets_are_ordered_by_count_then_value(
    es_index: ElasticsearchIndex, es_double: ElasticsearchDouble
) -> None:
    def answer(request: Recorded) -> Any:
        response = empty_search(request.json)
        summary = {"title": "Higgs", "source": "cernopendata", "year": 2012, "doi": None, "extra": "not shown"}
        response["hits"] = {
            "total": {"value": 2, "relation": "eq"},
            "max_score": None,
            "hits": [
                {
                    "_index": "i",
                    "_id": "r1",
                    "_score": None,
                    "_source": {"id": "r1", "summary": summary},
                    "sort": [1, 2, "r1"],
                }
            ],
        }
        response["aggregations"]["year"]["buckets"] = [
            {"key": 2011, "doc_count": 5},
            {"key": 2012, "doc_count": 7},
            {"key": 2010, "doc_count": 5},
            {"key": 2013, "doc_count": 1},
        ]
        response["aggregations"]["experiment"]["buckets"] = [{"key": "CMS", "doc_count": 2}]
        return 200, response

    es_index.ensure()
    es_double.search = answer
    result = es_index.search(Query.parse("", facets=["year,experiment"], facet_size=3, size=5))
    (request,) = es_double.of("POST", r"/dmlake-records/_search")
    assert request.json["aggregations"]["year"] == {
        "terms": {"field": "year", "size": 13, "order": [{"_count": "desc"}, {"_key": "asc"}]}
    }
    assert [(v.value, v.count) for v in result.facets["year"]] == [("2012", 7), ("2010", 5), ("2011", 5)]
    assert [(v.value, v.count) for v in result.facets["experiment"]] == [("CMS", 2)]
    (only,) = result.hits
    assert only.id == "r1" and only.score is None
    assert only.fields["title"] == "Higgs" and only.fields["year"] == 2012 and "extra" not in only.fields
    assert set(only.fields) >= {"title", "source", "experiments", "issued", "doi", "description"}
    assert result.total == 2 and result.next_cursor is None


def test_size_zero_counts_and_facets_in_one_request(
    es_index: ElasticsearchIndex, es_double: ElasticsearchDouble
) -> None:
    es_index.ensure()
    result = es_index.search(Query.parse("muon", facets=["source"], size=0))
    assert result.hits == [] and result.next_cursor is None
    (request,) = [r for r in es_double.requests if r.path.endswith("_search")]
    assert request.json["size"] == 0 and "sort" not in request.json and "_source" not in request.json
    assert "source" in request.json["aggregations"]
    assert not es_double.of("POST", r".*/_pit")


def test_cursors_are_checked_as_the_embedded_backend_checks_them(
    es_index: ElasticsearchIndex, es_double: ElasticsearchDouble
) -> None:
    es_index.ensure()
    es_double.search = ListedResults(listed(20, "title"), es_double)
    first = es_index.search(Query.parse("", filters=["experiment=CMS"], sort="title", size=5))
    assert first.next_cursor
    for cursor in ("not base64 !", "bm90IGpzb24", "WzEsMiwzXQ"):
        with pytest.raises(QueryError) as caught:
            es_index.search(Query.parse("", sort="title", cursor=cursor))
        assert caught.value.parameter == "cursor"
    with pytest.raises(QueryError, match="different query"):
        es_index.search(Query.parse("", filters=["experiment=ATLAS"], sort="title", cursor=first.next_cursor))
    with pytest.raises(QueryError, match="another sort"):
        es_index.search(Query.parse("", filters=["experiment=CMS"], sort="-title", cursor=first.next_cursor))
    state = decode_cursor(first.next_cursor)
    for tampered in ({**state, "k": state["k"][:2]}, {**state, "pit": 5}, {**state, "k": [True] * len(state["k"])}):
        with pytest.raises(QueryError, match="malformed"):
            es_index.search(Query.parse("", filters=["experiment=CMS"], sort="title", cursor=encode_cursor(tampered)))
    # page size and facets may change between pages
    second = es_index.search(
        Query.parse("", filters=["experiment=CMS"], sort="title", size=7, facets=["year"], cursor=first.next_cursor)
    )
    assert len(second.hits) == 7


def test_a_rebuild_fills_a_new_index_and_swaps_both_aliases_at_once(
    es_index: ElasticsearchIndex, es_double: ElasticsearchDouble, es_spec: ElasticsearchSpec
) -> None:
    docs = [{"id": f"r{i}", "title": ["x"], "summary": {"title": "x"}} for i in range(5)]
    first = es_index.rebuild(docs)
    assert first.previous == () and first.stats.indexed == 5
    assert es_double.aliases == {first.index: {"dmlake-records": {}, "dmlake-records-write": {"is_write_index": True}}}
    es_double.clear()
    second = es_index.rebuild(docs)
    assert second.previous == (first.index,) and second.index != first.index
    steps = [(r.method, r.path) for r in es_double.requests]
    assert steps == [
        ("PUT", "/_index_template/dmlake-records"),
        ("GET", "/_alias/dmlake-records"),
        ("PUT", f"/{second.index}"),
        ("PUT", f"/{second.index}/_bulk"),  # filled directly, while the aliases still serve the old index
        ("POST", f"/{second.index}/_refresh"),
        ("POST", "/_aliases"),
        ("DELETE", f"/{first.index}"),
    ]
    (swap,) = es_double.of("POST", r"/_aliases")
    assert swap.json == {
        "actions": [
            {"remove": {"index": first.index, "alias": "dmlake-records"}},
            {"remove": {"index": first.index, "alias": "dmlake-records-write"}},
            {"add": {"index": second.index, "alias": "dmlake-records"}},
            {"add": {"index": second.index, "alias": "dmlake-records-write", "is_write_index": True}},
        ]
    }
    assert set(es_double.indices) == {second.index}
    created = es_double.of("PUT", f"/{second.index}")[0].json
    assert created["mappings"]["dynamic"] == "strict" and created["settings"]["index"]["refresh_interval"] == "-1"
    assert_valid(es_spec, es_double.requests)


def test_a_failed_rebuild_leaves_the_old_index_in_service(
    es_index: ElasticsearchIndex, es_double: ElasticsearchDouble, sleeps: Sleeps
) -> None:
    docs = [{"id": f"r{i}", "title": ["x"], "summary": {}} for i in range(5)]
    live = es_index.rebuild(docs).index
    aliases = {k: dict(v) for k, v in es_double.aliases.items()}

    def refuse(request: Recorded) -> Any:
        items = [
            {
                "index": {
                    "_index": "x",
                    "_id": line["index"]["_id"],
                    "status": 400,
                    "error": {"type": "document_parsing_exception", "reason": "failed to parse field [title]"},
                }
            }
            for line in request.lines[0::2]
        ]
        return 200, {"took": 1, "errors": True, "items": items}

    es_double.bulk = refuse
    with pytest.raises(BulkIndexError):
        es_index.rebuild(docs)
    assert es_double.aliases == aliases and set(es_double.indices) == {live}


def test_ensure_creates_the_first_index_once(es_index: ElasticsearchIndex, es_double: ElasticsearchDouble) -> None:
    name = es_index.ensure()
    assert es_double.aliases[name] == {"dmlake-records": {}, "dmlake-records-write": {"is_write_index": True}}
    es_double.clear()
    assert ElasticsearchIndex.from_url(es_double.url).ensure() == name
    assert [(r.method, r.path) for r in es_double.requests] == [("GET", "/_alias/dmlake-records")]


def test_searching_before_anything_was_indexed_says_what_to_do(es_index: ElasticsearchIndex) -> None:
    with pytest.raises(IndexMissingError, match="dmlake index rebuild"):
        es_index.search(Query.parse("muon"))
    with pytest.raises(IndexMissingError):
        es_index.count()
