"""create sessions table

Revision ID: e35332f8d23d
Revises: 7h4m7ygnaao1
Create Date: 2024-07-22 16:45:30.772014

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e35332f8d23d'
down_revision = '7h4m7ygnaao1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'sessions',
        sa.Column('id', sa.String(length=36), primary_key=True),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('session_type', sa.String(length=16), nullable=False, server_default='interactive'),
        sa.Column('status', sa.String(length=32), nullable=False, server_default='PENDING'),
        sa.Column('user_uuid', sa.String(length=36), sa.ForeignKey('users.uuid', name='fk_sessions_user_uuid_users'), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.Column('terminated_at', sa.DateTime(timezone=True), nullable=True),
    )


def downgrade():
    op.drop_table('sessions')
