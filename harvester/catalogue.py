"""The catalogue: current records, their history, raw payloads, the change feed, cursors and the quarantine.

Writes happen a page at a time: `commit_page` stores a page's raw payloads, upserts its records (an unchanged content
hash writes nothing), records their changes in the feed, files rejected records in the quarantine and saves the
connector's checkpoint — all in one transaction. A killed harvest therefore loses at most the page in hand, and the
next run, resuming from the checkpoint, produces the same catalogue as an uninterrupted one.

The catalogue also implements `ontology.feed.ChangeFeed` for the consumers (indexer, DOI registrar, replication).

Records are read with what replication knows of their files (`harvester.replica_ledger`): `records`, `get` and
`find` lay the ledger's replicas and the availability they give over each distribution, so the index, the record
page, the API and analysts see the same thing. The stored record and its content hash are the source's alone;
`iter_records` (exports, FAIR assessment) gives them as stored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, and_, bindparam, delete, exists, func, insert, select, update

from connectors.base import Deletion, FetchFailure, RawRecord
from harvester import bulk, codec, db, identity
from harvester.identity_rules import MatchKey
from harvester.replica_ledger import ReplicaLedger, overlay
from harvester.schema import (
    changes,
    checkpoints,
    cursors,
    file_replicas,
    listing_seen,
    pending_deletions,
    quarantine,
    raw_payloads,
    record_history,
    records,
    run_errors,
    sources,
)
from ontology import Record
from ontology.feed import Change

CHUNK = 500  # ids per IN (...) clause: well under every backend's bound-parameter limit


def now() -> datetime:
    return datetime.now(UTC)


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


_STORED_VERSIONS = select(
    records.c.id,
    records.c.content_hash,
    records.c.data,
    records.c.tombstone,
    records.c.raw_sha256,
    records.c.source_updated,
    records.c.mapping_version,
    records.c.validators,
    records.c.index_doc_version,
).where(records.c.id.in_(bindparam("ids", expanding=True)))
"""What `_upsert` compares a page's records with: built once (a statement per page coerces each id again)."""
_RAW_COLUMNS = ("sha256", "media_type", "size", "data", "first_seen")
_NEW_RECORD_COLUMNS = (  # in the table's order, which the compiled INSERT keeps
    "id",
    "source",
    "native_id",
    "content_hash",
    "data",
    "source_updated",
    "raw_sha256",
    "source_url",
    "mapping_version",
    "first_run",
    "last_run",
    "created_at",
    "updated_at",
    "validators",
    "index_doc",
    "index_doc_version",
)
_CHANGE_COLUMNS = ("record_id", "kind", "run_id", "at")


@dataclass(frozen=True)
class Mapped:
    """A raw record that mapped and passed the validation gate: what the catalogue stores of it."""

    raw: RawRecord
    record_id: str
    native_id: str
    raw_sha256: str
    mapping_version: str
    content_hash: str
    blob: bytes
    """The record, encoded for storage (`codec.encode_record`)."""
    raw_blob: bytes
    """The raw payload, compressed for the raw store (`codec.compress`): done by the mapping worker, off the
    committing thread."""
    match_keys: tuple[MatchKey, ...] = ()
    """What the record is or points to, for finding the records of the same dataset (`identity_rules.match_keys`):
    computed by the mapping worker, which holds the record."""
    index_entry: bytes = b""
    """The record's entry in search-index cluster documents, compressed JSON (`indexer.document.member_entry`),
    built by the mapping worker; empty when it was not built (the index follower then builds it from the record)."""
    index_entry_version: str | None = None
    """The fingerprint of the code that built `index_entry`."""


@dataclass(frozen=True)
class Rejected:
    """A raw record that failed mapping or validation: it goes to the quarantine, the run goes on."""

    raw: RawRecord
    stage: str
    field: str
    error_class: str
    message: str


@dataclass
class PageWork:
    """Everything one page brings, ready to commit."""

    checkpoint: dict[str, Any]
    mapped: list[Mapped] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deletions: list[Deletion] = field(default_factory=list)
    failures: list[FetchFailure] = field(default_factory=list)


@dataclass
class Counts:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    errored: int = 0
    quarantined: int = 0
    pending_deletions: int = 0

    def add(self, other: Counts) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(frozen=True)
class StoredRecord:
    """A catalogue row: the record and its bookkeeping."""

    id: str
    source: str
    native_id: str
    content_hash: str
    record: Record
    tombstone: str | None
    tombstoned_at: datetime | None
    created_at: datetime
    updated_at: datetime
    source_updated: str | None
    raw_sha256: str


@dataclass(frozen=True)
class QuarantineEntry:
    source: str
    native_id: str
    stage: str
    field: str
    error_class: str
    message: str
    raw_sha256: str | None
    run_id: int | None
    first_seen: datetime
    last_seen: datetime
    count: int


@dataclass(frozen=True)
class ListingOutcome:
    """What the end of a full listing did with the records that were not seen."""

    tombstoned: list[str]
    pending: list[str]
    live_before: int


class Catalogue:
    """The catalogue database. Thread-safe for readers; one harvest writes at a time per source."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.replicas = ReplicaLedger(engine)
        """What replication knows of each file's copies (written by `replication/`)."""

    @classmethod
    def open(cls, url: str) -> Catalogue:
        engine = db.create(url)
        db.migrate(engine)
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()

    # -- sources and checkpoints -----------------------------------------------------------------------------
    def ensure_source(self, name: str, kind: str, url: str) -> None:
        with self.engine.begin() as conn:
            row = conn.execute(select(sources.c.kind, sources.c.url).where(sources.c.name == name)).first()
            if row is None:
                conn.execute(insert(sources).values(name=name, kind=kind, url=url, first_seen=now()))
            elif (row.kind, row.url) != (kind, url):
                conn.execute(update(sources).where(sources.c.name == name).values(kind=kind, url=url))

    def checkpoint_state(self, source: str) -> tuple[dict[str, Any] | None, int | None, dict[str, Any] | None]:
        """(resume checkpoint, listing id of the listing in progress, final checkpoint of the last completed run)."""
        with self.engine.connect() as conn:
            row = conn.execute(select(checkpoints).where(checkpoints.c.source == source)).first()
        if row is None:
            return None, None, None
        return _json_or_none(row.resume), row.listing_id, _json_or_none(row.previous)

    def discard_resume(self, source: str) -> None:
        """Forget an unfinished listing (a `--full` run starts over); its seen-set goes with it."""
        with self.engine.begin() as conn:
            row = conn.execute(select(checkpoints.c.listing_id).where(checkpoints.c.source == source)).first()
            if row is not None and row.listing_id is not None:
                conn.execute(delete(listing_seen).where(listing_seen.c.listing_id == row.listing_id))
            conn.execute(update(checkpoints).where(checkpoints.c.source == source).values(resume=None, listing_id=None))

    def _save_checkpoint(
        self, conn: Connection, source: str, resume: dict[str, Any] | None, listing_id: int | None
    ) -> None:
        values = {"resume": _json_or_null(resume), "listing_id": listing_id, "updated_at": now()}
        done = conn.execute(update(checkpoints).where(checkpoints.c.source == source).values(**values))
        if done.rowcount == 0:
            conn.execute(insert(checkpoints).values(source=source, **values))

    # -- writing a page --------------------------------------------------------------------------------------
    def commit_page(self, source: str, run_id: int, work: PageWork, listing_id: int | None) -> Counts:
        """Store one page and its checkpoint atomically. `listing_id` is set when the run lists every record."""
        counts = Counts(unchanged=len(work.unchanged), errored=len(work.failures))
        stamp = now()
        with self.engine.begin() as conn:
            self._store_raw(conn, work.mapped, work.rejected, stamp)
            touched = self._upsert(conn, source, run_id, work.mapped, stamp, counts)
            keys = {m.record_id: m.match_keys for m in work.mapped}
            self._quarantine(conn, source, run_id, work.rejected, stamp)
            counts.quarantined = len(work.rejected)
            for deletion in work.deletions:
                record_id = self._live_id(conn, source, deletion.native_id)
                if record_id is not None:
                    self._tombstone(conn, record_id, run_id, deletion.reason, stamp)
                    touched.append(record_id)
                    counts.deleted += 1
            identity.resolve(conn, touched, stamp, run_id, already_changed=set(touched), keys=keys)
            for failure in work.failures:
                conn.execute(
                    insert(run_errors).values(
                        run_id=run_id, native_id=failure.native_id, url=failure.url, message=failure.message, at=stamp
                    )
                )
            if listing_id is not None:
                seen = {m.raw.native_id for m in work.mapped} | {r.raw.native_id for r in work.rejected}
                seen |= set(work.unchanged) | {f.native_id for f in work.failures}
                self._mark_seen(conn, listing_id, seen)
            self._save_checkpoint(conn, source, work.checkpoint, listing_id)
        return counts

    def _store_raw(self, conn: Connection, mapped: list[Mapped], rejected: list[Rejected], stamp: datetime) -> None:
        by_hash = {m.raw_sha256: (m.raw, m.raw_blob) for m in mapped}
        for r in rejected:
            by_hash.setdefault(hashlib.sha256(r.raw.payload).hexdigest(), (r.raw, b""))
        if not by_hash:
            return
        at = bulk.stored_time(conn, stamp)
        rows = [
            (sha, raw.media_type, len(raw.payload), blob or codec.compress(raw.payload), at)
            for sha, (raw, blob) in by_hash.items()
        ]
        # Payloads are shared by content: one already stored (by an earlier run, or by another source's harvest
        # committing the same bytes now: the scheduler runs sources concurrently) is skipped by the database. Looking
        # them up first cost more than it spared: mapped payloads are nearly always new (unchanged records are not
        # fetched again, or not mapped).
        bulk.insert_rows(conn, raw_payloads, _RAW_COLUMNS, rows, ignore_on=("sha256",))

    def _upsert(
        self, conn: Connection, source: str, run_id: int, mapped: list[Mapped], stamp: datetime, counts: Counts
    ) -> list[str]:
        """Insert or update the page's records; returns the ids of those whose content changed (each has a change
        in the feed and new match keys)."""
        if not mapped:
            return []
        existing: dict[str, Any] = {}
        for chunk in _chunks([m.record_id for m in mapped]):
            existing.update({row.id: row for row in conn.execute(_STORED_VERSIONS, {"ids": list(chunk)}).all()})
        existing_before = set(existing)
        new_rows: list[tuple[Any, ...]] = []
        change_rows: list[tuple[Any, ...]] = []
        history_rows: list[dict[str, Any]] = []
        at = bulk.stored_time(conn, stamp)
        resolved: list[str] = []
        keyed: dict[str, tuple[MatchKey, ...]] = {}
        for item in mapped:
            resolved.append(item.native_id)
            bookkeeping: dict[str, Any] = {
                "raw_sha256": item.raw_sha256,
                "source_updated": item.raw.source_updated,
                "source_url": item.raw.url,
                "mapping_version": item.mapping_version,
                "validators": _validators_json(item.raw.validators),
            }
            entry = {"index_doc": item.index_entry or None, "index_doc_version": item.index_entry_version}
            if item.record_id not in existing:
                new_rows.append(
                    (
                        item.record_id,
                        source,
                        item.native_id,
                        item.content_hash,
                        item.blob,
                        bookkeeping["source_updated"],
                        bookkeeping["raw_sha256"],
                        bookkeeping["source_url"],
                        bookkeeping["mapping_version"],
                        run_id,
                        run_id,
                        at,
                        at,
                        bookkeeping["validators"],
                        entry["index_doc"],
                        entry["index_doc_version"],
                    )
                )
                change_rows.append((item.record_id, "upsert", run_id, at))
                keyed[item.record_id] = item.match_keys
                counts.added += 1
                existing[item.record_id] = None  # a page listing a record twice must not insert it twice
                continue
            row = existing[item.record_id]
            if row is None:  # second sighting within this page of a record added above
                counts.unchanged += 1
                continue
            if row.content_hash == item.content_hash and row.tombstone is None:
                counts.unchanged += 1
                if item.index_entry and row.index_doc_version != item.index_entry_version:
                    bookkeeping.update(entry)  # built by other code: refreshed with the unchanged record
                if (row.raw_sha256, row.source_updated, row.mapping_version, row.validators) != (
                    bookkeeping["raw_sha256"],
                    bookkeeping["source_updated"],
                    bookkeeping["mapping_version"],
                    bookkeeping["validators"],
                ) or "index_doc" in bookkeeping:
                    conn.execute(update(records).where(records.c.id == item.record_id).values(**bookkeeping))
                continue
            history_rows.append(
                {
                    "record_id": item.record_id,
                    "run_id": run_id,
                    "content_hash": row.content_hash,
                    "data": row.data,
                    "tombstone": row.tombstone,
                    "replaced_at": stamp,
                }
            )
            conn.execute(
                update(records)
                .where(records.c.id == item.record_id)
                .values(
                    content_hash=item.content_hash,
                    data=item.blob,
                    last_run=run_id,
                    updated_at=stamp,
                    tombstone=None,
                    tombstoned_at=None,
                    **bookkeeping,
                    **entry,
                )
            )
            change_rows.append((item.record_id, "upsert", run_id, at))
            keyed[item.record_id] = item.match_keys
            if row.tombstone is None:
                counts.updated += 1
            else:
                counts.added += 1  # a record that came back after a tombstone
        bulk.insert_rows(conn, records, _NEW_RECORD_COLUMNS, new_rows)
        if history_rows:
            conn.execute(insert(record_history), history_rows)
        bulk.insert_rows(conn, changes, _CHANGE_COLUMNS, change_rows)
        identity.store_keys(conn, {rid: keyed[rid] for rid in keyed if rid not in existing_before}, new=True)
        identity.store_keys(conn, {rid: keyed[rid] for rid in keyed if rid in existing_before})
        # Both tables are nearly always empty: one look each spares the page two DELETEs naming every record of it
        # (each id a bound parameter: most of these statements' cost).
        if conn.execute(select(exists().where(quarantine.c.source == source))).scalar():
            for chunk in _chunks(resolved):
                conn.execute(
                    delete(quarantine).where(and_(quarantine.c.source == source, quarantine.c.native_id.in_(chunk)))
                )
        if conn.execute(select(exists().where(pending_deletions.c.source == source))).scalar():
            ids = [m.record_id for m in mapped]
            for chunk in _chunks(ids):
                conn.execute(delete(pending_deletions).where(pending_deletions.c.record_id.in_(chunk)))
        return list(keyed)

    def _quarantine(
        self, conn: Connection, source: str, run_id: int, rejected: list[Rejected], stamp: datetime
    ) -> None:
        for item in rejected:
            values = {
                "stage": item.stage,
                "field": item.field,
                "error_class": item.error_class,
                "message": item.message,
                "raw_sha256": hashlib.sha256(item.raw.payload).hexdigest(),
                "source_url": item.raw.url,
                "source_updated": item.raw.source_updated,
                "run_id": run_id,
                "last_seen": stamp,
            }
            done = conn.execute(
                update(quarantine)
                .where(and_(quarantine.c.source == source, quarantine.c.native_id == item.raw.native_id))
                .values(count=quarantine.c.count + 1, **values)
            )
            if done.rowcount == 0:
                conn.execute(
                    insert(quarantine).values(
                        source=source, native_id=item.raw.native_id, first_seen=stamp, count=1, **values
                    )
                )

    def _mark_seen(self, conn: Connection, listing_id: int, native_ids: set[str]) -> None:
        # (listing, native id) is the table's key: ids already seen by this listing are skipped by the database
        rows = [(listing_id, native_id) for native_id in sorted(native_ids)]
        bulk.insert_rows(conn, listing_seen, ("listing_id", "native_id"), rows, ignore_on=("listing_id", "native_id"))

    def _live_id(self, conn: Connection, source: str, native_id: str) -> str | None:
        return conn.execute(
            select(records.c.id).where(
                and_(records.c.source == source, records.c.native_id == native_id, records.c.tombstone.is_(None))
            )
        ).scalar()

    def _tombstone(self, conn: Connection, record_id: str, run_id: int | None, reason: str, stamp: datetime) -> None:
        row = conn.execute(select(records.c.content_hash, records.c.data).where(records.c.id == record_id)).first()
        if row is None:
            return
        conn.execute(
            insert(record_history).values(
                record_id=record_id,
                run_id=run_id,
                content_hash=row.content_hash,
                data=row.data,
                tombstone=None,
                replaced_at=stamp,
            )
        )
        conn.execute(
            update(records)
            .where(records.c.id == record_id)
            .values(tombstone=reason, tombstoned_at=stamp, updated_at=stamp, last_run=run_id)
        )
        conn.execute(insert(changes).values(record_id=record_id, kind="delete", run_id=run_id, at=stamp))
        conn.execute(delete(pending_deletions).where(pending_deletions.c.record_id == record_id))
        identity.drop_keys(conn, [record_id])

    # -- ending a run ----------------------------------------------------------------------------------------
    def finish_listing(
        self,
        source: str,
        run_id: int,
        listing_id: int,
        complete: bool,
        final_checkpoint: dict[str, Any],
        max_deletion_fraction: float,
        confirm_deletions: bool = False,
    ) -> ListingOutcome:
        """Close a completed run: tombstone what a full listing did not see (within the guard), save the watermark.

        `complete` says the connector listed every record of the source in this listing (its last page said so);
        only then do records missing from the seen-set count as gone.

        When the records that disappeared exceed `max_deletion_fraction` of the live ones, nothing is tombstoned:
        they wait in `pending_deletions` for a data manager (`dmlake deletions confirm SOURCE`), unless
        `confirm_deletions` says the operator already agreed.
        """
        stamp = now()
        tombstoned: list[str] = []
        pending: list[str] = []
        live = 0
        with self.engine.begin() as conn:
            if complete:
                live = conn.execute(
                    select(func.count()).where(and_(records.c.source == source, records.c.tombstone.is_(None)))
                ).scalar_one()
                seen = select(listing_seen.c.native_id).where(listing_seen.c.listing_id == listing_id)
                gone = list(
                    conn.execute(
                        select(records.c.id)
                        .where(
                            and_(
                                records.c.source == source,
                                records.c.tombstone.is_(None),
                                records.c.native_id.not_in(seen),
                            )
                        )
                        .order_by(records.c.id)
                    ).scalars()
                )
                if gone and not confirm_deletions and len(gone) > max_deletion_fraction * live:
                    pending = gone
                    conn.execute(delete(pending_deletions).where(pending_deletions.c.source == source))
                    conn.execute(
                        insert(pending_deletions),
                        [{"record_id": r, "source": source, "run_id": run_id, "detected_at": stamp} for r in gone],
                    )
                else:
                    for record_id in gone:
                        self._tombstone(
                            conn, record_id, run_id, f"no longer listed by the source (run {run_id})", stamp
                        )
                    tombstoned = gone
                    identity.resolve(conn, gone, stamp, run_id, already_changed=set(gone))
            conn.execute(delete(listing_seen).where(listing_seen.c.listing_id == listing_id))
            values = {
                "resume": None,
                "listing_id": None,
                "previous": _json_or_null(final_checkpoint),
                "previous_run": run_id,
                "updated_at": stamp,
            }
            done = conn.execute(update(checkpoints).where(checkpoints.c.source == source).values(**values))
            if done.rowcount == 0:
                conn.execute(insert(checkpoints).values(source=source, **values))
        return ListingOutcome(tombstoned, pending, live)

    def confirm_pending_deletions(self, source: str, run_id: int | None = None) -> list[str]:
        """Tombstone the disappearances held back by the guard for a source."""
        stamp = now()
        with self.engine.begin() as conn:
            ids = list(
                conn.execute(
                    select(pending_deletions.c.record_id)
                    .where(pending_deletions.c.source == source)
                    .order_by(pending_deletions.c.record_id)
                ).scalars()
            )
            for record_id in ids:
                self._tombstone(conn, record_id, run_id, "no longer listed by the source (confirmed)", stamp)
            identity.resolve(conn, ids, stamp, run_id, already_changed=set(ids))
        return ids

    def reject_pending_deletions(self, source: str) -> int:
        with self.engine.begin() as conn:
            return conn.execute(delete(pending_deletions).where(pending_deletions.c.source == source)).rowcount

    def pending_deletions(self, source: str | None = None) -> list[tuple[str, str, datetime]]:
        query = select(pending_deletions.c.source, pending_deletions.c.record_id, pending_deletions.c.detected_at)
        if source:
            query = query.where(pending_deletions.c.source == source)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(pending_deletions.c.record_id))
            return [(r.source, r.record_id, r.detected_at) for r in rows]

    # -- reading ---------------------------------------------------------------------------------------------
    def known_stamps(self, source: str, native_ids: Sequence[str]) -> dict[str, str | None]:
        """For incremental listings: the source stamps we hold for live records among `native_ids`."""
        # Tombstones are filtered here, not in SQL: with `tombstone IS NULL` in the WHERE clause SQLite plans the
        # (source, tombstone) index and scans every live record of the source per chunk.
        with self.engine.connect() as conn:
            rows = bulk.select_in(
                conn, records, ("native_id", "source_updated", "tombstone"), "native_id", native_ids, source=source
            )
        return {native_id: stamp for native_id, stamp, tombstone in rows if tombstone is None}

    def known_validators(
        self, source: str, native_ids: Sequence[str], mapping_version: str
    ) -> dict[str, dict[str, str]]:
        """For conditional GET: the HTTP validators stored with live records among `native_ids`.

        A validator is only worth a 304 if the catalogue holds what it validates: it is written with its record's
        payload in one transaction (`commit_page`), so a record whose commit was lost has none (or those of the
        copy that did commit). A tombstone's validators are not offered (the record must come back in full), nor
        those of a record mapped by another mapping version (a 304 would keep the old mapping of it).
        """
        found: dict[str, dict[str, str]] = {}
        columns = ("native_id", "validators", "tombstone", "mapping_version")
        with self.engine.connect() as conn:
            # Filtered here, not in SQL, for the reason given in `known_stamps`
            rows = bulk.select_in(conn, records, columns, "native_id", native_ids, source=source)
        for native_id, validators, tombstone, version in rows:
            if tombstone is None and validators and version == mapping_version:
                found[native_id] = orjson.loads(validators)
        return found

    def get(self, record_id: str, *, with_replicas: bool = True) -> StoredRecord | None:
        """The record (tombstoned or not), its distributions overlaid with the ledger's replicas unless told not to."""
        with self.engine.connect() as conn:
            row = conn.execute(select(records).where(records.c.id == record_id)).first()
        return None if row is None else self._with_replicas(_stored(row), with_replicas)

    def find(self, source: str, native_id: str, *, with_replicas: bool = True) -> StoredRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(records).where(and_(records.c.source == source, records.c.native_id == native_id))
            ).first()
        return None if row is None else self._with_replicas(_stored(row), with_replicas)

    def _with_replicas(self, stored: StoredRecord, wanted: bool) -> StoredRecord:
        if not wanted or not stored.record.distributions:
            return stored
        known = self.replicas.for_records([stored.id]).get(stored.id)
        if not known:
            return stored
        return replace(stored, record=overlay(stored.record, known))

    def iter_records(
        self, source: str | None = None, include_tombstones: bool = False, batch: int = 1000
    ) -> Iterator[StoredRecord]:
        """Every record in id order, streamed in batches (memory stays flat whatever the catalogue size)."""
        last = ""
        while True:
            query = select(records).where(records.c.id > last).order_by(records.c.id).limit(batch)
            if source is not None:
                query = query.where(records.c.source == source)
            if not include_tombstones:
                query = query.where(records.c.tombstone.is_(None))
            with self.engine.connect() as conn:
                rows = list(conn.execute(query))
            if not rows:
                return
            for row in rows:
                yield _stored(row)
            last = rows[-1].id

    def iter_ids(self, batch: int = 5000) -> Iterator[str]:
        """The ids of every live record in id order, streamed (nothing decoded)."""
        last = ""
        while True:
            query = select(records.c.id).where(and_(records.c.id > last, records.c.tombstone.is_(None)))
            with self.engine.connect() as conn:
                ids = list(conn.execute(query.order_by(records.c.id).limit(batch)).scalars())
            if not ids:
                return
            yield from ids
            last = ids[-1]

    def count(self, source: str | None = None, include_tombstones: bool = False) -> int:
        query = select(func.count()).select_from(records)
        if source is not None:
            query = query.where(records.c.source == source)
        if not include_tombstones:
            query = query.where(records.c.tombstone.is_(None))
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def raw_payload(self, sha256: str) -> tuple[bytes, str] | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(raw_payloads.c.data, raw_payloads.c.media_type).where(raw_payloads.c.sha256 == sha256)
            ).first()
        return None if row is None else (codec.decompress(row.data), row.media_type)

    def quarantined(self, source: str | None = None) -> list[QuarantineEntry]:
        query = select(quarantine).order_by(quarantine.c.source, quarantine.c.native_id)
        if source:
            query = query.where(quarantine.c.source == source)
        with self.engine.connect() as conn:
            return [
                QuarantineEntry(
                    r.source,
                    r.native_id,
                    r.stage,
                    r.field,
                    r.error_class,
                    r.message,
                    r.raw_sha256,
                    r.run_id,
                    r.first_seen,
                    r.last_seen,
                    r._mapping["count"],
                )
                for r in conn.execute(query)
            ]

    # -- the change feed (ontology.feed.ChangeFeed) ----------------------------------------------------------
    def changes_since(self, seq: int, limit: int) -> list[Change]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(changes.c.seq, changes.c.record_id, changes.c.kind)
                .where(changes.c.seq > seq)
                .order_by(changes.c.seq)
                .limit(limit)
            )
            return [Change(row.seq, row.record_id, row.kind) for row in rows]

    def records(self, ids: Sequence[str], *, with_replicas: bool = True) -> dict[str, Record]:
        """Live records among `ids`, their distributions overlaid with the ledger's replicas unless told not to."""
        found: dict[str, Record] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(list(ids)):
                rows = conn.execute(
                    select(records.c.id, records.c.data).where(
                        and_(records.c.id.in_(chunk), records.c.tombstone.is_(None))
                    )
                )
                found.update({row.id: codec.decode_record(row.data) for row in rows})
        if with_replicas and found:
            known = self.replicas.for_records(list(found))
            for rid, replicas in known.items():
                found[rid] = overlay(found[rid], replicas)
        return found

    def index_entries(self, ids: Sequence[str], version: str) -> dict[str, bytes]:
        """Kept entries of live records among `ids` built by code of `version`. A record replication knows copies of
        has none: its kept entry shows the files as the source has them, so the consumer renders it from `records`,
        which carries the replicas."""
        found: dict[str, bytes] = {}
        replicated = exists().where(file_replicas.c.record_id == records.c.id)
        with self.engine.connect() as conn:
            for chunk in _chunks(list(ids)):
                rows = conn.execute(
                    select(records.c.id, records.c.index_doc).where(
                        and_(
                            records.c.id.in_(chunk),
                            records.c.index_doc_version == version,
                            records.c.tombstone.is_(None),
                            ~replicated,
                        )
                    )
                )
                found.update({row.id: codec.decompress(row.index_doc) for row in rows if row.index_doc})
        return found

    def cursor(self, consumer: str) -> int:
        with self.engine.connect() as conn:
            value = conn.execute(select(cursors.c.seq).where(cursors.c.consumer == consumer)).scalar()
        return int(value or 0)

    def set_cursor(self, consumer: str, seq: int) -> None:
        with self.engine.begin() as conn:
            done = conn.execute(update(cursors).where(cursors.c.consumer == consumer).values(seq=seq, updated_at=now()))
            if done.rowcount == 0:
                conn.execute(insert(cursors).values(consumer=consumer, seq=seq, updated_at=now()))

    def last_seq(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.max(changes.c.seq))).scalar() or 0)

    # -- identity (harvester.identity) -------------------------------------------------------------------------
    def clusters(self, ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
        """For each of `ids` in a cluster of two or more live records, the members' ids (sorted); others absent."""
        with self.engine.connect() as conn:
            return identity.cluster_members(conn, ids)

    def cluster(self, record_id: str) -> identity.Cluster:
        with self.engine.connect() as conn:
            return identity.cluster(conn, record_id)

    def identity_links(
        self, rule: str | None = None, undone: bool | None = None, limit: int = 1000
    ) -> list[identity.Link]:
        with self.engine.connect() as conn:
            return identity.links(conn, rule, undone, limit)

    def undo_link(self, link_id: int, reason: str) -> set[str]:
        """Undo a merge for good (the matcher will not make it again); returns the records whose cluster changed."""
        with self.engine.begin() as conn:
            return identity.undo_link(conn, link_id, reason, now())

    def redo_link(self, link_id: int) -> set[str]:
        with self.engine.begin() as conn:
            return identity.redo_link(conn, link_id, now())

    def rebuild_identities(self) -> int:
        """Recompute every record's match keys and recluster (after the rules changed); undone merges stay undone."""
        with self.engine.begin() as conn:
            return identity.rebuild(conn, now())

    def consumer_lags(self) -> dict[str, int]:
        last = self.last_seq()
        with self.engine.connect() as conn:
            return {row.consumer: last - row.seq for row in conn.execute(select(cursors))}

    # -- re-mapping stored payloads (harvester.remap) ----------------------------------------------------------
    def store_remapped(self, source: str, run_id: int, mapped: list[Mapped], rejected: list[Rejected]) -> Counts:
        """Store records mapped again from the raw store, in one transaction, through the harvest's own write path:
        changed records are upserted with their change in the feed and their identity keys, unchanged ones write
        nothing, records that map now leave the quarantine and those that still fail stay in it with the new error.

        Unlike `commit_page` nothing was fetched: no checkpoint moves, no listing is marked seen, and disappearances
        awaiting confirmation stay pending (re-mapping a record is no sign that its source still lists it).
        """
        counts = Counts()
        stamp = now()
        with self.engine.begin() as conn:
            held: list[Any] = []
            for chunk in _chunks([m.record_id for m in mapped]):
                held.extend(conn.execute(select(pending_deletions).where(pending_deletions.c.record_id.in_(chunk))))
            self._store_raw(conn, mapped, rejected, stamp)
            touched = self._upsert(conn, source, run_id, mapped, stamp, counts)
            keys = {m.record_id: m.match_keys for m in mapped}
            self._quarantine(conn, source, run_id, rejected, stamp)
            counts.quarantined = len(rejected)
            identity.resolve(conn, touched, stamp, run_id, already_changed=set(touched), keys=keys)
            if held:
                conn.execute(insert(pending_deletions), [dict(row._mapping) for row in held])
        return counts


def _stored(row: Any) -> StoredRecord:
    return StoredRecord(
        id=row.id,
        source=row.source,
        native_id=row.native_id,
        content_hash=row.content_hash,
        record=codec.decode_record(row.data),
        tombstone=row.tombstone,
        tombstoned_at=row.tombstoned_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        source_updated=row.source_updated,
        raw_sha256=row.raw_sha256,
    )


def _validators_json(validators: Mapping[str, str] | None) -> str | None:
    """Validators as stored: compact JSON with sorted keys (so equal validators compare equal as text)."""
    if not validators:
        return None
    return orjson.dumps(dict(validators), option=orjson.OPT_SORT_KEYS).decode()


def _json_or_none(text: str | None) -> dict[str, Any] | None:
    return None if text is None else orjson.loads(text)


def _json_or_null(data: Mapping[str, Any] | None) -> str | None:
    return None if data is None else orjson.dumps(data).decode()
