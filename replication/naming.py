"""Rucio names of what dmlake replicates: pure functions of the record, stable across runs.

* scope: per source (or per experiment, by policy), from the policy's mapping else derived from the name;
* dataset: one per release (record), `<source>.<native id>` made legal, e.g. `dmdc.dmdc.cosine.cosine100-…-1a2b3c4d`;
* file: `<dataset>__<file name>`, so the same file name in two releases never collides;
* container: one per record cluster, `cluster__<dataset of the cluster's first member>`; a record alone in its
  cluster gets one too, so a later identity link only attaches the new member's dataset.

Rucio allows `[A-Za-z0-9._-]` and `/` in names (first character not `.`, `-` or `_`), at most 250 characters;
scopes at most 25 of `[A-Za-z0-9_.-]`. Characters outside are replaced, and whenever that (or shortening) loses
information, 8 hex digits of the original's SHA-256 are appended, so two different originals never share a name.
A slug never holds `__`, so the `__` separators cannot be confused with a part of a name.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from ontology.model import Record
from replication.policy import ReplicationPolicy

NAME_LIMIT = 250
SCOPE_LIMIT = 25
RELEASE_LIMIT = 120
SEPARATOR = "__"
CONTAINER_PREFIX = "cluster"
_UNSAFE = re.compile(r"[^A-Za-z0-9.\-_]+")
_UNDERSCORES = re.compile(r"_{2,}")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def slug(text: str, limit: int) -> str:
    """`text` as a name part: legal characters only, no `__`, no leading or trailing punctuation, at most `limit`
    characters; a digest of `text` is appended whenever anything was lost."""
    cleaned = _UNDERSCORES.sub("_", _UNSAFE.sub("_", text.replace("/", "."))).strip("._-") or "x"
    if cleaned == text and len(cleaned) <= limit:
        return cleaned
    tag = "-" + _digest(text)
    return cleaned[: limit - len(tag)].rstrip("._-") + tag


def scope_name(key: str, mapping: dict[str, str]) -> str:
    """The scope for a source or experiment: the policy's name for it, else one derived from it."""
    if key in mapping:
        return mapping[key]
    return slug(key.lower(), SCOPE_LIMIT)


def experiment_key(record: Record) -> str | None:
    return record.experiments[0].label if record.experiments else None


def scope_for(record: Record, policy: ReplicationPolicy) -> str:
    """Per source, or per the record's (first) experiment; a record naming no experiment goes to its source's
    scope, so it is still replicated."""
    if policy.scope == "experiment":
        key = experiment_key(record)
        if key is not None:
            for candidate in (key, *(c.uri for c in record.experiments[:1] if c.uri)):
                if candidate in policy.scopes:
                    return policy.scopes[candidate]
            return scope_name(key, {})
    return scope_name(record.source, policy.scopes)


def dataset_name(source: str, native_id: str) -> str:
    return slug(f"{source}.{native_id}", RELEASE_LIMIT)


def file_name(dataset: str, name: str) -> str:
    return f"{dataset}{SEPARATOR}{slug(name, NAME_LIMIT - len(dataset) - len(SEPARATOR))}"


def container_name(cluster_dataset: str) -> str:
    return f"{CONTAINER_PREFIX}{SEPARATOR}{cluster_dataset}"


@dataclass(frozen=True)
class Did:
    scope: str
    name: str

    def __str__(self) -> str:
        return f"{self.scope}:{self.name}"

    def as_dict(self) -> dict[str, str]:
        return {"scope": self.scope, "name": self.name}


@dataclass(frozen=True)
class ReleaseNames:
    """Every Rucio name of one release."""

    dataset: Did
    container: Did
    files: dict[str, Did]  # Distribution.name → file DID


def names_for(record: Record, policy: ReplicationPolicy, cluster_first: Record | None = None) -> ReleaseNames:
    """The release's DIDs; `cluster_first` is the first member (smallest id) of its cluster, if it has company."""
    scope = scope_for(record, policy)
    dataset = dataset_name(record.source, record.native_id)
    head = cluster_first if cluster_first is not None else record
    container = Did(scope_for(head, policy), container_name(dataset_name(head.source, head.native_id)))
    files = {d.name: Did(scope, file_name(dataset, d.name)) for d in record.distributions}
    return ReleaseNames(Did(scope, dataset), container, files)
