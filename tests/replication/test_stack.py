"""The local Rucio stack moves real bytes between its sites, and frees them again.

Against the real stack (deploy/rucio): Rucio 41.5.1 on PostgreSQL, the conveyor daemons driving one qbittorrent-nox
per site, the reaper deleting from the sites' folders. A test uses the client side only, as dmlake does: the project's
rucio-clients over REST with the stack's client config.
"""

from __future__ import annotations

import configparser
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psutil
import pytest
from rucio_stack import CONTROLLER, RUCIO_PYTHON, RucioStack, file_checksums, stack_unavailable

pytestmark = pytest.mark.xdist_group("rucio")

SCOPE = "stacktest"
MiB = 1 << 20


@pytest.fixture(scope="module")
def client(rucio_stack: RucioStack) -> Any:
    client = rucio_stack.client()
    if SCOPE not in client.list_scopes():
        client.add_scope(rucio_stack.account, SCOPE)
    return client


def random_file(folder: Path, size: int) -> Path:
    path = folder / f"stack-{uuid.uuid4().hex[:12]}.bin"
    with open(path, "wb") as handle:
        for _ in range(size // MiB):
            handle.write(os.urandom(MiB))
    return path


def upload(client: Any, path: Path, rse: str) -> None:
    from rucio.client.uploadclient import UploadClient

    UploadClient(client).upload([{"path": str(path), "rse": rse, "did_scope": SCOPE}])


def test_the_stack_runs_on_its_own_loopback_ports(rucio_stack: RucioStack) -> None:
    info = rucio_stack.info
    assert info["rucio_version"] == "41.5.1"
    assert list(rucio_stack.sites) == ["STAGING", "SITE_A", "SITE_B", "SITE_C"]
    assert rucio_stack.staging_rse == "STAGING"
    assert rucio_stack.site_rses == ["SITE_A", "SITE_B", "SITE_C"]
    ports = [info["postgresql"]["port"], info["server"]["port"]]
    for site in info["sites"].values():
        ports += [site["qbittorrent_webui_port"], site["bittorrent_port"]]
    assert len(set(ports)) == len(ports) == 10
    listening = {
        (connection.laddr.ip, connection.laddr.port)
        for connection in psutil.net_connections("inet")
        if connection.status == psutil.CONN_LISTEN and connection.laddr.port in ports
    }
    assert {port for _, port in listening} == set(ports), "every recorded port has a listener"
    assert {ip for ip, _ in listening} == {"127.0.0.1"}, f"bound beyond loopback: {sorted(listening)}"
    for name, pid in info["pids"].items():
        assert psutil.pid_exists(pid), f"{name} (pid {pid}) is not running"
    assert os.environ["RUCIO_CONFIG"] == str(rucio_stack.client_config)
    client_config = configparser.ConfigParser()
    client_config.read(rucio_stack.client_config)
    assert client_config.sections() == ["client"], "a [database] section would switch a client into server mode"


def test_up_on_a_running_stack_says_so_and_describes_it_again(rucio_stack: RucioStack) -> None:
    again = subprocess.run(
        [str(RUCIO_PYTHON), str(CONTROLLER), "up", "--dir", str(rucio_stack.directory)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "already running" in again.stderr
    assert json.loads(again.stdout) == rucio_stack.info
    status = subprocess.run(
        [str(RUCIO_PYTHON), str(CONTROLLER), "status", "--dir", str(rucio_stack.directory)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    report = json.loads(status.stdout)
    assert report["running"] is True
    assert all(process["running"] for process in report["processes"].values())
    assert report["engine_heartbeat_age_seconds"] < 30, "the engine loops"


def test_each_site_is_an_rse_wired_to_its_own_qbittorrent(rucio_stack: RucioStack, client: Any) -> None:
    for name, site in rucio_stack.sites.items():
        protocols = {protocol["scheme"]: protocol for protocol in client.get_protocols(name)}
        assert set(protocols) == {"file", "magnet"}
        assert protocols["file"]["prefix"] == protocols["magnet"]["prefix"] == f"{site.prefix}/".replace("//", "/")
        assert protocols["magnet"]["port"] == site.bittorrent_port
        # None, not 0: the magnet protocol must never be chosen for upload, download or deletion
        assert protocols["magnet"]["domains"]["lan"] == {"read": None, "write": None, "delete": None}
        attributes = client.list_rse_attributes(name)
        assert attributes["qbittorrent_management_address"] == site.qbittorrent_url
        assert attributes["greedyDeletion"] is True
        assert attributes["site"] == name
        assert attributes["tier"] == str(site.tier)
    assert sorted(rse["rse"] for rse in client.list_rses("tier=1")) == ["SITE_A", "SITE_B", "SITE_C"]


def test_a_rule_for_two_copies_moves_the_bytes_to_both_sites(
    rucio_stack: RucioStack, client: Any, tmp_path: Path
) -> None:
    original = random_file(tmp_path, 24 * MiB)
    md5, adler32 = file_checksums(original)
    upload(client, original, "SITE_A")
    catalogue = client.get_did(SCOPE, original.name)
    assert (catalogue["bytes"], catalogue["md5"], catalogue["adler32"]) == (24 * MiB, md5, adler32)

    rule_id = client.add_replication_rule([{"scope": SCOPE, "name": original.name}], 2, "SITE_B|SITE_C")[0]
    rule = rucio_stack.wait_rule(client, rule_id)
    assert rule["locks_ok_cnt"] == 2

    copies = rucio_stack.physical_copies(client, SCOPE, original.name)
    assert set(copies) == {"SITE_A", "SITE_B", "SITE_C"}
    for rse, path in copies.items():
        assert path.is_relative_to(rucio_stack.sites[rse].prefix), f"{rse}'s copy {path} is outside its folder"
        assert path.stat().st_size == 24 * MiB
        assert file_checksums(path) == (md5, adler32), f"the copy at {rse} differs from the original"
    inodes = {(path.stat().st_dev, path.stat().st_ino) for path in copies.values()}
    assert len(inodes) == 3, "each site holds its own copy, not a link to another's"


def test_a_deleted_rule_lets_the_reaper_free_the_copy_and_a_new_rule_brings_it_back(
    rucio_stack: RucioStack, client: Any, tmp_path: Path
) -> None:
    original = random_file(tmp_path, 8 * MiB)
    md5, adler32 = file_checksums(original)
    upload(client, original, "STAGING")
    did = [{"scope": SCOPE, "name": original.name}]
    rule_id = client.add_replication_rule(did, 1, "SITE_C")[0]
    rucio_stack.wait_rule(client, rule_id)
    copy = rucio_stack.physical_copies(client, SCOPE, original.name)["SITE_C"]
    assert file_checksums(copy) == (md5, adler32)

    # Deleting a rule through the API only schedules it (an hour later); a 1 s lifetime lets the judge-cleaner
    # remove it at its next turn, and purge_replicas makes its replicas the reaper's at once.
    client.delete_replication_rule(rule_id, purge_replicas=True)
    client.update_replication_rule(rule_id, {"lifetime": 1})
    deadline = time.monotonic() + 120
    while copy.exists() or "SITE_C" in rucio_stack.physical_copies(client, SCOPE, original.name):
        if time.monotonic() > deadline:
            pytest.fail(f"the reaper did not delete {copy} within 120 s. Engine log:\n{rucio_stack.log_tail()}")
        time.sleep(1)
    staging = rucio_stack.physical_copies(client, SCOPE, original.name)
    assert set(staging) == {"STAGING"}
    assert file_checksums(staging["STAGING"]) == (md5, adler32), "the staging copy is untouched"

    # the same file to the same site again: the bytes must really travel again (no stale torrent reports done)
    again = client.add_replication_rule(did, 1, "SITE_C")[0]
    rucio_stack.wait_rule(client, again)
    assert copy.exists(), "the rule is OK, so the file must be back on disk"
    assert file_checksums(copy) == (md5, adler32)


def test_a_copy_declared_bad_is_copied_again_from_a_good_one(
    rucio_stack: RucioStack, client: Any, tmp_path: Path
) -> None:
    original = random_file(tmp_path, 8 * MiB)
    checksums = file_checksums(original)
    upload(client, original, "SITE_A")
    did = [{"scope": SCOPE, "name": original.name}]
    rule_id = client.add_replication_rule(did, 1, "SITE_B")[0]
    rucio_stack.wait_rule(client, rule_id)
    copy = rucio_stack.physical_copies(client, SCOPE, original.name)["SITE_B"]
    with open(copy, "r+b") as handle:  # a silently damaged copy, as a checksum check would find it
        handle.seek(3 * MiB)
        handle.write(b"\0" * 4096)
    assert file_checksums(copy) != checksums

    assert client.declare_bad_file_replicas([{**did[0], "rse": "SITE_B"}], "checksum mismatch (stack test)") == {}
    deadline = time.monotonic() + 120
    while True:
        states = next(iter(client.list_replicas(did, all_states=True)))["states"]
        rule = client.get_replication_rule(rule_id)
        if states.get("SITE_B") == "AVAILABLE" and rule["state"] == "OK" and file_checksums(copy) == checksums:
            break
        if time.monotonic() > deadline:
            pytest.fail(
                f"the bad copy at SITE_B was not replaced within 120 s (replica states {states}, rule "
                f"{rule['state']}). Engine log:\n{rucio_stack.log_tail()}"
            )
        time.sleep(1)


# ------------------------------------------------------------------ the controller, without a running stack


def controller(*arguments: str | Path, python: str | Path = sys.executable) -> subprocess.CompletedProcess[str]:
    """stack.py run by `python` (by default the test's own, which has no Rucio server package)."""
    return subprocess.run(
        [str(python), str(CONTROLLER), *map(str, arguments)], capture_output=True, text=True, timeout=120, check=False
    )


def test_up_without_the_server_environment_says_what_is_missing(tmp_path: Path) -> None:
    result = controller("up", "--dir", tmp_path / "stack")
    assert result.returncode == 3, result.stderr
    assert "cannot run here" in result.stderr and ".rucio-venv" in result.stderr
    assert result.stdout == ""
    assert not (tmp_path / "stack").exists(), "nothing is created when the stack cannot run"


def test_up_refuses_site_names_rucio_would_refuse(tmp_path: Path) -> None:
    result = controller("up", "--dir", tmp_path / "stack", "--sites", "STAGING,site a")
    assert result.returncode != 0
    assert "--sites" in result.stderr and "capital letters" in result.stderr


def test_down_signals_only_processes_of_its_own_stack(tmp_path: Path) -> None:
    stack_dir = tmp_path / "stack"
    (stack_dir / "run").mkdir(parents=True)
    sleeper = [sys.executable, "-c", "import time; time.sleep(120)"]
    ours = subprocess.Popen([*sleeper, f"{stack_dir}/marker"])
    foreign = subprocess.Popen([*sleeper, f"{tmp_path}/elsewhere"])  # e.g. a reused pid: never the stack's
    try:
        (stack_dir / "run" / "pids.json").write_text(json.dumps({"engine": ours.pid, "server": foreign.pid}))
        result = controller("down", "--dir", stack_dir)
        assert result.returncode == 0, result.stderr
        assert ours.wait(timeout=30) is not None
        assert foreign.poll() is None, "down signalled a process whose command line does not name the stack"
        assert not (stack_dir / "run" / "pids.json").exists()
    finally:
        for process in (ours, foreign):
            process.kill()
            process.wait()


@pytest.mark.slow  # a second, small stack started twice: ~30 s on a quiet machine
def test_a_stack_started_again_keeps_its_catalogue_and_files_on_new_ports(tmp_path: Path) -> None:
    """down, then up on the same directory: same catalogue and RSE folders, new ports, transfers still work."""
    if not RUCIO_PYTHON.exists():
        stack_unavailable(f"{RUCIO_PYTHON} does not exist (scripts/setup.sh makes it)")
    stack_dir = Path(tempfile.mkdtemp(prefix="dmlake-rucio-restart-"))
    script = tmp_path / "client.py"
    script.write_text(_RESTART_CLIENT)
    try:
        first = controller("up", "--dir", stack_dir, "--sites", "SITE_X,SITE_Y,SITE_Z", "--owner-pid", os.getpid(),
                           python=RUCIO_PYTHON)  # fmt: skip
        if first.returncode == 3:
            stack_unavailable(first.stderr.strip().splitlines()[-1].split("cannot run here: ", 1)[-1])
        assert first.returncode == 0, first.stderr
        before = json.loads(first.stdout)
        assert before["staging_rse"] is None and {site["tier"] for site in before["sites"].values()} == {1}
        made = _run_client(script, before, "make", tmp_path)
        assert controller("down", "--dir", stack_dir, python=RUCIO_PYTHON).returncode == 0
        assert not any(_alive(pid) for name, pid in before["pids"].items() if name != "postgresql")

        again = controller("up", "--dir", stack_dir, "--sites", "SITE_X,SITE_Y,SITE_Z", "--owner-pid", os.getpid(),
                           python=RUCIO_PYTHON)  # fmt: skip
        assert again.returncode == 0, again.stderr
        after = json.loads(again.stdout)
        assert after["rucio_url"] != before["rucio_url"]
        assert [s["bittorrent_port"] for s in after["sites"].values()] != [
            s["bittorrent_port"] for s in before["sites"].values()
        ]
        checked = _run_client(script, after, f"check {made['name']}", tmp_path)
        assert checked["rule_state"] == "OK", "the rule made before the restart is still there"
        assert checked["md5"] == dict.fromkeys(("SITE_X", "SITE_Y", "SITE_Z"), made["md5"]), (
            "the copies made before the restart are intact, and a transfer after it moved the same bytes"
        )
    finally:
        controller("down", "--dir", stack_dir, python=RUCIO_PYTHON)
        shutil.rmtree(stack_dir, ignore_errors=True)


_RESTART_CLIENT = """
import hashlib, json, os, sys, time, uuid
from rucio.client import Client
from rucio.client.uploadclient import UploadClient

def md5(path):
    return hashlib.md5(open(path, "rb").read()).hexdigest()

def wait(client, rule_id):
    deadline = time.monotonic() + 120
    while client.get_replication_rule(rule_id)["state"] != "OK":
        assert time.monotonic() < deadline, f"rule {rule_id} not OK within 120 s"
        time.sleep(0.5)

def copies(client, name):
    return {rse: pfns[0].removeprefix("file://localhost")
            for replica in client.list_replicas([{"scope": "restart", "name": name}], schemes=["file"])
            for rse, pfns in replica["rses"].items()}

client = Client()
if sys.argv[1] == "make":
    client.add_scope("root", "restart")
    path = os.path.join(sys.argv[2], f"restart-{uuid.uuid4().hex[:8]}.bin")
    with open(path, "wb") as handle:
        handle.write(os.urandom(4 << 20))
    UploadClient(client).upload([{"path": path, "rse": "SITE_X", "did_scope": "restart"}])
    rule_id = client.add_replication_rule([{"scope": "restart", "name": os.path.basename(path)}], 1, "SITE_Y")[0]
    wait(client, rule_id)
    print(json.dumps({"name": os.path.basename(path), "md5": md5(path), "rule_id": rule_id}))
else:
    name = sys.argv[3]
    (rule,) = [r for r in client.list_did_rules("restart", name) if r["rse_expression"] == "SITE_Y"]
    again = client.add_replication_rule([{"scope": "restart", "name": name}], 1, "SITE_Z")[0]
    wait(client, again)
    checksums = {rse: md5(path) for rse, path in copies(client, name).items()}
    print(json.dumps({"rule_state": rule["state"], "md5": checksums}))
"""


def _run_client(script: Path, stack: dict[str, Any], arguments: str, folder: Path) -> dict[str, Any]:
    """Run the client script against `stack` in its own process (this process's Rucio config is the session's)."""
    command, *rest = arguments.split()
    result = subprocess.run(
        [sys.executable, str(script), command, str(folder), *rest],
        env={**os.environ, **stack["env"]},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"{result.stderr[-3000:]}\nengine log: {stack['engine']['log']}"
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
