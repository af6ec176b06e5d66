"""Replica state back into the catalogue: for each release the replicator registered, Rucio's replicas and rule
locks become one `FileReplica` per file and site in the catalogue's replica ledger.

* a replica AVAILABLE → online (on tape at a TAPE RSE), once its bytes were checked;
* a replica COPYING, or a lock REPLICATING at a site that has no replica yet → replicating;
* a rule still waiting (for approval, or to be injected) → requested, at its RSE expression.

Checksums are verified end to end: each available copy whose PFN is readable here (`file://`, the local stack) is
read and its adler32 and md5 compared with the values registered at staging, which were computed from bytes that
matched the catalogue's own checksum. A copy that differs is reported (record, file, site), is not shown online,
and is declared bad to Rucio, whose recovery replaces it from a good copy. A copy is read once; `check` reads
every copy again. The portal's own copy (at the RSE standing for it) counts as verified when the staged bytes
matched the catalogue. A tombstoned release whose copies are all gone is retired (its ledger rows forgotten).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from ontology.model import Availability
from replication.checksums import digest_file
from replication.gateway import RULE_STATES_WAITING, RucioGateway
from replication.naming import Did
from replication.policy import ReplicationPolicy
from replication.registry import FileRow, Registry, ReleaseRow, Verification

log = logging.getLogger(__name__)


class FileReplicaLike(Protocol):
    record_id: str
    file_name: str
    site: str


class Ledger(Protocol):
    def replace(self, record_id: str, replicas: Sequence[Any]) -> bool: ...


@dataclass(frozen=True)
class Mismatch:
    record_id: str
    file_name: str
    site: str
    detail: str

    def __str__(self) -> str:
        return f"record {self.record_id}, file {self.file_name!r} at {self.site}: {self.detail}"


@dataclass
class StateReport:
    releases: int = 0
    changed: list[str] = field(default_factory=list)
    verified: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)


def local_path(url: str) -> Path | None:
    parts = urlsplit(url)
    if parts.scheme != "file":
        return None
    return Path(unquote(parts.path))


_PFN_PREFERENCE = {"file": 0, "root": 1, "davs": 2, "https": 3, "http": 4}


def best_url(pfns: dict[str, dict[str, Any]], rse: str) -> str | None:
    """The PFN an analyst reads the copy at `rse` from: file:// on local RSEs, else xrootd, WebDAV, https."""
    candidates = [p for p, info in pfns.items() if info.get("rse") == rse]
    candidates.sort(key=lambda p: (_PFN_PREFERENCE.get(urlsplit(p).scheme, 9), p))
    return candidates[0] if candidates else None


class StateSync:
    def __init__(self, gateway: RucioGateway, registry: Registry, ledger: Ledger, policy: ReplicationPolicy) -> None:
        self.gateway = gateway
        self.registry = registry
        self.ledger = ledger
        self.policy = policy

    def run(self, reverify: bool = False) -> StateReport:
        report = StateReport()
        for release in self.registry.releases():
            try:
                self.sync_release(release, report, reverify)
            except Exception as error:  # Rucio unreachable for this one: the next round tries again
                log.warning("record %s: replica states not read from Rucio: %s: %s", release.record_id,
                            type(error).__name__, error)  # fmt: skip
        return report

    def sync_release(self, release: ReleaseRow, report: StateReport, reverify: bool = False) -> None:
        from harvester.replica_ledger import FileReplica

        report.releases += 1
        files = self.registry.files(release.record_id)
        by_did = {Did(f.scope, f.did): f for f in files.values()}
        portal = self.policy.source_rses.get(release.source)
        replicas: list[FileReplica] = []
        seen: set[tuple[str, str]] = set()
        for raw in self.gateway.replicas(sorted(by_did, key=str)) if by_did else []:
            row = by_did.get(Did(raw["scope"], raw["name"]))
            if row is None:
                continue
            for rse, rucio_state in sorted(raw.get("states", {}).items()):
                if rse == portal and not release.live:
                    continue  # the portal withdrew it: its old URL is no copy to offer
                # the portal's copy is read at the catalogue's URL (Rucio's PFN has the port written out)
                url = row.portal_url if rse == portal else best_url(raw.get("pfns", {}), rse)
                entry = self._copy(release, row, rse, str(rucio_state), url, portal, report, reverify)
                if entry is not None:
                    replicas.append(FileReplica(release.record_id, row.file_name, rse, entry[0], url, entry[1]))
                    seen.add((row.file_name, rse))
        rules = self.gateway.rules_on(Did(release.scope, release.dataset))
        for rule in rules:
            if rule.state in RULE_STATES_WAITING:
                for row in files.values():
                    if (row.file_name, rule.rse_expression) not in seen:
                        replicas.append(FileReplica(release.record_id, row.file_name, rule.rse_expression,
                                                    Availability.REQUESTED))  # fmt: skip
                        seen.add((row.file_name, rule.rse_expression))
            elif rule.locks_replicating or rule.locks_stuck:
                for lock in self.gateway.locks(rule.id):
                    row = by_did.get(Did(lock["scope"], lock["name"]))
                    if row is None or (row.file_name, lock["rse"]) in seen:
                        continue
                    state = Availability.REPLICATING if lock["state"] == "REPLICATING" else Availability.REQUESTED
                    replicas.append(FileReplica(release.record_id, row.file_name, lock["rse"], state))
                    seen.add((row.file_name, lock["rse"]))
        if self.ledger.replace(release.record_id, replicas):
            report.changed.append(release.record_id)
        if not release.live and not rules and not any(r.site != portal for r in replicas):
            self.registry.save_release(_retired(release))
            report.retired.append(release.record_id)

    def _copy(
        self,
        release: ReleaseRow,
        row: FileRow,
        rse: str,
        rucio_state: str,
        url: str | None,
        portal: str | None,
        report: StateReport,
        reverify: bool,
    ) -> tuple[Availability, bool] | None:
        if rucio_state == "COPYING":
            return Availability.REPLICATING, False
        if rucio_state != "AVAILABLE":
            # BAD, UNAVAILABLE, BEING_DELETED…: not a copy anyone should read; when it is available again (Rucio
            # replaced a bad copy) it is read again
            self.registry.forget_verification(release.record_id, row.file_name, rse)
            return None
        online = Availability.ON_TAPE if self.gateway.rse_type(rse) == "TAPE" else Availability.ONLINE
        if rse == portal:
            return online, row.catalogue_checksum is not None
        path = local_path(url) if url else None
        if path is None:
            return online, False  # not readable from here; Rucio's own transfer checks vouch for it
        known = self.registry.verification(release.record_id, row.file_name, rse)
        if known is not None and known.url == url and known.ok and not reverify:
            return online, True
        # read now: a copy never read, or one found bad before (Rucio may have replaced it meanwhile)
        result = self._verify(path, row)
        self.registry.save_verification(release.record_id, row.file_name, rse, Verification(str(url), *result))
        report.verified += 1
        if result[0]:
            return online, True
        if known is not None and not known.ok and known.url == url and not reverify:
            return None  # still bad, already reported and declared: Rucio's recovery is under way
        mismatch = Mismatch(release.record_id, row.file_name, rse, str(result[1]))
        report.mismatches.append(mismatch)
        log.error("checksum mismatch: %s; declared bad to Rucio, which replaces it from a good copy", mismatch)
        try:
            refused = self.gateway.declare_bad(Did(row.scope, row.did), rse, f"dmlake: {result[1]}")
        except Exception as error:
            refused = {rse: [f"{type(error).__name__}: {error}"]}
        if refused:
            log.error("Rucio did not take %s at %s as bad: %s", row.did, rse, refused)
        return None

    @staticmethod
    def _verify(path: Path, row: FileRow) -> tuple[bool, str | None]:
        try:
            digests = digest_file(path)
        except OSError as error:
            return False, f"cannot read {path}: {error.strerror}"
        if digests.size != row.bytes:
            return False, f"{digests.size} bytes, registered {row.bytes}"
        if digests.adler32 != row.adler32.zfill(8):
            return False, f"adler32 {digests.adler32}, registered {row.adler32}"
        if row.md5 and digests.md5 != row.md5:
            return False, f"md5 {digests.md5}, registered {row.md5}"
        return True, None


def _retired(release: ReleaseRow) -> ReleaseRow:
    from dataclasses import replace

    return replace(release, retired=True)
