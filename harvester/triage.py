"""Error triage: the quarantine grouped by what failed, and exported for people who fix mappers or sources.

A group is one source, stage (mapping or validation), error class and field: the records behind it usually share
one cause (a mapper that cannot read a date format, a portal that stopped sending a licence), so a data manager
reads the groups first, fixes the cause, then retries them (`dmlake errors retry`). Messages differ within a group
(they quote each record's value), so each group shows one example record and its message.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from sqlalchemy import Engine, and_, func, select

from harvester.schema import quarantine

ExportFormat = Literal["csv", "json"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = ("csv", "json")


@dataclass(frozen=True)
class ErrorFilter:
    """Which part of the quarantine: a source, a field, an error class (each optional)."""

    source: str | None = None
    field: str | None = None
    error_class: str | None = None

    def conditions(self) -> list[Any]:
        found = []
        if self.source:
            found.append(quarantine.c.source == self.source)
        if self.field:
            found.append(quarantine.c.field == self.field)
        if self.error_class:
            found.append(quarantine.c.error_class == self.error_class)
        return found


@dataclass(frozen=True)
class ErrorGroup:
    source: str
    stage: str
    error_class: str
    field: str
    records: int
    """Quarantined records in the group."""
    attempts: int
    """Times its records failed, over all runs (a record failing in three runs counts three)."""
    first_seen: datetime
    last_seen: datetime
    example_record: str
    example_message: str
    example_run: int | None

    def to_json(self) -> dict[str, Any]:
        return _jsonable(asdict(self))


@dataclass(frozen=True)
class QuarantinedRecord:
    source: str
    native_id: str
    stage: str
    error_class: str
    field: str
    message: str
    attempts: int
    first_seen: datetime
    last_seen: datetime
    run_id: int | None
    raw_sha256: str | None
    source_url: str | None

    def to_json(self) -> dict[str, Any]:
        return _jsonable(asdict(self))


def error_groups(engine: Engine, where: ErrorFilter = ErrorFilter()) -> list[ErrorGroup]:
    """The quarantine grouped by source, stage, error class and field; largest groups first."""
    key = (quarantine.c.source, quarantine.c.stage, quarantine.c.error_class, quarantine.c.field)
    query = (
        select(
            *key,
            func.count().label("records"),
            func.sum(quarantine.c.count).label("attempts"),
            func.min(quarantine.c.first_seen).label("first_seen"),
            func.max(quarantine.c.last_seen).label("last_seen"),
            func.min(quarantine.c.native_id).label("example"),
        )
        .where(and_(True, *where.conditions()))
        .group_by(*key)
        .order_by(func.count().desc(), *key)
    )
    with engine.connect() as conn:
        rows = list(conn.execute(query))
        groups = []
        for row in rows:
            example = conn.execute(
                select(quarantine.c.message, quarantine.c.run_id).where(
                    and_(quarantine.c.source == row.source, quarantine.c.native_id == row.example)
                )
            ).one()
            groups.append(
                ErrorGroup(
                    source=row.source,
                    stage=row.stage,
                    error_class=row.error_class,
                    field=row.field,
                    records=int(row.records),
                    attempts=int(row.attempts or 0),
                    first_seen=_aware(row.first_seen),
                    last_seen=_aware(row.last_seen),
                    example_record=row.example,
                    example_message=example.message,
                    example_run=example.run_id,
                )
            )
    return groups


def quarantined_records(
    engine: Engine, where: ErrorFilter = ErrorFilter(), limit: int | None = None, offset: int = 0
) -> list[QuarantinedRecord]:
    """The quarantined records themselves, by source and native id."""
    query = (
        select(quarantine)
        .where(and_(True, *where.conditions()))
        .order_by(quarantine.c.source, quarantine.c.native_id)
        .offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    with engine.connect() as conn:
        return [
            QuarantinedRecord(
                source=r.source,
                native_id=r.native_id,
                stage=r.stage,
                error_class=r.error_class,
                field=r.field,
                message=r.message,
                attempts=r._mapping["count"],
                first_seen=_aware(r.first_seen),
                last_seen=_aware(r.last_seen),
                run_id=r.run_id,
                raw_sha256=r.raw_sha256,
                source_url=r.source_url,
            )
            for r in conn.execute(query)
        ]


def quarantined_count(engine: Engine, where: ErrorFilter = ErrorFilter()) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(quarantine).where(and_(True, *where.conditions()))
            ).scalar_one()
        )


def export(
    rows: list[ErrorGroup] | list[QuarantinedRecord],
    fmt: ExportFormat,
    row_type: type[ErrorGroup] | type[QuarantinedRecord] = ErrorGroup,
) -> str:
    """Groups or records as CSV (a header row, ISO 8601 UTC times) or as a JSON array. `row_type` names the columns
    of an empty CSV export."""
    items = [row.to_json() for row in rows]
    if fmt == "json":
        return orjson.dumps(items, option=orjson.OPT_INDENT_2).decode() + "\n"
    if fmt != "csv":
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(row_type.__dataclass_fields__), lineterminator="\n")
    writer.writeheader()
    writer.writerows(items)
    return buffer.getvalue()


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value.isoformat() if isinstance(value, datetime) else value for key, value in data.items()}


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes for timezone-aware columns; every stamp we write is UTC
    return value if value.tzinfo else value.replace(tzinfo=UTC)
