"""`dmlake harvest SOURCE --dry-run [--limit N]`: what a harvest would bring, with nothing written anywhere.

The source's connector lists it as a harvest would (incremental from the last completed run's watermark, or from
the start with `--full`), up to `limit` records; each record is mapped and gated by the harvest's own `map_one`,
then compared with the catalogue: new (would be added), a different content hash (would be updated), a tombstone
(would come back), the same content (unchanged), or failed (stage, field, message, as the quarantine would hold
it). Records the connector itself reports unchanged (their source stamp or HTTP validators match the catalogue's)
and deletion markers naming live records are counted too.

Nothing is written: no catalogue rows, no runs row, no checkpoint, no raw payloads, no change feed, no index. The
catalogue is only read, and through a read-only connection (SQLite `mode=ro`; PostgreSQL a read-only transaction),
so a bug here could not write either (SQLite may create the empty `-wal`/`-shm` companions a reader of a WAL database
needs; they hold no data). A home without a catalogue is not created: every record would be new.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, and_, create_engine, event, select
from sqlalchemy.exc import SQLAlchemyError

from connectors import registry
from connectors.base import HarvestState, Limits
from connectors.http import HttpClient, HttpError
from harvester import codec, db
from harvester.catalogue import CHUNK, Catalogue, Mapped
from harvester.config import ConfigError, Source
from harvester.home import default_home
from harvester.mapping import map_one
from harvester.schema import records

DEFAULT_LIMIT = 100
OUTCOMES = ("add", "update", "restore", "unchanged", "delete", "fail", "fetch_failed")
"""What would happen to each record: added, updated, brought back from a tombstone, left unchanged, tombstoned (the
source says it was deleted), quarantined (mapping or validation failed), reported as a fetch error."""


@dataclass(frozen=True)
class Item:
    native_id: str
    outcome: str
    record_id: str | None = None
    title: str | None = None
    stage: str | None = None
    field: str | None = None
    message: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class DryRunReport:
    source: str
    kind: str
    mode: str
    limit: int | None
    catalogue: str
    """Where the comparison came from: the database, or "(none yet)"."""
    items: list[Item] = field(default_factory=list)
    requests: int = 0
    seconds: float = 0.0
    stopped_at_limit: bool = False
    error: str | None = None

    @property
    def counts(self) -> dict[str, int]:
        counted = Counter(item.outcome for item in self.items)
        return {outcome: counted.get(outcome, 0) for outcome in OUTCOMES}

    def failures(self) -> list[Item]:
        return [item for item in self.items if item.outcome in ("fail", "fetch_failed")]

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "kind": self.kind,
            "mode": self.mode,
            "limit": self.limit,
            "catalogue": self.catalogue,
            "counts": self.counts,
            "records": [item.to_json() for item in self.items],
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "stopped_at_limit": self.stopped_at_limit,
            "error": self.error,
            "written": "nothing",
        }


# -- reading the catalogue without a chance of writing it -----------------------------------------------------------
def database_url(home: str | Path | None) -> tuple[str, Path | None]:
    """The catalogue's URL for a home (without creating the home), and its SQLite file when it is one."""
    configured = os.environ.get("DMLAKE_DATABASE_URL")
    if configured:
        return configured, None
    folder = Path(home or os.environ.get("DMLAKE_HOME") or default_home()).expanduser().resolve()
    path = folder / "catalogue.sqlite"
    return db.sqlite_url(path), path


def read_only_engine(url: str, sqlite_file: Path | None) -> Engine | None:
    """An engine that cannot write the catalogue; None when there is no catalogue yet."""
    if sqlite_file is not None:
        if not sqlite_file.exists():
            return None
        uri = sqlite_file.resolve().as_uri() + "?mode=ro"
        return create_engine("sqlite://", creator=lambda: sqlite3.connect(uri, uri=True, check_same_thread=False))
    engine = db.create(url)
    if engine.dialect.name == "postgresql":

        @event.listens_for(engine, "begin")
        def _read_only(conn: Any) -> None:
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")

    return engine


class CatalogueView:
    """The read-only questions a dry run asks the catalogue (no catalogue: it knows nothing)."""

    def __init__(self, engine: Engine | None, source: str) -> None:
        self.catalogue = Catalogue(engine) if engine is not None else None
        self.source = source

    def previous_checkpoint(self) -> dict[str, Any] | None:
        if self.catalogue is None:
            return None
        return self.catalogue.checkpoint_state(self.source)[2]

    def known_stamps(self, native_ids: Sequence[str]) -> dict[str, str | None]:
        return {} if self.catalogue is None else self.catalogue.known_stamps(self.source, native_ids)

    def known_validators(self, native_ids: Sequence[str], mapping_version: str) -> dict[str, dict[str, str]]:
        if self.catalogue is None:
            return {}
        return self.catalogue.known_validators(self.source, native_ids, mapping_version)

    def stored(self, record_ids: Sequence[str]) -> dict[str, tuple[str, str | None]]:
        """(content hash, tombstone) of the records among `record_ids` the catalogue holds."""
        if self.catalogue is None or not record_ids:
            return {}
        found: dict[str, tuple[str, str | None]] = {}
        with self.catalogue.engine.connect() as conn:
            for start in range(0, len(record_ids), CHUNK):
                chunk = list(record_ids[start : start + CHUNK])
                rows = conn.execute(
                    select(records.c.id, records.c.content_hash, records.c.tombstone).where(records.c.id.in_(chunk))
                )
                found.update({row.id: (row.content_hash, row.tombstone) for row in rows})
        return found

    def live_native_ids(self, native_ids: Sequence[str]) -> set[str]:
        if self.catalogue is None or not native_ids:
            return set()
        with self.catalogue.engine.connect() as conn:
            rows = conn.execute(
                select(records.c.native_id)
                .where(and_(records.c.source == self.source, records.c.native_id.in_(list(native_ids))))
                .where(records.c.tombstone.is_(None))
            )
            return {row.native_id for row in rows}

    def close(self) -> None:
        if self.catalogue is not None:
            self.catalogue.close()


# -- the dry run ----------------------------------------------------------------------------------------------------
def dry_run(
    source: Source,
    http: HttpClient,
    view: CatalogueView,
    *,
    limit: int | None = DEFAULT_LIMIT,
    full: bool = False,
    catalogue_label: str = "",
) -> DryRunReport:
    """List up to `limit` records of `source` (None: all) through its connector and say what a harvest would do."""
    spec = source.spec
    kinds = registry()
    if spec.kind not in kinds:
        raise ConfigError(f"source {source.name!r}: no connector of kind {spec.kind!r}")
    connector_class = kinds[spec.kind]
    try:
        connector = connector_class(spec, http)
    except (ValueError, TypeError) as error:
        message = str(error) if source.name in str(error) else f"source {source.name!r} ({spec.kind}): {error}"
        raise ConfigError(message) from None
    http.set_host_limits(spec.url, spec.limits)
    previous = None if full else view.previous_checkpoint()
    report = DryRunReport(
        source.name,
        spec.kind,
        "full" if full or previous is None else "incremental",
        limit,
        catalogue_label,
    )
    state = HarvestState(
        previous=previous,
        full=full,
        known=view.known_stamps,
        validators=lambda ids: view.known_validators(ids, connector_class.mapping_version),
        limit=limit,
    )
    requests_before = http.stats.requests
    started = time.monotonic()
    seen: set[str] = set()
    retrieved = datetime.now(UTC)
    try:
        for page in _pages(connector.pages(state)):
            room = None if limit is None else limit - len(report.items)
            if room is not None and room <= 0:
                report.stopped_at_limit = True
                break
            items = _judge_page(page, connector_class, source.name, retrieved, view, seen)
            if room is not None and len(items) > room:
                items = items[:room]
                report.stopped_at_limit = True
            report.items += items
            if room is not None and len(items) >= room:
                report.stopped_at_limit = True
                break
    except HttpError as error:
        report.error = f"{error}"
    except Exception as error:  # a connector's refusal (OAI configuration, listing window): the report says it
        report.error = f"{type(error).__name__}: {error}"
    report.requests = http.stats.requests - requests_before
    report.seconds = time.monotonic() - started
    return report


def _pages(pages: Iterator[Any]) -> Iterator[Any]:
    try:
        yield from pages
    finally:
        close = getattr(pages, "close", None)
        if close is not None:
            close()


def _judge_page(
    page: Any, connector_class: Any, source: str, retrieved: datetime, view: CatalogueView, seen: set[str]
) -> list[Item]:
    outcomes = [map_one(connector_class, raw, source, 0, retrieved) for raw in page.records]
    stored = view.stored([o.record_id for o in outcomes if isinstance(o, Mapped)])
    items: list[Item] = []
    for outcome in outcomes:
        native_id = outcome.raw.native_id
        if isinstance(outcome, Mapped):
            title = codec.decode_record(outcome.blob).title
            before = stored.get(outcome.record_id)
            if outcome.record_id in seen:
                verdict = "unchanged"  # listed twice in this listing: the second sighting writes nothing
            elif before is None:
                verdict = "add"
            elif before[1] is not None:
                verdict = "restore"
            elif before[0] == outcome.content_hash:
                verdict = "unchanged"
            else:
                verdict = "update"
            seen.add(outcome.record_id)
            items.append(Item(native_id, verdict, outcome.record_id, title))
        else:
            items.append(Item(native_id, "fail", stage=outcome.stage, field=outcome.field, message=outcome.message))
    items += [
        Item(native_id, "unchanged", message="source stamp or validators unchanged") for native_id in page.unchanged
    ]
    live = view.live_native_ids([d.native_id for d in page.deletions])
    items += [Item(d.native_id, "delete", message=d.reason) for d in page.deletions if d.native_id in live]
    items += [Item(f.native_id, "fetch_failed", stage="fetch", message=f"{f.url}: {f.message}") for f in page.failures]
    return items


def run(
    source: Source,
    *,
    home: str | Path | None,
    contact: str | None,
    limit: int | None,
    full: bool,
) -> DryRunReport:
    """A dry run of one configured source against the home's catalogue (read-only)."""
    url, sqlite_file = database_url(home)
    try:
        engine = read_only_engine(url, sqlite_file)
    except SQLAlchemyError as error:
        raise ConfigError(f"cannot open the catalogue at {url} to compare with: {error}") from None
    label = "(none yet: every record would be new)" if engine is None else str(sqlite_file or url.split("@")[-1])
    view = CatalogueView(engine, source.name)
    try:
        with HttpClient(Limits(), contact=contact) as http:
            return dry_run(source, http, view, limit=limit, full=full, catalogue_label=label)
    except SQLAlchemyError as error:
        raise ConfigError(
            f"reading the catalogue at {label} failed: {error}. If dmlake was upgraded, run any dmlake command "
            "that opens the catalogue (e.g. `dmlake runs`) to migrate it first."
        ) from None
    finally:
        view.close()


# -- the command ----------------------------------------------------------------------------------------------------
def sources_file(home: str | Path | None, config: Path | None) -> Path | None:
    """As `Lake.sources` chooses, without creating the home: the file given, else the home's, else the default."""
    if config is not None:
        return config
    folder = Path(home or os.environ.get("DMLAKE_HOME") or default_home()).expanduser().resolve()
    candidate = folder / "sources.toml"
    return candidate if candidate.exists() else None


def command(
    names: Sequence[str],
    *,
    home: str | None,
    config: Path | None,
    limit: int | None,
    full: bool,
    as_json: bool,
    dry: bool,
) -> int:
    """`dmlake harvest --dry-run`: print each source's report; returns the exit status (0 ran, 1 a fetch failed, 2
    a usage error)."""
    import orjson
    from rich.console import Console

    from harvester import config as sources_config

    err = Console(stderr=True)
    if not dry:
        err.print("[bold red]error:[/] --limit and --json go with --dry-run (a real harvest takes every record)")
        return 2
    if limit is not None and limit < 0:
        err.print("[bold red]error:[/] --limit must be 0 (no limit) or more")
        return 2
    try:
        configured = sources_config.load(sources_file(home, config), known_kinds=sorted(registry()))
        chosen = configured.select(tuple(names))
        reports = [
            run(source, home=home, contact=configured.contact, limit=limit or None, full=full) for source in chosen
        ]
    except ConfigError as error:
        err.print(f"[bold red]error:[/] {error}")
        return 1
    if as_json:
        data = [report.to_json() for report in reports]
        print(orjson.dumps(data[0] if len(data) == 1 else data, option=orjson.OPT_INDENT_2).decode())
    else:
        for report in reports:
            print_report(report)
    return 1 if any(report.error for report in reports) else 0


def print_report(report: DryRunReport) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    out = Console()
    limit = f"the first {report.limit:,} records" if report.limit else "every record"
    out.print(
        f"[bold]{escape(report.source)}[/] ({report.kind}, {report.mode}): dry run over {limit}; compared with the "
        f"catalogue {escape(report.catalogue)}. [bold]Nothing was written.[/]"
    )
    listed = Table(title="what a harvest would do")
    for column in ("native id", "would", "title or error"):
        listed.add_column(column, overflow="fold")
    for item in report.items:
        if item.outcome in ("fail", "fetch_failed"):
            detail = f"[red]{escape(item.stage or '')} {escape(item.field or '')}: {escape(item.message or '')}[/]"
        else:
            detail = escape(item.title or item.message or "")
        listed.add_row(escape(item.native_id), item.outcome.replace("_", " "), detail)
    out.print(listed)
    failures = report.failures()
    if failures:
        failed = Table(title="records that would fail")
        for column in ("native id", "stage", "field", "message"):
            failed.add_column(column, overflow="fold")
        for item in failures:
            failed.add_row(*(escape(v or "") for v in (item.native_id, item.stage, item.field, item.message)))
        out.print(failed)
    summary = Table(title="summary")
    for outcome in OUTCOMES:
        summary.add_column(outcome.replace("_", " "), justify="right")
    summary.add_column("requests", justify="right")
    summary.add_column("duration", justify="right")
    counts = report.counts
    summary.add_row(*(f"{counts[o]:,}" for o in OUTCOMES), f"{report.requests:,}", f"{report.seconds:.1f} s")
    out.print(summary)
    if report.stopped_at_limit:
        out.print(f"stopped at --limit {report.limit}: the source has more (--limit 0 lists everything)")
    if report.error:
        Console(stderr=True).print(f"[bold red]error:[/] the listing stopped: {escape(report.error)}")
