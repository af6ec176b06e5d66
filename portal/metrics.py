"""Prometheus metrics at `/metrics`, read from the catalogue at each scrape (no counters kept in the process, so
every replica of the service reports the same numbers and a restart loses nothing).

Runs by source and state, records live and tombstoned by source, quarantined records and pending deletions by
source, the last harvest run's duration, age and state, requests and retries summed over runs, and each change-feed
consumer's position and lag behind the newest change.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import ColumnElement, Connection, Engine, Table, and_, func, select

from harvester.schema import changes, cursors, pending_deletions, quarantine, records, runs

HARVEST_MODES = ("full", "incremental", "resume")
"""Runs that fetch from the source (retry and remap runs only re-map the raw store)."""
ENDED = ("succeeded", "failed", "aborted", "interrupted")
RUN_OUTCOMES = ("added", "updated", "unchanged", "deleted", "errored", "quarantined")


@dataclass(frozen=True)
class RowsBySource:
    """A gauge: the rows of a catalogue table (those `where` selects), counted by source."""

    name: str
    documentation: str
    table: Table
    where: ColumnElement[bool] | None = None

    def collect(self, conn: Connection) -> GaugeMetricFamily:
        gauge = GaugeMetricFamily(self.name, self.documentation, labels=["source"])
        query = select(self.table.c.source, func.count()).group_by(self.table.c.source)
        for row in conn.execute(query if self.where is None else query.where(self.where)):
            gauge.add_metric([row.source], row[1])
        return gauge


QUARANTINED = RowsBySource("dmlake_quarantined_records", "Records in the quarantine, by source.", quarantine)
PENDING_DELETIONS = RowsBySource(
    "dmlake_pending_deletions",
    "Disappearances waiting for a data manager's confirmation, by source.",
    pending_deletions,
)
RUNNING = RowsBySource("dmlake_runs_running", "Runs in progress, by source.", runs, runs.c.state == "running")
RUN_TOTALS_BY_SOURCE = (
    ("dmlake_http_requests", "HTTP requests made by harvest runs, by source.", runs.c.requests),
    ("dmlake_http_retries", "HTTP requests retried by harvest runs, by source.", runs.c.retries),
    ("dmlake_http_not_modified", "Conditional requests answered 304 Not Modified, by source.", runs.c.not_modified),
)
"""Counters: a column of `runs` summed over the runs of each source."""


class CatalogueCollector(Collector):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        now = datetime.now(UTC)
        with self.engine.connect() as conn:
            run_counts = CounterMetricFamily(
                "dmlake_runs",
                "Runs recorded in the catalogue, by source, mode and state.",
                labels=["source", "mode", "state"],
            )
            for row in conn.execute(
                select(runs.c.source, runs.c.mode, runs.c.state, func.count()).group_by(
                    runs.c.source, runs.c.mode, runs.c.state
                )
            ):
                run_counts.add_metric([row.source, row.mode, row.state], row[3])
            yield run_counts

            outcomes = CounterMetricFamily(
                "dmlake_run_records",
                "Records handled by harvest runs, summed over runs, by source and outcome.",
                labels=["source", "outcome"],
            )
            totals = [CounterMetricFamily(name, text, labels=["source"]) for name, text, _ in RUN_TOTALS_BY_SOURCE]
            summed = [getattr(runs.c, name) for name in RUN_OUTCOMES] + [column for *_, column in RUN_TOTALS_BY_SOURCE]
            for row in conn.execute(
                select(runs.c.source, *(func.coalesce(func.sum(column), 0) for column in summed)).group_by(
                    runs.c.source
                )
            ):
                sums = row[1:]
                for name, value in zip(RUN_OUTCOMES, sums[: len(RUN_OUTCOMES)], strict=True):
                    outcomes.add_metric([row.source, name], value)
                for total, value in zip(totals, sums[len(RUN_OUTCOMES) :], strict=True):
                    total.add_metric([row.source], value)
            yield from (outcomes, *totals)

            stored = GaugeMetricFamily(
                "dmlake_records",
                "Records in the catalogue, by source and status (live, tombstoned).",
                labels=["source", "status"],
            )
            for row in conn.execute(
                select(records.c.source, (records.c.tombstone.is_(None)).label("live"), func.count()).group_by(
                    records.c.source, records.c.tombstone.is_(None)
                )
            ):
                stored.add_metric([row.source, "live" if row.live else "tombstoned"], row[2])
            yield stored

            yield QUARANTINED.collect(conn)
            yield PENDING_DELETIONS.collect(conn)

            yield from self._last_runs(conn, now)

            last_seq = int(conn.execute(select(func.max(changes.c.seq))).scalar() or 0)
            sequence = GaugeMetricFamily("dmlake_change_feed_sequence", "Sequence number of the newest change.")
            sequence.add_metric([], last_seq)
            yield sequence
            position = GaugeMetricFamily(
                "dmlake_consumer_position", "Last change applied by each change-feed consumer.", labels=["consumer"]
            )
            lag = GaugeMetricFamily(
                "dmlake_consumer_lag_changes",
                "Changes each change-feed consumer has yet to apply.",
                labels=["consumer"],
            )
            for row in conn.execute(select(cursors.c.consumer, cursors.c.seq)):
                position.add_metric([row.consumer], row.seq)
                lag.add_metric([row.consumer], max(0, last_seq - row.seq))
            yield from (position, lag)

    def _last_runs(self, conn: Connection, now: datetime) -> Iterator[Metric]:
        duration = GaugeMetricFamily(
            "dmlake_last_run_duration_seconds", "Duration of each source's last ended harvest run.", labels=["source"]
        )
        age = GaugeMetricFamily(
            "dmlake_last_run_age_seconds", "Seconds since each source's last harvest run ended.", labels=["source"]
        )
        state = GaugeMetricFamily(
            "dmlake_last_run_state",
            "1 for the state of each source's last ended harvest run (succeeded, failed, aborted, interrupted).",
            labels=["source", "state"],
        )
        latest = (
            select(runs.c.source, func.max(runs.c.id).label("id"))
            .where(and_(runs.c.mode.in_(HARVEST_MODES), runs.c.state.in_(ENDED)))
            .group_by(runs.c.source)
            .subquery()
        )
        query = select(runs.c.source, runs.c.state, runs.c.started_at, runs.c.finished_at).join(
            latest, runs.c.id == latest.c.id
        )
        for row in conn.execute(query):
            started, finished = _aware(row.started_at), _aware(row.finished_at or row.started_at)
            duration.add_metric([row.source], (finished - started).total_seconds())
            age.add_metric([row.source], max(0.0, (now - finished).total_seconds()))
            state.add_metric([row.source, row.state], 1)
        yield from (duration, age, state, RUNNING.collect(conn))


def metrics_text(engine: Engine) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(CatalogueCollector(engine))
    return generate_latest(registry)


def metrics_router(engine: Engine) -> APIRouter:
    router = APIRouter()

    @router.get("/metrics", tags=["admin"], summary="Prometheus metrics", response_class=Response)
    def metrics() -> Response:
        return Response(metrics_text(engine), media_type=CONTENT_TYPE_LATEST)

    return router


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes for timezone-aware columns; every stamp we write is UTC
    return value if value.tzinfo else value.replace(tzinfo=UTC)
