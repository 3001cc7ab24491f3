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

# hyperfine runs all of one command, then all of the other, so a machine that speeds up or slows
# down mid-way (shared VMs do) biases the comparison. Runs are interleaved instead, in ABBA order,
# the database dropped and created before each; the overhead is the median of the paired ratios.
python3 - "$ws" "$bin" "$work/pg" "$port" "${RUNS:-6}" <<'PY'
import statistics, subprocess, sys, time
ws, binary, sock, port, runs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
commands = {
    "alembic upgrade head": ["./py", "-m", "alembic", "-c", "alembic.ini", "upgrade", "head"],
    "db-migrate upgrade": [binary, "upgrade"],
}
def reset():
    for sql in ("DROP DATABASE IF EXISTS ws556_manager", "CREATE DATABASE ws556_manager"):
        subprocess.run(["psql", "-q", "-h", sock, "-p", port, "-U", "postgres", "-c", sql], check=True)
def timed(name):
    reset()
    start = time.perf_counter()
    subprocess.run(commands[name], cwd=ws, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start
a, b = list(commands)
timed(a); timed(b)  # warm-up: page cache, .pyc files
times = {a: [], b: []}
for i in range(runs):
    order = (a, b) if i % 2 == 0 else (b, a)
    for name in order:
        times[name].append(timed(name))
print()
for name, t in times.items():
    print(f"  {name:<22} median {statistics.median(t):7.3f} s   runs {' '.join(f'{x:.2f}' for x in t)}")
ratios = [y / x for x, y in zip(times[a], times[b])]
overhead = statistics.median(ratios) - 1
print()
print(f"  db-migrate upgrade over bare Alembic (556 revisions, base -> head, median of {runs} paired runs)  {overhead*100:+6.2f} %   target <= 5 %   {'ok' if overhead <= 0.05 else 'MISSED'}")
PY
