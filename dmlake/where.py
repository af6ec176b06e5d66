"""Where to read each file of a record: the best copy for this reader, and why (issue 8, `dmlake where ID`).

    from dmlake.where import where_to_read
    for choice in where_to_read(lake, "zenodo/7", preferred_sites=["SITE_B"]):
        print(choice.name, choice.url, choice.reason)

For each file, in this order:
1. an online copy whose checksum replication verified, at a site the reader prefers (in the reader's order);
2. an online, verified copy on this machine (a `file://` URL whose file exists; one whose file is not here is
   never chosen);
3. any other online, verified copy (sites in name order);
4. the source portal's own URL (what the record says), when no copy is verified;
5. an online copy not verified yet (it may still be incomplete), when the source gives no URL either.
A file with none of these has no URL, and the reason says what replication knows of it (requested, replicating, on
tape). Preferred sites come from the caller (`--site`), else `DMLAKE_SITES` (comma-separated), else
`preferred_sites` in the `[where]` table of the home's `replication.toml`.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from harvester.replica_ledger import FileReplica, file_availability
from ontology.model import Availability, Distribution, Record

if TYPE_CHECKING:
    from dmlake.lake import Lake
    from harvester.catalogue import StoredRecord

SITES_ENV = "DMLAKE_SITES"
"""Comma-separated site (RSE) names the reader prefers, nearest first."""
SETTINGS_FILE = "replication.toml"
"""In the home; its `[where]` table may hold `preferred_sites = ["SITE_B", ...]`."""


class SettingsError(ValueError):
    """A `[where]` table that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class FileChoice:
    """Where to read one file of a record, and why there."""

    name: str
    size_bytes: int | None
    checksum: str | None
    """`algorithm:value`, as the catalogue has it."""
    availability: Availability
    url: str | None
    """The best URL to read the file at; None when no copy can be read now."""
    site: str | None
    """The site (RSE) of the chosen copy; None when the URL is the source portal's own."""
    reason: str
    replicas: tuple[FileReplica, ...] = field(default_factory=tuple)
    """Every copy replication knows of, in site order."""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "size_bytes": self.size_bytes,
            "checksum": self.checksum,
            "availability": self.availability.value,
            "url": self.url,
            "site": self.site,
            "reason": self.reason,
            "replicas": [
                {"site": r.site, "state": r.state.value, "url": r.url, "checksum_verified": r.checksum_verified}
                for r in self.replicas
            ],
        }


def preferred_sites(given: Sequence[str] = (), home: Path | None = None) -> list[str]:
    """The sites the reader prefers: those given, else `DMLAKE_SITES`, else the home's `[where] preferred_sites`."""
    if given:
        return _clean(given)
    env = os.environ.get(SITES_ENV, "")
    if env.strip():
        return _clean(env.split(","))
    if home is None:
        return []
    path = home / SETTINGS_FILE
    if not path.is_file():
        return []
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8")).get("where", {})
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"{path}: not valid TOML: {error}") from None
    sites = table.get("preferred_sites", []) if isinstance(table, dict) else None
    if not isinstance(sites, list) or not all(isinstance(s, str) for s in sites):
        raise SettingsError(f'{path}: [where] preferred_sites must be a list of site names, e.g. ["SITE_B"]')
    return _clean(sites)


def _clean(sites: Sequence[str]) -> list[str]:
    # RSE names are upper-case in Rucio; people type them as they like
    return list(dict.fromkeys(s.strip().upper() for s in sites if s.strip()))


def choose(file: Distribution, replicas: Sequence[FileReplica], preferred: Sequence[str] = ()) -> FileChoice:
    """The best place to read `file` from, given its known copies (see the module doc for the order)."""
    copies = tuple(sorted(replicas, key=lambda r: r.site))
    # a file:// URL names a path on one machine: a copy is readable there only if this is that machine
    readable = [
        r
        for r in copies
        if r.state == Availability.ONLINE and r.url and (_local_file(r.url) or not _is_file_url(r.url))
    ]
    verified = [r for r in readable if r.checksum_verified]

    def chosen(url: str | None, site: str | None, reason: str) -> FileChoice:
        return FileChoice(
            name=file.name,
            size_bytes=file.size_bytes,
            checksum=str(file.checksum) if file.checksum else None,
            availability=file_availability(copies, file.availability),
            url=url,
            site=site,
            reason=reason,
            replicas=copies,
        )

    rank = {site: n for n, site in enumerate(preferred)}
    favoured = sorted((r for r in verified if r.site in rank), key=lambda r: rank[r.site])
    if favoured:
        best = favoured[0]
        return chosen(best.url, best.site, f"online at {best.site}, checksum verified; a site you prefer")
    local = [r for r in verified if _local_file(r.url)]
    if local:
        best = local[0]
        return chosen(best.url, best.site, f"online at {best.site}, checksum verified; on this machine")
    if verified:
        best = verified[0]
        others = "" if not preferred else f" (none at {', '.join(preferred)})"
        return chosen(best.url, best.site, f"online at {best.site}, checksum verified{others}")
    source_url = file.url or file.access_url
    if source_url:
        return chosen(source_url, None, "from the source portal: " + _no_verified_copy(copies))
    if readable:
        best = readable[0]
        return chosen(
            best.url,
            best.site,
            f"online at {best.site} but its checksum is not verified yet (the copy may be incomplete); "
            "the source gives no URL",
        )
    return chosen(None, None, "no readable copy: " + _no_verified_copy(copies) + "; the source gives no URL")


def _no_verified_copy(copies: Sequence[FileReplica]) -> str:
    if not copies:
        return "replication knows no copy of this file"
    states = ", ".join(
        f"{r.state.value}{' (not verified)' if r.state == Availability.ONLINE else ''} at {r.site}" for r in copies
    )
    return f"no verified copy ({states})"


def _is_file_url(url: str) -> bool:
    return url.startswith("file:")


def _local_file(url: str | None) -> bool:
    if not url or not url.startswith("file://"):
        return False
    parts = urlsplit(url)
    return parts.netloc in ("", "localhost") and Path(unquote(parts.path)).is_file()


def where(record: Record, replicas: Sequence[FileReplica], preferred: Sequence[str] = ()) -> list[FileChoice]:
    """A choice for every file of `record` (in the record's order), from the ledger's `replicas` of the record."""
    by_file: dict[str, list[FileReplica]] = {}
    for replica in replicas:
        by_file.setdefault(replica.file_name, []).append(replica)
    return [choose(d, by_file.get(d.name, []), preferred) for d in record.distributions]


@dataclass(frozen=True)
class WhereAnswer:
    """Where to read the files of one record of a lake."""

    stored: StoredRecord
    preferred_sites: list[str]
    files: list[FileChoice]

    @property
    def gone(self) -> bool:
        return self.stored.tombstone is not None

    def to_json(self) -> dict[str, Any]:
        """The answer of `GET /api/records/{id}/where` and of `dmlake where ID --json`."""
        return {
            "id": self.stored.id,
            "title": self.stored.record.title,
            "preferred_sites": self.preferred_sites,
            "files": [c.to_json() for c in self.files],
        }


def where_to_read(lake: Lake, record_id: str, sites: Sequence[str] = ()) -> WhereAnswer:
    """For a record of the lake (full id or `SOURCE/NATIVE_ID`): the preferred sites in force (`preferred_sites`) and
    a choice per file. Raises `dmlake.lake.RecordNotFound`, or `SettingsError` for unreadable settings; a tombstoned
    record is answered too (`gone`: the caller says it is gone)."""
    stored = lake.record(record_id)
    preferred = preferred_sites(sites, lake.home.path)
    known = lake.replica_ledger().for_records([stored.id]).get(stored.id, [])
    return WhereAnswer(stored, preferred, where(stored.record, known, preferred))
