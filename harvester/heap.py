"""Give the C heap's free memory back to the kernel while a process works in bulk.

glibc's malloc keeps what a process frees for later use instead of returning it, and each thread that allocates gets
an arena of its own (up to eight per core). A harvest allocates in several threads (the committer, the fetch thread,
SQLite's page caches, tantivy's indexing arena in the follower), each with peaks of its own, so the freed part only
grows over a long run: 107k records into a 300k Zenodo harvest (`bench/memory.py`), the harvester's malloc held
151 MB of which 66 MB were in use; one thread's arena held 68 MB with 18 MB in use. Two settings keep that bounded
by the peaks of a batch instead of the length of the run:

* at most `ARENAS` arenas per process (`M_ARENA_MAX`): threads share them, so one thread's free memory serves
  another's next batch;
* `malloc_trim(0)` every `TRIM_SECONDS` on a daemon thread: whole free pages inside the arenas are handed back
  (`madvise`), not only the top of the heap. It takes a few milliseconds and releases the GIL while it runs.

Both are no-ops where the C library is not glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading

ARENAS = 2
TRIM_SECONDS = 5.0
_M_ARENA_MAX = -8  # glibc's mallopt parameter number

_started_in: int | None = None
"""The process (pid) whose trimming thread runs: a forked child has no threads and starts its own."""
_lock = threading.Lock()


def _glibc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.malloc_trim, libc.mallopt  # noqa: B018 (glibc has both; another C library may have neither)
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _glibc()


def limit_arenas(count: int = ARENAS) -> bool:
    """Cap malloc's arenas for threads started from now on; whether the C library took the setting."""
    return _LIBC is not None and bool(_LIBC.mallopt(_M_ARENA_MAX, count))


def trim() -> bool:
    """Hand the heap's free pages back to the kernel now; whether anything was released."""
    return _LIBC is not None and bool(_LIBC.malloc_trim(0))


def start_trimming(every: float = TRIM_SECONDS) -> threading.Thread | None:
    """Trim every `every` seconds on a daemon thread for the rest of this process (once per process)."""
    global _started_in
    if _LIBC is None:
        return None
    with _lock:
        if _started_in == os.getpid():
            return None
        _started_in = os.getpid()
    stop = threading.Event()  # never set: the thread ends with the process

    def run() -> None:
        while not stop.wait(every):
            trim()

    thread = threading.Thread(target=run, name="heap-trim", daemon=True)
    thread.start()
    return thread


def trimming() -> bool:
    """Whether this process runs its trimming thread."""
    return _started_in == os.getpid()
