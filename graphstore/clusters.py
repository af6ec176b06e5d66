"""The lake's RDF graph with each record's identity cluster, so SPARQL can count datasets as the search counts hits.

The catalogue clusters records that describe the same dataset (a Zenodo deposit and its CERN Open Data twin, the
versions of one release; `harvester/identity.py`); the search shows one hit per cluster. A record's graph says
`<record> dml:cluster <record speaking for its cluster>` (itself when it matched nothing), so

    COUNT(DISTINCT ?record)    counts records (catalogue entries),
    COUNT(DISTINCT ?dataset)   with `?record dml:cluster ?dataset` counts datasets, as the search does.

When a cluster gains or loses a member the catalogue puts every member in the change feed again, so the graph,
following the feed, rewrites their cluster. A graph written before it kept clusters is rewritten from the start of
the feed once, the first time it is used this way.
"""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

from graphstore.store import GraphStore

if TYPE_CHECKING:
    from dmlake.lake import Lake


def clustered_graph(lake: Lake) -> GraphStore:
    """The lake's graph, writing each record's cluster from now on (and rewriting every record once if it was
    written without them). Call before `lake.update_graph()`."""
    from dmlake.lake import GRAPH_CONSUMER

    graph = lake.graph
    if graph.clusters is None:
        graph.clusters = lake.catalogue.clusters
    if not graph.keeps_clusters():
        lake.catalogue.set_cursor(GRAPH_CONSUMER, 0)  # first: a crash before the mark only starts this again
        graph.mark_keeps_clusters()
    return graph


def rebuild_clustered_graph(lake: Lake) -> int:
    """Drop the graph and load every live record again, with its cluster; returns the changes applied."""
    lake.release_graph()
    shutil.rmtree(lake.home.graph_dir, ignore_errors=True)
    clustered_graph(lake)  # a new, empty graph: its cursor goes back to the start of the feed
    return lake.update_graph()
