#!/usr/bin/env bash
# Benchmark: native `db-migrate status` against the two Alembic calls people run by hand.
#
#   bench/status.sh            # builds release, starts a throwaway PostgreSQL, prints ratios
#
# Makes a 556-revision and a 10,000-revision Backend.AI-shaped workspace, puts each database a few
# revisions behind head, and measures with hyperfine (from Debian's packages):
#   A  db-migrate status                     (556, manager)
#   B  ./py -m alembic current ; ./py -m alembic heads   (556, manager, one after the other)
#   C  db-migrate status --all               (556)
#   D  db-migrate status                     (10,000, manager)
# and peak RSS of D with /usr/bin/time. Prints B/A, C/A, D/A and RSS against the targets.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

source bench/common.sh
for n in 556 10000; do
  ws=$work/ws$n
  python3 bench/make_workspace.py "$ws" "$n" "$venv/bin/python" "$url"
  for c in manager accountmgr appproxy; do
    psql -q -h "$work/pg" -p "$port" -U postgres -c "CREATE DATABASE ws${n}_$c" >/dev/null
  done
  # Status reads only alembic_version, so stamping (no schema) places each database: the other
  # components at head, the manager three revisions behind.
  (cd "$ws" && for ini in alembic-accountmgr.ini alembic-appproxy.ini; do
     ./py -m alembic -c "$ini" stamp heads >/dev/null 2>&1
   done)
  older=$(cd "$ws" && "$bin" history --format json | python3 -c 'import json,sys; r=json.load(sys.stdin)["components"][0]["revisions"]; print(r[3]["id"])')
  (cd "$ws" && ./py -m alembic -c alembic.ini stamp --purge "$older" >/dev/null 2>&1)
done

(cd "$work/ws556" && "$bin" status) | head -4

# The floor for --all on this machine: three PostgreSQL connections at once against one (psql).
one_psql="PGPASSWORD=$pw psql -X -q -h 127.0.0.1 -p $port -U postgres -c 'SELECT 1' -o /dev/null -d"
json=$work/hyperfine.json
hyperfine --warmup 2 --runs 10 --export-json "$json" --style basic \
  -n native-556 "cd $work/ws556 && $bin status" \
  -n alembic-current+heads-556 "cd $work/ws556 && ./py -m alembic -c alembic.ini current && ./py -m alembic -c alembic.ini heads" \
  -n native-all-556 "cd $work/ws556 && $bin status --all" \
  -n native-10000 "cd $work/ws10000 && $bin status" \
  -n psql-one-connection "$one_psql ws556_manager" \
  -n psql-three-connections "$one_psql ws556_manager & $one_psql ws556_accountmgr & $one_psql ws556_appproxy & wait" >&2

rss_kb=$(cd "$work/ws10000" && /usr/bin/time -f %M "$bin" status 2>&1 >/dev/null | tail -n 1)

python3 - "$json" "$rss_kb" <<'PY'
import json, sys
runs = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
rss_mb = int(sys.argv[2]) / 1024
m = lambda k: runs[k]["mean"]
rows = [
    ("alembic current+heads / native status (556)", m("alembic-current+heads-556") / m("native-556"), ">= 30", lambda v: v >= 30),
    ("status --all / status (556)", m("native-all-556") / m("native-556"), "<= 1.3", lambda v: v <= 1.3),
    ("status 10,000 / status 556", m("native-10000") / m("native-556"), "<= 25", lambda v: v <= 25),
    ("peak RSS, status at 10,000 (MB)", rss_mb, "<= 20", lambda v: v <= 20),
]
extra_all = m("native-all-556") - m("native-556")
extra_psql = m("psql-three-connections") - m("psql-one-connection")
print()
for name in runs:
    print(f"  {name:<28} {m(name)*1000:9.1f} ms ± {runs[name]['stddev']*1000:.1f}")
print()
for label, value, target, ok in rows:
    print(f"  {label:<45} {value:8.2f}   target {target:<7} {'ok' if ok(value) else 'MISSED'}")
print(f"  {'--all adds (ms), for 2 more databases + files':<45} {extra_all*1000:8.1f}   (<= 1.3x needs <= {m('native-556')*300:.1f})")
print(f"  {'2 more PostgreSQL connections add (ms), psql':<45} {extra_psql*1000:8.1f}   (3 psql at once vs 1: the machine's floor)")
PY
