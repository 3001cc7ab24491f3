#!/usr/bin/env python3
"""Write a Backend.AI-shaped workspace with N revisions per component, for the benchmark.

usage: make_workspace.py ROOT N PY_EXE DB_URL_PREFIX
  ROOT           directory to create
  N              revisions in the manager's history (accountmgr and appproxy get N // 10)
  PY_EXE         python of a virtualenv with alembic, SQLAlchemy, asyncpg, greenlet
  DB_URL_PREFIX  e.g. postgresql+asyncpg://postgres:PW@127.0.0.1:PORT/  (database names appended)

The history is mostly linear with a branch-and-merge every 50 revisions, like a long-lived repo;
each file has the modern annotated header and a realistic body of operations.
"""
import os
import stat
import sys

COMPONENTS = [
    ("manager", "alembic.ini", "ai/backend/manager/models", "ai.backend.manager.models:alembic"),
    ("accountmgr", "alembic-accountmgr.ini", "ai/backend/account_manager/models", "ai.backend.account_manager.models:alembic"),
    ("appproxy", "alembic-appproxy.ini", "ai/backend/appproxy/coordinator/models", "ai.backend.appproxy.coordinator.models:alembic"),
]

INI = """[alembic]
script_location = {location}
sqlalchemy.url = {url}

[loggers]
keys = root,sqlalchemy,alembic

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = WARN
handlers = console
qualname =

[logger_sqlalchemy]
level = WARN
handlers =
qualname = sqlalchemy.engine

[logger_alembic]
level = INFO
handlers =
qualname = alembic

[handler_console]
class = StreamHandler
args = (sys.stderr,)
level = NOTSET
formatter = generic

[formatter_generic]
format = %(levelname)-5.5s [%(name)s] %(message)s
datefmt = %H:%M:%S
"""

ENV_PY = '''import asyncio
from logging.config import fileConfig

from alembic import context
from sqlalchemy import pool
from sqlalchemy.ext.asyncio import async_engine_from_config

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name)


def do_run_migrations(connection):
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations():
    engine = async_engine_from_config(config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(do_run_migrations)
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(run_async_migrations())
'''

REVISION = '''"""{message}

Revision ID: {rev}
Revises: {revises}
Create Date: 2025-01-01 00:00:00.000000

"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "{rev}"  # Part of: 25.{minor}.0
down_revision: Union[str, Sequence[str], None] = {down}
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "t_{rev}",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=32), server_default="pending", nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_t_{rev}")),
    )
    op.create_index(op.f("ix_t_{rev}_status"), "t_{rev}", ["status"], unique=False)
    # Data migration: backfill names from an older column, in batches.
    conn = op.get_bind()
    query = sa.text("SELECT 1 WHERE :value = 'x'")
    conn.execute(query, {{"value": "y"}})


def downgrade() -> None:
    op.drop_index(op.f("ix_t_{rev}_status"), table_name="t_{rev}")
    op.drop_table("t_{rev}")
'''


def rev_id(component: str, n: int) -> str:
    # 12 characters, not always hex (like Backend.AI's 7h4m7ygnaao1).
    alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
    x = (n + 1) * 2654435761 + hash_str(component)
    out = ""
    for _ in range(12):
        out = alphabet[x % 36] + out
        x //= 36
    return out


def hash_str(s: str) -> int:
    h = 0
    for ch in s:
        h = (h * 131 + ord(ch)) % (1 << 40)
    return h


def write_component(root, name, ini, package, location, n, url):
    pkg_dir = os.path.join(root, "src", package)
    versions = os.path.join(pkg_dir, "alembic", "versions")
    os.makedirs(versions, exist_ok=True)
    open(os.path.join(pkg_dir, "__init__.py"), "w").close()
    with open(os.path.join(pkg_dir, "alembic", "env.py"), "w") as f:
        f.write(ENV_PY)
    with open(os.path.join(root, ini), "w") as f:
        f.write(INI.format(location=location, url=url))
    ids = [rev_id(name, i) for i in range(n)]
    parents = []
    for i in range(n):
        if i == 0:
            parents.append([])
        elif i % 50 == 2 and i >= 2:
            parents.append([ids[i - 2]])  # a side branch off the revision before last
        elif i % 50 == 3 and i >= 3:
            parents.append([ids[i - 2], ids[i - 1]])  # merge it back
        else:
            parents.append([ids[i - 1]])
    for i, rev in enumerate(ids):
        p = parents[i]
        down = "None" if not p else (repr(p[0]).replace("'", '"') if len(p) == 1 else "(" + ", ".join('"%s"' % x for x in p) + ")")
        text = REVISION.format(message=f"{name} change {i}", rev=rev, revises=", ".join(p), down=down, minor=i % 12)
        with open(os.path.join(versions, f"{rev}_{name}_change_{i}.py"), "w") as f:
            f.write(text)
    return ids


def main():
    root, n, py, url_prefix = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "py"), "w") as f:
        f.write('#!/usr/bin/env bash\nPYTHONPATH="%s/src${PYTHONPATH:+:$PYTHONPATH}" exec "%s" "$@"\n' % (root, py))
    os.chmod(os.path.join(root, "py"), stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    for name, ini, package, location in COMPONENTS:
        count = n if name == "manager" else max(n // 10, 5)
        db = os.path.basename(root.rstrip("/")) + "_" + name
        write_component(root, name, ini, package, location, count, url_prefix + db)


if __name__ == "__main__":
    main()
