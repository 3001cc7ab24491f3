# Sourced by the benchmarks: a throwaway PostgreSQL (SCRAM on loopback, as the halfstack) in a
# fresh work folder, stopped and removed on exit. Sets: work, pgbin, as_pg, pw, port.
# `bench_name` (optional) names the work folder.

work=$(mktemp -d "/tmp/db-migrate-bench${bench_name:+-$bench_name}.XXXXXX")
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
