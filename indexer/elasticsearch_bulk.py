"""Bulk writes to Elasticsearch: bounded chunks, retry of what the cluster could not take, external versions.

    writer = BulkWriter(client, "dmlake-records-write")
    stats = writer.run(index_operation("dmlake-records-write", doc) for doc in documents)

* **Chunks and backpressure.** Operations are sent in chunks of at most `max_actions` operations and `max_bytes`
  bytes. Operations go to `concurrency` lanes by a hash of their document id; each lane has at most one request in
  flight and one chunk filling, so memory is bounded (about `2 × concurrency × max_bytes`) whatever the input size,
  and the input iterator is only read as fast as the cluster accepts. Two writes of one document always share a lane,
  so they reach Elasticsearch in the order given even with several lanes.
* **Partial failures.** A bulk response reports each operation. Those refused with 429 (the cluster's write queue is
  full) or a 5xx are sent again, alone, after an exponential backoff with jitter (a `Retry-After` header is
  honoured); a whole request answered 429/5xx or lost to a connection error is retried the same way; a request too
  large for the cluster (413) is split in two. Anything else refused (a 4xx: a value that does not fit the mapping,
  an unknown field) is a permanent error: the other operations still go through, and the run ends with a
  `BulkIndexError` naming each refused record, the field and Elasticsearch's reason.
* **External versions.** A document carrying an integer `version` (e.g. the change-feed sequence number of the change
  it reflects) is written with `version_type=external`: Elasticsearch keeps it only if its version is higher than
  the stored one, so an older update arriving late never overwrites a newer one. The 409 it answers for the stale
  write is counted as `superseded`, not as an error. A delete of a document that is not there (404) is not an error.
"""

from __future__ import annotations

import hashlib
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout
from elasticsearch import ApiError, Elasticsearch

from indexer.document import ID_FIELD
from indexer.document import VERSION_KEY as VERSION_KEY

log = logging.getLogger(__name__)


ActionKind = Literal["index", "delete"]


@dataclass(frozen=True)
class BulkSettings:
    max_actions: int = 1_000
    max_bytes: int = 8 * 1024 * 1024
    concurrency: int = 1
    max_retries: int = 8
    initial_backoff: float = 0.5
    max_backoff: float = 30.0

    def __post_init__(self) -> None:
        if self.max_actions < 1 or self.max_bytes < 1 or self.concurrency < 1 or self.max_retries < 0:
            raise ValueError("bulk settings: max_actions, max_bytes and concurrency must be positive")


@dataclass(frozen=True)
class Operation:
    """One bulk operation, serialised: the action line and, for `index`, the source line (each ending in \\n)."""

    kind: ActionKind
    doc_id: str
    lines: bytes

    @property
    def size(self) -> int:
        return len(self.lines)


def index_operation(index: str, document: Mapping[str, Any]) -> Operation:
    """An `index` operation for an `indexer.document.index_document` mapping (its `version` key, if any, becomes
    the external version; absent values are left out of the source)."""
    doc_id = document.get(ID_FIELD)
    if not isinstance(doc_id, str) or not doc_id:
        raise ValueError(f"an index document needs a non-empty string {ID_FIELD!r}; got {doc_id!r}")
    meta: dict[str, Any] = {"_index": index, "_id": doc_id}
    version = document.get(VERSION_KEY)
    if version is not None:
        meta.update(_external_version(doc_id, version))
    source = {key: value for key, value in document.items() if key != VERSION_KEY and value is not None and value != []}
    return Operation("index", doc_id, orjson.dumps({"index": meta}) + b"\n" + orjson.dumps(source) + b"\n")


def delete_operation(index: str, doc_id: str, version: int | None = None) -> Operation:
    """A `delete` operation; with a version, Elasticsearch ignores it (409) if the stored document is newer."""
    if not isinstance(doc_id, str) or not doc_id:
        raise ValueError(f"a delete needs a non-empty string document id; got {doc_id!r}")
    meta: dict[str, Any] = {"_index": index, "_id": doc_id}
    if version is not None:
        meta.update(_external_version(doc_id, version))
    return Operation("delete", doc_id, orjson.dumps({"delete": meta}) + b"\n")


def _external_version(doc_id: str, version: Any) -> dict[str, Any]:
    if isinstance(version, bool) or not isinstance(version, int) or not 0 <= version < 2**63:
        raise ValueError(
            f"record {doc_id}: {VERSION_KEY!r} must be an integer from 0 to 2**63-1 (e.g. the change-feed sequence "
            f"number); got {version!r}"
        )
    return {"version": version, "version_type": "external"}


@dataclass(frozen=True)
class BulkItemError:
    """An operation Elasticsearch refused for good."""

    doc_id: str
    action: str
    status: int
    error_type: str
    reason: str
    field: str | None = None

    def __str__(self) -> str:
        where = f" field {self.field!r}:" if self.field else ""
        return f"record {self.doc_id}: {self.action} refused ({self.status} {self.error_type}):{where} {self.reason}"


class BulkIndexError(RuntimeError):
    """Some operations of a bulk run were refused (or still failing after every retry); the others went through."""

    SHOWN = 10

    def __init__(self, index: str, errors: list[BulkItemError], attempted: int) -> None:
        self.index = index
        self.errors = errors
        self.attempted = attempted
        shown = "\n".join(f"  {error}" for error in errors[: self.SHOWN])
        more = f"\n  … and {len(errors) - self.SHOWN} more" if len(errors) > self.SHOWN else ""
        transient = any(error.status == 429 or error.status >= 500 or error.status == 0 for error in errors)
        advice = (
            "The cluster kept refusing work (overloaded or unavailable): nothing is lost, run the indexer again "
            "once it recovers."
            if transient
            else "A refused document does not fit the index template: fix the record (or the field it names in "
            "indexer.document), regenerate the template with `python -m indexer.elasticsearch_template` and rebuild "
            "the index."
        )
        super().__init__(
            f"Elasticsearch refused {len(errors)} of {attempted} operations on {index}:\n{shown}{more}\n{advice}"
        )


@dataclass
class BulkStats:
    operations: int = 0
    indexed: int = 0
    deleted: int = 0
    not_found: int = 0
    superseded: int = 0
    """Writes with an external version not newer than the stored one (409): the newer document was kept."""
    requests: int = 0
    retried_operations: int = 0
    retried_requests: int = 0
    errors: list[BulkItemError] = field(default_factory=list)

    def add(self, other: BulkStats) -> None:
        self.operations += other.operations
        self.indexed += other.indexed
        self.deleted += other.deleted
        self.not_found += other.not_found
        self.superseded += other.superseded
        self.requests += other.requests
        self.retried_operations += other.retried_operations
        self.retried_requests += other.retried_requests
        self.errors.extend(other.errors)


_FIELD_PATTERNS = (
    re.compile(r"failed to parse field \[([^\]]+)\]"),
    re.compile(r"dynamic introduction of \[([^\]]+)\]"),
    re.compile(r'in field="([^"]+)"'),
    re.compile(r"field \[([^\]]+)\]"),
)


def field_of(error: Mapping[str, Any]) -> str | None:
    """The document field an Elasticsearch item error is about, read from its reason (or its cause's)."""
    while isinstance(error, Mapping):
        reason = str(error.get("reason", ""))
        for pattern in _FIELD_PATTERNS:
            match = pattern.search(reason)
            if match:
                return match[1]
        error = error.get("caused_by")  # type: ignore[assignment]
    return None


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


class BulkWriter:
    """Sends operations to one index (or alias) in bulk; see the module doc. Not shared between threads."""

    def __init__(
        self,
        client: Elasticsearch,
        index: str,
        settings: BulkSettings | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.index = index
        self.settings = settings or BulkSettings()
        # The transport's own retries would repeat a 429 at once; this writer backs off instead.
        self._client = client.options(max_retries=0, retry_on_status=())
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._rng_lock = threading.Lock()

    def run(self, operations: Iterable[Operation]) -> BulkStats:
        """Send every operation; raise `BulkIndexError` at the end if any was refused for good."""
        total = BulkStats()
        if self.settings.concurrency == 1:
            for chunk in self._chunks(operations):
                total.add(self._send(chunk))
        else:
            total = self._run_lanes(operations)
        if total.errors:
            raise BulkIndexError(self.index, total.errors, total.operations)
        return total

    # ---- chunking -------------------------------------------------------------------------------------------

    def _chunks(self, operations: Iterable[Operation]) -> Iterator[list[Operation]]:
        chunk: list[Operation] = []
        size = 0
        for operation in operations:
            if chunk and (len(chunk) >= self.settings.max_actions or size + operation.size > self.settings.max_bytes):
                yield chunk
                chunk, size = [], 0
            chunk.append(operation)
            size += operation.size
        if chunk:
            yield chunk

    def _run_lanes(self, operations: Iterable[Operation]) -> BulkStats:
        lanes = self.settings.concurrency
        buffers: list[list[Operation]] = [[] for _ in range(lanes)]
        sizes = [0] * lanes
        in_flight: list[Future[BulkStats] | None] = [None] * lanes
        total = BulkStats()

        def submit(lane: int, pool: ThreadPoolExecutor) -> None:
            previous = in_flight[lane]
            if previous is not None:
                total.add(previous.result())  # backpressure: one request in flight per lane
            in_flight[lane] = pool.submit(self._send, buffers[lane])
            buffers[lane], sizes[lane] = [], 0

        with ThreadPoolExecutor(max_workers=lanes, thread_name_prefix="es-bulk") as pool:
            try:
                for operation in operations:
                    lane = _lane(operation.doc_id, lanes)
                    if buffers[lane] and (
                        len(buffers[lane]) >= self.settings.max_actions
                        or sizes[lane] + operation.size > self.settings.max_bytes
                    ):
                        submit(lane, pool)
                    buffers[lane].append(operation)
                    sizes[lane] += operation.size
                for lane in range(lanes):
                    if buffers[lane]:
                        submit(lane, pool)
            finally:
                for future in in_flight:
                    if future is not None:
                        total.add(future.result())
        return total

    # ---- sending --------------------------------------------------------------------------------------------

    def _send(self, chunk: list[Operation]) -> BulkStats:
        stats = BulkStats(operations=len(chunk))
        pending = chunk
        attempt = 0
        while pending:
            try:
                stats.requests += 1
                response = self._client.bulk(operations=[op.lines for op in pending], index=self.index)  # type: ignore[misc]
            except ApiError as error:
                if error.meta.status == 413 and len(pending) > 1:
                    half = len(pending) // 2
                    for part in (pending[:half], pending[half:]):
                        sub = self._send(part)
                        sub.operations = 0
                        stats.add(sub)
                    return stats
                if error.meta.status == 413:
                    stats.errors.append(
                        BulkItemError(
                            pending[0].doc_id,
                            pending[0].kind,
                            413,
                            "request_entity_too_large",
                            "the document alone is larger than the cluster's http.max_content_length",
                        )
                    )
                    return stats
                if not _retryable(error.meta.status):
                    raise
                if not self._back_off(attempt, _retry_after(error)):
                    stats.errors.extend(_exhausted(pending, error.meta.status, str(error)))
                    return stats
                attempt += 1
                stats.retried_requests += 1
                continue
            except (TransportConnectionError, ConnectionTimeout) as error:
                if not self._back_off(attempt, None):
                    stats.errors.extend(_exhausted(pending, 0, f"{type(error).__name__}: {error}"))
                    return stats
                attempt += 1
                stats.retried_requests += 1
                continue
            retry = self._read_items(pending, response.body, stats)
            if not retry:
                break
            if not self._back_off(attempt, None):
                stats.errors.extend(_exhausted(retry, 429, "still refused after every retry"))
                break
            attempt += 1
            stats.retried_operations += len(retry)
            pending = retry
        return stats

    def _read_items(self, pending: list[Operation], body: Mapping[str, Any], stats: BulkStats) -> list[Operation]:
        """Count what each item did; return the operations to send again."""
        items = body.get("items", [])
        if len(items) != len(pending):
            raise RuntimeError(
                f"Elasticsearch answered {len(items)} bulk items for {len(pending)} operations on {self.index}; "
                f"the response cannot be matched to the records"
            )
        retry = []
        for operation, item in zip(pending, items, strict=True):
            ((action, result),) = item.items()
            status = int(result.get("status", 0))
            if 200 <= status < 300:
                if action == "delete":
                    stats.deleted += 1
                else:
                    stats.indexed += 1
            elif status == 404 and action == "delete":
                stats.not_found += 1
            elif status == 409:
                stats.superseded += 1
            elif _retryable(status):
                retry.append(operation)
            else:
                error = result.get("error") or {}
                stats.errors.append(
                    BulkItemError(
                        doc_id=str(result.get("_id", operation.doc_id)),
                        action=action,
                        status=status,
                        error_type=str(error.get("type", "unknown")),
                        reason=str(error.get("reason", "no reason given")),
                        field=field_of(error),
                    )
                )
        return retry

    def _back_off(self, attempt: int, retry_after: float | None) -> bool:
        """Sleep before retry number `attempt + 1`; False when the retries are used up."""
        if attempt >= self.settings.max_retries:
            return False
        ceiling = min(self.settings.max_backoff, self.settings.initial_backoff * 2**attempt)
        with self._rng_lock:
            delay = ceiling * (0.5 + self._rng.random() / 2)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.settings.max_backoff))
        log.info("bulk to %s: backing off %.2f s before retry %d", self.index, delay, attempt + 1)
        self._sleep(delay)
        return True


def _lane(doc_id: str, lanes: int) -> int:
    return int.from_bytes(hashlib.blake2b(doc_id.encode("utf-8"), digest_size=4).digest(), "big") % lanes


def _retry_after(error: ApiError) -> float | None:
    value = error.meta.headers.get("retry-after") if error.meta.headers else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _exhausted(operations: list[Operation], status: int, reason: str) -> list[BulkItemError]:
    return [BulkItemError(op.doc_id, op.kind, status, "retries_exhausted", reason) for op in operations]
