"""Child processes of a harvest (mapping workers, the index follower): started fresh, and ended with it.

They start with `spawn`, so they never inherit the harvester's threads or database connections, but without running
the harvester's `__main__` module again, as multiprocessing's spawn does to find functions defined there: what they
run lives in importable modules, and the command line's imports (Alembic, Typer, Rich, every sub-command) cost each
child about a second of CPU at start for nothing. Each asks Linux to end it when the harvester dies, so a `kill -9`ed
harvest leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import multiprocessing.context
import multiprocessing.spawn
import os
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """Ask Linux to SIGKILL this process when its parent dies (no orphans after a killed harvest).

    The request only covers a death after it is made: if the parent died while this process was starting, it has
    already been handed to init, and it leaves at once.
    """
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the parent check below and broken pipes end it later
        pass
    if os.getppid() != parent:
        os._exit(0)


_starting_child = threading.local()
_wrapping = threading.Lock()
_original_preparation_data: Callable[[str], dict[str, Any]] | None = None


def _preparation_data_without_main(name: str) -> dict[str, Any]:
    """multiprocessing's start-up data for a spawned child, without `__main__` when `SpawnWithoutMain` starts it."""
    assert _original_preparation_data is not None
    data = _original_preparation_data(name)
    if getattr(_starting_child, "active", False):
        data.pop("init_main_from_name", None)
        data.pop("init_main_from_path", None)
    return data


@contextlib.contextmanager
def _without_main() -> Iterator[None]:
    # multiprocessing offers no option for this: its spawn module's look-up is wrapped, once, when the first child
    # starts, and the wrapper changes nothing unless this thread is starting a child of `SpawnWithoutMain`
    global _original_preparation_data
    with _wrapping:
        if _original_preparation_data is None:
            _original_preparation_data = multiprocessing.spawn.get_preparation_data
            multiprocessing.spawn.get_preparation_data = _preparation_data_without_main
    _starting_child.active = True
    try:
        yield
    finally:
        _starting_child.active = False


class _ProcessWithoutMain(multiprocessing.context.SpawnProcess):
    @staticmethod
    def _Popen(process_obj: Any) -> Any:
        with _without_main():
            return multiprocessing.context.SpawnProcess._Popen(process_obj)


class SpawnWithoutMain(multiprocessing.context.SpawnContext):
    """`spawn`, for processes that need nothing of `__main__` (their target lives in an importable module)."""

    Process = _ProcessWithoutMain
