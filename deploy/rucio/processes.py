"""Start the stack's long-running processes detached from the controller, and stop them again by pid.

Every process is started in its own session with its output in a log file, so the controller can exit (and a caller
that captures the controller's output is not kept waiting by an inherited pipe). A pid is only ever signalled after
checking that the process's command line still names the stack's directory: pids are reused by the system.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from contextlib import ExitStack, suppress
from pathlib import Path


def free_ports(count: int) -> list[int]:
    """`count` distinct ports that are free on 127.0.0.1 right now (all held open together, so never the same one)."""
    with ExitStack() as held:
        ports = []
        for _ in range(count):
            sock = held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            ports.append(int(sock.getsockname()[1]))
        return ports


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def spawn(command: Sequence[str], *, log: Path, env: Mapping[str, str], cwd: Path) -> int:
    """Start `command` detached (own session, stdin from /dev/null, stdout and stderr appended to `log`)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as output:
        process = subprocess.Popen(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,
        )
    return process.pid


def _command_line(pid: int) -> str | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return raw.replace(b"\0", b" ").decode(errors="replace")


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[0] == "Z"


def is_ours(pid: int, marker: str) -> bool:
    """Whether `pid` runs and its command line contains `marker` (the stack directory)."""
    if pid <= 0 or _is_zombie(pid):
        return False
    command = _command_line(pid)
    return command is not None and marker in command


def stop(pids: Mapping[str, int], marker: str, *, grace: float = 10.0) -> list[str]:
    """SIGTERM every process of `pids` that is still ours, wait up to `grace` seconds, then SIGKILL what is left.

    Returns the names of the processes that had to be killed."""
    running = {name: pid for name, pid in pids.items() if is_ours(pid, marker)}
    for pid in running.values():
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(is_ours(pid, marker) for pid in running.values()):
        _reap_children()
        time.sleep(0.1)
    killed = [name for name, pid in running.items() if is_ours(pid, marker)]
    for name in killed:
        _signal(running[name], signal.SIGKILL)
    _reap_children()
    return killed


def _signal(pid: int, signum: signal.Signals) -> None:
    with suppress(ProcessLookupError):
        os.kill(pid, signum)


def _reap_children() -> None:
    """Collect exited children of this controller, so they do not stay zombies while it waits."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
