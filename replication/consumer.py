"""The replicator: a change-feed consumer (cursor `replication`) that keeps Rucio in step with the catalogue.

* upsert of a live record → its release registered (new and changed files staged, attached, the policy's rules);
  a record the replicator had seen tombstoned comes back: its rules get their policy lifetimes again;
* delete (tombstone) → each of its rules gets the grace period as lifetime; Rucio's judge-cleaner removes them when
  it ends and the reaper frees the space. Rucio's machinery keeps the time, not a local timer.

The cursor advances only after a batch is fully done (failures are recorded per release and tried again by every
run), and every step is idempotent, so a crash anywhere loses nothing. The ledger writes of the state sync append
"upsert" changes of their own for the search index: for this consumer those are records whose fingerprint it
already holds, skipped after one read of the batch's records and no Rucio call.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ontology.feed import Change, ChangeFeed
from ontology.model import Record
from replication.gateway import RucioGateway
from replication.naming import Did, names_for
from replication.policy import ReplicationPolicy
from replication.register import ReleaseRegistrar, ReleaseReport, fingerprint, lifetimes
from replication.registry import Registry, ReleaseRow

log = logging.getLogger(__name__)
CONSUMER = "replication"


class ReplicationFeed(ChangeFeed, Protocol):
    def clusters(self, ids: Sequence[str]) -> dict[str, tuple[str, ...]]: ...


@dataclass
class SyncOutcome:
    changes: int = 0
    skipped: int = 0
    reports: list[ReleaseReport] = field(default_factory=list)
    tombstoned: list[str] = field(default_factory=list)
    revived: list[str] = field(default_factory=list)
    failed: dict[str, dict[str, str]] = field(default_factory=dict)

    def add(self, report: ReleaseReport) -> None:
        self.reports.append(report)
        if report.failures:
            self.failed[report.record_id] = dict(report.failures)
        else:
            self.failed.pop(report.record_id, None)


class ReplicationConsumer:
    def __init__(
        self,
        feed: ReplicationFeed,
        registrar: ReleaseRegistrar,
        *,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self.feed = feed
        self.registrar = registrar
        self.registry: Registry = registrar.registry
        self.gateway: RucioGateway = registrar.gateway
        self.policy: ReplicationPolicy = registrar.policy
        self.on_batch = on_batch

    def run(self, batch_size: int = 200) -> SyncOutcome:
        """Every change after the cursor, then the releases whose last registration failed."""
        outcome = SyncOutcome()
        self.apply_policy_change(outcome)
        cursor = self.feed.cursor(CONSUMER)
        while True:
            changes = self.feed.changes_since(cursor, batch_size)
            if not changes:
                break
            self._apply(changes, outcome)
            cursor = changes[-1].seq
            self.feed.set_cursor(CONSUMER, cursor)
            outcome.changes += len(changes)
            if self.on_batch is not None:
                self.on_batch(cursor)
        self.retry_failed(outcome)
        return outcome

    def _apply(self, changes: Sequence[Change], outcome: SyncOutcome) -> None:
        ids = list(dict.fromkeys(c.record_id for c in changes))
        live = self.feed.records(ids)
        known = self.registry.fingerprints(ids)
        clusters = self.feed.clusters(list(live))
        heads = {rid: min(clusters.get(rid, (rid,))) for rid in live}
        others = sorted({h for rid, h in heads.items() if h != rid and h not in live})
        head_records = {**live, **(self.feed.records(others) if others else {})}
        for rid in ids:
            if rid in live:
                record = live[rid]
                head = head_records.get(heads[rid]) if heads[rid] != rid else None
                names = names_for(record, self.policy, head)
                current = fingerprint(record, names, self.policy.rules_for(record), self.policy)
                previous = known.get(rid)
                if previous is not None and previous == (current, True):
                    outcome.skipped += 1  # nothing that registration depends on changed (e.g. a ledger write)
                    continue
                if previous is not None and not previous[1]:
                    self._revive(record)
                    outcome.revived.append(rid)
                outcome.add(self.registrar.register(record, names))
            elif rid in known and known[rid][1]:
                self.tombstone(rid)
                outcome.tombstoned.append(rid)

    def apply_policy_change(self, outcome: SyncOutcome) -> None:
        """When the policy changed since the last run, every live release is registered again under it (new rules
        are added; rules the policy no longer asks for are left to the data manager, who may still want them)."""
        digest = hashlib.sha256(repr(self.policy).encode()).hexdigest()
        previous = self.registry.meta("policy")
        if previous == digest:
            return
        if previous is not None:
            live = [r.record_id for r in self.registry.releases() if r.live]
            log.info("the replication policy changed: registering %d releases again", len(live))
            for start in range(0, len(live), 200):
                self._register_all(live[start : start + 200], outcome)
        self.registry.set_meta("policy", digest)

    def _register_all(self, ids: list[str], outcome: SyncOutcome) -> None:
        live = self.feed.records(ids)
        clusters = self.feed.clusters(list(live))
        for rid, record in live.items():
            head_id = min(clusters.get(rid, (rid,)))
            head = self.feed.records([head_id]).get(head_id) if head_id != rid else None
            outcome.add(self.registrar.register(record, names_for(record, self.policy, head)))

    # -- tombstones -----------------------------------------------------------------------------------------
    def tombstone(self, record_id: str) -> None:
        """Every rule of the release's dataset expires after the grace period (an earlier expiry is kept)."""
        row = self.registry.release(record_id)
        if row is None:
            return
        dataset = Did(row.scope, row.dataset)
        grace = self.policy.tombstone_grace
        deadline = time.time() + grace
        for rule in self.gateway.rules_on(dataset):
            if rule.expires_at is not None and _epoch(rule.expires_at) <= deadline:
                continue
            self.gateway.set_lifetime(rule.id, max(grace, 1))
            log.info("record %s tombstoned: rule %s on %s expires in %d s", record_id, rule.id, dataset, grace)
        self.registry.save_release(_replace(row, live=False, tombstoned_at=time.time(), fingerprint=None))

    def _revive(self, record: Record) -> None:
        """A record back within the grace: its rules get their policy lifetimes again (none: kept for ever)."""
        row = self.registry.release(record.id)
        if row is None:
            return
        wanted = lifetimes(self.policy, record)
        for rule in self.gateway.rules_on(Did(row.scope, row.dataset)):
            if rule.rse_expression in wanted:
                self.gateway.set_lifetime(rule.id, wanted[rule.rse_expression])
                log.info("record %s is back: rule %s lifetime %s", record.id, rule.id, wanted[rule.rse_expression])
        self.registry.save_release(_replace(row, live=True, tombstoned_at=None))

    # -- failures -------------------------------------------------------------------------------------------
    def retry_failed(self, outcome: SyncOutcome) -> None:
        tried = {report.record_id for report in outcome.reports}
        failing = [rid for rid in self.registry.failures() if rid not in tried]
        if not failing:
            return
        live = self.feed.records(failing)
        for rid in failing:
            if rid not in live:
                self.registry.set_failures(rid, {})
        self._register_all([rid for rid in failing if rid in live], outcome)


def _epoch(value: object) -> float:
    from datetime import UTC, datetime

    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    if isinstance(value, str):
        from email.utils import parsedate_to_datetime

        try:
            return parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError):
            return datetime.fromisoformat(value).replace(tzinfo=UTC).timestamp()
    return float("inf")


def _replace(row: ReleaseRow, **changes: object) -> ReleaseRow:
    from dataclasses import replace

    return replace(row, **changes)  # type: ignore[arg-type]
