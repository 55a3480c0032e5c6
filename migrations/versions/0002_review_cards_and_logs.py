"""review cards and logs

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 11:41:10.747102
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


import app.core.db

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('review_cards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enrollment_id', sa.Integer(), nullable=False),
    sa.Column('lesson_id', sa.Integer(), nullable=False),
    sa.Column('fsrs_state', app.core.db.JSONType(), nullable=True),
    sa.Column('due', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reviews', sa.Integer(), nullable=False),
    sa.Column('correct_streak', sa.Integer(), nullable=False),
    sa.Column('last_correct', sa.Boolean(), nullable=True),
    sa.Column('last_answered_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('offered_delivery_id', sa.Integer(), nullable=True),
    sa.Column('offers_unanswered', sa.Integer(), nullable=False),
    sa.Column('last_offered_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('retired_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('retired_reason', sa.String(length=16), nullable=True),
    sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['enrollment_id'], ['enrollments.id'], name=op.f('fk_review_cards_enrollment_id_enrollments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['lesson_id'], ['lessons.id'], name=op.f('fk_review_cards_lesson_id_lessons')),
    sa.ForeignKeyConstraint(['offered_delivery_id'], ['deliveries.id'], name=op.f('fk_review_cards_offered_delivery_id_deliveries'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_cards')),
    sa.UniqueConstraint('enrollment_id', 'lesson_id', name=op.f('uq_review_cards_enrollment_id_lesson_id'))
    )
    with op.batch_alter_table('review_cards', schema=None) as batch_op:
        batch_op.create_index('ix_review_cards_enrollment_id_due', ['enrollment_id', 'due'], unique=False)

    op.create_table('review_logs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('card_id', sa.Integer(), nullable=False),
    sa.Column('answer_id', sa.Integer(), nullable=False),
    sa.Column('delivery_id', sa.Integer(), nullable=False),
    sa.Column('review_number', sa.Integer(), nullable=False),
    sa.Column('sent_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('answered_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('rating', sa.Integer(), nullable=False),
    sa.Column('correct', sa.Boolean(), nullable=False),
    sa.Column('days_since_exposure', sa.Double(), nullable=True),
    sa.Column('response_delay_seconds', sa.Double(), nullable=False),
    sa.Column('counted', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['answer_id'], ['answers.id'], name=op.f('fk_review_logs_answer_id_answers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['card_id'], ['review_cards.id'], name=op.f('fk_review_logs_card_id_review_cards'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['delivery_id'], ['deliveries.id'], name=op.f('fk_review_logs_delivery_id_deliveries'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_logs'))
    )
    with op.batch_alter_table('review_logs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_logs_card_id'), ['card_id'], unique=False)

    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retire_after', sa.Integer(), nullable=False, server_default='2'))



def downgrade() -> None:
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_column('retire_after')

    with op.batch_alter_table('review_logs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_logs_card_id'))

    op.drop_table('review_logs')
    with op.batch_alter_table('review_cards', schema=None) as batch_op:
        batch_op.drop_index('ix_review_cards_enrollment_id_due')

    op.drop_table('review_cards')
