#!/usr/bin/env python3
"""Generate benchmark trees of Kubernetes manifests for meshlint.

Two modes, both deterministic (fixed seed, no clock, no environment):

  gen.py OUT --files N   N files of realistic application repositories (default 4000):
                         2-6 documents per file mixing workloads (Deployment, StatefulSet,
                         DaemonSet, Job, CronJob), Services and ConfigMaps, spread over
                         directories and 20 namespaces, in varied YAML styles.
  gen.py OUT --scale K   one namespace with K Services and K Deployments, Service i
                         selecting exactly Deployment i (`app: svc-i`), about 100 objects
                         per file: 2*K objects for the cross-file scaling benchmark.

The same arguments always produce byte-identical files. OUT is a repository of its own
(an empty `.git`), so that checking it reads nothing around it. OUT is emptied first if
it holds a previous generation (marked by the hidden file `.meshlint-bench`); any other
non-empty OUT is refused.

Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import sys
from pathlib import Path

SEED = 20240917
MARKER = ".meshlint-bench"

# --------------------------------------------------------------------------------------
# A small YAML emitter with the stylistic knobs real repositories show.
# --------------------------------------------------------------------------------------


class Q:
    """A string emitted with a forced quote style (`"` or `'`)."""

    def __init__(self, text: str, quote: str = '"') -> None:
        self.text = text
        self.quote = quote


class Block:
    """A block scalar: `|`, `|-`, `>` or `>-`."""

    def __init__(self, text: str, indicator: str = "|") -> None:
        self.text = text
        self.indicator = indicator


class Flow:
    """A short sequence written in flow style: `[a, b]`."""

    def __init__(self, items: list) -> None:
        self.items = items


class Commented:
    """A scalar with a trailing comment."""

    def __init__(self, value, comment: str) -> None:
        self.value = value
        self.comment = comment


class Comment:
    """A full-line comment, used as a mapping key (its value is ignored)."""

    def __init__(self, text: str) -> None:
        self.text = text


class Style:
    def __init__(self, indent: int = 2, indentless: bool = False) -> None:
        self.indent = indent
        self.indentless = indentless


_PLAIN_OK = re.compile(r"^[A-Za-z0-9_/.][A-Za-z0-9_./:@+=,-]*( [A-Za-z0-9_./()@+=,-]+)*$")
_RESERVED = {
    "true", "false", "yes", "no", "on", "off", "null", "~", "y", "n",
    "True", "False", "Yes", "No", "On", "Off", "Null", "NULL", "TRUE", "FALSE",
}


def scalar(v) -> str:
    if isinstance(v, Q):
        if v.quote == "'":
            return "'" + v.text.replace("'", "''") + "'"
        return json.dumps(v.text)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if v is None:
        return "null"
    if isinstance(v, Flow):
        return "[" + ", ".join(
            json.dumps(x) if isinstance(x, str) and "," in x else scalar(x) for x in v.items
        ) + "]"
    s = str(v)
    if s in _RESERVED or not _PLAIN_OK.match(s) or s.endswith(":") or ": " in s:
        return json.dumps(s)
    if re.fullmatch(r"[-+]?[0-9][0-9_.eE:+-]*", s):
        return json.dumps(s)
    return s


def emit_map(m: dict, indent: int, out: list[str], st: Style) -> None:
    pad = " " * indent
    for k, v in m.items():
        if isinstance(k, Comment):
            out.append(f"{pad}# {k.text}")
            continue
        if isinstance(v, Commented):
            out.append(f"{pad}{k}: {scalar(v.value)}  # {v.comment}")
        elif isinstance(v, Block):
            out.append(f"{pad}{k}: {v.indicator}")
            inner = " " * (indent + st.indent)
            for line in v.text.split("\n"):
                out.append(inner + line if line else "")
        elif isinstance(v, dict) and v:
            out.append(f"{pad}{k}:")
            emit_map(v, indent + st.indent, out, st)
        elif isinstance(v, list) and v:
            out.append(f"{pad}{k}:")
            emit_seq(v, indent if st.indentless else indent + st.indent, out, st)
        elif isinstance(v, dict):
            out.append(f"{pad}{k}: {{}}")
        elif isinstance(v, list):
            out.append(f"{pad}{k}: []")
        else:
            out.append(f"{pad}{k}: {scalar(v)}")


def emit_seq(items: list, indent: int, out: list[str], st: Style) -> None:
    pad = " " * indent
    for item in items:
        if isinstance(item, dict) and item:
            sub: list[str] = []
            emit_map(item, indent + 2, sub, st)
            sub[0] = pad + "- " + sub[0][indent + 2 :]
            out.extend(sub)
        elif isinstance(item, list) and item:
            out.append(f"{pad}-")
            emit_seq(item, indent + st.indent, out, st)
        else:
            out.append(f"{pad}- {scalar(item)}")


def emit_doc(doc: dict, st: Style) -> str:
    out: list[str] = []
    emit_map(doc, 0, out, st)
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------------------
# Realistic application repositories.
# --------------------------------------------------------------------------------------

NAMESPACES = [
    "payments", "checkout", "catalog", "search", "identity", "notifications", "billing",
    "inventory", "shipping", "analytics", "frontend", "platform", "monitoring", "logging",
    "data", "ml-serving", "reporting", "gateway", "backoffice", "partners",
]
TEAMS = ["core", "commerce", "growth", "infra", "data-eng", "mobile", "risk", "support"]
NOUNS = [
    "cart", "order", "user", "profile", "session", "invoice", "ledger", "price", "quote",
    "stock", "warehouse", "parcel", "route", "review", "rating", "recommend", "feed",
    "mailer", "sms", "push", "audit", "report", "export", "import", "ingest", "index",
    "query", "cache", "token", "auth", "consent", "coupon", "promo", "tax", "refund",
    "fraud", "score", "ticket", "chat", "media", "thumbnail", "upload", "geo", "currency",
]
SUFFIXES = ["api", "svc", "worker", "service", "backend", "server", "gateway", "proc"]
REGISTRIES = ["registry.example.com", "gcr.io/acme-prod", "ghcr.io/acme", "docker.io/acme"]
LANGS = ["go", "java", "node", "python", "rust"]

# Port names: good ones Istio recognises, and bad ones that real repositories carry.
GOOD_PORT_NAMES = ["http", "http-web", "grpc", "grpc-api", "http2", "https", "tcp-db",
                   "http-metrics", "tls", "mongo", "redis", "mysql", "tcp", "grpc-web"]
BAD_PORT_NAMES = ["web", "http2foo", "metrics", "api", "admin", "httpx", "probe", "rpc"]


def app_name(rng: random.Random, used: set[str]) -> str:
    # Once the nouns run out (large trees), a number makes the name new; smaller trees
    # never get that far, so their files stay as they were.
    for attempt in range(1000):
        first, second = rng.sample(NOUNS, 2)
        n = f"{first}-{rng.choice(SUFFIXES)}"
        if rng.random() < 0.3:
            n = f"{second}-{n}"
        if n not in used:
            used.add(n)
            return n
    n = f"{n}-{len(used)}"
    used.add(n)
    return n


def maybe_quote(rng: random.Random, s: str):
    r = rng.random()
    if r < 0.15:
        return Q(s, '"')
    if r < 0.22:
        return Q(s, "'")
    return s


def resources(rng: random.Random) -> dict:
    cpu = rng.choice(["50m", "100m", "200m", "250m", "500m", "1"])
    mem = rng.choice(["64Mi", "128Mi", "256Mi", "512Mi", "1Gi", "2Gi"])
    lim_cpu = rng.choice(["500m", "1", "2", "1000m"])
    lim_mem = rng.choice(["256Mi", "512Mi", "1Gi", "2Gi", "4Gi"])
    return {
        "requests": {"cpu": maybe_quote(rng, cpu), "memory": mem},
        "limits": {"cpu": maybe_quote(rng, lim_cpu), "memory": lim_mem},
    }


def probe(rng: random.Random, port_name: str | None, port: int) -> dict:
    kind = rng.random()
    target = port_name if port_name and rng.random() < 0.5 else port
    if kind < 0.6:
        p = {"httpGet": {"path": rng.choice(["/healthz", "/ready", "/live", "/health"]),
                         "port": target}}
    elif kind < 0.85:
        p = {"tcpSocket": {"port": target}}
    else:
        p = {"exec": {"command": Flow(["/bin/sh", "-c", "test -f /tmp/healthy"])}}
    p["initialDelaySeconds"] = rng.choice([0, 5, 10, 15, 30])
    p["periodSeconds"] = rng.choice([5, 10, 15, 20])
    if rng.random() < 0.4:
        p["timeoutSeconds"] = rng.choice([1, 2, 3, 5])
    if rng.random() < 0.3:
        p["failureThreshold"] = rng.choice([3, 5, 6])
    return p


def env_list(rng: random.Random, app: str, cm: str | None) -> list:
    env = [
        {"name": "LOG_LEVEL", "value": maybe_quote(rng, rng.choice(["info", "debug", "warn"]))},
        {"name": "PORT", "value": Q(str(rng.choice([8080, 8000, 3000, 9090])))},
    ]
    if rng.random() < 0.6:
        env.append({"name": "POD_NAME",
                    "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}})
    if rng.random() < 0.5:
        env.append({"name": "POD_NAMESPACE",
                    "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}})
    if cm and rng.random() < 0.7:
        env.append({"name": "FEATURE_FLAGS",
                    "valueFrom": {"configMapKeyRef": {"name": cm, "key": "flags"}}})
    if rng.random() < 0.4:
        env.append({"name": "DB_PASSWORD",
                    "valueFrom": {"secretKeyRef": {"name": f"{app}-db", "key": "password"}}})
    if rng.random() < 0.3:
        env.append({"name": "OTEL_EXPORTER_OTLP_ENDPOINT",
                    "value": Q("http://otel-collector.monitoring:4317")})
    for i in range(rng.randint(0, 4)):
        env.append({"name": f"{app.upper().replace('-', '_')}_OPT_{i}",
                    "value": Q(rng.choice(["true", "false", "30s", "1000", "on"]))})
    return env


def container(rng: random.Random, app: str, name: str, ports: list[tuple],
              cm: str | None, version: str) -> dict:
    lang = rng.choice(LANGS)
    c: dict = {
        "name": name,
        "image": f"{rng.choice(REGISTRIES)}/{app}:{version}",
    }
    if rng.random() < 0.5:
        c["imagePullPolicy"] = rng.choice(["IfNotPresent", "Always"])
    if rng.random() < 0.35:
        c["args"] = Flow([f"--port={ports[0][1]}" if ports else "--once",
                          f"--log-format={rng.choice(['json', 'text'])}"])
    elif lang == "java" and rng.random() < 0.5:
        c["command"] = ["java", "-XX:MaxRAMPercentage=75", "-jar", "/app/app.jar"]
    if ports:
        plist = []
        for pname, port in ports:
            p: dict = {}
            if pname:
                p["name"] = pname
            p["containerPort"] = port
            if rng.random() < 0.4:
                p["protocol"] = "TCP"
            plist.append(p)
        c["ports"] = plist
    c["env"] = env_list(rng, app, cm)
    if rng.random() < 0.3:
        c[Comment(rng.choice(["tuned after the last load test", "see runbook before changing",
                              "keep requests == limits for guaranteed QoS"]))] = None
    c["resources"] = resources(rng)
    if ports and rng.random() < 0.8:
        c["readinessProbe"] = probe(rng, ports[0][0], ports[0][1])
        if rng.random() < 0.7:
            c["livenessProbe"] = probe(rng, ports[0][0], ports[0][1])
    mounts = []
    if cm:
        mounts.append({"name": "config", "mountPath": f"/etc/{app}", "readOnly": True})
    if rng.random() < 0.5:
        mounts.append({"name": "tmp", "mountPath": "/tmp"})
    if mounts:
        c["volumeMounts"] = mounts
    if rng.random() < 0.4:
        c["securityContext"] = {
            "runAsNonRoot": True,
            "readOnlyRootFilesystem": rng.random() < 0.7,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": Flow(["ALL"])},
        }
    return c


def pod_template(rng: random.Random, app: str, version: str, ports: list[tuple],
                 cm: str | None, restart: str | None = None) -> dict:
    labels: dict = {"app": app, "version": version}
    if rng.random() < 0.4:
        labels["app.kubernetes.io/part-of"] = app.split("-")[0]
    meta: dict = {"labels": labels}
    ann: dict = {}
    r = rng.random()
    if r < 0.15:
        ann["sidecar.istio.io/inject"] = Q("false")
    elif r < 0.3:
        ann["sidecar.istio.io/inject"] = Q("true")
    if rng.random() < 0.35:
        ann["prometheus.io/scrape"] = Q("true")
        ann["prometheus.io/port"] = Q(str(ports[0][1] if ports else 9090))
    if ann:
        meta["annotations"] = ann
    containers = [container(rng, app, app, ports, cm, version)]
    if rng.random() < 0.2:
        containers.append(container(rng, app, "log-shipper", [], None, "2.1.0"))
    spec: dict = {}
    if rng.random() < 0.5:
        spec["serviceAccountName"] = app
    if restart:
        spec["restartPolicy"] = restart
    if rng.random() < 0.2:
        spec["initContainers"] = [{
            "name": "wait-for-db",
            "image": "busybox:1.36",
            "command": ["sh", "-c", "until nc -z db 5432; do sleep 2; done"],
        }]
    spec["containers"] = containers
    vols = []
    if cm:
        vols.append({"name": "config", "configMap": {"name": cm}})
    vols.append({"name": "tmp", "emptyDir": {}})
    if rng.random() < 0.2:
        vols.append({"name": "tls", "secret": {"secretName": f"{app}-tls"}})
    spec["volumes"] = vols
    if rng.random() < 0.2:
        spec["nodeSelector"] = {"kubernetes.io/os": "linux"}
    if rng.random() < 0.15:
        spec["tolerations"] = [{"key": "dedicated", "operator": "Equal",
                                "value": "batch", "effect": "NoSchedule"}]
    return {"metadata": meta, "spec": spec}


def metadata(rng: random.Random, name: str, ns: str | None, app: str, omit_ns: bool) -> dict:
    m: dict = {"name": name}
    if ns and not omit_ns:
        m["namespace"] = ns
    labels = {"app": app}
    if rng.random() < 0.5:
        labels["app.kubernetes.io/name"] = app
        labels["app.kubernetes.io/managed-by"] = rng.choice(["kustomize", "argocd", "kubectl"])
    m["labels"] = labels
    return m


def configmap(rng: random.Random, name: str, ns, app: str, omit_ns: bool) -> dict:
    data: dict = {
        "flags": maybe_quote(rng, rng.choice(["beta,fast-path", "none", "canary"])),
        "LOG_FORMAT": "json",
    }
    props = "\n".join(
        f"{app.replace('-', '.')}.setting{i}={rng.randint(1, 10000)}"
        for i in range(rng.randint(3, 12))
    )
    data["application.properties"] = Block(props, rng.choice(["|", "|-"]))
    if rng.random() < 0.6:
        lines = ["server:", f"  port: {rng.choice([8080, 8000, 3000])}", "  timeouts:"]
        lines += [f"    {k}: {rng.randint(1, 60)}s" for k in ("read", "write", "idle")]
        lines += ["logging:", f"  level: {rng.choice(['info', 'debug'])}", "features:"]
        lines += [f"  - {rng.choice(NOUNS)}" for _ in range(rng.randint(1, 5))]
        data["config.yaml"] = Block("\n".join(lines), "|")
    if rng.random() < 0.3:
        words = " ".join(rng.choice(NOUNS) for _ in range(rng.randint(20, 60)))
        data["description"] = Block(words[:70] + "\n" + words[70:], ">")
    if rng.random() < 0.25:
        nginx = (
            "server {\n"
            f"    listen {rng.choice([80, 8080])};\n"
            "    location / {\n"
            f"        proxy_pass http://{app}:8080;\n"
            "        proxy_set_header Host $host;\n"
            "    }\n"
            "}"
        )
        data["nginx.conf"] = Block(nginx, "|")
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(rng, name, ns, app, omit_ns),
        "data": data,
    }


def service_ports(rng: random.Random) -> list[tuple]:
    n = rng.choices([1, 2, 3], weights=[6, 3, 1])[0]
    ports = []
    used_names = set()
    base = rng.choice([8080, 8000, 3000, 9000, 5000])
    for i in range(n):
        r = rng.random()
        if n == 1 and r < 0.18:
            name = None  # unnamed, legal in Kubernetes for one port
        elif r < 0.12:
            name = rng.choice(BAD_PORT_NAMES)
        elif n > 1 and r < 0.15:
            name = None  # unnamed among several: the linter's favourite
        else:
            name = rng.choice(GOOD_PORT_NAMES)
        if name in used_names:
            name = f"{name}-{i}"
        if name:
            used_names.add(name)
        ports.append((name, base + i if i else base))
    return ports


def service(rng: random.Random, name: str, ns, app: str, ports: list[tuple],
            omit_ns: bool, headless: bool = False) -> dict:
    spec: dict = {}
    if headless:
        spec["clusterIP"] = "None"
    elif rng.random() < 0.2:
        spec["type"] = rng.choice(["ClusterIP", "NodePort", "LoadBalancer"])
    spec["selector"] = {"app": app}
    plist = []
    for pname, port in ports:
        p: dict = {}
        if pname:
            p["name"] = Commented(pname, "Istio protocol prefix") if rng.random() < 0.05 \
                else maybe_quote(rng, pname)
        p["port"] = rng.choice([80, port]) if len(ports) == 1 else port
        r = rng.random()
        if r < 0.5:
            p["targetPort"] = port
        elif r < 0.8 and pname:
            p["targetPort"] = pname
        if rng.random() < 0.3:
            p["protocol"] = "TCP"
        plist.append(p)
    spec["ports"] = plist
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(rng, name, ns, app, omit_ns),
        "spec": spec,
    }
    if rng.random() < 0.2:
        svc["metadata"]["annotations"] = {
            "cloud.google.com/neg": Q('{"ingress": true}', "'"),
        }
    return svc


def workload(rng: random.Random, kind: str, app: str, ns, ports: list[tuple],
             cm: str | None, omit_ns: bool) -> dict:
    version = rng.choice(["v1", "v2", "v1.4.2", "1.0.0", "2024.05.1", "v3-canary"])
    doc: dict = {
        "apiVersion": "batch/v1" if kind in ("Job", "CronJob") else "apps/v1",
        "kind": kind,
        "metadata": metadata(rng, app, ns, app, omit_ns),
    }
    sel = {"matchLabels": {"app": app}}
    if kind == "Deployment":
        replicas = rng.choice([1, 2, 3, 5])
        spec: dict = {"replicas": Commented(replicas, "overridden by the HPA in prod")
                      if rng.random() < 0.2 else replicas}
        if rng.random() < 0.3:
            spec["revisionHistoryLimit"] = 5
        spec["selector"] = sel
        if rng.random() < 0.3:
            spec["strategy"] = {"type": "RollingUpdate",
                                "rollingUpdate": {"maxSurge": Q("25%"), "maxUnavailable": 0}}
        spec["template"] = pod_template(rng, app, version, ports, cm)
    elif kind == "StatefulSet":
        spec = {"serviceName": f"{app}-headless", "replicas": rng.choice([1, 3]),
                "selector": sel,
                "template": pod_template(rng, app, version, ports, cm)}
        spec["volumeClaimTemplates"] = [{
            "metadata": {"name": "data"},
            "spec": {"accessModes": Flow(["ReadWriteOnce"]),
                     "resources": {"requests": {"storage": rng.choice(["1Gi", "10Gi"])}}},
        }]
    elif kind == "DaemonSet":
        spec = {"selector": sel,
                "template": pod_template(rng, app, version, ports, cm)}
        if rng.random() < 0.5:
            spec["updateStrategy"] = {"type": "RollingUpdate"}
    elif kind == "Job":
        spec = {"backoffLimit": rng.choice([0, 3, 6]),
                "template": pod_template(rng, app, version, [], cm, "Never")}
        if rng.random() < 0.5:
            spec["ttlSecondsAfterFinished"] = 3600
    else:  # CronJob
        spec = {
            "schedule": Q(rng.choice(["*/5 * * * *", "0 3 * * *", "30 1 * * 0", "@hourly"])),
            "concurrencyPolicy": rng.choice(["Forbid", "Replace", "Allow"]),
            "jobTemplate": {"spec": {
                "template": pod_template(rng, app, version, [], cm, "OnFailure")}},
        }
        if rng.random() < 0.4:
            spec["successfulJobsHistoryLimit"] = 3
    doc["spec"] = spec
    return doc


def header_comment(rng: random.Random, app: str) -> list[str]:
    r = rng.random()
    if r < 0.3:
        return [f"# {app}: managed by the {rng.choice(TEAMS)} team. Do not edit by hand."]
    if r < 0.45:
        return ["# Source: generated from templates, then checked in.",
                f"# Owner: {rng.choice(TEAMS)}@example.com"]
    return []


def file_docs(rng: random.Random, used: set[str], ns: str) -> list[tuple[dict, list[str]]]:
    """One file's documents (2-6), each with its leading comment lines."""
    n = rng.choices([2, 3, 4, 5, 6], weights=[3, 4, 3, 2, 1])[0]
    docs: list[tuple[dict, list[str]]] = []
    omit_ns = rng.random() < 0.25
    while len(docs) < n:
        app = app_name(rng, used)
        kind = rng.choices(["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"],
                           weights=[10, 2, 1, 1, 2])[0]
        # A workload comes with its Service(s) in the same file; when they would not fit
        # in the six documents, a Job or CronJob (which needs none) takes its place.
        cap = 6 - len(docs)
        need = {"Job": 1, "CronJob": 1, "StatefulSet": 3}.get(kind, 2)
        if need > cap:
            kind = rng.choice(["Job", "CronJob"])
            need = 1
        ports = service_ports(rng) if need > 1 else []
        cm = f"{app}-config" if need < cap and rng.random() < 0.6 else None
        group: list[dict] = []
        if cm:
            group.append(configmap(rng, cm, ns, app, omit_ns))
        group.append(workload(rng, kind, app, ns, ports, cm, omit_ns))
        headless_only = kind == "StatefulSet" and rng.random() < 0.5
        if ports and not headless_only:
            group.append(service(rng, app, ns, app, ports, omit_ns))
        if kind == "StatefulSet":
            group.append(service(rng, f"{app}-headless", ns, app, ports, omit_ns, True))
        for d in group:
            docs.append((d, header_comment(rng, app) if rng.random() < 0.5 else []))
    if rng.random() < 0.4:
        rng.shuffle(docs)
    return docs


def render_file(rng: random.Random, docs: list[tuple[dict, list[str]]]) -> str:
    st = Style(indent=4 if rng.random() < 0.15 else 2, indentless=rng.random() < 0.35)
    parts = []
    lead = rng.random() < 0.3
    for i, (doc, comments) in enumerate(docs):
        text = "\n".join(comments) + ("\n" if comments else "") + emit_doc(doc, st)
        if i or lead:
            text = "---\n" + text
        parts.append(text)
    return "".join(parts)


def gen_files(out: Path, n: int) -> None:
    rng = random.Random(SEED)
    layouts = ["k8s", "deploy", "manifests", "deploy/base", "deploy/overlays/prod",
               "kubernetes", "infra/k8s", "charts-rendered"]
    files_written = 0
    repo = 0
    # Object names are unique over the whole tree: repositories share namespaces (and
    # `default`, for objects that name none), and real teams do not collide.
    used: set[str] = set()
    while files_written < n:
        team = TEAMS[repo % len(TEAMS)]
        repo_dir = out / team / f"repo-{repo:04d}"
        layout = rng.choice(layouts)
        ns = NAMESPACES[rng.randrange(len(NAMESPACES))]
        for j in range(min(rng.randint(3, 12), n - files_written)):
            docs = file_docs(rng, used, ns)
            ext = "yml" if rng.random() < 0.1 else "yaml"
            first = docs[0][0]["metadata"]["name"]
            sub = layout if rng.random() < 0.8 else f"{layout}/{rng.choice(['apps', 'jobs', 'data'])}"
            path = repo_dir / sub / f"{j:02d}-{first}.{ext}"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(render_file(rng, docs), encoding="utf-8", newline="\n")
            files_written += 1
        repo += 1


# --------------------------------------------------------------------------------------
# The scaling tree.
# --------------------------------------------------------------------------------------


def gen_scale(out: Path, k: int, per_file: int = 100) -> None:
    ns = "scale"
    pairs_per_file = max(1, per_file // 2)
    for f, start in enumerate(range(0, k, pairs_per_file)):
        parts = []
        for i in range(start, min(k, start + pairs_per_file)):
            app = f"svc-{i}"
            parts.append(
                f"apiVersion: v1\nkind: Service\nmetadata:\n  name: {app}\n"
                f"  namespace: {ns}\n  labels:\n    app: {app}\nspec:\n"
                f"  selector:\n    app: {app}\n  ports:\n"
                f"  - name: http\n    port: 80\n    targetPort: 8080\n"
                f"  - name: grpc-api\n    port: 9090\n"
            )
            parts.append(
                f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {app}\n"
                f"  namespace: {ns}\n  labels:\n    app: {app}\nspec:\n  replicas: 2\n"
                f"  selector:\n    matchLabels:\n      app: {app}\n  template:\n"
                f"    metadata:\n      labels:\n        app: {app}\n        version: v1\n"
                f"    spec:\n      containers:\n      - name: app\n"
                f"        image: registry.example.com/{app}:1.0.0\n"
                f"        ports:\n        - name: http\n          containerPort: 8080\n"
                f"        - name: grpc-api\n          containerPort: 9090\n"
                f"        resources:\n          requests:\n            cpu: 100m\n"
                f"            memory: 128Mi\n"
            )
        path = out / f"part-{f // 100:03d}" / f"objects-{f:05d}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("---\n".join(parts), encoding="utf-8", newline="\n")


def prepare(out: Path) -> None:
    if out.exists():
        if (out / MARKER).exists():
            shutil.rmtree(out)
        elif any(out.iterdir()):
            sys.exit(f"gen.py: {out} is not empty and was not made by gen.py; refusing")
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("generated by bench/gen.py; deleted on regeneration\n")
    # A repository of its own, as a checkout is: `meshlint check OUT` reads the tree
    # whole and nothing around it (without this, a tree under target/ had meshlint's
    # own repository as context, and the context cache).
    (out / ".git").mkdir()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path, help="output directory")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--files", type=int, default=None,
                      help="realistic tree of N files (default mode, N=4000)")
    mode.add_argument("--scale", type=int, metavar="K",
                      help="K Services + K Deployments in one namespace")
    args = ap.parse_args()
    prepare(args.out)
    if args.scale is not None:
        gen_scale(args.out, args.scale)
    else:
        gen_files(args.out, args.files if args.files is not None else 4000)


if __name__ == "__main__":
    main()
