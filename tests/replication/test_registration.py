"""Registration of one release on the real stack: files the portal does not serve, or serves with other bytes than
the catalogue says, are reported by record and file and stop none of the others; a file the catalogue has no size
or checksum for is still replicated (its checksums computed at staging) and the report says so; registering again
changes nothing in Rucio; a record that comes back within the grace gets its rules' lifetimes back."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from replication_lab import COSINE_DATA, digests, read_chunks, rules_of
from rucio_stack import RucioStack

from connectors.base import Limits
from connectors.http import HttpClient
from ontology.model import Checksum, Distribution, Provenance, Record, record_id
from replication.consumer import ReplicationConsumer
from replication.gateway import RucioGateway
from replication.naming import Did, names_for
from replication.policy import ReplicationPolicy, RulePolicy
from replication.register import ReleaseRegistrar
from replication.registry import Registry
from sandbox.server import RunningSandbox

pytestmark = pytest.mark.xdist_group("rucio")

RAW = "/api/v4/projects/42/repository/files/data%2F{name}/raw?ref=v1.0"


def _release(sandbox: RunningSandbox, corpus: Path, native_id: str) -> Record:
    base = sandbox.urls["dmdc"]

    def csv(name: str, checksum: str | None = "right", size: bool = True) -> Distribution:
        data = (corpus / COSINE_DATA / name).read_bytes()
        value = hashlib.sha256(data if checksum == "right" else b"other bytes").hexdigest()
        return Distribution(
            name=f"data/{name}",
            url=base + RAW.format(name=name),
            size_bytes=len(data) if size else None,
            checksum=Checksum(algorithm="sha256", value=value) if checksum else None,
        )

    distributions = [
        csv("EventRate_erc1-6.csv"),
        csv("CosineNaQF.csv", checksum=None, size=False),
        csv("CosineIQF.csv", checksum="wrong"),
        Distribution(name="data/missing.csv", url=base + RAW.format(name="missing.csv"), size_bytes=10),
        Distribution(name="notes.txt", access_url=base + "/notes"),  # a page about it, no download URL
    ]
    return Record(
        id=record_id("regtest", native_id),
        source="regtest",
        native_id=native_id,
        title="A release with good and bad files",
        provenance=Provenance(source="regtest", source_kind="gitlab", raw_sha256="0" * 64, mapping_version="1"),
        distributions=distributions,
    )


def test_bad_files_are_reported_and_the_good_ones_replicated(
    rucio_stack: RucioStack, sandbox: RunningSandbox, corpus: Path, tmp_path: Path
) -> None:
    assert rucio_stack.staging_rse is not None
    policy = ReplicationPolicy(
        staging_rse=rucio_stack.staging_rse,
        account=rucio_stack.account,
        rules=(RulePolicy(copies=1, rse_expression="SITE_A", lifetime=3600),),
    )
    gateway = RucioGateway.connect(rucio_stack.account)
    registry = Registry(tmp_path / "registry.sqlite")
    client: Any = rucio_stack.client()
    record = _release(sandbox, corpus, "bad-files@v1")
    names = names_for(record, policy)
    with HttpClient(Limits(max_retries=1), sleep=lambda seconds: None) as http:
        registrar = ReleaseRegistrar(gateway, http, policy, registry)
        report = registrar.register(record, names)

        assert sorted(report.registered) == ["data/CosineNaQF.csv", "data/EventRate_erc1-6.csv"]
        assert report.without_checksum == ["data/CosineNaQF.csv"]  # computed at staging
        where = f"record {record.id}, file "
        assert report.failures["data/CosineIQF.csv"].startswith(where + "'data/CosineIQF.csv'")
        assert "has sha256" in report.failures["data/CosineIQF.csv"]
        assert "the catalogue says" in report.failures["data/CosineIQF.csv"]
        assert report.failures["data/missing.csv"].startswith(where + "'data/missing.csv': cannot fetch")
        assert "HTTP 404" in report.failures["data/missing.csv"]
        assert "no download URL" in report.failures["notes.txt"]
        assert set(report.failures) == {"data/CosineIQF.csv", "data/missing.csv", "notes.txt"}

        # the good ones are in the dataset, with the checksums computed from the bytes (none in the catalogue)
        content = {c["name"]: c for c in client.list_files(names.dataset.scope, names.dataset.name)}
        naqf = names.files["data/CosineNaQF.csv"]
        md5, adler32, size = digests(read_chunks(corpus / COSINE_DATA / "CosineNaQF.csv"))
        assert set(content) == {naqf.name, names.files["data/EventRate_erc1-6.csv"].name}
        assert (content[naqf.name]["bytes"], content[naqf.name]["adler32"]) == (size, adler32)
        assert registry.files(record.id)["data/CosineNaQF.csv"].md5 == md5
        assert registry.files(record.id)["data/CosineNaQF.csv"].catalogue_checksum is None
        assert registry.failures(record.id) == {record.id: report.failures}
        rules = rules_of(client, names.dataset, rucio_stack.account)
        assert sorted(r["rse_expression"] for r in rules) == sorted([rucio_stack.staging_rse, "SITE_A"])

        # again: nothing new in Rucio, the same failures
        again = registrar.register(record, names)
        assert again.registered == [] and sorted(again.unchanged) == sorted(report.registered)
        assert set(again.failures) == set(report.failures) and again.rules_created == []
        assert len(rules_of(client, names.dataset, rucio_stack.account)) == 2
    registry.close()


class _Feed:
    """A catalogue of one record that can be tombstoned and brought back (as a portal withdrawing and restoring it)."""

    def __init__(self, record: Record) -> None:
        self.record = record
        self.live = True
        self.log: list[tuple[int, str]] = []
        self.cursors: dict[str, int] = {}

    def change(self, kind: str) -> None:
        from ontology.feed import Change

        self.live = kind == "upsert"
        self.log.append((len(self.log) + 1, kind))
        self._changes = [Change(seq, self.record.id, k) for seq, k in self.log]  # type: ignore[arg-type]

    def changes_since(self, seq: int, limit: int) -> list[Any]:
        return [c for c in self._changes if c.seq > seq][:limit]

    def records(self, ids: list[str]) -> dict[str, Record]:
        return {self.record.id: self.record} if self.live and self.record.id in ids else {}

    def clusters(self, ids: list[str]) -> dict[str, tuple[str, ...]]:
        return {}

    def cursor(self, consumer: str) -> int:
        return self.cursors.get(consumer, 0)

    def set_cursor(self, consumer: str, seq: int) -> None:
        self.cursors[consumer] = seq

    def last_seq(self) -> int:
        return len(self.log)


def test_a_record_back_within_the_grace_gets_its_lifetimes_back(
    rucio_stack: RucioStack, sandbox: RunningSandbox, corpus: Path, tmp_path: Path
) -> None:
    assert rucio_stack.staging_rse is not None
    policy = ReplicationPolicy(
        staging_rse=rucio_stack.staging_rse,
        account=rucio_stack.account,
        rules=(RulePolicy(copies=1, rse_expression="SITE_B"),),
        tombstone_grace=3600,
        exclude=("data/CosineIQF.csv", "data/missing.csv", "notes.txt"),
    )
    client: Any = rucio_stack.client()
    record = _release(sandbox, corpus, "comes-back@v1")
    dataset = names_for(record, policy).dataset
    feed = _Feed(record)
    registry = Registry(tmp_path / "registry.sqlite")
    with HttpClient(Limits(), sleep=lambda seconds: None) as http:
        consumer = ReplicationConsumer(
            feed, ReleaseRegistrar(RucioGateway.connect(rucio_stack.account), http, policy, registry)
        )
        feed.change("upsert")
        assert not consumer.run().failed

        def expiries() -> dict[str, Any]:
            return {r["rse_expression"]: r["expires_at"] for r in rules_of(client, dataset, rucio_stack.account)}

        assert expiries() == {rucio_stack.staging_rse: None, "SITE_B": None}
        feed.change("delete")
        assert consumer.run().tombstoned == [record.id]
        assert all(expiry is not None for expiry in expiries().values())  # the grace: Rucio's cleaner keeps time
        feed.change("upsert")
        outcome = consumer.run()
        assert outcome.revived == [record.id] and not outcome.failed
        assert expiries() == {rucio_stack.staging_rse: None, "SITE_B": None}  # kept for ever again, as the policy says
        assert len(rules_of(client, Did(dataset.scope, dataset.name), rucio_stack.account)) == 2
    registry.close()


def test_a_changed_policy_is_applied_to_every_live_release(
    rucio_stack: RucioStack, sandbox: RunningSandbox, corpus: Path, tmp_path: Path
) -> None:
    assert rucio_stack.staging_rse is not None
    bad = ("data/CosineIQF.csv", "data/missing.csv", "notes.txt")
    first = ReplicationPolicy(staging_rse=rucio_stack.staging_rse, account=rucio_stack.account, exclude=bad,
                              rules=(RulePolicy(copies=1, rse_expression="SITE_B"),))  # fmt: skip
    second = ReplicationPolicy(staging_rse=rucio_stack.staging_rse, account=rucio_stack.account, exclude=bad,
                               rules=(RulePolicy(copies=1, rse_expression="SITE_B"),
                                      RulePolicy(copies=1, rse_expression="SITE_C", lifetime=86400)))  # fmt: skip
    client: Any = rucio_stack.client()
    record = _release(sandbox, corpus, "policy-change@v1")
    dataset = names_for(record, first).dataset
    feed = _Feed(record)
    feed.change("upsert")
    registry = Registry(tmp_path / "registry.sqlite")
    gateway = RucioGateway.connect(rucio_stack.account)
    with HttpClient(Limits(), sleep=lambda seconds: None) as http:
        assert not ReplicationConsumer(feed, ReleaseRegistrar(gateway, http, first, registry)).run().failed
        assert sorted(r["rse_expression"] for r in rules_of(client, dataset, rucio_stack.account)) == sorted(
            [rucio_stack.staging_rse, "SITE_B"]
        )
        # nothing new in the feed, but the policy changed: the release gets the new rule, and only that
        outcome = ReplicationConsumer(feed, ReleaseRegistrar(gateway, http, second, registry)).run()
        assert [r.record_id for r in outcome.reports] == [record.id] and outcome.changes == 0
        rules = {r["rse_expression"]: r for r in rules_of(client, dataset, rucio_stack.account)}
        assert sorted(rules) == sorted([rucio_stack.staging_rse, "SITE_B", "SITE_C"])
        assert rules["SITE_C"]["expires_at"] is not None
        # and once applied, the same policy does nothing more
        again = ReplicationConsumer(feed, ReleaseRegistrar(gateway, http, second, registry)).run()
        assert again.reports == []
    registry.close()


def test_the_portal_copy_is_registered_at_the_rse_standing_for_the_portal(
    rucio_stack: RucioStack, sandbox: RunningSandbox, corpus: Path, tmp_path: Path
) -> None:
    from urllib.parse import urlsplit

    from harvester.catalogue import Catalogue
    from harvester.replica_ledger import ReplicaLedger
    from replication.state import StateSync

    assert rucio_stack.staging_rse is not None
    client: Any = rucio_stack.client()
    portal = "REGTEST_PORTAL"
    address = urlsplit(sandbox.urls["dmdc"])
    if portal not in {r["rse"] for r in client.list_rses()}:
        # non-deterministic: each replica's PFN is the portal's own URL; nobody writes or deletes there
        client.add_rse(portal, deterministic=False, rse_type="DISK")
        client.add_protocol(portal, {"scheme": "http", "hostname": address.hostname, "port": address.port,
                                     "prefix": "/", "impl": "rucio.rse.protocols.webdav.Default",
                                     "domains": {"lan": {"read": 1, "write": 1, "delete": None},
                                                 "wan": {"read": 1, "write": 1, "delete": None}}})  # fmt: skip
        client.update_rse(portal, {"availability_write": False, "availability_delete": False})
        client.set_local_account_limit(rucio_stack.account, portal, -1)
    policy = ReplicationPolicy(staging_rse=rucio_stack.staging_rse, account=rucio_stack.account,
                               source_rses={"regtest": portal}, exclude=("data/CosineIQF.csv", "data/missing.csv",
                                                                        "notes.txt"))  # fmt: skip
    record = _release(sandbox, corpus, "portal-copy@v1")
    # GitLab's raw route serves the default branch without `?ref=`: URLs Rucio can hold as PFNs
    plain = [d.model_copy(update={"url": d.url.split("?")[0]}) if d.url else d for d in record.distributions]
    record = record.model_copy(update={"distributions": plain})
    names = names_for(record, policy)
    registry = Registry(tmp_path / "registry.sqlite")
    with HttpClient(Limits(), sleep=lambda seconds: None) as http:
        report = ReleaseRegistrar(RucioGateway.connect(rucio_stack.account), http, policy, registry).register(
            record, names
        )
    assert not report.failures and len(report.registered) == 2
    for name in report.registered:
        (replica,) = client.list_replicas([names.files[name].as_dict()], all_states=True)
        assert replica["states"][portal] == "AVAILABLE" and replica["states"][rucio_stack.staging_rse] == "AVAILABLE"

    catalogue = Catalogue.open(f"sqlite:///{tmp_path / 'catalogue.sqlite'}")
    try:
        ledger = ReplicaLedger(catalogue.engine)
        StateSync(RucioGateway.connect(rucio_stack.account), registry, ledger, policy).run()
        copies = {(r.file_name, r.site): r for r in ledger.for_records([record.id])[record.id]}
    finally:
        catalogue.close()
    urls = {d.name: d.url for d in record.distributions}
    at_portal = copies[("data/EventRate_erc1-6.csv", portal)]
    assert at_portal.url == urls["data/EventRate_erc1-6.csv"] and at_portal.checksum_verified  # sha256 matched
    assert not copies[("data/CosineNaQF.csv", portal)].checksum_verified  # the catalogue had no checksum for it
    staged = copies[("data/CosineNaQF.csv", rucio_stack.staging_rse)]
    assert staged.checksum_verified and staged.url is not None and staged.url.startswith("file://")
    registry.close()


class _ClusterFeed(_Feed):
    """Two records, linked into one cluster or not (as identity resolution and its undoing make them)."""

    def __init__(self, first: Record, second: Record) -> None:
        super().__init__(first)
        self.both = {first.id: first, second.id: second}
        self.linked = False

    def touch(self) -> None:
        from ontology.feed import Change

        for rid in self.both:
            self.log.append((len(self.log) + 1, rid))
        self._changes = [Change(seq, rid, "upsert") for seq, rid in self.log]

    def records(self, ids: list[str]) -> dict[str, Record]:
        return {rid: self.both[rid] for rid in ids if rid in self.both}

    def clusters(self, ids: list[str]) -> dict[str, tuple[str, ...]]:
        members = tuple(sorted(self.both))
        return {rid: members for rid in ids if rid in self.both} if self.linked else {}


def test_a_link_attaches_the_dataset_to_its_clusters_container_and_an_unlink_takes_it_back(
    rucio_stack: RucioStack, sandbox: RunningSandbox, corpus: Path, tmp_path: Path
) -> None:
    assert rucio_stack.staging_rse is not None
    skipped = ("data/CosineIQF.csv", "data/missing.csv", "notes.txt", "data/CosineNaQF.csv")
    policy = ReplicationPolicy(staging_rse=rucio_stack.staging_rse, account=rucio_stack.account, exclude=skipped)
    first, second = _release(sandbox, corpus, "cluster-a@v1"), _release(sandbox, corpus, "cluster-b@v1")
    feed = _ClusterFeed(first, second)
    client: Any = rucio_stack.client()
    registry = Registry(tmp_path / "registry.sqlite")

    def containers() -> dict[str, set[str]]:
        own = {rid: names_for(record, policy).container for rid, record in feed.both.items()}
        return {rid: {c["name"] for c in client.list_content(did.scope, did.name)} for rid, did in own.items()}

    datasets = {rid: names_for(record, policy).dataset.name for rid, record in feed.both.items()}
    head, other = sorted(datasets)
    with HttpClient(Limits(), sleep=lambda seconds: None) as http:
        consumer = ReplicationConsumer(
            feed, ReleaseRegistrar(RucioGateway.connect(rucio_stack.account), http, policy, registry)
        )
        feed.touch()
        assert not consumer.run().failed
        # alone, each release is in a container of its own
        assert containers() == {head: {datasets[head]}, other: {datasets[other]}}

        feed.linked = True
        feed.touch()
        assert not consumer.run().failed
        assert containers() == {head: {datasets[head], datasets[other]}, other: set()}

        feed.linked = False
        feed.touch()
        assert not consumer.run().failed
        assert containers() == {head: {datasets[head]}, other: {datasets[other]}}
    registry.close()
