"""Issue 8, acceptance 1 and 2, on the real local Rucio stack (STAGING + three sites, bytes moved by qBittorrent):

1. the files of a harvested GitLab/DMDC release (the COSINE-100 CSVs of the corpus plus generated Git LFS files up
   to 200 MiB) are registered, a rule for 2 copies reaches OK, the bytes are verified at both sites, and the
   catalogue (replica ledger) and the search index's availability and site facets show both sites;
2. a tombstoned release's rules are removed after the grace, the reaper frees the space, and the catalogue shows it.

Everything runs through `dmlake replication sync --once` as a data manager runs it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from replication_lab import (
    COSINE,
    COSINE_DATA,
    MiB,
    all_rules_ok,
    cli,
    digests,
    expected_digests,
    harvest,
    read_chunks,
    registry_of,
    rules_of,
    sync_until,
    write_policy,
)
from rucio_stack import RucioStack

from dmlake.lake import Lake
from indexer.query import Query
from ontology.model import Availability, record_id
from replication.naming import Did
from sandbox.replicas.gitlab import GitLabReplica
from sandbox.server import RunningSandbox, start

pytestmark = pytest.mark.xdist_group("rucio")

LARGE_FILES = {"data/generated/waveforms-run1.bin": 200 * MiB, "data/generated/pulses-run1.bin": 3 * MiB}
CRESST = "dmdc/cresst/cresst-dataset-000001"


@pytest.fixture(scope="module")
def sandbox(corpus: Path) -> Iterator[RunningSandbox]:
    replica = GitLabReplica.from_corpus(corpus, large_files=LARGE_FILES)
    assert replica is not None
    with start({"dmdc": replica}) as running:
        yield running


@pytest.fixture(scope="module")
def client(rucio_stack: RucioStack) -> Any:
    return rucio_stack.client()


@pytest.fixture(scope="module")
def replicated(
    rucio_stack: RucioStack, sandbox: RunningSandbox, client: Any, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A home whose dmdc releases were harvested and replicated until every rule is OK."""
    home = tmp_path_factory.mktemp("replicated-home")
    write_policy(home, rucio_stack, grace="3s")
    lake = Lake.open(home)
    try:
        harvest(lake, sandbox)
    finally:
        lake.close()
    sync_until(home, lambda: all_rules_ok(client, home, rucio_stack.account), rucio_stack)
    # one more round reads the final states and verifies the last copies
    cli(home, "sync", "--once")
    return home


def test_a_release_is_replicated_to_two_sites_and_verified(
    replicated: Path, rucio_stack: RucioStack, client: Any, corpus: Path
) -> None:
    home = replicated
    cosine = record_id("dmdc", COSINE)
    with registry_of(home) as registry:
        release = registry.release(cosine)
        files = registry.files(cosine)
        assert not registry.failures()
    assert release is not None and release.live
    dataset = Did(release.scope, release.dataset)

    # every data file, the 200 MiB one included, is in the release's dataset with the right size and checksums
    expected = expected_digests(corpus, LARGE_FILES)
    assert set(expected) <= set(files)
    content = {c["name"]: c for c in client.list_files(dataset.scope, dataset.name)}
    assert set(content) == {f.did for f in files.values()}
    for name, (md5, adler32, size) in expected.items():
        row = files[name]
        assert (row.bytes, row.adler32, row.md5) == (size, adler32, md5), name
        assert content[row.did]["bytes"] == size and content[row.did]["adler32"] == adler32
        assert row.catalogue_checksum is not None and row.catalogue_checksum.startswith("sha256:")
    # the dataset sits in the record's container (a singleton cluster still has one)
    container = client.list_content(release.container_scope, release.container)
    assert [(c["scope"], c["name"]) for c in container] == [(dataset.scope, dataset.name)]

    # one staging rule and one policy rule: 2 copies at the sites, OK
    rules = {r["rse_expression"]: r for r in rules_of(client, dataset, rucio_stack.account)}
    assert sorted(rules) == sorted([rucio_stack.staging_rse, "tier=1"])
    assert (rules["tier=1"]["copies"], rules["tier=1"]["state"], rules["tier=1"]["grouping"]) == (2, "OK", "DATASET")

    # the bytes at both sites equal the portal's (the corpus files, the generated ones)
    sites: set[str] = set()
    for name, (md5, adler32, size) in expected.items():
        copies = rucio_stack.physical_copies(client, dataset.scope, files[name].did)
        held = {rse: path for rse, path in copies.items() if rse in rucio_stack.site_rses}
        assert len(held) == 2, (name, copies)
        for path in held.values():
            assert digests(read_chunks(path)) == (md5, adler32, size), (name, path)
        sites |= set(held)
    assert len(sites) == 2  # DATASET grouping: the whole release at the same two sites

    # the catalogue shows both sites for every file, online and verified, with a URL to read each copy at
    lake = Lake.open(home)
    try:
        ledger = lake.replica_ledger().for_records([cosine])[cosine]
        for name in expected:
            at_sites = {r.site: r for r in ledger if r.file_name == name and r.site in sites}
            assert set(at_sites) == sites, name
            for replica in at_sites.values():
                assert replica.state == Availability.ONLINE and replica.checksum_verified, replica
                assert replica.url is not None and replica.url.startswith("file://")
        shown = lake.record(cosine).record
        data = {d.name: d for d in shown.distributions}
        assert data["data/EventRate_erc1-6.csv"].availability == Availability.ONLINE
        assert sites <= {r.site for r in data["data/generated/waveforms-run1.bin"].replicas}

        # the search index: availability online, and the site facet lists both sites
        lake.update_index()
        for site in sites:
            found = lake.search(Query(filters=(("site", (site,)),), facets=("site", "availability"), size=50))
            assert cosine in {hit.id for hit in found.hits}, site
            assert {v.value for v in found.facets["site"]} >= sites
            assert "online" in {v.value for v in found.facets["availability"]}
    finally:
        lake.close()

    # status tells a data manager the same
    status = cli(home, "status", "--json")
    assert status.exit_code == 0, status.output
    rows = {row["record"]: row for row in json.loads(status.stdout)}
    assert rows[cosine]["files"] == len(files) and rows[cosine]["bytes"] == sum(f.bytes for f in files.values())
    assert {r["rse_expression"]: r["state"] for r in rows[cosine]["rules"]}["tier=1"] == "OK"
    assert all(rows[cosine]["sites"][site] >= len(expected) for site in sites)


def test_a_corrupted_copy_is_reported_not_shown_and_replaced_by_rucio(
    replicated: Path, rucio_stack: RucioStack, client: Any, corpus: Path
) -> None:
    home = replicated
    cosine = record_id("dmdc", COSINE)
    name = "data/CosineNaQF.csv"
    with registry_of(home) as registry:
        row = registry.files(cosine)[name]
    copies = rucio_stack.physical_copies(client, row.scope, row.did)
    site, path = next((rse, p) for rse, p in sorted(copies.items()) if rse in rucio_stack.site_rses)
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF  # one flipped byte, the size unchanged: only the checksums can tell
    path.write_bytes(bytes(data))

    result = cli(home, "check")
    assert result.exit_code == 1, result.output
    assert f"checksum mismatch: record {cosine}, file {name!r} at {site}: adler32" in result.output

    def shown() -> dict[tuple[str, str], Any]:
        lake = Lake.open(home)
        try:
            return {(r.file_name, r.site): r for r in lake.replica_ledger().for_records([cosine])[cosine]}
        finally:
            lake.close()

    # the catalogue no longer offers the bad copy as online (Rucio's lock on it may say it is being replicated
    # again); the good one stays online
    copies_now = shown()
    assert (name, site) not in copies_now or copies_now[(name, site)].state != Availability.ONLINE
    assert any(f == name and r.state == Availability.ONLINE and r.checksum_verified for (f, _), r in copies_now.items())

    # Rucio was told (declared bad): its recovery copies the file again from a good copy, and the next syncs read
    # the new copy and offer it again
    expected = digests(read_chunks(corpus / COSINE_DATA / "CosineNaQF.csv"))

    def replaced() -> bool:
        copy = shown().get((name, site))
        return copy is not None and copy.checksum_verified and digests(read_chunks(path)) == expected

    sync_until(home, replaced, rucio_stack, timeout=420)


def test_the_feed_brings_nothing_new_for_an_unchanged_catalogue(replicated: Path) -> None:
    """The ledger's own feed changes (one per record whose replicas changed) are no-ops for the replicator."""
    result = cli(replicated, "sync", "--once")
    assert "0 releases registered" in result.output, result.output


def test_a_tombstoned_release_loses_its_rules_and_the_reaper_frees_the_space(
    replicated: Path, rucio_stack: RucioStack, client: Any, sandbox: RunningSandbox
) -> None:
    home = replicated
    gone = [record_id("dmdc", f"{CRESST}@v1.0"), record_id("dmdc", f"{CRESST}@v2.0")]
    with registry_of(home) as registry:
        releases = {rid: registry.release(rid) for rid in gone}
        files = {rid: registry.files(rid) for rid in gone}
    paths: list[Path] = []
    for rid, release in releases.items():
        assert release is not None
        for row in files[rid].values():
            paths += rucio_stack.physical_copies(client, row.scope, row.did).values()
    assert paths and all(p.exists() for p in paths)

    # the portal withdraws the project; a full harvest confirming deletions tombstones both versions
    deleted = httpx.post(f"{sandbox.urls['dmdc']}/_sandbox/delete", json={"ids": [CRESST]}, timeout=30).json()
    assert deleted["deleted"] == [CRESST]
    lake = Lake.open(home)
    try:
        harvest(lake, sandbox, full=True, confirm_deletions=True)
        assert not lake.catalogue.records(gone)
    finally:
        lake.close()

    result = cli(home, "sync", "--once")
    for rid in gone:
        assert f"{rid}: tombstoned" in result.output, result.output
    for release in releases.values():
        assert release is not None
        for rule in rules_of(client, Did(release.scope, release.dataset), rucio_stack.account):
            assert rule["expires_at"] is not None  # the grace period, kept by Rucio

    def freed() -> bool:
        return all(not rules_of(client, Did(r.scope, r.dataset), rucio_stack.account) for r in releases.values() if r) \
            and not any(p.exists() for p in paths)  # fmt: skip

    sync_until(home, freed, rucio_stack, timeout=420)
    cli(home, "sync", "--once")  # reads that every copy is gone
    lake = Lake.open(home)
    try:
        assert not lake.replica_ledger().for_records(gone)
        # the live release is untouched
        cosine = record_id("dmdc", COSINE)
        assert lake.replica_ledger().for_records([cosine])[cosine]
    finally:
        lake.close()
    with registry_of(home) as registry:
        assert all(r.retired for r in registry.releases(include_retired=True) if r.record_id in gone)
    status = json.loads(cli(home, "status", "--json").stdout)
    assert {row["record"]: row["state"] for row in status if row["record"] in gone} == dict.fromkeys(gone, "retired")
