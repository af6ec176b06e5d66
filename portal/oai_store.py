"""What the OAI-PMH provider lists, kept beside the catalogue: every record's datestamp, deletion and sets.

The catalogue holds records as compressed model JSON, without an index on `updated_at` and without set membership,
so listing "records of experiment CMS changed since Tuesday, in datestamp order" straight from it would read and
decode the whole catalogue for every page. The provider keeps its own small SQLite file in the dmlake home
(`oai.sqlite`) with, per record, its datestamp (the catalogue row's `updated_at`, to the microsecond), whether it
is deleted (tombstoned) and which formats it cannot be written in, and per set the (stamp, record) pairs of its
members: each page is then one index range scan, whatever the catalogue's size.

It is a consumer of the change feed like the search index: it remembers the last sequence number it applied (in the
same transaction as what it applied) and, before answering, applies whatever the feed gained since, in one
transaction, so that no answer sees the index half-way. Re-applying a change is harmless (it reads the record's
current row), so a crash loses nothing. Several processes serving one home share the file: one writes at a time,
and a process that finds another writing answers from the last commit rather than wait. The first use (or a store
made by another version of this module, or for another catalogue) reads the whole records table once instead of
replaying the feed. Deleted records stay, with the sets of their last version: deletions are kept for good
(Identify says `persistent`).
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select

from harvester import codec
from harvester.catalogue import Catalogue
from harvester.schema import records as records_table
from ontology.model import Record
from portal.oai_sets import SetOf, sets_of_stored, specs_with_groups

log = logging.getLogger(__name__)

STORE_FILE = "oai.sqlite"
STORE_VERSION = "1"
"""Bump when what is derived from a record changes (sets, writability): the store is then rebuilt."""
BATCH = 1000
WRITE_WAIT_SECONDS = 2.0
"""How long a request waits for another process writing the index before answering from its last commit."""
WHOLE_REPOSITORY = ""
"""The membership spec every item has: listing without a set is listing this one."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    record_id TEXT PRIMARY KEY,
    stamp TEXT NOT NULL,
    deleted INTEGER NOT NULL,
    unwritable TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS memberships (
    spec TEXT NOT NULL,
    stamp TEXT NOT NULL,
    record_id TEXT NOT NULL,
    PRIMARY KEY (spec, stamp, record_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS memberships_record ON memberships (record_id);
CREATE TABLE IF NOT EXISTS sets (spec TEXT PRIMARY KEY, label TEXT NOT NULL, uri TEXT);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def stamp_of(moment: datetime) -> str:
    """A sortable UTC text of a catalogue time (naive times, as SQLite returns them, are UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def datestamp(stamp: str) -> str:
    """The OAI datestamp (seconds granularity) of a stamp."""
    return stamp[:19] + "Z"


@dataclass(frozen=True)
class Item:
    record_id: str
    stamp: str
    deleted: bool


@dataclass(frozen=True)
class Content:
    """What a page needs of a catalogue row besides the item: the record and where the source said it was from."""

    record: Record
    source_updated: str | None


@dataclass(frozen=True)
class Selection:
    """A list request: which set, which formats, which datestamps (inclusive stamps)."""

    spec: str
    prefix: str
    lower: str | None
    upper: str


Unwritable = Callable[[Mapping[str, Any]], list[str]]
"""The metadata prefixes a record (its stored model JSON) cannot be written in."""


class OaiStore:
    def __init__(self, home: Path, catalogue: Catalogue, unwritable: Unwritable) -> None:
        self.path = home / STORE_FILE
        self.catalogue = catalogue
        self.unwritable = unwritable
        self._local = threading.local()
        self._writing = threading.Lock()
        self._identity = hashlib.sha256(str(catalogue.engine.url).encode()).hexdigest()[:16]
        self._connection().executescript(_SCHEMA)  # waits as long as a reader would for another process's writing
        self._writer = self._open(WRITE_WAIT_SECONDS)

    # -- keeping up with the catalogue ---------------------------------------------------------------------
    def catch_up(self) -> int:
        """Apply the feed's new changes (rebuilding first when needed) in one transaction, so that readers see the
        index before or after, never half-way; returns the changes applied. When another process is writing the
        index, answers come from what it has committed, and this process catches up on its next request."""
        with self._writing:
            last = self.catalogue.last_seq()
            if self._up_to_date(self._state(self._connection()), last):
                return 0
            try:
                with _transaction(self._writer) as conn:
                    state = self._state(conn)  # again: another process may have caught up meanwhile
                    if not self._current(state) or int(state["seq"]) > last:
                        self._rebuild(conn, last)
                        return 0
                    return self._follow(conn, int(state["seq"]), last)
            except sqlite3.OperationalError as error:
                if "locked" not in str(error):
                    raise
                log.info("the OAI-PMH index is being written by another process; answering from its last commit")
                return 0

    def _current(self, state: Mapping[str, str]) -> bool:
        return state.get("version") == STORE_VERSION and state.get("catalogue") == self._identity

    def _up_to_date(self, state: Mapping[str, str], last: int) -> bool:
        return self._current(state) and int(state.get("seq", "-1")) == last

    def _follow(self, conn: sqlite3.Connection, seq: int, last: int) -> int:
        applied = 0
        while seq < last:
            changes = self.catalogue.changes_since(seq, BATCH)
            if not changes:
                break
            seq = changes[-1].seq
            self._apply(conn, list(dict.fromkeys(c.record_id for c in changes)))
            applied += len(changes)
        _set_state(conn, {"seq": str(seq)})
        return applied

    def _rebuild(self, conn: sqlite3.Connection, last_seq: int) -> None:
        """Read every catalogue row once; changes after `last_seq` (taken before reading) are applied next time."""
        for table in ("items", "memberships", "sets", "state"):
            conn.execute(f"DELETE FROM {table}")
        after = ""
        while True:
            query = (
                select(records_table.c.id).where(records_table.c.id > after).order_by(records_table.c.id).limit(BATCH)
            )
            with self.catalogue.engine.connect() as catalogue:
                ids = [row.id for row in catalogue.execute(query)]
            if not ids:
                break
            self._apply(conn, ids)
            after = ids[-1]
        _set_state(conn, {"seq": str(last_seq), "version": STORE_VERSION, "catalogue": self._identity})

    def _apply(self, conn: sqlite3.Connection, ids: Sequence[str]) -> None:
        rows = self._catalogue_rows(ids)
        items, memberships, sets = [], [], []
        for record_id in ids:
            row = rows.get(record_id)
            if row is None:
                continue
            data, stamp, tombstoned = row
            found = sets_of_stored(data)
            prefixes = [] if tombstoned else self.unwritable(data)
            # spaces around each prefix, so that `instr` finds whole prefixes only
            items.append((record_id, stamp, int(tombstoned), f" {' '.join(prefixes)} " if prefixes else ""))
            memberships += [(spec, stamp, record_id) for spec in [WHOLE_REPOSITORY, *specs_with_groups(found)]]
            sets += [(s.spec, s.label, s.uri) for s in found]
        conn.executemany("DELETE FROM memberships WHERE record_id = ?", [(i,) for i in ids])
        conn.executemany("INSERT OR REPLACE INTO items VALUES (?, ?, ?, ?)", items)
        conn.executemany("INSERT OR IGNORE INTO memberships VALUES (?, ?, ?)", memberships)
        conn.executemany("INSERT OR REPLACE INTO sets VALUES (?, ?, ?)", sets)

    def _catalogue_rows(self, ids: Sequence[str]) -> dict[str, tuple[dict[str, Any], str, bool]]:
        """The stored model JSON (read as plain data: building the model of every record would be most of the
        work), the stamp and whether it is tombstoned, of each of `ids` still in the catalogue."""
        found: dict[str, tuple[dict[str, Any], str, bool]] = {}
        columns = [records_table.c.id, records_table.c.data, records_table.c.updated_at, records_table.c.tombstone]
        with self.catalogue.engine.connect() as conn:
            for chunk in chunks(ids, 500):
                for row in conn.execute(select(*columns).where(records_table.c.id.in_(chunk))):
                    found[row.id] = (
                        orjson.loads(codec.decompress(row.data)),
                        stamp_of(row.updated_at),
                        row.tombstone is not None,
                    )
        return found

    # -- reading -----------------------------------------------------------------------------------------------
    def earliest(self) -> str | None:
        value: str | None = self._connection().execute("SELECT min(stamp) FROM items").fetchone()[0]
        return value

    def item(self, record_id: str) -> Item | None:
        row = (
            self._connection()
            .execute("SELECT record_id, stamp, deleted FROM items WHERE record_id = ?", (record_id,))
            .fetchone()
        )
        return Item(row[0], row[1], bool(row[2])) if row else None

    def writable(self, record_id: str, prefix: str) -> bool:
        row = self._connection().execute("SELECT unwritable FROM items WHERE record_id = ?", (record_id,)).fetchone()
        return row is not None and f" {prefix} " not in row[0]

    def page(self, selection: Selection, after: tuple[str, str] | None, limit: int) -> list[Item]:
        """Up to `limit` items of a selection after a (stamp, record id), in (stamp, record id) order."""
        where, params = self._where(selection)
        if after is not None:
            where += " AND (m.stamp, m.record_id) > (?, ?)"
            params += list(after)
        rows = self._connection().execute(
            "SELECT m.record_id, m.stamp, i.deleted FROM memberships m JOIN items i ON i.record_id = m.record_id "
            f"WHERE {where} ORDER BY m.stamp, m.record_id LIMIT ?",
            [*params, limit],
        )
        return [Item(row[0], row[1], bool(row[2])) for row in rows]

    def count(self, selection: Selection) -> int:
        where, params = self._where(selection)
        row = (
            self._connection()
            .execute(
                f"SELECT count(*) FROM memberships m JOIN items i ON i.record_id = m.record_id WHERE {where}",
                params,
            )
            .fetchone()
        )
        return int(row[0])

    @staticmethod
    def _where(selection: Selection) -> tuple[str, list[str]]:
        where = "m.spec = ? AND m.stamp <= ? AND (i.deleted = 1 OR instr(i.unwritable, ?) = 0)"
        params = [selection.spec, selection.upper, f" {selection.prefix} "]
        if selection.lower is not None:
            where += " AND m.stamp >= ?"
            params.append(selection.lower)
        return where, params

    def sets_of_items(self, ids: Sequence[str]) -> dict[str, list[str]]:
        """The sets (not the groups) each item is in, in spec order."""
        found: dict[str, list[str]] = {}
        conn = self._connection()
        for chunk in chunks(ids, 500):
            marks = ",".join("?" * len(chunk))
            rows = conn.execute(
                f"SELECT record_id, spec FROM memberships WHERE record_id IN ({marks}) "
                "AND spec LIKE '%:%' ORDER BY spec",
                list(chunk),
            )
            for record_id, spec in rows:
                found.setdefault(record_id, []).append(spec)
        return found

    def sets(self) -> list[SetOf]:
        rows = self._connection().execute("SELECT spec, label, uri FROM sets ORDER BY spec")
        return [SetOf(spec, label, uri) for spec, label, uri in rows]

    def content(self, ids: Sequence[str]) -> dict[str, Content]:
        """The current records of `ids` with the source's datestamp of each (tombstoned ones included)."""
        found: dict[str, Content] = {}
        columns = [records_table.c.id, records_table.c.data, records_table.c.source_updated]
        with self.catalogue.engine.connect() as conn:
            for chunk in chunks(ids, 500):
                for row in conn.execute(select(*columns).where(records_table.c.id.in_(chunk))):
                    found[row.id] = Content(codec.decode_record(row.data), row.source_updated)
        return found

    # -- plumbing ----------------------------------------------------------------------------------------------
    @staticmethod
    def _state(conn: sqlite3.Connection) -> dict[str, str]:
        return dict(conn.execute("SELECT key, value FROM state").fetchall())

    def _connection(self) -> sqlite3.Connection:
        """This thread's reading connection (WAL: readers see the last commit and never wait for the writer)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._open(60)
        return conn

    def _open(self, wait_seconds: float) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=wait_seconds, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn


def _set_state(conn: sqlite3.Connection, values: Mapping[str, str]) -> None:
    conn.executemany("INSERT OR REPLACE INTO state VALUES (?, ?)", list(values.items()))


class _transaction:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        self.conn.execute("COMMIT" if kind is None else "ROLLBACK")


def chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
