"""Many-row INSERTs of the commit path without SQLAlchemy's per-row statement machinery.

A harvest commits up to a thousand records per transaction, each with its raw payload, its change in the feed and
its listing mark. Through `Connection.execute(insert(table), rows)` SQLAlchemy rebuilds every row's parameters from
the compiled statement (`construct_params`, one dict per row, then each bind processor by name): about a fifth of
the harvester's main process went there, more than SQLite spent executing the rows. On SQLite, `insert_rows` hands
the driver one positional statement and plain tuples instead, with the values converted by the very bind processors
SQLAlchemy would apply (so a datetime is stored as the same text), and column defaults filled as SQLAlchemy would.
Other backends, and tables whose Python-side defaults are computed per row, keep the ordinary path.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Table, insert
from sqlalchemy.engine import Dialect

from harvester import db

_Processor = Callable[[Any], Any] | None
_Plan = tuple[str, tuple[str, ...], list[_Processor], list[Any]]
_PLANS: weakref.WeakKeyDictionary[Dialect, dict[tuple[Any, ...], _Plan | None]] = weakref.WeakKeyDictionary()


def insert_rows(
    conn: Connection, table: Table, rows: Sequence[dict[str, Any]], *, ignore_duplicates_on: list[str] | None = None
) -> None:
    """INSERT `rows` (dicts with the same keys) into `table`; with `ignore_duplicates_on`, rows whose key columns
    are already stored are skipped (ON CONFLICT DO NOTHING), as `db.insert_ignoring_duplicates` does."""
    if not rows:
        return
    plan = _plan(conn, table, tuple(rows[0]), ignore_duplicates_on) if conn.dialect.name == "sqlite" else None
    if plan is None:
        statement = (
            db.insert_ignoring_duplicates(conn, table, ignore_duplicates_on) if ignore_duplicates_on else insert(table)
        )
        conn.execute(statement, list(rows))
        return
    sql, keys, processors, defaults = plan
    first = rows[0].keys()
    if any(row.keys() != first for row in rows):
        # SQLAlchemy would take the first row's columns and drop the others' extra values without a word
        raise ValueError(f"insert into {table.name}: rows name different columns; insert them separately")
    pairs = list(zip(keys, processors, strict=True))
    converted = [
        tuple([row[key] if convert is None else convert(row[key]) for key, convert in pairs] + defaults) for row in rows
    ]
    conn.exec_driver_sql(sql, converted)


def _plan(conn: Connection, table: Table, keys: tuple[str, ...], ignore: list[str] | None) -> _Plan | None:
    """The positional INSERT for these keys, each key's bind processor, and the scalar defaults of the columns the
    rows leave out (None when a left-out column's default is computed per row: the ordinary path handles it)."""
    dialect = conn.dialect
    plans = _PLANS.setdefault(dialect, {})
    cache_key = (table.name, keys, tuple(ignore or ()))
    if cache_key in plans:
        return plans[cache_key]
    names = [table.c[key].name for key in keys]
    processors: list[_Processor] = [table.c[key].type._cached_bind_processor(dialect) for key in keys]
    defaults: list[Any] = []
    for column in table.columns:
        if column.key in keys or column.default is None:
            continue
        default = column.default
        if not getattr(default, "is_scalar", False):
            plans[cache_key] = None
            return None
        value = default.arg  # type: ignore[attr-defined]
        convert = column.type._cached_bind_processor(dialect)
        names.append(column.name)
        defaults.append(value if convert is None else convert(value))
    quote = dialect.identifier_preparer.quote
    columns = ", ".join(quote(name) for name in names)
    placeholders = ", ".join("?" for _ in names)
    sql = f"INSERT INTO {quote(table.name)} ({columns}) VALUES ({placeholders})"
    if ignore:
        sql += f" ON CONFLICT ({', '.join(quote(table.c[key].name) for key in ignore)}) DO NOTHING"
    plan = (sql, keys, processors, defaults)
    plans[cache_key] = plan
    return plan
