"""course origin (folder or upload), course topic, and a campaign's local help text

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('courses') as batch:
        batch.add_column(
            sa.Column('origin', sa.String(length=16), server_default='folder', nullable=False)
        )
        batch.add_column(
            sa.Column('topic', sa.String(length=16), server_default='other', nullable=False)
        )
    with op.batch_alter_table('campaigns') as batch:
        batch.add_column(sa.Column('local_help', sa.Text(), server_default='', nullable=False))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+ has it): batch mode would rebuild `courses`, and dropping
    # the old table fails while lessons and campaigns point at it with foreign keys on.
    op.drop_column('campaigns', 'local_help')
    op.drop_column('courses', 'topic')
    op.drop_column('courses', 'origin')
