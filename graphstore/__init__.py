"""The catalogue-wide RDF graph and its SPARQL endpoint (issue 4): Oxigraph on disk, kept current from the change feed.

    store = GraphStore(home.path / "graph", clusters=catalogue.clusters)
    IndexConsumer(catalogue, store, name="graph").run()   # follow the change feed, like the search index
    answer = store.answer("SELECT ...", timeout=30)       # serialised; in a worker process, stopped at the limit

It is its own package because it is neither the canonical model (`ontology/`, which says what a record's triples
are) nor a search backend (`indexer/`, ranked text search): it is the store that holds every record's triples at
once, answers SPARQL, and is fed by the change feed. Each record's graph names its identity cluster
(`graphstore.clusters`), so a query can count datasets as the search does; `graphstore.examples` holds documented
questions; `graphstore.timed` runs queries with a time limit.
"""

from graphstore.answers import Answer, UnknownAnswerFormat, pick_format, serialize
from graphstore.store import GraphStore, GraphStoreBusy, SparqlError
from graphstore.timed import QueryTimeout

__all__ = [
    "Answer",
    "GraphStore",
    "GraphStoreBusy",
    "QueryTimeout",
    "SparqlError",
    "UnknownAnswerFormat",
    "pick_format",
    "serialize",
]
