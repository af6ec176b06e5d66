"""Ranges on few-valued numeric fields run as term sets (`indexer.tantivy_ranges`) and field-sorted first pages
counted in the same pass or read from the first values only: the same hits, scores, totals and order as the long
way."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tantivy

import indexer.tantivy_ranges as tantivy_ranges
from indexer.document import SORT_LEVELS, index_document
from indexer.query import Query
from indexer.query_text import search_text
from indexer.tantivy_backend import TantivyIndex, View
from indexer.tantivy_paging import Plans, SearchAfter, count_hits
from indexer.tantivy_ranges import Bounds, RangePlanner
from ontology.model import Record

TEXTS = [
    "year:[2000 TO 2010]",
    "year:{2000 TO 2010}",
    "year:[2000 TO 2010} muon",
    "muon year:>2015",
    "year:>=2015 OR title:jet",
    "-year:<=1999 dark matter",
    "year:[* TO 2003]",
    "year:[2020 TO *]",
    "year:[2030 TO 2040]",
    "year:[2000 TO 2010]^3 muon",
    "energy:[1 TeV TO 100 TeV]",
    "energy:13TeV",
    "energy:>=10TeV",
    "energy:<=1MeV",
    "experiment:cms energy:[1 GeV TO 1 PeV]",
    "sqrt_s:13TeV jets",
    "sqrt_s_gev:<7000",
    "date:[2015 TO 2018-06]",
    '"open data" date:>=2016',
    "date:<2001-03",
    "file_count:[1 TO 2]",
]
FILTERS = [
    ["year=2000..2010"],
    ["year=2005"],
    ["year=2031"],
    ["sqrt_s=7TeV"],
    ["sqrt_s_gev=900"],
    ["energy=1GeV..1PeV"],
    ["date=2010..2016"],
    ["date=2010-06-15..2011-03"],
    ["file_count=1..3", "year=..2012"],
    ["energy=..10keV", "date=2001.."],
]


@pytest.fixture(scope="module")
def documents(small_records: list[Record]) -> list[dict[str, Any]]:
    return [index_document(record) for record in small_records]


def current(index: TantivyIndex) -> View:
    return View(*index._pinned_searcher())


def ranked(index: TantivyIndex, query: Query) -> tuple[int, list[tuple[str, float | None]]]:
    result = index.search(query)
    return result.total, [(hit.id, None if hit.score is None else round(hit.score, 5)) for hit in result.hits]


def without_sets(index: TantivyIndex, patch: pytest.MonkeyPatch) -> None:
    patch.setattr(index._ranges, "with_sets", lambda _searcher, _state, text: text)
    patch.setattr(index._ranges, "range_set", lambda *_args: None)
    patch.setattr(index._ranges, "head", lambda *_args, **_kwargs: None)


@pytest.mark.parametrize("text", TEXTS)
def test_ranges_in_the_search_text_find_the_same_hits_with_the_same_scores_as_sets(
    small_index: TantivyIndex, text: str
) -> None:
    query = Query.parse(text, size=1000)
    planned = small_index._planned(search_text(text), current(small_index))
    assert " IN [" in planned, planned  # the range did become a set
    as_sets = ranked(small_index, query)
    with pytest.MonkeyPatch.context() as patch:
        without_sets(small_index, patch)
        pruned = small_index._pruned(search_text(text), current(small_index))
        assert small_index._planned(search_text(text), current(small_index)) == small_index._phrases.rewrite(pruned)
        as_ranges = ranked(small_index, query)
    assert as_sets == as_ranges
    assert as_sets[0] == len(as_sets[1]) or len(as_sets[1]) == 1000


@pytest.mark.parametrize("filters", FILTERS)
@pytest.mark.parametrize("sort", ["", "-issued", "year"])
def test_range_filters_as_sets_find_the_same_hits_in_the_same_order(
    small_index: TantivyIndex, filters: list[str], sort: str
) -> None:
    query = Query.parse("muon" if sort == "" else "", filters=filters, sort=sort or None, size=300)
    as_sets = ranked(small_index, query)
    with pytest.MonkeyPatch.context() as patch:
        without_sets(small_index, patch)
        as_ranges = ranked(small_index, query)
    assert as_sets == as_ranges


def test_a_range_filter_becomes_a_term_set_of_the_values_inside_it(small_index: TantivyIndex) -> None:
    view = current(small_index)
    planner = small_index._ranges
    column = planner.column(view.searcher, view.index_state, "year")
    assert column is not None and list(column.values) == sorted(column.values)
    assert sum(column.counts) == column_total(small_index, "year")
    as_set = planner.range_set(view.searcher, view.index_state, small_index._schema, "year", Bounds(2000, 2010))
    assert as_set is not None and "TermSetQuery" in str(as_set)
    assert len(str(as_set).split("type=I64")) - 1 == sum(1 for value in column.values if 2000 <= value <= 2010)
    nothing = planner.range_set(view.searcher, view.index_state, small_index._schema, "year", Bounds(1000, 1100))
    assert nothing is not None and count_hits(view.searcher, nothing) == 0


def column_total(index: TantivyIndex, field: str) -> int:
    """Documents holding a value of `field`, counted by tantivy itself."""
    searcher = index._pinned_searcher()[0]
    return count_hits(searcher, tantivy.Query.exists_query(field))


def test_the_rewrite_touches_only_range_clauses_on_few_valued_numeric_fields(small_index: TantivyIndex) -> None:
    view = current(small_index)

    def planned(text: str) -> str:
        return small_index._ranges.with_sets(view.searcher, view.index_state, text)

    assert planned('"year:[2000 TO 2010]"') == '"year:[2000 TO 2010]"'  # a phrase's words
    assert planned("title:[a TO b]") == "title:[a TO b]"  # not a numeric field
    assert planned("tiebreak:>5") == "tiebreak:>5"  # a sort key of unique values: not eligible
    assert planned("year:[2000.5 TO 2010]") == "year:[2000.5 TO 2010]"  # left to tantivy, which refuses it
    assert planned("year: [2000 TO 2010]") == "year: [2000 TO 2010]"  # written otherwise: stays a range
    rewritten = planned("year:{2000 TO 2003] OR (muon AND year:<1996)")
    years = sorted({int(document["year"]) for document in _all_years(small_index)})
    inside = " ".join(str(y) for y in years if 2000 < y <= 2003)
    below = " ".join(str(y) for y in years if y < 1996)
    assert rewritten == f"year: IN [{inside}] OR (muon AND year: IN [{below}])"
    assert planned("year:[1 TO 2]") == "year: IN []"
    assert count_hits(view.searcher, small_index._text_query("year: IN []")) == 0


def _all_years(index: TantivyIndex) -> Iterator[dict[str, Any]]:
    searcher = index._pinned_searcher()[0]
    result = searcher.aggregate(tantivy.Query.all_query(), {"y": {"terms": {"field": "year", "size": 1000}}})
    for bucket in result["y"]["buckets"]:
        yield {"year": bucket["key"]}


def test_a_field_with_too_many_values_keeps_its_ranges(small_index: TantivyIndex) -> None:
    planner = RangePlanner()
    view = current(small_index)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tantivy_ranges, "MAX_VALUES", 3)
        assert planner.column(view.searcher, view.index_state, "year") is None
        assert planner.with_sets(view.searcher, view.index_state, "year:[2000 TO 2010]") == "year:[2000 TO 2010]"
    assert RangePlanner().with_sets(view.searcher, None, "year:[2000 TO 2010]") == "year:[2000 TO 2010]"


def test_a_set_longer_than_the_limit_stays_a_range(small_index: TantivyIndex) -> None:
    planner = RangePlanner()
    view = current(small_index)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tantivy_ranges, "MAX_SET", 2)
        assert planner.with_sets(view.searcher, view.index_state, "year:[2000 TO 2010]") == "year:[2000 TO 2010]"
        assert planner.with_sets(view.searcher, view.index_state, "year:[2000 TO 2001]").startswith("year: IN [")


def test_tantivy_orders_documents_without_the_sort_value_last_in_both_directions(tmp_path: Path) -> None:
    """The one-pass first page of a field sort relies on it (`SearchAfter.first_counted`)."""
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("name", stored=True)
    builder.add_integer_field("number", indexed=True, fast=True)
    builder.add_float_field("real", indexed=True, fast=True)
    index = tantivy.Index(builder.build(), path=str(tmp_path))
    writer = index.writer(heap_size=15_000_000, num_threads=1)
    for name in ("a", "b"):
        writer.add_document(tantivy.Document(name=[name]))  # a segment without the fields at all
    writer.commit()
    for name, value in (("c", 5), ("d", None), ("e", -3), ("f", 0)):
        document = tantivy.Document(name=[name])
        if value is not None:
            document.add_integer("number", value)
            document.add_float("real", value / 2)
        writer.add_document(document)
    writer.commit()
    index.reload()
    searcher = index.searcher()
    for field in ("number", "real"):
        for order, expected in ((tantivy.Order.Desc, ["c", "f", "e"]), (tantivy.Order.Asc, ["e", "f", "c"])):
            result = searcher.search(tantivy.Query.all_query(), limit=10, order_by_field=field, order=order)
            names = [searcher.doc(address)["name"][0] for _, address in result.hits]
            assert names[:3] == expected
            assert [key for key, _ in result.hits][3:] == [None, None, None]
            assert sorted(names[3:]) == ["a", "b", "d"]


def expected_order(documents: list[dict[str, Any]], sort: str) -> list[str]:
    descending = sort.startswith("-")
    fields = SORT_LEVELS[sort.lstrip("-")]
    present = [d for d in documents if d.get(fields[0]) is not None]
    missing = [d for d in documents if d.get(fields[0]) is None]
    present.sort(key=lambda d: (*(-d[f] if descending else d[f] for f in fields), d["tiebreak"], d["id"]))
    missing.sort(key=lambda d: (d["tiebreak"], d["id"]))
    return [d["id"] for d in present + missing]


@pytest.mark.parametrize("sort", ["-issued", "issued", "year", "-year", "-modified", "sqrt_s_gev"])
@pytest.mark.parametrize("size", [1, 7, 50, 400])
def test_the_first_page_of_everything_by_a_field_reads_only_the_first_values(
    small_index: TantivyIndex, documents: list[dict[str, Any]], sort: str, size: int
) -> None:
    query = Query.parse("", sort=sort, size=size)
    view = current(small_index)
    level = SORT_LEVELS[sort.lstrip("-")][0]
    head = small_index._ranges.head(
        view.searcher, view.index_state, small_index._schema, level, descending=sort.startswith("-"), need=size + 1
    )
    assert head is not None  # the short way is taken
    assert count_hits(view.searcher, head) < len(documents)
    passes: list[Any] = []
    with pytest.MonkeyPatch.context() as patch:
        ordered_pass = SearchAfter.first_counted

        def first_counted(walker: SearchAfter, plans: Any, *arguments: Any) -> Any:
            passes.append(plans)
            return ordered_pass(walker, plans, *arguments)

        patch.setattr(SearchAfter, "first_counted", first_counted)
        result = small_index.search(query)
    assert len(passes) == 1 and not isinstance(passes[0], Plans)  # one pass, over the first values only
    assert result.total == len(documents)
    assert [hit.id for hit in result.hits] == expected_order(documents, sort)[:size]
    with pytest.MonkeyPatch.context() as patch:
        without_sets(small_index, patch)
        long_way = small_index.search(query)
    assert (long_way.total, long_way.hits, long_way.next_cursor is None) == (
        result.total,
        result.hits,
        result.next_cursor is None,
    )


@pytest.mark.parametrize("sort", ["-issued", "issued", "-modified"])
def test_a_filtered_first_page_counts_every_match_in_its_ordering_pass(
    small_index: TantivyIndex, documents: list[dict[str, Any]], sort: str
) -> None:
    """Documents without the sort value are counted in the total and follow the others on the page."""
    field = SORT_LEVELS[sort.lstrip("-")][0]
    chosen = [d for d in documents if d["source"] == ["zenodo"]]
    with_value = sum(1 for d in chosen if d.get(field) is not None)
    assert 0 < with_value < len(chosen)
    for size in (3, with_value - 1, with_value, with_value + 5):
        result = small_index.search(Query.parse("", filters=["source=zenodo"], sort=sort, size=size))
        assert result.total == len(chosen)
        assert [hit.id for hit in result.hits] == expected_order(chosen, sort)[:size]
