"""HTTP validators kept with each record; 304s counted per run

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 10:00:00

`records.validators` (JSON, nullable) holds the ETag and Last-Modified of the payload the record was mapped from,
for conditional GET on the next run; `runs.not_modified` counts the 304s a run was answered with. Both are
additive: existing rows get NULL validators (their records are fetched unconditionally once) and 0 not-modified.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("validators", sa.Text(), nullable=True))
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("not_modified", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_column("not_modified")
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.drop_column("validators")
