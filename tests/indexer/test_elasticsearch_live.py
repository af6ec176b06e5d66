"""Parity with a real Elasticsearch cluster (issue 5, acceptance 1 and 2): set DMLAKE_ES_URL to run it.

    DMLAKE_ES_URL=http://localhost:9200 .venv/bin/pytest tests/indexer/test_elasticsearch_live.py

(`docker compose -f deploy/compose.yaml up elasticsearch` starts one.) The suite indexes the same documents into
tantivy and into fresh indices of the cluster (named `dmlake-test-<random>`, removed afterwards) and checks that
70 text queries (dmlake's field syntax, units and overlaps among them) and 9 filter sets over the 7,443 CERN Open
Data records and the 2,000 generated records give the same totals, hit sets and facet counts (histograms too), that
field sorts give the same order, that a cursor walk over all 7,443 CERN records 25 per page returns each exactly once
on both backends, and that every request the backend sent to the cluster (through a
recording proxy) validates against the Elasticsearch 8.17 OpenAPI specification.

Without DMLAKE_ES_URL every test here is skipped, naming the variable: nothing of this is checked offline (the
offline suites check the requests and the translation, not Elasticsearch).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from es_openapi import ElasticsearchSpec
from es_proxy import RecordingProxy
from es_testing import cern_documents, es_spec, request_problems

from indexer.document import index_document
from indexer.elasticsearch_backend import ElasticsearchIndex
from indexer.query import Query, SearchBackend
from indexer.tantivy_backend import TantivyIndex
from ontology.model import Record

__all__ = ["es_spec"]  # fixtures

URL = os.environ.get("DMLAKE_ES_URL", "")
pytestmark = [
    pytest.mark.es,
    pytest.mark.skipif(
        not URL,
        reason="set DMLAKE_ES_URL (e.g. http://localhost:9200) to run the Elasticsearch "
        "parity suite against a real cluster",
    ),
]

CERN_TEXTS = [
    "", "CMS", "Higgs", "higgs boson", "muon", "dimuon", "Muons", "electron", "jet", "jets", "top quark",
    "Run2011A", "/DoubleMu/Run2011A-12Oct2013-v1/AOD", '"/DoubleMu/Run2011A-12Oct2013-v1/AOD"', "AOD", "AODSIM",
    "MINIAODSIM", "NANOAOD", "collision", "simulated", "ALICE PbPb", "PbPb", "Pb-Pb", "pp", "13TeV", "7TeV",
    "8TeV", "2.76TeV", "13 TeV", "J/psi", "Z boson", "W boson", "B0->K*mumu", "e+e-", "ATLAS OR LHCb",
    "LHCb -ATLAS", "title:dimuon", "experiments:ALICE", "experiment:CMS", "experiment:LHCb", "year:2012",
    "year:[2010 TO 2012]", "sqrt_s_gev:13000", "doi:*", "10.7483/OPENDATA.CMS", "opendata.cms", "Docker",
    "software", "documentation", "analysis example", '"open data"', '"jet energy"~2', "calibration OR trigger",
    "(muon OR electron) AND 2011", "masterclass", "validation", "derived", "tau", "photon",
    "experiment:cms", 'experiment:"CMS Collaboration" muon', "licence:cc0", "energy:13TeV", "energy:[1 TeV TO 10 TeV]",
    "energy:>=8TeV", "sqrt_s:[2.76TeV TO 7TeV]", "date:2011", "date:[2015-01 TO 2016-06]", "jets -sqrt_s:13TeV",
]  # fmt: skip
CERN_FILTERS = [
    ["experiment=CMS"], ["experiment=ALICE", "experiment=LHCb"], ["year=2010..2012"], ["file_format=root"],
    ["collision_type=pp", "sqrt_s_gev=7000..8000"], ["availability=online"], ["resource_type=Dataset"],
    ["energy=1TeV..10TeV"], ["date=2015-01-01..2016-12-31", "sqrt_s=13TeV"],
]  # fmt: skip
FACETS = ["experiment", "year", "collision_type", "file_format", "resource_type", "license", "availability",
          "year_histogram", "energy_histogram"]  # fmt: skip
SORTS = ["-issued", "title", "-year", "size_bytes", "-sqrt_s_gev"]


@pytest.fixture(scope="module")
def proxy() -> Iterator[RecordingProxy]:
    with RecordingProxy(URL, verify=os.environ.get("DMLAKE_ES_CA_CERTS") or True) as running:
        yield running


@pytest.fixture(scope="module")
def backends(
    proxy: RecordingProxy, corpus: Path, tmp_path_factory: pytest.TempPathFactory, es_spec: ElasticsearchSpec
) -> Iterator[tuple[TantivyIndex, ElasticsearchIndex]]:
    documents = cern_documents(corpus)
    embedded = TantivyIndex(tmp_path_factory.mktemp("live-cern"))
    embedded.index_documents(documents)
    embedded.commit()
    cluster = ElasticsearchIndex.from_url(proxy.url, name=f"dmlake-test-{secrets.token_hex(4)}",
                                          api_key=os.environ.get("DMLAKE_ES_API_KEY"))  # fmt: skip
    try:
        cluster.rebuild(documents)
        yield embedded, cluster
    finally:
        for index in cluster.aliased_indices():
            cluster.client.indices.delete(index=index, ignore_unavailable=True)
        cluster.client.indices.delete_index_template(name=cluster.name)
        cluster.close()
        embedded.close()
    problems = request_problems(es_spec, proxy.requests)
    assert not problems, "requests the specification refuses:\n" + "\n".join(problems)


def everything(backend: SearchBackend, query: Query) -> tuple[int, list[str], dict[str, dict[str, int]]]:
    ids: list[str] = []
    cursor = None
    first = None
    while True:
        page = backend.search(query.with_cursor(cursor))
        first = first or page
        ids.extend(hit.id for hit in page.hits)
        cursor = page.next_cursor
        if cursor is None:
            facets = {name: {v.value: v.count for v in values} for name, values in first.facets.items()}
            return first.total, ids, facets


@pytest.mark.parametrize("text", CERN_TEXTS)
def test_cern_text_queries_agree(backends: tuple[TantivyIndex, ElasticsearchIndex], text: str) -> None:
    embedded, cluster = backends
    query = Query.parse(text, facets=[",".join(FACETS)], facet_size=1000, size=1000)
    total, ids, facets = everything(embedded, query)
    es_total, es_ids, es_facets = everything(cluster, query)
    assert es_total == total
    assert len(es_ids) == len(set(es_ids)) == total
    assert set(es_ids) == set(ids)
    assert es_facets == facets


@pytest.mark.parametrize("filters", CERN_FILTERS, ids=" & ".join)
@pytest.mark.parametrize("sort", SORTS)
def test_cern_filtered_sorts_agree_in_order(
    backends: tuple[TantivyIndex, ElasticsearchIndex], filters: list[str], sort: str
) -> None:
    embedded, cluster = backends
    query = Query.parse("", filters=filters, sort=sort, facets=["experiment,year"], size=500)
    assert everything(cluster, query) == everything(embedded, query)


@pytest.mark.parametrize("backend", ["tantivy", "elasticsearch"])
def test_a_cursor_walk_returns_every_cern_record_once(
    backends: tuple[TantivyIndex, ElasticsearchIndex], backend: str
) -> None:
    index: SearchBackend = backends[0] if backend == "tantivy" else backends[1]
    for sort in ("-issued", "relevance"):
        query = Query.parse("" if sort != "relevance" else "*", sort=sort, size=25)
        total, ids, _ = everything(index, query)
        assert total == 7443 and len(ids) == 7443 and len(set(ids)) == 7443


@pytest.fixture(scope="module")
def generated(
    proxy: RecordingProxy, small_records: list[Record], small_index: TantivyIndex
) -> Iterator[tuple[TantivyIndex, ElasticsearchIndex]]:
    cluster = ElasticsearchIndex.from_url(proxy.url, name=f"dmlake-test-{secrets.token_hex(4)}",
                                          api_key=os.environ.get("DMLAKE_ES_API_KEY"))  # fmt: skip
    try:
        cluster.rebuild(index_document(record) for record in small_records)
        yield small_index, cluster
    finally:
        for index in cluster.aliased_indices():
            cluster.client.indices.delete(index=index, ignore_unavailable=True)
        cluster.client.indices.delete_index_template(name=cluster.name)
        cluster.close()


@pytest.mark.parametrize(
    "spec",
    [{"text": "muon"}, {"text": "dark matter", "filters": ["source=zenodo"]}, {"text": "13TeV OR PbPb"},
     {"filters": ["year=2000..2010", "file_format=csv"]}, {"filters": ["experiment=cms collaboration"]},
     {"filters": ["energy_max_gev=1000.."], "sort": "-sqrt_s_gev"}, {"sort": "title"}, {"sort": "-modified"}],
)  # fmt: skip
def test_generated_records_agree(generated: tuple[TantivyIndex, ElasticsearchIndex], spec: dict[str, Any]) -> None:
    embedded, cluster = generated
    query = Query.parse(spec.get("text", ""), filters=spec.get("filters", []), sort=spec.get("sort"),
                        facets=["experiment,year,messenger,collision_type"], facet_size=1000, size=300)  # fmt: skip
    total, ids, facets = everything(embedded, query)
    es_total, es_ids, es_facets = everything(cluster, query)
    assert (es_total, es_facets) == (total, facets)
    assert (es_ids if query.effective_sort != "relevance" else set(es_ids)) == (
        ids if query.effective_sort != "relevance" else set(ids)
    )


def test_an_older_version_never_overwrites_a_newer_one(generated: tuple[TantivyIndex, ElasticsearchIndex]) -> None:
    _, cluster = generated
    document = {"id": "https://w3id.org/dmlake/record/zenodo/versioned", "title": ["Newer"],
                "summary": {"title": "Newer"}, "version": 20}  # fmt: skip
    older = {**document, "title": ["Older"], "summary": {"title": "Older"}, "version": 11}
    assert cluster.index_documents([document]) == 1
    assert cluster.index_documents([older]) == 1 and cluster.last_stats.superseded == 1
    cluster.commit()
    hits = cluster.search(Query.parse("title:newer OR title:older", size=5)).hits
    assert [hit.fields["title"] for hit in hits] == ["Newer"]
    cluster.delete([document["id"]])
    cluster.commit()
