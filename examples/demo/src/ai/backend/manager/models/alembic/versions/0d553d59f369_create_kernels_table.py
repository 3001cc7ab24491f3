"""create kernels table

Revision ID: 0d553d59f369
Revises: 81c264528f20
Create Date: 2025-01-14 10:27:03.905112

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision: str = "0d553d59f369"  # Part of: 25.1.0
down_revision: Union[str, None] = "81c264528f20"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "kernels",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column(
            "session_id",
            sa.String(length=36),
            sa.ForeignKey("sessions.id", name="fk_kernels_session_id_sessions"),
            nullable=False,
        ),
        sa.Column("cluster_role", sa.String(length=16), nullable=False, server_default="main"),
        sa.Column("cluster_idx", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("image", sa.String(length=512), nullable=True),
        sa.Column("agent", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False, server_default="PENDING"),
        sa.Column("occupied_slots", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    )
    op.create_index("ix_kernels_session_id", "kernels", ["session_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_kernels_session_id", table_name="kernels")
    op.drop_table("kernels")
