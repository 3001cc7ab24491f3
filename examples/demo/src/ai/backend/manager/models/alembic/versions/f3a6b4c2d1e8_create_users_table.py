"""create users table

Revision ID: f3a6b4c2d1e8
Revises: 
Create Date: 2024-03-05 14:21:07.418231

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f3a6b4c2d1e8'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'users',
        sa.Column('uuid', sa.String(length=36), primary_key=True),
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False, server_default='user'),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.UniqueConstraint('username', name='uq_users_username'),
    )


def downgrade():
    op.drop_table('users')
