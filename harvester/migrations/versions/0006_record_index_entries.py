"""Each record keeps its entry of the search index's cluster documents

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 16:00:00

`records.index_doc` (compressed JSON) and `records.index_doc_version` (the fingerprint of the code that built it) let
the index follower merge cluster documents without decoding and re-flattening every member record: the mapping
worker builds the entry once, with the record. Additive: existing rows get NULL, and the follower builds their entries
from the record as before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("index_doc", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("index_doc_version", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.drop_column("index_doc_version")
        batch_op.drop_column("index_doc")
