"""Building real lakes for tests: sandbox replicas on 127.0.0.1 → harvester → catalogue → index for end-to-end tests,
or an index of generated records for the search and API tests."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from connectors import registry
from dmlake.lake import Lake
from harvester.config import SourcesConfig, parse
from harvester.harvest import SourceReport
from sandbox.generated_records import generated_records
from sandbox.server import RunningSandbox


def sources_of(running: RunningSandbox, **limits: str) -> SourcesConfig:
    """The sandbox's sources file (every replica unlimited), with extra limit lines per source merged into that
    source's one limits table, e.g. `sources_of(running, zenodo="concurrency = 1\nrequests_per_minute = 120")`."""
    extra = {name: tomllib.loads(lines) for name, lines in limits.items()}
    return parse(running.sources_toml(extra), "<sandbox>", sorted(registry()))


def harvest_all(lake: Lake, config: SourcesConfig, **options: Any) -> dict[str, SourceReport]:
    with lake.harvester() as harvester:
        reports = {source.name: harvester.harvest(source, **options) for source in config.sources.values()}
    lake.update_index()
    return reports


def replica_requests(running: RunningSandbox, name: str, clear: bool = False) -> list[dict[str, Any]]:
    url = f"{running.urls[name]}/_sandbox/requests"
    log: list[dict[str, Any]] = httpx.get(url, timeout=60).json()
    if clear:
        httpx.delete(url, timeout=60)
    return log


def edit(running: RunningSandbox, name: str, action: str, **body: Any) -> list[str]:
    response = httpx.post(f"{running.urls[name]}/_sandbox/{action}", json=body, timeout=60)
    response.raise_for_status()
    key = "edited" if action == "edit" else "deleted"
    return list(response.json()[key])


def open_lake(home: Path) -> Lake:
    return Lake.open(home)


@contextmanager
def generated_lake(home: Path, count: int, seed: int) -> Iterator[Lake]:
    """A lake at `home` with `count` generated records indexed (`sandbox.generated_records`, deterministic by seed).
    Only the index is filled: the search routes read nothing else."""
    lake = Lake.open(home)
    try:
        lake.index.index(generated_records(count, seed=seed))
        lake.index.commit()
        yield lake
    finally:
        lake.close()
