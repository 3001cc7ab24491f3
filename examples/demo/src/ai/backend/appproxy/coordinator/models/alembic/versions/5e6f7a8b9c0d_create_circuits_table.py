"""create circuits table

Revision ID: 5e6f7a8b9c0d
Revises: 1d42c726d8a3
Create Date: 2024-06-11 15:52:03.120977

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5e6f7a8b9c0d'
down_revision = '1d42c726d8a3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'circuits',
        sa.Column('id', sa.String(length=36), primary_key=True),
        sa.Column('app', sa.String(length=64), nullable=False),
        sa.Column('protocol', sa.String(length=16), nullable=False, server_default='http'),
        sa.Column(
            'worker',
            sa.String(length=36),
            sa.ForeignKey('workers.id', name='fk_circuits_worker_workers'),
            nullable=False,
        ),
        sa.Column('port', sa.Integer(), nullable=True),
        sa.Column('session_ids', sa.JSON(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now()),
    )


def downgrade():
    op.drop_table('circuits')
