"""Timing driver for bench/worker.sh: the same Alembic calls made as separate
`./py -m alembic` starts and through one db-migrate worker (src/alembic/worker.py).

usage: worker_client.py ROOT WORKER_PY DRIFT_PY N REV_A REV_B

ROOT's alembic.ini names a database at REV_A; REV_B is REV_A's child. Prints, in seconds and as
multiples of one `alembic current` start: one start, N upgrade+downgrade round trips REV_A -> REV_B
-> REV_A as 2N starts, and the same 2N calls through one worker (its start and exit included);
then verify's steps for one revision (current, upgrade, downgrade, upgrade, the drift script) as
five starts and through one worker.
Each answer is checked (exit 0 and the expected `Running upgrade` line), so a fast wrong run
cannot pass for a fast one.
"""
import json
import os
import statistics
import subprocess
import sys
import time

DONE = "@@db-migrate-worker-done "


def alembic(root, *args):
    out = subprocess.run(
        ["./py", "-m", "alembic", "-c", "alembic.ini", *args],
        cwd=root, stdin=subprocess.DEVNULL, capture_output=True, text=True,
    )
    if out.returncode != 0:
        sys.exit(f"bench: alembic {' '.join(args)} failed:\n{out.stdout}{out.stderr}")
    return out


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def by_starts(root, n, a, b):
    for _ in range(n):
        up = alembic(root, "upgrade", b)
        assert f"Running upgrade {a} -> {b}" in up.stderr, up.stderr
        down = alembic(root, "downgrade", a)
        assert f"Running downgrade {b} -> {a}" in down.stderr, down.stderr


def by_worker(root, script, n, a, b):
    worker = subprocess.Popen(
        ["./py", "-c", script], cwd=root, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )

    def call(request_id, op, target, expect):
        worker.stdin.write(json.dumps({"id": request_id, "op": op, "ini": "alembic.ini", "target": target}) + "\n")
        worker.stdin.flush()
        for line in worker.stdout:
            if line.startswith(DONE):
                done = json.loads(line[len(DONE):])
                assert done["exit"] == 0 and any(expect in l for l in done["stderr"]), done
                return
        sys.exit("bench: the worker ended without answering")

    for i in range(n):
        call(2 * i, "upgrade", b, f"Running upgrade {a} -> {b}")
        call(2 * i + 1, "downgrade", a, f"Running downgrade {b} -> {a}")
    worker.stdin.close()
    if worker.wait() != 0:
        sys.exit("bench: the worker did not exit 0 on EOF")


def script_run(root, script, *args):
    out = subprocess.run(
        ["./py", "-c", script, *args], cwd=root, stdin=subprocess.DEVNULL, capture_output=True, text=True,
    )
    if out.returncode != 0 or "@@db-migrate-drift" not in out.stdout:
        sys.exit(f"bench: the drift script failed:\n{out.stdout}{out.stderr}")


def verify_by_starts(root, drift, a, b):
    alembic(root, "current")
    alembic(root, "upgrade", b)
    alembic(root, "downgrade", a)
    alembic(root, "upgrade", b)
    script_run(root, drift, "alembic.ini")
    alembic(root, "downgrade", a)  # untimed in spirit: puts the database back (one more start)


def verify_by_worker(root, script, drift, a, b):
    worker = subprocess.Popen(
        ["./py", "-c", script], cwd=root, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )
    requests = [
        {"op": "current", "ini": "alembic.ini"},
        {"op": "upgrade", "ini": "alembic.ini", "target": b},
        {"op": "downgrade", "ini": "alembic.ini", "target": a},
        {"op": "upgrade", "ini": "alembic.ini", "target": b},
        {"op": "python", "script": drift, "args": ["alembic.ini"]},
        {"op": "downgrade", "ini": "alembic.ini", "target": a},
    ]
    for i, request in enumerate(requests):
        worker.stdin.write(json.dumps(dict(request, id=i)) + "\n")
        worker.stdin.flush()
        for line in worker.stdout:
            if line.startswith(DONE):
                done = json.loads(line[len(DONE):])
                assert done["exit"] == 0, done
                break
        else:
            sys.exit("bench: the worker ended without answering")
    worker.stdin.close()
    worker.wait()


def main():
    root, worker_py, drift_py = sys.argv[1], sys.argv[2], sys.argv[3]
    n, a, b = int(sys.argv[4]), sys.argv[5], sys.argv[6]
    script = open(worker_py).read()
    drift = open(drift_py).read()
    alembic(root, "current")  # warm-up: page cache, .pyc files
    one = statistics.median(timed(lambda: alembic(root, "current")) for _ in range(3))
    starts = timed(lambda: by_starts(root, n, a, b))
    worker = timed(lambda: by_worker(root, script, n, a, b))
    print(f"  one `alembic current`                        {one:7.2f} s   1.00 starts")
    print(f"  {n} upgrade+downgrade, {2 * n} `python -m alembic` {starts:7.2f} s  {starts / one:5.2f} starts")
    print(f"  {n} upgrade+downgrade, one worker             {worker:7.2f} s  {worker / one:5.2f} starts")
    print(f"  worker / separate starts                           {worker / starts:5.2f}")
    v_starts = timed(lambda: verify_by_starts(root, drift, a, b))
    v_worker = timed(lambda: verify_by_worker(root, script, drift, a, b))
    print(f"  verify's steps + reset, 6 starts              {v_starts:7.2f} s  {v_starts / one:5.2f} starts")
    print(f"  verify's steps + reset, one worker            {v_worker:7.2f} s  {v_worker / one:5.2f} starts")


if __name__ == "__main__":
    main()
