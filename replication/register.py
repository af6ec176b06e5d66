"""Registering one release in Rucio: its files staged and registered, its dataset and container, its rules.

Every sandbox portal (and most real ones) offers its files only over HTTP, so each file is fetched through the
project's HttpClient (streamed to a temporary file; its size and the catalogue's checksum, whatever the algorithm,
verified; adler32 and md5 computed on the way), uploaded to the staging RSE with Rucio's UploadClient (which also
registers the BitTorrent metadata the transfer tool needs), and attached to the release's dataset. When the policy
names an RSE standing for the portal, the portal's URL is registered there as a second replica, with no bytes copied.

Each step recognises what already exists, so a release may be registered any number of times (after a crash, or
because it changed): a file already in Rucio with a replica at the staging RSE is not fetched again.
A file that cannot be fetched or does not match the catalogue is reported (record, file, reason) and left out;
the others go on.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connectors.http import HttpClient, HttpError
from ontology.model import Distribution, Record
from replication.checksums import Digests, digest_file
from replication.gateway import PortalCopy, RucioGateway, portal_pfn
from replication.naming import Did, ReleaseNames
from replication.policy import ReplicationPolicy, RulePolicy
from replication.registry import FileRow, Registry, ReleaseRow

log = logging.getLogger(__name__)


class FileProblem(Exception):
    """A file that cannot be replicated now; the message says why and what to do."""


@dataclass
class ReleaseReport:
    record_id: str
    registered: list[str] = field(default_factory=list)  # file names staged or found in Rucio now
    unchanged: list[str] = field(default_factory=list)
    without_checksum: list[str] = field(default_factory=list)  # the catalogue had none: computed at staging
    failures: dict[str, str] = field(default_factory=dict)  # file name ("" for the release) → reason
    rules_created: list[str] = field(default_factory=list)


def fingerprint(record: Record, names: ReleaseNames, rules: list[RulePolicy], policy: ReplicationPolicy) -> str:
    """What the registration of a release depends on: when it is unchanged, registering again would do nothing."""
    parts = [str(names.dataset), str(names.container), policy.staging_rse, str(policy.staging_lifetime),
             policy.source_rses.get(record.source, "")]  # fmt: skip
    wanted = sorted((d for d in record.distributions if policy.replicates(d.name)), key=_by_name)
    parts += [f"{d.name}|{d.url}|{d.size_bytes}|{d.checksum}" for d in wanted]
    parts += [repr(rule) for rule in rules]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _by_name(distribution: Distribution) -> str:
    return distribution.name


class ReleaseRegistrar:
    def __init__(self, gateway: RucioGateway, http: HttpClient, policy: ReplicationPolicy, registry: Registry) -> None:
        self.gateway = gateway
        self.http = http
        self.policy = policy
        self.registry = registry

    def register(self, record: Record, names: ReleaseNames) -> ReleaseReport:
        report = ReleaseReport(record.id)
        rules = self.policy.rules_for(record)
        previous = self.registry.release(record.id)
        try:
            self._collections(record, names, previous)
        except Exception as error:  # Rucio refused the dataset or container: nothing else can be done for it
            report.failures[""] = f"record {record.id}: cannot create {names.dataset} or {names.container}: {error}"
            self._save(record, names, None, report)
            return report
        known = self.registry.files(record.id)
        wanted = [d for d in record.distributions if self.policy.replicates(d.name)]
        # one lookup for the whole release, not one per file (a release may hold thousands)
        staged = self.gateway.staged([names.files[d.name] for d in wanted], self.policy.staging_rse)
        portal_copies: list[PortalCopy] = []
        for distribution in wanted:
            did = names.files[distribution.name]
            try:
                known_file = known.get(distribution.name)
                copy = self._file(record, distribution, did, names.dataset, known_file, did in staged, report)
                if copy is not None:
                    portal_copies.append(copy)
            except FileProblem as problem:
                report.failures[distribution.name] = str(problem)
                log.warning("%s", problem)
            except Exception as error:  # Rucio or the disk failed for this file: the next run tries again
                report.failures[distribution.name] = (
                    f"record {record.id}, file {distribution.name!r}: {type(error).__name__}: {error}"
                )
                log.warning("%s", report.failures[distribution.name])
        expected = {names.files[d.name] for d in wanted if d.name not in report.failures}
        self.gateway.attach(names.dataset, expected)
        self._portal_copies(record, portal_copies, report)
        # files the release no longer has leave its dataset (their replicas go when no rule holds them)
        gone = {row.file_name for row in known.values()} - {d.name for d in wanted}
        if gone:
            self.gateway.detach(names.dataset, {Did(known[n].scope, known[n].did) for n in gone})
            self.registry.drop_files(record.id, sorted(gone))
        try:
            self._rules(names, rules, report)
        except Exception as error:
            report.failures[""] = f"record {record.id}: rules on {names.dataset}: {type(error).__name__}: {error}"
        complete = not report.failures
        self._save(record, names, fingerprint(record, names, rules, self.policy) if complete else None, report)
        return report

    # -- steps ----------------------------------------------------------------------------------------------
    def _collections(self, record: Record, names: ReleaseNames, previous: ReleaseRow | None) -> None:
        self.gateway.ensure_scope(names.dataset.scope)
        self.gateway.ensure_scope(names.container.scope)
        self.gateway.ensure_collection(names.dataset, "dataset")
        # the staged copies are held by a rule of their own on the dataset, so the reaper leaves them until the
        # policy's rules have copied them (and for `staging_lifetime` at most)
        self.gateway.ensure_rule(names.dataset, 1, self.policy.staging_rse, lifetime=self.policy.staging_lifetime)
        self.gateway.ensure_collection(names.container, "container")
        self.gateway.attach(names.container, [names.dataset])
        if previous is not None and (previous.container_scope, previous.container) != (
            names.container.scope,
            names.container.name,
        ):
            # the record moved to another cluster (an identity link or its undoing)
            self.gateway.detach(Did(previous.container_scope, previous.container), [names.dataset])

    def _file(
        self,
        record: Record,
        distribution: Distribution,
        did: Did,
        dataset: Did,
        known: FileRow | None,
        staged: bool,
        report: ReleaseReport,
    ) -> PortalCopy | None:
        """Stage the file unless Rucio has it; the portal's own copy of it to register, if the policy wants one."""
        url = distribution.url  # the download URL (access_url is a page about the file)
        checksum = str(distribution.checksum) if distribution.checksum else None
        if (
            known is not None
            and known.did == did.name
            and known.portal_url == url
            and (checksum is None or known.catalogue_checksum == checksum)
            and staged
        ):
            report.unchanged.append(distribution.name)
            if checksum is None:
                report.without_checksum.append(distribution.name)
            return self._portal_copy(record, did, url, known.bytes, known.adler32, known.md5)
        if url is None:
            raise FileProblem(f"record {record.id}, file {distribution.name!r}: the catalogue has no download URL "
                              "for it, so it cannot be fetched; it is not replicated")  # fmt: skip
        meta = self.gateway.file_metadata(did)
        if meta is not None and staged:
            # registered by an earlier run whose bookkeeping was lost (a crash): Rucio has its checksums
            digests = Digests(int(meta["bytes"]), str(meta["adler32"]).zfill(8), str(meta.get("md5") or ""), {})
        else:
            digests = self._stage(record, distribution, url, did, dataset)
        self.registry.save_file(
            FileRow(record.id, distribution.name, did.scope, did.name, digests.size, digests.adler32, digests.md5,
                    checksum, url)
        )  # fmt: skip
        report.registered.append(distribution.name)
        if checksum is None:
            report.without_checksum.append(distribution.name)
        return self._portal_copy(record, did, url, digests.size, digests.adler32, digests.md5)

    def _stage(self, record: Record, distribution: Distribution, url: str, did: Did, dataset: Did) -> Digests:
        where = f"record {record.id}, file {distribution.name!r}"
        cap = self.policy.staging_max_file_bytes
        if cap is not None and distribution.size_bytes is not None and distribution.size_bytes > cap:
            raise FileProblem(f"{where}: {distribution.size_bytes} bytes, above the staging cap of {cap} bytes "
                              "(staging_max_file_bytes): raise the cap to replicate it")  # fmt: skip
        scratch = self.policy.scratch_dir
        if scratch is not None:
            scratch.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="dmlake-stage-", dir=scratch) as folder:
            path = Path(folder) / "payload"
            try:
                self.http.download(url, lambda: path.open("wb"))
            except HttpError as error:
                raise FileProblem(f"{where}: cannot fetch {url}: {error}") from None
            also = [distribution.checksum.algorithm] if distribution.checksum else []
            digests = digest_file(path, also)
            if distribution.size_bytes is not None and digests.size != distribution.size_bytes:
                raise FileProblem(f"{where}: {url} gave {digests.size} bytes, the catalogue says "
                                  f"{distribution.size_bytes}; not registered (harvest the source again?)")  # fmt: skip
            if distribution.checksum is not None and not digests.matches(distribution.checksum):
                raise FileProblem(f"{where}: {url} has {distribution.checksum.algorithm} "
                                  f"{digests.value(distribution.checksum.algorithm)}, the catalogue says "
                                  f"{distribution.checksum.value}; not registered")  # fmt: skip
            if cap is not None and digests.size > cap:
                raise FileProblem(f"{where}: {digests.size} bytes, above the staging cap of {cap} bytes")
            if digests.size == 0:
                raise FileProblem(f"{where}: the file is empty; Rucio's BitTorrent transfers cannot move empty "
                                  "files, so it is not replicated")  # fmt: skip
            self.gateway.upload(path, self.policy.staging_rse, did, dataset)
        return digests

    def _portal_copy(
        self, record: Record, did: Did, url: str | None, size: int, adler32: str, md5: str
    ) -> PortalCopy | None:
        rse = self.policy.source_rses.get(record.source)
        if rse is None or url is None:
            return None
        if portal_pfn(url) is None:
            # the staged copy stands; the portal copy is only not known to Rucio
            log.info("record %s: %s is not registered at %s: Rucio's PFNs hold no query string", record.id, url, rse)
            return None
        return PortalCopy(did, url, size, adler32, md5)

    def _portal_copies(self, record: Record, copies: list[PortalCopy], report: ReleaseReport) -> None:
        rse = self.policy.source_rses.get(record.source)
        if rse is None or not copies:
            return
        try:
            self.gateway.add_portal_replicas(rse, copies)
        except Exception as error:  # the staged copies stand; the next run registers the portal's again
            report.failures[""] = (
                f"record {record.id}: the portal's copies at {rse}: {type(error).__name__}: {error} (the staged "
                "copies are registered; the next sync tries again)"
            )
            log.warning("%s", report.failures[""])

    def _rules(self, names: ReleaseNames, rules: list[RulePolicy], report: ReleaseReport) -> None:
        for rule in rules:
            rule_id, made = self.gateway.ensure_rule(names.dataset, rule.copies, rule.rse_expression,
                                                     lifetime=rule.lifetime, grouping=rule.grouping,
                                                     activity=rule.activity)  # fmt: skip
            if made:
                report.rules_created.append(rule_id)

    def _save(self, record: Record, names: ReleaseNames, fingerprint: str | None, report: ReleaseReport) -> None:
        self.registry.save_release(
            ReleaseRow(record.id, record.source, names.dataset.scope, names.dataset.name, names.container.scope,
                       names.container.name, fingerprint, True, None, False)
        )  # fmt: skip
        self.registry.set_failures(record.id, report.failures)


def lifetimes(policy: ReplicationPolicy, record: Record) -> dict[str, int | None]:
    """The lifetime each of a live release's rules should have, by RSE expression (the staging rule included)."""
    wanted: dict[str, int | None] = {policy.staging_rse: policy.staging_lifetime}
    for rule in policy.rules_for(record):
        wanted[rule.rse_expression] = rule.lifetime
    return wanted


def describe(report: ReleaseReport) -> dict[str, Any]:
    return {
        "record": report.record_id,
        "registered": report.registered,
        "unchanged": len(report.unchanged),
        "without_catalogue_checksum": report.without_checksum,
        "failures": report.failures,
        "rules_created": report.rules_created,
    }
