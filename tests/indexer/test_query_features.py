"""What the portal query features mean, checked against the records themselves (2,000 generated records with energy
intervals in keV, GeV and TeV, √s, partial issued dates), on the embedded index and on the Elasticsearch bodies
(read by `es_reference.Reference`)."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from es_reference import Reference

from indexer.document import index_document
from indexer.elasticsearch_query import search_body
from indexer.histograms import DECADES
from indexer.query import Query
from indexer.query_text import date_bound
from indexer.tantivy_backend import TantivyIndex
from ontology.model import Record


@pytest.fixture(scope="module")
def documents(small_records: list[Record]) -> list[dict[str, Any]]:
    return [index_document(record) for record in small_records]


@pytest.fixture(scope="module")
def reference(documents: list[dict[str, Any]]) -> Reference:
    return Reference(documents)


def all_ids(index: TantivyIndex, query: Query) -> set[str]:
    ids: set[str] = set()
    cursor = None
    while True:
        page = index.search(query.with_cursor(cursor))
        ids.update(hit.id for hit in page.hits)
        cursor = page.next_cursor
        if cursor is None:
            return ids


def overlaps_energy(document: dict[str, Any], low: float | None, high: float | None) -> bool:
    """The definition, written plainly: the interval (an open side where a bound is missing) or √s meets [low, high]."""
    low_v = -float("inf") if low is None else low * (1 - 1e-9)
    high_v = float("inf") if high is None else high * (1 + 1e-9)
    lo, hi, point = document["energy_min_gev"], document["energy_max_gev"], document["sqrt_s_gev"]
    if (lo is not None or hi is not None) and (lo is None or lo <= high_v) and (hi is None or hi >= low_v):
        return True
    return point is not None and low_v <= point <= high_v


ENERGY_CASES = [
    ("energy:[1 TeV TO 100 TeV]", (1e3, 1e5)),
    ("energy:13TeV", (13e3, 13e3)),
    ("energy:[1 keV TO 10 keV]", (1e-6, 1e-5)),
    ("energy:>=10TeV", (1e4, None)),
    ("energy:<=1MeV", (None, 1e-3)),
    ("energy:[0.5 GeV TO 2 GeV]", (0.5, 2.0)),
]


@pytest.mark.parametrize(("text", "bounds"), ENERGY_CASES)
def test_energy_matches_records_whose_interval_or_sqrt_s_overlaps(
    small_index: TantivyIndex, documents: list[dict[str, Any]], reference: Reference, text: str, bounds: Any
) -> None:
    expected = {d["id"] for d in documents if overlaps_energy(d, *bounds)}
    assert 0 < len(expected) < len(documents)
    query = Query.parse(text, size=1000)
    assert all_ids(small_index, query) == expected
    assert {reference.documents[n]["id"] for n in reference.matching(search_body(query, size=1)["query"])} == expected
    low, high = bounds
    as_filter = f"energy={'' if low is None else f'{low}GeV'}..{'' if high is None else f'{high}GeV'}"
    assert all_ids(small_index, Query.parse("", filters=[as_filter], size=1000)) == expected


def test_interval_records_are_found_by_energies_inside_them(
    small_index: TantivyIndex, documents: list[dict[str, Any]]
) -> None:
    inside = [d for d in documents if d["energy_min_gev"] and d["energy_max_gev"] and d["sqrt_s_gev"] is None]
    assert inside
    for document in inside[:20]:
        middle = (document["energy_min_gev"] + document["energy_max_gev"]) / 2
        found = all_ids(small_index, Query.parse("", filters=[f"energy={middle}GeV"], size=1000))
        assert document["id"] in found


def test_date_overlap_uses_coverage_or_the_issued_period(
    small_index: TantivyIndex, documents: list[dict[str, Any]], reference: Reference
) -> None:
    low, high = date_bound("2010-06", upper=False), date_bound("2012-02-10", upper=True)
    expected = {
        d["id"]
        for d in documents
        if d["date_start_ts"] is not None and d["date_start_ts"] <= high and d["date_end_ts"] >= low
    }
    # generated records have no coverage: the issued period decides ("2010" overlaps June 2010, "2012-03" does not)
    issued = {d["id"]: d["summary"]["issued"] for d in documents}
    assert any(issued[i] == "2010" for i in expected) and not any(
        (issued[i] or "").startswith("2012-03") for i in expected
    )
    for query in (
        Query.parse("date:[2010-06 TO 2012-02-10]", size=1000),
        Query.parse("", filters=["date=2010-06..2012-02-10"], size=1000),
    ):
        assert all_ids(small_index, query) == expected
        assert {
            reference.documents[n]["id"] for n in reference.matching(search_body(query, size=1)["query"])
        } == expected


def test_histograms_count_what_their_filters_find(small_index: TantivyIndex, documents: list[dict[str, Any]]) -> None:
    result = small_index.search(Query.parse("", facets=["year_histogram", "energy_histogram"], size=0))
    years = result.facets["year_histogram"]
    assert [int(v.value) for v in years] == list(range(int(years[0].value), int(years[-1].value) + 1))
    assert {v.value: v.count for v in years if v.count} == {
        str(y): sum(1 for d in documents if d["year"] == y) for y in {d["year"] for d in documents} if y is not None
    }
    energies = result.facets["energy_histogram"]
    assert energies[0].count and energies[-1].count and len(energies) >= 8
    for bucket in energies:
        decade = next(d for d in DECADES if d.label == bucket.value)
        assert (bucket.low, bucket.high) == (decade.low, decade.high)
        filtered = small_index.search(Query.parse("", filters=[f"energy={bucket.low}GeV..{bucket.high}GeV"], size=0))
        assert (
            bucket.count == filtered.total == sum(1 for d in documents if overlaps_energy(d, bucket.low, bucket.high))
        )
    narrowed = small_index.search(Query.parse("muon", filters=["experiment=CMS"], facets=["year_histogram"], size=0))
    assert sum(v.count for v in narrowed.facets["year_histogram"]) <= narrowed.total


def test_projection_returns_only_the_chosen_fields(small_index: TantivyIndex) -> None:
    result = small_index.search(Query.parse("muon", size=5, fields=["title,experiment"])).to_json()
    assert result["hits"] and all(set(hit) == {"id", "score", "title", "experiments"} for hit in result["hits"])
    full = small_index.search(Query.parse("muon", size=5)).to_json()
    assert [h["title"] for h in full["hits"]] == [h["title"] for h in result["hits"]]


def test_highlighting_marks_what_matched_and_escapes_the_rest(small_index: TantivyIndex) -> None:
    result = small_index.search(Query.parse("muons experiment", size=50, highlight=True)).to_json()
    marked = [hit for hit in result["hits"] if hit["highlight"]]
    assert marked
    for hit in marked:
        for fragment in [*hit["highlight"].get("title", []), *hit["highlight"].get("description", [])]:
            words = re.findall(r"<mark>(.*?)</mark>", fragment)
            assert words and {w.lower() for w in words} <= {"muon", "muons", "experiment"}
            plain = fragment.replace("<mark>", "").replace("</mark>", "")
            assert "<" not in plain and html.unescape(plain).strip("…") in hit["title"] + (hit["description"] or "")
    without = small_index.search(Query.parse("muons -experiment", size=20, highlight=True)).to_json()
    assert all("experiment" not in str(hit["highlight"]).lower() for hit in without["hits"])
    assert all(
        hit["highlight"] == {} for hit in small_index.search(Query.parse("", size=3, highlight=True)).to_json()["hits"]
    )
