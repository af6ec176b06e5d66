"""Helpers of the replication tests: a home with harvested GitLab/DMDC releases, its policy, and `dmlake
replication` run as a person runs it (the Typer app in process, or the console module in a subprocess)."""

from __future__ import annotations

import hashlib
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from rucio_stack import RucioStack
from typer.testing import CliRunner, Result

from connectors.base import Limits, SourceSpec
from connectors.gitlab import GitLabConnector
from connectors.http import HttpClient
from dmlake.lake import Lake
from harvester.config import Source
from harvester.harvest import Harvester
from harvester.replication_cli import registry_path, replication_app
from replication.naming import Did
from replication.registry import Registry
from sandbox.replicas.gitlab_projects import GeneratedBlob
from sandbox.server import RunningSandbox

MiB = 1 << 20
COSINE = "dmdc/cosine/cosine100-6years-modulation@v1.0"
COSINE_DATA = Path("dmdc/cosine100-publicdata/COSINE100-6YearsModulation/data")
NOT_REPLICATED = ["*.zip", "*.tar", "*.tar.gz", "*.tar.bz2", "Paper *"]
"""GitLab's source archives (made on request, never byte-stable) and the link to the paper are not data to keep."""


def harvest(lake: Lake, running: RunningSandbox, *, full: bool = False, confirm_deletions: bool = False) -> None:
    spec = SourceSpec("dmdc", "gitlab", running.urls["dmdc"], {"group": "dmdc"})
    with HttpClient(Limits(), sleep=lambda seconds: None) as http:
        report = Harvester(lake.catalogue, http, {"gitlab": GitLabConnector}).harvest(
            Source(spec, True, 0.5, None), full=full, confirm_deletions=confirm_deletions
        )
    assert report.state == "succeeded", report.message


def write_policy(home: Path, stack: RucioStack, *, grace: str = "7d", scope: str = "dmdc", extra: str = "") -> None:
    excluded = ", ".join(f'"{p}"' for p in NOT_REPLICATED)
    (home / "replication.toml").write_text(
        f"""[replication]
account = "{stack.account}"
staging_rse = "{stack.staging_rse}"
tombstone_grace = "{grace}"
exclude = [{excluded}]
{extra}
[replication.scopes]
dmdc = "{scope}"

[[replication.rule]]
sources = ["dmdc"]
copies = 2
rse_expression = "tier=1"
grouping = "DATASET"
"""
    )


def cli(home: Path, *arguments: str) -> Result:
    return CliRunner().invoke(replication_app, list(arguments), env={"DMLAKE_HOME": str(home)})


def sync_until(home: Path, done: Callable[[], bool], stack: RucioStack, timeout: float = 600.0) -> Result:
    """`dmlake replication sync --once` again and again until `done()` (the engine moves bytes meanwhile). The
    deadline only bounds a stuck run: on a loaded 2-core machine 200 MiB to two sites can take minutes."""
    deadline = time.monotonic() + timeout
    while True:
        result = cli(home, "sync", "--once")
        assert result.exit_code in (0, 1), result.output
        print(result.output)
        if done():
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"replication did not finish within {timeout:.0f} s; last sync said:\n{result.output}\n"
                        f"engine log:\n{stack.log_tail()}")  # fmt: skip
        time.sleep(2)


@contextmanager
def registry_of(home: Path) -> Iterator[Registry]:
    lake = Lake.open(home)
    try:
        registry = Registry(registry_path(lake))
    finally:
        lake.close()
    try:
        yield registry
    finally:
        registry.close()


def rules_of(client: Any, did: Did, account: str) -> list[dict[str, Any]]:
    return [r for r in client.list_did_rules(did.scope, did.name) if r["account"] == account]


def all_rules_ok(client: Any, home: Path, account: str) -> bool:
    from rucio.common.exception import DataIdentifierNotFound

    with registry_of(home) as registry:
        releases = [r for r in registry.releases() if r.live]
    if not releases:
        return False
    try:
        rules = [rule for r in releases for rule in rules_of(client, Did(r.scope, r.dataset), account)]
    except DataIdentifierNotFound:
        return False
    return bool(rules) and all(rule["state"] == "OK" for rule in rules)


def digests(chunks: Iterator[bytes]) -> tuple[str, str, int]:
    """(md5, adler32 as Rucio writes it, size)."""
    md5 = hashlib.md5()
    adler = 1
    size = 0
    for chunk in chunks:
        md5.update(chunk)
        adler = zlib.adler32(chunk, adler)
        size += len(chunk)
    return md5.hexdigest(), f"{adler:08x}", size


def read_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(4 * MiB):
            yield chunk


def expected_digests(corpus: Path, large_files: dict[str, int]) -> dict[str, tuple[str, str, int]]:
    """What every COSINE-100 data file must be at every site: the corpus CSVs and the generated LFS files."""
    expected = {f"data/{p.name}": digests(read_chunks(p)) for p in sorted((corpus / COSINE_DATA).glob("*.csv"))}
    for path, size in large_files.items():
        expected[path] = digests(GeneratedBlob(size, f"42:{path}").chunks())
    return expected
