"""What replication knows of each file's copies: the ledger the catalogue keeps beside its records.

The replication package (`replication/`) learns from Rucio where each file of a record is and in which state, and
writes it here with `ReplicaLedger.replace`, one record at a time. Everything that shows a record (the record page,
`/api/records/{id}`, `dmlake show`, `dmlake where`, the search index, `dmlake.open`) reads the ledger and lays it
over the record's distributions (`overlay`): the stored record and its content hash never change, because
replication is not the source.

    ledger = lake.replica_ledger()
    ledger.replace(record_id, [FileReplica(record_id, "events.csv", "SITE_B", Availability.ONLINE,
                                           "root://site-b//data/events.csv", checksum_verified=True)])
    ledger.for_records([record_id])   # {record_id: [FileReplica(...)]}

A change of a record's replica set appends an "upsert" change to the catalogue's change feed in the same
transaction, so the search index re-renders the record's cluster with the new availability and sites.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, and_, delete, insert, select, update

from harvester.schema import changes, file_replicas, records
from ontology.model import Availability, Distribution, Record, Replica

CHUNK = 500  # ids per IN (...) clause


@dataclass(frozen=True)
class FileReplica:
    """One copy of one file of a record at one site, as replication last saw it."""

    record_id: str
    """The catalogue record id."""
    file_name: str
    """`Distribution.name` within that record."""
    site: str
    """The Rucio RSE name, e.g. "SITE_B"."""
    state: Availability
    """ONLINE, ON_TAPE, REQUESTED or REPLICATING."""
    url: str | None = None
    """Where an analyst reads this copy (file://…, https://…, root://…)."""
    checksum_verified: bool = False
    """The copy's adler32/md5 was compared with the catalogue's and matched."""


class ReplicaLedger:
    """The `file_replicas` table of a catalogue database. Thread-safe; writes are one transaction each."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def replace(self, record_id: str, replicas: Sequence[FileReplica]) -> bool:
        """Make `replicas` the whole known replica set of the record's files (an empty list forgets them all), in one
        transaction. Returns True when anything changed; only then it appends an "upsert" change for the record to the
        catalogue's change feed so the search index re-renders it (record content unchanged). Idempotent.

        A record that is not live (tombstoned, or not in the catalogue) gets its ledger rows all the same, and no
        change: the index holds no document of it to re-render."""
        wanted = _keyed(record_id, replicas)
        stamp = datetime.now(UTC)
        with self.engine.begin() as conn:
            # Lock the record's row (PostgreSQL; SQLite has one writer anyway) so two writers of the same record's
            # replicas pass one after the other and each compares with what the other committed.
            row = conn.execute(select(records.c.tombstone).where(records.c.id == record_id).with_for_update()).first()
            held = {
                (r.file_name, r.site): (r.state, r.url, r.checksum_verified)
                for r in conn.execute(
                    select(
                        file_replicas.c.file_name,
                        file_replicas.c.site,
                        file_replicas.c.state,
                        file_replicas.c.url,
                        file_replicas.c.checksum_verified,
                    ).where(file_replicas.c.record_id == record_id)
                )
            }
            if held == wanted:
                return False
            for file_name, site in held.keys() - wanted.keys():
                conn.execute(
                    delete(file_replicas).where(
                        and_(
                            file_replicas.c.record_id == record_id,
                            file_replicas.c.file_name == file_name,
                            file_replicas.c.site == site,
                        )
                    )
                )
            for (file_name, site), (state, url, verified) in wanted.items():
                if (file_name, site) not in held:
                    conn.execute(
                        insert(file_replicas).values(
                            record_id=record_id,
                            file_name=file_name,
                            site=site,
                            state=state,
                            url=url,
                            checksum_verified=verified,
                            updated_at=stamp,
                        )
                    )
                elif held[(file_name, site)] != (state, url, verified):
                    conn.execute(
                        update(file_replicas)
                        .where(
                            and_(
                                file_replicas.c.record_id == record_id,
                                file_replicas.c.file_name == file_name,
                                file_replicas.c.site == site,
                            )
                        )
                        .values(state=state, url=url, checksum_verified=verified, updated_at=stamp)
                    )
            if row is not None and row.tombstone is None:
                conn.execute(insert(changes).values(record_id=record_id, kind="upsert", run_id=None, at=stamp))
        return True

    def for_records(self, ids: Sequence[str]) -> dict[str, list[FileReplica]]:
        """The known replicas of the records among `ids` that have any (others absent), each list ordered by file name
        and site. One query per 500 ids."""
        found: dict[str, list[FileReplica]] = {}
        unique = sorted(set(ids))
        with self.engine.connect() as conn:
            for start in range(0, len(unique), CHUNK):
                rows = conn.execute(
                    select(file_replicas)
                    .where(file_replicas.c.record_id.in_(unique[start : start + CHUNK]))
                    .order_by(file_replicas.c.record_id, file_replicas.c.file_name, file_replicas.c.site)
                )
                for r in rows:
                    found.setdefault(r.record_id, []).append(
                        FileReplica(
                            r.record_id, r.file_name, r.site, Availability(r.state), r.url, bool(r.checksum_verified)
                        )
                    )
        return found

    def updated_at(self, record_id: str) -> dict[tuple[str, str], datetime]:
        """When each (file name, site) of the record last changed state, URL or verification."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(file_replicas.c.file_name, file_replicas.c.site, file_replicas.c.updated_at).where(
                    file_replicas.c.record_id == record_id
                )
            )
            return {(r.file_name, r.site): r.updated_at for r in rows}


def _keyed(record_id: str, replicas: Iterable[FileReplica]) -> dict[tuple[str, str], tuple[str, str | None, bool]]:
    keyed: dict[tuple[str, str], tuple[str, str | None, bool]] = {}
    for replica in replicas:
        if replica.record_id != record_id:
            raise ValueError(
                f"replica of {replica.file_name!r} at {replica.site} belongs to record {replica.record_id!r}, "
                f"not to {record_id!r}: replace one record's replicas at a time"
            )
        if not replica.file_name or not replica.site:
            raise ValueError(f"replica of record {record_id!r} without a file name or site: {replica!r}")
        key = (replica.file_name, replica.site)
        if key in keyed:
            raise ValueError(f"record {record_id!r}: two replicas of {replica.file_name!r} at {replica.site}")
        keyed[key] = (Availability(replica.state).value, replica.url, replica.checksum_verified)
    return keyed


# -- the overlay -------------------------------------------------------------------------------------------------
_STATE_RANK = {
    Availability.ONLINE: 0,
    Availability.REPLICATING: 1,
    Availability.REQUESTED: 2,
    Availability.ON_TAPE: 3,
}


def file_availability(replicas: Sequence[FileReplica], own: Availability) -> Availability:
    """A file's availability from its copies: online when a copy is online and its checksum verified, else the most
    advanced state among the copies (replicating, requested, on tape; an online copy not yet verified counts as
    replicating: it is not yet known to be the file); the source's own value when replication knows no copy."""
    if not replicas:
        return own
    if any(r.state == Availability.ONLINE and r.checksum_verified for r in replicas):
        return Availability.ONLINE
    states = [Availability.REPLICATING if r.state == Availability.ONLINE else Availability(r.state) for r in replicas]
    ranked = [s for s in states if s in _STATE_RANK]
    if not ranked:
        return own
    return min(ranked, key=_STATE_RANK.__getitem__)


def overlay(record: Record, replicas: Sequence[FileReplica]) -> Record:
    """The record with each distribution carrying its ledger replicas and the availability they give. Distributions
    replication knows nothing of are left as the source has them; so is the record when `replicas` is empty."""
    if not replicas:
        return record
    by_file: dict[str, list[FileReplica]] = {}
    for replica in replicas:
        by_file.setdefault(replica.file_name, []).append(replica)
    distributions: list[Distribution] = []
    touched = False
    for distribution in record.distributions:
        copies = by_file.get(distribution.name)
        if not copies:
            distributions.append(distribution)
            continue
        touched = True
        distributions.append(
            distribution.model_copy(
                update={
                    "availability": file_availability(copies, distribution.availability),
                    "replicas": [
                        Replica(
                            site=c.site,
                            state=Availability(c.state).value,
                            url=c.url,
                            checksum_verified=c.checksum_verified,
                        )
                        for c in sorted(copies, key=lambda c: (_STATE_RANK.get(Availability(c.state), 9), c.site))
                    ],
                }
            )
        )
    if not touched:
        return record
    return record.model_copy(update={"distributions": distributions})


def replica_tag(record: Record) -> str:
    """A short digest of what replication laid over the record (its files' replicas and availability): "" when
    nothing was. Whatever caches a record by its content hash (an ETag) adds this, since replica state changes the
    record shown while its content hash, the source's alone, stays."""
    shown = [
        [d.name, d.availability.value, [[r.site, r.state, r.url, r.checksum_verified] for r in d.replicas]]
        for d in record.distributions
        if d.replicas
    ]
    if not shown:
        return ""
    return hashlib.sha256(json.dumps(shown, separators=(",", ":")).encode()).hexdigest()[:12]


def overlay_all(records_by_id: Mapping[str, Record], ledger: ReplicaLedger) -> dict[str, Record]:
    """`overlay` for a batch of records: one ledger query per 500 ids."""
    known = ledger.for_records(list(records_by_id))
    return {rid: overlay(record, known.get(rid, [])) for rid, record in records_by_id.items()}
