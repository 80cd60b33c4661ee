#!/usr/bin/env python3
"""Generate single large manifest files for meshlint's memory and long-line benchmarks,
and measure peak memory and time on them.

  big.py OUT             writes into directory OUT:
    list-2.7mb.json        a `v1` List of Deployments and ConfigMaps, pretty-printed
                           JSON (as `kubectl get -o json` prints it), about 2.7 MB
    list-2.7mb.min.json    the same List minified onto one line
    stream-60mb.yaml       about 60 MB of block-style YAML, one Deployment, Service or
                           ConfigMap per document
    flow-20mb.yaml         about 20 MB of flow-style YAML documents (`{...}` on a few
                           lines per object)
    line-N.json            a List of N Services minified on one line, each with an
                           unnamed port (N findings on one line; N = 40000, 80000)
    suppressed-N.yaml      N Services with unnamed ports, all but every 1000th suppressed
                           by a comment or an annotation (N = 20000, 40000)

  big.py OUT --measure BINARY...
                         also run `BINARY check --format concise FILE` on each file (and
                         `check` in the human format on the memory cases), 3 times
                         each, under `/usr/bin/time -f '%e %M'`, and print a Markdown table
                         of the medians of wall time and peak RSS.

The files of tests/scaling.rs are built the same way.

Deterministic: no clock, no randomness, no environment; the same OUT gets the same
bytes. Python 3.11 standard library only.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def deployment(i: int) -> dict:
    app = f"app-{i}"
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": app,
            "namespace": f"ns-{i % 7}",
            "labels": {"app": app, "version": "v1", "team": f"team-{i % 13}"},
            "annotations": {"owner": f"owner-{i}@example.com"},
        },
        "spec": {
            "replicas": 1 + i % 3,
            "selector": {"matchLabels": {"app": app}},
            "template": {
                "metadata": {"labels": {"app": app, "version": "v1"}},
                "spec": {
                    "containers": [
                        {
                            "name": "main",
                            "image": f"registry.example.com/{app}:1.{i % 10}.0",
                            "ports": [{"containerPort": 8080, "name": "http"}],
                            "env": [{"name": f"VAR_{j}", "value": f"value-{i}-{j}"} for j in range(4)],
                            "resources": {
                                "requests": {"cpu": "100m", "memory": "128Mi"},
                                "limits": {"cpu": "500m", "memory": "256Mi"},
                            },
                        }
                    ]
                },
            },
        },
    }


def service(i: int) -> dict:
    app = f"app-{i}"
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": app, "namespace": f"ns-{i % 7}", "labels": {"app": app}},
        "spec": {
            "selector": {"app": app},
            # Every fourth Service has an unnamed port: findings on long inputs.
            "ports": [{"port": 80, "targetPort": 8080} | ({} if i % 4 == 0 else {"name": "http"})],
        },
    }


def configmap(i: int) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"config-{i}", "namespace": f"ns-{i % 7}"},
        "data": {f"key-{j}": f"value {i} {j} " + "x" * (j * 7 % 40) for j in range(12)},
    }


def json_list(target: int) -> dict:
    items: list[dict] = []
    size = 0
    i = 0
    while size < target:
        obj = deployment(i) if i % 2 == 0 else configmap(i)
        size += len(json.dumps(obj, indent=4)) + 6
        items.append(obj)
        i += 1
    return {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items}


def block(value, indent: int, out: list[str]) -> None:
    pad = " " * indent
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, (dict, list)) and v:
                out.append(f"{pad}{k}:")
                block(v, indent + 2, out)
            else:
                out.append(f"{pad}{k}: {scalar(v)}")
    else:
        for v in value:
            if isinstance(v, dict) and v:
                lines: list[str] = []
                block(v, indent + 2, lines)
                first = lines[0]
                out.append(f"{pad}- {first[indent + 2:]}")
                out.extend(lines[1:])
            else:
                out.append(f"{pad}- {scalar(v)}")


def scalar(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, dict):
        return "{}"
    if isinstance(v, list):
        return "[]"
    s = str(v)
    if s == "" or any(c in s for c in ":#{}[],&*!|>'\"%@`") or s[0] == "-":
        return json.dumps(s)
    return s


def stream(target: int, write_doc) -> None:
    size = 0
    i = 0
    while size < target:
        obj = (deployment, service, configmap)[i % 3](i)
        size += write_doc(obj)
        i += 1


def line_list(n: int) -> str:
    parts = [
        '{"apiVersion":"v1","kind":"Service","metadata":{"name":"svc-%d","annotations":{"note":"caf\u00e9 \u2615"}},'
        '"spec":{"selector":{"app":"a%d"},"ports":[{"port":80}]}}' % (i, i)
        for i in range(n)
    ]
    return '{"apiVersion":"v1","kind":"List","items":[' + ",".join(parts) + "]}\n"


def suppressed(n: int) -> str:
    out: list[str] = []
    for i in range(n):
        kept = i % 1000 == 999
        out.append("---\n")
        if not kept and i % 3 == 0:
            out.append("# meshlint: ignore[unnamed-service-port] legacy port\n")
        out.append(f"apiVersion: v1\nkind: Service\nmetadata:\n  name: svc-{i}\n")
        if not kept and i % 3 == 2:
            out.append("  annotations:\n    meshlint.io/ignore: unnamed-service-port\n")
        out.append(f"spec:\n  selector:\n    app: a{i}\n  ports:\n  - port: 80")
        if not kept and i % 3 == 1:
            out.append("  # meshlint: ignore[unnamed-service-port] legacy port")
        out.append("\n")
    return "".join(out)


MEMORY_CASES = ["list-2.7mb.json", "list-2.7mb.min.json", "flow-20mb.yaml", "stream-60mb.yaml"]
TIME_CASES = ["line-40000.json", "line-80000.json", "suppressed-20000.yaml", "suppressed-40000.yaml"]


def measure(out: Path, binaries: list[str], runs: int = 3) -> None:
    import statistics
    import subprocess

    print("| file | MB | binary | command | median s | median peak RSS MB | RSS / size |")
    print("| --- | ---: | --- | --- | ---: | ---: | ---: |")
    cases = [(f, ["check", "--format", "concise"]) for f in MEMORY_CASES + TIME_CASES]
    # The human format on the one-line file renders each snippet from the whole line:
    # not measured here.
    cases += [(f, ["check"]) for f in MEMORY_CASES if f != "list-2.7mb.min.json"]
    for name, args in cases:
        path = out / name
        size = path.stat().st_size
        for binary in binaries:
            walls, peaks = [], []
            for _ in range(runs):
                r = subprocess.run(
                    ["/usr/bin/time", "-f", "%e %M", binary, *args, str(path)],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    text=True,
                    check=False,
                )
                wall, kib = r.stderr.strip().splitlines()[-1].split()
                walls.append(float(wall))
                peaks.append(int(kib) * 1024)
            wall = statistics.median(walls)
            peak = statistics.median(peaks)
            print(
                f"| {name} | {size / 1e6:.1f} | `{binary}` | `{' '.join(args)}` | {wall:.2f} | "
                f"{peak / 1e6:.0f} | {peak / size:.1f}x |"
            )


def main() -> None:
    args = sys.argv[1:]
    if not args or (len(args) > 1 and args[1] != "--measure"):
        sys.exit("usage: big.py OUT [--measure BINARY...]")
    out = Path(args[0])
    out.mkdir(parents=True, exist_ok=True)
    for n in (40_000, 80_000):
        (out / f"line-{n}.json").write_text(line_list(n), encoding="utf-8")
    for n in (20_000, 40_000):
        (out / f"suppressed-{n}.yaml").write_text(suppressed(n), encoding="utf-8")

    listing = json_list(2_160_000)
    (out / "list-2.7mb.json").write_text(json.dumps(listing, indent=4) + "\n")
    (out / "list-2.7mb.min.json").write_text(json.dumps(listing, separators=(",", ":")) + "\n")

    with (out / "stream-60mb.yaml").open("w") as f:

        def block_doc(obj: dict) -> int:
            lines: list[str] = ["---"]
            block(obj, 0, lines)
            text = "\n".join(lines) + "\n"
            f.write(text)
            return len(text)

        stream(60_000_000, block_doc)

    with (out / "flow-20mb.yaml").open("w") as f:

        def flow_doc(obj: dict) -> int:
            # One line per top-level key, everything below in flow style.
            body = ",\n  ".join(f"{k}: {json.dumps(v, separators=(', ', ': '))}" for k, v in obj.items())
            text = "---\n{" + body + "}\n"
            f.write(text)
            return len(text)

        stream(20_000_000, flow_doc)

    if len(args) > 2:
        measure(out, args[2:])


if __name__ == "__main__":
    main()
