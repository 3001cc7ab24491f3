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

source bench/postgres.sh

# The same pinned Alembic the tests use.
venv=$work/venv
python3 -m venv "$venv"
"$venv/bin/pip" install -q -r tests/python/requirements.txt

url=postgresql+asyncpg://postgres:$pw@127.0.0.1:$port/
