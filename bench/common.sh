# Shared by the benchmarks (sourced): installs what is missing, builds the release binary, starts a
# throwaway PostgreSQL (SCRAM on loopback, as the halfstack) and a venv with the tests' pinned
# Alembic. Sets: repo, bin, work, port, pw, pgbin, as_pg, venv, url. Cleans up on exit.

need=()
command -v hyperfine >/dev/null || need+=(hyperfine)
[[ -x /usr/bin/time ]] || need+=(time)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need+=(postgresql)
if ((${#need[@]})); then
  if [[ $(id -u) -eq 0 ]]; then apt-get update -qq && apt-get install -y -qq "${need[@]}" >&2
  else echo "bench: install ${need[*]} first" >&2; exit 1; fi
fi

cargo build --release --quiet
bin=$repo/target/release/db-migrate

work=$(mktemp -d /tmp/db-migrate-bench.XXXXXX)
chmod 755 "$work"
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
as_pg=()
if [[ $(id -u) -eq 0 ]]; then as_pg=(runuser -u postgres --); fi
pw=bench-$RANDOM$RANDOM
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$work/pg"
echo "$pw" >"$work/pg/pw"
[[ $(id -u) -eq 0 ]] && chown -R postgres "$work/pg"
cleanup() {
  "${as_pg[@]}" "$pgbin/pg_ctl" -D "$work/pg/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
"${as_pg[@]}" "$pgbin/initdb" -D "$work/pg/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 --pwfile="$work/pg/pw" >/dev/null
"${as_pg[@]}" "$pgbin/pg_ctl" -D "$work/pg/data" -o "-p $port -k $work/pg -c listen_addresses=127.0.0.1 -c fsync=off" -l "$work/pg/log" -w start >/dev/null

# The same pinned Alembic the tests use.
venv=$work/venv
python3 -m venv "$venv"
"$venv/bin/pip" install -q -r tests/python/requirements.txt

url=postgresql+asyncpg://postgres:$pw@127.0.0.1:$port/
