"""bounces: a bounced status with its code and time, undeliverable addresses

Deliveries get the enhanced status code and time of a bounce (the reason goes to last_error);
employees get the mark set after a hard bounce or BOUNCE_SOFT_LIMIT soft ones; the frozen
campaign totals get their bounce count. The status column is a string, so `bounced` needs no
change of type.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("bounce_status", sa.String(length=16), nullable=True))
        batch.add_column(
            sa.Column("bounced_at", app.core.db.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("employees") as batch:
        batch.add_column(
            sa.Column("undeliverable_at", app.core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("undeliverable_reason", sa.String(length=500), nullable=True))
        batch.add_column(
            sa.Column("soft_bounces", sa.Integer(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("campaign_aggregates") as batch:
        batch.add_column(
            sa.Column("emails_bounced", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("campaign_aggregates") as batch:
        batch.drop_column("emails_bounced")
    with op.batch_alter_table("employees") as batch:
        batch.drop_column("soft_bounces")
        batch.drop_column("undeliverable_reason")
        batch.drop_column("undeliverable_at")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("bounced_at")
        batch.drop_column("bounce_status")
