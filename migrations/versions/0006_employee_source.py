"""employee source and SCIM identifiers

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('employees', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('source', sa.String(length=16), nullable=False, server_default='file')
        )
        batch_op.add_column(sa.Column('scim_user_name', sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column('scim_external_id', sa.String(length=255), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f('uq_employees_scim_user_name'), ['scim_user_name']
        )
        batch_op.create_unique_constraint(
            batch_op.f('uq_employees_scim_external_id'), ['scim_external_id']
        )


def downgrade() -> None:
    with op.batch_alter_table('employees', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_employees_scim_external_id'), type_='unique')
        batch_op.drop_constraint(batch_op.f('uq_employees_scim_user_name'), type_='unique')
        batch_op.drop_column('scim_external_id')
        batch_op.drop_column('scim_user_name')
        batch_op.drop_column('source')
