"""bounces: a bounced status with its code and time, undeliverable addresses

Deliveries get the enhanced status code and time of a bounce (the reason goes to last_error);
employees get the mark set after a hard bounce or BOUNCE_SOFT_LIMIT soft ones; the frozen
campaign totals get their bounce count. The status column is a string, so `bounced` needs no
change of type.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE, not batch mode: SQLite (3.35+) adds and drops these columns in place, where
# batch mode would copy and drop `deliveries`, and dropping it cascades to answers and events.
COLUMNS = {
    "deliveries": [
        sa.Column("bounce_status", sa.String(length=16), nullable=True),
        sa.Column("bounced_at", app.core.db.UTCDateTime(timezone=True), nullable=True),
    ],
    "employees": [
        sa.Column("undeliverable_at", app.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("undeliverable_reason", sa.String(length=500), nullable=True),
        sa.Column("soft_bounces", sa.Integer(), server_default="0", nullable=False),
    ],
    "campaign_aggregates": [
        sa.Column("emails_bounced", sa.Integer(), server_default="0", nullable=False),
    ],
}


def upgrade() -> None:
    for table, columns in COLUMNS.items():
        for column in columns:
            op.add_column(table, column)


def downgrade() -> None:
    for table, columns in reversed(COLUMNS.items()):
        for column in reversed(columns):
            op.drop_column(table, column.name)
