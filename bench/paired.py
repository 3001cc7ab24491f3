"""Paired timing for the benchmarks that compare db-migrate with the same work done without it.

hyperfine runs all of one command, then all of the other, so a machine that speeds up or slows
down mid-way (shared VMs do) biases the comparison. Here the two run interleaved in ABBA order,
after one warm-up each (page cache, .pyc files), and the overhead is the median of the paired
ratios B/A, minus 1.
"""
import statistics
import subprocess
import time


def overhead(commands, runs, cwd, before=lambda: None, width=22):
    """`commands`: {name: () -> argv}, A then B. `before()` runs ahead of every timed run
    (untimed). Prints each command's median and runs; returns the median of B/A, minus 1."""
    def timed(name):
        before()
        argv = commands[name]()
        start = time.perf_counter()
        subprocess.run(argv, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.perf_counter() - start

    a, b = list(commands)
    timed(a)
    timed(b)
    times = {a: [], b: []}
    for i in range(runs):
        for name in (a, b) if i % 2 == 0 else (b, a):
            times[name].append(timed(name))
    print()
    for name, t in times.items():
        print(f"  {name:<{width}} median {statistics.median(t):7.3f} s   runs {' '.join(f'{x:.2f}' for x in t)}")
    print()
    return statistics.median([y / x for x, y in zip(times[a], times[b])]) - 1
