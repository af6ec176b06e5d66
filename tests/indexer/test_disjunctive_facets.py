"""Disjunctive facets (`Query.disjunctive`, `indexer.disjunctive`) over the 7,443 CERN Open Data records.

Each facet of a filtered field is counted without that field's filters (and with everything else), on the embedded
backend and through `ElasticsearchIndex` against the protocol double answering from `es_reference.Reference` (the
Query DSL as Elasticsearch documents it), whose recorded request bodies are validated against the specification.
The hits, the total and the cursor stay those of the fully filtered query.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from es_double import ElasticsearchDouble
from es_openapi import ElasticsearchSpec
from es_reference import Reference
from es_testing import ReferenceSearch, assert_valid, cern_documents, es_spec

from indexer.disjunctive import facet_queries, own_filter
from indexer.elasticsearch_backend import ElasticsearchIndex
from indexer.elasticsearch_query import decade_key
from indexer.histograms import DECADES
from indexer.query import Query
from indexer.tantivy_backend import TantivyIndex

__all__ = ["es_spec"]  # fixtures

FACETS = ["experiment,collaboration,source,file_format,year,year_histogram,energy_histogram"]

# (text, filters): one filtered field, several values of one, several fields, ranges and the energy overlap
QUERIES: list[tuple[str, list[str]]] = [
    ("", ["experiment=CMS"]),
    ("muon", ["experiment=CMS", "experiment=ALICE"]),
    ("", ["experiment=LHCb", "file_format=ROOT"]),
    ("collision", ["year=2010..2012", "experiment=CMS"]),
    ("", ["energy=1TeV..10TeV"]),
    ("", ["energy=1TeV..10TeV", "year=2016..2016", "source=cern"]),
    ("simulated", ["sqrt_s=13TeV", "collaboration=CMS Collaboration"]),
    ("jets", []),
]


@pytest.fixture(scope="module")
def cern(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TantivyIndex, Reference]]:
    documents = cern_documents(corpus)
    index = TantivyIndex(tmp_path_factory.mktemp("cern-disjunctive"))
    index.index_documents(documents)
    index.commit()
    yield index, Reference(documents)
    index.close()


def parse(text: str, filters: list[str], **options: Any) -> Query:
    return Query.parse(text, filters=filters, facets=FACETS, facet_size=30, **options)


def without_field(filters: list[str], facet: str) -> list[str]:
    """The filters minus those selecting values of `facet` (written independently of `indexer.disjunctive`)."""
    field = {"year_histogram": "year", "energy_histogram": "energy"}.get(facet, facet)
    return [f for f in filters if f.partition("=")[0] != field]


def as_json(facets: Any) -> dict[str, Any]:
    return {name: [v.to_json() for v in values] for name, values in facets.items()}


@pytest.mark.parametrize(("text", "filters"), QUERIES, ids=[f"{t} {' '.join(f)}" for t, f in QUERIES])
def test_each_facet_is_counted_without_its_own_fields_filters(
    cern: tuple[TantivyIndex, Reference], text: str, filters: list[str]
) -> None:
    index, _ = cern
    plain = index.search(parse(text, filters, size=25))
    disjunctive = index.search(parse(text, filters, size=25, disjunctive=True))
    assert disjunctive.total == plain.total
    assert [h.id for h in disjunctive.hits] == [h.id for h in plain.hits]
    assert disjunctive.next_cursor is not None or plain.total <= 25
    assert list(disjunctive.facets) == list(plain.facets)
    for name, values in disjunctive.facets.items():
        alone = index.search(
            Query.parse(text, filters=without_field(filters, name), facets=[name], size=0, facet_size=30)
        )
        assert as_json({name: values}) == as_json(alone.facets), name
    if not filters:
        assert as_json(disjunctive.facets) == as_json(plain.facets)


def test_the_cursor_of_a_disjunctive_page_walks_the_filtered_hits(cern: tuple[TantivyIndex, Reference]) -> None:
    index, _ = cern
    filters = ["experiment=CMS", "year=2016..2016", "source=cern"]
    query = parse("", filters, size=250, disjunctive=True)
    seen: list[str] = []
    cursor = None
    while True:
        page = index.search(query.with_cursor(cursor))
        seen.extend(h.id for h in page.hits)
        assert page.total == index.search(parse("", filters, size=0)).total
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == page.total > 1000


def test_a_second_value_of_a_filtered_field_adds_what_its_count_says(cern: tuple[TantivyIndex, Reference]) -> None:
    """What a portal's user relies on: with CMS chosen, ALICE's count is what choosing ALICE too would add."""
    index, _ = cern

    def total(text: str, filters: list[str]) -> int:
        return index.search(Query.parse(text, filters=filters, size=0)).total

    chosen = parse("", ["experiment=CMS"], size=0, disjunctive=True)
    counts = {v.value: v.count for v in index.search(chosen).facets["experiment"]}
    assert {"CMS", "ALICE", "LHCb", "ATLAS"} <= set(counts)
    assert counts["CMS"] == total("", ["experiment=CMS"])
    both = total("", ["experiment=CMS", "experiment=ALICE"])
    overlap = total("experiment:ALICE", ["experiment=CMS"])
    assert both == counts["CMS"] + counts["ALICE"] - overlap > counts["CMS"]
    # conjunctive counting would leave CMS alone in its own panel
    plain = index.search(parse("", ["experiment=CMS"], size=0)).facets["experiment"]
    assert plain[0].value == "CMS" and plain[0].count == counts["CMS"] and len(plain) < len(counts)


def test_the_year_and_energy_histograms_keep_their_bars_around_a_chosen_range(
    cern: tuple[TantivyIndex, Reference],
) -> None:
    index, _ = cern
    filters = ["year=2017..2024", "energy=1TeV..10TeV"]
    chosen = index.search(Query.parse("", filters=filters, size=0)).total
    disjunctive = index.search(parse("", filters, size=0, disjunctive=True)).facets
    years = {v.value: v.count for v in disjunctive["year_histogram"]}
    assert len([c for c in years.values() if c]) > 3 and sum(years[str(y)] for y in range(2017, 2025)) >= chosen > 0
    decades = {v.value: v.count for v in disjunctive["energy_histogram"]}
    assert len([c for c in decades.values() if c]) > 1 and decades["1 TeV–10 TeV"] == chosen
    # counted over everything, the chosen bars are the bars of the whole catalogue
    everything = index.search(parse("", [], size=0)).facets
    assert {v.value for v in everything["year_histogram"]} >= years.keys()


def test_facet_queries_group_facets_by_the_filter_they_drop() -> None:
    query = Query.parse(
        "muon",
        filters=["experiment=CMS", "year=2010..2012", "energy=1TeV..10TeV", "sqrt_s=7TeV"],
        facets=["experiment,source,year,year_histogram,energy_histogram"],
        size=20,
        fields=["title"],
        highlight=True,
        disjunctive=True,
    )
    main, counting = facet_queries(query)
    assert main.facets == ("source",) and main.filters == query.filters and main.size == 20 and main.highlight
    assert not main.disjunctive and main.fields == ("title",)
    by_facets = {q.facets: q for q in counting}
    assert set(by_facets) == {("experiment",), ("year", "year_histogram"), ("energy_histogram",)}
    assert by_facets[("experiment",)].filters == ()
    assert [n for n, _ in by_facets[("year", "year_histogram")].ranges] == ["sqrt_s_gev"]
    assert by_facets[("energy_histogram",)].overlaps == ()
    for q in counting:
        assert q.size == 0 and q.cursor is None and q.text == "muon" and not q.highlight and not q.disjunctive
    assert own_filter("license") == ("filters", "license")


# ---- Elasticsearch: the same counts from the requests the backend sends ----------------------------------------------


def test_elasticsearch_counts_the_same_with_ordinary_validated_requests(
    cern: tuple[TantivyIndex, Reference], es_spec: ElasticsearchSpec
) -> None:
    index, reference = cern
    assert decade_key(DECADES[0].exponent) == "e-9"
    with ElasticsearchDouble() as double:
        double.search = ReferenceSearch(reference)
        remote = ElasticsearchIndex.from_url(double.url)
        remote.ensure()
        for text, filters in QUERIES:
            double.clear()
            query = parse(text, filters, size=0, disjunctive=True)
            answer = remote.search(query)
            assert answer.total == index.search(query).total
            assert as_json(answer.facets) == as_json(index.search(query).facets), (text, filters)
            searches = double.of("POST", r"/dmlake-records/_search")
            filtered_fields = {f.partition("=")[0] for f in filters} & {
                "experiment",
                "collaboration",
                "source",
                "file_format",
                "year",
                "energy",
            }
            assert len(searches) == 1 + len(filtered_fields)
            assert_valid(es_spec, double.requests)
        remote.close()
        assert not double.failures, double.failures
