"""Search: the index document, the query model, the tantivy backend and the change-feed consumer that feeds it."""

from indexer.consumer import IndexConsumer
from indexer.document import index_document
from indexer.query import FacetValue, Hit, Query, QueryError, SearchBackend, SearchResult
from indexer.tantivy_backend import IndexBusyError, IndexVersionError, TantivyIndex

__all__ = [
    "FacetValue",
    "Hit",
    "IndexBusyError",
    "IndexConsumer",
    "IndexVersionError",
    "Query",
    "QueryError",
    "SearchBackend",
    "SearchResult",
    "TantivyIndex",
    "index_document",
]
