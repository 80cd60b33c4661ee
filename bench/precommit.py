#!/usr/bin/env python3
"""Time pre-commit runs (one named file, the repository as context) of several meshlint
binaries side by side: without the context cache, cold (the cache folder removed before
each run) and warm.

    python3 bench/precommit.py BINARY [BINARY...] [--runs N]

Trees: the shared corpus (the file named is Bookinfo's manifest) and bench/gen.py's
10,000-file tree (target/bench/files-10000, made by bench/run.py or gen.py; its first
manifest in name order is named). In each round every binary runs every case once, in
turn, so that drift on the machine hits all of them alike. The figure is the median wall
time of `subprocess.run` (stdout to /dev/null), measured with `time.perf_counter`; peak
RSS comes from one more run of each case under `/usr/bin/time -f %M`. Each binary has a
cache folder of its own under target/bench/cache-precommit/.

Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import run as bench  # noqa: E402  (first_manifest, rel)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("binaries", nargs="+", type=Path)
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    corpus = bench.rel((ROOT / ".." / "shared" / "corpus").resolve())
    tree = ROOT / "target" / "bench" / "files-10000"
    if not tree.is_dir():
        sys.exit("precommit.py: target/bench/files-10000 is missing (python3 bench/gen.py --files 10000 target/bench/files-10000)")
    trees = [
        ("corpus", corpus, f"{corpus}/istio__istio/samples/bookinfo/platform/kube/bookinfo.yaml"),
        ("10,000 files", bench.rel(tree), bench.first_manifest(tree)),
    ]
    cases = []
    for b_i, binary in enumerate(args.binaries):
        for label, context, named in trees:
            cache = ROOT / "target" / "bench" / "cache-precommit" / f"{b_i}-{label.replace(',', '').replace(' ', '-')}"
            base = [str(binary), "check", "--no-render", "--format", "concise", "--context", context]
            cases.append((b_i, label, "no cache", [*base, "--no-cache", named], None))
            cases.append((b_i, label, "cold", [*base, "--cache-dir", str(cache), named], cache))
            cases.append((b_i, label, "warm", [*base, "--cache-dir", str(cache), named], None))
    times: dict[int, list[float]] = {i: [] for i in range(len(cases))}
    for rnd in range(args.runs + 1):
        for i, (_, _, _, argv, clear) in enumerate(cases):
            if clear is not None:
                shutil.rmtree(clear, ignore_errors=True)
            start = time.perf_counter()
            done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
            elapsed = time.perf_counter() - start
            if done.returncode not in (0, 1):
                sys.exit(f"precommit.py: {argv} exited {done.returncode}")
            if rnd > 0:  # the first round warms up
                times[i].append(elapsed)
    print(f"median of {args.runs} runs, wall ms (peak RSS MB)\n")
    print("| binary | repository | no cache | cold | warm |")
    print("| --- | --- | ---: | ---: | ---: |")
    for b_i, binary in enumerate(args.binaries):
        for label, _, _ in trees:
            cells = []
            for what in ("no cache", "cold", "warm"):
                i = next(k for k, c in enumerate(cases) if c[0] == b_i and c[1] == label and c[2] == what)
                argv, clear = cases[i][3], cases[i][4]
                if clear is not None:
                    shutil.rmtree(clear, ignore_errors=True)
                rss = subprocess.run(["/usr/bin/time", "-f", "%M", *argv], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True, cwd=ROOT).stderr.strip().splitlines()[-1]
                cells.append(f"{statistics.median(times[i]) * 1000:,.1f} ({int(rss) / 1024:.0f})")
            print(f"| `{binary}` | {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
