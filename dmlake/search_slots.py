"""A bound on the searches of the embedded index running at once; the others wait their turn, first come first served.

tantivy releases the GIL while it searches, so without a bound every request the service is answering searches at
once and the operating system shares the cores between them: a search that needs 20 ms of CPU takes about
16 × 20 / 2 = 160 ms under 16 concurrent requests on two cores, and the dearest queries of a mix make its tail.
With a few searches running and the rest queued in arrival order, each waits for the queue ahead of it and then runs
at nearly full speed: the tail is set by the queue rather than by the dearest query. The bound must stay above the
core count, because part of each search is Python (building the query, reading the hits) and needs the GIL, during
which the cores would idle. The default is Elasticsearch's for its search thread pool (`thread_pool.search.size`:
cores × 3 / 2 + 1, so 4 on two cores); `bench/search_load.py --search-threads 4,0` measures it against no bound in
one run. For Elasticsearch the bound lives in the cluster, so the service sets slots only for the embedded index.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from types import TracebackType

from harvester.machine import usable_cores

SEARCH_THREADS_ENV = "DMLAKE_SEARCH_THREADS"
"""How many searches of the embedded index the service runs at once (0: no bound); default `default_search_threads`."""


def default_search_threads() -> int:
    """Elasticsearch's search pool size for this machine: usable cores × 3 / 2 + 1."""
    return usable_cores() * 3 // 2 + 1


def configured_search_threads(explicit: int | None = None) -> int:
    """The bound to use: `explicit` if given, else `DMLAKE_SEARCH_THREADS`, else `default_search_threads()`; 0
    means none."""
    if explicit is not None:
        value, origin = explicit, "--search-threads"
    else:
        text = os.environ.get(SEARCH_THREADS_ENV, "").strip()
        if not text:
            return default_search_threads()
        try:
            value, origin = int(text), SEARCH_THREADS_ENV
        except ValueError:
            problem = f"{SEARCH_THREADS_ENV}={text!r} is not a whole number; set it to 0 (no bound) or more"
            raise ValueError(problem) from None
    if value < 0:
        raise ValueError(f"{origin} is {value}; it takes 0 (no bound) or more")
    return value


class SearchSlots:
    """A semaphore that hands a freed slot to the longest-waiting thread (`threading.Semaphore` lets a thread that
    arrives at the moment of release take it first, so an unlucky request could wait through many turns)."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"search slots must be 1 or more, not {size}")
        self.size = size
        self._lock = threading.Lock()
        self._free = size
        self._queue: deque[threading.Lock] = deque()

    @property
    def waiting(self) -> int:
        """Searches queued for a slot now."""
        with self._lock:
            return len(self._queue)

    def acquire(self) -> None:
        with self._lock:
            if self._free and not self._queue:
                self._free -= 1
                return
            turn = threading.Lock()
            turn.acquire()
            self._queue.append(turn)
        turn.acquire()  # released by the search that hands its slot on

    def release(self) -> None:
        with self._lock:
            if self._queue:
                self._queue.popleft().release()  # the slot passes straight on: no newcomer can take it first
            else:
                self._free += 1

    def __enter__(self) -> SearchSlots:
        self.acquire()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.release()
