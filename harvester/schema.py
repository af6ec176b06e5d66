"""The catalogue's tables (SQLAlchemy 2 Core). Alembic migrations in `harvester/migrations` create and evolve them.

DESIGN.md §5: sources, runs, checkpoints, raw payloads, records (current model, content hash, tombstone), record
history, identities, the change feed, consumer cursors and the quarantine. Two bookkeeping tables serve deletion
detection: `listing_seen` (native ids seen by an unfinished full listing) and `pending_deletions` (disappearances held
back by the mass-deletion guard until a data manager confirms them).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    true,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# Sequence-like ids are BIGINT on PostgreSQL but must stay INTEGER on SQLite to be rowid aliases (autoincrement).
Id = BigInteger().with_variant(Integer(), "sqlite")

sources = Table(
    "sources",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("kind", String(50), nullable=False),
    Column("url", Text, nullable=False),
    Column("first_seen", DateTime(timezone=True), nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("source", String(200), nullable=False, index=True),
    Column("state", String(20), nullable=False),  # queued, running, succeeded, failed, interrupted, aborted
    Column("mode", String(20), nullable=False),  # full, incremental, resume
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("heartbeat_at", DateTime(timezone=True)),
    Column("host", String(255)),
    Column("pid", Integer),
    Column("pages", Integer, nullable=False, default=0),
    Column("added", Integer, nullable=False, default=0),
    Column("updated", Integer, nullable=False, default=0),
    Column("unchanged", Integer, nullable=False, default=0),
    Column("deleted", Integer, nullable=False, default=0),
    Column("errored", Integer, nullable=False, default=0),
    Column("quarantined", Integer, nullable=False, default=0),
    Column("pending_deletions", Integer, nullable=False, default=0),
    Column("requests", Integer, nullable=False, default=0),
    Column("retries", Integer, nullable=False, default=0),
    Column("not_modified", Integer, nullable=False, default=0, server_default="0"),  # 304s to conditional GETs
    Column("message", Text),
    Column("queued_at", DateTime(timezone=True)),  # a scheduled run waiting for its source's lock or a worker
    Column("trigger", String(20)),  # schedule, run-now; NULL: started by hand (dmlake harvest, remap, retry)
)

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("source", String(200), primary_key=True),
    Column("resume", Text),  # JSON: checkpoint of the listing in progress (None: nothing to resume)
    Column("listing_id", Id),  # run that started the listing in progress
    Column("previous", Text),  # JSON: final checkpoint of the last completed run (its watermark)
    Column("previous_run", Id),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

raw_payloads = Table(
    "raw_payloads",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("media_type", String(100), nullable=False),
    Column("size", Integer, nullable=False),
    # the original bytes, compressed by `harvester.codec` (zstd frames; zlib streams in older catalogues)
    Column("data", LargeBinary, nullable=False),
    Column("first_seen", DateTime(timezone=True), nullable=False),
)

records = Table(
    "records",
    metadata,
    Column("id", String(1000), primary_key=True),
    Column("source", String(200), nullable=False),
    Column("native_id", String(500), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("data", LargeBinary, nullable=False),  # model JSON, compressed by `harvester.codec`
    Column("source_updated", String(64)),
    Column("raw_sha256", String(64), nullable=False),
    Column("source_url", Text),
    Column("mapping_version", String(50), nullable=False),
    Column("first_run", Id),
    Column("last_run", Id),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("tombstone", Text),  # reason, when the record is gone
    Column("tombstoned_at", DateTime(timezone=True)),
    # JSON: the HTTP validators (ETag, Last-Modified) of the payload this row was mapped from, written in the same
    # statement as raw_sha256, so they never describe a payload the catalogue does not hold
    Column("validators", Text),
    # JSON compressed by `harvester.codec`: the record's entry in a search-index cluster document
    # (`indexer.document.member_entry`), built by the mapping worker with the record; used while `index_doc_version`
    # equals the code's fingerprint
    Column("index_doc", LargeBinary),
    Column("index_doc_version", String(32)),
    UniqueConstraint("source", "native_id", name="uq_records_source_native"),
)

record_history = Table(
    "record_history",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("record_id", String(1000), nullable=False, index=True),
    Column("run_id", Id),
    Column("content_hash", String(64), nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("tombstone", Text),
    Column("replaced_at", DateTime(timezone=True), nullable=False),
)

identities = Table(
    "identities",
    metadata,
    # one row per member of a cluster of two or more live records; a record without a row is a cluster of its own
    Column("record_id", String(1000), primary_key=True),
    Column("cluster_id", String(1000), nullable=False, index=True),
    Column("rule", String(100), nullable=False),  # the rule of the link that joined the record to its cluster
    Column("merged_at", DateTime(timezone=True), nullable=False),
)

identity_keys = Table(
    "identity_keys",
    metadata,
    # what a record is or points to (`harvester.identity_rules.match_keys`), for finding the records it matches
    Column("record_id", String(1000), primary_key=True),
    Column("key", String(1000), primary_key=True),
    Column("role", String(20), nullable=False),
    Index("ix_identity_keys_key", "key"),
)

identity_links = Table(
    "identity_links",
    metadata,
    # a merge: two records found to describe the same dataset, by a named rule; undone links stay, so that the
    # matcher, finding the same evidence again, does not merge them again
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("record_a", String(1000), nullable=False),  # record_a < record_b
    Column("record_b", String(1000), nullable=False, index=True),
    Column("rule", String(100), nullable=False),
    Column("key", String(1000), nullable=False),  # the shared evidence, e.g. doi:10.5281/zenodo.123
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("undone_at", DateTime(timezone=True)),
    Column("undone_reason", Text),
    UniqueConstraint("record_a", "record_b", name="uq_identity_links_pair"),
)

changes = Table(
    "changes",
    metadata,
    Column("seq", Id, primary_key=True, autoincrement=True),
    Column("record_id", String(1000), nullable=False),
    Column("kind", String(10), nullable=False),  # upsert, delete
    Column("run_id", Id),
    Column("at", DateTime(timezone=True), nullable=False),
    sqlite_autoincrement=True,  # sequence numbers are never reused, even after the newest row is deleted
)

cursors = Table(
    "cursors",
    metadata,
    Column("consumer", String(100), primary_key=True),
    Column("seq", Id, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("source", String(200), nullable=False),
    Column("native_id", String(500), nullable=False),
    Column("stage", String(20), nullable=False),  # mapping, validation
    Column("field", String(200), nullable=False),
    Column("error_class", String(100), nullable=False),
    Column("message", Text, nullable=False),
    Column("raw_sha256", String(64)),
    Column("run_id", Id),
    Column("first_seen", DateTime(timezone=True), nullable=False),
    Column("last_seen", DateTime(timezone=True), nullable=False),
    Column("count", Integer, nullable=False, default=1),
    # what the raw record carried besides its bytes, so a retry maps the stored payload exactly as the harvest did
    Column("source_url", Text),
    Column("source_updated", String(64)),
    UniqueConstraint("source", "native_id", name="uq_quarantine_source_native"),
)

run_errors = Table(
    "run_errors",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("run_id", Id, ForeignKey("runs.id"), nullable=False, index=True),
    Column("native_id", String(500)),
    Column("url", Text),
    Column("message", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

listing_seen = Table(
    "listing_seen",
    metadata,
    Column("listing_id", Id, primary_key=True),
    Column("native_id", String(500), primary_key=True),
)

pending_deletions = Table(
    "pending_deletions",
    metadata,
    Column("record_id", String(1000), primary_key=True),
    Column("source", String(200), nullable=False, index=True),
    Column("run_id", Id),
    Column("detected_at", DateTime(timezone=True), nullable=False),
)

leases = Table(
    "leases",
    metadata,
    # a lock that expires unless its holder renews it: `source:NAME` (at most one run of a source at a time, across
    # processes and hosts) and `scheduler` (one scheduler daemon per catalogue)
    Column("name", String(300), primary_key=True),
    Column("run_id", Id),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("acquired_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

schedules = Table(
    "schedules",
    metadata,
    # what data managers set at run time (`dmlake schedule ...`); the scheduler daemon applies it. A source's
    # schedule here wins over the sources file's until cleared. The daemon's jobs and their next run times live in
    # APScheduler's own table `apscheduler_jobs` in the same database (created by its job store).
    Column("source", String(200), primary_key=True),
    Column("schedule", Text),
    Column("paused", Boolean, nullable=False, default=False, server_default=false()),
    Column("run_now_at", DateTime(timezone=True)),  # a run asked for by `dmlake schedule run-now`, not yet started
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

Index("ix_records_source_live", records.c.source, records.c.tombstone)
Index("ix_changes_record", changes.c.record_id)

dois = Table(
    "dois",
    metadata,
    # The DOI registrar's own bookkeeping (doi/): one row per record (or per concept of a versioned release), written
    # with the state we intend *before* DataCite is called and with the state DataCite confirmed after; a crash
    # between the two leaves `confirmed` behind `intended`, and the next run asks DataCite (GET) before creating.
    Column("key", String(1000), primary_key=True),  # the record id; `concept:` + source + concept id for concepts
    Column("doi", String(300), nullable=False, unique=True),
    Column("source", String(200), nullable=False, index=True),
    Column("kind", String(10), nullable=False),  # record, concept, table, file
    Column("concept_key", String(1000)),  # a version's concept row
    Column("version_number", Integer),  # the N of `.vN`
    Column("parent_key", String(1000), index=True),  # a table's or file's release row (migration 0009)
    Column("part_key", String(1000)),  # its identity within the release: `table:…`, `file:<name>`
    Column("part_number", Integer),  # a table's n of `/t<n>`
    Column("intended", String(20), nullable=False),  # draft, registered, findable, deleted (a draft withdrawn)
    Column("confirmed", String(20)),  # what DataCite said last; NULL: never confirmed
    Column("approved", Boolean, nullable=False, default=False, server_default=false()),  # `dmlake doi publish`
    Column("live", Boolean, nullable=False, default=True, server_default=true()),  # the record is not tombstoned
    Column("metadata_sha256", String(64)),  # of the attributes DataCite confirmed
    Column("report", Text),  # why the last attempt failed (validation or DataCite's refusal); NULL when it did not
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("parent_key", "part_key", name="uq_dois_parent_part"),
)

file_replicas = Table(
    "file_replicas",
    metadata,
    # What replication (replication/, Rucio) knows of each file's copies: one row per file of a record per site,
    # written by `harvester.replica_ledger.ReplicaLedger.replace`. The primary key leads with the record id, so it is
    # also the index by which a record's replicas are read.
    Column("record_id", String(1000), primary_key=True),
    Column("file_name", String(1000), primary_key=True),  # Distribution.name
    Column("site", String(200), primary_key=True),  # the Rucio RSE
    Column("state", String(20), nullable=False),  # ontology.model.Availability: online, on-tape, requested, replicating
    Column("url", Text),  # where an analyst reads this copy
    Column("checksum_verified", Boolean, nullable=False, default=False, server_default=false()),
    Column("updated_at", DateTime(timezone=True), nullable=False),  # when state, url or verification last changed
)
