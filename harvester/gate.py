"""The validation gate between mapping and the catalogue: what the model's types cannot say on their own.

A record that fails is quarantined with the field and the reason; the catalogue keeps the last good version.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from connectors.base import RawRecord
from ontology import Record, record_id

FUTURE_TOLERANCE = timedelta(days=2)


@dataclass(frozen=True)
class Problem:
    field: str
    message: str


def check(record: Record, raw: RawRecord, source: str) -> list[Problem]:
    """Every problem found (empty: the record may enter the catalogue)."""
    problems = []
    if record.source != source:
        problems.append(Problem("source", f"mapper set source {record.source!r}, the run harvests {source!r}"))
    if record.native_id != raw.native_id:
        problems.append(
            Problem("native_id", f"mapper set native id {record.native_id!r} for a record listed as {raw.native_id!r}")
        )
    if record.id != record_id(record.source, record.native_id):
        problems.append(Problem("id", f"{record.id!r} is not the id of {record.source}/{record.native_id}"))
    if not record.title.strip():
        problems.append(Problem("title", "is blank"))
    horizon = (datetime.now(UTC) + FUTURE_TOLERANCE).date().isoformat()
    for name in ("issued", "modified", "created"):
        value = getattr(record, name)
        if value is not None and value[:10] > horizon[: len(value[:10])]:
            problems.append(Problem(name, f"{value} lies in the future"))
    for index, distribution in enumerate(record.distributions):
        if not (distribution.url or distribution.access_url):
            problems.append(Problem(f"distributions[{index}].url", f"file {distribution.name!r} has no URL"))
    return problems
