"""The records a replica serves: a fixed base (corpus records or a generator) plus an overlay of edits.

The base is indexed 0..N-1 in the source's own listing order and is never held in memory as a whole when it is
generated (a million records cost nothing until asked for). Edits made by tests or the demo (`edit`, `delete`)
live in the overlay: an edited record gets a new revision and a fresh modification stamp, a deleted one answers
as gone. Everything is thread-safe, since the replica server handles requests concurrently.
"""

from __future__ import annotations

import bisect
import copy
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol


class RecordBase(Protocol):
    """A fixed, ordered collection of source records."""

    def __len__(self) -> int: ...

    def native_id(self, index: int) -> str:
        """The source's id of the record at `index`."""
        ...

    def record(self, index: int) -> dict[str, Any]:
        """The record at `index`, as the source holds it (a fresh dict: callers may change it)."""
        ...

    def updated(self, index: int) -> datetime:
        """When the source last changed the record at `index` (before any overlay edit)."""
        ...

    def index_of(self, native_id: str) -> int | None:
        """The index of a native id, or None if the base has no such record."""
        ...


@dataclass(frozen=True)
class ListBase:
    """A base held in memory: corpus records, sorted by a key the replica chooses."""

    records: Sequence[dict[str, Any]]
    ids: Sequence[str]
    stamps: Sequence[datetime]

    @classmethod
    def build(
        cls,
        records: Iterable[dict[str, Any]],
        native_id: Callable[[dict[str, Any]], str],
        stamp: Callable[[dict[str, Any]], datetime],
        sort_key: Callable[[str], Any] = lambda native: native,
    ) -> ListBase:
        unique: dict[str, dict[str, Any]] = {}
        for record in records:
            unique[native_id(record)] = record
        ordered = sorted(unique.items(), key=lambda item: sort_key(item[0]))
        return cls([r for _, r in ordered], [i for i, _ in ordered], [stamp(r) for _, r in ordered])

    def __len__(self) -> int:
        return len(self.records)

    def native_id(self, index: int) -> str:
        return self.ids[index]

    def record(self, index: int) -> dict[str, Any]:
        return copy.deepcopy(self.records[index])

    def updated(self, index: int) -> datetime:
        return self.stamps[index]

    def index_of(self, native_id: str) -> int | None:
        if not hasattr(self, "_positions"):
            object.__setattr__(self, "_positions", {n: i for i, n in enumerate(self.ids)})
        return self._positions.get(native_id)  # type: ignore[attr-defined]


Reviser = Callable[[dict[str, Any], int, datetime], dict[str, Any]]
"""Turns a base record into its edited revision `rev` (≥ 1) made at a time: the replica decides what changes."""


@dataclass(frozen=True)
class Entry:
    """One live record of a replica."""

    index: int
    native_id: str
    revision: int
    updated: datetime


class ReplicaStore:
    """A base plus edits; what a replica reads to answer requests."""

    def __init__(self, base: RecordBase, revise: Reviser) -> None:
        self.base = base
        self._revise = revise
        self._revisions: dict[int, tuple[int, datetime]] = {}
        self._deleted: dict[int, datetime] = {}
        self._deleted_sorted: list[int] = []
        self._lock = threading.RLock()

    # -- reading ---------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        """Live records (deleted ones excluded)."""
        return len(self.base) - len(self._deleted)

    def entry(self, index: int) -> Entry | None:
        """The live record at a base index, or None if deleted or out of range."""
        if not 0 <= index < len(self.base) or index in self._deleted:
            return None
        revision, stamp = self._revisions.get(index, (0, self.base.updated(index)))
        return Entry(index, self.base.native_id(index), revision, stamp)

    def find(self, native_id: str) -> Entry | None:
        index = self.base.index_of(native_id)
        return None if index is None else self.entry(index)

    def deleted_at(self, native_id: str) -> datetime | None:
        """When a record of the base was deleted through the overlay (None: live or never existed)."""
        index = self.base.index_of(native_id)
        return None if index is None else self._deleted.get(index)

    def record(self, entry: Entry) -> dict[str, Any]:
        """The record's content at its current revision."""
        data = self.base.record(entry.index)
        if entry.revision:
            data = self._revise(data, entry.revision, entry.updated)
        return data

    def entries(self, start: int = 0, stop: int | None = None) -> Iterator[Entry]:
        """Live records with base index in [start, stop), in base order."""
        stop = len(self.base) if stop is None else min(stop, len(self.base))
        for index in range(max(0, start), stop):
            entry = self.entry(index)
            if entry is not None:
                yield entry

    def live_rank(self, index: int) -> int:
        """How many live records come before base index `index` (for offset paging over live records)."""
        with self._lock:
            return index - bisect.bisect_left(self._deleted_sorted, index)

    def index_at_rank(self, rank: int) -> int:
        """The base index of the live record at 0-based position `rank` in listing order (may be past the end)."""
        with self._lock:
            index = rank
            while True:
                # the live record of rank r sits at r + (deleted indices at or before it)
                candidate = rank + bisect.bisect_right(self._deleted_sorted, index)
                if candidate == index:
                    return index
                index = candidate

    def changed_since(self, when: datetime) -> list[Entry]:
        """Live records changed by the overlay after `when` (base stamps are checked by the replica itself)."""
        with self._lock:
            return [e for i in sorted(self._revisions) if (e := self.entry(i)) is not None and e.updated > when]

    def deleted_since(self, when: datetime) -> list[tuple[str, datetime]]:
        with self._lock:
            return [(self.base.native_id(i), t) for i, t in sorted(self._deleted.items()) if t > when]

    # -- editing ---------------------------------------------------------------------------------------------
    def edit(self, native_ids: Iterable[str], when: datetime | None = None) -> list[str]:
        """Give records a new revision; returns the ids edited (unknown or deleted ids are skipped)."""
        when = when or datetime.now(UTC)
        done = []
        with self._lock:
            for native_id in native_ids:
                index = self.base.index_of(native_id)
                if index is None or index in self._deleted:
                    continue
                revision = self._revisions.get(index, (0, when))[0] + 1
                self._revisions[index] = (revision, when)
                done.append(native_id)
        return done

    def delete(self, native_ids: Iterable[str], when: datetime | None = None) -> list[str]:
        when = when or datetime.now(UTC)
        done = []
        with self._lock:
            for native_id in native_ids:
                index = self.base.index_of(native_id)
                if index is None or index in self._deleted:
                    continue
                self._deleted[index] = when
                bisect.insort(self._deleted_sorted, index)
                done.append(native_id)
        return done

    def sample_ids(self, count: int, seed: int = 0) -> list[str]:
        """`count` live native ids spread evenly over the listing (deterministic, for tests and the demo)."""
        total = len(self.base)
        if count <= 0 or total == 0:
            return []
        step = max(1, total // count)
        picked: list[str] = []
        index = (seed % step) if step > 1 else 0
        while len(picked) < count and index < total:
            if index not in self._deleted:
                picked.append(self.base.native_id(index))
            index += step
        return picked
