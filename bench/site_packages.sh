#!/usr/bin/env bash
# Benchmark: `status` when the migration scripts are installed into site-packages (a wheel or an
# editable install) instead of living under the checkout.
#
#   bench/site_packages.sh     # builds release, starts a throwaway PostgreSQL, prints the ratio
#
# Makes the 556-revision workspace, moves the models packages into a venv's site-packages and
# points ./py at that venv (no PYTHONPATH=src), then measures with hyperfine:
#   A  db-migrate status                    (native: the import base is asked once, then cached)
#   B  db-migrate status --engine alembic   (what auto fell back to before)
# and prints B/A, and the first (uncached) run's time.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

source bench/common.sh
ws=$work/ws
python3 bench/make_workspace.py "$ws" 556 "$venv/bin/python" "$url"
for c in manager accountmgr appproxy; do  # make_workspace.py names them <dir>_<component>
  psql -q -h "$work/pg" -p "$port" -U postgres -c "CREATE DATABASE ws_$c" >/dev/null
done

site_venv=$work/site-venv
python3 -m venv --without-pip "$site_venv"
site=$("$site_venv/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
"$venv/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])" >"$site/bench-deps.pth"
mv "$ws/src/ai" "$site/ai"
printf '#!/usr/bin/env bash\nexec "%s" "$@"\n' "$site_venv/bin/python" >"$ws/py"
chmod 755 "$ws/py"
(cd "$ws" && ./py -m alembic -c alembic.ini stamp heads >/dev/null 2>&1)

first=$( { /usr/bin/time -f %e "$bin" -C "$ws" status >/dev/null; } 2>&1 | tail -n 1)
(cd "$ws" && "$bin" status --format json) | python3 -c 'import json,sys; c=json.load(sys.stdin)["components"][0]; print("engine:", c["engine"], "state:", c["state"])'

json=$work/hyperfine.json
hyperfine --warmup 2 --runs 10 --export-json "$json" --style basic \
  -n native-site-packages "cd $ws && $bin status" \
  -n alembic-site-packages "cd $ws && $bin status --engine alembic" >&2

python3 - "$json" "$first" <<'PY'
import json, sys
runs = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
m = lambda k: runs[k]["mean"]
print()
for name in runs:
    print(f"  {name:<24} {m(name)*1000:9.1f} ms ± {runs[name]['stddev']*1000:.1f}")
print(f"  first run (asks the launcher, writes the cache): {float(sys.argv[2])*1000:.0f} ms")
print(f"  alembic / native, scripts in site-packages: {m('alembic-site-packages') / m('native-site-packages'):.0f}x")
PY
