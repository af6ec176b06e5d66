"""Clusters of records that describe the same dataset, kept current inside the catalogue's transactions.

Every record stores its match keys (`identity_rules.match_keys`) in `identity_keys`. When records are added, changed
or tombstoned, `resolve` runs in the same transaction as the page that changed them:

1. records sharing a key with a changed record are paired, and each pair the rules accept becomes a *link*
   (`identity_links`: the two records, the rule, the shared key) unless the pair is linked already — an undone link
   is kept, so the same evidence found again does not merge the pair again;
2. the clusters around the changed records are recomputed as the connected components of the live records over the
   links not undone, and `identities` is rewritten for them (a row per member of a cluster of two or more; the cluster
   id is its smallest record id, so the same members always give the same id);
3. every live record whose cluster gained or lost a member gets an `upsert` change in the feed, so the search index
   (one document per cluster) re-renders it; records changed by the page have their change already.

A crash anywhere rolls the whole page back, links and clusters included, so a rerun recomputes the same result.
Undoing a link (`undo_link`) and redoing it (`redo_link`) recluster the same way, in their own transaction.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import BindParameter, Connection, and_, bindparam, delete, func, or_, select, update

from harvester import bulk, db
from harvester.identity_rules import MatchKey, Role, Rule, link_rule, match_keys, stronger
from harvester.schema import changes, identities, identity_keys, identity_links, records

log = logging.getLogger(__name__)

CHUNK = 500
IDENTITY_LOCK = 0x646D6C6B_6964
"""The PostgreSQL advisory lock that orders identity resolution across concurrent transactions ("dmlk" "id")."""
MAX_KEY_HOLDERS = 500
"""A key shared by more records than this is too common to identify one dataset (a journal's ISSN sneaking in as a
DOI, a placeholder); it links nothing, and a warning names it."""

# The look-ups of every resolve, built once with the ids as one expanding parameter: a statement built per call
# coerces each of its (up to 500) ids and computes its cache key again, most of what these reads cost in Python.
_IDS: BindParameter[Any] = bindparam("ids", expanding=True)
_MINE, _OTHER = identity_keys.alias("mine"), identity_keys.alias("other")
_HELD_ELSEWHERE = (
    select(_OTHER.c.key).where(and_(_OTHER.c.key == _MINE.c.key, _OTHER.c.record_id != _MINE.c.record_id)).exists()
)
# Only live records hold keys (a tombstone drops them); the join gives each holder's source for the rules.
_SHARED_KEY_HOLDERS = (
    select(identity_keys.c.key, identity_keys.c.record_id, identity_keys.c.role, records.c.source)
    .join(records, and_(records.c.id == identity_keys.c.record_id, records.c.tombstone.is_(None)))
    .where(identity_keys.c.key.in_(select(_MINE.c.key).where(_MINE.c.record_id.in_(_IDS), _HELD_ELSEWHERE)))
)
_MEMBER = identities.alias("member")
_CLUSTERS_AROUND = select(_MEMBER.c.record_id, _MEMBER.c.cluster_id).where(
    _MEMBER.c.cluster_id.in_(select(identities.c.cluster_id).where(identities.c.record_id.in_(_IDS)))
)
_LINKS = select(identity_links).where(or_(identity_links.c.record_a.in_(_IDS), identity_links.c.record_b.in_(_IDS)))
_ACTIVE_LINKS = _LINKS.where(identity_links.c.undone_at.is_(None))
_LIVE_SOURCES = select(records.c.id, records.c.source).where(
    and_(records.c.id.in_(_IDS), records.c.tombstone.is_(None))
)


@dataclass(frozen=True)
class Link:
    id: int
    record_a: str
    record_b: str
    rule: str
    key: str
    created_at: datetime
    undone_at: datetime | None
    undone_reason: str | None

    @property
    def active(self) -> bool:
        return self.undone_at is None

    def other(self, record_id: str) -> str:
        return self.record_b if record_id == self.record_a else self.record_a

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "records": [self.record_a, self.record_b],
            "rule": self.rule,
            "evidence": self.key,
            "created_at": self.created_at.isoformat(),
            "undone_at": self.undone_at.isoformat() if self.undone_at else None,
            "undone_reason": self.undone_reason,
        }


@dataclass(frozen=True)
class Cluster:
    """A record's cluster: its live members (sorted; the first is the cluster id) and every link touching them."""

    id: str
    members: tuple[str, ...]
    links: tuple[Link, ...]
    rules: Mapping[str, str]
    """For each member but the first, the rule of the link that joined it."""

    def to_json(self) -> dict[str, Any]:
        return {
            "cluster": self.id,
            "members": [{"id": member, "joined_by": self.rules.get(member)} for member in self.members],
            "links": [link.to_json() for link in self.links],
        }


class LinkNotFound(LookupError):
    pass


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


# -- keys ------------------------------------------------------------------------------------------------------------
def store_keys(conn: Connection, keyed: Mapping[str, Sequence[MatchKey]], new: bool = False) -> None:
    """Replace the match keys of these records (`new`: none of them has keys yet, so there is nothing to replace)."""
    if not new:
        drop_keys(conn, list(keyed))
    # a harvest stores five or six keys per record: rows as tuples (`bulk`)
    rows = [(rid, key, role) for rid, keys in keyed.items() for key, role in keys]
    bulk.insert_rows(conn, identity_keys, ("record_id", "key", "role"), rows)


def drop_keys(conn: Connection, record_ids: Sequence[str]) -> None:
    for chunk in _chunks(list(record_ids)):
        conn.execute(delete(identity_keys).where(identity_keys.c.record_id.in_(chunk)))


# -- resolving -------------------------------------------------------------------------------------------------------
def resolve(
    conn: Connection,
    touched: Iterable[str],
    stamp: datetime,
    run_id: int | None,
    already_changed: Collection[str],
    keys: Mapping[str, Sequence[MatchKey]] | None = None,
) -> set[str]:
    """Link the touched records to the records they match, recluster around them, and feed the re-clustered records
    (those not in `already_changed`) to the change feed. Returns the records whose cluster changed.

    `keys`, when the caller has just stored them, are the touched records' match keys (when none has any, nothing
    is looked up); touched records absent from it have none (tombstoned). Either way the keys are read where they are
    stored: the database picks those another record holds too."""
    touched_ids = sorted(set(touched))
    if not touched_ids:
        return set()
    # Two sources harvested at once (the scheduler) may each bring one of a matching pair: the second to resolve
    # must see the first's keys and clusters, or the pair would never be linked.
    db.serialise_writers(conn, IDENTITY_LOCK)
    live = _link_new_pairs(conn, touched_ids, stamp, keys)
    # A record with no active link and no cluster before is a cluster of one before and after: nothing to redo
    # (most records of most harvests). What is read to tell is what reclustering would read first: it is handed on.
    clusters = _clusters_around(conn, touched_ids)
    links: dict[str, list[Link]] = {rid: [] for rid in touched_ids}
    for link in _active_links(conn, touched_ids):
        for rid in (link.record_a, link.record_b):
            if rid in links:
                links[rid].append(link)
    involved = [rid for rid in touched_ids if rid in clusters or links[rid]]
    if not involved:
        return set()
    return _recluster(
        conn, involved, stamp, run_id, already_changed, _Known(clusters, set(touched_ids), links, set(live))
    )


@dataclass(frozen=True)
class _Known:
    """What resolving read already, so that reclustering does not read it again."""

    cluster_of: dict[str, str]
    """As `_clusters_around` gave it for `looked_up`."""
    looked_up: set[str]
    links: dict[str, list[Link]]
    """The active links of some records (every one of each)."""
    live: set[str]
    """Some records known to be live."""


def _link_new_pairs(
    conn: Connection, touched: Sequence[str], stamp: datetime, keys: Mapping[str, Sequence[MatchKey]] | None = None
) -> dict[str, str]:
    """Link the touched records to the live records they share keys with; returns the holders of those keys that
    were read (all live), with their sources."""
    if keys is not None and not any(keys.get(rid) for rid in touched):
        return {}
    # Most keys of most records are held by that record alone (its own DOI, its recid). Asking for every holder of
    # every key read back a row per key, nearly all of them the touched records' own: the database picks the keys some
    # other record holds too, and only their holders come back. The touched records' keys are in `identity_keys`
    # already (the caller stored them; a tombstone dropped them), so the statement names records, not keys.
    # (`_SHARED_KEY_HOLDERS`)
    holders_of: dict[str, dict[str, str]] = defaultdict(dict)
    sources: dict[str, str] = {}
    for chunk in _chunks(touched):
        for key, record_id, role, source in conn.execute(_SHARED_KEY_HOLDERS, {"ids": list(chunk)}).all():
            holders_of[key][record_id] = role
            sources[record_id] = source
    holders = {key: list(holders_of[key].items()) for key in sorted(holders_of)}
    shared = {key: held for key, held in holders.items() if len(held) > 1}
    if not shared:
        return sources
    touched_set = set(touched)
    candidates: dict[tuple[str, str], tuple[Rule, str]] = {}
    for key, held in shared.items():
        if len(held) > MAX_KEY_HOLDERS:
            log.warning(
                "identity: %d records share the key %s; it is too common to identify one dataset and links nothing",
                len(held), key,
            )  # fmt: skip
            continue
        for record_id, role in held:
            if record_id not in touched_set or record_id not in sources:
                continue
            for other_id, other_role in held:
                if other_id == record_id or other_id not in sources:
                    continue
                same_source = sources[record_id] == sources[other_id]
                rule = link_rule(key, cast(Role, role), cast(Role, other_role), same_source)
                if rule is None:
                    continue
                pair = (record_id, other_id) if record_id < other_id else (other_id, record_id)
                known = candidates.get(pair)
                if known is None or stronger(rule, known[0]):
                    candidates[pair] = (rule, key)
    if not candidates:
        return sources
    existing: set[tuple[str, str]] = set()
    firsts = sorted({a for a, _ in candidates})
    for chunk in _chunks(firsts):
        rows = conn.execute(
            select(identity_links.c.record_a, identity_links.c.record_b).where(identity_links.c.record_a.in_(chunk))
        )
        existing.update((row.record_a, row.record_b) for row in rows)
    at = bulk.stored_time(conn, stamp)
    new = [(a, b, rule, key, at) for (a, b), (rule, key) in sorted(candidates.items()) if (a, b) not in existing]
    bulk.insert_rows(conn, identity_links, ("record_a", "record_b", "rule", "key", "created_at"), new)
    return sources


def _recluster(
    conn: Connection,
    seeds: Sequence[str],
    stamp: datetime,
    run_id: int | None,
    already_changed: Collection[str],
    known: _Known | None = None,
) -> set[str]:
    # Everything whose cluster may change: the seeds, the members of their clusters before, and every live record
    # reachable from those over active links; the clusters before of what is reached join in until nothing new does.
    start: set[str] = set(seeds)
    old_cluster_of: dict[str, str] = {}
    adjacency: dict[str, list[tuple[str, str]]] = defaultdict(list)
    visited: set[str] = set()
    live: set[str] = set()
    looked_up: set[str] = set()
    known_links: dict[str, list[Link]] = {}
    if known is not None:
        old_cluster_of.update(known.cluster_of)
        start |= set(known.cluster_of)
        looked_up |= known.looked_up | set(known.cluster_of)
        known_links = known.links
        live |= known.live
    pending = start - looked_up
    while True:
        if pending:
            found = _clusters_around(conn, sorted(pending))
            old_cluster_of.update(found)
            looked_up |= pending | set(found)
            start |= pending | set(found)
        live |= set(_live_sources(conn, start - live))
        frontier = sorted((start & live) - visited)
        while frontier:
            visited.update(frontier)
            reached: set[str] = set()
            links = {link.id: link for rid in frontier for link in known_links.get(rid, ())}
            links.update((link.id, link) for link in _active_links(conn, [r for r in frontier if r not in known_links]))
            for link in links.values():
                adjacency[link.record_a].append((link.record_b, link.rule))
                adjacency[link.record_b].append((link.record_a, link.rule))
                reached.update((link.record_a, link.record_b))
            live |= set(_live_sources(conn, reached - visited - live))
            frontier = sorted((reached & live) - visited)
        pending = (start | visited) - looked_up
        if not pending:
            break
    new_cluster_of: dict[str, str] = {}
    joined_by: dict[str, str] = {}
    for root in sorted(visited):
        if root in new_cluster_of:
            continue
        component = [root]
        new_cluster_of[root] = root
        queue = [root]
        while queue:
            node = queue.pop()
            for other, rule in sorted(adjacency.get(node, ())):
                if other in visited and other not in new_cluster_of:
                    new_cluster_of[other] = root
                    joined_by[other] = rule
                    component.append(other)
                    queue.append(other)
        if len(component) > 1:
            joined_by.setdefault(root, joined_by[min(component[1:])])
    everyone = sorted(start | visited)
    old_members: dict[str, set[str]] = defaultdict(set)
    for rid, cid in old_cluster_of.items():
        old_members[cid].add(rid)
    new_members: dict[str, set[str]] = defaultdict(set)
    for rid, cid in new_cluster_of.items():
        new_members[cid].add(rid)
    changed: set[str] = set()
    for rid in everyone:
        before = old_members[old_cluster_of[rid]] if rid in old_cluster_of else {rid}
        after = new_members[new_cluster_of[rid]] if rid in new_cluster_of else {rid}
        if before != after:
            changed.add(rid)
    # Only the rows of records whose cluster changed are rewritten: the others keep when (and by which rule) they
    # were merged.
    for chunk in _chunks(sorted(changed & set(old_cluster_of))):
        conn.execute(delete(identities).where(identities.c.record_id.in_(chunk)))
    # a harvest of versioned records rewrites many clusters per page: rows as tuples (`bulk`)
    at = bulk.stored_time(conn, stamp)
    rows = [
        (rid, cid, joined_by[rid], at)
        for rid, cid in sorted(new_cluster_of.items())
        if rid in changed and len(new_members[cid]) > 1
    ]
    bulk.insert_rows(conn, identities, ("record_id", "cluster_id", "rule", "merged_at"), rows)
    feed = sorted(rid for rid in changed if rid in visited and rid not in already_changed)
    bulk.insert_rows(
        conn, changes, ("record_id", "kind", "run_id", "at"), [(rid, "upsert", run_id, at) for rid in feed]
    )
    return changed


def _live_sources(conn: Connection, ids: Iterable[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for chunk in _chunks(sorted(ids)):
        found.update((rid, source) for rid, source in conn.execute(_LIVE_SOURCES, {"ids": list(chunk)}).all())
    return found


def _cluster_ids(conn: Connection, ids: Sequence[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for chunk in _chunks(list(ids)):
        rows = conn.execute(
            select(identities.c.record_id, identities.c.cluster_id).where(identities.c.record_id.in_(chunk))
        )
        found.update((rid, cid) for rid, cid in rows)
    return found


def _clusters_around(conn: Connection, ids: Sequence[str]) -> dict[str, str]:
    """The cluster of each of these records that is in one, and of every other member of those clusters (one read
    instead of one for the records and one for the members)."""
    found: dict[str, str] = {}
    for chunk in _chunks(list(ids)):
        found.update((rid, cid) for rid, cid in conn.execute(_CLUSTERS_AROUND, {"ids": list(chunk)}).all())
    return found


def _links(conn: Connection, ids: Sequence[str], active_only: bool) -> list[Link]:
    found: dict[int, Link] = {}
    query = _ACTIVE_LINKS if active_only else _LINKS
    for chunk in _chunks(list(ids)):
        for row in conn.execute(query, {"ids": list(chunk)}).all():
            found[row.id] = Link(
                row.id, row.record_a, row.record_b, row.rule, row.key, row.created_at, row.undone_at, row.undone_reason
            )
    return [found[i] for i in sorted(found)]


def _active_links(conn: Connection, ids: Sequence[str]) -> list[Link]:
    return _links(conn, ids, active_only=True)


# -- reading ---------------------------------------------------------------------------------------------------------
def cluster_members(conn: Connection, record_ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """For each of these records in a cluster of two or more, the cluster's members (sorted); others are absent."""
    cluster_of = _cluster_ids(conn, record_ids)
    if not cluster_of:
        return {}
    members: dict[str, list[str]] = defaultdict(list)
    for chunk in _chunks(sorted(set(cluster_of.values()))):
        rows = conn.execute(
            select(identities.c.cluster_id, identities.c.record_id).where(identities.c.cluster_id.in_(chunk))
        )
        for cid, rid in rows:
            members[cid].append(rid)
    return {rid: tuple(sorted(members[cid])) for rid, cid in cluster_of.items()}


def cluster(conn: Connection, record_id: str) -> Cluster:
    """The cluster of a record (a cluster of one when it matched nothing), with every link touching its members."""
    members = cluster_members(conn, [record_id]).get(record_id, (record_id,))
    rules: dict[str, str] = {}
    if len(members) > 1:
        rows = conn.execute(
            select(identities.c.record_id, identities.c.rule).where(identities.c.record_id.in_(members))
        )
        rules = {rid: rule for rid, rule in rows if rid != members[0]}
    return Cluster(members[0], members, tuple(_links(conn, members, active_only=False)), rules)


def links(conn: Connection, rule: str | None = None, undone: bool | None = None, limit: int = 1000) -> list[Link]:
    query = select(identity_links).order_by(identity_links.c.id).limit(limit)
    if rule is not None:
        query = query.where(identity_links.c.rule == rule)
    if undone is not None:
        query = query.where(identity_links.c.undone_at.is_not(None) if undone else identity_links.c.undone_at.is_(None))
    return [
        Link(r.id, r.record_a, r.record_b, r.rule, r.key, r.created_at, r.undone_at, r.undone_reason)
        for r in conn.execute(query)
    ]


# -- undoing ---------------------------------------------------------------------------------------------------------
def undo_link(conn: Connection, link_id: int, reason: str, stamp: datetime) -> set[str]:
    """Undo a merge: the link stays, marked undone (so the matcher never makes it again), and the records recluster.
    Returns the records whose cluster changed."""
    db.serialise_writers(conn, IDENTITY_LOCK)
    link = _link(conn, link_id)
    if link.undone_at is not None:
        return set()
    conn.execute(
        update(identity_links).where(identity_links.c.id == link_id).values(undone_at=stamp, undone_reason=reason)
    )
    return _recluster(conn, [link.record_a, link.record_b], stamp, None, ())


def redo_link(conn: Connection, link_id: int, stamp: datetime) -> set[str]:
    """Take an undo back: the link counts again and the records recluster."""
    db.serialise_writers(conn, IDENTITY_LOCK)
    link = _link(conn, link_id)
    if link.undone_at is None:
        return set()
    conn.execute(
        update(identity_links).where(identity_links.c.id == link_id).values(undone_at=None, undone_reason=None)
    )
    return _recluster(conn, [link.record_a, link.record_b], stamp, None, ())


def _link(conn: Connection, link_id: int) -> Link:
    row = conn.execute(select(identity_links).where(identity_links.c.id == link_id)).first()
    if row is None:
        raise LinkNotFound(f"no identity link {link_id}; `dmlake identity show RECORD` lists a record's links")
    return Link(row.id, row.record_a, row.record_b, row.rule, row.key, row.created_at, row.undone_at, row.undone_reason)


# -- rebuilding ------------------------------------------------------------------------------------------------------
def rebuild(conn: Connection, stamp: datetime, batch: int = 1000) -> int:
    """Compute every live record's match keys again and recluster the catalogue: for a catalogue made before
    identity existed, or after the rules changed. Undone links stay undone; other links are found again from the
    keys. Reclustered records get changes in the feed. Returns how many records are in clusters of two or more."""
    from harvester import codec  # the record decoder; imported here so that reading clusters does not need it

    db.serialise_writers(conn, IDENTITY_LOCK)

    conn.execute(delete(identity_keys))
    conn.execute(delete(identity_links).where(identity_links.c.undone_at.is_(None)))
    live: list[str] = []
    last = ""
    while True:
        rows = conn.execute(
            select(records.c.id, records.c.data)
            .where(and_(records.c.id > last, records.c.tombstone.is_(None)))
            .order_by(records.c.id)
            .limit(batch)
        ).all()
        if not rows:
            break
        keyed: dict[str, list[MatchKey]] = {}
        for row in rows:
            try:
                keyed[row.id] = match_keys(codec.decode_record(row.data))
            except Exception as error:  # one unreadable row must not stop the catalogue's migration
                log.warning(
                    "identity: record %s could not be read (%s: %s); it joins no cluster until it is harvested "
                    "again or `dmlake identity rebuild` runs after it is fixed", row.id, type(error).__name__, error
                )  # fmt: skip
        store_keys(conn, keyed)
        live += [row.id for row in rows]
        last = rows[-1].id
    for start in range(0, len(live), batch):
        _link_new_pairs(conn, live[start : start + batch], stamp)
    stale = list(conn.execute(select(identities.c.record_id)).scalars())
    for start in range(0, len(live), batch):
        _recluster(conn, live[start : start + batch], stamp, None, ())
    for chunk in _chunks(stale):
        # members of a cluster before whose records are gone now
        _recluster(conn, chunk, stamp, None, ())
    return int(conn.execute(select(func.count()).select_from(identities)).scalar_one())
