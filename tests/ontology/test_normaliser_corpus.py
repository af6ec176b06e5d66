"""Acceptance (issue #4, item 4): the normaliser maps every experiment string of the corpus; its report lists none
unmapped.

Every corpus record of every portal kind goes the real way: the sandbox replicas serve the corpus, the registered
connectors list it, their mappers map each raw record (CERN Open Data `experiment` and `collaboration` over REST and
OAI-PMH, Zenodo keywords, communities and creators over REST and OAI-PMH, HEPData collaborations, KCDC over OAI-PMH
and its data-shop page, the DMDC-style GitLab group holding COSINE-100). The experiment strings the mappers met are
printed with the concept each maps to, and `vocabulary.unmapped()` gains no experiment while they run.

Zenodo's mapper only looks names up (a keyword that is no experiment is just a keyword), so its strings are checked
against a review of every Zenodo keyword, subject and organisation in the corpus: those that name an experiment or
an observatory must map, and those that look like one but are not must not.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from rdflib import Namespace, URIRef
from rdflib.namespace import SKOS

from connectors import registry
from connectors.base import HarvestState, Limits, MappingError
from connectors.http import HttpClient
from harvester.config import parse
from ontology import Concept, IdentifierScheme, Record, vocabulary
from sandbox import build_replicas, start
from sandbox.replicas import REPLICA_CLASSES

DML = Namespace("https://w3id.org/dmlake/ns#")
EXPERIMENT_SCHEME = URIRef("https://w3id.org/dmlake/vocab/experiment")

ISSUE_EXPERIMENTS = (
    "CMS", "ATLAS", "ALICE", "LHCb", "TOTEM", "DELPHI", "OPERA", "JADE", "PHENIX", "KASCADE", "KASCADE-Grande",
    "LOPES", "Maket-ANI", "Tunka-Rex", "TAIGA", "CRESST", "XENON", "ANAIS", "COSINE-100", "DAMA/LIBRA", "LZ",
    "PandaX", "DarkSide", "SuperCDMS", "IceCube", "KM3NeT", "Pierre Auger", "Telescope Array", "CTA", "H.E.S.S.",
    "MAGIC", "VERITAS", "HAWC", "LHAASO", "Fermi-LAT", "LIGO", "Virgo", "KAGRA",
)  # fmt: skip
"""Every experiment issue #4 names."""

NAMED_IN_KEYWORDS = {
    "Chandra": "Chandra X-ray Observatory",
    "Hubble Frontier Fields": "Hubble Space Telescope",
    "COSINE-100": "COSINE-100",
    "DAMA/LIBRA": "DAMA/LIBRA",
    "anais": "ANAIS",
    "cresst": "CRESST",
}
"""Keywords of corpus records that name an experiment or observatory without saying so (found by reading every
keyword of the Zenodo and GitLab records), with the concept each must map to."""

NOT_EXPERIMENTS = {
    "CLASH": "an HST survey, but also an ordinary word: it must not make a record one of HST's",
    "SPARC": "a sample of galaxy rotation curves (and a processor, and a tokamak), not an instrument",
    "GWTC": "the LIGO-Virgo-KAGRA catalogue: three experiments, which a single concept cannot stand for",
    "Semachrysa jade": "a lacewing, not the JADE experiment",
}
"""Keywords of corpus records that look like experiment names but are not, and why."""

QUALIFIED = re.compile(r"\b(collaboration|experiment|observatory|telescope|detector)\b", re.IGNORECASE)
ZENODO_SOURCES = ("zenodo", "zenodo-oai")

pytestmark = pytest.mark.slow


@dataclass
class Mapped:
    records: dict[str, list[Record]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    unmapped_during: dict[tuple[str, str], int] = field(default_factory=dict)

    def all(self) -> Iterator[Record]:
        for records in self.records.values():
            yield from records


@pytest.fixture(scope="module")
def mapped(corpus: Path) -> Mapped:
    result = Mapped()
    replicas = build_replicas(corpus=corpus)
    assert set(replicas) == set(REPLICA_CLASSES), "every portal kind should have corpus records"
    before = vocabulary.unmapped()
    with start(replicas) as running, HttpClient(Limits(concurrency=4), sleep=lambda s: None, max_backoff=0.01) as http:
        for source in parse(running.sources_toml(), "<sandbox>", sorted(registry())).sources.values():
            connector_class = registry()[source.spec.kind]
            records = result.records.setdefault(source.name, [])
            for page in connector_class(source.spec, http).pages(HarvestState(full=True)):
                result.problems += [f"{source.name} {f.native_id}: {f.message}" for f in page.failures]
                for raw in page.records:
                    try:
                        records.append(connector_class.map_record(raw, source.name))
                    except MappingError as error:
                        result.problems.append(f"{source.name} {raw.native_id}: {error}")
    after = vocabulary.unmapped()
    result.unmapped_during = {key: n - before.get(key, 0) for key, n in after.items() if n > before.get(key, 0)}
    return result


@pytest.fixture(scope="module")
def report(mapped: Mapped, request: pytest.FixtureRequest) -> Counter[tuple[str, str, str]]:
    """(source, raw string, concept label, known organisation or UNMAPPED) → records; printed on the terminal."""
    seen: Counter[tuple[str, str, str]] = Counter()
    for source, records in mapped.records.items():
        for record in records:
            for found in {(c.raw.strip(), _reported(c)) for c in record_experiments(record)}:
                seen[(source, *found)] += 1
    unmapped = sorted(raw for (scheme, raw) in mapped.unmapped_during if scheme == "experiment")
    lines = [
        f"Experiment strings of the corpus ({sum(len(r) for r in mapped.records.values())} records, "
        f"{len(mapped.records)} sources) and their concepts:",
        *(f"  {source:<17} {raw!r:<68} → {label}  ({count})" for (source, raw, label), count in sorted(seen.items())),
        f"normaliser report, experiment scheme: {len(unmapped)} unmapped" + (f": {unmapped}" if unmapped else ""),
    ]
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if capture is not None:
        with capture.global_and_fixture_disabled():
            print("\n" + "\n".join(lines))
    else:
        print("\n".join(lines))
    return seen


def _reported(value: Concept) -> str:
    if value.mapped:
        return value.label
    organisation = vocabulary.not_an_experiment(value.raw)
    return f"no experiment: {organisation.label} (organisation)" if organisation else "UNMAPPED"


def record_experiments(record: Record) -> list[Concept]:
    return [*record.experiments, *record.collaboration]


def test_every_corpus_record_is_mapped(mapped: Mapped) -> None:
    assert mapped.problems == []
    for source, records in mapped.records.items():
        assert records, f"{source}: no records mapped"


def test_the_normaliser_reports_no_unmapped_experiment(mapped: Mapped, report: Counter) -> None:
    assert [key for key in mapped.unmapped_during if key[0] == "experiment"] == []
    assert [key for key in report if key[2] == "UNMAPPED"] == []
    # the report covers what the corpus holds: every portal kind that names experiments contributed strings
    sources = {source for source, _, _ in report}
    assert {"cernopendata", "cernopendata-oai", "hepdata", "dmdc", "kcdc-oai", "kcdc-html", "zenodo-oai"} <= sources


def test_every_experiment_and_collaboration_of_every_record_is_a_concept(mapped: Mapped) -> None:
    """Independent of the counter (a mapper may cache its lookups): each record's own values are mapped, or are
    organisations the vocabularies know are no experiment."""
    unmapped = {
        (record.source, c.raw)
        for record in mapped.all()
        for c in record_experiments(record)
        if not c.mapped and vocabulary.not_an_experiment(c.raw) is None
    }
    assert unmapped == set()


def test_outreach_groups_named_as_collaborations_stay_unlinked_and_imply_no_experiment(mapped: Mapped) -> None:
    """CERN names four outreach groups and teams as the collaboration of CMS learning resources: the normaliser
    knows them (vocab/organisation.ttl), so they are no vocabulary gap, yet they become no experiment either (the
    OAI-PMH mapping takes every linked collaboration for an experiment)."""
    groups = {
        "51": "VISPA team, RWTH Aachen University",
        "53": "International Particle Physics Outreach Group",
        "54": "Interactions in Understanding the Universe",
        "59": "IFCA (UC-CSIC) and Aeonium",
    }
    for source in ("cernopendata", "cernopendata-oai"):
        by_recid = {r.identifier(IdentifierScheme.CERN_RECID): r for r in mapped.records[source]}
        for recid, label in groups.items():
            record = by_recid[recid]
            [collaboration] = record.collaboration
            known = vocabulary.not_an_experiment(collaboration.raw)
            assert not collaboration.mapped and known is not None and known.label == label, (source, recid)
            assert vocabulary.lookup("experiment", collaboration.raw) is None
            expected = ["CMS"] if source == "cernopendata" else []  # the REST record names CMS as its experiment
            assert [c.label for c in record.experiments] == expected, (source, recid)


def _strings(record: Record) -> set[str]:
    """The strings of a record that may name an experiment: keywords, subjects, organisation creators."""
    organisations = {a.name for a in [*record.creators, *record.contributors] if a.kind == "organization"}
    return {*record.keywords, *(s.label for s in record.subjects), *organisations}


def test_keywords_naming_experiments_map_and_the_reviewed_others_do_not(mapped: Mapped) -> None:
    strings = {s for source in (*ZENODO_SOURCES, "dmdc") for r in mapped.records[source] for s in _strings(r)}
    assert set(NAMED_IN_KEYWORDS) | set(NOT_EXPERIMENTS) <= strings, "the review lists strings the corpus lacks"
    for raw, label in NAMED_IN_KEYWORDS.items():
        found = vocabulary.lookup("experiment", raw)
        assert found is not None and found.label == label, raw
        assert found.messengers and found.techniques, raw
    for raw, why in NOT_EXPERIMENTS.items():
        assert vocabulary.lookup("experiment", raw) is None, f"{raw!r} maps to an experiment, but it is {why}"
    qualified = {s for s in strings if QUALIFIED.search(s)}
    # nothing else in these records looks like an experiment to the vocabulary: the review above is complete
    mapped_strings = {s for s in strings if vocabulary.lookup("experiment", s) is not None}
    assert mapped_strings - qualified == set(NAMED_IN_KEYWORDS)


def test_zenodo_records_carry_the_experiments_their_strings_name(mapped: Mapped) -> None:
    checked = 0
    for source in ZENODO_SOURCES:
        for record in mapped.records[source]:
            uris = {c.uri for c in record.experiments}
            for raw in _strings(record):
                if raw in NAMED_IN_KEYWORDS or QUALIFIED.search(raw):
                    found = vocabulary.lookup("experiment", raw)
                    assert found is not None, f"{record.id}: {raw!r} names an experiment the vocabulary lacks"
                    assert found.uri in uris, f"{record.id}: {raw!r} is not among its experiments"
                    checked += 1
    assert checked >= 2  # the corpus Zenodo records name Chandra and the Hubble Frontier Fields


@pytest.mark.parametrize("name", ISSUE_EXPERIMENTS)
def test_every_experiment_the_issue_names_has_messengers_and_a_technique(name: str) -> None:
    found = vocabulary.lookup("experiment", name)
    assert found is not None, f"{name} is not in the experiment vocabulary"
    assert found.messengers, f"{name} has no messenger"
    assert found.techniques, f"{name} has no detection technique"
    for uri in (*found.messengers, *found.techniques, *found.targets):
        assert vocabulary.by_uri(uri) is not None, f"{name}: {uri} is not a concept of the vocabularies"


def test_every_experiment_concept_has_messengers_and_techniques() -> None:
    graph = vocabulary.vocabulary_graph()
    concepts = set(graph.subjects(SKOS.inScheme, EXPERIMENT_SCHEME))
    assert len(concepts) == len(vocabulary.all_concepts("experiment")) > len(ISSUE_EXPERIMENTS)
    for uri in concepts:
        assert (uri, DML.messenger, None) in graph, f"{uri} has no messenger"
        assert (uri, DML.detectionTechnique, None) in graph, f"{uri} has no detection technique"
