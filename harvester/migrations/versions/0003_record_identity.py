"""Record identity: match keys, links between records of the same dataset, clusters

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 12:00:00

`identity_keys` holds what each record is or points to (DOIs, portal ids, concept DOIs, papers) and `identity_links`
the merges the rules made (an undone merge keeps its row). `identities` (created in 0001, empty until now) gets a
row per member of each cluster. The upgrade fills all three from the records already in the catalogue, with the
rules of the dmlake that runs it, and adds the reclustered records to the change feed.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "identity_keys",
        sa.Column("record_id", sa.String(length=1000), nullable=False),
        sa.Column("key", sa.String(length=1000), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("record_id", "key", name=op.f("pk_identity_keys")),
    )
    op.create_index("ix_identity_keys_key", "identity_keys", ["key"], unique=False)
    op.create_table(
        "identity_links",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("record_a", sa.String(length=1000), nullable=False),
        sa.Column("record_b", sa.String(length=1000), nullable=False),
        sa.Column("rule", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=1000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("undone_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_links")),
        sa.UniqueConstraint("record_a", "record_b", name="uq_identity_links_pair"),
    )
    op.create_index(op.f("ix_identity_links_record_b"), "identity_links", ["record_b"], unique=False)
    from harvester import identity  # the rules as this dmlake has them

    identity.rebuild(op.get_bind(), datetime.now(UTC))


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM identities"))
    op.drop_index(op.f("ix_identity_links_record_b"), table_name="identity_links")
    op.drop_table("identity_links")
    op.drop_index("ix_identity_keys_key", table_name="identity_keys")
    op.drop_table("identity_keys")
