"""Start and stop the sandbox daemon (`dmlake sandbox up|down|status`), and point the home's DOI policy at the
sandbox's DataCite replica while it runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
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
    services: list[str] | None = None,
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
    if services:
        command += ["--services", ",".join(services)]
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


SANDBOX_MARK = "# Written by `dmlake sandbox up`"
"""First line of the files `up` writes for the DataCite replica; `down` removes only files that carry it."""
LOCAL_DOI_RATE = (6000, 60)
"""Requests per seconds for the local replica: DataCite's documented 300 per 5 minutes would stretch a sandbox trial
of a few dozen DOIs to minutes (the replica is on this machine and ours to load)."""


@dataclass(frozen=True)
class DoiSetup:
    """Where `up` left the DOI policy for the DataCite replica, and whether it is the home's own `doi.toml`."""

    endpoint: str
    policy: Path
    secrets: Path
    username: str
    password: str
    is_home_policy: bool


def point_doi_policy(home: Path, endpoint: str, public_url: str = "http://127.0.0.1:8000") -> DoiSetup:
    """Write a `[doi]` policy for the DataCite replica at `endpoint` and a secrets file with its test account.

    The policy is the home's `doi.toml` unless the home has one of its own (not written by `up`): that one is left
    alone and the sandbox's goes to `sandbox-doi.toml` (use it with `dmlake doi … --config`)."""
    from sandbox.replicas.datacite import DEFAULT_ACCOUNT, DEFAULT_PREFIX

    home_policy = home / "doi.toml"
    ours = not home_policy.exists() or _written_by_up(home_policy)
    policy = home_policy if ours else home / "sandbox-doi.toml"
    secrets = home / "sandbox-datacite.secrets"
    username, password = DEFAULT_ACCOUNT
    secrets.write_text(f"{SANDBOX_MARK}: the DataCite replica's test account\nusername = {username}\n"
                       f"password = {password}\n")  # fmt: skip
    secrets.chmod(0o600)
    requests, seconds = LOCAL_DOI_RATE
    policy.write_text(
        f"""{SANDBOX_MARK} for the sandbox's DataCite replica (removed by `dmlake sandbox down`).
# For real DOIs: endpoint = "https://api.test.datacite.org" (or https://api.datacite.org), your prefix, your
# account in DATACITE_USERNAME / DATACITE_PASSWORD or a secrets file, and remove this file's first line.
[doi]
endpoint = {json.dumps(endpoint)}
prefix = {json.dumps(DEFAULT_PREFIX)}
kinds = ["gitlab", "kcdc"]
public_url = {json.dumps(public_url)}
secrets_file = {json.dumps(str(secrets))}
requests = {requests}
per_seconds = {seconds}

# DOIs per file or per table too (off unless a rule is given), e.g.:
# [[doi.parts]]
# sources = ["dmdc"]
# dois = "files"
"""
    )
    return DoiSetup(endpoint, policy, secrets, username, password, ours)


def remove_doi_policy(home: Path) -> list[Path]:
    """The files `point_doi_policy` wrote (recognised by their first line), removed; a policy of the user's stays."""
    removed = []
    for path in (home / "doi.toml", home / "sandbox-doi.toml", home / "sandbox-datacite.secrets"):
        if path.exists() and _written_by_up(path):
            path.unlink()
            removed.append(path)
    return removed


def _written_by_up(path: Path) -> bool:
    with path.open(encoding="utf-8", errors="replace") as handle:
        return handle.readline().startswith(SANDBOX_MARK)
