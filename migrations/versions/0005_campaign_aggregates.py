"""campaign aggregates

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 11:51:21.753440
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


import app.core.db

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('campaign_aggregates',
    sa.Column('campaign_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('purged_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('enrolled', sa.Integer(), nullable=False),
    sa.Column('opted_out', sa.Integer(), nullable=False),
    sa.Column('emails_sent', sa.Integer(), nullable=False),
    sa.Column('emails_failed', sa.Integer(), nullable=False),
    sa.Column('emails_answered', sa.Integer(), nullable=False),
    sa.Column('lessons_sent', sa.Integer(), nullable=False),
    sa.Column('lessons_viewed', sa.Integer(), nullable=False),
    sa.Column('questions_answered', sa.Integer(), nullable=False),
    sa.Column('correct_first_attempt', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_aggregates_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('campaign_id', name=op.f('pk_campaign_aggregates'))
    )


def downgrade() -> None:
    op.drop_table('campaign_aggregates')
