"""add email column to users

Revision ID: 7h4m7ygnaao1
Revises: f3a6b4c2d1e8
Create Date: 2024-04-18 09:02:44.103915

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7h4m7ygnaao1'
down_revision = 'f3a6b4c2d1e8'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users') as batch_op:
        batch_op.add_column(sa.Column('email', sa.String(length=64), nullable=True))
        batch_op.create_index('ix_users_email', ['email'], unique=True)


def downgrade():
    with op.batch_alter_table('users') as batch_op:
        batch_op.drop_index('ix_users_email')
        batch_op.drop_column('email')
