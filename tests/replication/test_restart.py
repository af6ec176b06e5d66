"""Issue 8, acceptance 3: `dmlake replication sync` killed with SIGKILL mid-registration and again mid-replication,
then restarted, loses nothing and creates no duplicate rule (rules counted per DID in Rucio)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from replication_lab import NOT_REPLICATED, harvest, registry_of, rules_of, write_policy
from rucio_stack import REPO, RucioStack

from dmlake.lake import Lake
from ontology.model import Availability
from replication.naming import Did
from replication.policy import ReplicationPolicy
from sandbox.server import RunningSandbox

pytestmark = pytest.mark.xdist_group("rucio")
SCOPE = "dmdc_restart"


def _sync(home: Path, *arguments: str) -> subprocess.Popen[bytes]:
    """The command as a person starts it, in its own process."""
    command = [sys.executable, "-m", "harvester.replication_cli", "sync", *arguments]
    environment = {**os.environ, "DMLAKE_HOME": str(home), "DMLAKE_LOG_LEVEL": "INFO"}
    return subprocess.Popen(command, cwd=REPO, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _wait_for(condition: Any, what: str, process: subprocess.Popen[bytes] | None, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process is not None and process.poll() is not None:
            output = process.stdout.read().decode(errors="replace") if process.stdout else ""
            pytest.fail(f"sync ended (exit {process.returncode}) before {what}:\n{output[-3000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {timeout:.0f} s")
        time.sleep(0.1)


def _kill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL


def _files_registered(home: Path) -> int:
    with registry_of(home) as registry:
        return sum(len(registry.files(r.record_id)) for r in registry.releases())


def test_a_sync_killed_mid_replication_loses_nothing_and_makes_no_duplicate_rule(
    rucio_stack: RucioStack, sandbox: RunningSandbox, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    write_policy(home, rucio_stack, scope=SCOPE)
    lake = Lake.open(home)
    try:
        harvest(lake, sandbox)
        expected = {
            s.id: {d.name for d in s.record.distributions if ReplicationPolicy("X", exclude=tuple(NOT_REPLICATED))
                   .replicates(d.name)}
            for s in lake.catalogue.iter_records("dmdc")
        }  # fmt: skip
    finally:
        lake.close()
    total = sum(len(names) for names in expected.values())
    client: Any = rucio_stack.client()

    # 1. killed in the middle of registering (some files staged and registered, others not yet)
    first = _sync(home, "--interval", "1")
    _wait_for(lambda: _files_registered(home) >= 8, "8 files registered", first)
    _kill(first)
    assert _files_registered(home) < total, "the kill came too late to test anything"

    # 2. restarted, and killed again once everything is registered but copies are still being made
    second = _sync(home, "--interval", "1")

    def registered_not_replicated() -> bool:
        with registry_of(home) as registry:
            releases = registry.releases()
            done = len(releases) == len(expected) and all(r.fingerprint for r in releases)
        return done

    _wait_for(registered_not_replicated, "every release registered", second)
    _kill(second)

    # 3. restarted until every rule is OK
    def all_ok() -> bool:
        with registry_of(home) as registry:
            releases = registry.releases()
        rules = [
            r
            for release in releases
            for r in rules_of(client, Did(release.scope, release.dataset), rucio_stack.account)
        ]
        return bool(rules) and all(r["state"] == "OK" for r in rules)

    deadline = time.monotonic() + 240
    while True:
        third = _sync(home, "--once")
        output = third.communicate(timeout=300)[0].decode(errors="replace")
        assert third.returncode == 0, output
        if all_ok():
            break
        assert time.monotonic() < deadline, f"rules not OK in time; last sync:\n{output}\n{rucio_stack.log_tail()}"
        time.sleep(2)
    final = _sync(home, "--once")  # reads the final states and verifies the last copies
    assert final.wait(timeout=300) == 0

    # nothing lost: every file of every release is registered, in its dataset, with 2 verified copies at sites
    lake = Lake.open(home)
    try:
        ledger = lake.replica_ledger().for_records(list(expected))
    finally:
        lake.close()
    with registry_of(home) as registry:
        assert not registry.failures()
        for rid, names in expected.items():
            release = registry.release(rid)
            assert release is not None and release.fingerprint is not None and release.scope == SCOPE
            files = registry.files(rid)
            assert set(files) == names, rid
            dataset = Did(release.scope, release.dataset)
            content = {c["name"] for c in client.list_files(dataset.scope, dataset.name)}
            assert content == {f.did for f in files.values()}, rid
            # no duplicate rule: one rule per DID, account and RSE expression, exactly the two the policy makes
            rules = rules_of(client, dataset, rucio_stack.account)
            assert sorted(r["rse_expression"] for r in rules) == sorted([rucio_stack.staging_rse, "tier=1"]), rid
            for name in names:
                held = {r.site for r in ledger[rid] if r.file_name == name and r.state == Availability.ONLINE
                        and r.checksum_verified and r.site in rucio_stack.site_rses}  # fmt: skip
                assert len(held) == 2, (rid, name, ledger[rid])
            # and no stray rule on any of its files
            for row in files.values():
                assert rules_of(client, Did(row.scope, row.did), rucio_stack.account) == [], row.did
