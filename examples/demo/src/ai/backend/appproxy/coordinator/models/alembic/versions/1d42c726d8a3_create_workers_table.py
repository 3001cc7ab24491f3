"""create workers table

Revision ID: 1d42c726d8a3
Revises: 
Create Date: 2024-06-11 15:40:26.664318

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '1d42c726d8a3'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'workers',
        sa.Column('id', sa.String(length=36), primary_key=True),
        sa.Column('authority', sa.String(length=128), nullable=False),
        sa.Column('frontend_mode', sa.String(length=16), nullable=False, server_default='port'),
        sa.Column('protocol', sa.String(length=16), nullable=False, server_default='http'),
        sa.Column('hostname', sa.String(length=256), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.UniqueConstraint('authority', name='uq_workers_authority'),
    )


def downgrade():
    op.drop_table('workers')
