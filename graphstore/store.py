"""The catalogue-wide RDF graph: every live record's triples and the vocabularies, queryable with SPARQL 1.1.

Each record is a named graph, named by its record URI, holding exactly what `ontology.rdf` makes of it (DCAT-AP 3,
PROV-O, dml:). The vocabularies (experiments with their messengers, techniques, targets, units with their QUDT
conversion multipliers, ...) are one more graph. A query's default graph is the union of all of them, so a query
reads as if the catalogue were one graph, while replacing a record is "remove its graph, load its new triples".

The graph is a change-feed consumer like the search index (`indexer.consumer.IndexConsumer` drives it through
`index`, `delete` and `commit`), so it is kept current the same way and a crash loses nothing: applying a change
twice gives the same graph.

Oxigraph (pyoxigraph) on disk, chosen by measurement at 100k records (README, `bench/graphstore.py`): rdflib's
memory store holds every triple as Python objects (about 183 MiB per 1,000 records) and parses 5.6 times slower;
Oxigraph in memory would hold 6.7 GB at 100k. One process at a time may write the store; others get
`GraphStoreBusy` saying which to ask.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

import pyoxigraph as ox

from ontology import rdf
from ontology.model import Record

VOCABULARY_GRAPH = ox.NamedNode("https://w3id.org/dmlake/vocab/")
_VERSION = ox.NamedNode("https://w3id.org/dmlake/ns#vocabularyDigest")

BULK_RECORDS = 200
"""Batches at least this large load through Oxigraph's bulk loader (several times faster, no transaction); smaller
ones in one transaction. Either way the batch's change-feed cursor moves only after `commit`, so a crash between
the two re-applies the batch."""

QueryResult = ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples

QUERY_PREFIXES = {prefix: str(namespace) for prefix, namespace in rdf.PREFIXES.items()}
"""Prefixes every query may use without declaring them (dcat:, dct:, dml:, prov:, skos:, qudt:, ...)."""


class GraphStoreBusy(RuntimeError):
    """Another process has the store open for writing."""


class SparqlError(ValueError):
    """A query that cannot be run; the message is Oxigraph's, which points at the line and column."""


def _vocabulary_files() -> list[tuple[str, str]]:
    folder = resources.files("ontology.vocab")
    files = [(p.name, p.read_text(encoding="utf-8")) for p in folder.iterdir() if p.name.endswith(".ttl")]
    return sorted(files)


def record_quads(record: Record) -> str:
    """The record's N-Triples, placed in its own graph (N-Quads)."""
    graph = f" <{record.id}> .\n"
    return "".join(line[:-3] + graph for line in rdf.ntriples_lines(record))


class GraphStore:
    """The store at `path` (in memory when None), opened for writing, with the vocabularies loaded."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        try:
            self._store = ox.Store(str(path) if path is not None else None)
        except OSError as error:
            if "lock" in str(error).lower():
                raise GraphStoreBusy(
                    f"the RDF graph at {path} is open in another dmlake process (a running `dmlake serve` keeps it "
                    "current and answers SPARQL at /sparql): query that service, or stop it and try again"
                ) from None
            raise
        self._load_vocabularies()

    def _load_vocabularies(self) -> None:
        """(Re)load the vocabulary graph when the vocabulary files differ from those it was loaded from."""
        files = _vocabulary_files()
        digest = hashlib.sha256("".join(name + text for name, text in files).encode()).hexdigest()
        stamp = ox.Quad(VOCABULARY_GRAPH, _VERSION, ox.Literal(digest), VOCABULARY_GRAPH)
        if stamp in self._store:
            return
        self._store.remove_graph(VOCABULARY_GRAPH)
        for name, text in files:
            try:
                self._store.load(text, format=ox.RdfFormat.TURTLE, to_graph=VOCABULARY_GRAPH)
            except SyntaxError as error:
                raise ValueError(f"vocabulary file ontology/vocab/{name} is not valid Turtle: {error}") from None
        self._store.add(stamp)
        self._store.flush()

    # -- the consumer side (indexer.consumer.WritableIndex) -------------------------------------------------------
    def index(self, records: Iterable[Record]) -> int:
        batch = list(records)
        if not batch:
            return 0
        self._remove(ox.NamedNode(record.id) for record in batch)
        data = "".join(record_quads(record) for record in batch)
        if len(batch) >= BULK_RECORDS:
            self._store.bulk_load(data, format=ox.RdfFormat.N_QUADS)
        else:
            self._store.load(data, format=ox.RdfFormat.N_QUADS)
        return len(batch)

    def delete(self, record_ids: Iterable[str]) -> int:
        return self._remove(ox.NamedNode(record_id) for record_id in record_ids)

    def commit(self) -> None:
        self._store.flush()

    def _remove(self, graphs: Iterable[ox.NamedNode]) -> int:
        removed = 0
        for graph in graphs:
            if self._store.contains_named_graph(graph):
                self._store.remove_graph(graph)
                removed += 1
        return removed

    # -- reading -------------------------------------------------------------------------------------------------
    def query(self, text: str) -> QueryResult:
        """Run a SPARQL 1.1 query (SELECT, ASK, CONSTRUCT, DESCRIBE) over every record and the vocabularies.

        Updates are not queries: Oxigraph refuses them here, so the endpoint is read-only by construction."""
        try:
            return self._store.query(text, prefixes=QUERY_PREFIXES, use_default_graph_as_union=True)
        except SyntaxError as error:
            raise SparqlError(f"not a SPARQL 1.1 query: {error}") from None

    def record_count(self) -> int:
        return sum(1 for graph in self._store.named_graphs() if graph != VOCABULARY_GRAPH)

    def triple_count(self) -> int:
        return len(self._store)

    def close(self) -> None:
        self._store.flush()
        del self._store
