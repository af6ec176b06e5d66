"""`python -m bench.memory_trace REPORT dmlake-args…`: run the dmlake CLI with tracemalloc on, report what grew.

Snapshots are taken every `--every` seconds (default 20) on a thread; at exit the allocation sites (grouped by
traceback of a few frames) that grew most between the first snapshot taken after the run warmed up and the last are
written to REPORT, with SQLite's own heap (`sqlite3_memory_used`, which tracemalloc does not see) at each snapshot.
`DMLAKE_TRACE_EVERY` sets the seconds between snapshots, `DMLAKE_TRACE_FRAMES` the frames kept per allocation.
Only this process is traced: the spawned mapping workers and index follower start fresh interpreters.
"""

from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import os
import runpy
import sys
import threading
import time
import tracemalloc
from pathlib import Path

FRAMES = int(os.environ.get("DMLAKE_TRACE_FRAMES", "3"))
"""Frames kept per allocation: more name the caller better and slow the run more (6 frames: about 3x)."""
WARM_UP_SECONDS = 15.0


def sqlite_heap_bytes() -> int:
    """What SQLite's allocator holds (page caches, statements), or -1 when the library cannot be asked."""
    name = ctypes.util.find_library("sqlite3")
    if name is None:
        return -1
    try:
        library = ctypes.CDLL(name)
    except OSError:
        return -1
    library.sqlite3_memory_used.restype = ctypes.c_int64
    return int(library.sqlite3_memory_used())


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks")
    ] + [("keepcost", ctypes.c_size_t)]


def malloc_bytes() -> tuple[int, int]:
    """(in use, free but kept) bytes of glibc's malloc: a large second figure is fragmentation, not live objects."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _MallInfo2
    except (OSError, AttributeError):
        return -1, -1
    info = libc.mallinfo2()
    return int(info.uordblks + info.hblkhd), int(info.fordblks)


def object_census(top: int = 12) -> list[tuple[str, int]]:
    """The most numerous object types the collector tracks (cheap next to tracemalloc; names what is held)."""
    import collections
    import gc

    counts = collections.Counter(type(o).__name__ for o in gc.get_objects())
    return counts.most_common(top)


def probe_line(started: float) -> str:
    anon = 0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            anon = int(line.split()[1]) >> 10
    used, free = malloc_bytes()
    return (
        f"{time.monotonic() - started:7.0f} s  anon {anon} MiB  malloc in use {used >> 20} MiB, free {free >> 20} MiB"
        f"  SQLite {sqlite_heap_bytes() >> 20} MiB  objects {object_census()}"
    )


def probe_only(report: Path, every: float) -> None:
    """Without tracemalloc: RSS, malloc, SQLite's heap and an object census every `every` seconds, to REPORT."""
    started = time.monotonic()
    done = threading.Event()
    lines: list[str] = []

    def sample() -> None:
        while not done.wait(every):
            lines.append(probe_line(started))
            report.write_text("\n".join(lines) + "\n")

    def write() -> None:
        done.set()
        lines.append(probe_line(started))
        report.write_text("\n".join(lines) + "\n")

    atexit.register(write)
    threading.Thread(target=sample, name="memory-probe", daemon=True).start()
    runpy.run_module("harvester.cli", run_name="__main__", alter_sys=True)


def main() -> None:
    report = Path(sys.argv[1])
    every = float(os.environ.get("DMLAKE_TRACE_EVERY", "20"))
    sys.argv = ["dmlake", *sys.argv[2:]]
    if FRAMES == 0:
        probe_only(report, every)
        return
    tracemalloc.start(FRAMES)
    started = time.monotonic()
    snapshots: list[tuple[float, tracemalloc.Snapshot, int]] = []
    done = threading.Event()

    def take() -> None:
        snapshot = tracemalloc.take_snapshot().filter_traces(
            [
                tracemalloc.Filter(False, tracemalloc.__file__),
                tracemalloc.Filter(False, "<frozen importlib._bootstrap>"),
            ]
        )
        moment = (time.monotonic() - started, snapshot, sqlite_heap_bytes())
        # Keep the first snapshot after warm-up and the latest one: two snapshots' traces are enough to compare.
        if len(snapshots) >= 2 and snapshots[-1][0] >= WARM_UP_SECONDS:
            snapshots[-1] = moment
        else:
            snapshots.append(moment)
        heaps.append((round(moment[0]), tracemalloc.get_traced_memory()[0], moment[2]))

    heaps: list[tuple[int, int, int]] = []

    def sample() -> None:
        while not done.wait(every):
            take()

    def write() -> None:
        done.set()
        take()
        base = next((s for s in snapshots if s[0] >= WARM_UP_SECONDS), snapshots[0])
        last = snapshots[-1]
        lines = [f"traced heap / SQLite heap (MiB) by second: {[(t, a >> 20, b >> 20) for t, a, b in heaps]}", ""]
        lines.append(f"growth between {base[0]:.0f} s and {last[0]:.0f} s, by allocation site:")
        for stat in last[1].compare_to(base[1], "traceback")[:25]:
            lines.append(
                f"{stat.size_diff / 2**20:+8.2f} MiB  {stat.count_diff:+8d} blocks  now {stat.size / 2**20:.2f} MiB"
            )
            lines.extend(f"      {line}" for line in stat.traceback.format(limit=FRAMES))
        report.write_text("\n".join(lines) + "\n")

    atexit.register(write)
    threading.Thread(target=sample, name="tracemalloc-sampler", daemon=True).start()
    runpy.run_module("harvester.cli", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
