"""The local Rucio stack as the tests see it: what `deploy/rucio/stack.py up` describes, and helpers to use it.

The `rucio_stack` fixture (tests/replication/conftest.py) yields a `RucioStack`; tests import the types and helpers
from here (`from rucio_stack import RucioStack, file_checksums`).
"""

from __future__ import annotations

import hashlib
import os
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
RUCIO_PYTHON = REPO / ".rucio-venv" / "bin" / "python"
CONTROLLER = REPO / "deploy" / "rucio" / "stack.py"


@dataclass(frozen=True)
class StackSite:
    rse: str
    prefix: Path  # the RSE's folder: physical copies live under it (deterministic `hash` paths)
    tier: int  # 0: the staging RSE, 1: a site
    qbittorrent_url: str
    bittorrent_port: int


@dataclass(frozen=True)
class RucioStack:
    directory: Path
    rucio_url: str
    account: str
    client_config: Path
    environment: dict[str, str]  # what a client process needs: RUCIO_CONFIG, TMPDIR
    staging_rse: str | None
    sites: dict[str, StackSite]
    info: dict[str, Any] = field(repr=False)  # the controller's whole description (DIR/stack.json)

    @classmethod
    def from_description(cls, info: dict[str, Any]) -> RucioStack:
        """From the JSON object `stack.py up` prints (and writes to DIR/stack.json)."""
        sites = {
            name: StackSite(
                rse=site["rse"],
                prefix=Path(site["prefix"]),
                tier=int(site["tier"]),
                qbittorrent_url=site["qbittorrent_url"],
                bittorrent_port=int(site["bittorrent_port"]),
            )
            for name, site in info["sites"].items()
        }
        return cls(
            directory=Path(info["dir"]),
            rucio_url=info["rucio_url"],
            account=info["account"],
            client_config=Path(info["client_config"]),
            environment=dict(info["env"]),
            staging_rse=info["staging_rse"],
            sites=sites,
            info=info,
        )

    @property
    def site_rses(self) -> list[str]:
        """The RSEs that stand for sites (not the staging RSE)."""
        return [name for name, site in self.sites.items() if site.tier == 1]

    def client(self) -> Any:
        from rucio.client import Client

        return Client()

    def log_tail(self, name: str = "engine.log", lines: int = 60) -> str:
        try:
            text = (self.directory / "log" / name).read_text(errors="replace")
        except OSError as error:
            return f"({error})"
        return "\n".join(text.splitlines()[-lines:])

    def wait_rule(self, client: Any, rule_id: str, state: str = "OK", timeout: float = 180.0) -> dict[str, Any]:
        """Poll the rule until it reaches `state`; on timeout fail with the engine's last log lines."""
        deadline = time.monotonic() + timeout
        rule: dict[str, Any] = client.get_replication_rule(rule_id)
        while rule["state"] != state:
            if time.monotonic() > deadline:
                pytest.fail(
                    f"rule {rule_id} ({rule['rse_expression']}, {rule['copies']} copies) is {rule['state']} "
                    f"after {timeout:.0f} s, not {state}. Engine log:\n{self.log_tail()}"
                )
            time.sleep(0.5)
            rule = client.get_replication_rule(rule_id)
        return rule

    def physical_copies(self, client: Any, scope: str, name: str) -> dict[str, Path]:
        """{rse: path on disk} of every AVAILABLE replica of scope:name."""
        copies: dict[str, Path] = {}
        for replica in client.list_replicas([{"scope": scope, "name": name}], schemes=["file"]):
            for rse, pfns in replica["rses"].items():
                copies[rse] = Path(pfns[0].removeprefix("file://localhost"))
        return copies


def file_checksums(path: Path) -> tuple[str, str]:
    """(md5 hex, adler32 as Rucio writes it: 8 lowercase hex digits) of a file, read in 1 MiB blocks."""
    md5 = hashlib.md5()
    adler = 1
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            md5.update(block)
            adler = zlib.adler32(block, adler)
    return md5.hexdigest(), f"{adler:08x}"


def stack_unavailable(reason: str) -> None:
    """Skip the test: this machine cannot run the stack. Under DMLAKE_REQUIRE_RUCIO=1 (CI) fail with the reason."""
    if os.environ.get("DMLAKE_REQUIRE_RUCIO") == "1":
        pytest.fail(f"the local Rucio stack is required here (DMLAKE_REQUIRE_RUCIO=1) but {reason}", pytrace=False)
    pytest.skip(f"the local Rucio stack cannot run here: {reason}")
