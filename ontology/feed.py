"""The change feed as its consumers see it (indexer, DOI registrar, replication, RDF store).

The harvester owns the feed; consumers depend only on this protocol, so none of them imports the harvester.
Each consumer keeps its own cursor (the last sequence number it has fully processed) and must be idempotent:
after a crash it processes again the changes after its cursor, some of which it may already have applied.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from ontology.model import Record

ChangeKind = Literal["upsert", "delete"]


@dataclass(frozen=True)
class Change:
    seq: int
    record_id: str
    kind: ChangeKind


class ChangeFeed(Protocol):
    def changes_since(self, seq: int, limit: int) -> Sequence[Change]:
        """Changes with sequence number > `seq`, oldest first, at most `limit`."""
        ...

    def records(self, ids: Sequence[str]) -> Mapping[str, Record]:
        """The current content of live (not tombstoned) records among `ids`."""
        ...

    def cursor(self, consumer: str) -> int:
        """The consumer's last fully processed sequence number (0 if it never ran)."""
        ...

    def set_cursor(self, consumer: str, seq: int) -> None: ...

    def last_seq(self) -> int:
        """The newest sequence number in the feed."""
        ...


class ClusteredFeed(ChangeFeed, Protocol):
    """A change feed that also knows which records describe the same dataset (the search index shows each once)."""

    def clusters(self, ids: Sequence[str]) -> Mapping[str, Sequence[str]]:
        """For each of `ids` in a cluster of two or more live records, every member's id (sorted); others absent."""
        ...

    def index_entries(self, ids: Sequence[str], version: str) -> Mapping[str, bytes]:
        """The search-index entries (JSON) kept with live records among `ids` and built by code of `version`;
        records without one (or with one of another version) are absent: the consumer builds theirs."""
        ...
