"""The parts of a release that get DOIs of their own, as HEPData gives one to every data table: what a part is, its
identity within the release, and the last segment of its DOI.

Tables (`dois = "tables"`): a table is the distributions of role `table` that share one landing (`access_url`: the
formats of one HEPData table share `…?table=Table 1`); a table distribution without its own landing is a table by
itself. Its DOI is `<release DOI>/t<n>`, HEPData's shape, n in order of first appearance in the release and fixed in
our table (`dois.part_number`), so a table added later gets the next n and never shifts another's.

Files (`dois = "files"`): every distribution of a chosen role (default `data`), identified by its name (the path
within the release). Its DOI is `<release DOI>/f.<slug>`, the slug a pure function of the name (lower-cased, unsafe
characters replaced, a short digest of the exact name added whenever that changed anything): stable when files are
added or removed, the same after a rebuild of our table, and distinct for distinct names.

The landing page of a part is its release's page with the part's segment as anchor: `…/records/<id>#t3`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from doi.policy import PartRule
from ontology.model import Distribution, IdentifierScheme, Record

_SLUG_UNSAFE = re.compile(r"[^a-z0-9._-]+")
_SLUG_MAX = 80


@dataclass(frozen=True)
class Part:
    kind: str  # table, file
    key: str  # identity within the release: `table:<landing path or name>`, `file:<name>`
    name: str  # what a person calls it: the table's name, the file's name
    distributions: tuple[Distribution, ...]

    @property
    def description(self) -> str | None:
        return next((d.description for d in self.distributions if d.description), None)

    @property
    def formats(self) -> list[str]:
        found: list[str] = []
        for d in self.distributions:
            value = d.media_type or d.format
            if value and value not in found:
                found.append(value)
        return found

    @property
    def size_bytes(self) -> int | None:
        sizes = [d.size_bytes for d in self.distributions]
        return None if not sizes or any(s is None for s in sizes) or len(sizes) > 1 else sizes[0]


def file_segment(name: str) -> str:
    """`f.<slug>` for a file of this name: see the module's docstring."""
    slug = _SLUG_UNSAFE.sub("-", name.lower()).strip("-.") or "file"
    exact = slug == name and len(slug) <= _SLUG_MAX
    slug = slug[:_SLUG_MAX].rstrip("-.")
    return f"f.{slug}" if exact else f"f.{slug}.{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def table_segment(number: int) -> str:
    return f"t{number}"


def record_parts(record: Record, rule: PartRule, our_prefix: str) -> list[Part]:
    """The parts of `record` the rule gives DOIs, in the record's order; none of a kind when the source gave any part
    of that kind a DOI of its own (HEPData's tables carry `10.17182/hepdata.<id>.v<N>/t<n>`)."""
    if rule.dois == "tables":
        parts = table_parts(record)
    elif rule.dois == "files":
        parts = file_parts(record, rule.roles)
    else:
        return []
    if any(_foreign_doi(d, our_prefix) for part in parts for d in part.distributions):
        return []
    return parts


def _foreign_doi(distribution: Distribution, our_prefix: str) -> bool:
    return any(
        i.scheme == IdentifierScheme.DOI and not i.value.lower().startswith(our_prefix.lower() + "/")
        for i in distribution.identifiers
    )


def table_parts(record: Record) -> list[Part]:
    """Every table of `record` in order of first appearance, whatever DOIs its source gave them (the record page
    anchors each, `portal.part_anchors`)."""
    groups: dict[str, list[Distribution]] = {}
    names: dict[str, str] = {}
    for d in record.distributions:
        if d.role != "table":
            continue
        landing = d.access_url if d.access_url and d.access_url != record.landing_page else None
        # the landing without its host: a source that moves (or a sandbox on another port) keeps its tables' keys
        key = "table:" + (_without_host(landing) if landing else d.name)
        groups.setdefault(key, []).append(d)
        names.setdefault(key, _table_name(landing) or d.name)
    return [Part("table", key, names[key], tuple(ds)) for key, ds in groups.items()]


def file_parts(record: Record, roles: tuple[str, ...]) -> list[Part]:
    """Every file of `record` whose role is one of `roles`, in the record's order, named as its part key names it."""
    parts: dict[str, Part] = {}
    for d in record.distributions:
        if d.role not in roles:
            continue
        # a second file of one name (the same file in another format) is told apart by its format; the first keeps
        # the plain name, so a namesake added later does not change the DOI of the file that was there
        name = d.name if d.name not in parts else f"{d.name} ({d.format or d.media_type or 'another format'})"
        parts.setdefault(name, Part("file", f"file:{name}", name, (d,)))
    return list(parts.values())


def _without_host(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "") + (f"#{parts.fragment}" if parts.fragment else "")


def _table_name(landing: str | None) -> str | None:
    if not landing:
        return None
    values = parse_qs(urlsplit(landing).query).get("table")
    return values[0] if values else None
