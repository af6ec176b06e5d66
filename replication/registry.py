"""What the replicator has done, kept in the home (`HOME/replication/registry.sqlite`).

Rucio is the truth about DIDs, attachments and rules; this is the replicator's memory of it, so that an unchanged
record costs no Rucio call (the ledger's own "upsert" changes come back through the feed), the state sync knows
which releases to look at, and a tombstoned release is remembered until its copies are gone. Losing the file loses
nothing that matters: the next run registers again, and every registration step recognises what already exists.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS releases (
    record_id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    scope TEXT NOT NULL,
    dataset TEXT NOT NULL,
    container_scope TEXT NOT NULL,
    container TEXT NOT NULL,
    fingerprint TEXT,
    live INTEGER NOT NULL DEFAULT 1,
    tombstoned_at REAL,
    retired INTEGER NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS files (
    record_id TEXT NOT NULL,
    file_name TEXT NOT NULL,
    scope TEXT NOT NULL,
    did TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    adler32 TEXT NOT NULL,
    md5 TEXT NOT NULL,
    catalogue_checksum TEXT,
    portal_url TEXT,
    PRIMARY KEY (record_id, file_name)
);
CREATE TABLE IF NOT EXISTS failures (
    record_id TEXT NOT NULL,
    file_name TEXT NOT NULL,
    message TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (record_id, file_name)
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS verified (
    record_id TEXT NOT NULL,
    file_name TEXT NOT NULL,
    site TEXT NOT NULL,
    url TEXT NOT NULL,
    ok INTEGER NOT NULL,
    detail TEXT,
    at REAL NOT NULL,
    PRIMARY KEY (record_id, file_name, site)
);
"""


@dataclass(frozen=True)
class ReleaseRow:
    record_id: str
    source: str
    scope: str
    dataset: str
    container_scope: str
    container: str
    fingerprint: str | None
    live: bool
    tombstoned_at: float | None
    retired: bool


@dataclass(frozen=True)
class FileRow:
    record_id: str
    file_name: str
    scope: str
    did: str
    bytes: int
    adler32: str
    md5: str
    catalogue_checksum: str | None
    """`algorithm:value` as the catalogue had it when the file was staged and verified; None: it had none."""
    portal_url: str | None


@dataclass(frozen=True)
class Verification:
    url: str
    ok: bool
    detail: str | None


class Registry:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, timeout=60)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    # -- releases -------------------------------------------------------------------------------------------
    def release(self, record_id: str) -> ReleaseRow | None:
        row = self._db.execute(
            "SELECT record_id, source, scope, dataset, container_scope, container, fingerprint, live, tombstoned_at, "
            "retired FROM releases WHERE record_id = ?",
            (record_id,),
        ).fetchone()
        return _release(row) if row else None

    def releases(self, include_retired: bool = False) -> list[ReleaseRow]:
        where = "" if include_retired else " WHERE retired = 0"
        rows = self._db.execute(
            "SELECT record_id, source, scope, dataset, container_scope, container, fingerprint, live, tombstoned_at, "
            f"retired FROM releases{where} ORDER BY record_id"
        )
        return [_release(r) for r in rows]

    def fingerprints(self, ids: Sequence[str]) -> dict[str, tuple[str | None, bool]]:
        """(fingerprint, live) of the known releases among `ids`: the feed's cheap no-op test."""
        found: dict[str, tuple[str | None, bool]] = {}
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            query = f"SELECT record_id, fingerprint, live FROM releases WHERE record_id IN ({marks})"
            for rid, fingerprint, live in self._db.execute(query, chunk):
                found[rid] = (fingerprint, bool(live))
        return found

    def save_release(self, row: ReleaseRow) -> None:
        self._db.execute(
            "INSERT INTO releases (record_id, source, scope, dataset, container_scope, container, fingerprint, live, "
            "tombstoned_at, retired, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (record_id) DO UPDATE SET source = excluded.source, scope = excluded.scope, "
            "dataset = excluded.dataset, container_scope = excluded.container_scope, container = excluded.container, "
            "fingerprint = excluded.fingerprint, live = excluded.live, tombstoned_at = excluded.tombstoned_at, "
            "retired = excluded.retired, updated_at = excluded.updated_at",
            (row.record_id, row.source, row.scope, row.dataset, row.container_scope, row.container, row.fingerprint,
             int(row.live), row.tombstoned_at, int(row.retired), time.time()),
        )  # fmt: skip

    # -- files ----------------------------------------------------------------------------------------------
    def files(self, record_id: str) -> dict[str, FileRow]:
        rows = self._db.execute(
            "SELECT record_id, file_name, scope, did, bytes, adler32, md5, catalogue_checksum, portal_url FROM files "
            "WHERE record_id = ? ORDER BY file_name",
            (record_id,),
        )
        return {r[1]: FileRow(*r) for r in rows}

    def save_file(self, row: FileRow) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO files (record_id, file_name, scope, did, bytes, adler32, md5, catalogue_checksum, "
            "portal_url) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (row.record_id, row.file_name, row.scope, row.did, row.bytes, row.adler32, row.md5,
             row.catalogue_checksum, row.portal_url),
        )  # fmt: skip

    def drop_files(self, record_id: str, names: Sequence[str]) -> None:
        for name in names:
            self._db.execute("DELETE FROM files WHERE record_id = ? AND file_name = ?", (record_id, name))
            self._db.execute("DELETE FROM verified WHERE record_id = ? AND file_name = ?", (record_id, name))

    # -- failures -------------------------------------------------------------------------------------------
    def set_failures(self, record_id: str, failures: dict[str, str]) -> None:
        """The release's failures now (file name, or "" for the release as a whole → message); replaces earlier."""
        self._db.execute("DELETE FROM failures WHERE record_id = ?", (record_id,))
        now = time.time()
        for name, message in failures.items():
            self._db.execute("INSERT INTO failures VALUES (?, ?, ?, ?)", (record_id, name, message, now))

    def failures(self, record_id: str | None = None) -> dict[str, dict[str, str]]:
        query = "SELECT record_id, file_name, message FROM failures"
        rows = self._db.execute(query + " WHERE record_id = ?", (record_id,)) if record_id else self._db.execute(query)
        found: dict[str, dict[str, str]] = {}
        for rid, name, message in rows:
            found.setdefault(rid, {})[name] = message
        return found

    # -- checksum verification of copies -------------------------------------------------------------------
    def verification(self, record_id: str, file_name: str, site: str) -> Verification | None:
        row = self._db.execute(
            "SELECT url, ok, detail FROM verified WHERE record_id = ? AND file_name = ? AND site = ?",
            (record_id, file_name, site),
        ).fetchone()
        return Verification(row[0], bool(row[1]), row[2]) if row else None

    def save_verification(self, record_id: str, file_name: str, site: str, result: Verification) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO verified VALUES (?, ?, ?, ?, ?, ?, ?)",
            (record_id, file_name, site, result.url, int(result.ok), result.detail, time.time()),
        )

    def forget_verification(self, record_id: str, file_name: str, site: str) -> None:
        self._db.execute(
            "DELETE FROM verified WHERE record_id = ? AND file_name = ? AND site = ?", (record_id, file_name, site)
        )

    def mismatches(self) -> Iterator[tuple[str, str, str, str | None]]:
        yield from self._db.execute("SELECT record_id, file_name, site, detail FROM verified WHERE ok = 0")


def _release(row: tuple[object, ...]) -> ReleaseRow:
    (rid, source, scope, dataset, cscope, container, fingerprint, live, tombstoned_at, retired) = row
    return ReleaseRow(str(rid), str(source), str(scope), str(dataset), str(cscope), str(container),
                      None if fingerprint is None else str(fingerprint), bool(live),
                      None if tombstoned_at is None else float(tombstoned_at), bool(retired))  # type: ignore[arg-type]  # fmt: skip
