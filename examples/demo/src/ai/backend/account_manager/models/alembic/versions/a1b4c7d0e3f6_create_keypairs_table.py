"""create keypairs table

Revision ID: a1b4c7d0e3f6
Revises: 3c9a5f0e7d21
Create Date: 2025-01-09 08:54:11.337820

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision: str = "a1b4c7d0e3f6"  # Part of: 25.1.0
down_revision: Union[str, None] = "3c9a5f0e7d21"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "keypairs",
        sa.Column("access_key", sa.String(length=20), primary_key=True),
        sa.Column("secret_key", sa.String(length=40), nullable=False),
        sa.Column(
            "user_id",
            sa.String(length=36),
            sa.ForeignKey("users.id", name="fk_keypairs_user_id_users"),
            nullable=False,
        ),
        sa.Column("is_active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    )
    op.create_index("ix_keypairs_user_id", "keypairs", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_keypairs_user_id", table_name="keypairs")
    op.drop_table("keypairs")
