"""add status column to users

Revision ID: 3c9a5f0e7d21
Revises: bd2e8a1f9c03
Create Date: 2024-10-21 17:36:40.008466

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3c9a5f0e7d21'
down_revision = 'bd2e8a1f9c03'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users') as batch_op:
        batch_op.add_column(
            sa.Column('status', sa.String(length=16), nullable=False, server_default='active')
        )
        batch_op.add_column(sa.Column('status_info', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('users') as batch_op:
        batch_op.drop_column('status_info')
        batch_op.drop_column('status')
