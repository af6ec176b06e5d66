"""Start and stop the sandbox daemon (`dmlake sandbox up|down|status`)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


class SandboxError(RuntimeError):
    pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def status(state_file: Path) -> dict[str, Any] | None:
    """The running sandbox's state (pid, sources with URLs), or None when none runs."""
    if not state_file.exists():
        return None
    state: dict[str, Any] = json.loads(state_file.read_text())
    if not _alive(int(state["pid"])):
        state_file.unlink(missing_ok=True)
        return None
    return state


def up(
    state_file: Path,
    log_file: Path,
    *,
    corpus: Path | None = None,
    generate: int | None = None,
    seed: int = 0,
    kinds: list[str] | None = None,
    sources_out: Path | None = None,
    timeout: float = 300.0,
) -> dict[str, Any]:
    """Start the daemon detached and wait until it listens; refuses if one already runs for this state file."""
    running = status(state_file)
    if running is not None:
        raise SandboxError(f"a sandbox already runs (pid {running['pid']}); stop it with `dmlake sandbox down`")
    command = [sys.executable, "-m", "sandbox", "--state", str(state_file), "--seed", str(seed)]
    if corpus is not None:
        command += ["--corpus", str(corpus)]
    else:
        command += ["--generate", str(generate or 1000)]
    if kinds:
        command += ["--kinds", ",".join(kinds)]
    if sources_out is not None:
        command += ["--sources-out", str(sources_out)]
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if state_file.exists():
            return status(state_file) or {}
        if process.poll() is not None:
            tail = log_file.read_text(errors="replace")[-2000:]
            raise SandboxError(
                f"the sandbox stopped during start-up (exit {process.returncode}); its log says:\n{tail}"
            )
        time.sleep(0.1)
    process.terminate()
    raise SandboxError(f"the sandbox did not start listening within {timeout:.0f} s; see {log_file}")


def down(state_file: Path, timeout: float = 20.0) -> int | None:
    """Stop the daemon; returns its pid, or None when none was running."""
    state = status(state_file)
    if state is None:
        return None
    pid = int(state["pid"])
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.05)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)
    state_file.unlink(missing_ok=True)
    return pid
