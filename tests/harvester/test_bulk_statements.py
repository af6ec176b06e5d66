"""The committing thread's bulk statements (tuples straight to the driver on SQLite) store exactly what SQLAlchemy's
own statements store, and the look-ups find what SQLAlchemy's selects find."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, and_, insert, select

from harvester import bulk
from harvester import catalogue as cat
from harvester.catalogue import Catalogue
from harvester.schema import changes, listing_seen, raw_payloads, records

STAMP = datetime(2026, 11, 22, 3, 58, 7, 123456, tzinfo=UTC)


def _record_rows(count: int, start: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "id": f"zenodo:{n}",
            "source": "zenodo",
            "native_id": str(n),
            "content_hash": f"{n:064x}",
            "data": bytes([n % 256]) * 40,
            "source_updated": None if n % 3 else f"2024-01-{1 + n % 28:02d}T00:00:00Z",
            "raw_sha256": f"{n:064x}",
            "source_url": f"https://zenodo.org/api/records/{n}",
            "mapping_version": "zenodo-1",
            "first_run": 1,
            "last_run": 1,
            "created_at": STAMP,
            "updated_at": STAMP,
            "validators": None if n % 2 else '{"etag":"W/\\"1\\""}',
            "index_doc": None if n % 5 == 0 else b"\x28\xb5\x2f\xfd" + bytes([n % 256]),
            "index_doc_version": None if n % 5 == 0 else "v1",
        }
        for n in range(start, start + count)
    ]


def _stored(conn: Connection, table: Table, order: str) -> list[tuple[Any, ...]]:
    """The rows as the database holds them (text, not datetimes parsed back)."""
    return [tuple(row) for row in conn.exec_driver_sql(f"SELECT * FROM {table.name} ORDER BY {order}")]


def _tuples(rows: list[dict[str, Any]], columns: tuple[str, ...], conn: Connection) -> list[tuple[Any, ...]]:
    return [
        tuple(bulk.stored_time(conn, row[c]) if isinstance(row[c], datetime) else row[c] for c in columns)
        for row in rows
    ]


def test_bulk_inserts_store_what_sqlalchemy_stores(catalogue: Catalogue, tmp_path: Any) -> None:
    twin = (
        Catalogue.open(f"sqlite:///{tmp_path / 'twin.sqlite'}") if catalogue.engine.dialect.name == "sqlite" else None
    )
    record_rows = _record_rows(7)
    change_rows = [{"record_id": r["id"], "kind": "upsert", "run_id": 1, "at": STAMP} for r in record_rows]
    payload_rows = [
        {"sha256": r["raw_sha256"], "media_type": "application/json", "size": 9, "data": r["data"], "first_seen": STAMP}
        for r in record_rows
    ]
    with catalogue.engine.begin() as conn:
        bulk.insert_rows(conn, records, cat._NEW_RECORD_COLUMNS, _tuples(record_rows, cat._NEW_RECORD_COLUMNS, conn))
        bulk.insert_rows(conn, changes, cat._CHANGE_COLUMNS, _tuples(change_rows, cat._CHANGE_COLUMNS, conn))
        rows = _tuples(payload_rows, cat._RAW_COLUMNS, conn)
        bulk.insert_rows(conn, raw_payloads, cat._RAW_COLUMNS, rows, ignore_on=("sha256",))
        bulk.insert_rows(conn, raw_payloads, cat._RAW_COLUMNS, rows[:3], ignore_on=("sha256",))  # already stored
        seen = [(5, "b"), (5, "a")]
        bulk.insert_rows(conn, listing_seen, ("listing_id", "native_id"), seen, ignore_on=("listing_id", "native_id"))
        bulk.insert_rows(conn, listing_seen, ("listing_id", "native_id"), seen, ignore_on=("listing_id", "native_id"))
    with catalogue.engine.connect() as conn:
        # read back through SQLAlchemy: the same values, times included
        back = [dict(row._mapping) for row in conn.execute(select(records).order_by(records.c.id))]
        times = {(row.pop("created_at"), row.pop("updated_at")) for row in back}
        assert {(a.replace(tzinfo=a.tzinfo or UTC), b.replace(tzinfo=b.tzinfo or UTC)) for a, b in times} == {
            (STAMP, STAMP)
        }
        expected = [
            {k: v for k, v in row.items() if k not in ("created_at", "updated_at")}
            | {"tombstone": None, "tombstoned_at": None}
            for row in sorted(record_rows, key=lambda r: r["id"])
        ]
        assert back == expected
        assert conn.execute(select(raw_payloads.c.sha256)).scalars().all() == [r["sha256"] for r in payload_rows]
        assert sorted(conn.execute(select(listing_seen.c.native_id)).scalars()) == ["a", "b"]
        fast = {
            t.name: _stored(conn, t, order)
            for t, order in ((records, "id"), (changes, "seq"), (raw_payloads, "sha256"))
        }
    if twin is None:
        return
    with twin.engine.begin() as conn:  # the same rows, through SQLAlchemy's statements
        conn.execute(insert(records), record_rows)
        conn.execute(insert(changes), change_rows)
        conn.execute(insert(raw_payloads), payload_rows)
    with twin.engine.connect() as conn:
        slow = {
            t.name: _stored(conn, t, order)
            for t, order in ((records, "id"), (changes, "seq"), (raw_payloads, "sha256"))
        }
    twin.close()
    assert fast == slow


def test_look_ups_by_native_id_find_what_a_select_finds_across_chunks(catalogue: Catalogue) -> None:
    rows = _record_rows(bulk.CHUNK * 2 + 17)
    for n, row in enumerate(rows):
        row["tombstone"] = "gone" if n % 7 == 0 else None
        row["mapping_version"] = "zenodo-1" if n % 4 else "zenodo-0"
    other = [
        {**row, "id": "other:" + row["native_id"], "source": "other", "tombstone": None} for row in _record_rows(40)
    ]
    with catalogue.engine.begin() as conn:
        conn.execute(insert(records), rows + other)
    wanted = [str(n) for n in range(0, len(rows) + 50, 2)]  # some never stored
    with catalogue.engine.connect() as conn:
        expected = conn.execute(
            select(records.c.native_id, records.c.source_updated, records.c.tombstone).where(
                and_(records.c.source == "zenodo", records.c.native_id.in_(wanted))
            )
        ).all()
    stamps = catalogue.known_stamps("zenodo", wanted)
    assert stamps == {r.native_id: r.source_updated for r in expected if r.tombstone is None}
    assert len(wanted) > bulk.CHUNK and len(stamps) > 300  # asked in two chunks, answered from both
    assert None in stamps.values() and any(stamps.values())
    validators = catalogue.known_validators("zenodo", wanted, "zenodo-1")
    assert validators == {
        str(n): {"etag": 'W/"1"'}
        for n in range(0, len(rows), 2)
        if n % 7 and n % 2 == 0 and n % 4 and rows[n]["validators"] is not None
    }
    assert validators
    assert catalogue.known_stamps("other", ["1", "2", "999"]) == {"1": None, "2": None}
    assert catalogue.known_stamps("zenodo", []) == {}
