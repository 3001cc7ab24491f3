"""add index on sessions.status

Revision ID: 81c264528f20
Revises: e35332f8d23d
Create Date: 2024-11-08 11:13:52.290576

"""
from typing import Sequence, Union

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "81c264528f20"  # Part of: 24.12.0
down_revision: Union[str, None] = "e35332f8d23d"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_index("ix_sessions_status", "sessions", ["status"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_sessions_status", table_name="sessions")
