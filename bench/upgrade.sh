#!/usr/bin/env bash
# Benchmark: what db-migrate adds to an upgrade, over bare Alembic.
#
#   bench/upgrade.sh           # builds release, starts a throwaway PostgreSQL, prints the overhead
#
# Makes the 556-revision Backend.AI-shaped workspace (every revision creates a table and an index
# and runs a query) and upgrades a fresh manager database from base to head, the database dropped
# and created again before every run (hyperfine --prepare):
#   A  ./py -m alembic -c alembic.ini upgrade head
#   B  db-migrate upgrade     (lock, native inspection, plan, step parsing, re-check, final state)
# Prints B/A - 1 against the target (<= 5%).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

source bench/common.sh
ws=$work/ws556
python3 bench/make_workspace.py "$ws" 556 "$venv/bin/python" "$url"
for c in manager accountmgr appproxy; do
  psql -q -h "$work/pg" -p "$port" -U postgres -c "CREATE DATABASE ws556_$c" >/dev/null
done
reset="psql -q -h $work/pg -p $port -U postgres -c 'DROP DATABASE IF EXISTS ws556_manager' -c 'CREATE DATABASE ws556_manager'"

json=$work/hyperfine.json
hyperfine --warmup 1 --runs "${RUNS:-4}" --prepare "$reset" --export-json "$json" --style basic \
  -n alembic-upgrade "cd $ws && ./py -m alembic -c alembic.ini upgrade head" \
  -n db-migrate-upgrade "cd $ws && $bin upgrade" >&2

python3 - "$json" <<'PY'
import json, sys
runs = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
a, b = runs["alembic-upgrade"], runs["db-migrate-upgrade"]
overhead = b["mean"] / a["mean"] - 1
print()
for r in (a, b):
    print(f"  {r['command']:<20} {r['mean']:8.3f} s ± {r['stddev']:.3f}  (median {r['median']:.3f} s)")
print()
print(f"  db-migrate upgrade over bare Alembic (556 revisions, base -> head)  {overhead*100:+6.2f} %   target <= 5 %   {'ok' if overhead <= 0.05 else 'MISSED'}")
PY
