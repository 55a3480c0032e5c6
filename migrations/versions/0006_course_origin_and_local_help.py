"""course origin (folder or upload), course topic, and a campaign's local help text

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
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
    with op.batch_alter_table('campaigns') as batch:
        batch.drop_column('local_help')
    with op.batch_alter_table('courses') as batch:
        batch.drop_column('topic')
        batch.drop_column('origin')
