"""SPARQL queries with a time limit: each runs in a worker process (`graphstore.worker`) that is killed at the limit.

Oxigraph has no way to interrupt a query from outside, and a thread cannot be stopped: a query that joins every
triple with every other would hold a core until it ended. So a limited query runs over a snapshot of the store (a
RocksDB checkpoint: hard links, taken again only when the graph changed since the last one) in a worker process;
at the limit the worker is killed — the work really stops — and the caller gets `QueryTimeout`. Workers are kept
between queries (starting one costs about a second), at most `max_workers` at a time.
"""

from __future__ import annotations

import logging
import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from graphstore.answers import Answer, UnknownAnswerFormat
from graphstore.worker import read_message, write_message

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 30.0
"""Seconds a query may run (the endpoint's `DMLAKE_SPARQL_TIMEOUT`, the CLI's `--timeout`)."""
MAX_WORKERS = 2
WORKER_MAIN = "import sys; from graphstore.worker import serve; serve(sys.stdin.buffer, sys.stdout.buffer)"


class QueryTimeout(RuntimeError):
    """A query stopped at its time limit; `advice` says how to raise the limit where it was set."""

    def __init__(self, seconds: float, advice: str) -> None:
        super().__init__(f"query stopped after {seconds:g} s: narrow it or {advice}")
        self.seconds = seconds


class QueryFailed(RuntimeError):
    """The worker could not answer (it died, or the store could not be read)."""


@dataclass
class _Worker:
    process: subprocess.Popen[bytes]

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        if self.alive():
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


class QueryRunner:
    """Answers queries over snapshots of one store in worker processes, each within its time limit."""

    def __init__(
        self,
        snapshot: Callable[[], tuple[Path, Callable[[], None]]],
        prefixes: dict[str, str],
        max_workers: int = MAX_WORKERS,
    ) -> None:
        """`snapshot()` gives a current snapshot directory and the function that releases it after the query."""
        self._snapshot = snapshot
        self._prefixes = prefixes
        self._slots = threading.BoundedSemaphore(max_workers)
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        self._closed = False

    def answer(self, text: str, fmt: str | None, accept: str | None, timeout: float, advice: str) -> Answer:
        """The query's answer serialised as `pick_format` chooses; raises `QueryTimeout` after `timeout` seconds
        (waiting for a free worker included), `SparqlError` or `UnknownAnswerFormat` as the store would."""
        from graphstore.store import SparqlError

        deadline = time.monotonic() + timeout
        if not self._slots.acquire(timeout=timeout):
            raise QueryTimeout(timeout, advice)
        try:
            path, release = self._snapshot()
            worker = self._take()
            try:
                request = {"snapshot": str(path), "query": text, "format": fmt, "accept": accept}
                header, body = self._ask(worker, request | {"prefixes": self._prefixes}, deadline)
            except QueryTimeout:
                log.warning("SPARQL query stopped after %g s (worker %d killed)", timeout, worker.process.pid)
                worker.kill()
                raise QueryTimeout(timeout, advice) from None
            except BaseException:
                worker.kill()
                raise
            finally:
                release()
            self._give_back(worker)
        finally:
            self._slots.release()
        if header["ok"]:
            return Answer(body, str(header["media_type"]))
        if header["error"] == "sparql":
            raise SparqlError(str(header["message"]))
        if header["error"] == "format":
            raise UnknownAnswerFormat(str(header["message"]))
        raise QueryFailed(f"the SPARQL worker could not answer: {header['message']}")

    def _ask(self, worker: _Worker, request: dict[str, Any], deadline: float) -> tuple[dict[str, Any], bytes]:
        stdin, stdout = worker.process.stdin, worker.process.stdout
        assert stdin is not None and stdout is not None
        try:
            write_message(stdin, orjson.dumps(request))
            stdin.flush()
        except BrokenPipeError:
            raise QueryFailed("the SPARQL worker process ended before the query was sent") from None
        ready, _, _ = select.select([stdout], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            raise QueryTimeout(0, "")
        header = read_message(stdout)
        body = read_message(stdout)
        if header is None or body is None:
            code = worker.process.poll()
            raise QueryFailed(f"the SPARQL worker process ended while answering (exit status {code})")
        return orjson.loads(header), body

    def _take(self) -> _Worker:
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if worker.alive():
                    return worker
                worker.kill()
        command = [sys.executable, "-c", WORKER_MAIN]
        environment = os.environ | {"PYTHONPATH": _package_root() + os.pathsep + os.environ.get("PYTHONPATH", "")}
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=environment)
        return _Worker(process)

    def _give_back(self, worker: _Worker) -> None:
        with self._lock:
            if self._closed:
                worker.kill()
            else:
                self._idle.append(worker)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.kill()


def _package_root() -> str:
    # the worker imports graphstore as this process does, installed or run from a checkout
    return str(Path(__file__).resolve().parent.parent)
