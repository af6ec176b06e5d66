"""DOIs per table or per file of a release (doi/parts.py)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-21 20:00:00

A part's row in `dois` (kind `table` or `file`) names the row of the release it belongs to (`parent_key`), its
identity within the release (`part_key`: one row per release and part, whatever happens) and, for a table, the n of
its `/t<n>` (`part_number`, fixed when the row is made). Additive: existing rows are releases and concepts.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dois") as batch:
        batch.add_column(sa.Column("parent_key", sa.String(1000), nullable=True))
        batch.add_column(sa.Column("part_key", sa.String(1000), nullable=True))
        batch.add_column(sa.Column("part_number", sa.Integer(), nullable=True))
        batch.create_unique_constraint("uq_dois_parent_part", ["parent_key", "part_key"])
    op.create_index(op.f("ix_dois_parent_key"), "dois", ["parent_key"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_dois_parent_key"), table_name="dois")
    with op.batch_alter_table("dois") as batch:
        batch.drop_constraint("uq_dois_parent_part", type_="unique")
        batch.drop_column("part_number")
        batch.drop_column("part_key")
        batch.drop_column("parent_key")
