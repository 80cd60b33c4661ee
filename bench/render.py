#!/usr/bin/env python3
"""The cost of rendering: `meshlint check` of a Helm chart (meshlint runs `helm
template`) against the same check of the chart's output rendered beforehand, and
`helm template` alone, on the rendering fixture and on a generated chart of 60
templates. The same for a kustomize overlay (`kubectl kustomize`).

    python3 bench/render.py [--runs N]

Each case runs once to warm up, then N times (default 10), the cases of one input
alternating. Wall time is the median of `time.perf_counter` around `subprocess.run`;
peak RSS is `/usr/bin/time`'s `%M` of the median run's kind, taken in one extra run
(for a check that renders, the largest of meshlint and the helm or kubectl it waited
for). Python 3.11 standard library only; helm and kubectl from scripts/tools.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BINARY = ROOT / "target" / "release" / "meshlint"


def tools() -> Path:
    out = subprocess.run([str(ROOT / "scripts" / "tools")], check=True, capture_output=True, text=True)
    return Path(out.stdout.strip())


def generated_chart(into: Path, templates: int) -> Path:
    """A chart of `templates` templates, each a Deployment and a Service with values,
    conditionals and a helper, like a chart of many small services."""
    chart = into / "many"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: many\nversion: 0.1.0\n")
    values = ["services:"]
    for i in range(templates):
        values += [f"  s{i}:", "    enabled: true", f"    port: {8000 + i}", "    portName: http"]
    (chart / "values.yaml").write_text("\n".join(values) + "\n")
    (chart / "templates" / "_helpers.tpl").write_text(
        '{{- define "many.labels" -}}\napp: {{ .name }}\nrelease: {{ .Release.Name }}\n{{- end -}}\n'
    )
    for i in range(templates):
        (chart / "templates" / f"s{i}.yaml").write_text(
            f"{{{{- with .Values.services.s{i} }}}}\n{{{{- if .enabled }}}}\n"
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n"
            f"  name: {{{{ $.Release.Name }}}}-s{i}\nspec:\n  selector:\n    matchLabels:\n      app: s{i}\n"
            "  template:\n    metadata:\n      labels:\n"
            f'        {{{{- include "many.labels" (dict "name" "s{i}" "Release" $.Release) | nindent 8 }}}}\n'
            f"    spec:\n      containers:\n        - name: s{i}\n          image: s{i}:1.0\n"
            "          ports:\n            - containerPort: {{ .port }}\n---\n"
            f"apiVersion: v1\nkind: Service\nmetadata:\n  name: {{{{ $.Release.Name }}}}-s{i}\nspec:\n"
            f"  selector:\n    app: s{i}\n  ports:\n    - name: {{{{ .portName }}}}\n      port: {{{{ .port }}}}\n"
            "{{- end }}\n{{- end }}\n"
        )
    return chart


def median_ms(argv: list[str], runs: int, cwd: Path) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def peak_mb(argv: list[str], cwd: Path) -> float:
    out = subprocess.run(["/usr/bin/time", "-f", "%M", *argv], cwd=cwd, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    return int(out.stderr.strip().splitlines()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    subprocess.run(["cargo", "build", "--release", "--locked", "--quiet"], cwd=ROOT, check=True)
    bin_dir = tools()
    helm, kubectl = str(bin_dir / "helm"), str(bin_dir / "kubectl")
    base = [str(BINARY), "check", "--no-context", "--profile", "istio-0.2", "--format", "concise"]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shutil.copytree(ROOT / "fixtures" / "render" / "shop" / "charts" / "shop", work / "shop")
        shutil.copytree(ROOT / "fixtures" / "render" / "kustomize", work / "kustomize")
        generated_chart(work, 60)
        inputs = [
            ("fixture chart (3 templates)", "shop", [helm, "template", "release-name", "shop"], ["--helm", helm]),
            ("generated chart (60 templates)", "many", [helm, "template", "release-name", "many"], ["--helm", helm]),
            ("kustomize overlay (prod)", "kustomize/overlays/prod", [kubectl, "kustomize", "kustomize/overlays/prod"],
             ["--kustomize", kubectl]),
        ]
        print(f"| input | `helm template`/`kubectl kustomize` alone | check, rendering | check of the output "
              f"rendered beforehand | rendering's share |")
        print("| --- | ---: | ---: | ---: | ---: |")
        for label, path, render, flag in inputs:
            rendered = work / f"{path.replace('/', '-')}.rendered.yaml"
            rendered.write_text(subprocess.run(render, cwd=work, check=True, capture_output=True, text=True).stdout)
            cases = {
                "tool": render,
                "render": [*base, *flag, path],
                "pre": [*base, "--no-render", str(rendered)],
            }
            for argv in cases.values():
                median_ms(argv, 1, work)
            ms = {k: [] for k in cases}
            for _ in range(args.runs):
                for k, argv in cases.items():
                    ms[k].append(median_ms(argv, 1, work))
            med = {k: statistics.median(v) for k, v in ms.items()}
            rss = {k: peak_mb(argv, work) for k, argv in cases.items()}
            share = (med["render"] - med["pre"]) / med["render"] * 100
            print(f"| {label} | {med['tool']:.0f} ms, {rss['tool']:.0f} MB | {med['render']:.0f} ms, "
                  f"{rss['render']:.0f} MB | {med['pre']:.0f} ms, {rss['pre']:.0f} MB | {share:.0f}% |")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
