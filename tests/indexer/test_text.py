"""Full text: the analysers keep physics notation findable, and relevance ranking behaves as people expect."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from indexer.query import Query
from indexer.tantivy_backend import TantivyIndex
from indexer.tantivy_schema import analyzers
from ontology.model import Collision, Concept, Quantity, Record
from ontology.vocabulary import concept


def test_physics_analyser_keeps_notation_whole() -> None:
    physics = analyzers()["physics"]
    text = "Angular analysis of B0->K*mumu and e+e- → μ+μ− in Pb-Pb, J/psi p_T at 13TeV (pp)."
    assert physics.analyze(text) == [
        "angular", "analysis", "of", "b0->k*mumu", "and", "e+e-", "μ+μ−", "in", "pb-pb", "j/psi", "p_t", "at",
        "13tev", "pp",
    ]  # fmt: skip


def test_prose_analyser_splits_folds_and_stems() -> None:
    prose = analyzers()["prose"]
    assert prose.analyze("Measurements of Neutrino Oscillations, PbPb collisions, Élan") == [
        "measur", "of", "neutrino", "oscil", "pbpb", "collis", "elan",
    ]  # fmt: skip
    assert prose.analyze("B0->K*mumu") == ["b0", "k", "mumu"]


def test_exact_analyser_keeps_the_whole_value() -> None:
    assert analyzers()["exact"].analyze("/DoubleMu/Run2011A-12Oct2013-v1/AOD") == [
        "/doublemu/run2011a-12oct2013-v1/aod"
    ]


def test_identifier_analyser_keeps_identifiers_whole() -> None:
    assert analyzers()["identifier"].analyze("10.7483/OPENDATA.CMS.A342.9982 arxiv:1207.7214") == [
        "10.7483/opendata.cms.a342.9982",
        "arxiv:1207.7214",
    ]


TEXTS: dict[str, dict[str, Any]] = {
    "bkstar": {"title": "Angular analysis of the B0->K*mumu decay"},
    "lep": {"title": "Hadronic events", "description": "Recorded in e+e- collisions at LEP."},
    "pbpb": {"title": "Charged-particle multiplicity", "collision": ("PbPb", 5.02, "TeV")},
    "run2": {"title": "Jets with the full data set", "description": "pp collisions at 13 TeV in 2016."},
    "jpsi": {"title": "J/psi production", "collision": ("pp", 7.0, "TeV")},
    "neutrino-title": {"title": "Neutrino oscillation parameters"},
    "neutrino-text": {"title": "Detector data", "description": "Used for a neutrino oscillation study."},
    "calibration": {"title": "Muon detector calibration", "keywords": ["alignment"]},
    "doi": {"title": "A release with a DOI", "doi": "10.7483/OPENDATA.CMS.A342.9982"},
    "xenon": {"title": "Limits", "targets": ["xenon"], "messengers": ["dark matter"]},
    "dataset": {"title": "/DoubleMu/Run2011A-12Oct2013-v1/AOD"},
    "derived": {
        "title": "Event display of /DoubleMu/Run2011A-12Oct2013-v1/AOD",
        "description": "Events from /DoubleMu/Run2011A-12Oct2013-v1/AOD, for /DoubleMu/Run2011A-12Oct2013-v1/AOD users",
    },
}


@pytest.fixture(scope="module")
def text_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TantivyIndex]:
    from ontology.model import Identifier, IdentifierScheme, Provenance, record_id

    records = []
    for name, spec in TEXTS.items():
        collision = None
        if "collision" in spec:
            kind, value, unit = spec["collision"]
            collision = Collision(type=concept("collision-type", kind), sqrt_s=Quantity(value=value, unit=unit))
        records.append(
            Record(
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
        )
    index = TantivyIndex(tmp_path_factory.mktemp("text-index"))
    index.index(records)
    index.commit()
    index.close()
    yield index


def found(index: TantivyIndex, text: str) -> list[str]:
    return [hit.id.rsplit("/", 1)[1] for hit in index.search(Query.parse(text, size=50)).hits]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("B0->K*mumu", {"bkstar"}),
        ('"B0->K*mumu"', {"bkstar"}),
        ("e+e-", {"lep"}),
        ("PbPb", {"pbpb"}),
        ("Pb-Pb", {"pbpb"}),
        ("13TeV", {"run2"}),
        ("13 TeV", {"run2"}),
        ("5.02TeV", {"pbpb"}),
        ("7TeV", {"jpsi"}),
        ("J/psi", {"jpsi"}),
        ("pp", {"run2", "jpsi"}),
        ("neutrino oscillation", {"neutrino-title", "neutrino-text"}),
        ("neutrinos oscillations", {"neutrino-title", "neutrino-text"}),
        ("muon alignment", {"calibration"}),
        ("muon -alignment", set()),
        ("10.7483/OPENDATA.CMS.A342.9982", {"doi"}),
        ("xenon", {"xenon"}),
        ("dark-matter direct detection", {"xenon"}),
        ("title:limits", {"xenon"}),
        ("description:neutrino", {"neutrino-text"}),
        ("calibration OR J/psi", {"calibration", "jpsi"}),
    ],
)
def test_physics_queries_find_what_they_name(text_index: TantivyIndex, text: str, expected: set[str]) -> None:
    assert set(found(text_index, text)) == expected


@pytest.mark.parametrize("text", ['"/DoubleMu/Run2011A-12Oct2013-v1/AOD"', "/doublemu/run2011a-12oct2013-v1/aod"])
def test_the_record_named_by_the_query_comes_first(text_index: TantivyIndex, text: str) -> None:
    assert found(text_index, text) == ["dataset", "derived"]


def test_words_are_required_by_default(text_index: TantivyIndex) -> None:
    assert found(text_index, "muon oscillation") == []


def test_a_title_match_ranks_above_a_description_match(text_index: TantivyIndex) -> None:
    assert found(text_index, "neutrino oscillation") == ["neutrino-title", "neutrino-text"]


def test_filters_do_not_change_scores(text_index: TantivyIndex) -> None:
    plain = text_index.search(Query.parse("neutrino", size=5))
    filtered = text_index.search(Query.parse("neutrino", filters=["resource_type=Dataset", "source=zenodo"], size=5))
    assert [(h.id, h.score) for h in plain.hits] == [(h.id, h.score) for h in filtered.hits]


@pytest.fixture
def fresh(tmp_path: Path, record_factory: Callable[..., Record]) -> Iterator[TantivyIndex]:
    index = TantivyIndex(tmp_path / "index")
    index.index(record_factory(i, title=f"Record {i}", keywords=["muon"] if i % 2 else []) for i in range(10))
    index.commit()
    yield index
    index.close()


def test_reindexing_replaces_a_document(fresh: TantivyIndex, record_factory: Callable[..., Record]) -> None:
    assert fresh.count() == 10
    fresh.index([record_factory(3, title="Renamed release")])
    fresh.commit()
    assert fresh.count() == 10
    assert found(fresh, "renamed") == ["3"]
    assert found(fresh, "title:record title:3") == []


def test_deletes_are_visible_after_commit(fresh: TantivyIndex) -> None:
    ids = [hit.id for hit in fresh.search(Query.parse("muon", size=20)).hits]
    assert len(ids) == 5
    fresh.delete([*ids[:2], "https://w3id.org/dmlake/record/zenodo/never-indexed"])
    assert fresh.search(Query.parse("muon", size=0)).total == 5  # not before the commit
    fresh.commit()
    assert fresh.search(Query.parse("muon", size=0)).total == 3
    assert fresh.count() == 8


def test_rollback_drops_uncommitted_writes(fresh: TantivyIndex, record_factory: Callable[..., Record]) -> None:
    fresh.index([record_factory(100, title="Uncommitted")])
    fresh.rollback()
    fresh.commit()
    assert fresh.count() == 10
