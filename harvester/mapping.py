"""Mapping raw records to the model — inline, or on a pool of worker processes.

Mappers are pure functions of the raw bytes, so a page's records can be mapped anywhere and in any order; what comes
back is only what the catalogue stores (ids, hashes, the encoded record). Mapping is the heaviest CPU work of a
harvest, and Python runs one thread at a time, so on a machine with several cores a pool of processes maps while the
main process commits pages and the fetch thread waits for the network.

The pool starts lazily (on the first page large enough to be worth it) with fresh interpreters that end with the
harvester and skip its `__main__` module (`harvester.children`); everything they run lives in this module. Kinds a
worker cannot import (test connectors) map inline.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import datetime
from typing import Any

import orjson
import pydantic

from connectors import registry
from connectors.base import Connector, MappingError, RawRecord
from harvester import codec, gate
from harvester.catalogue import Mapped, Rejected
from harvester.children import SpawnWithoutMain, die_with_parent
from harvester.gc_tuning import tune_for_bulk_work
from harvester.identity_rules import match_keys
from harvester.machine import usable_cores
from indexer.document import DOCUMENT_FINGERPRINT, member_entry

log = logging.getLogger(__name__)

MIN_CHUNK = 8
"""Fewest records per task sent to a worker. A page is split in one task per worker: sending and collecting a task
costs the harvester's main process (the serial part of a harvest) about 0.15 ms, and two tasks per worker cost it
10-15 µs more per record on 25-record Zenodo pages, for no gain in time (the next page is already queued behind)."""
MIN_PAGE = 16
"""Pages smaller than this map inline: feeding the pool would cost more than it saves."""
MAX_WORKERS = 4
"""The most workers a harvest starts by default: past that, the serial harvester process is the bottleneck."""
MAP_WORKERS_ENV = "DMLAKE_MAP_WORKERS"


def map_one(
    connector: type[Connector], raw: RawRecord, source: str, run_id: int, retrieved_at: datetime
) -> Mapped | Rejected:
    """Map and gate one raw record; every failure becomes a `Rejected` naming the field."""
    outcome = _map_fields(connector, raw, source, run_id, retrieved_at)
    return outcome if isinstance(outcome, Rejected) else Mapped(raw, *outcome)


def _map_fields(
    connector: type[Connector], raw: RawRecord, source: str, run_id: int, retrieved_at: datetime
) -> tuple[Any, ...] | Rejected:
    """`map_one`'s work: a `Rejected`, or the fields of the `Mapped` after `raw`, in its order (a worker sends them
    back as they are: building a frozen dataclass of 11 fields and taking it apart again costs 3 µs a record)."""
    try:
        record = connector.map_record(raw, source)
    except MappingError as error:
        return Rejected(raw, "mapping", error.field, "MappingError", error.message)
    except pydantic.ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(record)"
        return Rejected(raw, "mapping", where, "ValidationError", first["msg"])
    except Exception as error:  # a mapper bug must not stop the run: report it against the record
        log.exception("mapper of %s crashed on %s", connector.kind, raw.native_id)
        return Rejected(raw, "mapping", "(mapper)", type(error).__name__, str(error) or repr(error))
    problems = gate.check(record, raw, source)
    if problems:
        return Rejected(raw, "validation", problems[0].field, "ValidationError", "; ".join(p.message for p in problems))
    provenance = record.provenance
    provenance.harvest_run = run_id
    provenance.retrieved_at = retrieved_at
    blob, content_hash = codec.encode_and_hash(record)
    return (
        record.id,
        record.native_id,
        provenance.raw_sha256,
        provenance.mapping_version,
        content_hash,
        blob,
        codec.compress(raw.payload),
        tuple(match_keys(record)),
        # built here, once, with the record in hand: the index follower then merges clusters without decoding
        codec.compress(orjson.dumps(member_entry(record))),
        DOCUMENT_FINGERPRINT,
    )


def _map_chunk(kind: str, source: str, run_id: int, retrieved_at: datetime, raws: list[RawRecord]) -> list[Any]:
    """Runs in a worker: map a chunk, returning small tuples (the raw bytes are not sent back):
    ("ok", record id, native id, raw sha256, mapping version, content hash, blob, raw blob, match keys, index entry,
    its version) or
    ("rejected", stage, field, error class, message)."""
    connector = registry()[kind]
    results: list[Any] = []
    for raw in raws:
        done = _map_fields(connector, raw, source, run_id, retrieved_at)
        if isinstance(done, Rejected):
            results.append(("rejected", done.stage, done.field, done.error_class, done.message))
        else:
            results.append(("ok", *done))
    return results


def start_worker(parent: int) -> None:
    """A mapping worker's start: end with the harvester, and set the collector for bulk work."""
    die_with_parent(parent)
    tune_for_bulk_work()


def default_workers() -> int:
    """Worker processes to map with: one per usable core beyond the first, at most 4 (none on one core: the page is
    mapped inline); `DMLAKE_MAP_WORKERS` overrides.

    The first core is left to the processes every harvest has besides the workers — the harvester itself (fetching,
    committing) and the index follower — which together cost about as much CPU per record as the mapping. One
    worker per core (as before) put more busy processes than cores on the machine: on 2 cores two workers spent 15 %
    more CPU per record than one (caches shared, more hand-offs) and the 100k Zenodo benchmark ran 8 % slower
    (861–922 against 967–983 records/s, alternating runs in one hour; `bench/`, README)."""
    configured = os.environ.get(MAP_WORKERS_ENV)
    if configured is not None:
        try:
            return max(0, int(configured))
        except ValueError:
            raise ValueError(
                f"{MAP_WORKERS_ENV}={configured!r} is not a whole number: set it to the number of mapping worker "
                "processes (0 maps inline in the harvester) or unset it for one per core beyond the first"
            ) from None
    return min(MAX_WORKERS, max(0, usable_cores() - 1))


class MappingJob:
    """A page being mapped, inline (on `result()`) or by pool workers."""

    def __init__(
        self,
        raws: Sequence[RawRecord],
        *,
        inline: Callable[[], list[Mapped | Rejected]] | None = None,
        futures: list[tuple[list[RawRecord], Future[list[Any]]]] | None = None,
    ) -> None:
        self.raws = raws
        self._inline = inline
        self._futures = futures or []

    def result(self) -> list[Mapped | Rejected]:
        if self._inline is not None:
            return self._inline()
        results: list[Mapped | Rejected] = []
        for chunk, future in self._futures:
            for raw, outcome in zip(chunk, future.result(), strict=True):
                if outcome[0] == "ok":
                    results.append(Mapped(raw, *outcome[1:]))
                else:
                    results.append(Rejected(raw, *outcome[1:]))
        return results


class Mapper:
    """Maps pages of raw records for one harvest; closes its worker pool when done."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = default_workers() if workers is None else workers
        self._pool: ProcessPoolExecutor | None = None
        self._known_kinds: set[str] | None = None

    def map_page(
        self, connector: type[Connector], raws: Sequence[RawRecord], source: str, run_id: int, retrieved_at: datetime
    ) -> list[Mapped | Rejected]:
        return self.submit(connector, raws, source, run_id, retrieved_at).result()

    def submit(
        self, connector: type[Connector], raws: Sequence[RawRecord], source: str, run_id: int, retrieved_at: datetime
    ) -> MappingJob:
        """Start mapping a page; the job's `result()` gives the outcomes in the page's order."""
        if not self._worth_pooling(connector, len(raws)):
            return MappingJob(
                raws, inline=lambda: [map_one(connector, raw, source, run_id, retrieved_at) for raw in raws]
            )
        pool = self._ensure_pool()
        size = max(MIN_CHUNK, -(-len(raws) // self.workers))
        chunks = [list(raws[start : start + size]) for start in range(0, len(raws), size)]
        futures = [pool.submit(_map_chunk, connector.kind, source, run_id, retrieved_at, chunk) for chunk in chunks]
        return MappingJob(raws, futures=list(zip(chunks, futures, strict=True)))

    def _worth_pooling(self, connector: type[Connector], count: int) -> bool:
        if self.workers < 1 or count < MIN_PAGE:
            return False
        if self._known_kinds is None:
            self._known_kinds = set(registry())
        return connector.kind in self._known_kinds and registry()[connector.kind] is connector

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            context = SpawnWithoutMain()
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=context,
                initializer=functools.partial(start_worker, os.getpid()),
            )
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
