"""add app_mode column to circuits

Revision ID: c8d1e2f3a4b5
Revises: 5e6f7a8b9c0d
Create Date: 2025-02-03 12:19:58.846402

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision: str = "c8d1e2f3a4b5"  # Part of: 25.3.0
down_revision: Union[str, None] = "5e6f7a8b9c0d"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("circuits") as batch_op:
        batch_op.add_column(
            sa.Column("app_mode", sa.String(length=16), nullable=False, server_default="interactive")
        )
        batch_op.add_column(sa.Column("endpoint_id", sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("circuits") as batch_op:
        batch_op.drop_column("endpoint_id")
        batch_op.drop_column("app_mode")
