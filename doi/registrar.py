"""The DOI registrar: a change-feed consumer that keeps DataCite in step with the catalogue (DESIGN.md §9).

DataCite's states, exactly: a **draft** is reserved when a record appears (deletable, invisible); a data manager's
`dmlake doi publish` makes it **findable**; a tombstoned record's DOI becomes **registered** (hidden: it resolves, is
not indexed) — or, if it was only ever a draft, the draft is deleted, as DataCite allows only for drafts. Nothing
goes back to draft. Every change of a record updates its metadata at DataCite.

Crash safety. Every step writes the state it intends to the `dois` row (committed) *before* calling DataCite, and the
state DataCite answered *after*. A row whose `confirmed` is unknown or behind `intended` is asked about (GET) before
anything is created, so a DOI created at DataCite whose confirmation was lost is found, never made twice; and the DOI
itself is a pure function of the record (or of the `.vN` number fixed in the row before the call), so even a second
create could only hit "already taken". Records the feed brought but that failed (invalid metadata, DataCite refused)
keep a report on their row and are tried again by every run (`retry_unsettled`).

Versioned releases (a record that `is_version_of` something, as GitLab tags are of their project) get a version DOI
`<concept DOI>.vN` (N in order of appearance) and share a concept DOI carrying the newest version's metadata; the
version says IsVersionOf the concept, the concept HasVersion each version.

Tables and files (`[[doi.parts]]`, doi/parts.py) get DOIs under their release's, `<release DOI>/t<n>` or
`/f.<slug>`, one row each keyed by release and part (never two DOIs for one part), and the release's lifecycle: drafts
reserved with it, published with it, hidden with it, their metadata updated on every change of the release. They are
written before the release, which lists them (HasPart: once public, only the public ones; each says IsPartOf it). A
part the release no longer has is hidden (registered), or withdrawn if it was only ever a draft, as a release is.

`DMLAKE_DOI_CRASH_AT=after-<action>` (create, update, publish, register, hide, delete) kills the process with SIGKILL
right after DataCite answered that action and before the answer is committed; `after-intent` right after the intent
was committed and before DataCite was called. The crash tests use them.
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from doi.client import DataCiteClient, DataCiteError, RemoteDoi
from doi.metadata import InvalidMetadata, fingerprint, part_attributes, record_attributes
from doi.parts import Part, file_segment, record_parts
from doi.policy import FILE_ROLES, DoiPolicy, PartRule
from doi.store import DoiRow, DoiStore
from indexer.consumer import FeedConsumer, Progress
from ontology.feed import Change, ChangeFeed
from ontology.model import Record, split_record_id

log = logging.getLogger(__name__)
CRASH_ENV = "DMLAKE_DOI_CRASH_AT"
CONSUMER = "doi"
_RANK = {None: 0, "deleted": 0, "draft": 1, "registered": 2, "findable": 3}
PART_KINDS = ("table", "file")


@dataclass
class Outcome:
    """What a run did, for the command's summary."""

    reserved: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # key → report

    def merge(self, other: Outcome) -> None:
        self.reserved += other.reserved
        self.changed += other.changed
        self.failed |= other.failed


def _crash_point(action: str) -> None:
    if os.environ.get(CRASH_ENV) == f"after-{action}":
        os.kill(os.getpid(), signal.SIGKILL)


def _event(current: str | None, target: str) -> str | None:
    if current == target or target == "draft":
        return None
    if target == "findable":
        return "publish"
    return "register" if current in (None, "draft") else "hide"


def _source_of(record_id: str) -> str | None:
    try:
        return split_record_id(record_id)[0]
    except ValueError:
        return None


def listed_versions(versions: Sequence[DoiRow], concept_state: str) -> list[str]:
    """The version DOIs a concept lists (HasVersion): once the concept is public, only versions that are public
    too (a findable concept must not point at drafts, which do not resolve); while it is a draft, every version."""
    if concept_state in ("registered", "findable"):
        return [v.doi for v in versions if v.intended in ("registered", "findable")]
    return [v.doi for v in versions if v.intended != "deleted"]


def listed_parts(parts: Sequence[DoiRow], release_state: str) -> list[str]:
    """The part DOIs a release lists (HasPart): the parts it still has; once it is public, only public ones."""
    live = [p for p in parts if p.live and p.intended != "deleted"]
    if release_state in ("registered", "findable"):
        return [p.doi for p in live if p.intended in ("registered", "findable")]
    return [p.doi for p in live]


def part_candidates(record: Record, prefix: str, rule: PartRule | None) -> dict[str, Part]:
    """Every table and file of `record` that could have a DOI row, by part key: the files of the rule's roles, or of
    any role when no rule chooses files (rows made under an earlier policy keep following their parts)."""
    roles = rule.roles if rule is not None and rule.dois == "files" else FILE_ROLES
    found = [
        *record_parts(record, PartRule("tables"), prefix),
        *record_parts(record, PartRule("files", roles=roles), prefix),
    ]
    return {part.key: part for part in found}


def part_url(release_url: str, part_doi: str) -> str:
    """A part's landing: its release's page, anchored at the part's DOI segment (`#t3`, `#f.data-events.csv`)."""
    return f"{release_url}#{part_doi.rsplit('/', 1)[1]}"


def concept_id(record: Record) -> str | None:
    """The native id of what a versioned record is a version of (GitLab: the project path), else None."""
    return record.is_version_of[0].value if record.is_version_of else None


class DoiRegistrar(FeedConsumer[DoiStore]):
    def __init__(
        self,
        feed: ChangeFeed,
        store: DoiStore,
        client: DataCiteClient,
        policy: DoiPolicy,
        source_kinds: Mapping[str, str],
        *,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> None:
        super().__init__(feed, store, CONSUMER, on_progress=on_progress)
        self.store = store
        self.client = client
        self.policy = policy
        self.source_kinds = source_kinds
        self.outcome = Outcome()
        self.heartbeat: Callable[[], None] = lambda: None
        """Called before every DataCite write: the CLI renews the registrar's lease with it (`doi.lock`)."""

    # -- the feed ----------------------------------------------------------------------------------------------
    def _apply(self, changes: Sequence[Change]) -> tuple[int, int]:
        newest: dict[str, Change] = {}
        for change in changes:
            newest.pop(change.record_id, None)
            newest[change.record_id] = change
        # records of sources the policy does not choose, and without a DOI of ours, are not even decoded
        chosen = {name for name, kind in self.source_kinds.items() if kind in self.policy.kinds} | set(
            self.policy.sources
        )
        held = self.store.keys_among(list(newest))
        relevant = [i for i in newest if i in held or _source_of(i) in chosen]
        live = self.feed.records(relevant)
        written = removed = 0
        for record_id in relevant:
            if record_id in live:
                written += self.sync_record(live[record_id])
            else:
                removed += self.sync_gone(record_id)
        return written, removed

    def reserve(self) -> Outcome:
        """Run over the feed after the cursor, then retry what is unsettled; returns what this call did."""
        self.outcome = Outcome()
        self.run(batch_size=200, commit_every=200)
        self.retry_unsettled()
        return self.outcome

    def reserve_all(self) -> Outcome:
        """`reserve`, then every record the feed ever brought, once more: after a change of the policy (a source
        chosen, a `[[doi.parts]]` rule added) the records the cursor has passed get their DOIs too. Idempotent: a
        record already in step costs a read and no call."""
        self.outcome = Outcome()
        self.run(batch_size=200, commit_every=200)
        seq = 0
        while changes := self.feed.changes_since(seq, 500):
            self._apply(changes)
            seq = changes[-1].seq
        self.retry_unsettled()
        return self.outcome

    def retry_unsettled(self) -> None:
        rows = self.store.unsettled()
        releases = [r.parent_key for r in rows if r.kind in PART_KINDS and r.parent_key]
        keys = [r.key for r in rows if r.kind == "record"] + releases
        records = self.feed.records(keys)
        for row in rows:
            if row.kind == "concept":
                self.sync_concept(row.key)
            elif row.kind == "record":
                self._sync_key(row.key, records)
        for key in dict.fromkeys(releases):
            self._sync_key(key, records)  # a part is synced with its release, which says what the part is now

    def _sync_key(self, key: str, records: Mapping[str, Record]) -> None:
        if key in records:
            self.sync_record(records[key])
        else:
            self.sync_gone(key)

    # -- one record --------------------------------------------------------------------------------------------
    def sync_record(self, record: Record) -> int:
        """Make DataCite's DOIs of a live record (and of its tables or files) match it; returns the writes made."""
        row = self.store.get(record.id)
        if row is None:
            if not self.policy.eligible(record, self.source_kinds.get(record.source)):
                return 0
            concept = concept_id(record)
            if concept is None:
                row = self.store.reserve(
                    record.id, self.policy.doi(record.source, record.native_id), record.source, "record"
                )
            else:
                key = self._concept_key(record.source, concept)
                self.store.reserve(key, self.policy.doi(record.source, concept), record.source, "concept")
                row = self.store.reserve(
                    record.id,
                    self.policy.doi(record.source, concept),
                    record.source,
                    "record",
                    concept_key=key,
                    version_of=True,
                )
            self.outcome.reserved.append(row.doi)
        concept_row = self.store.get(row.concept_key) if row.concept_key else None
        try:
            data = self._release_attributes(record, row, None)
        except InvalidMetadata as error:
            self._fail(row, str(error))
            return 0
        target = "findable" if row.approved else ("registered" if _RANK[row.confirmed] >= 2 else "draft")
        written = self._sync_parts(record, row, data, target)
        parts = self.store.parts(row.key)
        if parts:
            try:
                data = self._release_attributes(record, row, listed_parts(parts, target))
            except InvalidMetadata as error:
                self._fail(row, str(error))
                return written
        written += self._apply_state(row, target, True, data)
        if concept_row is not None:
            written += self.sync_concept(concept_row.key)
        return written

    def _release_attributes(self, record: Record, row: DoiRow, part_dois: list[str] | None) -> dict[str, object]:
        concept_row = self.store.get(row.concept_key) if row.concept_key else None
        return record_attributes(
            record,
            row.doi,
            self.policy.landing_page(record.id),
            concept_doi=concept_row.doi if concept_row else None,
            part_dois=part_dois,
        )

    def _sync_parts(self, record: Record, row: DoiRow, release: dict[str, object], target: str) -> int:
        """Reserve DOIs for the parts the policy chooses that have none, then bring every part row in step with the
        release: `target` (the release's state) for the parts it has, hidden or withdrawn for those it lost."""
        rule = self.policy.part_rule(record.source, self.source_kinds.get(record.source))
        held = self.store.parts(row.key)
        if rule is None and not held:
            return 0
        known = {p.part_key for p in held}
        for chosen in record_parts(record, rule, self.policy.prefix) if rule is not None else []:
            if chosen.key not in known:
                segment = None if chosen.kind == "table" else file_segment(chosen.name)
                self.outcome.reserved.append(self.store.reserve_part(row, chosen.kind, chosen.key, segment).doi)
        candidates = part_candidates(record, self.policy.prefix, rule)
        url = self.policy.landing_page(record.id)
        written = 0
        for part_row in self.store.parts(row.key):
            part = candidates.get(part_row.part_key or "")
            if part is None:
                written += self._part_gone(part_row)
                continue
            try:
                data = part_attributes(release, record.id, part, part_row.doi, part_url(url, part_row.doi), row.doi)
            except InvalidMetadata as error:
                self._fail(part_row, str(error))
                continue
            written += self._apply_state(part_row, target, True, data)
        return written

    def _part_gone(self, row: DoiRow) -> int:
        """A part its release no longer has (or of a tombstoned release): hidden, or withdrawn if only a draft."""
        target = "registered" if max(_RANK[row.confirmed], _RANK[row.intended]) >= 2 else "deleted"
        return self._apply_state(row, target, False, None)

    def sync_gone(self, record_id: str) -> int:
        """A tombstoned record: its DOI is hidden (registered), or withdrawn if it was only ever a draft; its parts'
        DOIs with it."""
        row = self.store.get(record_id)
        if row is None:
            return 0
        written = sum(self._part_gone(part) for part in self.store.parts(row.key))
        target = "registered" if max(_RANK[row.confirmed], _RANK[row.intended]) >= 2 else "deleted"
        written += self._apply_state(row, target, False, None)
        if row.concept_key:
            written += self.sync_concept(row.concept_key)
        return written

    def sync_concept(self, key: str) -> int:
        """A concept follows its versions: findable if one is, registered if one is, else a draft (or withdrawn)."""
        row = self.store.get(key)
        if row is None:
            return 0
        versions = self.store.versions(key)
        live = [v for v in versions if v.live]
        best = max((_RANK[v.intended] for v in versions), default=0)
        target = {3: "findable", 2: "registered", 1: "draft", 0: "deleted"}[best]
        if _RANK[target] < _RANK[row.confirmed] and row.confirmed != "deleted":
            target = "registered"  # never back to draft
        data = None
        if live:
            records = self.feed.records([live[-1].key])
            newest = records.get(live[-1].key)
            if newest is not None:
                try:
                    data = record_attributes(
                        newest,
                        row.doi,
                        self.policy.landing_page(newest.id),
                        version_dois=listed_versions(versions, target),
                    )
                except InvalidMetadata as error:
                    self._fail(row, str(error))
                    return 0
        if data is None and target == "draft":
            return 0  # nothing to describe it with yet
        return self._apply_state(row, target, bool(live), data)

    # -- the calls ---------------------------------------------------------------------------------------------
    def _apply_state(self, row: DoiRow, target: str, live: bool, data: dict[str, object] | None) -> int:
        sha = fingerprint(data) if data is not None else None
        if (
            row.confirmed == target
            and row.intended == target
            and row.report is None
            and row.live == live
            and (sha is None or sha == row.metadata_sha256)
        ):
            return 0  # DataCite already has exactly this
        self.heartbeat()
        self.store.intend(row.key, target, live)
        _crash_point("intent")
        try:
            current = row.confirmed
            if current is None or row.intended != row.confirmed or row.report is not None:
                remote = self.client.get(row.doi)  # reconcile: a lost confirmation, or a create that did happen
                current = remote.state if remote is not None else None
            if target == "deleted":
                if current == "draft":
                    self.client.delete_draft(row.doi)
                    _crash_point("delete")
                    self.store.confirm(row.key, "deleted", None)
                    self.outcome.changed.append(f"{row.doi}: draft deleted")
                    return 1
                if current in ("registered", "findable"):
                    target = "registered"  # DataCite keeps them for ever: hide instead
                    self.store.intend(row.key, target, live)
                else:
                    self.store.confirm(row.key, "deleted", None)
                    return 0
            if target == "draft" and current in ("registered", "findable"):
                target = current  # never back to draft
            event = _event(current, target)
            if current in (None, "deleted"):
                if data is None:
                    self.store.confirm(row.key, None, None)
                    return 0
                answer = self._create(row.doi, data, event)
                action = "create"
            elif event is None and (data is None or sha == row.metadata_sha256):
                self.store.confirm(row.key, current, None)  # DataCite already has it (a crash lost our record of it)
                return 0
            else:
                answer = self.client.update(row.doi, data, event)
                action = event or "update"
            _crash_point(action)
            self.store.confirm(row.key, answer.state, sha)
            self.outcome.changed.append(f"{row.doi}: {action} → {answer.state}")
            log.info("DOI %s: %s, now %s", row.doi, action, answer.state)
            return 1
        except DataCiteError as error:
            if error.status is None or error.status == 429 or error.status >= 500:
                raise  # DataCite unreachable or overloaded after the retries: stop, the cursor stays behind
            self._fail(row, str(error))
            return 0

    def _create(self, doi: str, data: dict[str, object], event: str | None) -> RemoteDoi:
        try:
            return self.client.create(doi, dict(data), event)
        except DataCiteError as error:
            if error.status != 422 or not any("taken" in e for e in error.errors):
                raise
            # created by an earlier attempt whose answer was lost (a retried POST): it exists, so update it
            return self.client.update(doi, dict(data), event)

    def _fail(self, row: DoiRow, report: str) -> None:
        self.store.report(row.key, report)
        self.outcome.failed[row.key] = report
        log.warning("DOI %s (%s): %s", row.doi, row.key, report)

    @staticmethod
    def _concept_key(source: str, concept: str) -> str:
        return f"concept:{source}:{concept}"

    # -- a data manager's approval -----------------------------------------------------------------------------
    def publish(self, keys: list[str]) -> Outcome:
        """Approve these records' DOIs and make them findable (their concepts follow)."""
        self.outcome = Outcome()
        self.store.approve(keys)
        records = self.feed.records(keys)
        for key in keys:
            if key in records:
                self.sync_record(records[key])
        return self.outcome


@dataclass(frozen=True)
class Drift:
    """One difference between what we hold and what DataCite has for a DOI we own."""

    doi: str
    key: str
    field: str
    ours: object
    theirs: object


_IGNORED = {"doi", "schemaVersion"}  # the DOI is the address; DataCite answers with its own schema version


class DoiChecker:
    """`dmlake doi check [--fix]`: every DOI we confirmed, compared with DataCite's copy field by field."""

    def __init__(self, registrar: DoiRegistrar) -> None:
        self.registrar = registrar

    def expected(self, row: DoiRow) -> dict[str, object] | None:
        reg = self.registrar
        if row.kind == "concept":
            versions = reg.store.versions(row.key)
            live = [v for v in versions if v.live]
            newest = reg.feed.records([live[-1].key]).get(live[-1].key) if live else None
            if newest is None:
                return None
            dois = listed_versions(versions, row.confirmed or "draft")
            return record_attributes(newest, row.doi, reg.policy.landing_page(newest.id), version_dois=dois)
        if row.kind in PART_KINDS:
            release = reg.store.get(row.parent_key or "")
            record = reg.feed.records([release.key]).get(release.key) if release is not None else None
            rule = reg.policy.part_rule(record.source, reg.source_kinds.get(record.source)) if record else None
            candidates = part_candidates(record, reg.policy.prefix, rule) if record is not None else {}
            part = candidates.get(row.part_key or "")
            if release is None or record is None or part is None or not row.live:
                return None  # a hidden part: only its state is ours to check
            url = reg.policy.landing_page(record.id)
            data = reg._release_attributes(record, release, None)
            return part_attributes(data, record.id, part, row.doi, part_url(url, row.doi), release.doi)
        record = reg.feed.records([row.key]).get(row.key)
        if record is None:
            return None
        parts = reg.store.parts(row.key)
        return reg._release_attributes(record, row, listed_parts(parts, row.confirmed or "draft") if parts else None)

    def check(self, fix: bool = False, source: str | None = None) -> list[Drift]:
        drifts: list[Drift] = []
        if source is None:
            drifts += self.orphans()
        for row in self.registrar.store.rows(source=source):
            if row.confirmed in (None, "deleted"):
                continue
            remote = self.registrar.client.get(row.doi)
            try:
                ours = self.expected(row)
            except InvalidMetadata as error:
                drifts.append(Drift(row.doi, row.key, "(metadata)", str(error), None))
                continue
            found: list[Drift] = []
            if remote is None:
                found.append(Drift(row.doi, row.key, "(exists)", row.confirmed, None))
            else:
                if remote.state != row.confirmed:
                    found.append(Drift(row.doi, row.key, "state", row.confirmed, remote.state))
                for name, value in (ours or {}).items():
                    if name not in _IGNORED and remote.attributes.get(name) != value:
                        found.append(Drift(row.doi, row.key, name, value, remote.attributes.get(name)))
            drifts += found
            if fix and found:
                self._mend(row, remote, ours)
        return drifts

    def orphans(self) -> list[Drift]:
        """DOIs under our prefix and suffix scheme that DataCite has and we have no row for (never mended: a
        registered or findable DOI cannot be deleted, and a draft might be someone else's work in progress)."""
        policy = self.registrar.policy
        ours = f"{policy.prefix}/{policy.suffix_prefix}.".lower()
        known = {row.doi for row in self.registrar.store.rows()}
        return [
            Drift(remote.doi, "", "(unknown to dmlake)", None, remote.state)
            for remote in self.registrar.client.list(policy.prefix)
            if remote.doi.startswith(ours) and remote.doi not in known
        ]

    def _mend(self, row: DoiRow, remote: RemoteDoi | None, ours: dict[str, object] | None) -> None:
        client = self.registrar.client
        target = row.confirmed or "draft"
        current = remote.state if remote is not None else None
        if target == "draft" and current in ("registered", "findable"):
            target = current  # DataCite never goes back to draft: ours was behind
        event = _event(current, target)
        if remote is None:
            answer = client.create(row.doi, dict(ours or {}), event)
        else:
            answer = client.update(row.doi, dict(ours) if ours is not None else None, event)
        self.registrar.store.confirm(row.key, answer.state, fingerprint(ours) if ours is not None else None)
        log.info("DOI %s mended at DataCite (now %s)", row.doi, answer.state)
