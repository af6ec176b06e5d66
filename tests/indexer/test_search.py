"""Filters, ranges, facets and sorts on a 2,000-record index, each checked against a brute-force pass over the
records' documents; plus defaults, size 0 and the errors people get."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from typing import Any

import pytest

from indexer.document import SORT_LEVELS, filter_terms, index_document
from indexer.query import FIELDS, Query, QueryError, Range, SearchResult
from indexer.tantivy_backend import TantivyIndex
from ontology.model import Record


@pytest.fixture(scope="module")
def documents(small_records: list[Record]) -> list[dict[str, Any]]:
    return [index_document(record) for record in small_records]


def walk(index: TantivyIndex, query: Query) -> tuple[list[str], list[SearchResult]]:
    """Every hit of a query, page by page through next_cursor."""
    ids: list[str] = []
    pages = []
    cursor: str | None = None
    while True:
        page = index.search(query.with_cursor(cursor))
        pages.append(page)
        ids.extend(hit.id for hit in page.hits)
        cursor = page.next_cursor
        if cursor is None:
            return ids, pages


def brute_force(documents: list[dict[str, Any]], query: Query) -> list[dict[str, Any]]:
    """The documents a text-less query selects, by reading every document."""

    def keep(document: dict[str, Any]) -> bool:
        for name, values in query.filters:
            wanted = {term for value in values for term in filter_terms(name, value)}
            if not wanted & set(document[name]):
                return False
        for name, bounds in query.ranges:
            value = document[name]
            if value is None:
                return False
            if bounds.low is not None and value < bounds.low:
                return False
            if bounds.high is not None and value > bounds.high:
                return False
        return True

    return [document for document in documents if keep(document)]


def expected_order(documents: Iterable[dict[str, Any]], sort: str) -> list[str]:
    """The documented order: sort value, then tie-break hash, then id; documents without a value last."""
    descending = sort.startswith("-")
    fields = SORT_LEVELS[sort.lstrip("-")]
    present = [d for d in documents if d[fields[0]] is not None]
    missing = [d for d in documents if d[fields[0]] is None]

    def key(document: dict[str, Any]) -> tuple[Any, ...]:
        values = tuple(-document[f] if descending else document[f] for f in fields)
        return (*values, document["tiebreak"], document["id"])

    return [d["id"] for d in sorted(present, key=key)] + [
        d["id"] for d in sorted(missing, key=lambda d: (d["tiebreak"], d["id"]))
    ]


FILTER_CASES = [
    ["experiment=CMS"],
    ["experiment=CMS", "experiment=ATLAS"],
    ["experiment=cms collaboration", "messenger=collider"],
    ["collision_type=proton-proton"],
    ["collision_type=PbPb", "collision_type=pPb", "source=hepdata"],
    ["file_format=root"],
    ["availability=on-tape", "source=zenodo"],
    ["license=cc0"],
    ["keyword=muon", "keyword=WIMP"],
    ["doi=10.5281/ZENODO.100003"],
    ["identifier=10.5281/zenodo.100003"],
    ["experiment=NoSuchExperiment"],
]


@pytest.mark.parametrize("filters", FILTER_CASES, ids=lambda f: " & ".join(f))
def test_filters_or_within_a_field_and_across_fields(
    small_index: TantivyIndex, documents: list[dict[str, Any]], filters: list[str]
) -> None:
    query = Query.parse(filters=filters, size=500)
    expected = {d["id"] for d in brute_force(documents, query)}
    ids, pages = walk(small_index, query)
    assert pages[0].total == len(expected)
    assert len(ids) == len(set(ids))
    assert set(ids) == expected


def test_filter_cases_are_not_trivial(documents: list[dict[str, Any]]) -> None:
    sizes = [len(brute_force(documents, Query.parse(filters=f))) for f in FILTER_CASES]
    assert all(0 < size < len(documents) for size in sizes[:-1]), sizes
    assert sizes[-1] == 0
    assert sizes[1] > sizes[0]  # OR widens
    assert sizes[2] <= sizes[0]  # AND narrows


RANGE_CASES = [
    ["year=2000..2005"],
    ["year=..1999"],
    ["year=2020.."],
    ["year=2001.5..2003.2"],
    ["year=2010"],
    ["sqrt_s_gev=7000..13000"],
    ["sqrt_s_gev=..900"],
    ["energy_min_gev=..0.001"],
    ["energy_max_gev=1000.."],
    ["size_bytes=1000000..", "file_count=2..2"],
    ["file_count=0..0"],
    ["year=2000..2010", "experiment=CMS", "sqrt_s_gev=13000.."],
]


@pytest.mark.parametrize("filters", RANGE_CASES, ids=lambda f: " & ".join(f))
def test_ranges_are_inclusive_and_may_be_open(
    small_index: TantivyIndex, documents: list[dict[str, Any]], filters: list[str]
) -> None:
    query = Query.parse(filters=filters, size=1000)
    expected = brute_force(documents, query)
    assert 0 < len(expected) < len(documents)
    ids, pages = walk(small_index, query)
    assert pages[0].total == len(expected)
    assert sorted(ids) == sorted(d["id"] for d in expected)


def test_integer_range_bounds_round_inwards(small_index: TantivyIndex, documents: list[dict[str, Any]]) -> None:
    query = Query.parse(filters=["year=2001.5..2003.2"], size=1000)
    years = Counter(small_index_doc["year"] for small_index_doc in brute_force(documents, query))
    assert set(years) == {2002, 2003}
    assert small_index.search(query).total == sum(years.values())


def test_a_range_with_nothing_inside_is_empty(small_index: TantivyIndex) -> None:
    query = Query(ranges=(("year", Range(2001.2, 2001.8)),))
    assert small_index.search(query).total == 0


def test_a_numeric_value_filter_is_an_exact_match(small_index: TantivyIndex, documents: list[dict[str, Any]]) -> None:
    query = Query(filters=(("year", ("2010", "2011")),), size=0)
    assert small_index.search(query).total == sum(1 for d in documents if d["year"] in (2010, 2011))
    with pytest.raises(QueryError, match="not a number"):
        small_index.search(Query(filters=(("year", ("recent",)),)))


FACETS = ("experiment", "messenger", "year", "file_format", "availability", "source", "license", "collision_type",
          "keyword", "doi", "resource_type")  # fmt: skip


@pytest.mark.parametrize(
    ("text", "filters"),
    [("", []), ("", ["experiment=CMS", "experiment=LHCb"]), ("", ["year=2000..2010", "file_format=csv"]),
     ("muon", []), ("dark matter", ["source=zenodo"])],
)  # fmt: skip
def test_facet_counts_equal_a_brute_force_count(
    small_index: TantivyIndex, documents: list[dict[str, Any]], text: str, filters: list[str]
) -> None:
    query = Query.parse(text, filters=filters, facets=[",".join(FACETS)], size=1000, facet_size=5000)
    ids, pages = walk(small_index, query)
    result = pages[0]
    selected = [d for d in documents if d["id"] in set(ids)]
    if not text:
        assert {d["id"] for d in selected} == {d["id"] for d in brute_force(documents, query)}
    assert len(selected) == result.total > 0
    for name in FACETS:
        counts: Counter[str] = Counter()
        for document in selected:
            value = document[name]
            if isinstance(value, list):
                counts.update(set(value))
            elif value is not None:
                counts[str(value)] += 1
        shown = {v.value: v.count for v in result.facets[name]}
        assert shown == dict(counts), name
        order = [(-v.count, v.value) for v in result.facets[name]]
        assert order == sorted(order), name
    # the same facets on every page of the walk
    assert all(page.facets == result.facets for page in pages)


def test_facet_size_keeps_the_largest_values(small_index: TantivyIndex, documents: list[dict[str, Any]]) -> None:
    result = small_index.search(Query.parse(facets=["experiment", "year"], facet_size=3, size=0))
    experiments = Counter(e for d in documents for e in d["experiment"])
    expected = sorted(experiments.items(), key=lambda item: (-item[1], item[0]))[:3]
    assert [(v.value, v.count) for v in result.facets["experiment"]] == expected
    assert len(result.facets["year"]) == 3


SORTS = ["issued", "-issued", "title", "-title", "year", "-year", "size_bytes", "-size_bytes", "sqrt_s_gev",
         "-sqrt_s_gev", "modified", "-modified"]  # fmt: skip


@pytest.mark.parametrize("sort", SORTS)
def test_field_sorts_walk_the_documented_order(
    small_index: TantivyIndex, documents: list[dict[str, Any]], sort: str
) -> None:
    ids, pages = walk(small_index, Query.parse(sort=sort, size=137))
    assert ids == expected_order(documents, sort)
    assert all(hit.score is None for page in pages for hit in page.hits)
    assert all(page.total == len(documents) for page in pages)
    assert all(len(page.hits) == 137 for page in pages[:-1])


@pytest.mark.parametrize("sort", ["title", "-issued", "-sqrt_s_gev"])
def test_field_sorts_with_filters(small_index: TantivyIndex, documents: list[dict[str, Any]], sort: str) -> None:
    query = Query.parse(filters=["experiment=CMS", "experiment=XENON", "year=..2015"], sort=sort, size=50)
    ids, _ = walk(small_index, query)
    assert ids == expected_order(brute_force(documents, query), sort)


def test_sorted_hits_show_their_values_in_order(small_index: TantivyIndex) -> None:
    result = small_index.search(Query.parse(sort="-year", size=300))
    years = [hit.fields["year"] for hit in result.hits]
    assert years == sorted(years, reverse=True)
    result = small_index.search(Query.parse(sort="size_bytes", size=300, filters=["size_bytes=0.."]))
    sizes = [hit.fields["size_bytes"] for hit in result.hits]
    assert sizes == sorted(sizes)


def test_default_sorts(small_index: TantivyIndex, documents: list[dict[str, Any]]) -> None:
    newest = small_index.search(Query.parse(size=20))
    assert [h.id for h in newest.hits] == expected_order(documents, "-issued")[:20]
    ranked = small_index.search(Query.parse("muon", size=200))
    scores = [hit.score for hit in ranked.hits]
    assert all(score is not None and score > 0 for score in scores)
    assert scores == sorted(scores, reverse=True)  # type: ignore[type-var]


def test_hits_carry_the_summary(small_index: TantivyIndex, small_records: list[Record]) -> None:
    record = next(r for r in small_records if r.doi and r.distributions and r.issued)
    result = small_index.search(Query.parse(filters=[f"doi={record.doi}"]))
    assert result.total == 1
    body = result.to_json()["hits"][0]
    assert body["id"] == record.id
    assert body["score"] is None
    assert body["title"] == record.title
    assert body["doi"] == record.doi
    assert body["issued"] == record.issued
    assert body["year"] == int(record.issued[:4])  # type: ignore[index]
    assert body["file_count"] == len(record.distributions)
    assert body["size_bytes"] == sum(d.size_bytes or 0 for d in record.distributions)
    assert body["experiments"] == [e.label for e in record.experiments]


def test_size_zero_counts_and_facets_without_hits(small_index: TantivyIndex, documents: list[dict[str, Any]]) -> None:
    for sort in ("-issued", "relevance"):
        result = small_index.search(Query.parse("muon" if sort == "relevance" else "", facets=["source"], size=0))
        assert result.hits == [] and result.next_cursor is None
        assert result.total > 0 and sum(v.count for v in result.facets["source"]) == result.total


def test_count(small_index: TantivyIndex, documents: list[dict[str, Any]]) -> None:
    assert small_index.count() == len(documents)


# ---- errors -----------------------------------------------------------------------------------------------------


def test_a_syntax_error_names_its_position(small_index: TantivyIndex) -> None:
    with pytest.raises(QueryError) as caught:
        small_index.search(Query.parse("higgs AND ("))
    error = caught.value
    assert error.parameter == "q"
    assert error.position == 11
    assert "position 11" in error.message
    assert error.hint and "quote" in error.hint


def test_an_unknown_field_in_the_text_is_named(small_index: TantivyIndex) -> None:
    with pytest.raises(QueryError) as caught:
        small_index.search(Query.parse("muon nosuchfield:x"))
    assert "nosuchfield" in caught.value.message
    assert caught.value.position == 5
    assert caught.value.hint and "title" in caught.value.hint


def test_field_syntax_in_the_text(small_index: TantivyIndex, documents: list[dict[str, Any]]) -> None:
    in_title = small_index.search(Query.parse("title:muon", size=0)).total
    assert in_title == sum(1 for d in documents if "muon" in d["title"][0].lower())
    exact = small_index.search(Query.parse("experiment:CMS", size=0)).total
    assert exact == sum(1 for d in documents if "CMS" in d["experiment"])


@pytest.mark.parametrize("cursor", ["not base64 !", "bm90IGpzb24", "WzEsMiwzXQ"])
def test_a_foreign_cursor_is_refused(small_index: TantivyIndex, cursor: str) -> None:
    with pytest.raises(QueryError) as caught:
        small_index.search(Query.parse(sort="title", cursor=cursor))
    assert caught.value.parameter == "cursor"


def test_a_cursor_only_continues_its_own_query(small_index: TantivyIndex) -> None:
    first = small_index.search(Query.parse(filters=["experiment=CMS"], sort="title", size=5))
    assert first.next_cursor
    with pytest.raises(QueryError, match="different query"):
        small_index.search(Query.parse(filters=["experiment=ATLAS"], sort="title", cursor=first.next_cursor))
    with pytest.raises(QueryError, match="another sort"):
        small_index.search(Query.parse(filters=["experiment=CMS"], sort="-title", cursor=first.next_cursor))
    # page size and facets may change between pages
    second = small_index.search(
        Query.parse(filters=["experiment=CMS"], sort="title", size=7, facets=["year"], cursor=first.next_cursor)
    )
    assert len(second.hits) == 7 and second.facets["year"]


def test_a_tampered_field_cursor_is_refused(small_index: TantivyIndex) -> None:
    from indexer.query import decode_cursor, encode_cursor

    first = small_index.search(Query.parse(sort="title", size=5))
    state = decode_cursor(first.next_cursor or "")
    state["k"] = state["k"][:2]
    with pytest.raises(QueryError, match="malformed"):
        small_index.search(Query.parse(sort="title", cursor=encode_cursor(state)))


def test_every_field_is_filterable(small_index: TantivyIndex, documents: list[dict[str, Any]]) -> None:
    for name, kind in FIELDS.items():
        if kind in ("integer", "float"):
            query = Query.parse(filters=[f"{name}=-{math.inf}..{math.inf}"], size=0)
            expected = sum(1 for d in documents if d[name] is not None)
        else:
            value = next((d[name][0] for d in documents if d[name]), "x")
            query = Query.parse(filters=[f"{name}={value}"], size=0)
            expected = sum(1 for d in documents if value in d[name])
        assert small_index.search(query).total == expected, name


def test_out_of_range_numbers(small_index: TantivyIndex) -> None:
    assert small_index.search(Query.parse(filters=["year=1e30.."], size=0)).total == 0
    assert small_index.search(Query.parse(filters=["year=..-1e30"], size=0)).total == 0
    assert small_index.search(Query.parse(filters=["year=-1e30..1e30"], size=0)).total > 0
    with pytest.raises(QueryError, match="NaN"):
        small_index.search(Query.parse(filters=["year=nan"]))
