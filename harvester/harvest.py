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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from connectors.base import Connector, HarvestState, Page
from connectors.http import HttpClient, HttpError
from harvester.catalogue import Catalogue, Counts, Mapped, PageWork, Rejected
from harvester.config import ConfigError, Source
from harvester.mapping import Mapper, MappingJob
from harvester.runs import Runs
from harvester.schedules import format_duration

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
BATCH_RECORDS = 1000
"""Records committed in one transaction at most: large enough that statement and commit costs vanish per record,
small enough that a crash loses little."""
HEARTBEAT_SECONDS = 1.0
"""How often a running harvest updates its run row (heartbeat and live counts)."""


STOPPED_STATE = "interrupted"
STOPPED_MESSAGE = "stopped on request after the page in hand; the next run resumes after the last committed page"


class StopRequest(threading.Event):
    """Set to stop a harvest between pages: the page in hand is mapped and committed with its checkpoint, and the
    run ends in `state` with `message` (the first request wins). A plain `threading.Event` works too."""

    def __init__(self) -> None:
        super().__init__()
        self.state = STOPPED_STATE
        self.message = STOPPED_MESSAGE
        self._lock = threading.Lock()

    def request(self, state: str, message: str) -> None:
        with self._lock:
            if not self.is_set():
                self.state, self.message = state, message
                self.set()


class Prefetched:
    """Runs the connector's page generator on its own thread, up to `depth` pages ahead.

    Fetching is mostly waiting for the network, mapping and committing are mostly CPU: overlapping them keeps both
    busy. Nothing is committed ahead: pages commit in order, each batch with its last page's checkpoint. A connector
    error surfaces here, in the consuming thread, after the pages before it.
    """

    def __init__(self, pages: Iterator[Page], depth: int = 2) -> None:
        self._pages = pages
        self._buffer: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._produce, name="harvest-fetch", daemon=True)
        self._thread.start()

    def _produce(self) -> None:
        try:
            for page in self._pages:
                while not self._stop.is_set():
                    try:
                        self._buffer.put(page, timeout=0.2)
                        break
                    except queue.Full:
                        continue
                if self._stop.is_set():
                    return
            self._buffer.put(_DONE)
        except BaseException as error:  # handed to the consumer, which re-raises it
            self._buffer.put(error)

    def __iter__(self) -> Prefetched:
        return self

    def __next__(self) -> Page:
        item = self._buffer.get()
        if item is _DONE:
            self._buffer.put(_DONE)  # asking again still ends
            raise StopIteration
        if isinstance(item, BaseException):
            raise item
        return cast(Page, item)

    def ready(self) -> bool:
        """Whether the next page (or the end) is already here: the fetcher keeps up with the committer."""
        return not self._buffer.empty()

    def close(self) -> None:
        self._stop.set()
        close = getattr(self._pages, "close", None)
        if close is not None and not self._thread.is_alive():
            close()


class CommitBatch:
    """Mapped pages waiting to commit together, in one transaction with the last page's checkpoint.

    A transaction per 25-record page spends most of its time on the transaction itself (statements, the commit,
    re-reading identity neighbours); pages that are already mapped while the committer is busy are committed as one.
    The batch is committed as soon as the fetcher falls behind (nothing is gained by waiting), when it holds
    `max_records` records or is `max_seconds` old (a crash loses at most that), and before a page that names a record
    the batch already holds (pages that change between calls): per-page order of upserts and deletions is kept.
    """

    def __init__(self, max_records: int = BATCH_RECORDS, max_seconds: float = 2.0) -> None:
        self.max_records = max_records
        self.max_seconds = max_seconds
        self.pages: list[tuple[Page, list[Mapped | Rejected]]] = []
        self._names: set[str] = set()
        self._records = 0
        self._started = 0.0

    def __bool__(self) -> bool:
        return bool(self.pages)

    @staticmethod
    def names(page: Page, outcomes: list[Mapped | Rejected]) -> set[str]:
        """Every native and record id the page touches."""
        names = {o.raw.native_id for o in outcomes} | {o.record_id for o in outcomes if isinstance(o, Mapped)}
        names.update(page.unchanged)
        names.update(d.native_id for d in page.deletions)
        names.update(f.native_id for f in page.failures)
        return names

    def conflicts(self, names: set[str]) -> bool:
        return not self._names.isdisjoint(names)

    def add(self, page: Page, outcomes: list[Mapped | Rejected], names: set[str]) -> None:
        if not self.pages:
            self._started = time.monotonic()
        self.pages.append((page, outcomes))
        self._names |= names
        self._records += len(outcomes) + len(page.unchanged) + len(page.deletions)

    def full(self) -> bool:
        return self._records >= self.max_records or time.monotonic() - self._started >= self.max_seconds

    def work(self) -> PageWork:
        """The batch as one page of work: everything in page order, the last page's checkpoint."""
        last = self.pages[-1][0]
        work = PageWork(checkpoint=last.checkpoint)
        for page, outcomes in self.pages:
            work.unchanged.extend(page.unchanged)
            work.deletions.extend(page.deletions)
            work.failures.extend(page.failures)
            for outcome in outcomes:
                if isinstance(outcome, Mapped):
                    work.mapped.append(outcome)
                else:
                    work.rejected.append(outcome)
        return work

    def clear(self) -> None:
        self.pages.clear()
        self._names.clear()
        self._records = 0


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
        self.batch_records = BATCH_RECORDS
        """Records committed together at most (`CommitBatch`); 1 commits every page on its own."""

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
        stop: threading.Event | None = None,
    ) -> SourceReport:
        """Harvest one source. `stop` (e.g. a `StopRequest`), once set, ends the run after the page in hand; so does
        the source's `timeout_seconds`, failing the run."""
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

        batch = CommitBatch(self.batch_records)

        def flush() -> None:
            nonlocal final_checkpoint, complete
            work = batch.work()
            for rejected in work.rejected:
                log.warning(
                    "%s %s: %s failed at %s: %s",
                    name,
                    rejected.raw.native_id,
                    rejected.stage,
                    rejected.field,
                    rejected.message,
                )
            for failure in work.failures:
                log.warning("%s %s: could not fetch %s: %s", name, failure.native_id, failure.url, failure.message)
            progress.counts.add(self.catalogue.commit_page(name, run_id, work, listing_id))
            progress.pages += len(batch.pages)
            progress.records += sum(len(p.records) + len(p.unchanged) + len(p.deletions) for p, _ in batch.pages)
            last = batch.pages[-1][0]
            final_checkpoint = last.checkpoint
            complete = last.listing_complete
            batch.clear()
            # The run row is a heartbeat and a live view for `dmlake runs`, not the record of truth (the final
            # counts are written when the run ends): once a second is enough.
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

        def take(mapped_page: tuple[Page, MappingJob]) -> None:
            page, job = mapped_page
            outcomes = job.result()
            names = CommitBatch.names(page, outcomes)
            if batch.conflicts(names):
                flush()
            batch.add(page, outcomes, names)

        def halted() -> tuple[str, str] | None:
            """Why to stop before the next page, if at all: a stop request, or the source's timeout."""
            if stop is not None and stop.is_set():
                return getattr(stop, "state", STOPPED_STATE), getattr(stop, "message", STOPPED_MESSAGE)
            timeout = getattr(source, "timeout_seconds", None)
            if timeout is not None and time.monotonic() - started > timeout:
                return "failed", (
                    f"stopped after {format_duration(timeout)}, the source's timeout (timeout in [sources.{name}]); "
                    "the pages before were committed and the next run resumes after them"
                )
            return None

        # Two stages in flight: page N+1 is mapped (by the worker pool) while the pages before it commit. Pages
        # commit strictly in order, in batches (`CommitBatch`). When fetching fails, the pages before it still commit;
        # when a commit fails, nothing after it does (its checkpoint must never be passed).
        pages = Prefetched(connector.pages(state))
        pending: tuple[Page, MappingJob] | None = None
        halt: tuple[str, str] | None = None
        try:
            try:
                while True:
                    halt = halted()
                    if halt is not None:
                        break
                    try:
                        page = next(pages)
                    except StopIteration:
                        break
                    except BaseException:
                        if pending is not None:
                            take(pending)
                        if batch:
                            flush()
                        raise
                    job = self.mapper.submit(connector_class, page.records, name, run_id, datetime.now(UTC))
                    if pending is not None:
                        take(pending)
                        if batch.full() or not pages.ready():
                            flush()
                    pending = (page, job)
                if pending is not None:
                    take(pending)
                if batch:
                    flush()
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
        if halt is not None:
            return report(*halt)
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
