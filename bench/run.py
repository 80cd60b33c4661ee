#!/usr/bin/env python3
"""Time meshlint's release binary on the shared corpus and on generated trees.

    python3 bench/run.py            build, generate what is missing, time, print a table
    python3 bench/run.py --write    ... and rewrite the results section of BENCHMARKS.md

Every case runs once to warm up (page cache, binary), then --runs times (default 10);
check and parse-only runs of one tree alternate, so that drift on the machine hits both.
The figure kept is the median wall time of `subprocess.run`, measured with
`time.perf_counter`, stdout sent to /dev/null. Throughput is files and bytes (MB = 10^6
bytes) of the manifest files the tool reads (`*.yaml`, `*.yml`, `*.json`, hidden entries
skipped) divided by that median.

Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import re
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GEN = ROOT / "bench" / "gen.py"
BENCH_DIR = ROOT / "target" / "bench"
BUILT = ROOT / "target" / "release" / "meshlint"
# The binary timed: a copy, so that a build running meanwhile cannot swap it mid-run.
BINARY = ROOT / "target" / "bench" / "meshlint"
DOC = ROOT / "BENCHMARKS.md"
BEGIN = "<!-- bench:results:begin -->"
END = "<!-- bench:results:end -->"

CORPUS_TARGET_MS = 45.0
# check within 1.1x of parse-only (issue 15): parse-only median / check median.
RATIO_TARGET = 1 / 1.1
PRECOMMIT_TARGET_MS = 15.0
EXTENSIONS = {".yaml", ".yml", ".json"}
# A run during which other processes kept more than this many CPUs busy is redone.
DISTURBED_CPUS = 0.5
CLK_TCK = os.sysconf("SC_CLK_TCK")

# Generated trees: directory name under target/bench/ and gen.py arguments.
TREES = {
    "files-4000": ["--files", "4000"],
    "files-10000": ["--files", "10000"],
    "scale-500": ["--scale", "500"],
    "scale-5000": ["--scale", "5000"],
    "scale-50000": ["--scale", "50000"],
}


def rel(p: Path) -> str:
    return os.path.relpath(p, ROOT)


# --------------------------------------------------------------------------------------
# Preparation
# --------------------------------------------------------------------------------------


def build() -> None:
    print("+ cargo build --release", file=sys.stderr)
    subprocess.run(["cargo", "build", "--release"], cwd=ROOT, check=True)


def stage_binary() -> str:
    """Copy the release binary to target/bench/; return its short sha256."""
    if not BUILT.exists():
        sys.exit(f"run.py: {rel(BUILT)} is missing; run without --no-build")
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    tmp = BINARY.with_suffix(".tmp")
    shutil.copy2(BUILT, tmp)
    tmp.replace(BINARY)
    return hashlib.sha256(BINARY.read_bytes()).hexdigest()[:12]


def busy_seconds() -> float:
    """CPU-seconds the whole machine has spent busy since boot (/proc/stat)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = v[:8]
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


def other_load(seconds: float = 1.0) -> float:
    """CPUs kept busy by everything else, sampled over SECONDS while we sleep."""
    b0, t0 = busy_seconds(), time.perf_counter()
    time.sleep(seconds)
    return (busy_seconds() - b0) / (time.perf_counter() - t0)


def wait_quiet(max_wait: float, quiet_for: int = 3) -> float:
    """Wait (up to MAX_WAIT s) until other processes have used under DISTURBED_CPUS / 2
    for QUIET_FOR consecutive seconds; return the highest load of those seconds."""
    deadline = time.monotonic() + max_wait
    told = False
    while True:
        loads = []
        for _ in range(quiet_for):
            loads.append(other_load())
            if loads[-1] > DISTURBED_CPUS / 2:
                break
        if max(loads) <= DISTURBED_CPUS / 2 or time.monotonic() >= deadline:
            return max(loads)
        if not told:
            print(f"+ machine busy ({max(loads):.2f} CPUs used by other processes), "
                  "waiting", file=sys.stderr)
            told = True
        time.sleep(5)


def ensure_tree(name: str, args: list[str]) -> Path:
    """Generate target/bench/NAME unless a tree from the same gen.py and args is there."""
    out = BENCH_DIR / name
    stamp = BENCH_DIR / f"{name}.stamp"
    want = hashlib.sha256(GEN.read_bytes() + repr(args).encode()).hexdigest()
    if out.is_dir() and stamp.exists() and stamp.read_text().strip() == want:
        return out
    print(f"+ python3 bench/gen.py {rel(out)} {' '.join(args)}", file=sys.stderr)
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    stamp.unlink(missing_ok=True)
    subprocess.run([sys.executable, str(GEN), str(out), *args], cwd=ROOT, check=True)
    stamp.write_text(want + "\n")
    return out


def first_manifest(tree: Path) -> str:
    """The first manifest file of a tree, in name order, relative to the repository."""
    for dirpath, dirnames, filenames in sorted(os.walk(tree)):
        dirnames.sort()
        for f in sorted(filenames):
            if not f.startswith(".") and Path(f).suffix in EXTENSIONS:
                return rel(Path(dirpath) / f)
    sys.exit(f"run.py: no manifest in {tree}")


def tree_size(path: Path) -> tuple[int, int]:
    """Files and bytes the tool reads under PATH (same filter as the directory walk)."""
    files = size = 0
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for f in filenames:
            if f.startswith(".") or Path(f).suffix not in EXTENSIONS:
                continue
            files += 1
            size += (Path(dirpath) / f).stat().st_size
    return files, size


# --------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------


@dataclass
class Case:
    key: str
    argv: list[str]
    files: int
    size: int
    ok_codes: tuple[int, ...]
    times: list[float] = field(default_factory=list)
    others: list[float] = field(default_factory=list)
    # Peak resident memory, in KB, from one run under /usr/bin/time.
    rss: list[int] = field(default_factory=list)
    redone: int = 0
    # Run before each run, untimed (emptying a cache for a cold run).
    prepare: object = None
    # The name shown for the program (meshlint, or another tool).
    program: str = "meshlint"

    @property
    def command(self) -> str:
        return " ".join([self.program, *map(shlex.quote, self.argv[1:])])

    @property
    def peak_mb(self) -> float:
        return statistics.median(self.rss) / 1024 if self.rss else 0.0

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    def run_once(self) -> tuple[float, float, int]:
        """One run: wall seconds, CPUs that other processes kept busy meanwhile, and
        the child's maxrss (which includes this Python's pages: not reported)."""
        if self.prepare:
            self.prepare()
        # posix_spawn (vfork in glibc): no copy of this Python process is made before
        # the exec. Commands run from ROOT (main() changes there).
        with tempfile.TemporaryFile() as err_file:
            actions = [
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                (os.POSIX_SPAWN_DUP2, err_file.fileno(), 2),
            ]
            b0 = busy_seconds()
            t0 = time.perf_counter()
            pid = os.posix_spawn(self.argv[0], self.argv, os.environ, file_actions=actions)
            _, status, usage = os.wait4(pid, 0)
            dt = time.perf_counter() - t0
            b1 = busy_seconds()
            err_file.seek(0)
            err = err_file.read()
        proc = subprocess.CompletedProcess(self.argv, os.waitstatus_to_exitcode(status))
        if proc.returncode not in self.ok_codes:
            sys.exit(f"run.py: `{self.command}` exited {proc.returncode}:\n"
                     + err.decode(errors="replace"))
        ours = usage.ru_utime + usage.ru_stime
        # /proc/stat counts in ticks: allow one tick per CPU of rounding.
        slack = (os.cpu_count() or 1) / CLK_TCK
        return dt, max(0.0, (b1 - b0 - ours - slack) / dt), usage.ru_maxrss


def make_case(key: str, sub: list[str], path: str) -> Case:
    files, size = tree_size(ROOT / path)
    # check exits 1 when it finds something: that is a result, not a failure.
    ok = (0, 1) if sub[0] == "check" else (0,)
    return Case(key, [str(BINARY), *sub, path], files, size, ok)


def time_group(cases: list[Case], runs: int, max_wait: float) -> None:
    """Warm up each case, then alternate the cases RUNS times. A round during which
    other processes used more than DISTURBED_CPUS is dropped and, once the machine is
    quiet again, redone (at most 3 * RUNS times; after that disturbed rounds count)."""
    for c in cases:
        c.run_once()  # warm-up, not recorded
    budget = 3 * runs
    while len(cases[0].times) < runs:
        results = [c.run_once() for c in cases]
        if any(o > DISTURBED_CPUS for _, o, _ in results) and budget > 0:
            budget -= 1
            cases[0].redone += 1
            wait_quiet(max_wait)
            continue
        for c, (dt, o, _) in zip(cases, results):
            c.times.append(dt)
            c.others.append(o)
    # Peak RSS from one more run each under /usr/bin/time, which forks from a small
    # process: a child of this Python process would count Python's own pages (a fork or
    # vfork starts with the parent's memory, and the kernel keeps that high-water mark
    # across exec).
    for c in cases:
        if c.prepare:
            c.prepare()
        out = subprocess.run(["/usr/bin/time", "-f", "%M", *c.argv], cwd=ROOT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        c.rss.append(int(out.stderr.strip().splitlines()[-1]))


def parse_only_count(path: str) -> str:
    out = subprocess.run([str(BINARY), "parse-only", path], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout.strip()
    return out


# --------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------


def cmd_output(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"


def machine_info(binary_sha: str) -> dict[str, str]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    dirty = cmd_output(["git", "status", "--porcelain", "--", "src", "Cargo.toml",
                        "Cargo.lock"])
    rev = cmd_output(["git", "rev-parse", "--short", "HEAD"])
    return {
        "nproc": cmd_output(["nproc"]),
        "cpu": cpu,
        "rustc": cmd_output(["rustc", "-V"]),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "commit": rev + (", with uncommitted changes under src/" if dirty else ""),
        "binary": binary_sha,
    }


def ms(s: float) -> str:
    return f"{s * 1000:,.1f}"


def row(c: Case, label: str) -> str:
    m = c.median
    return (f"| {label} | `{c.command}` | {c.files:,} | {c.size / 1e6:,.1f} | "
            f"{ms(m)} | {ms(min(c.times))} – {ms(max(c.times))} | {c.peak_mb:,.0f} | "
            f"{c.files / m:,.0f} | {c.size / 1e6 / m:,.1f} |")


def report(cases: dict[str, Case], info: dict[str, str], runs: int, argv: list[str],
           extra: bool, quiet: list[float]) -> tuple[str, bool]:
    L: list[str] = []
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    L.append(f"Run of {now}: `{' '.join(['python3', 'bench/run.py', *argv])}`; median of "
             f"{runs} runs after 1 warm-up, commands run from the repository root, "
             "`meshlint` being `target/release/meshlint` (copied to `target/bench/`).")
    L.append("")
    L.append(f"Machine: {info['nproc']} CPUs (`nproc`), {info['cpu']}, Linux "
             f"{info['kernel']}; {info['rustc']}; Python {info['python']}. meshlint at "
             f"commit {info['commit']} (binary sha256 {info['binary']}).")
    allc = list(cases.values())
    others = [o for c in allc for o in c.others]
    redone = sum(c.redone for c in allc)
    L.append(f"Other processes kept {statistics.median(others):.2f} CPUs busy during the "
             f"median run (max {max(others):.2f}; {max(quiet):.2f} at most just before a "
             f"group); {redone} disturbed round(s) (> {DISTURBED_CPUS} CPUs) were dropped "
             "and redone once the machine was quiet.")
    L.append("")
    L.append("| case | command | files | MB | median ms | min – max ms | peak RSS MB | files/s | MB/s |")
    L.append("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    L.append(row(cases["corpus-check"], "corpus, check"))
    L.append(row(cases["corpus-parse"], "corpus, parse-only"))
    for n in (1, 2):
        if f"corpus-kubeconform-{n}" in cases:
            L.append(row(cases[f"corpus-kubeconform-{n}"], f"corpus, kubeconform -n {n}"))
    if extra:
        L.append(row(cases["corpus-json"], "corpus, check (json)"))
    L.append(row(cases["files-check"], "generated 4000 files, check"))
    L.append(row(cases["files-parse"], "generated 4000 files, parse-only"))
    if extra:
        L.append(row(cases["files-json"], "generated 4000 files, check (json)"))
    L.append("")

    corpus = cases["corpus-check"].median * 1000
    corpus_ratio = cases["corpus-check"].median / cases["corpus-parse"].median
    files_ratio = cases["files-check"].median / cases["files-parse"].median
    ok_corpus = corpus <= CORPUS_TARGET_MS
    ok_ratio = corpus_ratio <= 1 / RATIO_TARGET
    L.append("`check` as a multiple of `parse-only` (check median / parse-only median): "
             f"corpus {corpus_ratio:.2f}×, generated tree {files_ratio:.2f}×.")
    if "corpus-kubeconform-1" in cases:
        k1 = cases["corpus-kubeconform-1"].median / cases["corpus-check"].median
        k2 = cases["corpus-kubeconform-2"].median / cases["corpus-check"].median
        L.append(f"kubeconform in the same run: `-n 1` takes {k1:.1f}× the time of meshlint's "
                 f"`check`, `-n 2` {k2:.1f}×.")
    else:
        L.append("kubeconform: not on PATH, so not timed in this run.")
    L.append("")
    L.append("Pre-commit: one named file (`check --format concise FILE`), the repository "
             "read as context: without the context cache (`--no-cache`, as before the "
             "cache), cold (the cache emptied before each run, which then writes it) and "
             "warm.")
    L.append("")
    L.append("| repository | files | no cache ms | cold ms | warm ms | warm peak RSS MB | no cache peak RSS MB |")
    L.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for key, label in (("pre712", "corpus"), ("pre10000", "generated 10,000 files")):
        n, c, w = cases[f"{key}-nocache"], cases[f"{key}-cold"], cases[f"{key}-warm"]
        L.append(f"| {label} | {n.files:,} | {ms(n.median)} | {ms(c.median)} | {ms(w.median)} | "
                 f"{w.peak_mb:,.0f} | {n.peak_mb:,.0f} |")
    warm10k = cases["pre10000-warm"].median * 1000
    cold_ratio = cases["pre10000-cold"].median / cases["pre10000-nocache"].median
    L.append("")
    ok_pre = warm10k <= PRECOMMIT_TARGET_MS
    L.append("| target | measured | result |")
    L.append("| --- | --- | --- |")
    L.append(f"| corpus `check` median at most {CORPUS_TARGET_MS:.0f} ms | {corpus:.1f} ms | "
             f"{'PASS' if ok_corpus else 'FAIL'} |")
    L.append(f"| corpus `check` within {1 / RATIO_TARGET:.1f}× of `parse-only` | "
             f"{corpus_ratio:.2f}× | {'PASS' if ok_ratio else 'FAIL'} |")
    L.append(f"| pre-commit, one file of 10,000, warm cache, at most {PRECOMMIT_TARGET_MS:.0f} ms | "
             f"{warm10k:.1f} ms | {'PASS' if ok_pre else 'FAIL'} |")
    L.append(f"| pre-commit cold no slower than without the cache | {cold_ratio:.2f}× | "
             f"{'PASS' if cold_ratio <= 1.05 else 'FAIL'} |")
    L.append("")

    L.append("Scaling: one namespace, Service i selecting Deployment i, 100 objects per "
             "file (`meshlint check --format concise target/bench/scale-K` and "
             "`meshlint parse-only target/bench/scale-K`, K = 500, 5000, 50000):")
    L.append("")
    L.append("| objects | files | MB | check median ms | µs / object | × previous | check peak RSS MB | "
             "parse-only median ms | parse-only peak RSS MB | check − parse-only ms | (check − parse-only) µs / object |")
    L.append("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    prev = None
    for k in (500, 5000, 50000):
        c, p = cases[f"scale{k}-check"], cases[f"scale{k}-parse"]
        growth = f"{c.median / prev:.1f}×" if prev else "–"
        extra_t = c.median - p.median
        L.append(f"| {2 * k:,} | {c.files:,} | {c.size / 1e6:,.1f} | {ms(c.median)} | "
                 f"{c.median / (2 * k) * 1e6:,.1f} | {growth} | {c.peak_mb:,.0f} | {ms(p.median)} | "
                 f"{p.peak_mb:,.0f} | {ms(extra_t)} | {extra_t / (2 * k) * 1e6:,.1f} |")
        prev = c.median
    return "\n".join(L) + "\n", ok_corpus and ok_ratio and ok_pre


def write_doc(text: str) -> None:
    doc = DOC.read_text()
    if BEGIN not in doc or END not in doc:
        sys.exit(f"run.py: {DOC.name} lacks the markers {BEGIN} / {END}")
    head, rest = doc.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    DOC.write_text(f"{head}{BEGIN}\n{text}{END}{tail}")
    print(f"+ wrote the results section of {DOC.name}", file=sys.stderr)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=10, help="timed runs per case (default 10)")
    ap.add_argument("--no-build", action="store_true", help="skip cargo build --release")
    ap.add_argument("--write", action="store_true",
                    help="rewrite the results section of BENCHMARKS.md")
    ap.add_argument("--extra", action="store_true",
                    help="also time `check --format json` (where does output time go?)")
    ap.add_argument("--max-wait", type=float, default=600,
                    help="seconds to wait, before each group, for other processes to "
                         "go quiet (default 600)")
    args = ap.parse_args()
    if args.runs < 1:
        sys.exit("run.py: --runs must be at least 1")

    os.chdir(ROOT)
    if not args.no_build:
        build()
    sha = stage_binary()
    corpus = os.path.relpath((ROOT / ".." / "shared" / "corpus").resolve(), ROOT)
    if not (ROOT / corpus).is_dir():
        sys.exit(f"run.py: corpus not found at {corpus} (resolved from the repository root)")
    trees = {name: rel(ensure_tree(name, a)) for name, a in TREES.items()}
    info = machine_info(sha)

    # Charts and overlays are read as files: what rendering costs (helm, kubectl) is
    # measured by bench/render.py, and parse-only renders nothing.
    concise = ["check", "--no-render", "--format", "concise"]
    groups: list[list[Case]] = []
    g = [make_case("corpus-check", concise, corpus),
         make_case("corpus-parse", ["parse-only"], corpus)]
    if args.extra:
        g.append(make_case("corpus-json", ["check", "--format", "json"], corpus))
    groups.append(g)
    g = [make_case("files-check", concise, trees["files-4000"]),
         make_case("files-parse", ["parse-only"], trees["files-4000"])]
    if args.extra:
        g.append(make_case("files-json", ["check", "--format", "json"], trees["files-4000"]))
    groups.append(g)
    kubeconform = shutil.which("kubeconform")
    if kubeconform:
        for n in (1, 2):
            kc = Case(f"corpus-kubeconform-{n}", [kubeconform, "-summary", "-n", str(n),
                      "-ignore-missing-schemas", corpus], *tree_size(ROOT / corpus),
                      ok_codes=(0, 1), program="kubeconform")
            groups[0].append(kc)
    for k in (500, 5000, 50000):
        t = trees[f"scale-{k}"]
        groups.append([make_case(f"scale{k}-check", concise, t),
                       make_case(f"scale{k}-parse", ["parse-only"], t)])
    # Pre-commit: one named file, the repository as context.
    for key, context, named in (
        ("pre712", corpus, f"{corpus}/istio__istio/samples/bookinfo/platform/kube/bookinfo.yaml"),
        ("pre10000", trees["files-10000"], first_manifest(ROOT / trees["files-10000"])),
    ):
        cache_dir = BENCH_DIR / "cache" / key
        files, size = tree_size(ROOT / context)
        base = [str(BINARY), "check", "--no-render", "--format", "concise", "--context", context]
        with_cache = [*base, "--cache-dir", str(cache_dir), named]
        groups.append([
            Case(f"{key}-nocache", [*base, "--no-cache", named], files, size, (0, 1)),
            Case(f"{key}-cold", with_cache, files, size, (0, 1),
                 prepare=lambda d=cache_dir: shutil.rmtree(d, ignore_errors=True)),
            Case(f"{key}-warm", with_cache, files, size, (0, 1)),
        ])

    cases: dict[str, Case] = {}
    quiet: list[float] = []
    for g in groups:
        # The tool must see the files we count, or throughput would be wrong.
        tree = g[0].argv[g[0].argv.index("--context") + 1] if "--context" in g[0].argv else g[0].argv[-1]
        seen = parse_only_count(tree)
        m = re.match(r"(\d+) files", seen)
        if not m or int(m.group(1)) != g[0].files:
            sys.exit(f"run.py: parse-only saw `{seen}` in {tree}, "
                     f"the benchmark counted {g[0].files} files")
        quiet.append(wait_quiet(args.max_wait))
        print(f"+ timing {g[0].argv[-1]} ({seen}), {args.runs} runs", file=sys.stderr)
        time_group(g, args.runs, args.max_wait)
        for c in g:
            cases[c.key] = c

    text, ok = report(cases, info, args.runs, sys.argv[1:], args.extra, quiet)
    print(text)
    if args.write:
        write_doc(text)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
