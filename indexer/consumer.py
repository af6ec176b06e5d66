"""Keeps the search index in step with the catalogue by reading the change feed (DESIGN.md §2).

    consumer = IndexConsumer(feed, TantivyIndex("var/index"))
    consumer.run()        # every change after the consumer's cursor; returns how many changes it read

    consumer.apply_new()       # a follower: what is new since the last call, leaving the last changes uncommitted
    consumer.commit_applied()  # ... until it decides to commit them (`dmlake.follow` does every few seconds)

`SearchIndexConsumer` does the same for the search index, whose documents are record *clusters*: a change of one
record re-renders its whole cluster (as the catalogue has it now) and removes the documents of records that no
longer speak for a cluster, so merges, splits and tombstones inside a cluster all leave one document per cluster.

The consumer reads the feed in batches of `batch_size` changes and applies each batch in bulk: an upsert re-indexes
the record's current content (replacing its document), a delete removes the document, and an upsert whose record
is no longer live (tombstoned by a later change) removes it too. It commits the index and *then* advances its
cursor, every `commit_every` changes and at the end of a run (or at `commit_applied`), so a crash in between leaves
the cursor behind the index, never ahead of it: the next run applies those changes again, and because every change
is applied as "make the document equal the catalogue's current record", applying it twice gives the same index.
Memory does not grow with the number of changes: only one batch of records is held at a time, and the index
writer's heap is bounded (tantivy writes a segment when it is full, committed or not).
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import orjson

from indexer.document import DOCUMENT_FINGERPRINT, ID_FIELD, VERSION_KEY, member_entry, merge_members
from ontology.feed import Change, ChangeFeed, ClusteredFeed
from ontology.model import Record

log = logging.getLogger(__name__)


class WritableIndex(Protocol):
    """What the consumer needs of a per-record store (the RDF graph store provides it)."""

    def index(self, records: Iterable[Record]) -> int: ...

    def delete(self, record_ids: Iterable[str]) -> int: ...

    def commit(self) -> None: ...


class DocumentIndex(Protocol):
    """What the search-index consumer needs; `TantivyIndex` (and the Elasticsearch backend) provide it."""

    def index_documents(self, documents: Iterable[Mapping[str, Any]]) -> int: ...

    def delete(self, record_ids: Iterable[str]) -> int: ...

    def commit(self) -> None: ...


@dataclass(frozen=True)
class Progress:
    """Reported after each commit: the cursor now stored, and the counts since `run` started."""

    cursor: int
    last_seq: int
    changes: int
    indexed: int
    deleted: int


class _Committable(Protocol):
    def commit(self) -> None: ...


IndexT = TypeVar("IndexT", bound=_Committable)


class FeedConsumer(Generic[IndexT]):
    """Reads the feed after its cursor in batches, applies each batch (`_apply`), commits, then moves the cursor."""

    def __init__(
        self,
        feed: ChangeFeed,
        index: IndexT,
        name: str = "index",
        *,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> None:
        self.feed = feed
        self.index = index
        self.name = name
        self.on_progress = on_progress
        self._position: int | None = None
        self._target = 0
        self._pending = self._read = self._indexed = self._deleted = 0

    def _apply(self, changes: Sequence[Change]) -> tuple[int, int]:
        """Apply a batch; returns (documents written, documents removed)."""
        raise NotImplementedError

    def run(self, batch_size: int = 1_000, commit_every: int = 50_000, limit: int | None = None) -> int:
        """Apply every change after this consumer's cursor (at most `limit` changes) and commit; returns how many it
        read. It starts from the cursor the feed stores, so a run after a failed one reads again what was lost."""
        self._restart()
        read = self.apply_new(batch_size, commit_every, limit)
        self.commit_applied()
        return read

    def apply_new(self, batch_size: int = 1_000, commit_every: int = 50_000, limit: int | None = None) -> int:
        """Apply the changes after this consumer's position (at most `limit`); returns how many it read.

        Unlike `run` it leaves the last `commit_every` changes or fewer uncommitted (`pending`): a consumer that
        follows a feed while it is written calls this whenever changes arrive and `commit_applied` when it chooses,
        so it pays for a commit (a new index segment, later merged) every few seconds instead of every poll. The
        position lives in this object; the stored cursor moves only with `commit_applied`."""
        if batch_size < 1 or commit_every < 1:
            raise ValueError("batch_size and commit_every must be at least 1")
        if self._position is None:
            self._restart()
        assert self._position is not None
        self._target = self.feed.last_seq()
        read = 0
        while limit is None or read < limit:
            wanted = batch_size if limit is None else min(batch_size, limit - read)
            changes = self.feed.changes_since(self._position, wanted)
            if not changes:
                break
            with _no_cycle_collection():
                written, removed = self._apply(changes)
            self._indexed += written
            self._deleted += removed
            self._read += len(changes)
            self._pending += len(changes)
            read += len(changes)
            self._position = changes[-1].seq
            if self._pending >= commit_every:
                self.commit_applied()
        return read

    @property
    def pending(self) -> int:
        """Changes applied to the index but not committed yet."""
        return self._pending

    def commit_applied(self) -> int:
        """Commit the index, *then* store the cursor of what was applied; returns how many changes that made durable
        (0, doing nothing, when none were pending)."""
        if not self._pending or self._position is None:
            return 0
        cursor, committed = self._position, self._pending
        self.index.commit()
        self.feed.set_cursor(self.name, cursor)
        self._pending = 0
        log.info("index consumer %s: at change %d of %d (%d read, %d indexed, %d removed)",
                 self.name, cursor, self._target, self._read, self._indexed, self._deleted)  # fmt: skip
        if self.on_progress is not None:
            self.on_progress(Progress(cursor, max(self._target, cursor), self._read, self._indexed, self._deleted))
        return committed

    def _restart(self) -> None:
        """Continue from the stored cursor, forgetting what was applied but not committed (applying it again gives
        the same index: every change is applied as "make the document equal the catalogue's record")."""
        self._position = self.feed.cursor(self.name)
        self._target = self.feed.last_seq()
        self._pending = self._read = self._indexed = self._deleted = 0


class IndexConsumer(FeedConsumer[WritableIndex]):
    """The change-feed consumer of a per-record store (the RDF graph): one record, one entry."""

    def _apply(self, changes: Sequence[Change]) -> tuple[int, int]:
        newest = _newest(changes)
        upserts = [record_id for record_id, change in newest.items() if change.kind == "upsert"]
        live = self.feed.records(upserts) if upserts else {}
        gone = [record_id for record_id in newest if record_id not in live]
        removed = self.index.delete(gone) if gone else 0
        written = self.index.index(live[record_id] for record_id in upserts if record_id in live)
        return written, removed


class SearchIndexConsumer(FeedConsumer[DocumentIndex]):
    """The change-feed consumer of the search index: one document per record cluster (see the module doc)."""

    def __init__(
        self,
        feed: ClusteredFeed,
        index: DocumentIndex,
        name: str = "index",
        *,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> None:
        super().__init__(feed, index, name, on_progress=on_progress)
        self.clustered_feed = feed

    def _apply(self, changes: Sequence[Change]) -> tuple[int, int]:
        changed = list(_newest(changes))
        clusters = self.clustered_feed.clusters(changed)
        members_of = {record_id: tuple(clusters.get(record_id, (record_id,))) for record_id in changed}
        wanted = sorted({member for members in members_of.values() for member in members})
        entries = member_entries(self.clustered_feed, wanted)
        documents: list[dict[str, Any]] = []
        rendered: set[tuple[str, ...]] = set()
        for members in members_of.values():
            if members in rendered:
                continue
            rendered.add(members)
            present = [entries[m] for m in members if m in entries]
            if present:
                documents.append(merge_members(present))
        # A record that is not its cluster's representative (any more) must not keep a document of its own.
        speaking = {document[ID_FIELD] for document in documents}
        stale: list[Any] = sorted(set(wanted) - speaking)
        if getattr(self.index, "external_versions", False):
            # The batch's last sequence number as each write's version: a store that keeps versions (Elasticsearch)
            # then never lets a late, older write replace what a newer batch wrote.
            version = max(change.seq for change in changes)
            for document in documents:
                document[VERSION_KEY] = version
            stale = [(record_id, version) for record_id in stale]
        removed = self.index.delete(stale) if stale else 0
        written = self.index.index_documents(documents)
        return written, removed


def member_entries(feed: ClusteredFeed, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The live records' cluster-document entries (`indexer.document.member_entry`): those the catalogue keeps and
    this code built, as kept; the others built from the records. Records not live are absent."""
    kept = feed.index_entries(ids, DOCUMENT_FINGERPRINT)
    entries = {record_id: orjson.loads(entry) for record_id, entry in kept.items()}
    missing = [record_id for record_id in ids if record_id not in entries]
    if missing:
        for record_id, record in feed.records(missing).items():
            entries[record_id] = member_entry(record)
    return entries


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """The cyclic garbage collector paused while a batch is applied.

    A batch is thousands of JSON trees (the members' entries) and the documents built from them: about 100,000
    containers that live until the batch ends, none in a cycle, all freed by reference counting. With the collector
    on, every few ten thousand allocations it walks all of them again, for nothing: 4 % of the index follower's CPU
    on 20k generated Zenodo records (perf), 11 % when the entries are built from the records (after a change to the
    document code). Paused, it runs after the batch, when they are gone."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _newest(changes: Iterable[Change]) -> dict[str, Change]:
    """Only the newest change of a record in a batch matters: the feed gives the record's current content."""
    newest: dict[str, Change] = {}
    for change in changes:
        newest.pop(change.record_id, None)
        newest[change.record_id] = change
    return newest
