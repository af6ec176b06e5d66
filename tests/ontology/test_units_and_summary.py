"""Unit codes → QUDT IRIs (and dmlake's own units where QUDT has none), and the generated texts."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef

from ontology import summary, units
from ontology.model import Collision, Quantity, Record
from ontology.terms import QUDT, RDF
from ontology.vocabulary import concept, vocabulary_graph


@pytest.mark.parametrize(
    ("code", "iri"),
    [
        ("eV", "http://qudt.org/vocab/unit/EV"),
        ("keV", "http://qudt.org/vocab/unit/KiloEV"),
        ("MeV", "http://qudt.org/vocab/unit/MegaEV"),
        ("GeV", "http://qudt.org/vocab/unit/GigaEV"),
        ("GEV", "http://qudt.org/vocab/unit/GigaEV"),
        ("TeV", "https://w3id.org/dmlake/unit/TeraEV"),
        ("PeV", "https://w3id.org/dmlake/unit/PetaEV"),
        ("EeV", "https://w3id.org/dmlake/unit/ExaEV"),
        ("s", "http://qudt.org/vocab/unit/SEC"),
        ("days", "http://qudt.org/vocab/unit/DAY"),
        ("yr", "http://qudt.org/vocab/unit/YR"),
        ("kg", "http://qudt.org/vocab/unit/KiloGM"),
        ("kg.d", "https://w3id.org/dmlake/unit/KiloGM-DAY"),
        ("kg·d", "https://w3id.org/dmlake/unit/KiloGM-DAY"),
        ("kg x day", "https://w3id.org/dmlake/unit/KiloGM-DAY"),
        ("t·yr", "https://w3id.org/dmlake/unit/TONNE-YR"),
        ("tonne year", "https://w3id.org/dmlake/unit/TONNE-YR"),
    ],
)
def test_unit_codes_name_qudt_units(code: str, iri: str) -> None:
    found = units.unit(code)
    assert found is not None and found.iri == iri


@pytest.mark.parametrize("code", ["meV", "gev", "fortnights", "", "kg/d"])
def test_codes_dmlake_does_not_know_are_not_guessed(code: str) -> None:
    assert units.unit(code) is None  # meV is not MeV: energy prefixes are case-sensitive


def test_every_dmlake_unit_is_defined_as_a_qudt_unit_in_the_vocabulary() -> None:
    graph = Graph().parse(Path(units.__file__).parent / "vocab" / "unit.ttl")
    own = [u for u in units.UNITS if u.iri.startswith(units.DML_UNIT)]
    assert own
    for unit in own:
        node = URIRef(unit.iri)
        assert (node, RDF.type, QUDT.Unit) in graph, unit.iri
        assert graph.value(node, QUDT.symbol) == Literal(unit.symbol)
        assert graph.value(node, QUDT.ucumCode) == Literal(unit.code)
        assert float(graph.value(node, QUDT.conversionMultiplier)) > 0  # type: ignore[arg-type]
    assert len(set(graph.subjects(RDF.type, QUDT.Unit))) == len(own)


def test_the_unit_vocabulary_loads_with_the_others_and_adds_no_concepts() -> None:
    graph = vocabulary_graph()
    assert (URIRef("https://w3id.org/dmlake/unit/TeraEV"), RDF.type, QUDT.Unit) in graph
    assert concept("messenger", "neutrinos").uri == "https://w3id.org/dmlake/vocab/messenger/neutrino"


def test_the_context_sentence_states_what_the_metadata_says(full: Record) -> None:
    sentence = summary.context_sentence(full)
    assert sentence.startswith("Dataset / collision \u201cDoubleMuon primary dataset")
    for fact in ("of CMS", "(collider)", "published by CERN Open Data Portal", "in 2016", "pp collisions", "√s = 7 TeV",
                 "energies 1–3500 GeV", "target xenon", "exposure 1.5 t·yr", "live time 278.8 d", "29,944,565 events",
                 "taken 2011-03-13 to 2011-08-31"):  # fmt: skip
        assert fact in sentence, fact


def test_a_generated_description_is_marked(minimal: Record) -> None:
    text, generated = summary.description(minimal)
    assert generated and text == f"{summary.GENERATED_MARK} Dataset \u201cTable 1\u201d."


def test_a_source_description_is_kept_as_it_is(full: Record) -> None:
    assert summary.description(full) == (full.description, False)
    assert summary.description_at_least(full, 10) == full.description


def test_physics_facts_name_unknown_units_by_their_code(minimal: Record) -> None:
    record = minimal.model_copy(
        update={"collision": Collision(sqrt_s=Quantity(value=200.0, unit="GeV/nucleon")), "number_of_events": 12}
    )
    assert summary.physics_facts(record) == ["√s = 200 GeV/nucleon", "12 events"]
