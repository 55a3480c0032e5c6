"""daily send counts: the rolling 24-hour window of SMTP_RATE_PER_DAY

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


import app.core.db

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('smtp_send_counts',
    sa.Column('relay', sa.String(length=255), nullable=False),
    sa.Column('minute', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('relay', 'minute', name=op.f('pk_smtp_send_counts'))
    )


def downgrade() -> None:
    op.drop_table('smtp_send_counts')
