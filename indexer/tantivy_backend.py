"""The embedded search index: tantivy, in a directory, behind the one query model (`indexer.query`).

    index = TantivyIndex("var/index")
    index.index(records)          # upsert: a record's previous document is replaced
    index.delete([record_id])
    index.commit()                # nothing is visible (or durable) before a commit
    result = index.search(Query.parse("higgs", filters=["experiment=CMS"], facets=["year"]))

Concurrency: one writer per index directory (tantivy holds a lock file; a second writer, in this process or another,
gets `IndexBusyError`). Any number of readers, in this and other processes, search while it writes. Every search
first checks the index's meta file and reloads if it changed, so it sees the newest commit of any process, and
searches of one `TantivyIndex` never go back to an older commit. The writer is opened on the first write, so a
read-only `TantivyIndex` never takes the lock; its memory is bounded by `heap_bytes` (tantivy flushes a segment
when the heap is full). `close()` releases it.

Facets are terms aggregations counted over the whole filtered result (not only the page), cached per query and
index state: the pages of one walk, and the landing page (everything), do not recount until the index changes.

Paging: see `indexer.tantivy_paging` — field sorts resume after the last hit's sort value (walks survive commits);
relevance walks read a snapshot kept for `snapshot_ttl` seconds after each page, rebuilt on demand (in this or
another process) as long as the index files are unchanged, and otherwise refused with "cursor expired".
"""

from __future__ import annotations

import hashlib
import statistics
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import pairwise
from pathlib import Path
from typing import Any

import orjson
import tantivy

from indexer.disjunctive import search_disjunctive
from indexer.document import (
    ID_FIELD,
    SCHEMA_VERSION,
    SORT_LEVELS,
    SUMMARY_FIELD,
    TEXT_FIELDS,
    TIEBREAK_FIELD,
    index_document,
    phrase_pairs_field,
)
from indexer.highlight import highlight, query_words
from indexer.histograms import (
    DECADES,
    ENERGY_HISTOGRAM,
    YEAR_BUCKETS,
    YEAR_HISTOGRAM,
    bucket_of,
    cut_points,
    decade_bounds,
    energy_histogram,
    year_histogram,
)
from indexer.query import (
    FacetValue,
    Hit,
    Query,
    QueryError,
    Range,
    SearchBackend,
    SearchResult,
    encode_cursor,
)
from indexer.query_terms import (
    MATCH_NOTHING,
    cursor_state,
    filter_values,
    query_fingerprint,
    range_limits,
)
from indexer.query_text import ENERGY_OVERLAP, overlap_filter_syntax, search_text
from indexer.tantivy_paging import (
    Level,
    Plans,
    SearchAfter,
    Snapshot,
    SnapshotStore,
    count_hits,
    field_type,
    levels_for,
)
from indexer.tantivy_phrases import PHRASE_FIELDS, PhrasePlanner
from indexer.tantivy_ranges import Bounds, RangePlanner
from indexer.tantivy_schema import build_schema, register_analyzers, to_tantivy
from ontology.model import Record

MARKER_FILE = "dmlake-index.json"
_MINIMUM, _MAXIMUM, _SQRT_S = ENERGY_OVERLAP
_HALF_OPEN_INTERVALS = tuple(
    (f" OR ({syntax})", syntax) for syntax in (f"{_MAXIMUM}:* -{_MINIMUM}:*", f"{_MINIMUM}:* -{_MAXIMUM}:*")
)
"""The alternatives of `indexer.query_text.clause_syntax` for intervals with one end (see `TantivyIndex._pruned`)."""
DEFAULT_HEAP_BYTES = 128_000_000
CURSOR_VERSION = 1
WRITE_CHUNK = 1_000
FACET_CACHE_ENTRIES = 256
FACET_SEGMENT_SIZE = 2_000
"""Buckets each index segment reports per facet before they are merged: counts of the values shown are exact
unless a value is outside the top 2,000 of some segment yet inside the overall top `facet_size`."""


@dataclass(frozen=True)
class View:
    """The searcher a request reads, and the fingerprint of the index files it reads (None if unknown)."""

    searcher: tantivy.Searcher
    index_state: str | None


class IndexVersionError(RuntimeError):
    """The directory holds an index built for another document schema: it has to be rebuilt."""


class IndexBusyError(RuntimeError):
    """Another writer (in this or another process) holds the index's lock."""


class TantivyIndex(SearchBackend):
    """A tantivy index in `path` (or in memory with `path=None`), upserted by record id; see the module doc."""

    def __init__(
        self,
        path: str | Path | None,
        *,
        heap_bytes: int = DEFAULT_HEAP_BYTES,
        writer_threads: int = 1,
        snapshot_ttl: float = 600.0,
        snapshot_capacity: int = 64,
    ) -> None:
        self.path = Path(path) if path is not None else None
        self.heap_bytes = heap_bytes
        self.writer_threads = writer_threads
        self._schema = build_schema()
        self._index = self._open()
        register_analyzers(self._index)
        # Reloads happen here, one at a time, before each search (see `_pinned_searcher`): concurrent reloads may
        # finish out of order, and a reader must never go back to an older commit.
        self._index.config_reader("Manual")
        self._reload_lock = threading.Lock()
        self._loaded_digest: str | None = None
        self._writer: tantivy.IndexWriter | None = None
        self._write_lock = threading.Lock()
        self._snapshots = SnapshotStore(ttl=snapshot_ttl, capacity=snapshot_capacity)
        self._facet_cache: OrderedDict[tuple[Any, ...], dict[str, list[FacetValue]]] = OrderedDict()
        self._facet_lock = threading.Lock()
        self._decades: dict[str, tantivy.Query] = {}
        self._nothing: dict[tuple[str, str], bool] = {}
        self._ranges = RangePlanner()
        self._text_fields = list(TEXT_FIELDS)
        self._boosts = {name: spec.boost for name, spec in TEXT_FIELDS.items() if spec.boost != 1.0}
        # a phrase read from a field's word pairs weighs what the field's own phrase weighs
        self._boosts.update(
            {phrase_pairs_field(name): self._boosts[name] for name in PHRASE_FIELDS if name in self._boosts}
        )
        self._phrases = PhrasePlanner()

    # ---- opening -------------------------------------------------------------------------------------------

    def _open(self) -> tantivy.Index:
        if self.path is None:
            return tantivy.Index(self._schema)
        self.path.mkdir(parents=True, exist_ok=True)
        marker = self.path / MARKER_FILE
        existing = (self.path / "meta.json").exists()
        if existing:
            version = self._marker_version(marker)
            if version != SCHEMA_VERSION:
                built = "an unknown schema" if version is None else f"document schema version {version}"
                raise IndexVersionError(
                    f"the search index in {self.path} was built with {built}; this dmlake writes version "
                    f"{SCHEMA_VERSION}. Rebuild it with `dmlake index --rebuild` (it drops the directory and indexes "
                    f"every record again from the catalogue)."
                )
        try:
            index = tantivy.Index(self._schema, path=str(self.path), reuse=True)
        except ValueError as error:
            raise IndexVersionError(f"cannot open the search index in {self.path}: {error}") from error
        if not existing:
            marker.write_bytes(orjson.dumps({"schema_version": SCHEMA_VERSION, "document": "indexer.document"}))
        return index

    @staticmethod
    def _marker_version(marker: Path) -> int | None:
        try:
            version = orjson.loads(marker.read_bytes()).get("schema_version")
        except (OSError, orjson.JSONDecodeError, AttributeError):
            return None
        return version if isinstance(version, int) else None

    # ---- writing -------------------------------------------------------------------------------------------

    def _writer_locked(self) -> tantivy.IndexWriter:
        if self._writer is None:
            try:
                self._writer = self._index.writer(heap_size=self.heap_bytes, num_threads=self.writer_threads)
            except ValueError as error:
                where = self.path or "memory"
                raise IndexBusyError(
                    f"cannot write the search index in {where}: another writer holds its lock ({error}). "
                    f"Only one process may index at a time; stop the other indexer or wait for it to finish."
                ) from error
        return self._writer

    def index(self, records: Iterable[Record]) -> int:
        """Add or replace the documents of `records` (visible after `commit`); returns how many were written."""
        return self.index_documents(index_document(record) for record in records)

    def index_documents(self, documents: Iterable[Mapping[str, Any]]) -> int:
        """Add or replace prepared `indexer.document.index_document` mappings; returns how many were written."""
        count = 0
        with self._write_lock:
            writer = self._writer_locked()
            for chunk in _chunks(documents, WRITE_CHUNK):
                # One delete per chunk, queued before the chunk's adds, replaces the previous documents of these
                # ids (tantivy applies a delete to documents added before it); the last version in a chunk wins.
                latest = {document[ID_FIELD]: document for document in chunk}
                ids = list(latest)
                writer.delete_documents_by_query(tantivy.Query.term_set_query(self._schema, ID_FIELD, ids))
                for document in latest.values():
                    writer.add_document(to_tantivy(document, self._schema))
                count += len(chunk)
        return count

    def delete(self, record_ids: Iterable[str]) -> int:
        """Remove the documents of these records (visible after `commit`); ids not in the index are ignored."""
        count = 0
        with self._write_lock:
            writer = self._writer_locked()
            for chunk in _id_chunks(record_ids, WRITE_CHUNK):
                writer.delete_documents_by_query(tantivy.Query.term_set_query(self._schema, ID_FIELD, chunk))
                count += len(chunk)
        return count

    def commit(self) -> None:
        """Make every write so far durable and visible to searches."""
        with self._write_lock:
            if self._writer is None:
                return
            self._writer.commit()
        self._reload()

    def rollback(self) -> None:
        """Drop the writes since the last commit."""
        with self._write_lock:
            if self._writer is not None:
                self._writer.rollback()

    def close(self) -> None:
        """Release the writer (uncommitted writes are dropped) after its merges finish; searching still works."""
        with self._write_lock:
            if self._writer is not None:
                writer, self._writer = self._writer, None
                writer.wait_merging_threads()

    def __enter__(self) -> TantivyIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- reading -------------------------------------------------------------------------------------------

    def count(self) -> int:
        """Documents in the index as of the last commit."""
        return int(self._pinned_searcher()[0].num_docs)

    def search(self, query: Query) -> SearchResult:
        if query.disjunctive:
            return search_disjunctive(self.search, query)
        sort = query.effective_sort
        fingerprint = _fingerprint(query, sort)
        state = self._cursor_state(query, sort, fingerprint)
        if sort.lstrip("-") == "relevance":
            view, base, total, hits, next_cursor = self._relevance_page(query, state, fingerprint)
        else:
            view, base, total, hits, next_cursor = self._field_page(query, sort, state, fingerprint)
        facets = self._facets(view, base, query) if query.facets else {}
        return SearchResult(total=total, hits=hits, facets=facets, next_cursor=next_cursor, query=query)

    def _cursor_state(self, query: Query, sort: str, fingerprint: str) -> dict[str, Any] | None:
        return cursor_state(query, sort, fingerprint, CURSOR_VERSION)

    # ---- query building ------------------------------------------------------------------------------------

    def _base_query(self, query: Query, view: View, *, sets: bool = True) -> tantivy.Query:
        """The query's documents, built for the searcher that will read them (see `_planned`); with `sets=False`
        numeric ranges stay ranges, the cheaper plan next to a few documents (`indexer.tantivy_paging.Plans`)."""
        clauses: list[tuple[tantivy.Occur, tantivy.Query]] = []
        if query.text:
            text = self._text_query(self._planned(search_text(query.text), view, sets=sets))
            clauses.append((tantivy.Occur.Must, text))
        for name, values in query.filters:
            filtered = self._filter(name, values, view, sets=sets)
            clauses.append((tantivy.Occur.Must, tantivy.Query.const_score_query(filtered, 0.0)))
        for name, bounds in query.ranges:
            ranged = self._range(name, bounds, view, sets=sets)
            clauses.append((tantivy.Occur.Must, tantivy.Query.const_score_query(ranged, 0.0)))
        for name, alternatives in query.overlaps:
            overlap = self._text_query(self._planned(overlap_filter_syntax(name, alternatives), view, sets=sets))
            clauses.append((tantivy.Occur.Must, tantivy.Query.const_score_query(overlap, 0.0)))
        if not clauses:
            return tantivy.Query.all_query()
        if len(clauses) == 1 and query.text:
            return clauses[0][1]
        return tantivy.Query.boolean_query(clauses)

    def _planned(self, text: str, view: View, *, sets: bool = True) -> str:
        """The search syntax as it is cheapest to run on this searcher, with the same hits and scores: without the
        alternatives nothing can match (`_pruned`), ranges on few-valued fields as sets (`indexer.tantivy_ranges`),
        exact phrases from word pairs (`indexer.tantivy_phrases`: the same hits)."""
        pruned = self._phrases.rewrite(self._pruned(text, view))
        return self._ranges.with_sets(view.searcher, view.index_state, pruned) if sets else pruned

    def _pruned(self, text: str, view: View) -> str:
        """The search syntax without the energy-overlap alternatives no document of this searcher can match.

        An energy interval meets a range if it starts before its end "or has only a maximum", and ends after its
        start "or has only a minimum": those alternatives are exists-and-not-exists scans of the whole index (a
        third of the time of an energy query at 1M documents), and indexes where every interval has both ends
        match nothing with them. `X OR nothing` is `X`, with the same hits and scores."""
        for clause, syntax in _HALF_OPEN_INTERVALS:
            if clause in text and self._matches_nothing(view, syntax, partial(self._text_query, syntax)):
                text = text.replace(clause, "")
        return text

    def _matches_nothing(self, view: View, key: str, build: Callable[[], tantivy.Query]) -> bool:
        """Whether no document of the searcher matches the query `build` makes (`key` names it); asked once per
        index state, as the answer changes only with the index files."""
        known = self._nothing.get((view.index_state, key)) if view.index_state is not None else None
        if known is None:
            known = count_hits(view.searcher, build()) == 0
            if view.index_state is not None:
                with self._facet_lock:
                    if len(self._nothing) >= 256:
                        self._nothing.clear()
                    self._nothing[(view.index_state, key)] = known
        return known

    def _text_query(self, text: str) -> tantivy.Query:
        try:
            return self._index.parse_query(
                text, default_field_names=self._text_fields, field_boosts=self._boosts, conjunction_by_default=True
            )
        except ValueError as error:
            raise self._text_error(text, str(error)) from None

    def _text_error(self, text: str, message: str) -> QueryError:
        fields = ", ".join(self._text_fields)
        try:
            problems = tantivy.parse_query_lenient(text)[1]
        except ValueError:
            problems = []
        if problems:
            position = int(problems[0].get("pos", 0))
            return QueryError(
                f"cannot read the search text: {problems[0].get('message', 'syntax error')} at position {position}",
                parameter="q",
                position=position,
                hint='balance quotes and parentheses, or put physics notation in quotes, e.g. "B0->K*mumu"',
            )
        if message.startswith("Field does not exist"):
            name = message.split(":", 1)[1].strip().strip("'\"")
            position = max(text.find(name + ":"), 0)
            return QueryError(
                f"cannot read the search text: there is no field {name!r}",
                parameter="q",
                position=position,
                hint=f"search one field with FIELD:word, FIELD one of {fields}, or a filter field such as "
                f'experiment:CMS; to search for text with a colon, quote it ("{text[position:][:40]}")',
            )
        return QueryError(
            f"cannot read the search text: {message}",
            parameter="q",
            position=0,
            hint=f'quote words with special characters; fields: {fields}; operators: AND, OR, -word, "phrase"',
        )

    def _filter(self, name: str, values: Iterable[str], view: View, *, sets: bool = True) -> tantivy.Query:
        wanted = filter_values(name, values)
        if wanted.numbers:
            alternatives = [
                (tantivy.Occur.Should, self._range(name, Range(n, n), view, sets=sets)) for n in wanted.numbers
            ]
            return tantivy.Query.boolean_query(alternatives)
        if len(wanted.terms) == 1:
            return tantivy.Query.term_query(self._schema, name, wanted.terms[0])
        return tantivy.Query.term_set_query(self._schema, name, wanted.terms)

    def _range(self, name: str, bounds: Range, view: View, *, sets: bool = True) -> tantivy.Query:
        limits = range_limits(name, bounds)
        if limits is MATCH_NOTHING:
            return tantivy.Query.empty_query()
        low, high = limits
        if low is None and high is None:
            return tantivy.Query.exists_query(name)  # "year=.." : any year at all
        if sets:
            as_set = self._ranges.range_set(view.searcher, view.index_state, self._schema, name, Bounds(low, high))
            if as_set is not None:
                return as_set
        return tantivy.Query.range_query(self._schema, name, field_type(name), low, high)

    # ---- pages ---------------------------------------------------------------------------------------------

    def _field_page(
        self, query: Query, sort: str, state: dict[str, Any] | None, fingerprint: str
    ) -> tuple[View, tantivy.Query, int, list[Hit], str | None]:
        name = sort.lstrip("-")
        fields = SORT_LEVELS.get(name)
        if fields is None:
            raise QueryError(f"cannot sort on {sort!r}", parameter="sort", hint="sorts: " + ", ".join(SORT_LEVELS))
        view = View(*self._pinned_searcher())
        searcher = view.searcher
        base = self._base_query(query, view)
        if query.size == 0:
            return view, base, self._count(searcher, base, query), [], None
        # Every search of the documents with a value names a value or a range of the first sort field, which only
        # documents with a value have: they need no "has a value" clause (a scan of the column).
        matches = Plans(base, self._base_query(query, view, sets=False))
        has_value = tantivy.Query.exists_query(fields[0])
        missing = matches.both(lambda plan: _and_not(plan, has_value))
        levels = levels_for(fields, descending=sort.startswith("-"))
        missing_levels = [Level(TIEBREAK_FIELD, False)]
        walker = SearchAfter(searcher, self._schema, lambda address: self._doc_id(searcher, address))
        need = query.size + 1
        entries: list[tuple[int, tuple[int | float, ...], tantivy.DocAddress]] = []
        phase, key, last_id = self._field_position(state, levels, missing_levels)
        total: int | None = None
        if phase == 0:
            if key:
                found = walker.after(matches, levels, key, last_id, need)
            else:
                total, found = self._first_field_page(query, view, walker, matches, levels, need)
            entries.extend((0, k, a) for k, a in found)
            key = ()
        if len(entries) < need:
            found = (
                walker.after(missing, missing_levels, key, last_id, need - len(entries))
                if key
                else walker.first(missing, missing_levels, need - len(entries))
            )
            entries.extend((1, k, a) for k, a in found)
        if total is None:
            total = self._count(searcher, base, query)
        page = entries[: query.size]
        hits = []
        for _, _, address in page:
            hits.append(self._hit(searcher, address, None, query))
        next_cursor = None
        if len(entries) > query.size and page:
            last_phase, last_key, _ = page[-1]
            position = {"p": last_phase, "k": list(last_key), "i": hits[-1].id}
            next_cursor = encode_cursor({"v": CURSOR_VERSION, "s": sort, "f": fingerprint, **position})
        return view, base, total, hits, next_cursor

    def _first_field_page(
        self, query: Query, view: View, walker: SearchAfter, matches: Plans, levels: list[Level], need: int
    ) -> tuple[int | None, list[tuple[tuple[int | float, ...], tantivy.DocAddress]]]:
        """The first page's documents with a value, and the total when it came with them (None: count apart).

        Everything (no text or filters), by a field of few values: only the documents of the first values are
        ordered (`RangePlanner.head`), and the total is the number of documents. Otherwise one ordered pass over
        every match finds those with a value first and counts them all."""
        if not (query.text or query.filters or query.ranges or query.overlaps):
            level = levels[0]
            head = self._ranges.head(
                view.searcher, view.index_state, self._schema, level.field, descending=level.descending, need=need
            )
            if head is not None:
                _, found = walker.first_counted(head, levels, need)
                if len(found) >= need:  # as the counts promised (else: order them all, below)
                    return None, found
        return walker.first_counted(matches, levels, need)

    @staticmethod
    def _field_position(
        state: dict[str, Any] | None, levels: list[Level], missing_levels: list[Level]
    ) -> tuple[int, tuple[int | float, ...], str]:
        if state is None:
            return 0, (), ""
        phase, key, last_id = state.get("p"), state.get("k"), state.get("i")
        expected = len(levels) if phase == 0 else len(missing_levels)
        if (
            phase not in (0, 1)
            or not isinstance(key, list)
            or len(key) != expected
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in key)
            or not isinstance(last_id, str)
        ):
            raise QueryError("the cursor is malformed", parameter="cursor", hint="pass next_cursor unchanged")
        return phase, tuple(key), last_id

    def _relevance_page(
        self, query: Query, state: dict[str, Any] | None, fingerprint: str
    ) -> tuple[View, tantivy.Query, int, list[Hit], str | None]:
        if state is None:
            searcher, index_state = self._pinned_searcher()
            snapshot = Snapshot(searcher, fingerprint, index_state, last_used=0.0)
            snapshot_id: str | None = None
            offset = 0
        else:
            snapshot_id, snapshot, offset = self._resume_snapshot(state, fingerprint)
        view = View(snapshot.searcher, snapshot.index_state)
        base = self._base_query(query, view)
        if query.size == 0:
            return view, base, self._count(snapshot.searcher, base, query), [], None
        total, found = snapshot.counted_page(base, offset, query.size + 1)
        page = found[: query.size]
        hits = [self._hit(snapshot.searcher, address, float(score), query) for score, address in page]
        next_cursor = None
        if len(found) > query.size:
            if snapshot_id is None:
                snapshot_id = self._snapshots.add(snapshot)
            next_cursor = encode_cursor(
                {
                    "v": CURSOR_VERSION,
                    "s": query.effective_sort,
                    "f": fingerprint,
                    "proc": self._snapshots.process,
                    "snap": snapshot_id,
                    "st": snapshot.index_state,
                    "o": offset + len(page),
                }
            )
        return view, base, total, hits, next_cursor

    def _resume_snapshot(self, state: dict[str, Any], fingerprint: str) -> tuple[str, Snapshot, int]:
        offset, snapshot_id = state.get("o"), state.get("snap")
        if not isinstance(offset, int) or offset < 0 or not isinstance(snapshot_id, str):
            raise QueryError("the cursor is malformed", parameter="cursor", hint="pass next_cursor unchanged")
        snapshot = self._snapshots.get(snapshot_id) if state.get("proc") == self._snapshots.process else None
        if snapshot is not None and snapshot.fingerprint == fingerprint:
            return snapshot_id, snapshot, offset
        # The snapshot is gone. The same index files rank identically, so a fresh searcher can take over.
        searcher, index_state = self._pinned_searcher()
        if index_state is None or index_state != state.get("st"):
            raise QueryError(
                "cursor expired, restart the query: relevance-ranked pages are kept for "
                f"{self._snapshots.ttl:g} s after each page and the index has changed since",
                parameter="cursor",
                hint="restart without a cursor, or sort by a field (e.g. -issued or title) for walks that survive "
                "index updates",
            )
        snapshot = Snapshot(searcher, fingerprint, index_state, last_used=0.0)
        return self._snapshots.add(snapshot), snapshot, offset

    def _pinned_searcher(self) -> tuple[tantivy.Searcher, str | None]:
        """A searcher on the newest commit (of any process) and a fingerprint of the index files it reads.

        The fingerprint is None when it cannot be pinned down (in memory, or a commit landed while reloading).
        """
        if self.path is None:
            return self._index.searcher(), None
        with self._reload_lock:
            before = self._meta_digest()
            if before is None or before != self._loaded_digest:
                self._index.reload()
            searcher = self._index.searcher()
            after = self._meta_digest()
            pinned = before if before is not None and before == after else None
            self._loaded_digest = pinned
        return searcher, pinned

    def _reload(self) -> None:
        with self._reload_lock:
            self._index.reload()
            self._loaded_digest = None

    def _meta_digest(self) -> str | None:
        assert self.path is not None
        try:
            return hashlib.blake2b((self.path / "meta.json").read_bytes(), digest_size=12).hexdigest()
        except OSError:
            return None

    def bare_query_latency_ms(self, text: str, repeat: int = 100) -> dict[str, float]:
        """Baseline for benchmarks: p50/p95 milliseconds of tantivy alone finding the top 10 for `text` (no
        filters, facets, cursors or hit decoding), to print beside the figures of `search`."""
        query = self._text_query(text)
        searcher = self._index.searcher()
        searcher.search(query, limit=10)
        samples = []
        for _ in range(max(repeat, 1)):
            started = time.perf_counter()
            searcher.search(query, limit=10)
            samples.append((time.perf_counter() - started) * 1000)
        samples.sort()
        return {"p50": statistics.median(samples), "p95": samples[int(0.95 * (len(samples) - 1))]}

    # ---- hits and facets -----------------------------------------------------------------------------------

    @staticmethod
    def _count(searcher: tantivy.Searcher, base: tantivy.Query, query: Query) -> int:
        if not (query.text or query.filters or query.ranges or query.overlaps):
            return int(searcher.num_docs)  # everything: no need to count
        return count_hits(searcher, base)

    @staticmethod
    def _doc_id(searcher: tantivy.Searcher, address: tantivy.DocAddress) -> str:
        return str(searcher.doc(address)[ID_FIELD][0])

    @staticmethod
    def _hit(searcher: tantivy.Searcher, address: tantivy.DocAddress, score: float | None, query: Query) -> Hit:
        document = searcher.doc(address)
        summary = orjson.loads(document[SUMMARY_FIELD][0])
        marked = None
        if query.highlight:
            words = query_words(search_text(query.text)) if query.text else None
            marked = (
                {} if words is None else highlight(words, _first(document, "title"), _first(document, "description"))
            )
        return Hit(id=str(document[ID_FIELD][0]), score=score, fields=query.project(summary), highlight=marked)

    def _facets(self, view: View, base: tantivy.Query, query: Query) -> dict[str, list[FacetValue]]:
        if query.facet_size <= 0:
            return {name: [] for name in query.facets}
        # Facets of the same query on the same index files are the same: pages of one walk, and the landing page
        # (everything, the most expensive aggregation) are served from the cache until the next commit or merge.
        cache_key = None
        if view.index_state is not None:
            cache_key = (view.index_state, _fingerprint(query, ""), query.facets, query.facet_size)
            with self._facet_lock:
                cached = self._facet_cache.get(cache_key)
                if cached is not None:
                    self._facet_cache.move_to_end(cache_key)
                    return {name: list(values) for name, values in cached.items()}
        facets = self._aggregate(view, base, query)
        if cache_key is not None:
            with self._facet_lock:
                self._facet_cache[cache_key] = facets
                while len(self._facet_cache) > FACET_CACHE_ENTRIES:
                    self._facet_cache.popitem(last=False)
        return facets

    def _aggregate(self, view: View, base: tantivy.Query, query: Query) -> dict[str, list[FacetValue]]:
        searcher = view.searcher
        # Ask for more than shown so that values tied on count are cut by value, not by tantivy's bucket order.
        wanted = query.facet_size + 10
        spec = {
            name: {"terms": {"field": name, "size": wanted, "segment_size": max(FACET_SEGMENT_SIZE, wanted * 10)}}
            for name in query.terms_facets
        }
        if YEAR_HISTOGRAM in query.facets:
            spec[YEAR_HISTOGRAM] = {"terms": {"field": "year", "size": YEAR_BUCKETS, "segment_size": YEAR_BUCKETS}}
        result = searcher.aggregate(base, spec) if spec else {}
        facets: dict[str, list[FacetValue]] = {}
        for name in query.facets:
            buckets = result.get(name, {}).get("buckets", [])
            if name == YEAR_HISTOGRAM:
                facets[name] = year_histogram({_facet_key(b["key"]): int(b["doc_count"]) for b in buckets})
                continue
            if name == ENERGY_HISTOGRAM:
                facets[name] = self._energy_histogram(view, base)
                continue
            values = [FacetValue(_facet_key(bucket["key"]), int(bucket["doc_count"])) for bucket in buckets]
            values.sort(key=lambda v: (-v.count, v.value))
            facets[name] = values[: query.facet_size]
        return facets

    def _energy_histogram(self, view: View, base: tantivy.Query) -> list[FacetValue]:
        """Counts per decade from one aggregation pass where every interval has both ends (and no merged cluster's
        minimum lies above its maximum), else one count per decade (tantivy has no filters aggregation)."""
        if all(
            self._matches_nothing(view, syntax, partial(self._text_query, syntax)) for _, syntax in _HALF_OPEN_INTERVALS
        ):
            counts = self._decade_counts(view.searcher, base)
            if counts is not None:
                return energy_histogram(counts)
        return self._energy_histogram_by_counting(view, base)

    def _decade_counts(self, searcher: tantivy.Searcher, base: tantivy.Query) -> list[int] | None:
        """Per decade, the hits whose interval [min, max] or √s meets it (what `energy=LOW..HIGH` finds), from one
        aggregation of min, max and √s cut at the decades' bounds: |interval meets| + |√s inside| − |both|.

        |interval meets| = the (min, max) pairs with min <= high and max >= low, from the joint ranges of min and max.
        |both| needs the triple (√s, min, max), which tantivy aggregates slowly (every √s range holds a min × max
        table); with √s × min and √s × max instead, the hits with √s inside whose interval misses the decade are
        those with min > high plus those with max < low, as long as no hit has both (min > high >= low > max,
        a minimum above the maximum). The joint table says whether any has; then this gives None (count instead).
        Needs every interval to have both ends: a one-ended one is in no max or no min range."""
        bounds = decade_bounds()
        minimum_cuts = cut_points([b.above_high for b in bounds])
        maximum_cuts = cut_points([b.low for b in bounds])
        sqrt_s_cuts = cut_points([v for b in bounds for v in (b.low, b.above_high)])
        minimum = {"range": {"field": _MINIMUM, "ranges": _ranges(minimum_cuts)}}
        maximum = {"range": {"field": _MAXIMUM, "ranges": _ranges(maximum_cuts)}}
        spec = {
            "intervals": {**minimum, "aggs": {"max": maximum}},
            "sqrt_s": {
                "range": {"field": _SQRT_S, "ranges": _ranges(sqrt_s_cuts)},
                "aggs": {"min": minimum, "max": maximum},
            },
        }
        result = searcher.aggregate(base, spec)
        joint = [
            [int(b["doc_count"]) for b in _range_buckets(row.get("max", {}), maximum_cuts)]
            for row in _range_buckets(result["intervals"], minimum_cuts)
        ]
        sqrt_s_ranges = _range_buckets(result["sqrt_s"], sqrt_s_cuts)
        minima = [[int(b["doc_count"]) for b in _range_buckets(r.get("min", {}), minimum_cuts)] for r in sqrt_s_ranges]
        maxima = [[int(b["doc_count"]) for b in _range_buckets(r.get("max", {}), maximum_cuts)] for r in sqrt_s_ranges]
        counts = []
        for decade in bounds:
            below = bucket_of(minimum_cuts, decade.above_high)  # min ranges before `below`: min <= high
            start = bucket_of(maximum_cuts, decade.low)  # max ranges from `start` on: max >= low
            if any(joint[i][j] for i in range(below, len(joint)) for j in range(start)):
                return None
            meets = sum(joint[i][j] for i in range(below) for j in range(start, len(joint[i])))
            inside = range(bucket_of(sqrt_s_cuts, decade.low), bucket_of(sqrt_s_cuts, decade.above_high))
            with_sqrt_s = sum(int(sqrt_s_ranges[b]["doc_count"]) for b in inside)
            both = sum(sum(minima[b][:below]) - sum(maxima[b][:start]) for b in inside)
            counts.append(meets + with_sqrt_s - both)
        return counts

    def _energy_histogram_by_counting(self, view: View, base: tantivy.Query) -> list[FacetValue]:
        with_energy = self._text_query("(energy_min_gev:* OR energy_max_gev:* OR sqrt_s_gev:*)")
        searcher = view.searcher
        if count_hits(searcher, _and(base, with_energy)) == 0:
            return []
        counts = [count_hits(searcher, _and(base, self._decade_query(i, view))) for i in range(len(DECADES))]
        return energy_histogram(counts)

    def _decade_query(self, position: int, view: View) -> tantivy.Query:
        syntax = self._pruned(DECADES[position].syntax, view)
        cached = self._decades.get(syntax)
        if cached is None:
            cached = self._decades[syntax] = self._text_query(syntax)
        return cached


def _id_chunks(ids: Iterable[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for record_id in ids:
        chunk.append(record_id)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _chunks(items: Iterable[Mapping[str, Any]], size: int) -> Iterator[list[Mapping[str, Any]]]:
    chunk: list[Mapping[str, Any]] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _ranges(cuts: Sequence[float]) -> list[dict[str, float]]:
    """Aggregation ranges covering every value, cut at `cuts` (see `indexer.histograms.cut_points`)."""
    ranges: list[dict[str, float]] = [{"to": cuts[0]}]
    ranges.extend({"from": low, "to": high} for low, high in pairwise(cuts))
    ranges.append({"from": cuts[-1]})
    return ranges


def _range_buckets(aggregation: Mapping[str, Any], cuts: Sequence[float]) -> list[dict[str, Any]]:
    """A range aggregation's buckets in the order of `_ranges(cuts)` (found by their lower bound; a range nothing
    fell into counts 0)."""
    by_start: dict[float | None, dict[str, Any]] = {b.get("from"): b for b in aggregation.get("buckets", [])}
    return [by_start.get(start, {"doc_count": 0}) for start in (None, *cuts)]


def _lacking(field: str) -> tantivy.Query:
    """The documents without a value for `field`."""
    return tantivy.Query.boolean_query(
        [(tantivy.Occur.Must, tantivy.Query.all_query()), (tantivy.Occur.MustNot, tantivy.Query.exists_query(field))]
    )


def _and(first: tantivy.Query, second: tantivy.Query) -> tantivy.Query:
    return tantivy.Query.boolean_query([(tantivy.Occur.Must, first), (tantivy.Occur.Must, second)])


def _and_not(first: tantivy.Query, second: tantivy.Query) -> tantivy.Query:
    return tantivy.Query.boolean_query([(tantivy.Occur.Must, first), (tantivy.Occur.MustNot, second)])


def _first(document: tantivy.Document, name: str) -> str | None:
    values = document.get_all(name)
    return str(values[0]) if values else None


def _facet_key(key: Any) -> str:
    if isinstance(key, float) and key.is_integer():
        return str(int(key))
    return str(key)


def _fingerprint(query: Query, sort: str) -> str:
    return query_fingerprint(query, sort)
