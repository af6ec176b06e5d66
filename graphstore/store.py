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
import shutil
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path

import pyoxigraph as ox

from graphstore.answers import Answer, pick_format, serialize
from graphstore.timed import DEFAULT_TIMEOUT, QueryRunner
from ontology import rdf
from ontology.model import Record

VOCABULARY_GRAPH = ox.NamedNode("https://w3id.org/dmlake/vocab/")
_VERSION = ox.NamedNode("https://w3id.org/dmlake/ns#vocabularyDigest")
STORE_GRAPH = ox.NamedNode("https://w3id.org/dmlake/graph/")
"""What the store says about itself (whether its records carry their clusters)."""
CLUSTER = ox.NamedNode("https://w3id.org/dmlake/ns#cluster")
"""`<record> dml:cluster <record speaking for its cluster>`: the catalogue's identity clusters (one per dataset)."""
_KEEPS_CLUSTERS = ox.Quad(
    STORE_GRAPH, ox.NamedNode("https://w3id.org/dmlake/ns#keepsClusters"), ox.Literal("1"), STORE_GRAPH
)

BULK_RECORDS = 200
"""Batches at least this large load through Oxigraph's bulk loader (several times faster, no transaction); smaller
ones in one transaction. Either way the batch's change-feed cursor moves only after `commit`, so a crash between
the two re-applies the batch."""

QueryResult = ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples

QUERY_PREFIXES = {prefix: str(namespace) for prefix, namespace in rdf.PREFIXES.items()}
"""Prefixes every query may use without declaring them (dcat:, dct:, dml:, prov:, skos:, qudt:, ...)."""

ClusterLookup = Callable[[Sequence[str]], Mapping[str, Sequence[str]]]
"""For each of some record ids in a cluster of two or more, its members (sorted; the first speaks for it)."""


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
    """The store at `path` (in memory when None), opened for writing, with the vocabularies loaded.

    With `clusters` (the catalogue's `clusters`), each record's graph also says which cluster the record belongs to
    (`dml:cluster`, the IRI of the record speaking for the cluster; its own for a record that matched no other):
    counting distinct clusters counts datasets as the search does, one hit per dataset."""

    def __init__(self, path: Path | None = None, clusters: ClusterLookup | None = None) -> None:
        self.path = path
        self.clusters = clusters
        self._generation = 0
        self._snapshot_lock = threading.Lock()
        self._snapshot: tuple[Path, int] | None = None
        self._snapshot_users: dict[Path, int] = {}
        self._snapshot_serial = 0
        self._runner: QueryRunner | None = None
        try:
            self._store = ox.Store(str(path) if path is not None else None)
        except OSError as error:
            if "lock" in str(error).lower():
                raise GraphStoreBusy(
                    f"the RDF graph at {path} is open in another dmlake process (a running `dmlake serve` keeps it "
                    "current and answers SPARQL at /sparql): query that service, or stop it and try again"
                ) from None
            raise
        if path is not None:  # snapshots of an earlier process (this one holds the store's lock now)
            shutil.rmtree(self._snapshots_dir, ignore_errors=True)
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
        if self.clusters is not None:
            members = self.clusters([record.id for record in batch])
            data += "".join(
                f"<{record.id}> <{CLUSTER.value}> <{members.get(record.id, (record.id,))[0]}> <{record.id}> .\n"
                for record in batch
            )
        if len(batch) >= BULK_RECORDS:
            self._store.bulk_load(data, format=ox.RdfFormat.N_QUADS)
        else:
            self._store.load(data, format=ox.RdfFormat.N_QUADS)
        self._generation += 1
        return len(batch)

    def delete(self, record_ids: Iterable[str]) -> int:
        removed = self._remove(ox.NamedNode(record_id) for record_id in record_ids)
        self._generation += 1
        return removed

    def keeps_clusters(self) -> bool:
        """Whether every record was written with its cluster (false for a graph written before clusters were)."""
        return _KEEPS_CLUSTERS in self._store

    def mark_keeps_clusters(self) -> None:
        self._store.add(_KEEPS_CLUSTERS)
        self._store.flush()

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

    def answer(
        self,
        text: str,
        fmt: str | None = None,
        accept: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        advice: str = "raise the time limit",
    ) -> Answer:
        """The query's answer serialised (format by name or Accept header, as `pick_format`), computed in a worker
        process over a snapshot of the store and stopped after `timeout` seconds (`QueryTimeout`, whose message
        ends with `advice`). An in-memory store answers in this process, without a limit."""
        if self.path is None:
            result = self.query(text)
            return serialize(result, pick_format(result, fmt, accept))
        with self._snapshot_lock:
            if self._runner is None:
                self._runner = QueryRunner(self._take_snapshot, QUERY_PREFIXES)
            runner = self._runner
        return runner.answer(text, fmt, accept, timeout, advice)

    @property
    def _snapshots_dir(self) -> Path:
        assert self.path is not None
        return self.path.parent / f"{self.path.name}-snapshots"

    def _take_snapshot(self) -> tuple[Path, Callable[[], None]]:
        """A read-only copy of the store as it is now (hard links: cheap), taken again only after a change; and the
        function that releases it. A snapshot no query uses any more, and that is not the newest, is deleted."""
        with self._snapshot_lock:
            if self._snapshot is None or self._snapshot[1] != self._generation:
                generation = self._generation  # read first: a write under way now makes the next query snapshot anew
                self._snapshot_serial += 1
                target = self._snapshots_dir / str(self._snapshot_serial)
                target.parent.mkdir(parents=True, exist_ok=True)
                self._store.backup(str(target))
                self._snapshot = (target, generation)
                self._snapshot_users[target] = 0
                self._prune_snapshots()
            current = self._snapshot[0]
            self._snapshot_users[current] += 1

        def release() -> None:
            with self._snapshot_lock:
                self._snapshot_users[current] -= 1
                self._prune_snapshots()

        return current, release

    def _prune_snapshots(self) -> None:
        newest = self._snapshot[0] if self._snapshot is not None else None
        for path, users in list(self._snapshot_users.items()):
            if users == 0 and path != newest:
                shutil.rmtree(path, ignore_errors=True)
                del self._snapshot_users[path]

    def record_count(self) -> int:
        return sum(1 for graph in self._store.named_graphs() if graph not in (VOCABULARY_GRAPH, STORE_GRAPH))

    def triple_count(self) -> int:
        return len(self._store)

    def close(self) -> None:
        with self._snapshot_lock:
            runner, self._runner = self._runner, None
        if runner is not None:
            runner.close()
        if self.path is not None:
            shutil.rmtree(self._snapshots_dir, ignore_errors=True)
        self._store.flush()
        del self._store
