"""The catalogue-wide RDF graph and its SPARQL endpoint (issue 4): Oxigraph on disk, kept current from the change feed.

    store = GraphStore(home.path / "graph")
    IndexConsumer(catalogue, store, name="graph").run()   # follow the change feed, like the search index
    answer = store.query("SELECT ...")

It is its own package because it is neither the canonical model (`ontology/`, which says what a record's triples
are) nor a search backend (`indexer/`, ranked text search): it is the store that holds every record's triples at
once, answers SPARQL, and is fed by the change feed.
"""

from graphstore.answers import Answer, UnknownAnswerFormat, pick_format, serialize
from graphstore.store import GraphStore, GraphStoreBusy, SparqlError

__all__ = ["Answer", "GraphStore", "GraphStoreBusy", "SparqlError", "UnknownAnswerFormat", "pick_format", "serialize"]
