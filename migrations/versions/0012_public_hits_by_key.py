"""public hits keyed by key first, link hits without their time index: the gate's reads by a
group's keys and e-mails use one index each, whatever plan PostgreSQL caches for them

The rate counts are a minute's worth of counters: the table is made again rather than altered
(a running server loses at most the current minute's counts).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28 22:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _public_hits(*key: str) -> None:
    op.drop_table("public_hits")
    op.create_table(
        "public_hits",
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("window", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(*key, name=op.f("pk_public_hits")),
    )


def upgrade() -> None:
    _public_hits("key", "window")
    op.drop_index(op.f("ix_link_hits_at"), table_name="link_hits")


def downgrade() -> None:
    op.create_index(op.f("ix_link_hits_at"), "link_hits", ["at"])
    _public_hits("window", "key")
