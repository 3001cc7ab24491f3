#!/usr/bin/env bash
# Benchmark for "one Python process per proof": what `verify` and `check`'s lint cost, counted in
# Alembic starts, when every Alembic start pays for an env.py that imports slow models (the real
# manager's take 2.5-3.5 s).
#
#   bench/proof.sh                     # env.py's import takes 2.5 s (IMPORT_SECS)
#   IMPORT_SECS=3 bench/proof.sh
#
# Builds release, starts a throwaway PostgreSQL (bench/common.sh), writes a 60-revision
# Backend.AI-shaped workspace (bench/make_workspace.py) whose env.py imports a module that sleeps
# IMPORT_SECS, and commits it to git with the newest revisions on a branch off main. Then times,
# once each (a start costs seconds; noise is small next to it):
#   S   one `./py -m alembic current` (the unit)
#   V1  db-migrate verify --base main, one new revision
#   V5  db-migrate verify --base main, five new revisions
#   L30 db-migrate check --base main (lint on), thirty new revisions
# and prints each as a multiple of S. Goals (issue 21): V1 <= 2.5 starts, L30 <= 3 starts.
# Fails only when a command fails or proves the wrong number of revisions, never on a figure.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
import_secs=${IMPORT_SECS:-2.5}

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target}
bench_name=proof
source bench/common.sh
bin=$CARGO_TARGET_DIR/release/db-migrate
export DB_MIGRATE_PG_DUMP=$pgbin/pg_dump
sql() { "$pgbin/psql" -q -X -v ON_ERROR_STOP=1 -h "$work/pg" -p "$port" -U postgres -d postgres "$@"; }

ws=$work/ws60
db=ws60_manager
python3 bench/make_workspace.py "$ws" 60 "$venv/bin/python" "$url" >/dev/null
sql -c "CREATE DATABASE $db" >/dev/null
models=$ws/src/ai/backend/manager/models
printf 'import time\n\ntime.sleep(%s)  # stands in for importing the manager models\n' "$import_secs" >"$models/heavy_models.py"
sed -i 's/^config = context.config$/import ai.backend.manager.models.heavy_models  # noqa: F401\n\nconfig = context.config/' "$models/alembic/env.py"
grep -q heavy_models "$models/alembic/env.py"

# The manager's revision files, newest first (make_workspace numbers them: `<id>_manager_change_N.py`).
mapfile -t files < <(cd "$models/alembic/versions" && ls -- *_manager_change_*.py | sort -t_ -k4,4nr)

git_ws() { git -C "$ws" -c user.name=bench -c user.email=bench@localhost "$@"; }
git_ws init -q -b main
printf '__pycache__/\n.db-migrate/\n' >>"$ws/.git/info/exclude"
git_ws add -A
git_ws commit -q -m "every revision"
# A branch `base-K` whose tip lacks the K newest manager revisions: `--base base-K` makes K new.
for k in 1 5 30; do
  git_ws checkout -q -b "base-$k" main
  for ((i = 0; i < k; i++)); do git_ws rm -q "src/ai/backend/manager/models/alembic/versions/${files[$i]}"; done
  git_ws commit -q -m "without the $k newest"
done
git_ws checkout -q main

(cd "$ws" && ./py -m alembic -c alembic.ini upgrade heads >/dev/null 2>&1)

timed() { # prints seconds; the command's output goes to $work/out. ok_status: exit codes accepted
  local start end status=0
  start=$(date +%s.%N)
  (cd "$ws" && "$@") >"$work/out" 2>&1 || status=$?
  end=$(date +%s.%N)
  if [[ " ${ok_status:-0} " != *" $status "* ]]; then
    echo "bench: $* exited $status:" >&2
    cat "$work/out" >&2
    exit 1
  fi
  python3 -c "print(f'{$end - $start:.3f}')"
}
expect() { grep -q "$1" "$work/out" || { echo "bench: expected '$1' in:" >&2; cat "$work/out" >&2; exit 1; }; }

s=$(timed ./py -m alembic -c alembic.ini current)
v1=$(timed "$bin" verify --component manager --base base-1)
expect '1 revision to prove'
v5=$(timed "$bin" verify --component manager --base base-5)
expect '5 revisions to prove'
# Findings (exit 1) are fine here: the workspace is not written to the team's rules.
l30=$(ok_status="0 1" timed "$bin" check --component manager --base base-30 --format json)
python3 - "$work/out" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
c = doc["components"][0]
skipped = [s["rule"] for s in c["skipped"]]
if "squawk" in skipped or "lint" in " ".join(skipped):
    sys.exit(f"bench: check skipped the lint: {c['skipped']}")
PY

echo "proof benchmark: env.py imports for ${import_secs}s; one alembic start = ${s}s"
python3 - "$s" "$v1" "$v5" "$l30" <<'PY'
import sys
s, v1, v5, l30 = map(float, sys.argv[1:])
for name, t, goal in [("verify, 1 new revision", v1, 2.5), ("verify, 5 new revisions", v5, None), ("check with lint, 30 new", l30, 3.0)]:
    g = f"goal <= {goal} starts: {'met' if t / s <= goal else 'not met'}" if goal else ""
    print(f"  {name:<26} {t:7.2f} s  {t / s:6.2f} starts   {g}")
PY
