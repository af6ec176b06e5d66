"""Disjunctive faceting: each facet counted without the query's own filters on that facet's field.

A portal's facet panel lets people pick several values of one field (`experiment=CMS` OR `experiment=ALICE`). With
the facets counted over the filtered hits, choosing CMS would leave CMS alone in the experiment panel; counted
without the experiment filters (and with every other filter and the text), the panel keeps showing ALICE, LHCb, …
with the number of datasets each would add. The same holds for the year (`year=A..B` against the `year` facet and
the year histogram) and the energy histogram (`energy=LOW..HIGH`), whose bars then stay visible around a chosen
range. The hits, the total and the cursor are those of the query with all its filters.

This is done above the backends, with the backends' own queries: the query's hits with the facets of unfiltered
fields, then one query without hits (`size=0`) per filtered field for that field's facets. Both backends therefore
give the same counts as they do for those plain queries (which the parity suite compares), every Elasticsearch
request is an ordinary search body, and the embedded backend's facet cache serves the extra queries too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Literal

from indexer.histograms import ENERGY_HISTOGRAM, YEAR_HISTOGRAM
from indexer.query import Query, SearchResult

FilterKind = Literal["filters", "ranges", "overlaps"]
OwnFilter = tuple[FilterKind, str]
"""Where the query keeps a facet's own filter: `Query.filters`, `Query.ranges` or `Query.overlaps`, and its name."""


def own_filter(facet: str) -> OwnFilter:
    """The filter that selects values of `facet`: the field itself for terms facets, `year` for the year facet and
    histogram, the `energy` overlap filter for the energy histogram."""
    if facet in ("year", YEAR_HISTOGRAM):
        return ("ranges", "year")
    if facet == ENERGY_HISTOGRAM:
        return ("overlaps", "energy")
    return ("filters", facet)


def _has(query: Query, where: OwnFilter) -> bool:
    kind, name = where
    return any(key == name for key, _ in getattr(query, kind))


def _without(query: Query, where: OwnFilter) -> Query:
    kind, name = where
    kept = tuple(item for item in getattr(query, kind) if item[0] != name)
    if kind == "filters":
        return replace(query, filters=kept)
    if kind == "ranges":
        return replace(query, ranges=kept)
    return replace(query, overlaps=kept)


def facet_queries(query: Query) -> tuple[Query, list[Query]]:
    """The query for the hits (with the facets of fields it does not filter) and, per filtered field, a query
    without hits and without that field's filters counting that field's facets."""
    groups: dict[OwnFilter, list[str]] = {}
    kept: list[str] = []
    for facet in query.facets:
        where = own_filter(facet)
        if _has(query, where):
            groups.setdefault(where, []).append(facet)
        else:
            kept.append(facet)
    main = replace(query, facets=tuple(kept), disjunctive=False)
    counting = [
        replace(
            _without(query, where),
            facets=tuple(facets),
            size=0,
            cursor=None,
            fields=None,
            highlight=False,
            disjunctive=False,
        )
        for where, facets in groups.items()
    ]
    return main, counting


def search_disjunctive(search: Callable[[Query], SearchResult], query: Query) -> SearchResult:
    """`query`'s result through `search` (a backend's), with each facet counted without its own field's filters."""
    main, counting = facet_queries(query)
    result = search(main)
    facets = dict(result.facets)
    for other in counting:
        facets.update(search(other).facets)
    return replace(result, facets={name: facets[name] for name in query.facets if name in facets}, query=query)
