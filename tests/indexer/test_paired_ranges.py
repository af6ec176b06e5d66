"""The two ranges of an overlap clause (an interval's two ends) written as one set and a negated set where that reads
fewer postings (`indexer.tantivy_ranges`): the same hits, the same scores and the same totals as the ranges, and no
rewrite where the index state does not allow it (an interval with one end, a field with two values)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from indexer.document import index_document
from indexer.query import Query
from indexer.query_text import search_text
from indexer.tantivy_backend import TantivyIndex, View
from indexer.tantivy_paging import count_hits
from indexer.tantivy_ranges import RangePlanner, _pair_conjunctions
from ontology.model import EnergyRange, Record

OVERLAP_TEXTS = [
    "energy:[1 GeV TO 1 PeV]",
    "energy:[1 TeV TO 100 TeV]",
    "experiment:cms energy:[1 TeV TO 100 TeV]",
    "neutrino energy:[10 GeV TO 10 TeV]",
    "energy:[1 keV TO 1 MeV] OR muon",
    "date:[2015-01-01 TO 2018-12-31]",
    "date:[2001 TO 2003] muon",
    "-date:[1990 TO 2010] dark matter",
    "date:[2010-06-15 TO 2011-03] OR energy:[1 TeV TO 2 TeV]",
]
OVERLAP_FILTERS = [
    ["energy=1GeV..1PeV"],
    ["energy=1TeV..100TeV"],
    ["energy=10keV..10MeV", "date=2001..2016"],
    ["date=2015-01-01..2018-12-31"],
    ["date=1995..2000"],
    ["date=2010..2016", "date=2020..2021"],
]


def current(index: TantivyIndex) -> View:
    return View(*index._pinned_searcher())


def answer(index: TantivyIndex, query: Query) -> tuple[int, list[tuple[str, float | None]]]:
    result = index.search(query)
    return result.total, [(hit.id, hit.score) for hit in result.hits]


def without_pairs(index: TantivyIndex, patch: pytest.MonkeyPatch) -> None:
    """The clause-by-clause sets only (as before pairs were read together)."""
    patch.setattr(index, "_ranges", RangePlanner())
    patch.setattr(index._ranges, "paired", lambda *_args: False)


@pytest.mark.parametrize("text", OVERLAP_TEXTS)
def test_overlaps_in_the_search_text_find_the_same_hits_with_the_same_scores(
    small_index: TantivyIndex, text: str
) -> None:
    query = Query.parse(text, size=1000)
    with_pairs = answer(small_index, query)
    with pytest.MonkeyPatch.context() as patch:
        without_pairs(small_index, patch)
        one_by_one = answer(small_index, query)
    assert with_pairs == one_by_one  # scores compared exactly: the boost gives back the second clause's 1
    assert with_pairs[0] == len(with_pairs[1]) or len(with_pairs[1]) == 1000


@pytest.mark.parametrize("filters", OVERLAP_FILTERS)
@pytest.mark.parametrize("sort", ["", "-issued"])
def test_overlap_filters_find_the_same_hits_in_the_same_order(
    small_index: TantivyIndex, filters: list[str], sort: str
) -> None:
    query = Query.parse("muon" if sort == "" else "", filters=filters, sort=sort or None, size=500)
    with_pairs = answer(small_index, query)
    with pytest.MonkeyPatch.context() as patch:
        without_pairs(small_index, patch)
        one_by_one = answer(small_index, query)
    assert with_pairs == one_by_one


def test_the_pairs_of_the_generated_records_are_read_together_where_that_is_cheaper(
    small_index: TantivyIndex,
) -> None:
    view = current(small_index)
    planner = small_index._ranges
    assert planner.paired(view.searcher, view.index_state, "date_start_ts", "date_end_ts")
    assert planner.paired(view.searcher, view.index_state, "energy_min_gev", "energy_max_gev")
    rewritten = [
        small_index._planned(search_text(text), view) for text in OVERLAP_TEXTS if "energy" in text or "date" in text
    ]
    together = [text for text in rewritten if ")^2" in text]
    assert together, rewritten  # some conjunctions did become one set (and a negated one)
    for text in together:
        # each pair became one positive set, with at most one negated set beside it, in the same parentheses
        assert text.count(": IN [") >= text.count(")^2")
    # "every interval ends after 1 GeV and starts before 1 PeV": nothing starts above 1 PeV, so no negated set
    wide = small_index._planned(search_text("energy:[1 GeV TO 1 PeV]"), view)
    minimum = planner.column(view.searcher, view.index_state, "energy_min_gev")
    assert minimum is not None and max(minimum.values) < 1e6
    assert "(energy_max_gev: IN [" in wide and "energy_min_gev" not in wide
    for text in OVERLAP_TEXTS:
        planned = small_index._planned(search_text(text), view)
        assert count_hits(view.searcher, small_index._text_query(planned)) == count_hits(
            view.searcher, small_index._text_query(small_index._pruned(search_text(text), view))
        )


def test_only_two_ranges_joined_by_and_in_one_group_are_read_as_a_pair() -> None:
    def groups(text: str) -> list[str]:
        return [text[found.start : found.end] for found in _pair_conjunctions(text)]

    assert groups("(date_start_ts:<=9 AND date_end_ts:>=3)") == ["(date_start_ts:<=9 AND date_end_ts:>=3)"]
    assert groups("x ((energy_min_gev:<=9) AND (energy_max_gev:>=3)) OR y") == [
        "((energy_min_gev:<=9) AND (energy_max_gev:>=3))"
    ]
    assert groups("(a:[1 TO 2] AND b:{3 TO *])") == ["(a:[1 TO 2] AND b:{3 TO *])"]
    assert groups("(date_start_ts:<=9 AND date_end_ts:>=3)^3") == []  # a boost of its own: left alone
    assert groups("(date_start_ts:<=9 OR date_end_ts:>=3)") == []
    assert groups("(date_start_ts:<=9 AND date_end_ts:>=3 AND year:>1)") == []
    assert groups("(date_start_ts:<=9 AND date_end_ts:>=3^2)") == []
    assert groups("((date_start_ts:<=9 AND date_end_ts:>=3)") == ["(date_start_ts:<=9 AND date_end_ts:>=3)"]
    assert groups("(muon AND date_end_ts:>=3)") == []


def test_a_pair_is_not_read_together_when_the_index_state_does_not_allow_it(
    tmp_path: Path, small_records: list[Record]
) -> None:
    """An interval with one end (energy), a field with two values (date): the conjunction stays two sets, and the
    answers are still those of the ranges."""
    documents: list[dict[str, Any]] = [index_document(record) for record in small_records[:300]]
    half_open = next(r for r in small_records[300:] if r.energy_range is not None)
    half_open = half_open.model_copy(update={"energy_range": EnergyRange(min=5.0, max=None, unit="GeV")})
    documents.append(index_document(half_open))
    twice = dict(documents[0])
    twice["date_start_ts"] = [twice["date_start_ts"], twice["date_start_ts"] - 86_400 * 400]
    documents[0] = twice
    index = TantivyIndex(tmp_path / "index")
    index.index_documents(documents)
    index.commit()
    view = current(index)
    planner = index._ranges
    assert not planner.paired(view.searcher, view.index_state, "energy_min_gev", "energy_max_gev")
    assert not planner.paired(view.searcher, view.index_state, "date_start_ts", "date_end_ts")
    for text in ("energy:[1 GeV TO 1 PeV]", "date:[2015-01-01 TO 2018-12-31]"):
        assert ")^2" not in index._planned(search_text(text), view)
    query = Query.parse("", filters=["date=1990..2012"], size=400)
    found = {hit.id for hit in index.search(query).hits}
    low, high = 631_152_000, 1_356_998_399  # 1990-01-01T00:00:00Z, 2012-12-31T23:59:59Z

    def starts(document: dict[str, Any]) -> list[int]:
        value = document["date_start_ts"]
        return [] if value is None else value if isinstance(value, list) else [value]

    expected = {
        d["id"]
        for d in documents
        if d["date_end_ts"] is not None and d["date_end_ts"] >= low and any(s <= high for s in starts(d))
    }
    assert found == expected
    with pytest.MonkeyPatch.context() as patch:
        without_pairs(index, patch)
        assert {hit.id for hit in index.search(query).hits} == found
    index.close()
