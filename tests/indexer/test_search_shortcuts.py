"""The embedded backend's shortcuts give the answers of the long way: the total counted with the page instead of
apart, and energy queries without the alternatives for one-ended intervals when the index holds none."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import tantivy

from indexer.document import ID_FIELD, SORT_LEVELS, index_document
from indexer.histograms import energy_histogram
from indexer.query import Query
from indexer.query_text import overlap_filter_syntax, search_text
from indexer.tantivy_backend import TantivyIndex, View, _lacking
from indexer.tantivy_paging import count_hits
from ontology.model import EnergyRange, Record
from sandbox.generated_records import generated_records

QUERIES: list[dict[str, Any]] = [
    {"text": "muon", "size": 15},
    {"text": "dark matter", "filters": ["experiment=CMS"], "size": 5},
    {"text": "", "filters": ["year=2000..2015"], "size": 7},
    {"text": "", "sort": "-issued", "size": 9},
    {"text": "jets", "sort": "title", "size": 4},
    {"text": "", "filters": ["date=2010..2016"], "sort": "issued", "size": 6},
    {"text": "energy:[1 GeV TO 1 PeV]", "size": 8},
    {"text": "", "filters": ["energy=1GeV..1PeV"], "sort": "-issued", "size": 3},
]
BOUNDS = {
    "energy:[1 TeV TO 100 TeV]": (1e3, 1e5),
    "energy:13TeV": (13e3, 13e3),
    "energy:>=10TeV": (1e4, None),
    "energy:<=1MeV": (None, 1e-3),
    "energy:[1 keV TO 10 keV]": (1e-6, 1e-5),
}


def view(index: TantivyIndex) -> View:
    return View(*index._pinned_searcher())


def counted_apart(index: TantivyIndex, query: Query) -> int:
    """The total the long way: the whole query, energy alternatives and all, counted on its own."""
    current = view(index)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(index, "_pruned", lambda text, _view: text)
        base = index._base_query(query, current)
    return count_hits(current.searcher, base)


def walk(index: TantivyIndex, query: Query) -> list[str]:
    ids: list[str] = []
    cursor = None
    while True:
        page = index.search(query.with_cursor(cursor))
        ids.extend(hit.id for hit in page.hits)
        cursor = page.next_cursor
        if cursor is None:
            return ids


def one_ended(records: list[Record]) -> list[Record]:
    """The records, every fifth with an energy interval that has only a minimum or only a maximum."""
    out = []
    for n, record in enumerate(records):
        if n % 10 == 0:
            record = record.model_copy(update={"energy_range": EnergyRange(min=5.0, unit="TeV")})
        elif n % 10 == 5:
            record = record.model_copy(update={"energy_range": EnergyRange(max=0.5, unit="MeV")})
        out.append(record)
    return out


@pytest.fixture(scope="module")
def open_index(tmp_path_factory: pytest.TempPathFactory, small_records: list[Record]) -> Iterator[TantivyIndex]:
    index = TantivyIndex(tmp_path_factory.mktemp("one-ended"))
    index.index(one_ended(small_records[:600]))
    index.commit()
    yield index
    index.close()


@pytest.fixture(scope="module")
def dated_index(
    tmp_path_factory: pytest.TempPathFactory, record_factory: Callable[..., Record]
) -> Iterator[TantivyIndex]:
    """Every record has an issued date: field sorts take their total from the ordered pass alone."""
    index = TantivyIndex(tmp_path_factory.mktemp("dated"))
    index.index(record_factory(i, issued=f"{2000 + i % 20}-0{1 + i % 9}") for i in range(400))
    index.commit()
    yield index
    index.close()


@pytest.mark.parametrize("arguments", QUERIES, ids=lambda a: "|".join(f"{k}={v}" for k, v in a.items()))
@pytest.mark.parametrize("which", ["small_index", "dated_index", "open_index"])
def test_the_total_of_the_first_page_is_the_count_of_the_query(
    request: pytest.FixtureRequest, which: str, arguments: dict[str, Any]
) -> None:
    index: TantivyIndex = request.getfixturevalue(which)
    query = Query.parse(**arguments)
    expected = counted_apart(index, query)
    assert index.search(query).total == expected > 0
    assert index.search(Query.parse(**{**arguments, "size": 0})).total == expected
    ids = walk(index, query)
    assert len(ids) == len(set(ids)) == expected


def test_documents_without_the_sort_value_are_counted_in_a_field_sort(
    small_index: TantivyIndex, dated_index: TantivyIndex
) -> None:
    issued = SORT_LEVELS["issued"][0]
    # small_index has records without an issued date: the field sort counts them apart; dated_index has none
    assert not small_index._matches_nothing(view(small_index), f"-{issued}:*", lambda: _lacking(issued))
    assert dated_index._matches_nothing(view(dated_index), f"-{issued}:*", lambda: _lacking(issued))
    with_year = small_index.search(Query.parse("", filters=["year=.."], size=0)).total
    everything = small_index.search(Query.parse("", sort="-issued", size=3))
    assert 0 < with_year < everything.total == small_index.count()


@pytest.mark.parametrize("text", BOUNDS)
def test_one_ended_intervals_are_found_when_the_index_has_them(
    open_index: TantivyIndex, small_records: list[Record], text: str
) -> None:
    current = view(open_index)
    syntax = search_text(text)
    assert open_index._pruned(syntax, current) == syntax  # some document could match the alternatives: kept
    documents = [index_document(r) for r in one_ended(small_records[:600])]
    assert any(d["energy_min_gev"] is None and d["energy_max_gev"] is not None for d in documents)
    found = set(walk(open_index, Query.parse(text, size=100)))
    expected = {d["id"] for d in documents if _meets(d, BOUNDS[text])}
    assert found == expected


@pytest.mark.parametrize("text", BOUNDS)
def test_without_one_ended_intervals_the_alternatives_are_dropped_with_the_same_ranking(
    small_index: TantivyIndex, text: str
) -> None:
    current = view(small_index)
    syntax = search_text(text)
    pruned = small_index._pruned(syntax, current)
    assert pruned != syntax and "-energy_min_gev:*" not in pruned and "-energy_max_gev:*" not in pruned
    long_way = current.searcher.search(small_index._text_query(syntax), limit=3000, count=True)
    result = small_index.search(Query.parse(text, size=1000))
    assert result.total == long_way.count
    assert [(hit.id, hit.score) for hit in result.hits] == [
        (_id(current, address), pytest.approx(score)) for score, address in long_way.hits[:1000]
    ]


def test_the_energy_filter_and_histogram_drop_them_too(small_index: TantivyIndex) -> None:
    current = view(small_index)
    query = Query.parse("", filters=["energy=1GeV..1PeV"], facets=["energy_histogram"], size=0)
    syntax = overlap_filter_syntax("energy", query.overlaps[0][1])
    assert small_index._pruned(syntax, current) != syntax
    long_way = count_hits(current.searcher, small_index._text_query(syntax))
    assert small_index.search(query).total == long_way


def _meets(document: dict[str, Any], bounds: tuple[float | None, float | None]) -> bool:
    low, high = bounds
    low_v = -float("inf") if low is None else low * (1 - 1e-9)
    high_v = float("inf") if high is None else high * (1 + 1e-9)
    lo, hi, point = document["energy_min_gev"], document["energy_max_gev"], document["sqrt_s_gev"]
    if (lo is not None or hi is not None) and (lo is None or lo <= high_v) and (hi is None or hi >= low_v):
        return True
    return point is not None and low_v <= point <= high_v


def _id(current: View, address: tantivy.DocAddress) -> str:
    return str(current.searcher.doc(address)[ID_FIELD][0])


def test_a_memory_index_decides_afresh(small_records: list[Record]) -> None:
    index = TantivyIndex(None)
    index.index(small_records[:200])
    index.commit()
    assert view(index).index_state is None
    text = "energy:[1 TeV TO 100 TeV]"
    before = index.search(Query.parse(text, size=0)).total
    index.index(one_ended(small_records[:200])[:1])  # now one record has only a minimum (5 TeV)
    index.commit()
    after = index.search(Query.parse(text, size=0)).total
    assert after == counted_apart(index, Query.parse(text, size=0)) and after >= before


HISTOGRAM_QUERIES = [
    Query.parse("", facets=["energy_histogram"], size=0),
    Query.parse("muon", facets=["energy_histogram"], size=0),
    Query.parse("", filters=["energy=1GeV..1PeV"], facets=["energy_histogram"], size=0),
    Query.parse("", filters=["experiment=CMS"], facets=["energy_histogram"], size=0),
    Query.parse("energy:[1 keV TO 10 keV]", facets=["energy_histogram"], size=0),
    Query.parse("nothing-matches-this", facets=["energy_histogram"], size=0),
]


def counted(index: TantivyIndex, query: Query) -> list[Any]:
    """The energy histogram the long way: a count per decade."""
    current = view(index)
    return index._energy_histogram_by_counting(current, index._base_query(query, current))


@pytest.mark.parametrize("query", HISTOGRAM_QUERIES, ids=lambda q: f"{q.text}|{q.overlaps}|{q.filters}")
@pytest.mark.parametrize("which", ["small_index", "open_index"])
def test_the_energy_histogram_of_one_aggregation_is_the_counted_one(
    request: pytest.FixtureRequest, which: str, query: Query
) -> None:
    index: TantivyIndex = request.getfixturevalue(which)
    current = view(index)
    aggregated = index._decade_counts(current.searcher, index._base_query(query, current))
    assert aggregated is not None
    expected = counted(index, query)
    assert index.search(query).facets["energy_histogram"] == expected
    if which == "small_index":  # every interval has both ends: the aggregation's counts are the answer
        assert energy_histogram(aggregated) == expected
        assert query.text == "nothing-matches-this" or sum(aggregated) > 0


def test_exact_decade_bounds_and_values_on_them(tmp_path_factory: pytest.TempPathFactory) -> None:
    """√s and interval ends exactly on decade bounds count in both decades they touch, as the filters do."""
    records = [
        r.model_copy(update={"energy_range": EnergyRange(min=10.0 ** (n % 7 - 3), max=10.0 ** (n % 7), unit="GeV")})
        if n % 3 == 0
        else r
        for n, r in enumerate(generated_records(300, seed=9))
    ]
    index = TantivyIndex(tmp_path_factory.mktemp("bounds"))
    index.index(records)
    index.commit()
    query = Query.parse("", facets=["energy_histogram"], size=0)
    histogram = index.search(query).facets["energy_histogram"]
    assert histogram == counted(index, query)
    for bucket in histogram:
        filtered = Query.parse("", filters=[f"energy={bucket.low}GeV..{bucket.high}GeV"], size=0)
        assert index.search(filtered).total == bucket.count
    index.close()


def test_a_minimum_above_the_maximum_is_counted_the_long_way(tmp_path_factory: pytest.TempPathFactory) -> None:
    """A merged cluster can take its minimum from one member and its maximum from another; the aggregation's
    arithmetic assumes min <= max, so such an index is counted per decade."""
    documents = [index_document(r) for r in generated_records(200, seed=4)]
    for document in documents[:5]:
        document["energy_min_gev"], document["energy_max_gev"] = 5000.0, 2.0
    index = TantivyIndex(tmp_path_factory.mktemp("inverted"))
    index.index_documents(documents)
    index.commit()
    current = view(index)
    query = Query.parse("", facets=["energy_histogram"], size=0)
    assert index._decade_counts(current.searcher, index._base_query(query, current)) is None
    assert index.search(query).facets["energy_histogram"] == counted(index, query)
    index.close()
