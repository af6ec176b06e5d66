"""The scheduler: expiring locks, run-time schedules, queued runs

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 10:00:00

`leases` holds locks that expire unless renewed: one per source being harvested (at most one run of a source at a
time, across processes and hosts) and one for the scheduler daemon. `schedules` keeps what data managers set at run
time (a schedule overriding the sources file's, paused, a run asked for now). `runs` gains `queued_at` (a scheduled
run waiting for its source's lock or a worker) and `trigger` (schedule, run-now; NULL for runs started by hand).
Additive: existing runs keep NULL in both new columns.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("trigger", sa.String(20), nullable=True))
    op.create_table(
        "leases",
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("run_id", Id, nullable=True),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_leases"),
    )
    op.create_table(
        "schedules",
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("schedule", sa.Text(), nullable=True),
        sa.Column("paused", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("run_now_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source", name="pk_schedules"),
    )


def downgrade() -> None:
    op.drop_table("schedules")
    op.drop_table("leases")
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_column("trigger")
        batch_op.drop_column("queued_at")
