"""The production search backend: Elasticsearch 8, behind the same query model as the embedded tantivy index.

    index = ElasticsearchIndex.from_url("http://localhost:9200")
    index.rebuild(index_document(r) for r in catalogue)   # new versioned index, filled, aliases swapped, old dropped
    index.index_documents(documents)                      # upserts through the write alias (bulk, retried)
    index.delete([record_id])
    index.commit()                                        # refresh: writes become searchable
    result = index.search(Query.parse("higgs", filters=["experiment=CMS"], facets=["year"]))

**Indices and aliases.** Documents live in versioned indices `NAME-v{schema}-{UTC time}` created from the index
template (`indexer.elasticsearch_template`). Searches read the alias `NAME`, writes go to `NAME-write`. `rebuild`
fills a new index while both aliases still point at the old one, then moves both in one atomic `_aliases` request
and deletes the old index: searches never see a half-built index. Writes that reach the old index during a rebuild
are not copied: replay the change feed from where the rebuild's snapshot was taken (with external versions a replay
can only add newer content).

**Writing** goes through `indexer.elasticsearch_bulk` (chunked, retried, backpressured, external versions). As with
the embedded index, written documents become searchable on `commit` (the template disables periodic refresh), but
unlike it there is no rollback: Elasticsearch has already stored them durably.

**Searching** executes the query model exactly as `TantivyIndex` defines it (`indexer.elasticsearch_query`): the same
documents match, facets count the same values, field sorts give the same order (value, tie-break hash, id). Deep
paging never uses `from`: every page after the first continues with `search_after` from the last hit's sort values
inside a point in time (PIT), so there is no 10,000-hit wall. The PIT is opened when a walk asks for its second
page (a first page that is never continued, the common case of a portal, holds nothing open on the cluster), kept
alive `pit_keep_alive` after each page and closed when the walk reaches its end. A field-sorted walk continues
after the last hit's values, so it is exact across the first page and the PIT, and when its PIT has expired it
continues in a new one. A relevance walk continues after the last hit's score: in the new PIT the result count and
that hit's score are checked against the first page's, and if the index changed in between, or the PIT expired
later, the walk is refused with "cursor expired" (scores move with the index) rather than repeating or skipping.
"""

from __future__ import annotations

import logging
import math
import secrets
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from elasticsearch import ApiError, Elasticsearch, NotFoundError

from indexer.disjunctive import search_disjunctive
from indexer.document import ID_FIELD, SCHEMA_VERSION, SUMMARY_FIELD, index_document
from indexer.elasticsearch_bulk import (
    BulkSettings,
    BulkStats,
    BulkWriter,
    Operation,
    delete_operation,
    index_operation,
)
from indexer.elasticsearch_query import (
    FACET_EXTRA,
    decade_key,
    fingerprint,
    is_relevance,
    search_body,
    sort_clauses,
)
from indexer.elasticsearch_template import DEFAULT_NAME, index_settings, index_template, mappings
from indexer.highlight import highlight, query_words
from indexer.histograms import DECADES, ENERGY_HISTOGRAM, YEAR_HISTOGRAM, energy_histogram, year_histogram
from indexer.query import (
    FacetValue,
    Hit,
    Query,
    QueryError,
    SearchBackend,
    SearchResult,
    encode_cursor,
)
from indexer.query_terms import cursor_state
from indexer.query_text import search_text
from ontology.model import Record

log = logging.getLogger(__name__)

CURSOR_VERSION = 1
DEFAULT_PIT_KEEP_ALIVE = "10m"


class IndexMissingError(RuntimeError):
    """The read alias points at no index: nothing has been indexed into this cluster yet."""


@dataclass(frozen=True)
class RebuildReport:
    index: str
    previous: tuple[str, ...]
    stats: BulkStats


class ElasticsearchIndex(SearchBackend):
    """The dmlake index in an Elasticsearch cluster; see the module doc."""

    external_versions = True
    """Documents and deletes may carry an external version (`indexer.document.VERSION_KEY`, `(id, version)`)."""

    def __init__(
        self,
        client: Elasticsearch,
        *,
        name: str = DEFAULT_NAME,
        bulk: BulkSettings | None = None,
        pit_keep_alive: str = DEFAULT_PIT_KEEP_ALIVE,
        shards: int = 1,
        replicas: str = "0-1",
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self._sleep = sleep
        self.name = name
        self.read_alias = name
        self.write_alias = f"{name}-write"
        self.bulk_settings = bulk or BulkSettings()
        self.pit_keep_alive = pit_keep_alive
        self.shards = shards
        self.replicas = replicas
        self.last_stats = BulkStats()
        self._ensured = False

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        api_key: str | None = None,
        basic_auth: tuple[str, str] | None = None,
        ca_certs: str | None = None,
        request_timeout: float = 30.0,
        **options: Any,
    ) -> ElasticsearchIndex:
        """Connect to the cluster at `url` (`http(s)://[user:password@]host:port`)."""
        settings: dict[str, Any] = {
            "request_timeout": request_timeout,
            "retry_on_status": (502, 503, 504),
            "max_retries": 3,
        }
        if api_key is not None:
            settings["api_key"] = api_key
        if basic_auth is not None:
            settings["basic_auth"] = basic_auth
        if ca_certs is not None:
            settings["ca_certs"] = ca_certs
        client = Elasticsearch(url, **settings)
        return cls(client, **options)

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> ElasticsearchIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- indices and aliases -------------------------------------------------------------------------------

    def put_template(self) -> None:
        """Install (or replace) the index template for this index's versioned indices."""
        body = index_template(self.name, shards=self.shards, replicas=self.replicas)
        self.client.indices.put_index_template(name=self.name, **body)

    def new_index_name(self) -> str:
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        return f"{self.name}-v{SCHEMA_VERSION}-{stamp}-{secrets.token_hex(3)}"

    def _create_index(self) -> str:
        name = self.new_index_name()
        # Settings and mappings are sent as well as templated: the index is right even if someone changed the
        # installed template by hand.
        self.client.indices.create(
            index=name,
            settings=index_settings(shards=self.shards, replicas=self.replicas),
            mappings=mappings(),
        )
        return name

    def aliased_indices(self, alias: str | None = None) -> list[str]:
        """The concrete indices behind an alias (the read alias by default), sorted."""
        try:
            response = self.client.indices.get_alias(name=alias or self.read_alias)
        except NotFoundError:
            return []
        return sorted(response.body)

    def ensure(self) -> str:
        """Make sure the template is installed and both aliases point at an index; returns that index."""
        existing = self.aliased_indices()
        if existing:
            self._ensured = True
            return existing[-1]
        self.put_template()
        name = self._create_index()
        self._swap_aliases(name, [])
        self._ensured = True
        return name

    def _swap_aliases(self, new: str, old: Iterable[str]) -> None:
        actions: list[dict[str, Any]] = []
        for index in old:
            actions.append({"remove": {"index": index, "alias": self.read_alias}})
            actions.append({"remove": {"index": index, "alias": self.write_alias}})
        actions.append({"add": {"index": new, "alias": self.read_alias}})
        actions.append({"add": {"index": new, "alias": self.write_alias, "is_write_index": True}})
        self.client.indices.update_aliases(actions=actions)

    def rebuild(self, documents: Iterable[Mapping[str, Any]]) -> RebuildReport:
        """Index `documents` into a new index and switch both aliases to it atomically; the old index is dropped.

        Searches keep reading the old index until the switch. If filling fails, the new index is deleted and the
        old one stays in service."""
        self.put_template()
        previous = self.aliased_indices()
        name = self._create_index()
        try:
            stats = BulkWriter(self.client, name, self.bulk_settings, sleep=self._sleep).run(
                index_operation(name, document) for document in documents
            )
            self.client.indices.refresh(index=name)
        except BaseException:
            log.error("rebuild of %s failed; deleting the half-built index %s", self.read_alias, name)
            self.client.indices.delete(index=name, ignore_unavailable=True)
            raise
        self._swap_aliases(name, previous)
        if previous:
            self.client.indices.delete(index=",".join(previous), ignore_unavailable=True)
        self._ensured = True
        self.last_stats = stats
        log.info("rebuilt %s as %s (%d documents), dropped %s", self.read_alias, name, stats.indexed, previous)
        return RebuildReport(name, tuple(previous), stats)

    # ---- writing -------------------------------------------------------------------------------------------

    def _writer(self) -> BulkWriter:
        if not self._ensured:
            self.ensure()
        return BulkWriter(self.client, self.write_alias, self.bulk_settings, sleep=self._sleep)

    def index(self, records: Iterable[Record]) -> int:
        """Add or replace the documents of `records` (searchable after `commit`); returns how many were sent."""
        return self.index_documents(index_document(record) for record in records)

    def index_documents(self, documents: Iterable[Mapping[str, Any]]) -> int:
        """Add or replace prepared index documents (an optional integer `version` key is the external version);
        returns how many were applied or found superseded by a newer version. Raises `BulkIndexError` naming the
        records Elasticsearch refused, after sending all the others."""
        stats = self._writer().run(index_operation(self.write_alias, document) for document in documents)
        self.last_stats = stats
        return stats.indexed + stats.superseded

    def delete(self, doc_ids: Iterable[str | tuple[str, int]]) -> int:
        """Remove documents by id (or by `(id, version)`: ignored if the stored document is newer); ids not in
        the index are ignored. Returns how many ids were processed."""
        stats = self._writer().run(self._delete_operations(doc_ids))
        self.last_stats = stats
        return stats.deleted + stats.not_found + stats.superseded

    def _delete_operations(self, doc_ids: Iterable[str | tuple[str, int]]) -> Iterator[Operation]:
        for item in doc_ids:
            if isinstance(item, tuple):
                yield delete_operation(self.write_alias, item[0], item[1])
            else:
                yield delete_operation(self.write_alias, item)

    def commit(self) -> None:
        """Make every write so far searchable (an index refresh; writes are already durable when acknowledged)."""
        if not self._ensured:
            self.ensure()
        self.client.indices.refresh(index=self.write_alias)

    # ---- reading -------------------------------------------------------------------------------------------

    def count(self) -> int:
        """Documents searchable through the read alias."""
        try:
            return int(self.client.count(index=self.read_alias)["count"])
        except NotFoundError as error:
            raise self._missing(error) from error

    def _missing(self, error: Exception) -> IndexMissingError:
        return IndexMissingError(
            f"the Elasticsearch alias {self.read_alias!r} points at no index ({error}); build it with "
            f"`dmlake index rebuild` (or ElasticsearchIndex.rebuild) before searching"
        )

    def search(self, query: Query) -> SearchResult:
        if query.disjunctive:
            return search_disjunctive(self.search, query)
        sort = query.effective_sort
        print_ = fingerprint(query, sort)
        state = self._cursor_state(query, sort, print_)
        relevance = is_relevance(sort)
        if query.size == 0:
            response = self._search_alias(search_body(query, size=0))
            return self._result(query, response, [], None)
        sorts = sort_clauses(sort)
        pit_id: str | None = None
        after: list[Any] | None = None
        check_boundary = False
        if state is not None:
            after = list(state["k"])
            pit_id = state.get("pit")
            if pit_id is None:  # the first continuation: the walk's point in time starts here
                pit_id = self._open_pit()
                if relevance:
                    # Start *at* the first page's last hit (the empty id sorts before every id of its score and
                    # tie-break) to see that it is still there with the same score.
                    check_boundary = True
                    after[-1] = ""
        size = query.size + 1 + int(check_boundary)
        body = search_body(query, size=size, sort=sorts, search_after=after, pit=self._pit(pit_id))
        if pit_id is None:
            response = self._search_alias(body)
        else:
            response, pit_id = self._search_pit(body, pit_id, relevance=relevance)
        total = _total(response)
        found = response["hits"]["hits"]
        if check_boundary and state is not None:
            found = self._past_boundary(found, state, total, pit_id)
        page = found[: query.size]
        hits = [self._hit(hit, relevance, query) for hit in page]
        next_cursor = None
        if len(found) > query.size and page:
            position = _sort_values(page[-1].get("sort"), len(sorts))
            cursor: dict[str, Any] = {"v": CURSOR_VERSION, "s": sort, "f": print_, "k": position}
            if pit_id is not None:
                cursor["pit"] = pit_id
            if relevance:
                cursor["t"] = total
            next_cursor = encode_cursor(cursor)
        elif pit_id is not None:
            self._close_pit(pit_id)
        return self._result(query, response, hits, next_cursor)

    def _past_boundary(self, found: list[Any], state: Mapping[str, Any], total: int, pit_id: str | None) -> list[Any]:
        """A relevance walk continues by score, so its second page must see the scores its first page saw: in the new
        point in time the result count, and the first page's last hit with its score, must be as they were;
        otherwise the index changed in between and the walk is refused rather than repeating or skipping hits."""
        key = state["k"]
        first = found[0] if found else {}
        values = _sort_values(first.get("sort"), len(key)) if first else None
        if total != state.get("t") or values is None or values[-1] != key[-1] or float(values[0]) != float(key[0]):
            self._close_pit(pit_id)
            raise QueryError(
                "cursor expired, restart the query: the index changed since the first page of this "
                "relevance-ranked walk",
                parameter="cursor",
                hint="restart without a cursor, or sort by a field (e.g. -issued or title) for walks that survive "
                "index updates",
            )
        return found[1:]

    def _cursor_state(self, query: Query, sort: str, print_: str) -> dict[str, Any] | None:
        state = cursor_state(query, sort, print_, CURSOR_VERSION)
        if state is None:
            return None
        key, pit = state.get("k"), state.get("pit")
        if (
            not isinstance(key, list)
            or len(key) != len(sort_clauses(sort))
            or not all(isinstance(v, int | float | str) and not isinstance(v, bool) for v in key)
            or not (pit is None or isinstance(pit, str))
            or (is_relevance(sort) and not isinstance(state.get("t"), int))
            or (is_relevance(sort) and not isinstance(key[0], int | float))
        ):
            raise QueryError("the cursor is malformed", parameter="cursor", hint="pass next_cursor unchanged")
        return state

    def _pit(self, pit_id: str | None) -> dict[str, Any] | None:
        return None if pit_id is None else {"id": pit_id, "keep_alive": self.pit_keep_alive}

    def _search_alias(self, body: Mapping[str, Any]) -> Mapping[str, Any]:
        try:
            return self.client.search(index=self.read_alias, **body).body
        except NotFoundError as error:
            raise self._missing(error) from error
        except ApiError as error:
            raise _refused(error) from error

    def _search_pit(
        self, body: dict[str, Any], pit_id: str, *, relevance: bool
    ) -> tuple[Mapping[str, Any], str | None]:
        try:
            response = self.client.search(**body).body
        except NotFoundError:
            if relevance:
                raise QueryError(
                    "cursor expired, restart the query: relevance-ranked pages are kept for "
                    f"{self.pit_keep_alive} after each page",
                    parameter="cursor",
                    hint="restart without a cursor, or sort by a field (e.g. -issued or title) for walks that "
                    "survive index updates",
                ) from None
            # A field walk's position is a value: it continues in a new point in time.
            pit_id = self._open_pit()
            body["pit"] = self._pit(pit_id)
            try:
                response = self.client.search(**body).body
            except ApiError as error:
                raise _refused(error) from error
        except ApiError as error:
            raise _refused(error) from error
        return response, response.get("pit_id", pit_id)

    def _open_pit(self) -> str:
        try:
            response = self.client.open_point_in_time(index=self.read_alias, keep_alive=self.pit_keep_alive)
        except NotFoundError as error:
            raise self._missing(error) from error
        return str(response["id"])

    def _close_pit(self, pit_id: str | None) -> None:
        if pit_id is None:
            return
        try:
            self.client.close_point_in_time(id=pit_id)
        except ApiError as error:  # already expired or freed: nothing to release
            log.debug("closing point in time failed (%s); it expires by itself", error)

    def _hit(self, hit: Mapping[str, Any], relevance: bool, query: Query) -> Hit:
        source = hit.get("_source") or {}
        summary = source.get(SUMMARY_FIELD) or {}
        score = hit.get("_score") if relevance else None
        marked = None
        if query.highlight:
            marked = {}
            if query.text:
                marked = highlight(
                    query_words(search_text(query.text)), _first(source, "title"), _first(source, "description")
                )
        return Hit(
            id=str(source.get(ID_FIELD, hit.get("_id"))),
            score=None if score is None else float(score),
            fields=query.project(summary),
            highlight=marked,
        )

    def _result(
        self, query: Query, response: Mapping[str, Any], hits: list[Hit], next_cursor: str | None
    ) -> SearchResult:
        facets: dict[str, list[FacetValue]] = {}
        if query.facets:
            aggregations = response.get("aggregations") or {}
            for name in query.facets:
                if query.facet_size <= 0:
                    facets[name] = []
                    continue
                buckets = (aggregations.get(name) or {}).get("buckets", [])
                if name == YEAR_HISTOGRAM:
                    facets[name] = year_histogram({_facet_key(b["key"]): int(b["doc_count"]) for b in buckets})
                    continue
                if name == ENERGY_HISTOGRAM:
                    keyed = buckets if isinstance(buckets, Mapping) else {}
                    counts = [int((keyed.get(decade_key(d.exponent)) or {}).get("doc_count", 0)) for d in DECADES]
                    facets[name] = energy_histogram(counts)
                    continue
                values = [FacetValue(_facet_key(b["key"]), int(b["doc_count"])) for b in buckets]
                values.sort(key=lambda v: (-v.count, v.value))
                facets[name] = values[: query.facet_size]
        return SearchResult(total=_total(response), hits=hits, facets=facets, next_cursor=next_cursor, query=query)


def _total(response: Mapping[str, Any]) -> int:
    total = response["hits"]["total"]
    return int(total["value"] if isinstance(total, Mapping) else total)


def _sort_values(values: Any, levels: int) -> list[Any]:
    """The last hit's sort values as the cursor keeps them: only our sort's levels (a PIT search appends an implicit
    `_shard_doc`; leaving it out keeps Elasticsearch from adding it again), non-finite floats as Elasticsearch
    spells them (JSON has no infinity)."""
    if not isinstance(values, list) or len(values) < levels:
        raise RuntimeError(f"Elasticsearch returned a hit without its {levels} sort values: {values!r}")
    out = []
    for value in values[:levels]:
        if isinstance(value, float) and not math.isfinite(value):
            value = "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
        out.append(value)
    return out


def _first(source: Mapping[str, Any], name: str) -> str | None:
    value = source.get(name)
    if isinstance(value, list):
        return str(value[0]) if value else None
    return None if value is None else str(value)


def _facet_key(key: Any) -> str:
    if isinstance(key, float) and key.is_integer():
        return str(int(key))
    return str(key)


def _refused(error: ApiError) -> QueryError | ApiError:
    """A 400 from Elasticsearch is a query it cannot run: tell the caller as a `QueryError`; others stay errors."""
    if error.meta.status != 400:
        return error
    body = error.body if isinstance(error.body, Mapping) else {}
    cause = (body.get("error") or {}) if isinstance(body.get("error"), Mapping) else {}
    reason = cause.get("reason") or str(error)
    return QueryError(
        f"Elasticsearch cannot run this search: {reason}",
        parameter="q",
        position=0,
        hint="simplify the query; if it is valid on the embedded index, report it as a dmlake bug",
    )


__all__ = ["FACET_EXTRA", "ElasticsearchIndex", "IndexMissingError", "RebuildReport"]
