"""One harvest run of one source: connector pages → raw store → mapper → gate → catalogue, page by page.

The run resumes an interrupted listing from its checkpoint, is incremental from the last completed run's watermark
unless asked for a full listing, and never stops for one bad record: mapping and validation failures go to the
quarantine, fetch failures to the run's error list, and the run reports both.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from connectors.base import Connector, HarvestState, Page
from connectors.http import HttpClient, HttpError
from harvester.catalogue import Catalogue, Counts, Mapped, PageWork, Rejected
from harvester.config import ConfigError, Source
from harvester.mapping import Mapper, MappingJob
from harvester.runs import Runs

log = logging.getLogger(__name__)


@dataclass
class Progress:
    """What a progress display shows, updated after every committed page."""

    source: str
    run_id: int
    mode: str
    pages: int = 0
    records: int = 0
    counts: Counts = field(default_factory=Counts)
    started: float = field(default_factory=time.monotonic)

    @property
    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.records / elapsed if elapsed > 0 else 0.0

    @property
    def errors(self) -> int:
        return self.counts.errored + self.counts.quarantined


@dataclass
class SourceReport:
    source: str
    run_id: int
    mode: str
    state: str
    counts: Counts
    pages: int
    seconds: float
    requests: int
    retries: int
    message: str | None = None
    pending_deletions: int = 0
    not_modified: int = 0
    """Conditional GETs answered 304: records (or pages) confirmed current without a download."""


_DONE = object()
HEARTBEAT_SECONDS = 1.0
"""How often a running harvest updates its run row (heartbeat and live counts)."""


def prefetched(pages: Iterator[Page], depth: int = 2) -> Generator[Page, None, None]:
    """Run the connector's page generator on its own thread, up to `depth` pages ahead.

    Fetching is mostly waiting for the network, mapping and committing are mostly CPU: overlapping them keeps both
    busy. Nothing is committed ahead: pages still commit one by one, in order, each with its own checkpoint. A
    connector error surfaces here, in the consuming thread, after the pages before it.
    """
    buffer: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for page in pages:
                while not stop.is_set():
                    try:
                        buffer.put(page, timeout=0.2)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            buffer.put(_DONE)
        except BaseException as error:  # handed to the consumer, which re-raises it
            buffer.put(error)

    thread = threading.Thread(target=produce, name="harvest-fetch", daemon=True)
    thread.start()
    try:
        while True:
            item = buffer.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        close = getattr(pages, "close", None)
        if close is not None and not thread.is_alive():
            close()


class Harvester:
    def __init__(
        self,
        catalogue: Catalogue,
        http: HttpClient,
        kinds: dict[str, type[Connector]],
        mapper: Mapper | None = None,
    ) -> None:
        self.catalogue = catalogue
        self.mapper = mapper or Mapper()
        self.runs = Runs(catalogue.engine)
        self.http = http
        self.kinds = kinds

    def close(self) -> None:
        """Stop the mapping workers (if any were started)."""
        self.mapper.close()

    def __enter__(self) -> Harvester:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def harvest(
        self,
        source: Source,
        *,
        full: bool = False,
        confirm_deletions: bool = False,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> SourceReport:
        name, spec = source.name, source.spec
        connector_class = self.kinds[spec.kind]
        try:
            connector = connector_class(spec, self.http)
        except (ValueError, TypeError) as error:
            raise ConfigError(str(error) if name in str(error) else f"source {name!r} ({spec.kind}): {error}") from None
        self.catalogue.ensure_source(name, spec.kind, spec.url)
        self.http.set_host_limits(spec.url, spec.limits)
        self.runs.reap_dead(name)
        resume, listing_id, previous = self.catalogue.checkpoint_state(name)
        if full and resume is not None:
            self.catalogue.discard_resume(name)
            resume, listing_id = None, None
        mode = "resume" if resume else ("full" if full or previous is None else "incremental")
        run_id = self.runs.start(name, mode)
        listing_id = listing_id or run_id
        requests_before, retries_before = self.http.stats.requests, self.http.stats.retries
        not_modified_before = self.http.stats.not_modified
        progress = Progress(name, run_id, mode)
        started = time.monotonic()
        state = HarvestState(
            resume=resume,
            previous=None if full else previous,
            full=full,
            known=lambda ids: self.catalogue.known_stamps(name, ids),
            validators=lambda ids: self.catalogue.known_validators(name, ids, connector_class.mapping_version),
        )
        final_checkpoint = previous or {}
        complete = False
        heartbeat = [started]

        def report(state_name: str, message: str | None, pending: int = 0) -> SourceReport:
            requests = self.http.stats.requests - requests_before
            retries = self.http.stats.retries - retries_before
            progress.counts.pending_deletions = pending
            not_modified = self.http.stats.not_modified - not_modified_before
            log.info(
                "%s run %d %s: %d requests, %d retries, %d not modified (304)",
                name, run_id, state_name, requests, retries, not_modified,
            )  # fmt: skip
            self.runs.finish(
                run_id, state_name, progress.counts, progress.pages, requests, retries, message, not_modified
            )
            return SourceReport(
                name,
                run_id,
                mode,
                state_name,
                progress.counts,
                progress.pages,
                time.monotonic() - started,
                requests,
                retries,
                message,
                pending,
                not_modified,
            )

        def commit(page: Page, outcomes: list[Mapped | Rejected]) -> None:
            nonlocal final_checkpoint, complete
            work = PageWork(
                checkpoint=page.checkpoint, unchanged=page.unchanged, deletions=page.deletions, failures=page.failures
            )
            for outcome in outcomes:
                if isinstance(outcome, Mapped):
                    work.mapped.append(outcome)
                else:
                    work.rejected.append(outcome)
            for rejected in work.rejected:
                log.warning(
                    "%s %s: %s failed at %s: %s",
                    name,
                    rejected.raw.native_id,
                    rejected.stage,
                    rejected.field,
                    rejected.message,
                )
            for failure in page.failures:
                log.warning("%s %s: could not fetch %s: %s", name, failure.native_id, failure.url, failure.message)
            progress.counts.add(self.catalogue.commit_page(name, run_id, work, listing_id))
            progress.pages += 1
            progress.records += len(page.records) + len(page.unchanged) + len(page.deletions)
            final_checkpoint = page.checkpoint
            complete = page.listing_complete
            # The run row is a heartbeat and a live view for `dmlake runs`, not the record of truth (the final
            # counts are written when the run ends): once a second is enough, and spares small pages a transaction.
            if time.monotonic() - heartbeat[0] >= HEARTBEAT_SECONDS:
                heartbeat[0] = time.monotonic()
                self.runs.progress(
                    run_id,
                    progress.counts,
                    progress.pages,
                    self.http.stats.requests - requests_before,
                    self.http.stats.retries - retries_before,
                    self.http.stats.not_modified - not_modified_before,
                )
            if on_progress is not None:
                on_progress(progress)

        # Two stages in flight: page N+1 is mapped (by the worker pool) while page N commits. Pages commit strictly
        # in order. When fetching fails, the pages before it still commit; when a commit fails, nothing after it does
        # (its checkpoint must never be passed).
        pages = prefetched(connector.pages(state))
        pending: tuple[Page, MappingJob] | None = None
        try:
            try:
                while True:
                    try:
                        page = next(pages)
                    except StopIteration:
                        break
                    except BaseException:
                        if pending is not None:
                            commit(pending[0], pending[1].result())
                        raise
                    job = self.mapper.submit(connector_class, page.records, name, run_id, datetime.now(UTC))
                    if pending is not None:
                        commit(pending[0], pending[1].result())
                    pending = (page, job)
                if pending is not None:
                    commit(pending[0], pending[1].result())
            finally:
                pages.close()
        except HttpError as error:
            return report("failed", f"{error}. The next run resumes after the last committed page.")
        except KeyboardInterrupt:
            report("aborted", "stopped by the operator; the next run resumes after the last committed page")
            raise
        except Exception as error:
            log.exception("harvest of %s failed", name)
            return report("failed", f"{type(error).__name__}: {error}")
        ending = self.catalogue.finish_listing(
            name,
            run_id,
            listing_id,
            complete,
            final_checkpoint,
            source.max_deletion_fraction,
            confirm_deletions,
        )
        progress.counts.deleted += len(ending.tombstoned)
        message = None
        if ending.pending:
            message = (
                f"{len(ending.pending)} of {ending.live_before} records disappeared from the listing, more than "
                f"the guard allows ({source.max_deletion_fraction:.0%}); they await confirmation: "
                f"`dmlake deletions confirm {name}` (or `reject`)"
            )
        return report("succeeded", message, len(ending.pending))
