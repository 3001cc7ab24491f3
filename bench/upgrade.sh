#!/usr/bin/env bash
# Benchmark: what db-migrate adds to an upgrade, over bare Alembic.
#
#   bench/upgrade.sh           # builds release, starts a throwaway PostgreSQL, prints the overhead
#
# Makes the 556-revision Backend.AI-shaped workspace (every revision creates a table and an index
# and runs a query) and upgrades a fresh manager database from base to head, the database dropped
# and created again before every run:
#   A  ./py -m alembic -c alembic.ini upgrade head
#   B  db-migrate upgrade     (lock, native inspection, plan, step parsing, re-check, final state)
# Prints the median of the paired ratios B/A, minus 1, against the target (<= 5%).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

source bench/common.sh
ws=$work/ws556
python3 bench/make_workspace.py "$ws" 556 "$venv/bin/python" "$url"
for c in manager accountmgr appproxy; do
  psql -q -h "$work/pg" -p "$port" -U postgres -c "CREATE DATABASE ws556_$c" >/dev/null
done

# Interleaved in ABBA order (bench/paired.py), the database dropped and created before each run.
python3 - "$ws" "$bin" "$work/pg" "$port" "${RUNS:-6}" <<'PY'
import subprocess, sys
sys.path.insert(0, "bench")
from paired import overhead
ws, binary, sock, port, runs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
commands = {
    "alembic upgrade head": lambda: ["./py", "-m", "alembic", "-c", "alembic.ini", "upgrade", "head"],
    "db-migrate upgrade": lambda: [binary, "upgrade"],
}
def reset():
    for sql in ("DROP DATABASE IF EXISTS ws556_manager", "CREATE DATABASE ws556_manager"):
        subprocess.run(["psql", "-q", "-h", sock, "-p", port, "-U", "postgres", "-c", sql], check=True)
result = overhead(commands, runs, ws, before=reset)
print(f"  db-migrate upgrade over bare Alembic (556 revisions, base -> head, median of {runs} paired runs)  {result*100:+6.2f} %   target <= 5 %   {'ok' if result <= 0.05 else 'MISSED'}")
PY
