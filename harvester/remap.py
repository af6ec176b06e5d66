"""Mapping stored raw payloads again, without fetching anything: after a mapping fix or a new mapping version.

`Remapper.retry(source)` (`dmlake errors retry`) maps the quarantined records again from the raw store: those that
map now are stored as a harvested page would store them (catalogue upsert, change feed, identity keys) and leave the
quarantine; those that still fail stay there with their new error. `Remapper.remap(source)` (`dmlake remap`) does
the same for every record of the source: a record whose mapping changed gets a change in the feed, an unchanged one
writes nothing.

Nothing here holds an HTTP client: the payloads come from the raw store, the source's connector kind from the
catalogue's `sources` table, and the mapper is the connector's pure `map_record`. Each call is a run (a `runs` row,
mode `retry` or `remap`), so it cannot overlap a harvest of the same source, shows in `dmlake runs`, and stops
between batches when aborted (`dmlake run abort ID`).

A record's payload is the newest one the source sent: for a quarantined record, the quarantined payload (the
catalogue may still hold the last good version of it, mapped from older bytes); for any other, the record's own.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import groupby
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Select, and_, select

from connectors.base import Connector, RawRecord
from harvester import codec
from harvester.catalogue import Catalogue, Counts, Mapped, Rejected
from harvester.mapping import Mapper
from harvester.runs import Runs
from harvester.schema import quarantine, raw_payloads, records, runs, sources

log = logging.getLogger(__name__)

BATCH = 500
"""Records mapped and committed per transaction."""


class RemapError(ValueError):
    """A source that cannot be re-mapped (unknown to the catalogue, or its connector kind is not installed)."""


@dataclass(frozen=True)
class Skipped:
    """A record left as it is, and why."""

    native_id: str
    reason: str


@dataclass
class RemapReport:
    source: str
    run_id: int
    mode: str
    """`retry` (the quarantine only) or `remap` (every record of the source)."""
    state: str = "running"
    counts: Counts = field(default_factory=Counts)
    """added/updated/unchanged: records that mapped; quarantined: records that still fail."""
    attempted: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    batches: int = 0
    seconds: float = 0.0
    message: str | None = None
    errors: dict[str, int] = field(default_factory=dict)
    """Records still failing, by `stage/field: error class`."""

    @property
    def mapped(self) -> int:
        return self.counts.added + self.counts.updated + self.counts.unchanged

    @property
    def still_failing(self) -> int:
        return self.counts.quarantined

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "run_id": self.run_id,
            "mode": self.mode,
            "state": self.state,
            "attempted": self.attempted,
            "mapped": self.mapped,
            "added": self.counts.added,
            "updated": self.counts.updated,
            "unchanged": self.counts.unchanged,
            "still_failing": self.still_failing,
            "still_failing_by_error": dict(self.errors),
            "skipped": [{"native_id": s.native_id, "reason": s.reason} for s in self.skipped],
            "seconds": round(self.seconds, 3),
            "message": self.message,
        }


@dataclass(frozen=True)
class _Stored:
    """A raw record rebuilt from the raw store, and when its bytes were retrieved (kept in the new provenance)."""

    raw: RawRecord
    retrieved_at: datetime


class _Aborted(Exception):
    """The run was marked aborted by a data manager while it ran."""


class Remapper:
    """Re-maps records of a catalogue from its raw store with the installed connectors' mappers."""

    def __init__(
        self,
        catalogue: Catalogue,
        kinds: Mapping[str, type[Connector]],
        *,
        mapper: Mapper | None = None,
        batch_size: int = BATCH,
    ) -> None:
        self.catalogue = catalogue
        self.kinds = kinds
        self.runs = Runs(catalogue.engine)
        self.batch_size = batch_size
        self._mapper = mapper
        self._own_mapper = mapper is None

    def close(self) -> None:
        if self._mapper is not None and self._own_mapper:
            self._mapper.close()
            self._mapper = None

    def __enter__(self) -> Remapper:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- what to do ------------------------------------------------------------------------------------------
    def quarantined_sources(self) -> list[str]:
        with self.catalogue.engine.connect() as conn:
            return list(conn.execute(select(quarantine.c.source).distinct().order_by(quarantine.c.source)).scalars())

    def retry(
        self, source: str | None = None, *, field: str | None = None, error_class: str | None = None
    ) -> list[RemapReport]:
        """Map the quarantined records again (of one source, or of every source with any); one run per source.
        `field` and `error_class` narrow it to one group of `dmlake errors`."""
        names = [source] if source else self.quarantined_sources()
        return [self._run(name, "retry", field=field, error_class=error_class) for name in names]

    def remap(self, source: str) -> RemapReport:
        """Map every live record of the source again, and its quarantined records."""
        return self._run(source, "remap")

    # -- a run -----------------------------------------------------------------------------------------------
    def _run(self, source: str, mode: str, *, field: str | None = None, error_class: str | None = None) -> RemapReport:
        connector = self._connector(source)
        run_id = self.runs.start(source, mode)
        report = RemapReport(source, run_id, mode)
        started = time.monotonic()

        def finish(state: str, message: str | None) -> RemapReport:
            report.state = state
            report.seconds = time.monotonic() - started
            notes = [message] if message else []
            if report.skipped:
                notes.append(f"{len(report.skipped)} records skipped (see the report)")
            report.message = "; ".join(notes) or None
            self.runs.finish(run_id, state, report.counts, report.batches, 0, 0, report.message)
            return report

        try:
            if mode == "remap":
                self._each_batch(report, connector, self._live_payloads(source, report))
            self._each_batch(report, connector, self._quarantined_payloads(source, report, field, error_class))
        except _Aborted:
            return finish("aborted", "aborted by a data manager; what was committed before stays")
        except KeyboardInterrupt:
            finish("aborted", "stopped by the operator; what was committed before stays")
            raise
        except Exception as error:
            log.exception("%s of %s failed", mode, source)
            return finish("failed", f"{type(error).__name__}: {error}")
        return finish("succeeded", None)

    def _connector(self, source: str) -> type[Connector]:
        with self.catalogue.engine.connect() as conn:
            kind = conn.execute(select(sources.c.kind).where(sources.c.name == source)).scalar()
        if kind is None:
            raise RemapError(f"the catalogue has no source named {source!r}: nothing of it was ever harvested")
        connector = self.kinds.get(kind)
        if connector is None:
            raise RemapError(
                f"source {source!r} was harvested with connector kind {kind!r}, which this dmlake does not have "
                f"(installed: {', '.join(sorted(self.kinds))})"
            )
        return connector

    def _each_batch(self, report: RemapReport, connector: type[Connector], batches: Iterator[list[_Stored]]) -> None:
        for batch in batches:
            if self._aborted(report.run_id):
                raise _Aborted
            mapped: list[Mapped] = []
            rejected: list[Rejected] = []
            for outcome in self._map(connector, report, batch):
                if isinstance(outcome, Mapped):
                    mapped.append(outcome)
                else:
                    rejected.append(outcome)
                    key = f"{outcome.stage}/{outcome.field}: {outcome.error_class}"
                    report.errors[key] = report.errors.get(key, 0) + 1
            report.counts.add(self.catalogue.store_remapped(report.source, report.run_id, mapped, rejected))
            report.attempted += len(batch)
            report.batches += 1
            self.runs.progress(report.run_id, report.counts, report.batches, 0, 0)

    def _map(self, connector: type[Connector], report: RemapReport, batch: list[_Stored]) -> list[Mapped | Rejected]:
        """Map a batch, records retrieved together in one job (the pool maps a job with one retrieval time)."""
        if self._mapper is None:
            self._mapper = Mapper()
        ordered = sorted(batch, key=lambda item: item.retrieved_at)
        jobs = [
            self._mapper.submit(connector, [item.raw for item in group], report.source, report.run_id, when)
            for when, group in ((when, list(items)) for when, items in groupby(ordered, key=lambda i: i.retrieved_at))
        ]
        return [outcome for job in jobs for outcome in job.result()]

    def _aborted(self, run_id: int) -> bool:
        with self.catalogue.engine.connect() as conn:
            return conn.execute(select(runs.c.state).where(runs.c.id == run_id)).scalar() == "aborted"

    # -- payloads from the raw store -------------------------------------------------------------------------
    def _live_payloads(self, source: str, report: RemapReport) -> Iterator[list[_Stored]]:
        """Every live record of the source that is not quarantined, with its own payload, in id order."""
        query = (
            select(
                records.c.id,
                records.c.native_id,
                records.c.data,
                records.c.raw_sha256,
                records.c.source_url,
                records.c.source_updated,
                records.c.validators,
                records.c.updated_at,
                raw_payloads.c.data.label("payload"),
                raw_payloads.c.media_type,
            )
            .select_from(
                records.outerjoin(raw_payloads, raw_payloads.c.sha256 == records.c.raw_sha256).outerjoin(
                    quarantine,
                    and_(quarantine.c.source == records.c.source, quarantine.c.native_id == records.c.native_id),
                )
            )
            .where(records.c.source == source, records.c.tombstone.is_(None), quarantine.c.id.is_(None))
        )

        def why_skipped(row: Any) -> str | None:
            return _missing_payload(source, row.raw_sha256) if row.payload is None else None

        def stored(row: Any) -> _Stored:
            raw = RawRecord(
                native_id=row.native_id,
                payload=codec.decompress(row.payload),
                media_type=row.media_type,
                url=row.source_url or "",
                source_updated=row.source_updated,
                validators=orjson.loads(row.validators) if row.validators else None,
            )
            return _Stored(raw, _retrieved_at(row.data) or _aware(row.updated_at))

        return self._stored_batches(query, records.c.id, "", report, why_skipped, stored)

    def _quarantined_payloads(
        self, source: str, report: RemapReport, field: str | None, error_class: str | None
    ) -> Iterator[list[_Stored]]:
        """The source's quarantined records (narrowed to a field and error class if given), in quarantine order."""
        conditions = [quarantine.c.source == source]
        if field is not None:
            conditions.append(quarantine.c.field == field)
        if error_class is not None:
            conditions.append(quarantine.c.error_class == error_class)
        query = (
            select(
                quarantine.c.id,
                quarantine.c.native_id,
                quarantine.c.raw_sha256,
                quarantine.c.source_url,
                quarantine.c.source_updated,
                quarantine.c.last_seen,
                raw_payloads.c.data.label("payload"),
                raw_payloads.c.media_type,
                records.c.source_url.label("record_url"),
                records.c.tombstone,
                records.c.tombstoned_at,
            )
            .select_from(
                quarantine.outerjoin(raw_payloads, raw_payloads.c.sha256 == quarantine.c.raw_sha256).outerjoin(
                    records,
                    and_(records.c.source == quarantine.c.source, records.c.native_id == quarantine.c.native_id),
                )
            )
            .where(*conditions)
        )

        def stored(row: Any) -> _Stored:
            raw = RawRecord(
                native_id=row.native_id,
                payload=codec.decompress(row.payload),
                media_type=row.media_type,
                url=row.source_url or row.record_url,
                source_updated=row.source_updated,
            )
            return _Stored(raw, _aware(row.last_seen))

        return self._stored_batches(
            query, quarantine.c.id, 0, report, lambda row: _why_not_retried(source, row), stored
        )

    def _stored_batches(
        self,
        query: Select[Any],
        key: ColumnElement[Any],
        first: object,
        report: RemapReport,
        why_skipped: Callable[[Any], str | None],
        stored: Callable[[Any], _Stored],
    ) -> Iterator[list[_Stored]]:
        """The rows of `query` in `key` order, `batch_size` per transaction, each batch read after the last key of
        the one before (a keyset: records committed by the batch before do not move the next one). A row
        `why_skipped` names a reason for goes to the report's skipped; the others become `stored(row)`."""
        last = first
        while True:
            with self.catalogue.engine.connect() as conn:
                rows = list(conn.execute(query.where(key > last).order_by(key).limit(self.batch_size)))
            if not rows:
                return
            last = rows[-1]._mapping[key]
            batch = []
            for row in rows:
                reason = why_skipped(row)
                if reason is not None:
                    report.skipped.append(Skipped(row.native_id, reason))
                else:
                    batch.append(stored(row))
            if batch:
                yield batch


def _why_not_retried(source: str, row: Any) -> str | None:
    if row.payload is None:
        return _missing_payload(source, row.raw_sha256)
    if (
        row.tombstone is not None
        and row.tombstoned_at is not None
        and _aware(row.tombstoned_at) >= _aware(row.last_seen)
    ):
        return (
            f"deleted at the source after it was quarantined ({row.tombstone}); it comes back if the source lists "
            "it again"
        )
    if not (row.source_url or row.record_url):
        return (
            "quarantined before dmlake kept the URL of quarantined records, and the catalogue has no copy of it: "
            f"harvest it again (`dmlake harvest {source} --full`)"
        )
    return None


def _missing_payload(source: str, sha256: str | None) -> str:
    return (
        f"its raw payload ({sha256 or 'no sha256 kept'}) is not in the raw store: harvest the source again "
        f"(`dmlake harvest {source} --full`)"
    )


def _retrieved_at(blob: bytes) -> datetime | None:
    """When the stored record's payload was retrieved (its provenance), without building the whole model."""
    stamp = orjson.loads(codec.decompress(blob)).get("provenance", {}).get("retrieved_at")
    return _aware(datetime.fromisoformat(stamp)) if isinstance(stamp, str) else None


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes for timezone-aware columns; every stamp we write is UTC
    return value if value.tzinfo else value.replace(tzinfo=UTC)
