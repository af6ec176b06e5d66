"""Issue #4: the catalogue-wide RDF graph (SPARQL) follows the change feed, answers the README's multi-messenger
query exactly as the records say, survives a crash between loading and committing, and the whole catalogue exports
as Turtle, JSON-LD and N-Triples that parse back to the records' triples.

The lake holds generated records of the three REST portals (their generator gives neutrino, photon and other
messengers, energy ranges in eV…PeV units, and experiments), harvested through the real pipeline.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
from cli import dmlake
from lakes import edit, harvest_all, sources_of

from dmlake.lake import GRAPH_CONSUMER, Lake
from graphstore import GraphStore, SparqlError
from ontology import rdf
from ontology.model import EnergyRange, Record
from sandbox import build_replicas
from sandbox.server import RunningSandbox, start

REPO = Path(__file__).resolve().parents[2]
KINDS = ["zenodo", "hepdata", "cernopendata"]
MESSENGERS = {
    "https://w3id.org/dmlake/vocab/messenger/neutrino",
    "https://w3id.org/dmlake/vocab/messenger/photon",
}
TEV_IN_EV = 1e12
EV_PER_UNIT = {"eV": 1.0, "keV": 1e3, "MeV": 1e6, "GeV": 1e9, "TeV": 1e12, "PeV": 1e15, "EeV": 1e18}


def readme_query() -> str:
    """The multi-messenger SPARQL query as the README shows it (so the README's query is the tested one)."""
    blocks = re.findall(r"```sparql\n(.*?)```", (REPO / "README.md").read_text(encoding="utf-8"), re.S)
    found = [block for block in blocks if "neutrino" in block and "photon" in block]
    assert len(found) == 1, "the README shows one multi-messenger SPARQL query"
    return found[0]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with start(build_replicas(generate=250, seed=5, kinds=KINDS)) as running:
        yield running


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory, sandbox: RunningSandbox) -> Iterator[Lake]:
    the_lake = Lake.open(tmp_path_factory.mktemp("graph-home"))
    reports = harvest_all(the_lake, sources_of(sandbox))
    assert all(r.state == "succeeded" and r.counts.quarantined == 0 for r in reports.values()), reports
    the_lake.update_graph()
    yield the_lake
    the_lake.close()


def live_records(lake: Lake) -> list[Record]:
    return [stored.record for stored in lake.catalogue.iter_records()]


BLANK_NODE = re.compile(r"_:[A-Za-z0-9]+")


def quads_digest(store: GraphStore) -> str:
    """Every quad in a stable order, blank nodes written alike (a store names them afresh on every load, so two
    loads of the same record give isomorphic graphs, not equal labels; a lost or doubled quad still shows)."""
    lines = sorted(BLANK_NODE.sub("_:b", str(quad)) for quad in store._store)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def test_graph_holds_every_live_record_and_follows_the_feed(lake: Lake, sandbox: RunningSandbox) -> None:
    records = live_records(lake)
    assert lake.graph.record_count() == len(records) == lake.catalogue.count()
    expected_triples = sum(len(set(rdf.triples(record))) for record in records)
    in_records = sum(
        1 for quad in lake.graph._store if quad.graph_name.value.startswith("https://w3id.org/dmlake/record/")
    )
    assert in_records == expected_triples
    assert lake.update_graph() == 0, "nothing new in the feed: nothing applied"

    edited = edit(sandbox, "zenodo", "edit", count=4, seed=2)
    removed = edit(sandbox, "zenodo", "delete", count=3, seed=9)
    assert len(edited) == 4 and len(removed) == 3
    with lake.harvester() as harvester:
        report = harvester.harvest(sources_of(sandbox).sources["zenodo"], full=True)
    assert report.state == "succeeded"
    assert lake.update_graph() >= 7
    assert lake.graph.record_count() == lake.catalogue.count() == len(records) - 3
    gone = lake.sparql("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } FILTER(CONTAINS(STR(?g), '/zenodo/')) "
                       f"FILTER(STRENDS(STR(?g), '/{removed[0]}')) }}")  # fmt: skip
    assert int(next(iter(gone))["n"].value) == 0
    for native_id in edited:
        stored = lake.catalogue.find("zenodo", native_id)
        assert stored is not None
        title = lake.sparql(f"SELECT ?t WHERE {{ <{stored.id}> dct:title ?t }}")
        assert [solution["t"].value for solution in title] == [stored.record.title]


def _overlaps_1_to_100_tev(record: Record) -> bool:
    energy = record.energy_range
    if energy is None or energy.unit not in EV_PER_UNIT or (energy.min is None and energy.max is None):
        return False
    scale = EV_PER_UNIT[energy.unit]
    low_ok = energy.min is None or energy.min * scale <= 100 * TEV_IN_EV
    high_ok = energy.max is None or energy.max * scale >= 1 * TEV_IN_EV
    return low_ok and high_ok


RANGES = [  # (min, max, unit): overlapping 1-100 TeV or not, written in different units, bounds open or not
    (1.0, 10.0, "TeV"),  # inside
    (200.0, 500.0, "GeV"),  # 0.2-0.5 TeV: below
    (0.5, None, "PeV"),  # from 500 TeV up: above
    (None, 2.0, "TeV"),  # up to 2 TeV: overlaps
    (1e3, 1e5, "GeV"),  # exactly 1-100 TeV: touches both ends
    (1e15, 1e17, "eV"),  # 1-100 PeV: above
    (50.0, 5000.0, "TeV"),  # straddles the upper end
    (1e5, 1e6, "keV"),  # 0.1-1 GeV: below
]


def with_energy_ranges(records: list[Record]) -> list[Record]:
    """The lake's records, each given one of RANGES in turn (the generated portals state no energy ranges for the
    astroparticle records that have neutrino or photon messengers, so the test sets them, in every unit)."""
    ranged = []
    for number, record in enumerate(records):
        low, high, unit = RANGES[number % len(RANGES)]
        energy = EnergyRange(min=low, max=high, unit=unit, raw=f"test range {number}")
        ranged.append(record.model_copy(update={"energy_range": energy}))
    return ranged


def expected_counts(records: list[Record]) -> dict[str, int]:
    """What the README query must answer, computed from the records themselves (an independent oracle)."""
    expected: dict[str, set[str]] = {}
    for record in records:
        if not MESSENGERS & {m.uri for m in record.messengers if m.uri} or not _overlaps_1_to_100_tev(record):
            continue
        for experiment in [e.uri for e in record.experiments if e.uri] or ["(no experiment)"]:
            expected.setdefault(experiment, set()).add(record.id)
    return {experiment: len(ids) for experiment, ids in expected.items()}


def answered_counts(store_or_lake: GraphStore | Lake) -> dict[str, int]:
    query = store_or_lake.query if isinstance(store_or_lake, GraphStore) else store_or_lake.sparql
    answer = query(readme_query())
    assert isinstance(answer, ox.QuerySolutions)
    return {
        (s["experimentConcept"].value if s["experimentConcept"] else "(no experiment)"): int(s["datasets"].value)
        for s in answer
    }


def test_the_readme_multimessenger_query_counts_what_the_records_say(lake: Lake) -> None:
    records = with_energy_ranges(live_records(lake))
    expected = expected_counts(records)
    assert len(expected) >= 3, "the generated records include neutrino and photon datasets of several experiments"
    store = GraphStore(None)
    store.index(records)
    answered = answered_counts(store)
    assert answered == expected
    print(f"\nmulti-messenger query: {sum(answered.values())} datasets over {len(answered)} experiments")
    # the lake's own records, as harvested (its answer is whatever the records say, possibly nothing)
    assert answered_counts(lake) == expected_counts(live_records(lake))


def test_a_crash_between_loading_and_committing_leaves_the_same_graph(lake: Lake, tmp_path: Path) -> None:
    records = live_records(lake)
    clean = GraphStore(tmp_path / "clean")
    clean.index(records)
    clean.commit()
    crashed = GraphStore(tmp_path / "crashed")
    crashed.index(records[:100])  # loaded, but its cursor never moved: the next run applies these again
    crashed.index(records)
    crashed.commit()
    assert quads_digest(crashed) == quads_digest(clean)
    assert crashed.record_count() == len(records)


def test_graph_rebuild_equals_the_followed_graph(lake: Lake) -> None:
    followed = quads_digest(lake.graph)
    applied = lake.rebuild_graph()
    assert applied >= lake.catalogue.count()
    assert lake.catalogue.cursor(GRAPH_CONSUMER) == lake.catalogue.last_seq()
    assert quads_digest(lake.graph) == followed


def test_queries_see_vocabularies_and_refuse_updates(lake: Lake) -> None:
    labels = {s["label"].value for s in lake.sparql(
        "SELECT ?label WHERE { ?m skos:inScheme <https://w3id.org/dmlake/vocab/messenger> ; skos:prefLabel ?label }"
    )}  # fmt: skip
    assert {"neutrino", "photon"} <= {label.lower() for label in labels}
    tev = lake.sparql("SELECT ?j WHERE { <https://w3id.org/dmlake/unit/TeraEV> qudt:conversionMultiplier ?j }")
    assert float(next(iter(tev))["j"].value) == pytest.approx(1.602176634e-7)
    with pytest.raises(SparqlError, match=r"not a SPARQL 1\.1 query"):
        lake.sparql("INSERT DATA { <urn:a> <urn:b> <urn:c> }")
    with pytest.raises(SparqlError):
        lake.sparql("SELECT ?x WHERE { ?x ")


def test_a_second_writer_is_told_who_holds_the_graph(lake: Lake) -> None:
    assert lake.graph.record_count() > 0  # this process holds the store open
    done = dmlake(lake.home.path, "graph", check=False)
    assert done.returncode == 2
    said = " ".join(done.stderr.split())  # Rich wraps lines at the terminal width
    assert "open in another dmlake process" in said and "answers SPARQL at /sparql" in said


def without_blank_nodes(graph: rdflib.Graph) -> set[tuple[rdflib.term.Node, ...]]:
    """The triples that name no blank node (a parser names blank nodes afresh; those triples are counted above)."""
    return {t for t in graph if not any(isinstance(term, rdflib.BNode) for term in t)}


def _export(home: Path, fmt: str) -> str:
    done = dmlake(home, "export", "--format", fmt)
    assert re.search(r"exported [\d,]+ record\(s\) as " + fmt, done.stderr)
    return done.stdout


def test_export_streams_the_whole_catalogue_in_three_syntaxes(lake: Lake) -> None:
    records = live_records(lake)
    expected = rdflib.Graph()
    for record in records:
        for triple in rdf.triples(record):
            expected.add(triple)
    nt = _export(lake.home.path, "nt")
    assert len(nt.splitlines()) == sum(len(rdf.triples(record)) for record in records)
    for fmt, syntax in (("nt", "nt"), ("ttl", "turtle")):
        parsed = rdflib.Graph().parse(data=nt if fmt == "nt" else _export(lake.home.path, fmt), format=syntax)
        assert len(parsed) == len(expected), fmt
        assert without_blank_nodes(parsed) == without_blank_nodes(expected), fmt
    document = json.loads(_export(lake.home.path, "jsonld"))
    assert set(document) == {"@context", "@graph"}
    ids = {node["@id"] for node in document["@graph"]}
    assert {record.id for record in records} <= ids
    # parsed as JSON-LD (context inline, offline), it is the same graph
    store = ox.Store()
    store.load(io.BytesIO(json.dumps(document).encode()), format=ox.RdfFormat.JSON_LD)
    assert len(store) == len(expected)
