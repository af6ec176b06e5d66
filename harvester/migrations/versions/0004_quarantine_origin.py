"""Where a quarantined record came from: its URL and the source's stamp

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 10:00:00

`quarantine.source_url` and `quarantine.source_updated` keep what `RawRecord` carried besides the bytes, so that
`dmlake errors retry` can map a quarantined payload again from the raw store exactly as the harvest would have (the
URL is part of a record's provenance and some mappers read it). Additive: rows quarantined before this revision
have NULL there, and retry falls back to the URL of the catalogue's copy of the record when there is one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_url", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("source_updated", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.drop_column("source_updated")
        batch_op.drop_column("source_url")
