#!/usr/bin/env bash
# Benchmark: what db-migrate verify adds over running the same steps by hand.
#
#   bench/verify.sh            # builds release, starts a throwaway PostgreSQL, prints the overhead
#   RUNS=10 bench/verify.sh    # more paired runs (default 6)
#
# Makes the 556-revision Backend.AI-shaped workspace, migrates the manager database to head once,
# and makes it a git repository whose newest manager revision is committed on a branch off main,
# so `--base main` leaves exactly one revision new. Then, with the manager database at head:
#   A  by hand: a copy of alembic.ini pointed at a scratch database; `alembic current` against it
#      before it exists (the probe); CREATE DATABASE … TEMPLATE; downgrade to the new revision's
#      parent; pg_dump --schema-only, upgrade, pg_dump, downgrade, pg_dump, upgrade, pg_dump;
#      `alembic check` (the stand-in for the drift check: the workspace's env.py has no
#      target_metadata, so it ends after env.py loads, as db-migrate's comparison does);
#      DROP DATABASE … WITH (FORCE)
#   B  db-migrate verify --base main
# Both use the server's own pg_dump (DB_MIGRATE_PG_DUMP for B): on Debian the one on PATH is
# pg_wrapper, a Perl script that adds some 35 ms to every call. A's psql and pg_dump use the
# socket; B connects as its URL says (TCP, SCRAM). Prints each median and the median of the paired
# ratios B/A, minus 1. No target: the figure is for comparison over time.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

# common.sh builds with `cargo build --release`; keep its binary where CARGO_TARGET_DIR says.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target}
source bench/common.sh
bin=$CARGO_TARGET_DIR/release/db-migrate
export DB_MIGRATE_PG_DUMP=$pgbin/pg_dump
sql() { "$pgbin/psql" -q -X -v ON_ERROR_STOP=1 -h "$work/pg" -p "$port" -U postgres -d postgres "$@"; }

ws=$work/ws556
db=ws556_manager
python3 bench/make_workspace.py "$ws" 556 "$venv/bin/python" "$url"
sql -c "CREATE DATABASE $db" >/dev/null

# The newest manager revision, its file and its parent.
rev=$(cd "$ws" && ./py -m alembic -c alembic.ini heads 2>/dev/null | awk '{print $1}')
if [[ -z $rev || $rev == *$'\n'* ]]; then echo "bench: expected one manager head, got: $rev" >&2; exit 1; fi
file=$(grep -l "^Revision ID: $rev\$" "$ws"/src/ai/backend/manager/models/alembic/versions/*.py)
parent=$(sed -n 's/^down_revision: .* = "\([^"]*\)"$/\1/p' "$file")
if [[ -z $parent ]]; then echo "bench: no single parent in $file" >&2; exit 1; fi

# Everything but the newest revision on main, the newest on a branch: one revision new.
git_ws() { git -C "$ws" -c user.name=bench -c user.email=bench@localhost "$@"; }
git_ws init -q -b main
printf '__pycache__/\n.db-migrate/\n' >>"$ws/.git/info/exclude"
git_ws add -A
git_ws rm -q --cached "$file"
git_ws commit -q -m "history without $rev"
git_ws checkout -q -b new-revision
git_ws add "$file"
git_ws commit -q -m "$rev"

(cd "$ws" && ./py -m alembic -c alembic.ini upgrade head 2>/dev/null)

# A, as a script: the scratch database's name is its first argument.
cat >"$work/by-hand.sh" <<'SH'
set -euo pipefail
scratch=$1 db=$2 rev=$3 parent=$4 sock=$5 port=$6 pgbin=$7
ini=$(mktemp "$PWD/.verify-by-hand-XXXXXX.ini")
trap 'rm -f "$ini"' EXIT
sed "s|^\(sqlalchemy\.url = .*/\)$db\$|\1$scratch|" alembic.ini >"$ini"
grep -q "/$scratch\$" "$ini"
alembic() { ./py -m alembic -c "$ini" "$@"; }
sql() { "$pgbin/psql" -q -X -v ON_ERROR_STOP=1 -h "$sock" -p "$port" -U postgres -d postgres -c "$1"; }
dump() { "$pgbin/pg_dump" -h "$sock" -p "$port" -U postgres --schema-only --exclude-table=alembic_version "$scratch" >/dev/null; }
alembic current || true  # the probe: the database does not exist yet
sql "CREATE DATABASE \"$scratch\" TEMPLATE \"$db\""
alembic downgrade "$parent"
dump
alembic upgrade "$rev"
dump
alembic downgrade "$parent"
dump
alembic upgrade "$rev"
dump
alembic check || true  # no target_metadata: fails once env.py has run, like the drift check
sql "DROP DATABASE \"$scratch\" WITH (FORCE)"
SH

# Once, untimed: both must work, and verify must prove exactly the one new revision.
status=0
out=$(cd "$ws" && bash "$work/by-hand.sh" "${db}_verify_check0" "$db" "$rev" "$parent" "$work/pg" "$port" "$pgbin" 2>&1) || status=$?
if ((status != 0)); then
  echo "bench: the by-hand sequence exited $status:" >&2
  echo "$out" >&2
  exit 1
fi
out=$(cd "$ws" && "$bin" verify --base main 2>&1) || status=$?
if ((status != 0)); then
  echo "bench: db-migrate verify --base main exited $status:" >&2
  echo "$out" >&2
  exit 1
fi
if ! grep -q '1 revision to prove' <<<"$out"; then
  echo "bench: db-migrate verify did not plan exactly one revision:" >&2
  echo "$out" >&2
  exit 1
fi
echo "db-migrate verify --base main (manager at $rev, one new revision over $parent):"
sed 's/^/  | /' <<<"$out"

# Interleaved in ABBA order (bench/paired.py); the overhead is the median of the paired ratios.
python3 - "$ws" "$bin" "$work/by-hand.sh" "$db" "$rev" "$parent" "$work/pg" "$port" "$pgbin" "${RUNS:-6}" <<'PY'
import secrets, string, sys
sys.path.insert(0, "bench")
from paired import overhead
ws, binary, by_hand, db, rev, parent, sock, port, pgbin, runs = sys.argv[1:10] + [int(sys.argv[10])]
def scratch():
    return f"{db}_verify_" + "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(6))
commands = {
    "by hand": lambda: ["bash", by_hand, scratch(), db, rev, parent, sock, port, pgbin],
    "db-migrate verify": lambda: [binary, "verify", "--base", "main"],
}
result = overhead(commands, runs, ws, width=20)
print(f"  db-migrate verify over the same steps by hand: {result*100:+.2f} %   (556 revisions, one new, median of {runs} paired runs)")
PY

# Nothing may be left behind: every scratch database is dropped by whichever made it.
left=$(sql -At -c "SELECT datname FROM pg_database WHERE datname LIKE '${db}\_verify\_%' ORDER BY 1")
echo
if [[ -n $left ]]; then
  echo "  scratch databases left behind: $(tr '\n' ' ' <<<"$left")"
  exit 1
fi
echo "  scratch databases left behind: none"
