#!/usr/bin/env bash
# Benchmark: `db-migrate check --no-lint` (the static rules, with the base ref read from git) on
# the 556-revision workspace committed to a git repository, with one new migration on a branch.
#
#   bench/check.sh        # builds release, prints the time against the 60 ms target
#
# No database is involved: check needs none. hyperfine comes from Debian's packages.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
command -v hyperfine >/dev/null || { echo "bench: apt-get install hyperfine" >&2; exit 1; }
cargo build --release --quiet
bin=$repo/target/release/db-migrate
work=$(mktemp -d /tmp/db-migrate-bench-check.XXXXXX)
trap 'rm -rf "$work"' EXIT
ws=$work/ws
python3 bench/make_workspace.py "$ws" 556 python3 "postgresql+asyncpg://u:p@127.0.0.1:1/" >/dev/null
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=b GIT_AUTHOR_EMAIL=b@b GIT_COMMITTER_NAME=b GIT_COMMITTER_EMAIL=b@b
git -C "$ws" init -q -b main
git -C "$ws" add -A && git -C "$ws" commit -q -m released
git -C "$ws" checkout -q -b feature
head=$(cd "$ws" && "$bin" heads --component manager --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["components"][0]["heads"][0])')
versions=$ws/src/ai/backend/manager/models/alembic/versions
cat >"$versions/fe0000000001_add_keypairs.py" <<PY
"""add keypairs

Revision ID: fe0000000001
Revises: $head
Create Date: 2026-11-30 10:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

revision = "fe0000000001"
down_revision = "$head"
# Part of: NEXT_RELEASE_VERSION
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("keypairs", sa.Column("id", sa.Integer(), primary_key=True))


def downgrade():
    op.drop_table("keypairs")
PY
git -C "$ws" add -A && git -C "$ws" commit -q -m "my migration"
(cd "$ws" && "$bin" check --no-lint --component manager) | tail -n 3
json=$work/hyperfine.json
hyperfine --warmup 3 --runs 20 --export-json "$json" --style basic \
  -n check-static-manager "cd $ws && $bin check --no-lint --component manager" \
  -n check-static-all "cd $ws && $bin check --no-lint" >&2
python3 - "$json" <<'PY'
import json, sys
runs = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
for name, r in runs.items():
    ms = r["mean"] * 1000
    print(f"  {name:<22} {ms:7.1f} ms ± {r['stddev']*1000:.1f}   target <= 60 ms (manager, 556 revisions): {'ok' if name != 'check-static-manager' or ms <= 60 else 'MISSED'}")
PY
