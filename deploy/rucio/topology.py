"""The stack's RSEs: one deterministic DISK RSE per site on a local folder, wired to that site's qBittorrent.

Every RSE has two protocols on the same folder: `file` (posix) for upload, download and deletion, and `magnet`
(Rucio's bittorrent protocol) for third-party copies only. The magnet protocol's read/write/delete priorities are
`None`, not 0: Rucio only skips a protocol for an operation when the priority is None, and an upload that picked
magnet fails. Run again on an existing catalogue it brings every RSE up to date (ports change at every start) and
adds what is missing; it never removes an RSE.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rucio.client import Client
from rucio.common.exception import Duplicate, RSEProtocolNotSupported

# distances rank the sources of a transfer: the staging RSE feeds every site directly
STAGING_DISTANCE = 1
SITE_DISTANCE = 2


@dataclass(frozen=True)
class SiteSpec:
    rse: str
    prefix: Path  # the RSE's folder, with a trailing separator in the protocols
    bittorrent_port: int
    management_address: str  # this site's qBittorrent WebUI
    staging: bool


def file_protocol(prefix: str) -> dict[str, Any]:
    return {
        "scheme": "file",
        "hostname": "localhost",
        "port": 0,
        "prefix": prefix,
        "impl": "rucio.rse.protocols.posix.Default",
        "domains": {
            "lan": {"read": 1, "write": 1, "delete": 1},
            "wan": {"read": 1, "write": 1, "delete": 1, "third_party_copy_read": 1, "third_party_copy_write": 1},
        },
    }


def magnet_protocol(prefix: str, bittorrent_port: int) -> dict[str, Any]:
    return {
        "scheme": "magnet",
        "hostname": "127.0.0.1",
        "port": bittorrent_port,
        "prefix": prefix,
        "impl": "rucio.rse.protocols.bittorrent.Default",
        "domains": {
            "lan": {"read": None, "write": None, "delete": None},
            "wan": {
                "read": None,
                "write": None,
                "delete": None,
                "third_party_copy_read": 1,
                "third_party_copy_write": 1,
            },
        },
    }


def attributes(site: SiteSpec) -> dict[str, Any]:
    return {
        "site": site.rse,
        # tier=0 is the staging RSE, tier=1 the sites: a rule's expression `tier=1` means "any real site"
        "tier": "0" if site.staging else "1",
        # without it the reaper deletes an unlocked replica only under space pressure
        "greedyDeletion": True,
        "bittorrent_driver": "qbittorrent",
        "qbittorrent_management_address": site.management_address,
    }


def ensure_topology(client: Client, sites: Sequence[SiteSpec], account: str) -> dict[str, str]:
    """Create or update the RSEs, protocols, attributes, account limits and distances; returns {rse: rse_id}."""
    existing = {rse["rse"] for rse in client.list_rses()}
    ids: dict[str, str] = {}
    for site in sites:
        site.prefix.mkdir(parents=True, exist_ok=True)
        prefix = f"{site.prefix}/"
        if site.rse not in existing:
            client.add_rse(site.rse, deterministic=True, rse_type="DISK")
        _ensure_protocols(client, site.rse, [file_protocol(prefix), magnet_protocol(prefix, site.bittorrent_port)])
        for key, value in attributes(site).items():
            client.add_rse_attribute(site.rse, key, value)
        # -1: no quota (the stack is for development; quotas are a production decision)
        client.set_local_account_limit(account, site.rse, -1)
        ids[site.rse] = str(client.get_rse(site.rse)["id"])
    for source in sites:
        for destination in sites:
            if source.rse == destination.rse:
                continue
            distance = STAGING_DISTANCE if source.staging or destination.staging else SITE_DISTANCE
            try:
                client.add_distance(source.rse, destination.rse, {"distance": distance})
            except Duplicate:
                client.update_distance(source.rse, destination.rse, {"distance": distance})
    return ids


def _ensure_protocols(client: Client, rse: str, wanted: Sequence[dict[str, Any]]) -> None:
    try:
        present = {protocol["scheme"]: protocol for protocol in client.get_protocols(rse)}
    except RSEProtocolNotSupported:  # a new RSE has none yet
        present = {}
    for protocol in wanted:
        current = present.get(protocol["scheme"])
        if current is not None and _same(current, protocol):
            continue
        if current is not None:
            client.delete_protocols(rse, protocol["scheme"])
        client.add_protocol(rse, protocol)


def _same(current: dict[str, Any], wanted: dict[str, Any]) -> bool:
    return all(current.get(key) == wanted[key] for key in ("hostname", "port", "prefix", "impl"))
