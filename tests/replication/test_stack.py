"""The local Rucio stack moves real bytes between its sites, and frees them again.

Against the real stack (deploy/rucio): Rucio 41.5.1 on PostgreSQL, the conveyor daemons driving one qbittorrent-nox
per site, the reaper deleting from the sites' folders. A test uses the client side only, as dmlake does: the project's
rucio-clients over REST with the stack's client config.
"""

from __future__ import annotations

import configparser
import json
import os
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import psutil
import pytest
from rucio_stack import CONTROLLER, RUCIO_PYTHON, RucioStack, file_checksums

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
