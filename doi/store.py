"""The registrar's rows in the catalogue database (table `dois`, migrations 0007 and 0009): intent first,
confirmation after."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, insert, or_, select, update

from harvester.schema import dois

STATES = ("draft", "registered", "findable")


@dataclass(frozen=True)
class DoiRow:
    key: str
    doi: str
    source: str
    kind: str
    concept_key: str | None
    version_number: int | None
    intended: str
    confirmed: str | None
    approved: bool
    live: bool
    metadata_sha256: str | None
    report: str | None
    updated_at: datetime
    parent_key: str | None = None
    part_key: str | None = None
    part_number: int | None = None

    @property
    def settled(self) -> bool:
        return self.confirmed == self.intended and self.report is None


def _now() -> datetime:
    return datetime.now(UTC)


def _insert_draft(conn: Connection, key: str, doi: str, **columns: Any) -> DoiRow:
    """A new row whose intent is a draft (DOIs are stored lower-case: DataCite compares them so)."""
    stamp = _now()
    conn.execute(
        insert(dois).values(
            key=key,
            doi=doi.lower(),
            intended="draft",
            confirmed=None,
            approved=False,
            live=True,
            created_at=stamp,
            updated_at=stamp,
            **columns,
        )
    )
    return _row(conn.execute(select(dois).where(dois.c.key == key)).one())


def _row(row: Any) -> DoiRow:
    return DoiRow(
        row.key,
        row.doi,
        row.source,
        row.kind,
        row.concept_key,
        row.version_number,
        row.intended,
        row.confirmed,
        bool(row.approved),
        bool(row.live),
        row.metadata_sha256,
        row.report,
        row.updated_at,
        row.parent_key,
        row.part_key,
        row.part_number,
    )


class DoiStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def commit(self) -> None:
        """Every write below commits at once; the feed consumer's commit has nothing left to do."""

    def get(self, key: str) -> DoiRow | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(dois).where(dois.c.key == key)).first()
        return None if row is None else _row(row)

    def by_doi(self, doi: str) -> DoiRow | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(dois).where(dois.c.doi == doi.lower())).first()
        return None if row is None else _row(row)

    def keys_among(self, keys: list[str]) -> set[str]:
        """Which of `keys` have a row."""
        found: set[str] = set()
        with self.engine.connect() as conn:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                found.update(conn.execute(select(dois.c.key).where(dois.c.key.in_(chunk))).scalars())
        return found

    def rows(self, source: str | None = None, kind: str | None = None) -> Iterator[DoiRow]:
        query = select(dois).order_by(dois.c.key)
        if source is not None:
            query = query.where(dois.c.source == source)
        if kind is not None:
            query = query.where(dois.c.kind == kind)
        with self.engine.connect() as conn:
            found = [_row(r) for r in conn.execute(query)]
        yield from found

    def unsettled(self) -> list[DoiRow]:
        """Rows whose last attempt failed, whose intent DataCite has not confirmed (a crash, an outage), or that were
        approved but not yet published (a `doi publish` that stopped half-way)."""
        query = select(dois).where(
            or_(
                dois.c.report.is_not(None),
                dois.c.confirmed.is_(None),
                dois.c.confirmed != dois.c.intended,
                and_(dois.c.approved.is_(True), dois.c.live.is_(True), dois.c.intended != "findable"),
            )
        )
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(query.order_by(dois.c.key))]

    def versions(self, concept_key: str) -> list[DoiRow]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(dois).where(dois.c.concept_key == concept_key).order_by(dois.c.version_number))
            return [_row(r) for r in rows]

    def parts(self, parent_key: str) -> list[DoiRow]:
        """The table and file rows of a release, tables in the order of their n, files by key."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(dois).where(dois.c.parent_key == parent_key).order_by(dois.c.part_number, dois.c.key)
            )
            return [_row(r) for r in rows]

    def reserve_part(self, parent: DoiRow, kind: str, part_key: str, segment: str | None) -> DoiRow:
        """The row of a release's part, created (intent: draft) if it has none: one per release and part key.

        A file's DOI is `<release DOI>/<segment>`; a table's is `<release DOI>/t<n>`, n the next free number of the
        release's tables (`segment` None), fixed here, before DataCite ever hears of it."""
        key = _part_row_key(parent.key, part_key)
        with self.engine.begin() as conn:
            existing = conn.execute(
                select(dois).where(and_(dois.c.parent_key == parent.key, dois.c.part_key == part_key))
            ).first()
            if existing is not None:
                return _row(existing)
            number = None
            if segment is None:
                last = conn.execute(
                    select(func.max(dois.c.part_number)).where(
                        and_(dois.c.parent_key == parent.key, dois.c.kind == kind)
                    )
                ).scalar()
                number = int(last or 0) + 1
                segment = f"t{number}"
            return _insert_draft(
                conn,
                key,
                f"{parent.doi}/{segment}",
                source=parent.source,
                kind=kind,
                parent_key=parent.key,
                part_key=part_key,
                part_number=number,
            )

    def reserve(
        self, key: str, doi: str, source: str, kind: str, concept_key: str | None = None, version_of: bool = False
    ) -> DoiRow:
        """The row of `key`, created (intent: draft) if it has none; a version gets the next `.vN` of its concept."""
        with self.engine.begin() as conn:
            existing = conn.execute(select(dois).where(dois.c.key == key)).first()
            if existing is not None:
                return _row(existing)
            number = None
            if version_of and concept_key is not None:
                last = conn.execute(
                    select(func.max(dois.c.version_number)).where(dois.c.concept_key == concept_key)
                ).scalar()
                number = int(last or 0) + 1
                doi = f"{doi}.v{number}"
            return _insert_draft(
                conn, key, doi, source=source, kind=kind, concept_key=concept_key, version_number=number
            )

    def intend(self, key: str, state: str, live: bool) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(dois).where(dois.c.key == key).values(intended=state, live=live, updated_at=_now()))

    def confirm(self, key: str, state: str | None, metadata_sha256: str | None) -> None:
        values: dict[str, Any] = {"confirmed": state, "report": None, "updated_at": _now()}
        if metadata_sha256 is not None:
            values["metadata_sha256"] = metadata_sha256
        with self.engine.begin() as conn:
            conn.execute(update(dois).where(dois.c.key == key).values(**values))

    def report(self, key: str, text: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(dois).where(dois.c.key == key).values(report=text, updated_at=_now()))

    def approve(self, keys: list[str]) -> int:
        with self.engine.begin() as conn:
            done = conn.execute(
                update(dois).where(and_(dois.c.key.in_(keys), dois.c.approved.is_(False))).values(approved=True)
            )
            return int(done.rowcount or 0)


def _part_row_key(parent_key: str, part_key: str) -> str:
    """`<release key>#<part key>`, readable in `dmlake doi status`; a digest of the part key when that is too long
    for the column (the pair parent key, part key is what identifies the part either way)."""
    key = f"{parent_key}#{part_key}"
    if len(key) <= 1000:
        return key
    return f"{parent_key}#{part_key.partition(':')[0]}:{hashlib.sha256(part_key.encode()).hexdigest()}"
