"""The DOI registrar's table `dois` (doi/)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21 16:00:00

One row per record that gets a DOI (and per concept of a versioned release): the DOI, the state we intend, the state
DataCite confirmed, whether a data manager approved publication, and the last failure report. Additive.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dois",
        sa.Column("key", sa.String(1000), nullable=False),
        sa.Column("doi", sa.String(300), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("concept_key", sa.String(1000), nullable=True),
        sa.Column("version_number", sa.Integer(), nullable=True),
        sa.Column("intended", sa.String(20), nullable=False),
        sa.Column("confirmed", sa.String(20), nullable=True),
        sa.Column("approved", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("live", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("metadata_sha256", sa.String(64), nullable=True),
        sa.Column("report", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_dois")),
        sa.UniqueConstraint("doi", name=op.f("uq_dois_doi")),
    )
    op.create_index(op.f("ix_dois_source"), "dois", ["source"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_dois_source"), table_name="dois")
    op.drop_table("dois")
