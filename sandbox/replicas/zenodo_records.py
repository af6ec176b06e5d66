"""The records a Zenodo replica serves: what a record is to the search (its `Facts`) and the corpus base.

Every record is held as `{"rdm": <InvenioRDM JSON>, "legacy": <legacy JSON as captured, or None>}`. A record's
facts are the few values the search filters, sorts and aggregates on, cheap to get without building the record
(the generated base computes them from the record's index alone).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import orjson

from sandbox.replicas.zenodo_shapes import (
    community_record,
    community_slugs,
    community_uuid,
    legacy_to_rdm,
)

Wrapper = dict[str, Any]


@dataclass(frozen=True)
class Facts:
    recid: int
    parent: int
    version_index: int
    is_latest: bool
    created: datetime
    updated: datetime
    publication_date: str
    resource_type: str
    access: str
    communities: tuple[str, ...]
    """Slugs and ids: Zenodo's `communities=` filter takes either."""
    keywords: tuple[str, ...]
    file_types: tuple[str, ...]
    views: int
    doi: str | None
    conceptdoi: str | None

    @property
    def type(self) -> str:
        return self.resource_type.split("-")[0]


class ZenodoBase(Protocol):
    """A `RecordBase` that also knows each record's facts and version family."""

    def __len__(self) -> int: ...

    def native_id(self, index: int) -> str: ...

    def record(self, index: int) -> Wrapper: ...

    def updated(self, index: int) -> datetime: ...

    def index_of(self, native_id: str) -> int | None: ...

    def facts(self, index: int) -> Facts: ...

    def family(self, index: int) -> list[int]:
        """The base indices of the record's versions, oldest first."""
        ...

    def concept_family(self, concept_id: str) -> list[int] | None:
        """The versions of a concept record id (Zenodo answers a concept id with its latest version)."""
        ...


def parse_time(value: Any) -> datetime:
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def facts_of(rdm: Mapping[str, Any]) -> Facts:
    """A record's facts read from its RDM JSON."""
    md = rdm.get("metadata") or {}
    parent = rdm.get("parent") or {}
    versions = rdm.get("versions") or {}
    entries = (rdm.get("files") or {}).get("entries") or {}
    communities = (parent.get("communities") or {}).get("ids") or []
    stats = (rdm.get("stats") or {}).get("this_version") or {}
    file_types = sorted({str(e.get("ext") or "").lower() for e in entries.values() if e.get("ext")})
    return Facts(
        recid=int(rdm["id"]),
        parent=int(parent.get("id") or rdm["id"]),
        version_index=int(versions.get("index") or 1),
        is_latest=bool(versions.get("is_latest", True)),
        created=parse_time(rdm["created"]),
        updated=parse_time(rdm["updated"]),
        publication_date=str(md.get("publication_date") or ""),
        resource_type=str((md.get("resource_type") or {}).get("id") or "other"),
        access=str((rdm.get("access") or {}).get("status") or "open"),
        communities=tuple(dict.fromkeys([*community_slugs(rdm), *communities])),
        keywords=tuple(s["subject"] for s in md.get("subjects") or [] if not s.get("id") and s.get("subject")),
        file_types=tuple(file_types),
        views=int(stats.get("views") or 0),
        doi=((rdm.get("pids") or {}).get("doi") or {}).get("identifier"),
        conceptdoi=((parent.get("pids") or {}).get("doi") or {}).get("identifier"),
    )


# -- the corpus ------------------------------------------------------------------------------------------------------


@dataclass
class CorpusZenodo:
    """What `corpus/zenodo/rest/` holds: records (by id), tombstones of deleted records, communities."""

    wrappers: list[Wrapper]
    tombstones: dict[str, dict[str, Any]]
    communities: CommunityRegistry
    skipped: list[str]
    """Records found but not served, with the reason (e.g. the InvenioRDM demo record, which is not Zenodo's)."""


def _read_capture(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".txt":
        # captures made with bagit-create: the API JSON, a line `###`, then the tool's own file list
        text = re.split(r"^###\s*$", text, maxsplit=1, flags=re.MULTILINE)[0]
    return json.loads(text)


def _is_rdm(data: Mapping[str, Any]) -> bool:
    return "pids" in data or isinstance(data.get("files"), dict) or "parent" in data


def _captured(data: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """(kind, item) for each record, tombstone or community in one captured response."""
    if not isinstance(data, dict):
        return
    if isinstance(data.get("hits"), dict):
        for hit in data["hits"].get("hits") or []:
            if isinstance(hit, dict):
                yield ("record", hit)
    elif "tombstone" in data and "metadata" not in data:
        yield ("tombstone", data)
    elif "slug" in data and "access" in data and "metadata" in data and "pids" not in data:
        yield ("community", data)
    elif "metadata" in data:
        yield ("record", data)


def load_corpus(corpus: Path) -> CorpusZenodo | None:
    """Every Zenodo record under `corpus/zenodo/rest/`, each once (the fullest capture of a record wins)."""
    root = corpus / "zenodo" / "rest"
    if not root.is_dir():
        return None
    records: dict[str, dict[str, Any]] = {}
    tombstones: dict[str, dict[str, Any]] = {}
    communities: list[dict[str, Any]] = []
    skipped: list[str] = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.suffix not in (".json", ".txt"):
            continue
        for kind, item in _captured(_read_capture(path)):
            if kind == "community":
                communities.append(item)
            elif kind == "tombstone":
                match = re.search(r"zenodo\.(\d+)", str(item["tombstone"].get("citation_text", ""))) or re.search(
                    r"(\d+)", path.stem
                )
                if match:
                    tombstones[match.group(1)] = item
            else:
                ident = str(item.get("id", item.get("recid", "")))
                if not ident.isdigit():
                    # Zenodo's record ids are numbers: this is another InvenioRDM instance (corpus 3f, CERN's demo)
                    skipped.append(f"{path.relative_to(corpus)}: record {ident!r} is not a Zenodo record")
                    continue
                if ident not in records or len(orjson.dumps(item)) > len(orjson.dumps(records[ident])):
                    records[ident] = item
    registry = CommunityRegistry(communities, "https://zenodo.org")
    wrappers = []
    for _, item in sorted(records.items(), key=lambda kv: int(kv[0])):
        if _is_rdm(item):
            wrappers.append({"rdm": complete_rdm(item), "legacy": None})
        else:
            slugs = [str(c.get("id")) for c in (item.get("metadata") or {}).get("communities") or []]
            wrappers.append({"rdm": legacy_to_rdm(item, registry.resolve(slugs)), "legacy": item})
    return CorpusZenodo(wrappers, tombstones, registry, skipped)


def complete_rdm(item: Mapping[str, Any]) -> dict[str, Any]:
    """An RDM capture with what the API always sends and fixture authors trimmed (dates, publication flags).

    Trimmed captures (corpus 3e) have no `created`/`updated`: the replica dates them at their publication date.
    """
    rdm = copy.deepcopy(dict(item))
    published = str((rdm.get("metadata") or {}).get("publication_date") or "2000-01-01")[:10]
    stamp = f"{published}T00:00:00.000000+00:00"
    rdm.setdefault("created", stamp)
    rdm.setdefault("updated", rdm["created"])
    rdm.setdefault("status", "published")
    rdm.setdefault("is_published", True)
    rdm.setdefault("is_draft", False)
    rdm.setdefault("versions", {"index": 1, "is_latest": True})
    rdm.setdefault("parent", {"id": rdm["id"]})
    rdm.pop("links", None)
    return rdm


class CommunityRegistry:
    """Communities by slug and by id; those the corpus only names by slug get a stable made-up record."""

    def __init__(self, captured: Sequence[dict[str, Any]], base: str) -> None:
        self.base = base
        self._by_key: dict[str, dict[str, Any]] = {}
        for community in captured:
            self._add(community, _slug_of(community))

    def _add(self, community: dict[str, Any], slug: str) -> dict[str, Any]:
        entry = {**community, "slug": slug}
        self._by_key[slug] = entry
        self._by_key[str(community["id"])] = entry
        return entry

    def resolve(self, slugs: Sequence[str]) -> list[dict[str, Any]]:
        out = []
        for slug in slugs:
            found = self._by_key.get(slug)
            if found is None:
                found = self._add(community_record(slug, slug.replace("-", " ").title(), self.base), slug)
            out.append(found)
        return out

    def get(self, key: str) -> dict[str, Any] | None:
        return self._by_key.get(key)

    def define(self, slug: str, title: str) -> dict[str, Any]:
        return self._by_key.get(slug) or self._add(community_record(slug, title, self.base), slug)


def _slug_of(community: Mapping[str, Any]) -> str:
    """A captured community's slug; the lexibank capture's `slug` was blanked to "x", its links keep the real one."""
    html = str((community.get("links") or {}).get("self_html") or "")
    from_link = html.rstrip("/").rsplit("/communities/", 1)[-1] if "/communities/" in html else ""
    return from_link or str(community.get("slug") or community_uuid(str(community["id"])))


class CorpusBase:
    """The corpus records in listing order (by update stamp), with their facts precomputed."""

    def __init__(self, wrappers: Sequence[Wrapper]) -> None:
        ordered = sorted(wrappers, key=lambda w: (parse_time(w["rdm"]["updated"]), int(w["rdm"]["id"])))
        self._wrappers = list(ordered)
        self._facts = [facts_of(w["rdm"]) for w in self._wrappers]
        self._positions = {str(f.recid): i for i, f in enumerate(self._facts)}
        families: dict[int, list[int]] = {}
        for index, facts in enumerate(self._facts):
            families.setdefault(facts.parent, []).append(index)
        self._families = {k: sorted(v, key=lambda i: self._facts[i].version_index) for k, v in families.items()}

    def __len__(self) -> int:
        return len(self._wrappers)

    def native_id(self, index: int) -> str:
        return str(self._facts[index].recid)

    def record(self, index: int) -> Wrapper:
        return copy.deepcopy(self._wrappers[index])

    def updated(self, index: int) -> datetime:
        return self._facts[index].updated

    def index_of(self, native_id: str) -> int | None:
        return self._positions.get(native_id)

    def facts(self, index: int) -> Facts:
        return self._facts[index]

    def family(self, index: int) -> list[int]:
        return list(self._families[self._facts[index].parent])

    def concept_family(self, concept_id: str) -> list[int] | None:
        if not concept_id.isdigit() or concept_id in self._positions:
            return None
        found = self._families.get(int(concept_id))
        return list(found) if found else None
