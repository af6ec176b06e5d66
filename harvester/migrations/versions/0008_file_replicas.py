"""Replica state of files: the table `file_replicas` (harvester.replica_ledger)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-21 19:50:00

One row per file of a record per site (Rucio RSE) holding a copy: its state (online, on tape, requested,
replicating), the URL an analyst reads it at, whether its checksum was verified against the catalogue's, and when it
last changed. The primary key (record id, file name, site) leads with the record id: it is the index by which a
record's replicas are read. Additive.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "file_replicas",
        sa.Column("record_id", sa.String(1000), nullable=False),
        sa.Column("file_name", sa.String(1000), nullable=False),
        sa.Column("site", sa.String(200), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("checksum_verified", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("record_id", "file_name", "site", name=op.f("pk_file_replicas")),
    )


def downgrade() -> None:
    op.drop_table("file_replicas")
