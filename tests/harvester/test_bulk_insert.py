"""`harvester.bulk_insert.insert_rows` stores exactly what SQLAlchemy's own INSERT stores."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, create_engine, insert, text

from harvester import db
from harvester.bulk_insert import insert_rows
from harvester.schema import changes, listing_seen, metadata, raw_payloads, records, runs

STAMP = datetime(2026, 11, 21, 21, 7, 3, 123456, tzinfo=UTC)


def _record(n: int, *, index_doc: bytes | None) -> dict[str, Any]:
    return {
        "id": f"zenodo-oai:{n}",
        "source": "zenodo-oai",
        "native_id": f"oai:zenodo.org:{n}",
        "content_hash": f"{n:064x}",
        "data": b"x\x01\x00record",
        "source_updated": "2024-01-02T03:04:05Z",
        "raw_sha256": f"{n + 1:064x}",
        "source_url": "http://127.0.0.1/oai2d?verb=GetRecord",
        "mapping_version": "1.0",
        "first_run": 1,
        "last_run": 1,
        "created_at": STAMP,
        "updated_at": STAMP,
        "validators": None,
        "index_doc": index_doc,
        "index_doc_version": "v1",
    }


def _write(conn: Connection, fast: bool) -> None:
    rows = [_record(n, index_doc=None if n % 2 else b"entry") for n in range(5)]
    payloads = [{"sha256": "e" * 64, "media_type": "application/xml", "size": 3, "data": b"z", "first_seen": STAMP}]
    payloads = payloads * 2 + [{**payloads[0], "sha256": "f" * 64}]  # a duplicate in the batch is skipped
    feed = [{"record_id": r["id"], "kind": "upsert", "run_id": 1, "at": STAMP} for r in rows]
    run = {"source": "zenodo-oai", "state": "running", "mode": "full", "started_at": STAMP}  # counters by default
    seen = [{"listing_id": 7, "native_id": r["native_id"]} for r in rows]
    if fast:
        insert_rows(conn, records, rows)
        insert_rows(conn, raw_payloads, payloads, ignore_duplicates_on=["sha256"])
        insert_rows(conn, changes, feed)
        insert_rows(conn, runs, [run])
        insert_rows(conn, listing_seen, seen)
        insert_rows(conn, changes, [])
    else:
        conn.execute(insert(records), rows)
        conn.execute(db.insert_ignoring_duplicates(conn, raw_payloads, ["sha256"]), payloads)
        conn.execute(insert(changes), feed)
        conn.execute(insert(runs), [run])
        conn.execute(insert(listing_seen), seen)


def _dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return {
            table: [tuple(row) for row in conn.execute(text(f"SELECT * FROM {table} ORDER BY 1, 2"))]
            for table in ("records", "raw_payloads", "changes", "runs", "listing_seen")
        }


def _fresh() -> Engine:
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    return engine


def test_stores_the_same_rows_as_sqlalchemy() -> None:
    ordinary, fast = _fresh(), _fresh()
    with ordinary.begin() as conn:
        _write(conn, fast=False)
    with fast.begin() as conn:
        _write(conn, fast=True)
    expected = _dump(ordinary)
    assert expected["records"] and len(expected["raw_payloads"]) == 2
    assert _dump(fast) == expected
    # the stored datetime is SQLAlchemy's text, so both paths read back the same aware-less value
    assert expected["changes"][0][-1] == "2026-11-21 21:07:03.123456"


def test_a_duplicate_key_without_ignoring_fails_as_before() -> None:
    engine = _fresh()
    with engine.begin() as conn:
        insert_rows(conn, records, [_record(1, index_doc=None)])
    with pytest.raises(Exception, match="UNIQUE"), engine.begin() as conn:
        insert_rows(conn, records, [_record(1, index_doc=None)])


def test_rows_naming_different_columns_are_refused() -> None:
    engine = _fresh()
    mixed = [
        {"record_id": "a", "kind": "upsert", "at": STAMP},
        {"record_id": "b", "kind": "x", "run_id": 3, "at": STAMP},
    ]
    with pytest.raises(ValueError, match="rows name different columns"), engine.begin() as conn:
        insert_rows(conn, changes, mixed)
