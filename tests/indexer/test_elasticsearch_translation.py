"""The Elasticsearch query means what the tantivy query means: same documents, same facet counts, same field order.

No cluster runs here, so each search body the backend builds is read by `es_reference.Reference` (the Query DSL's
documented semantics over the index documents) and compared with `TantivyIndex` answering the same `Query` over the
same records: 2,000 generated records for filters, ranges, facets and sorts, and a small set of physics titles for
the analysers' notation cases. The same comparison runs against a real cluster in `test_elasticsearch_live.py`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from es_reference import Reference

from indexer.document import index_document
from indexer.elasticsearch_query import check_text, search_body, text_query
from indexer.query import FACETABLE, Query, QueryError
from indexer.tantivy_backend import TantivyIndex
from ontology.model import Collision, Concept, Identifier, IdentifierScheme, Provenance, Quantity, Record, record_id
from ontology.vocabulary import concept

TEXTS = [
    "muon", "Muons", "dark matter", '"dark matter"', '"matter dark"', "neutrino", "neutrinos oscillations", "Élan",
    "elan", "13 TeV", "13TeV", "7TeV", "900GeV", "5.02TeV", "91.2GeV", "pp", "PbPb", "Pb-Pb", "pPb", "e+e-",
    "cross section", '"inclusive cross section"', "title:muon", "title:muons", "description:experiment",
    "experiment:CMS", "experiment:cms", "CMS OR ATLAS", "muon -jets", "muon AND NOT jets", "jets AND (-muon)",
    "higgs boson", '"higgs boson"', '"open data"*', '"jet energy sc"*', "keywords:wimp", "year:2010",
    "year:[2000 TO 2005]", "year:{2000 TO 2005}", "year:>2020", "year:<=1996", "sqrt_s_gev:13000",
    "sqrt_s_gev:[900 TO 7000]", "experiment: IN [CMS ATLAS LHCb]", "title: IN [muons spectra]", "doi:*", "*",
    "title:,", "muon title:,", "10.5281/ZENODO.100003", "doi:10.5281/zenodo.100003", "zenodo", "table 1",
    "(muon OR jets) AND cms", "source:zenodo", "run 2", '"full run 2"', '"full run 2"~1', "measurement^3 inclusive",
    "collider", "dark-matter direct detection", "KASCADE", "Fermi-LAT", "charged cosmic ray", "license:MIT",
    "file_format:ROOT", "search OR release -data", "(dark OR muon) (matter OR spectrum)", "IceCube neutrino",
]  # fmt: skip
FILTERS = [
    [], ["experiment=CMS"], ["experiment=cms collaboration", "messenger=collider"], ["collision_type=proton-proton"],
    ["file_format=root", "availability=on-tape"], ["license=cc0", "source=zenodo"], ["year=2000..2005"],
    ["year=2001.5..2003.2", "experiment=XENON"], ["sqrt_s_gev=7000..13000"], ["energy_max_gev=1000.."],
    ["size_bytes=1000000..", "file_count=2..2"], ["year=-inf..inf"], ["year=1e30.."], ["keyword=muon", "keyword=WIMP"],
]  # fmt: skip
SORTS = ["-issued", "issued", "title", "-title", "year", "-year", "size_bytes", "-size_bytes", "sqrt_s_gev",
         "-sqrt_s_gev", "modified", "-modified"]  # fmt: skip


@pytest.fixture(scope="module")
def documents(small_records: list[Record]) -> list[dict[str, Any]]:
    return [index_document(record) for record in small_records]


@pytest.fixture(scope="module")
def reference(documents: list[dict[str, Any]]) -> Reference:
    return Reference(documents)


def tantivy_walk(index: TantivyIndex, query: Query) -> tuple[list[str], dict[str, dict[str, int]], int]:
    ids: list[str] = []
    cursor = None
    first = None
    while True:
        page = index.search(query.with_cursor(cursor))
        first = first or page
        ids.extend(hit.id for hit in page.hits)
        cursor = page.next_cursor
        if cursor is None:
            facets = {name: {v.value: v.count for v in values} for name, values in first.facets.items()}
            return ids, facets, first.total


def es_answer(reference: Reference, query: Query) -> tuple[list[int], dict[str, Any]]:
    body = search_body(query, size=query.size + 1)
    return reference.matching(body["query"]), body


@pytest.mark.parametrize("text", TEXTS)
def test_text_matches_the_same_records(small_index: TantivyIndex, reference: Reference, text: str) -> None:
    query = Query.parse(text, size=1000)
    ids, _, total = tantivy_walk(small_index, query)
    matching, _ = es_answer(reference, query)
    assert total == len(matching)
    assert set(ids) == {reference.documents[n]["id"] for n in matching}


def test_the_text_cases_are_not_trivial(small_index: TantivyIndex) -> None:
    totals = [small_index.search(Query.parse(text, size=0)).total for text in TEXTS]
    assert sum(1 for t in totals if 0 < t < 2000) >= 0.75 * len(TEXTS), totals


@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: " & ".join(f) or "all")
def test_filters_ranges_and_facets_agree(small_index: TantivyIndex, reference: Reference, filters: list[str]) -> None:
    query = Query.parse("", filters=filters, facets=[",".join(FACETABLE)], size=1000, facet_size=5000)
    ids, facets, total = tantivy_walk(small_index, query)
    matching, body = es_answer(reference, query)
    assert total == len(matching) and set(ids) == {reference.documents[n]["id"] for n in matching}
    assert set(body["aggregations"]) == set(FACETABLE)
    for name in FACETABLE:
        assert facets[name] == reference.facet_counts(matching, name), name


@pytest.mark.parametrize("text", ["muon", "dark matter", "experiment:CMS OR experiment:XENON", "13TeV OR PbPb"])
def test_facets_of_text_searches_agree(small_index: TantivyIndex, reference: Reference, text: str) -> None:
    query = Query.parse(text, facets=["experiment,year,collision_type,messenger"], size=1000, facet_size=5000)
    _, facets, _ = tantivy_walk(small_index, query)
    matching, _ = es_answer(reference, query)
    for name in ("experiment", "year", "collision_type", "messenger"):
        assert facets[name] == reference.facet_counts(matching, name), name


@pytest.mark.parametrize("sort", SORTS)
def test_field_sorts_give_the_same_order(small_index: TantivyIndex, reference: Reference, sort: str) -> None:
    query = Query.parse("", filters=["year=..2015"], sort=sort, size=1000)
    ids, _, _ = tantivy_walk(small_index, query)
    matching, body = es_answer(reference, query)
    assert reference.ordered(matching, body["sort"]) == ids


# ---- physics notation, on records written for it ----------------------------------------------------------------

PHYSICS: dict[str, dict[str, Any]] = {
    "bkstar": {"title": "Angular analysis of the B0->K*mumu decay"},
    "lep": {"title": "Hadronic events", "description": "Recorded in e+e- collisions at LEP."},
    "pbpb": {"title": "Charged-particle multiplicity", "collision": ("PbPb", 5.02, "TeV")},
    "run2": {"title": "Jets with the full data set", "description": "pp collisions at 13 TeV in 2016."},
    "jpsi": {"title": "J/psi production", "collision": ("pp", 7.0, "TeV")},
    "sqrts": {"title": "Cross sections versus √s", "keywords": ["√s = 13 TeV", "p_T spectra"]},
    "neutrino-title": {"title": "Neutrino oscillation parameters"},
    "neutrino-text": {"title": "Detector data", "description": "Used for a neutrino oscillation study."},
    "xenon": {"title": "Limits", "targets": ["xenon"], "messengers": ["dark matter"]},
    "doi": {"title": "A release with a DOI", "doi": "10.7483/OPENDATA.CMS.A342.9982"},
    "dataset": {"title": "/DoubleMu/Run2011A-12Oct2013-v1/AOD"},
    "multi": {"title": "Spectra", "keywords": ["alpha beta", "gamma delta"]},
}
PHYSICS_QUERIES = [
    "B0->K*mumu", '"B0->K*mumu"', "b0->k*mumu", "K*mumu", "e+e-", "PbPb", "Pb-Pb", "13TeV", "13 TeV", "5.02TeV",
    "7TeV", "J/psi", "psi", "pp", "√s", "p_T", "neutrino oscillation", "neutrinos oscillations", "xenon",
    "dark-matter direct detection", "10.7483/OPENDATA.CMS.A342.9982", '"/DoubleMu/Run2011A-12Oct2013-v1/AOD"',
    "/doublemu/run2011a-12oct2013-v1/aod", "title:limits", "description:neutrino", "calibration OR J/psi",
    '"beta gamma"', '"alpha beta"', "run2011a",
]  # fmt: skip


@pytest.fixture(scope="module")
def physics(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TantivyIndex, Reference]]:
    records = [_physics_record(name, spec) for name, spec in PHYSICS.items()]
    index = TantivyIndex(tmp_path_factory.mktemp("physics-index"))
    index.index(records)
    index.commit()
    yield index, Reference(index_document(r) for r in records)
    index.close()


def _physics_record(name: str, spec: dict[str, Any]) -> Record:
    collision = None
    if "collision" in spec:
        kind, value, unit = spec["collision"]
        collision = Collision(type=concept("collision-type", kind), sqrt_s=Quantity(value=value, unit=unit))
    return Record(
        id=record_id("zenodo", name),
        source="zenodo",
        native_id=name,
        title=spec["title"],
        description=spec.get("description"),
        keywords=spec.get("keywords", []),
        collision=collision,
        targets=[concept("target", t) for t in spec.get("targets", [])],
        messengers=[concept("messenger", m) for m in spec.get("messengers", [])],
        identifiers=[Identifier(scheme=IdentifierScheme.DOI, value=spec["doi"])] if "doi" in spec else [],
        resource_type=Concept(label="Dataset", raw="dataset"),
        provenance=Provenance(source="zenodo", source_kind="zenodo", raw_sha256="0" * 64, mapping_version="1"),
    )


@pytest.mark.parametrize("text", PHYSICS_QUERIES)
def test_physics_notation_finds_the_same_records(physics: tuple[TantivyIndex, Reference], text: str) -> None:
    index, ref = physics
    expected = {hit.id for hit in index.search(Query.parse(text, size=50)).hits}
    matching, _ = es_answer(ref, Query.parse(text, size=50))
    assert {ref.documents[n]["id"] for n in matching} == expected
    assert expected or text in ('"beta gamma"',), f"{text!r} finds nothing: the comparison proves little"


# ---- errors ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["higgs AND (", "muon nosuchfield:x", '"unclosed', "-muon", "NOT muon", "year:abc", "title:/mu.*/",
     "summary:x", 'keyword:"WIMP"*', "sqrt_s_gev:[1 TO x]"],
)  # fmt: skip
def test_a_text_refused_is_refused_with_the_same_error(small_index: TantivyIndex, text: str) -> None:
    with pytest.raises(QueryError) as embedded:
        small_index.search(Query.parse(text))
    with pytest.raises(QueryError) as translated:
        text_query(text)
    assert translated.value.to_json() == embedded.value.to_json()


def test_existence_of_a_text_field_is_refused_with_a_hint() -> None:
    check_text("title:*")  # tantivy's parser accepts it; its searcher then fails
    with pytest.raises(QueryError) as caught:
        text_query("title:*")
    assert caught.value.parameter == "q" and caught.value.hint and "doi:*" in caught.value.hint


def test_only_excluding_clauses_in_a_group_match_nothing() -> None:
    assert text_query("jets AND (-muon)")["bool"]["must"][1] == {"match_none": {}}


def test_a_literal_with_no_token_anywhere_is_dropped() -> None:
    assert text_query("title:,") == {"match_none": {}}
    alone = text_query("muon")
    assert text_query("muon title:,") == alone
