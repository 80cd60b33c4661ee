#!/usr/bin/env python3
"""Time the whole-repository cases (`check` and `parse-only` over the shared corpus) of
several meshlint binaries side by side, to measure a change against the build before it
in the same run (this VM's speed moves by tens of percent from hour to hour; ratios made
in one run hold, absolute figures of two runs do not compare).

    python3 bench/compare.py BINARY [BINARY...] [--runs N] [--tree PATH]

In each round every binary runs every case once, in turn. Reported per case: the median
wall time (`time.perf_counter` around `subprocess.run`, stdout to /dev/null), the median
CPU time of the run (user + system, from the children's resource usage: steadier than
wall time on a shared machine, and what a change to the per-file work moves), and peak
RSS from one more run under `/usr/bin/time -f %M`. `check` runs with `--no-render`, as in
bench/run.py.

Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import run as bench  # noqa: E402  (rel)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("binaries", nargs="+", type=Path)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--tree", default=None, help="the tree to read (default: ../shared/corpus)")
    args = ap.parse_args()
    tree = args.tree or bench.rel((ROOT / ".." / "shared" / "corpus").resolve())
    cases = []
    for b_i, binary in enumerate(args.binaries):
        cases.append((b_i, "check", [str(binary), "check", "--no-render", "--format", "concise", tree]))
        cases.append((b_i, "parse-only", [str(binary), "parse-only", tree]))
    wall: dict[int, list[float]] = {i: [] for i in range(len(cases))}
    cpu: dict[int, list[float]] = {i: [] for i in range(len(cases))}
    for rnd in range(args.runs + 1):
        for i, (_, _, argv) in enumerate(cases):
            before = children_cpu()
            start = time.perf_counter()
            done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
            elapsed = time.perf_counter() - start
            used = children_cpu() - before
            if done.returncode not in (0, 1):
                sys.exit(f"compare.py: {argv} exited {done.returncode}")
            if rnd > 0:  # the first round warms up
                wall[i].append(elapsed)
                cpu[i].append(used)
    print(f"{tree}: median of {args.runs} runs\n")
    print("| binary | case | wall ms | CPU ms | peak RSS MB | check / parse-only (wall) |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for i, (b_i, name, argv) in enumerate(cases):
        rss = subprocess.run(["/usr/bin/time", "-f", "%M", *argv], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True, cwd=ROOT).stderr.strip().splitlines()[-1]
        ratio = ""
        if name == "check":
            ratio = f"{statistics.median(wall[i]) / statistics.median(wall[i + 1]):.2f}×"
        print(f"| `{args.binaries[b_i]}` | {name} | {statistics.median(wall[i]) * 1000:,.1f} | "
              f"{statistics.median(cpu[i]) * 1000:,.1f} | {int(rss) / 1024:.0f} | {ratio} |")


if __name__ == "__main__":
    main()
