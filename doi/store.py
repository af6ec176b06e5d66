"""The registrar's rows in the catalogue database (table `dois`, migration 0007): intent first, confirmation after."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, and_, func, insert, or_, select, update

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

    @property
    def settled(self) -> bool:
        return self.confirmed == self.intended and self.report is None


def _now() -> datetime:
    return datetime.now(UTC)


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
            stamp = _now()
            conn.execute(
                insert(dois).values(
                    key=key,
                    doi=doi.lower(),
                    source=source,
                    kind=kind,
                    concept_key=concept_key,
                    version_number=number,
                    intended="draft",
                    confirmed=None,
                    approved=False,
                    live=True,
                    created_at=stamp,
                    updated_at=stamp,
                )
            )
            return _row(conn.execute(select(dois).where(dois.c.key == key)).one())

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
