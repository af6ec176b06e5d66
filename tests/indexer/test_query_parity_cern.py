"""Issue 5, acceptance 1 offline: the query model for portals gives the same hit sets and facet counts on the embedded
index and on Elasticsearch, over all 7,443 CERN Open Data records of the corpus.

Each query runs on `TantivyIndex`, and through `ElasticsearchIndex` against the protocol double (`es_double`), whose
recorded request bodies are validated against the Elasticsearch 8.17 OpenAPI specification; the bodies are then read
by `es_reference.Reference` (the Query DSL as Elasticsearch documents it) over the same index documents, and must
match the same records and count the same facets — terms facets, the year histogram (a terms aggregation on `year`)
and the energy histogram (a `filters` aggregation, one named filter per decade). The same queries run against a real
cluster in `test_elasticsearch_live.py` when `DMLAKE_ES_URL` is set.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from es_double import ElasticsearchDouble
from es_openapi import ElasticsearchSpec
from es_reference import Reference
from es_testing import assert_valid, cern_documents, es_spec

from indexer.elasticsearch_backend import ElasticsearchIndex
from indexer.elasticsearch_query import decade_key, search_body
from indexer.histograms import DECADES, ENERGY_HISTOGRAM, YEAR_HISTOGRAM, energy_histogram, year_histogram
from indexer.query import Query
from indexer.tantivy_backend import TantivyIndex

__all__ = ["es_spec"]  # fixtures

FACETS = [
    "experiment,collaboration,messenger,technique,resource_category,data_level,file_format,license,availability,"
    "source,year_histogram,energy_histogram"
]

# (text, filters): plain words, tantivy's own grammar, and dmlake's field syntax, units, overlaps and filters
PARITY_QUERIES: list[tuple[str, list[str]]] = [
    ("", []),
    ("higgs", []),
    ("muon", ["experiment=CMS"]),
    ("experiment:cms", []),
    ("experiment:CMS", []),
    ('experiment:"CMS Collaboration"', []),
    ("experiment: IN [alice lhcb]", []),
    ("collaboration:ATLAS", []),
    ("messenger:collider jets", []),
    ("keyword:masterclass", []),
    ('keyword:"heavy-ion physics"', []),
    ("title:dimuon", []),
    ("title:higgs OR title:electron", []),
    ("description:calibration", []),
    ("doi:10.7483/OPENDATA.CMS.A342.9982", []),
    ("doi:https://doi.org/10.7483/OPENDATA.CMS.A342.9982", []),
    ("doi:*", []),
    ("licence:cc0", []),
    ("format:root", []),
    ("file_format:ROOT AND collision", []),
    ("source:cern", []),
    ("energy:13TeV", []),
    ("energy:13 TeV", []),
    ("energy:[1 TeV TO 100 TeV]", []),
    ("energy:[7TeV TO 8TeV]", []),
    ("energy:{7TeV TO 8TeV}", []),
    ("energy:>=13TeV", []),
    ("energy:>13TeV", []),
    ("energy:<=2.76TeV", []),
    ("energy:<5020GeV", []),
    ("energy:[0.9 TeV TO 900 GeV]", []),
    ("energy:[1 PeV TO *]", []),
    ("energy:[* TO 1 keV]", []),
    ("energy:13000", []),
    ("sqrt_s:13TeV", []),
    ("sqrt_s:5.02TeV", []),
    ("sqrt_s:5020GeV", []),
    ("sqrt_s:[2.76TeV TO 8TeV]", []),
    ("sqrt_s:>=8TeV muon", []),
    ("jets -sqrt_s:13TeV", []),
    ("(energy:7TeV OR energy:8TeV) AND experiment:cms", []),
    ("date:2011", []),
    ("date:2015-06", []),
    ("date:[2010 TO 2012]", []),
    ("date:[2015-01-01 TO 2016-12-31]", []),
    ("date:>=2016", []),
    ("date:<2011", []),
    ("muon date:2012 energy:8TeV", []),
    ("year:[2016 TO 2018]", []),
    ("", ["energy=1TeV..10TeV"]),
    ("", ["energy=13TeV"]),
    ("", ["energy=1TeV..10TeV", "energy=10TeV..100TeV"]),
    ("", ["energy=..1TeV"]),
    ("", ["date=2015-01-01..2018-12-31"]),
    ("", ["date=2011"]),
    ("", ["date=2016..", "experiment=CMS"]),
    ("", ["sqrt_s=7TeV"]),
    ("", ["sqrt_s=7TeV..8TeV", "date=2012"]),
    ("muon", ["energy=10TeV..100TeV", "date=2015..2016"]),
    ("simulated", ["sqrt_s=13TeV", "year=2016..2017"]),
    ("energy:[1 GeV TO 10 GeV]", []),
    ("B0->K*mumu OR J/psi", []),
    ('"open data" energy:>=7TeV', []),
]


@pytest.fixture(scope="module")
def cern(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TantivyIndex, Reference]]:
    documents = cern_documents(corpus)
    index = TantivyIndex(tmp_path_factory.mktemp("cern-parity"))
    index.index_documents(documents)
    index.commit()
    yield index, Reference(documents)
    index.close()


def embedded_answer(index: TantivyIndex, query: Query) -> tuple[set[str], dict[str, Any]]:
    """Every hit (cursor walk) and the first page's facets, as plain values."""
    ids: set[str] = set()
    facets: dict[str, Any] = {}
    cursor = None
    while True:
        page = index.search(query.with_cursor(cursor))
        facets = facets or page.to_json()["facets"]
        ids.update(hit.id for hit in page.hits)
        cursor = page.next_cursor
        if cursor is None:
            return ids, facets


def reference_answer(reference: Reference, query: Query) -> tuple[set[str], dict[str, Any]]:
    """What Elasticsearch answers to the body the backend sends, read by the reference."""
    body = search_body(query, size=query.size + 1)
    matching = reference.matching(body["query"])
    facets: dict[str, Any] = {}
    for name, aggregation in body.get("aggregations", {}).items():
        if name == YEAR_HISTOGRAM:
            assert aggregation == {"terms": {"field": "year", "size": 10_000}}
            values = year_histogram(reference.facet_counts(matching, "year"))
        elif name == ENERGY_HISTOGRAM:
            named = aggregation["filters"]["filters"]
            assert list(named) == [decade_key(d.exponent) for d in DECADES]
            inside = set(matching)
            counts = [sum(1 for n in reference.matching(clause) if n in inside) for clause in named.values()]
            values = energy_histogram(counts)
        else:
            counts = reference.facet_counts(matching, aggregation["terms"]["field"])
            ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[: query.facet_size]
            facets[name] = [{"value": value, "count": count} for value, count in ranked]
            continue
        facets[name] = [v.to_json() for v in values]
    return {reference.documents[n]["id"] for n in matching}, facets


@pytest.mark.parametrize(("text", "filters"), PARITY_QUERIES, ids=[f"{t} {' '.join(f)}" for t, f in PARITY_QUERIES])
def test_both_backends_give_the_same_hits_and_facets(
    cern: tuple[TantivyIndex, Reference], text: str, filters: list[str]
) -> None:
    index, reference = cern
    query = Query.parse(text, filters=filters, facets=FACETS, size=1000, facet_size=20)
    embedded_ids, embedded_facets = embedded_answer(index, query)
    translated_ids, translated_facets = reference_answer(reference, query)
    assert embedded_ids == translated_ids
    assert embedded_facets == translated_facets


def test_the_parity_queries_are_many_and_not_trivial(cern: tuple[TantivyIndex, Reference]) -> None:
    index, reference = cern
    assert len(PARITY_QUERIES) >= 50
    totals = [index.search(Query.parse(t, filters=f, size=0)).total for t, f in PARITY_QUERIES]
    between = [t for t in totals if 0 < t < index.count()]
    assert len(between) >= 0.8 * len(totals), list(zip(PARITY_QUERIES, totals, strict=True))
    # CERN records have √s and no energy intervals: each decade counts the records whose √s lies in it
    histogram = index.search(Query.parse("", facets=["energy_histogram"], size=0)).facets["energy_histogram"]
    energies = [d["sqrt_s_gev"] for d in reference.documents if d["sqrt_s_gev"]]
    assert {v.value: v.count for v in histogram if v.count} == {
        d.label: sum(1 for e in energies if d.low <= e <= d.high)
        for d in DECADES
        if any(d.low <= e <= d.high for e in energies)
    }
    assert sum(v.count for v in histogram) == len(energies) > 4000


def test_every_request_for_them_validates_against_the_specification(
    es_double: ElasticsearchDouble, es_spec: ElasticsearchSpec
) -> None:
    index = ElasticsearchIndex.from_url(es_double.url)
    index.ensure()
    for text, filters in PARITY_QUERIES:
        index.search(
            Query.parse(text, filters=filters, facets=FACETS, size=25, fields=["title", "doi"], highlight=True)
        )
    index.close()
    searches = es_double.of("POST", r"/dmlake-records/_search")
    assert len(searches) == len(PARITY_QUERIES)
    assert all("energy_histogram" in r.json["aggregations"] for r in searches)
    assert all(r.json["_source"]["includes"] == ["id", "summary.title", "summary.doi", "title", "description"]
               for r in searches)  # fmt: skip
    assert_valid(es_spec, es_double.requests)


@pytest.fixture
def es_double() -> Iterator[ElasticsearchDouble]:
    with ElasticsearchDouble() as double:
        yield double
    assert not double.failures, f"the double failed to answer: {double.failures}"
