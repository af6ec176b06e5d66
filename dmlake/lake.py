"""A dmlake home put together: catalogue, index, sources and harvester. Used by the CLI, the HTTP service and Python.

This is the composition root: the one place that knows every package. The packages themselves stay independent
(DESIGN.md §3): consumers read the catalogue through the change-feed protocol, never through the harvester.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from connectors import registry
from connectors.base import Limits
from connectors.http import HttpClient
from dmlake.search_slots import SearchSlots, configured_search_threads
from graphstore import GraphStore
from graphstore.store import QueryResult
from harvester import config as sources_config
from harvester.catalogue import Catalogue, StoredRecord
from harvester.harvest import Harvester
from harvester.home import Home, resolve
from harvester.replica_ledger import ReplicaLedger
from harvester.schema import records as records_table
from indexer.consumer import IndexConsumer, SearchIndexConsumer, member_entries
from indexer.document import SCHEMA_VERSION, merge_members
from indexer.query import Query, SearchResult
from indexer.tantivy_backend import IndexVersionError, TantivyIndex
from ontology.model import record_id, split_record_id

log = logging.getLogger(__name__)

ES_URL_ENV = "DMLAKE_ES_URL"
"""Set to an Elasticsearch cluster's URL (`https://user:password@host:9200`) to search there instead of in tantivy."""
INDEX_CONSUMER = "index"
"""The change-feed cursor of the search index."""
GRAPH_CONSUMER = "graph"
"""The change-feed cursor of the RDF graph (SPARQL)."""
GRAPH_BATCH = 500
"""Records per graph update: each batch's N-Quads are built in memory (about 30 kB a record)."""


if TYPE_CHECKING:
    from indexer.elasticsearch_backend import ElasticsearchIndex

    SearchIndex = TantivyIndex | ElasticsearchIndex
else:
    SearchIndex = TantivyIndex


def cluster_documents(catalogue: Catalogue, batch: int = 2000) -> Iterator[dict[str, Any]]:
    """The index document of every cluster of live records, each once: a cluster is rendered when the walk in id
    order reaches its smallest member (its cluster id)."""
    for chunk in _batches(catalogue.iter_ids(batch=batch), batch):
        clusters = catalogue.clusters(chunk)
        speaking = [rid for rid in chunk if clusters.get(rid, (rid,))[0] == rid]
        members = {m for rid in speaking for m in clusters.get(rid, (rid,))}
        entries = member_entries(catalogue, sorted(members))
        for rid in speaking:
            present = [entries[m] for m in clusters.get(rid, (rid,)) if m in entries]
            if present:
                yield merge_members(present)


def _batches(ids: Iterator[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for rid in ids:
        chunk.append(rid)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class RecordNotFound(LookupError):
    pass


def normalise_record_id(text: str) -> str:
    """Accept the full record URI or the short `SOURCE/NATIVE_ID` people type, percent-encoded or not: an HTTP path
    arrives decoded (`…/oai:zenodo.org:1` for the stored `…/oai%3Azenodo.org%3A1`), so the id is always rebuilt."""
    source, native = split_record_id(text.strip())
    return record_id(source, native)


@dataclass
class Lake:
    home: Home
    catalogue: Catalogue
    _index: SearchIndex | None = field(default=None, repr=False)
    _index_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _graph: GraphStore | None = field(default=None, repr=False)
    _graph_lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    search_slots: SearchSlots | None = field(default=None, repr=False)
    """When set, searches take a slot (`bound_searches`)."""

    @classmethod
    def open(cls, home: str | Path | None = None, database_url: str | None = None) -> Lake:
        resolved = resolve(home, database_url)
        return cls(resolved, Catalogue.open(resolved.database_url))

    # -- sources and harvesting ------------------------------------------------------------------------------
    def sources(self, config_file: Path | None = None) -> sources_config.SourcesConfig:
        """The sources file given, else the home's `sources.toml`, else the built-in default (the live portals)."""
        if config_file is None and self.home.sources_file.exists():
            config_file = self.home.sources_file
        return sources_config.load(config_file, known_kinds=sorted(registry()))

    def harvester(self, contact: str | None = None) -> Harvester:
        return Harvester(self.catalogue, HttpClient(Limits(), contact=contact), registry())

    # -- the index -------------------------------------------------------------------------------------------
    @property
    def index(self) -> SearchIndex:
        """The search index: Elasticsearch when `DMLAKE_ES_URL` names a cluster, else tantivy in the home."""
        with self._index_lock:
            if self._index is None:
                url = os.environ.get(ES_URL_ENV)
                if url:
                    from indexer.elasticsearch_backend import ElasticsearchIndex

                    es_index = ElasticsearchIndex.from_url(url)
                    es_index.ensure()
                    self._index = es_index
                else:
                    self._index = TantivyIndex(self.home.index_dir)
            return self._index

    def update_index(self, batch_size: int = 2000) -> int:
        """Bring the index up to the change feed; returns the number of changes applied. An index built for another
        document schema (`indexer.document.SCHEMA_VERSION`: this dmlake shapes documents differently) is rebuilt
        from the catalogue first, so the follower never writes documents the index cannot hold."""
        if self.index_outdated():
            log.warning("the search index was built for another document schema: rebuilding it from the catalogue")
            return self.rebuild_index(batch_size)
        return SearchIndexConsumer(self.catalogue, self.index, name=INDEX_CONSUMER).run(batch_size=batch_size)

    def index_outdated(self) -> bool:
        """Whether the index holds documents of another schema version than this code writes."""
        if os.environ.get(ES_URL_ENV):
            names = self.index.aliased_indices()  # type: ignore[union-attr]
            return bool(names) and not any(f"-v{SCHEMA_VERSION}-" in name for name in names)
        try:
            self.index  # noqa: B018 (opening the index checks its schema version)
        except IndexVersionError:
            return True
        return False

    def rebuild_index(self, batch_size: int = 2000) -> int:
        """Index every live record again from the catalogue (e.g. after a document-schema change). tantivy's
        directory is dropped and refilled; Elasticsearch fills a new index and swaps the aliases to it when it is
        complete, so searches go on meanwhile. Changes made during the rebuild are applied after it."""
        if os.environ.get(ES_URL_ENV):
            index = self.index
            assert not isinstance(index, TantivyIndex)
            start = self.catalogue.last_seq()
            index.rebuild(cluster_documents(self.catalogue, batch_size))
            self.catalogue.set_cursor(INDEX_CONSUMER, start)
            return start + self.update_index(batch_size)
        with self._index_lock:
            if self._index is not None:  # (an index of another schema version is never opened)
                self._index.close()
                self._index = None
            shutil.rmtree(self.home.index_dir, ignore_errors=True)
        self.catalogue.set_cursor(INDEX_CONSUMER, 0)
        return self.update_index(batch_size)

    def search(self, query: Query) -> SearchResult:
        if self.search_slots is None:
            return self.index.search(query)
        with self.search_slots:
            return self.index.search(query)

    def bound_searches(self, threads: int | None = None) -> int:
        """Run at most `threads` searches of the embedded index at once, the others queued in arrival order
        (`dmlake.search_slots`; default `DMLAKE_SEARCH_THREADS`, else cores × 3 / 2 + 1; 0: no bound). A service
        calls this; Elasticsearch bounds its own search threads, so there it does nothing. Returns the bound."""
        size = configured_search_threads(threads)
        embedded = not os.environ.get(ES_URL_ENV)
        self.search_slots = SearchSlots(size) if size and embedded else None
        return size if self.search_slots else 0

    # -- the RDF graph ---------------------------------------------------------------------------------------
    @property
    def graph(self) -> GraphStore:
        """The catalogue-wide RDF graph, opened for writing by this process (`GraphStoreBusy` if another has it)."""
        with self._graph_lock:
            if self._graph is None:
                self._graph = GraphStore(self.home.graph_dir)
            return self._graph

    def update_graph(self) -> int:
        """Bring the RDF graph up to the change feed; returns the number of changes applied."""
        with self._graph_lock:
            consumer = IndexConsumer(self.catalogue, self.graph, name=GRAPH_CONSUMER)
            return consumer.run(batch_size=GRAPH_BATCH, commit_every=10 * GRAPH_BATCH)

    def rebuild_graph(self) -> int:
        """Drop the RDF graph (e.g. after the RDF mapping changed) and load every live record again."""
        with self._graph_lock:
            self.release_graph()
            shutil.rmtree(self.home.graph_dir, ignore_errors=True)
            self.catalogue.set_cursor(GRAPH_CONSUMER, 0)
            return self.update_graph()

    def sparql(self, text: str) -> QueryResult:
        """Answer a SPARQL query over the catalogue as it is now (the graph catches up with the feed first)."""
        with self._graph_lock:
            self.update_graph()
            return self.graph.query(text)

    # -- replicas --------------------------------------------------------------------------------------------
    def replica_ledger(self) -> ReplicaLedger:
        """What replication knows of each file's copies (written by `replication/`, read by everything that shows a
        record)."""
        return self.catalogue.replicas

    # -- records ---------------------------------------------------------------------------------------------
    def live_sources(self) -> list[str]:
        """The sources that have live records in the catalogue, by name."""
        query = select(records_table.c.source).where(records_table.c.tombstone.is_(None)).distinct()
        with self.catalogue.engine.connect() as conn:
            return sorted(row.source for row in conn.execute(query))

    def record(self, text: str) -> StoredRecord:
        try:
            wanted = normalise_record_id(text)
        except ValueError as error:
            raise RecordNotFound(str(error)) from None
        stored = self.catalogue.get(wanted)
        if stored is None:
            raise RecordNotFound(f"no record {text!r} in the catalogue at {self.home.path}")
        return stored

    def release_graph(self) -> None:
        """Close the RDF graph so another process may write it (it reopens on next use)."""
        with self._graph_lock:
            if self._graph is not None:
                self._graph.close()
                self._graph = None

    def close(self) -> None:
        self.release_graph()
        with self._index_lock:
            if self._index is not None:
                self._index.close()
                self._index = None
        self.catalogue.close()
