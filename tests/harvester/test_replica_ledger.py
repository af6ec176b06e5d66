"""The replica ledger (issue 8): what replication knows of each file's copies, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from replica_records import File, make_record, store, tombstone
from sqlalchemy import select

from dmlake.lake import Lake
from harvester import codec
from harvester.catalogue import Catalogue
from harvester.replica_ledger import FileReplica, ReplicaLedger, file_availability
from harvester.schema import records
from indexer.consumer import member_entries
from indexer.document import DOCUMENT_FINGERPRINT
from ontology.model import Availability

ONLINE, REPLICATING = Availability.ONLINE, Availability.REPLICATING


@pytest.fixture
def ledger(catalogue: Catalogue) -> ReplicaLedger:
    return ReplicaLedger(catalogue.engine)


def cosine(catalogue: Catalogue) -> str:
    (rid,) = store(catalogue, make_record("zenodo", "7", [File("a.csv"), File("b.csv")]))
    return rid


def feed_after(catalogue: Catalogue, seq: int) -> list[tuple[str, str]]:
    return [(c.record_id, c.kind) for c in catalogue.changes_since(seq, 100)]


def test_replace_then_for_records_round_trip(catalogue: Catalogue, ledger: ReplicaLedger) -> None:
    rid = cosine(catalogue)
    other = store(catalogue, make_record("zenodo", "8", [File("c.csv")]))[0]
    copies = [
        FileReplica(rid, "b.csv", "SITE_C", REPLICATING),
        FileReplica(rid, "a.csv", "SITE_B", ONLINE, "root://site-b//z/a.csv", checksum_verified=True),
        FileReplica(rid, "a.csv", "SITE_A", ONLINE, "file:///data/site-a/z/a.csv", checksum_verified=True),
    ]
    assert ledger.replace(rid, copies) is True
    found = ledger.for_records([rid, other, "dmlake:nothing/1"])
    assert list(found) == [rid]  # records without replicas are absent
    assert found[rid] == sorted(copies, key=lambda c: (c.file_name, c.site))
    assert all(isinstance(c.state, Availability) for c in found[rid])
    assert ledger.for_records([]) == {}


def test_replace_is_idempotent_and_feeds_one_upsert_per_change(catalogue: Catalogue, ledger: ReplicaLedger) -> None:
    rid = cosine(catalogue)
    with catalogue.engine.connect() as conn:
        before = conn.execute(select(records.c.content_hash, records.c.data, records.c.updated_at)).all()
    copies = [FileReplica(rid, "a.csv", "SITE_B", REPLICATING)]
    seq = catalogue.last_seq()
    assert ledger.replace(rid, copies) is True
    assert feed_after(catalogue, seq) == [(rid, "upsert")]

    seq = catalogue.last_seq()
    assert ledger.replace(rid, list(copies)) is False
    assert feed_after(catalogue, seq) == []

    stamps = ledger.updated_at(rid)
    verified = [FileReplica(rid, "a.csv", "SITE_B", ONLINE, "root://b//a.csv", checksum_verified=True)]
    assert ledger.replace(rid, [*verified, FileReplica(rid, "b.csv", "SITE_B", REPLICATING)]) is True
    assert feed_after(catalogue, seq) == [(rid, "upsert")]
    assert ledger.updated_at(rid)[("a.csv", "SITE_B")] > stamps[("a.csv", "SITE_B")]

    # only a changed row gets a new stamp: the unchanged one keeps when its state last changed
    stamps = ledger.updated_at(rid)
    assert ledger.replace(rid, [*verified, FileReplica(rid, "b.csv", "SITE_B", ONLINE)]) is True
    after = ledger.updated_at(rid)
    assert after[("a.csv", "SITE_B")] == stamps[("a.csv", "SITE_B")]
    assert after[("b.csv", "SITE_B")] > stamps[("b.csv", "SITE_B")]

    seq = catalogue.last_seq()
    assert ledger.replace(rid, []) is True  # forgetting every copy is a change too
    assert ledger.for_records([rid]) == {}
    assert feed_after(catalogue, seq) == [(rid, "upsert")]
    assert ledger.replace(rid, []) is False
    assert feed_after(catalogue, seq) == [(rid, "upsert")]

    # replication is not the source: the stored record never changes
    with catalogue.engine.connect() as conn:
        assert conn.execute(select(records.c.content_hash, records.c.data, records.c.updated_at)).all() == before


def test_a_tombstoned_record_keeps_its_ledger_rows_without_a_feed_change(
    catalogue: Catalogue, ledger: ReplicaLedger
) -> None:
    rid = cosine(catalogue)
    assert ledger.replace(rid, [FileReplica(rid, "a.csv", "SITE_B", ONLINE, checksum_verified=True)])
    tombstone(catalogue, "zenodo", "7")
    seq = catalogue.last_seq()
    # the rules are gone and the reaper freed the copy: replication forgets it; no index document to re-render
    assert ledger.replace(rid, []) is True
    assert ledger.for_records([rid]) == {}
    assert feed_after(catalogue, seq) == []


def test_replace_refuses_what_is_not_one_record_s_replica_set(catalogue: Catalogue, ledger: ReplicaLedger) -> None:
    rid = cosine(catalogue)
    with pytest.raises(ValueError, match="belongs to record"):
        ledger.replace(rid, [FileReplica("dmlake:other/1", "a.csv", "SITE_B", ONLINE)])
    with pytest.raises(ValueError, match=r"two replicas of 'a\.csv' at SITE_B"):
        ledger.replace(rid, [FileReplica(rid, "a.csv", "SITE_B", ONLINE), FileReplica(rid, "a.csv", "SITE_B", ONLINE)])
    with pytest.raises(ValueError, match="'nearline' is not a valid Availability"):
        ledger.replace(rid, [FileReplica(rid, "a.csv", "SITE_B", "nearline")])  # type: ignore[arg-type]
    assert ledger.for_records([rid]) == {}


def test_the_lake_opens_the_ledger_of_its_home(tmp_path: Path, database_url: str) -> None:
    lake = Lake.open(tmp_path, database_url)
    try:
        rid = cosine(lake.catalogue)
        assert lake.replica_ledger().replace(rid, [FileReplica(rid, "a.csv", "SITE_B", ONLINE)])
    finally:
        lake.close()
    again = Lake.open(tmp_path, database_url)
    try:
        assert [c.site for c in again.replica_ledger().for_records([rid])[rid]] == ["SITE_B"]
    finally:
        again.close()


# -- the overlay: what every reader of a record sees ----------------------------------------------------------------
def test_file_availability_follows_the_best_copy() -> None:
    def copy(state: Availability, verified: bool = False) -> FileReplica:
        return FileReplica("r", "f", f"SITE_{len(state.value)}", state, "root://x//f", verified)

    own = Availability.ON_REQUEST
    assert file_availability([], own) == own  # replication knows nothing: the source's own value
    assert file_availability([copy(ONLINE, True), copy(Availability.REQUESTED)], own) == ONLINE
    # an online copy not yet verified is not yet known to be the file
    assert file_availability([copy(ONLINE)], own) == REPLICATING
    assert file_availability([copy(Availability.REQUESTED), copy(REPLICATING)], own) == REPLICATING
    assert file_availability([copy(Availability.REQUESTED), copy(Availability.ON_TAPE)], own) == Availability.REQUESTED
    assert file_availability([copy(Availability.ON_TAPE)], own) == Availability.ON_TAPE


def test_feed_reads_and_record_reads_carry_the_ledger_s_replicas(catalogue: Catalogue, ledger: ReplicaLedger) -> None:
    rid = cosine(catalogue)
    plain = catalogue.records([rid])[rid]
    assert [d.replicas for d in plain.distributions] == [[], []]
    stored_hash = catalogue.get(rid).content_hash  # type: ignore[union-attr]
    ledger.replace(
        rid,
        [
            FileReplica(rid, "a.csv", "SITE_C", REPLICATING),
            FileReplica(rid, "a.csv", "SITE_B", ONLINE, "root://b//a.csv", checksum_verified=True),
            FileReplica(rid, "no-such-file.csv", "SITE_B", ONLINE, "root://b//x", checksum_verified=True),
        ],
    )
    for record in (
        catalogue.records([rid])[rid],
        catalogue.get(rid).record,  # type: ignore[union-attr]
        catalogue.find("zenodo", "7").record,  # type: ignore[union-attr]
    ):
        a, b = record.distributions
        assert a.availability == ONLINE
        assert [(r.site, r.state, r.url, r.checksum_verified) for r in a.replicas] == [
            ("SITE_B", "online", "root://b//a.csv", True),
            ("SITE_C", "replicating", None, False),
        ]
        assert b == plain.distributions[1]  # a file replication knows nothing of is as the source has it
        assert codec.content_hash(record) != stored_hash  # what is shown differs…
    # … the stored record does not, and the raw reads give it as stored
    assert catalogue.get(rid).content_hash == stored_hash  # type: ignore[union-attr]
    assert catalogue.records([rid], with_replicas=False)[rid] == plain
    assert catalogue.get(rid, with_replicas=False).record == plain  # type: ignore[union-attr]
    assert next(catalogue.iter_records()).record == plain


def test_kept_index_entries_are_left_out_for_records_with_replicas(catalogue: Catalogue, ledger: ReplicaLedger) -> None:
    rid = cosine(catalogue)
    other = store(catalogue, make_record("zenodo", "8", [File("c.csv")]))[0]
    assert set(catalogue.index_entries([rid, other], DOCUMENT_FINGERPRINT)) == {rid, other}
    ledger.replace(rid, [FileReplica(rid, "a.csv", "SITE_B", ONLINE, "root://b//a.csv", checksum_verified=True)])
    assert set(catalogue.index_entries([rid, other], DOCUMENT_FINGERPRINT)) == {other}
    # so the index consumer builds the entry from the overlaid record
    entries = member_entries(catalogue, [rid, other])
    assert entries[rid]["document"]["site"] == ["SITE_B"]
    assert entries[rid]["document"]["availability"] == ["online"]
    assert entries[other]["document"]["site"] == []
    ledger.replace(rid, [])
    assert set(catalogue.index_entries([rid, other], DOCUMENT_FINGERPRINT)) == {rid, other}
