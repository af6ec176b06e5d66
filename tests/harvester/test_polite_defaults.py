"""Polite request rates end to end: a source written without limits really is throttled by the shared client; every
sources file the sandbox writes says "unlimited" (its replicas are local); `dmlake sources` shows each rate's origin."""

from __future__ import annotations

import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from lakes import replica_requests, sources_of

from connectors import registry
from dmlake.lake import Lake
from harvester.config import RateOrigin, Source, SourcesConfig, load, parse
from sandbox import build_replicas, start
from sandbox.replicas.gitlab import GitLabReplica
from sandbox.server import RunningSandbox, sources_toml

REPO = Path(__file__).resolve().parents[2]
KINDS = sorted(registry())


def dmlake(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "harvester.cli", "--home", str(home), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, f"dmlake {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done


def assert_all_unlimited(config: SourcesConfig, expected: set[str]) -> None:
    assert set(config.sources) == expected
    for name, source in config.sources.items():
        assert source.spec.limits.requests_per_minute is None, f"{name} would be throttled"
        assert source.rate_origin == RateOrigin("file"), name


# -- the sandbox's sources files --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def every_replica() -> Iterator[RunningSandbox]:
    with start(build_replicas(generate=2)) as running:
        yield running


def test_the_sandbox_sources_file_leaves_every_replica_unlimited(every_replica: RunningSandbox) -> None:
    text = every_replica.sources_toml()
    assert_all_unlimited(parse(text, "<sandbox>", KINDS), set(every_replica.replicas))
    # the kinds with a polite default are among them: without "unlimited" they would be throttled
    kinds = {replica.kind for replica in every_replica.replicas.values()}
    assert {"zenodo", "hepdata", "cernopendata", "gitlab"} <= kinds


def test_extra_limits_merge_into_the_one_limits_table_of_their_source(every_replica: RunningSandbox) -> None:
    config = sources_of(every_replica, zenodo="concurrency = 1\nrequests_per_minute = 120", dmdc="timeout = 7")
    zenodo, dmdc = config.sources["zenodo"], config.sources["dmdc"]
    assert (zenodo.spec.limits.requests_per_minute, zenodo.spec.limits.concurrency) == (120, 1)
    assert zenodo.rate_origin == RateOrigin("file")
    assert (dmdc.spec.limits.requests_per_minute, dmdc.spec.limits.timeout) == (None, 7)
    text = every_replica.sources_toml({"zenodo": {"concurrency": 1}})
    for name in every_replica.replicas:
        assert text.count(f"[sources.{name}.limits]") == 1, name
    assert tomllib.loads(text)["sources"]["zenodo"]["limits"] == {"requests_per_minute": "unlimited", "concurrency": 1}


def test_limits_for_a_replica_that_is_not_served_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="limits for 'zenodoo': no such replica; serving zenodo"):
        sources_toml({"zenodo": ("zenodo", "http://127.0.0.1:1")}, {"zenodoo": {"concurrency": 1}})


def test_sandbox_up_writes_an_unlimited_sources_file_that_dmlake_sources_explains(tmp_path: Path) -> None:
    home, written = tmp_path / "home", tmp_path / "sandbox.toml"
    try:
        dmlake(home, "sandbox", "up", "--generate", "2", "--kinds", "zenodo,dmdc", "--sources-out", str(written))
        assert_all_unlimited(load(written, KINDS), {"zenodo", "dmdc"})
        listed = dmlake(home, "sources", "--config", str(written)).stdout
        assert listed.count("unlimited (set in the file)") == 2, listed
    finally:
        dmlake(home, "sandbox", "down")


def test_dmlake_sources_shows_each_effective_rate_and_where_it_came_from(tmp_path: Path) -> None:
    path = tmp_path / "sources.toml"
    path.write_text(
        '[sources.zenodo-oai]\nkind = "oaipmh"\nurl = "https://zenodo.org/oai2d"\n\n'
        '[sources.dmdc]\nkind = "gitlab"\nurl = "https://gitlab.example.org"\n'
        '[sources.dmdc.options]\ngroup = "dmdc"\n[sources.dmdc.limits]\nconcurrency = 2\n\n'
        '[sources.repo]\nkind = "oaipmh"\nurl = "https://repository.example.org/oai"\n\n'
        '[sources.cern]\nkind = "cernopendata"\nurl = "https://opendata.cern.ch"\n'
        "[sources.cern.limits]\nrequests_per_minute = 12\n\n"
        '[sources.mine]\nkind = "hepdata"\nurl = "https://hepdata.internal.example"\n'
        '[sources.mine.limits]\nrequests_per_minute = "unlimited"\n'
    )
    rows = {
        line.split("│")[1].strip(): line
        for line in dmlake(tmp_path / "home", "sources", "--config", str(path)).stdout.splitlines()
        if line.startswith("│")
    }
    assert "30/min (default for host zenodo.org)" in rows["zenodo-oai"]
    assert "600/min (default for kind gitlab)" in rows["dmdc"]
    assert "unlimited (no default for kind oaipmh or its host)" in rows["repo"]
    assert "12/min (set in the file)" in rows["cern"]
    assert "unlimited (set in the file)" in rows["mine"]


# -- the default really throttles -------------------------------------------------------------------------------
def harvest_timed(lake: Lake, source: Source) -> tuple[str, float, float]:
    """(run state, wall-clock start, seconds the client waited at the rate gate)."""
    started = time.time()
    with lake.harvester() as harvester:
        report = harvester.harvest(source)
        waited = harvester.http.stats.waited_seconds
    return report.state, started, waited


def test_a_source_without_limits_is_harvested_at_its_kinds_default_rate(tmp_path: Path) -> None:
    with start({"dmdc": GitLabReplica.generated(2)}) as running:
        url = running.urls["dmdc"]
        text = f'[sources.dmdc]\nkind = "gitlab"\nurl = "{url}"\n[sources.dmdc.options]\ngroup = "dmdc"\n'
        polite = parse(text, "sources.toml", KINDS).sources["dmdc"]
        assert (polite.spec.limits.requests_per_minute, str(polite.rate_origin)) == (600, "default for kind gitlab")

        lake = Lake.open(tmp_path / "polite")
        try:
            state, started, waited = harvest_timed(lake, polite)
            polite_records = {s.native_id: s.content_hash for s in lake.catalogue.iter_records("dmdc")}
        finally:
            lake.close()
        log = replica_requests(running, "dmdc", clear=True)
        assert state == "succeeded" and len(polite_records) == 2
        assert len(log) >= 10, "too few requests to see a rate"
        # the gate gives request i a start slot >= the first slot + i * 0.1 s, and the first slot is after `started`:
        # so the last request reached the replica at least (n - 1) * 0.1 s after the harvest began. A busy machine
        # only makes that later; without the limit the whole harvest takes a fraction of it.
        interval = 60 / 600
        assert max(entry["time"] for entry in log) - started >= (len(log) - 1) * interval * 0.99
        assert waited > 0

        unlimited = parse(text + '[sources.dmdc.limits]\nrequests_per_minute = "unlimited"\n', "s", KINDS)
        lake = Lake.open(tmp_path / "unlimited")
        try:
            state, _, waited = harvest_timed(lake, unlimited.sources["dmdc"])
            assert {s.native_id: s.content_hash for s in lake.catalogue.iter_records("dmdc")} == polite_records
        finally:
            lake.close()
        assert state == "succeeded"
        assert waited == 0, "an unlimited source never waits at the rate gate"
        assert len(replica_requests(running, "dmdc")) == len(log)
