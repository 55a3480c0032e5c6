"""public hits and link hits: the public rate limits and the link-burst rule in the database,
shared by every serving process

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28 13:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "public_hits",
        sa.Column("window", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("window", "key", name=op.f("pk_public_hits")),
    )
    op.create_table(
        "link_hits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("link", sa.String(length=80), nullable=False),
        sa.Column("at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["deliveries.id"],
            name=op.f("fk_link_hits_delivery_id_deliveries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_hits")),
    )
    op.create_index("ix_link_hits_delivery_id_at", "link_hits", ["delivery_id", "at"])
    op.create_index(op.f("ix_link_hits_at"), "link_hits", ["at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_link_hits_at"), table_name="link_hits")
    op.drop_index("ix_link_hits_delivery_id_at", table_name="link_hits")
    op.drop_table("link_hits")
    op.drop_table("public_hits")
