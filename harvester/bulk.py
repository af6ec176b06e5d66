"""Bulk statements for the committing thread: rows as tuples straight to SQLite's driver.

The committing thread is the serial part of a harvest. SQLAlchemy's executemany turns each row's dict into the
driver's parameters one value at a time (type processors, a datetime formatted per row, a bound name per value),
most of the cost of storing a page's rows; SQLite's driver takes tuples as they are. The statements here are
SQLAlchemy's own, compiled once, and every value is what SQLAlchemy would bind (a page's one time stamp is formatted
once, by the dialect's own processor). PostgreSQL's dialect batches rows itself: it keeps the SQLAlchemy path.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, DateTime, Table, and_, bindparam, insert, select
from sqlalchemy.dialects import sqlite

from harvester import db

CHUNK = 500  # values per IN (...) clause: well under every backend's bound-parameter limit

_SQLITE = sqlite.dialect()
_sqlite_datetime = DateTime(timezone=True).dialect_impl(_SQLITE).bind_processor(_SQLITE)


def stored_time(conn: Connection, stamp: datetime) -> Any:
    """`stamp` as a row tuple for `insert_rows` carries it: SQLite's DATETIME text, or the datetime elsewhere."""
    if conn.dialect.name == "sqlite" and _sqlite_datetime is not None:
        return _sqlite_datetime(stamp)
    return stamp


@functools.lru_cache(maxsize=32)
def _sqlite_insert(table: Table, columns: tuple[str, ...], ignore_on: tuple[str, ...]) -> str:
    statement = sqlite.insert(table).values({name: bindparam(name) for name in columns})
    if ignore_on:
        statement = statement.on_conflict_do_nothing(index_elements=list(ignore_on))
    compiled = statement.compile(dialect=_SQLITE)
    if compiled.positiontup != list(columns):  # the tuples are positional: their order must be the statement's
        raise AssertionError(f"INSERT INTO {table.name} binds {compiled.positiontup}, not {list(columns)}")
    return str(compiled)


def insert_rows(
    conn: Connection,
    table: Table,
    columns: tuple[str, ...],
    rows: Sequence[tuple[Any, ...]],
    ignore_on: tuple[str, ...] = (),
) -> None:
    """INSERT rows given as tuples in `columns` order (times from `stored_time`); with `ignore_on`, rows whose key
    is already stored are skipped (ON CONFLICT DO NOTHING)."""
    if not rows:
        return
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(_sqlite_insert(table, columns, ignore_on), list(rows))
        return
    statement = db.insert_ignoring_duplicates(conn, table, list(ignore_on)) if ignore_on else insert(table)
    conn.execute(statement, [dict(zip(columns, row, strict=True)) for row in rows])


def select_in(
    conn: Connection, table: Table, columns: tuple[str, ...], key: str, values: Sequence[Any], **equal: Any
) -> list[Any]:
    """Rows (as tuples in `columns` order) of `table` whose `key` is among `values` and whose other columns equal
    `equal`, in chunks of `CHUNK` values."""
    found: list[Any] = []
    for start in range(0, len(values), CHUNK):
        chunk = values[start : start + CHUNK]
        if conn.dialect.name == "sqlite":
            # the same SELECT SQLAlchemy renders, without compiling an expanding IN for every call
            where = " AND ".join([*(f"{name} = ?" for name in equal), f"{key} IN ({', '.join('?' * len(chunk))})"])
            sql = f"SELECT {', '.join(columns)} FROM {table.name} WHERE {where}"
            found.extend(conn.exec_driver_sql(sql, (*equal.values(), *chunk)).all())
        else:
            condition = and_(*(table.c[name] == value for name, value in equal.items()), table.c[key].in_(chunk))
            found.extend(conn.execute(select(*(table.c[name] for name in columns)).where(condition)).all())
    return found
