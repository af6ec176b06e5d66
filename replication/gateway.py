"""The Rucio calls the replicator makes, each idempotent: what already exists is recognised, never made twice.

A crash between any two calls is harmless: the next run makes the same calls, and each finds its work done
(Rucio's DataIdentifierAlreadyExists, Duplicate, DuplicateRule, or an existing rule of the account on the DID with
the same RSE expression).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from replication.naming import Did

if TYPE_CHECKING:
    from rucio.client import Client

log = logging.getLogger(__name__)
RULE_STATES_WAITING = ("WAITING_APPROVAL", "INJECT")
BULK = 1000
"""Replicas per `add_replicas` request (what Rucio's own bulk clients send)."""


def portal_pfn(url: str) -> str | None:
    """The URL as Rucio parses a PFN: with its port written out (Rucio compares it with the protocol's); None when
    it has a query or fragment, which Rucio would drop (a different file, for GitLab's `?ref=`)."""
    parts = urlsplit(url)
    if parts.query or parts.fragment or not parts.hostname:
        return None
    port = parts.port or {"https": 443, "http": 80, "davs": 443, "root": 1094}.get(parts.scheme)
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return urlunsplit((parts.scheme, f"{host}:{port}" if port else host, parts.path, "", ""))


@dataclass(frozen=True)
class PortalCopy:
    """A file as its portal serves it: the URL registered as its PFN, with the file's size and checksums."""

    did: Did
    url: str
    size: int
    adler32: str
    md5: str


class _UploadLog:
    """UploadClient wants an object with `.log` that can also be called like `logging.log` (41.x calls both)."""

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger

    def log(self, level: int, message: str, *args: Any) -> None:
        # the upload client is chatty at INFO about each step; our own log says what matters
        self._logger.log(min(level, logging.DEBUG) if level < logging.WARNING else level, message, *args)

    __call__ = log


@dataclass(frozen=True)
class RuleInfo:
    id: str
    scope: str
    name: str
    rse_expression: str
    copies: int
    state: str
    expires_at: Any
    grouping: str
    locks_ok: int
    locks_replicating: int
    locks_stuck: int


def _rule(raw: dict[str, Any]) -> RuleInfo:
    return RuleInfo(
        id=raw["id"],
        scope=raw["scope"],
        name=raw["name"],
        rse_expression=raw["rse_expression"],
        copies=int(raw["copies"]),
        state=str(raw["state"]),
        expires_at=raw.get("expires_at"),
        grouping=str(raw.get("grouping", "")),
        locks_ok=int(raw.get("locks_ok_cnt") or 0),
        locks_replicating=int(raw.get("locks_replicating_cnt") or 0),
        locks_stuck=int(raw.get("locks_stuck_cnt") or 0),
    )


class RucioGateway:
    def __init__(self, client: Client, account: str) -> None:
        self.client = client
        self.account = account
        self._scopes: set[str] = set()
        self._rse_types: dict[str, str] = {}

    @classmethod
    def connect(cls, account: str) -> RucioGateway:
        """A client for `account` configured as Rucio's clients are (`RUCIO_CONFIG`, else `/opt/rucio/etc`)."""
        from rucio.client import Client

        return cls(Client(account=account), account)

    # -- namespaces and collections ------------------------------------------------------------------------
    def ensure_scope(self, scope: str) -> None:
        if scope in self._scopes:
            return
        from rucio.common.exception import Duplicate, ScopeNotFound

        try:
            held = set(self.client.list_scopes_for_account(self.account))
        except ScopeNotFound:  # the account holds no scope yet
            held = set()
        if scope not in held:
            try:
                self.client.add_scope(self.account, scope)
                log.info("created Rucio scope %s for account %s", scope, self.account)
            except Duplicate:
                pass  # another account owns it, or it appeared meanwhile: using it fails clearly if not allowed
        self._scopes.add(scope)

    def ensure_collection(self, did: Did, kind: str, meta: dict[str, Any] | None = None) -> bool:
        """A dataset or container; True when it was created now."""
        from rucio.common.exception import DataIdentifierAlreadyExists

        try:
            if kind == "dataset":
                self.client.add_dataset(did.scope, did.name, meta=meta)
            else:
                self.client.add_container(did.scope, did.name, meta=meta)
        except DataIdentifierAlreadyExists:
            return False
        return True

    def content(self, did: Did) -> set[Did]:
        return {Did(c["scope"], c["name"]) for c in self.client.list_content(did.scope, did.name)}

    def attach(self, parent: Did, children: Iterable[Did]) -> int:
        """Attach what is not attached yet; returns how many were attached now."""
        from rucio.common.exception import DuplicateContent, FileAlreadyExists

        missing = sorted(set(children) - self.content(parent), key=str)
        if not missing:
            return 0
        try:
            self.client.attach_dids(parent.scope, parent.name, [d.as_dict() for d in missing])
        except (FileAlreadyExists, DuplicateContent):
            # attached meanwhile (another run, a crash after the server acted): attach one at a time what is left
            for did in sorted(set(missing) - self.content(parent), key=str):
                self.client.attach_dids(parent.scope, parent.name, [did.as_dict()])
        return len(missing)

    def detach(self, parent: Did, children: Iterable[Did]) -> int:
        present = set(children) & self.content(parent)
        if present:
            self.client.detach_dids(parent.scope, parent.name, [d.as_dict() for d in sorted(present, key=str)])
        return len(present)

    def exists(self, did: Did) -> bool:
        from rucio.common.exception import DataIdentifierNotFound

        try:
            self.client.get_did(did.scope, did.name)
        except DataIdentifierNotFound:
            return False
        return True

    def file_metadata(self, did: Did) -> dict[str, Any] | None:
        from rucio.common.exception import DataIdentifierNotFound

        try:
            return dict(self.client.get_metadata(did.scope, did.name))
        except DataIdentifierNotFound:
            return None

    # -- files ----------------------------------------------------------------------------------------------
    def upload(self, path: Path, rse: str, did: Did, dataset: Did) -> None:
        """Upload a local file to `rse` as `did` (with the bittorrent metadata the transfer tool needs, when the
        client is configured for it), registered after the bytes are there and attached to `dataset`."""
        from rucio.client.uploadclient import UploadClient

        uploader = UploadClient(self.client, logger=_UploadLog(logging.getLogger("replication.upload")))
        item = {
            "path": str(path),
            "rse": rse,
            "did_scope": did.scope,
            "did_name": did.name,
            "dataset_scope": dataset.scope,
            "dataset_name": dataset.name,
            "register_after_upload": True,
        }
        uploader.upload([item])

    def add_portal_replicas(self, rse: str, copies: Sequence[PortalCopy]) -> int:
        """Register the portal's own copies (their URLs as PFNs) at the RSE standing for the portal; no bytes move.
        Copies Rucio already has there are left alone; the others are added a thousand per request. Returns how
        many were added.

        The RSE is non-deterministic with a protocol for the portal's scheme, host and port (Rucio parses a PFN with
        the protocol's write settings, so give it a write priority and set the RSE's availability_write off)."""
        from rucio.common.exception import Duplicate

        rows = []
        for copy in copies:
            pfn = portal_pfn(copy.url)
            if pfn is None:
                raise ValueError(f"{copy.url} carries a query or fragment, which a Rucio PFN cannot hold")
            rows.append({**copy.did.as_dict(), "bytes": copy.size, "adler32": copy.adler32, "md5": copy.md5,
                         "pfn": pfn})  # fmt: skip
        present = {
            (r["scope"], r["name"]) for r in self.replicas([c.did for c in copies]) if rse in r.get("states", {})
        }
        missing = [row for row in rows if (row["scope"], row["name"]) not in present]
        added = 0
        for start in range(0, len(missing), BULK):
            chunk = missing[start : start + BULK]
            try:
                self.client.add_replicas(rse, chunk)
                added += len(chunk)
            except Duplicate:  # another writer registered some of them meanwhile: the rest one by one
                for row in chunk:
                    try:
                        self.client.add_replicas(rse, [row])
                        added += 1
                    except Duplicate:
                        pass
        return added

    def staged(self, dids: Sequence[Did], rse: str) -> set[Did]:
        """The files among `dids` that have a replica (in any state) at the RSE."""
        return {Did(r["scope"], r["name"]) for r in self.replicas(dids) if rse in r.get("states", {})}

    def replicas(self, dids: Sequence[Did]) -> Iterator[dict[str, Any]]:
        """Every replica of the files, in every state, with every PFN."""
        for start in range(0, len(dids), 200):
            chunk = [d.as_dict() for d in dids[start : start + 200]]
            yield from self.client.list_replicas(chunk, all_states=True, resolve_archives=False)

    def declare_bad(self, did: Did, rse: str, reason: str) -> dict[str, Any]:
        return dict(self.client.declare_bad_file_replicas([{**did.as_dict(), "rse": rse}], reason) or {})

    def rse_type(self, rse: str) -> str:
        if rse not in self._rse_types:
            self._rse_types[rse] = str(self.client.get_rse(rse).get("rse_type", "DISK"))
        return self._rse_types[rse]

    # -- rules ----------------------------------------------------------------------------------------------
    def rules_on(self, did: Did) -> list[RuleInfo]:
        """The account's rules on the DID (others' rules are theirs to manage)."""
        return [_rule(r) for r in self.client.list_did_rules(did.scope, did.name) if r.get("account") == self.account]

    def ensure_rule(
        self,
        did: Did,
        copies: int,
        rse_expression: str,
        *,
        lifetime: int | None = None,
        grouping: str = "DATASET",
        activity: str | None = None,
    ) -> tuple[str, bool]:
        """The account's rule on the DID for the RSE expression: the existing one, else a new one. (rule id, made)"""
        from rucio.common.exception import DuplicateRule

        for rule in self.rules_on(did):
            if rule.rse_expression == rse_expression:
                return rule.id, False
        options: dict[str, Any] = {"lifetime": lifetime, "grouping": grouping}
        if activity:
            options["activity"] = activity
        try:
            (rule_id,) = self.client.add_replication_rule([did.as_dict()], copies, rse_expression, **options)
        except DuplicateRule:
            for rule in self.rules_on(did):
                if rule.rse_expression == rse_expression:
                    return rule.id, False
            raise
        log.info("rule %s on %s: %d × %s", rule_id, did, copies, rse_expression)
        return str(rule_id), True

    def set_lifetime(self, rule_id: str, lifetime: int | None) -> None:
        self.client.update_replication_rule(rule_id, {"lifetime": lifetime})

    def locks(self, rule_id: str) -> list[dict[str, Any]]:
        return list(self.client.list_replica_locks(rule_id))
