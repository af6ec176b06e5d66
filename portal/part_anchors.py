"""Where the DOIs of a release's tables and files land on its record page.

A part's DOI (`doi/parts.py`) resolves to its release's page with the last segment of the DOI as the fragment
(`doi.registrar.part_url`): `…/records/<id>#t3` for a table, `…#f.<slug>` for a file. The page gives that element
the id: each file row its file segment, each table (HEPData's shape: the formats of one table sharing one landing)
`t<n>`. The segments are the DOI code's own: a registered part's from its row in the `dois` table (read only: the
numbers there are fixed when a part is reserved and never shift), the others as that code would make them (files:
the slug of the name; tables: the number the source's own table DOI ends in, as HEPData's `…/t2`, else the next free
number, in order of appearance), so a part registered later lands where the page already points.

A DOI is shown next to its part when it resolves: ours once DataCite holds it registered or findable (a draft does
not resolve), or the one the source gave the table or file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from doi.parts import Part, file_parts, file_segment, table_parts
from doi.policy import FILE_ROLES
from doi.store import DoiRow, DoiStore
from ontology.model import Distribution, IdentifierScheme, Record

RESOLVABLE = ("registered", "findable")
"""DataCite states in which a DOI resolves (a draft does not)."""
_TABLE_SEGMENT = re.compile(r"t([1-9][0-9]*)")


@dataclass(frozen=True)
class TableAnchor:
    """One table of the release: its anchor `t<n>`, its name, its DOI when one resolves, its distributions."""

    anchor: str
    name: str
    doi: str | None
    members: tuple[int, ...]  # positions of its distributions in the record


@dataclass(frozen=True)
class FileAnchor:
    anchor: str
    doi: str | None


@dataclass(frozen=True)
class PartAnchors:
    files: dict[int, FileAnchor] = field(default_factory=dict)  # by position in the record; tables' formats have none
    tables: dict[int, TableAnchor] = field(default_factory=dict)  # by the position of each table's first distribution
    release_doi: str | None = None  # ours, when it resolves (a source's DOI is the record's own `doi`)

    def table_of(self, index: int) -> TableAnchor | None:
        return next((t for t in self.tables.values() if index in t.members), None)


def read_part_anchors(engine: Engine, record: Record) -> PartAnchors:
    """The anchors of `record`'s page, with our DOIs read from the catalogue's `dois` table (without writing)."""
    try:
        store = DoiStore(engine)
        release = store.get(record.id)
        rows = store.parts(release.key) if release is not None else []
    except SQLAlchemyError:
        # a catalogue whose schema predates the DOI table still shows its page, anchored as the DOI code would
        release, rows = None, []
    return part_anchors(record, release, rows)


def part_anchors(record: Record, release: DoiRow | None, rows: Sequence[DoiRow]) -> PartAnchors:
    """The anchors and DOIs of `record`'s tables and files, given our DOI rows of the release and its parts."""
    position = {id(d): i for i, d in enumerate(record.distributions)}
    live = [r for r in rows if r.live and r.intended != "deleted" and r.part_key]
    return PartAnchors(
        files=_file_anchors(record, position, [r for r in live if r.kind == "file"]),
        tables=_table_anchors(table_parts(record), position, rows),
        release_doi=release.doi if release is not None and _resolves(release) else None,
    )


def _resolves(row: DoiRow) -> bool:
    return row.live and row.confirmed in RESOLVABLE


def _segment(doi: str) -> str:
    return doi.rsplit("/", 1)[1]


def _own_doi(distributions: Iterable[Distribution]) -> str | None:
    """The DOI the source gave a table or file (every format of a HEPData table carries the table's)."""
    return next(
        (i.value for d in distributions for i in d.identifiers if i.scheme == IdentifierScheme.DOI),
        None,
    )


def _table_anchors(tables: list[Part], position: dict[int, int], rows: Sequence[DoiRow]) -> dict[int, TableAnchor]:
    # every table row counts for the numbers taken, hidden ones too: the DOI code never gives their n again
    ours = {r.part_key: r for r in rows if r.kind == "table"}
    taken = {r.part_number for r in ours.values() if r.part_number is not None}
    chosen: dict[str, tuple[str, str | None]] = {}
    for table in tables:
        row = ours.get(table.key)
        if row is not None and row.live and row.intended != "deleted":
            chosen[table.key] = (_segment(row.doi), row.doi if _resolves(row) else None)
            continue
        own = _own_doi(table.distributions)
        theirs = _TABLE_SEGMENT.fullmatch(_segment(own)) if own and "/" in own else None  # HEPData: …/t<n>
        if own is not None and theirs is not None and int(theirs.group(1)) not in taken:
            taken.add(int(theirs.group(1)))
            chosen[table.key] = (f"t{theirs.group(1)}", own)
    anchors: dict[int, TableAnchor] = {}
    for table in tables:
        if table.key not in chosen:
            # as `DoiStore.reserve_part` would number it: after every number the release's tables hold
            number = max(taken, default=0) + 1
            taken.add(number)
            chosen[table.key] = (f"t{number}", _own_doi(table.distributions))
        anchor, doi = chosen[table.key]
        members = tuple(sorted(position[id(d)] for d in table.distributions))
        anchors[members[0]] = TableAnchor(anchor, table.name, doi, members)
    return anchors


def _file_anchors(record: Record, position: dict[int, int], rows: list[DoiRow]) -> dict[int, FileAnchor]:
    # the parts of every file role, named as the DOI code names them; a file's row is found by its part key, or (a
    # rule naming fewer roles names a second file of one name differently) by the name the key gives
    parts = {part.key: part for part in file_parts(record, FILE_ROLES)}
    assigned: dict[int, FileAnchor] = {}
    unmatched: list[DoiRow] = []
    for row in rows:
        part = parts.get(row.part_key or "")
        if part is None:
            unmatched.append(row)
            continue
        assigned[position[id(part.distributions[0])]] = FileAnchor(
            _segment(row.doi), row.doi if _resolves(row) else None
        )
    for row in unmatched:
        name = (row.part_key or "").removeprefix("file:")
        index = next(
            (
                i
                for i, d in enumerate(record.distributions)
                if i not in assigned and d.role in FILE_ROLES and (name == d.name or name.startswith(f"{d.name} ("))
            ),
            None,
        )
        if index is not None:
            assigned[index] = FileAnchor(_segment(row.doi), row.doi if _resolves(row) else None)
    used = {a.anchor for a in assigned.values()}
    for part in parts.values():
        index = position[id(part.distributions[0])]
        if index in assigned:
            continue
        segment = file_segment(part.name)
        if segment not in used:  # ids are unique on a page; only a registered part's can hold a segment already
            used.add(segment)
            assigned[index] = FileAnchor(segment, _own_doi(part.distributions))
    return dict(sorted(assigned.items()))
