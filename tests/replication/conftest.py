"""The local Rucio stack (deploy/rucio) for the replication tests.

`rucio_stack` starts one stack per test session in a temporary folder, on ports chosen free at start, and stops it at
the end (also when tests fail or the session is interrupted; should the test process die outright, the stack's engine
notices and stops the stack itself). Tests that use it carry `pytest.mark.xdist_group("rucio")`, so that under
`pytest -n 2 --dist loadgroup` one worker runs them all against one stack.

The stack needs qbittorrent-nox, PostgreSQL 15 and the Rucio server environment `.rucio-venv` (scripts/setup.sh
installs the first and makes the last). Where one is missing the tests are skipped with the reason, unless
DMLAKE_REQUIRE_RUCIO=1 (as on CI): then they fail with it.

While the stack runs, RUCIO_CONFIG and TMPDIR point at the stack's client config and temporary folder, so
`rucio.client.Client()` talks to it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from rucio_stack import CONTROLLER, REPO, RUCIO_PYTHON, RucioStack, stack_unavailable

from sandbox.replicas.gitlab import GitLabReplica
from sandbox.server import RunningSandbox, start

ARTIFACTS = REPO / "test-artifacts" / "rucio-stack"
EXIT_UNAVAILABLE = 3  # stack.py: this machine cannot run the stack
START_TIMEOUT = 300


def _controller(*arguments: str | Path, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(RUCIO_PYTHON), str(CONTROLLER), *map(str, arguments)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=REPO,
    )


def _forget_rucio_config() -> None:
    """The Rucio client caches the config it read first; another test may have read another one."""
    config = sys.modules.get("rucio.common.config")
    if config is not None:
        config.clean_cached_config()


def _keep_logs(directory: Path, info: dict[str, Any] | None = None) -> Path:
    """Copy the stack's logs (server, engine, PostgreSQL, each qBittorrent) to test-artifacts/rucio-stack/<time>/."""
    target = ARTIFACTS / datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    target.mkdir(parents=True, exist_ok=True)
    if (directory / "log").is_dir():
        shutil.copytree(directory / "log", target / "log", dirs_exist_ok=True)
    for log in [directory / "pg" / "postgres.log", *sorted((directory / "qbt").glob("*/qbittorrent-nox.out"))]:
        if log.is_file():
            shutil.copy2(log, target / f"{log.parent.name}-{log.name}")
    if (directory / "etc" / "rucio.cfg").is_file():
        shutil.copy2(directory / "etc" / "rucio.cfg", target / "rucio.cfg")
    if info is not None:
        (target / "stack.json").write_text(json.dumps(info, indent=2))
    return target


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep this folder's `xdist_group` tests on one worker under pytest 9.2 with pytest-xdist 3.8.

    `--dist loadgroup` works by appending "@<group>" to each grouped test's node id in the worker, but xdist 3.8 still
    writes the old `_nodeid` field, which pytest 9.2 no longer reads (node ids became structured): the groups are
    silently ignored and the replication tests spread over both workers, each starting its own stack
    (pytest-dev/pytest-xdist#1386). This applies the suffix to the structured id, for this folder's tests only,
    and does nothing where xdist's own suffix took effect."""
    if not getattr(config.option, "loadgroup", False):
        return
    folder = Path(__file__).resolve().parent
    for item in items:
        if not item.path.is_relative_to(folder):
            continue
        groups = {str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
                  for mark in item.iter_markers("xdist_group")}  # fmt: skip
        suffix = f"@{'_'.join(sorted(groups))}"
        if not groups or item.nodeid.endswith(suffix) or not hasattr(item, "_id"):
            continue
        from _pytest.nodeid import NodeId  # pytest >= 9.2

        item._id = NodeId.parse(f"{item.nodeid}{suffix}")


@pytest.fixture(scope="module")
def sandbox(corpus: Path) -> Iterator[RunningSandbox]:
    """The DMDC-style GitLab replica serving the COSINE-100 release: the portal the replication tests fetch from."""
    replica = GitLabReplica.from_corpus(corpus)
    assert replica is not None
    with start({"dmdc": replica}) as running:
        yield running


@pytest.fixture(scope="session")
def rucio_stack(request: pytest.FixtureRequest) -> Iterator[RucioStack]:
    if not RUCIO_PYTHON.exists():
        stack_unavailable(f"{RUCIO_PYTHON} does not exist (scripts/setup.sh makes it)")
    directory = Path(tempfile.mkdtemp(prefix="dmlake-rucio-"))
    try:
        started = _controller(
            "up", "--dir", directory, "--owner-pid", os.getpid(), "--temporary", timeout=START_TIMEOUT
        )
    except subprocess.TimeoutExpired:
        _controller("down", "--dir", directory, timeout=120)
        kept = _keep_logs(directory)
        shutil.rmtree(directory, ignore_errors=True)
        pytest.fail(f"the local Rucio stack did not start within {START_TIMEOUT} s (logs kept in {kept})")
    if started.returncode != 0:
        reason = started.stderr.strip().splitlines()[-1] if started.stderr.strip() else "(no message)"
        if started.returncode == EXIT_UNAVAILABLE:
            shutil.rmtree(directory, ignore_errors=True)
            stack_unavailable(reason.split("cannot run here: ", 1)[-1])
        kept = _keep_logs(directory)
        shutil.rmtree(directory, ignore_errors=True)
        pytest.fail(f"the local Rucio stack did not start (logs kept in {kept}):\n{started.stderr[-4000:]}")
    stack = RucioStack.from_description(json.loads(started.stdout))
    failures_before = request.session.testsfailed
    try:
        with pytest.MonkeyPatch.context() as environment:
            for key, value in stack.environment.items():
                environment.setenv(key, value)
            _forget_rucio_config()
            yield stack
            _forget_rucio_config()
    finally:
        stopped = _controller("down", "--dir", directory, timeout=180)
        if request.session.testsfailed > failures_before or stopped.returncode != 0:
            print(f"\nlocal Rucio stack logs kept in {_keep_logs(directory, stack.info)}", file=sys.stderr)
        leftovers = [name for name, pid in stack.info["pids"].items() if name != "postgresql" and _runs(pid, directory)]
        if (directory / "pg" / "data" / "postmaster.pid").exists():
            leftovers.append("postgresql")
        shutil.rmtree(directory, ignore_errors=True)
        if stopped.returncode != 0 or leftovers:
            pytest.fail(f"stopping the local Rucio stack failed ({leftovers} still running):\n{stopped.stderr}")


def _runs(pid: int, directory: Path) -> bool:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        status = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return status != "Z" and f"{directory}/" in command
