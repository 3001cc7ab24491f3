#!/usr/bin/env bash
# Benchmark: N Alembic upgrade+downgrade steps as N separate `python -m alembic` starts against
# the same steps served by one db-migrate worker (src/alembic/worker.py), then verify's steps for
# one revision (current, upgrade, downgrade, upgrade, the drift script, and a downgrade to put the
# database back) both ways. Prints multiples of one `alembic current` start; never fails on a
# figure (a wrong answer does fail it).
#
#   bench/worker.sh                         # N=5, env.py's import takes 2.5 s
#   N=10 IMPORT_SECS=3 bench/worker.sh
#
# Makes a small Backend.AI-shaped workspace (bench/make_workspace.py) whose env.py imports a
# module that takes IMPORT_SECS to import, standing in for the manager's models (2.5-3.5 s on the
# real tree, issue 21). Needs no db-migrate binary, so unlike bench/common.sh it builds nothing:
# it starts a throwaway PostgreSQL (bench/postgres.sh) and uses the tests' venv when it exists (else makes one).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
n=${N:-5}
import_secs=${IMPORT_SECS:-2.5}

bench_name=worker
source bench/postgres.sh

venv=$(ls -d "$repo"/target/test-venv-*/ 2>/dev/null | grep -v partial | head -n 1 || true)
if [[ -z $venv ]]; then
  venv=$work/venv
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r tests/python/requirements.txt
fi
venv=${venv%/}

ws=$work/wsw
python3 bench/make_workspace.py "$ws" 10 "$venv/bin/python" "postgresql+asyncpg://postgres:$pw@127.0.0.1:$port/"
"$pgbin/psql" -q -X -h "$work/pg" -p "$port" -U postgres -d postgres -c "CREATE DATABASE wsw_manager" >/dev/null

# The models' import time, paid by every Alembic start.
models=$ws/src/ai/backend/manager/models
printf 'import time\n\ntime.sleep(%s)  # stands in for importing the manager models\n' "$import_secs" >"$models/heavy_models.py"
sed -i 's/^config = context.config$/import ai.backend.manager.models.heavy_models  # noqa: F401\n\nconfig = context.config/' "$models/alembic/env.py"
grep -q heavy_models "$models/alembic/env.py"

# A round trip between the two newest revisions (the chain is linear at its end).
revs=$(cd "$ws" && ./py -m alembic -c alembic.ini history 2>/dev/null | head -n 1)
b=$(awk '{print $3}' <<<"$revs")
a=$(awk '{print $1}' <<<"$revs")
(cd "$ws" && ./py -m alembic -c alembic.ini upgrade "$a" >/dev/null 2>&1)

echo "worker benchmark: env.py imports for ${import_secs}s, $n round trips $a <-> $b"
"$venv/bin/python" bench/worker_client.py "$ws" src/alembic/worker.py src/verify/drift.py "$n" "$a" "$b"
