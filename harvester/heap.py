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

Files mapped into memory count in the resident set too. The index follower's tantivy merges read whole index
segments through maps, so its resident set grew with the index (about 0.5 KB per record, 137 MiB at the peak of
indexing 300k documents) although none of it is the process's own memory. `start_paging_out(directory)` asks the
kernel every second to take back the pages of files under `directory` that this process maps (`MADV_PAGEOUT`,
Linux 5.4 and later): the same run peaked at 22 MiB. The advice is safe whatever the pages hold: a page read again
is read from the file, an anonymous page (should an address have been reused since `/proc/self/maps` was read) is at
most swapped out, never dropped, unlike `MADV_DONTNEED`. Pages that another process maps (a search server) are left
alone; the others leave the page cache too, so a later reader reads them from disk once.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading
from pathlib import Path

ARENAS = 2
TRIM_SECONDS = 5.0
PAGE_OUT_SECONDS = 1.0
_M_ARENA_MAX = -8  # glibc's mallopt parameter number
_MADV_PAGEOUT = 21  # linux/mman.h

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
if _LIBC is not None:
    _LIBC.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    _LIBC.madvise.restype = ctypes.c_int


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


def mapped_ranges(directory: str | Path, maps: str = "/proc/self/maps") -> list[tuple[int, int]]:
    """The address ranges at which this process maps files under `directory` (empty where there is no /proc)."""
    prefix = str(Path(directory).resolve()).rstrip("/") + "/"
    ranges = []
    try:
        with open(maps) as lines:
            for line in lines:
                # "start-end perms offset dev inode path" (the path may hold spaces; a deleted file ends " (deleted)")
                fields = line.split(maxsplit=5)
                if len(fields) == 6 and fields[5].startswith(prefix):
                    start, end = fields[0].split("-")
                    ranges.append((int(start, 16), int(end, 16)))
    except OSError:
        return []
    return ranges


def page_out_files(directory: str | Path) -> int:
    """Ask the kernel to take back the pages of files under `directory` mapped into this process (see the module
    doc); returns how many mappings it advised (0 where `MADV_PAGEOUT` is not available)."""
    if _LIBC is None:
        return 0
    advised = 0
    for start, end in mapped_ranges(directory):
        if _LIBC.madvise(start, end - start, _MADV_PAGEOUT) == 0:
            advised += 1
        # else EINVAL (a kernel before 5.4) or ENOMEM (unmapped meanwhile): nothing to give back
    return advised


def start_paging_out(directory: str | Path, every: float = PAGE_OUT_SECONDS) -> threading.Thread | None:
    """`page_out_files(directory)` every `every` seconds on a daemon thread for the rest of this process."""
    if _LIBC is None:
        return None
    stop = threading.Event()  # never set: the thread ends with the process

    def run() -> None:
        while not stop.wait(every):
            page_out_files(directory)

    thread = threading.Thread(target=run, name="page-out", daemon=True)
    thread.start()
    return thread
