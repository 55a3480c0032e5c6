"""employee source and SCIM identifiers

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN and unique indexes, no batch mode: a batch would rebuild `employees`, and
    # dropping the old table with foreign keys on would cascade into enrollments.
    op.add_column(
        'employees',
        sa.Column('source', sa.String(length=16), nullable=False, server_default='file'),
    )
    op.add_column('employees', sa.Column('scim_user_name', sa.String(length=320), nullable=True))
    op.add_column('employees', sa.Column('scim_external_id', sa.String(length=255), nullable=True))
    op.create_index(
        'ix_employees_scim_user_name', 'employees', ['scim_user_name'], unique=True
    )
    op.create_index(
        'ix_employees_scim_external_id', 'employees', ['scim_external_id'], unique=True
    )


def downgrade() -> None:
    op.drop_index('ix_employees_scim_external_id', table_name='employees')
    op.drop_index('ix_employees_scim_user_name', table_name='employees')
    op.drop_column('employees', 'scim_external_id')
    op.drop_column('employees', 'scim_user_name')
    op.drop_column('employees', 'source')
