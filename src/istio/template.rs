//! What 0.2 injection adds to a pod template (SEMANTICS.md section 3): the parameters
//! and mesh values it is made from, and the values themselves as a small tree that the
//! rewriter renders in the file's own style. Nothing here knows about text.

use crate::istio::config::InjectConfig;
use crate::model::Index;
use crate::yaml::{self, NodeRef};

/// A value to insert.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Str(String),
    Int(i64),
    Bool(bool),
    Map(Vec<(String, Val)>),
    Seq(Vec<Val>),
}

impl Val {
    fn s(text: impl Into<String>) -> Self {
        Val::Str(text.into())
    }

    fn map<const N: usize>(entries: [(&str, Val); N]) -> Self {
        Val::Map(entries.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    }

    fn strs(items: &[&str]) -> Self {
        Val::Seq(items.iter().map(|s| Val::s(*s)).collect())
    }
}

/// Injection parameters (`params` of `istio-inject`, or flags).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Params {
    pub init_image: String,
    pub proxy_image: String,
    pub verbosity: i64,
    pub version: String,
    pub image_pull_policy: String,
    pub debug: bool,
    pub core_dump: bool,
    pub proxy_uid: i64,
    pub include_ip_ranges: String,
}

impl Default for Params {
    /// The Istio 0.2.6 install's values.
    fn default() -> Self {
        Self {
            init_image: "docker.io/istio/proxy_init:0.2.6".into(),
            proxy_image: "docker.io/istio/proxy:0.2.6".into(),
            verbosity: 2,
            version: "0.2.6".into(),
            image_pull_policy: "IfNotPresent".into(),
            debug: false,
            core_dump: false,
            proxy_uid: 1337,
            include_ip_ranges: String::new(),
        }
    }
}

/// `Always`, `IfNotPresent` or `Never`; anything else becomes `IfNotPresent`, as in Istio.
#[must_use]
pub fn normalize_pull_policy(value: &str) -> String {
    match value {
        "Always" | "IfNotPresent" | "Never" => value.to_owned(),
        _ => "IfNotPresent".to_owned(),
    }
}

fn truthy(value: &str) -> bool {
    matches!(value.to_ascii_lowercase().as_str(), "true" | "y" | "yes" | "on" | "1")
}

impl Params {
    /// The defaults overridden by the configuration's `params`.
    #[must_use]
    pub fn from_config(config: &InjectConfig) -> Self {
        let mut p = Self::default();
        let get = |k: &str| config.param(k).map(|v| v.value.as_str());
        if let Some(v) = get("initImage") {
            v.clone_into(&mut p.init_image);
        }
        if let Some(v) = get("proxyImage") {
            v.clone_into(&mut p.proxy_image);
        }
        if let Some(v) = get("verbosity").and_then(|v| v.parse().ok()) {
            p.verbosity = v;
        }
        if let Some(v) = get("version") {
            v.clone_into(&mut p.version);
        }
        if let Some(v) = get("imagePullPolicy") {
            p.image_pull_policy = normalize_pull_policy(v);
        }
        if let Some(v) = get("debugMode") {
            p.debug = truthy(v);
        }
        if let Some(v) = get("enableCoreDump") {
            p.core_dump = truthy(v);
        }
        if let Some(v) = get("sidecarProxyUID").and_then(|v| v.parse().ok()) {
            p.proxy_uid = v;
        }
        if let Some(v) = get("includeIPRanges") {
            v.clone_into(&mut p.include_ip_ranges);
        }
        p
    }

    /// `<version>` of `sidecar.istio.io/status: injected-version-<version>`.
    #[must_use]
    pub fn status(&self) -> String {
        format!("injected-version-{}", self.version)
    }
}

/// The mesh values the proxy's arguments come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mesh {
    pub proxy_listen_port: i64,
    pub discovery_address: String,
    pub zipkin_address: String,
    pub statsd_udp_address: String,
    pub connect_timeout: String,
    pub drain_duration: String,
    pub parent_shutdown_duration: String,
    pub discovery_refresh_delay: String,
    pub config_path: String,
    pub binary_path: String,
    pub proxy_admin_port: i64,
}

impl Default for Mesh {
    /// The Istio 0.2.6 install's `istio` ConfigMap.
    fn default() -> Self {
        Self {
            proxy_listen_port: 15001,
            discovery_address: "istio-pilot.istio-system:8080".into(),
            zipkin_address: "zipkin.istio-system:9411".into(),
            statsd_udp_address: "istio-mixer.istio-system:9125".into(),
            connect_timeout: "10s".into(),
            drain_duration: "45s".into(),
            parent_shutdown_duration: "1m0s".into(),
            discovery_refresh_delay: "1s".into(),
            config_path: "/etc/istio/proxy".into(),
            binary_path: "/usr/local/bin/envoy".into(),
            proxy_admin_port: 15000,
        }
    }
}

impl Mesh {
    /// Read the mesh YAML (`data.mesh` of the `istio` ConfigMap), over the defaults.
    #[must_use]
    pub fn from_yaml(text: &str) -> Option<Self> {
        let stream = yaml::parse_stream(text);
        if !stream.errors.is_empty() {
            return None;
        }
        let mut mesh = Self::default();
        let Some(doc) = stream.documents.first() else { return Some(mesh) };
        let root = doc.root();
        if let Some(port) = root.get("proxyListenPort").and_then(|n| n.as_i64()) {
            mesh.proxy_listen_port = port;
        }
        if let Some(dc) = root.get("defaultConfig") {
            mesh.apply_default_config(dc);
        }
        Some(mesh)
    }

    fn apply_default_config(&mut self, dc: NodeRef<'_>) {
        let text = |k: &str| dc.get(k).and_then(|n| n.scalar()).map(str::to_owned);
        let duration = |k: &str| text(k).map(|v| go_duration(&v).unwrap_or(v));
        if let Some(v) = text("discoveryAddress") {
            self.discovery_address = v;
        }
        if let Some(v) = text("zipkinAddress") {
            self.zipkin_address = v;
        }
        if let Some(v) = text("statsdUdpAddress") {
            self.statsd_udp_address = v;
        }
        if let Some(v) = duration("connectTimeout") {
            self.connect_timeout = v;
        }
        if let Some(v) = duration("drainDuration") {
            self.drain_duration = v;
        }
        if let Some(v) = duration("parentShutdownDuration") {
            self.parent_shutdown_duration = v;
        }
        if let Some(v) = duration("discoveryRefreshDelay") {
            self.discovery_refresh_delay = v;
        }
        if let Some(v) = text("configPath") {
            self.config_path = v;
        }
        if let Some(v) = text("binaryPath") {
            self.binary_path = v;
        }
        if let Some(v) = dc.get("proxyAdminPort").and_then(|n| n.as_i64()) {
            self.proxy_admin_port = v;
        }
    }

    /// The `istio` ConfigMap of `istio-system` among the objects, if any.
    #[must_use]
    pub fn discover(index: &Index<'_>) -> Option<Self> {
        let object = index.objects.iter().find(|o| {
            o.kind == "ConfigMap"
                && o.name == Some(super::MESH_CONFIG_MAP)
                && o.namespace == Some("istio-system")
                && !o.partial
        })?;
        Self::from_yaml(object.node.path(&["data", "mesh"])?.scalar()?)
    }
}

/// A duration (`60s`, `1m30s`, `500ms`) as Go prints it (`1m0s`, `1m30s`, `500ms`).
#[must_use]
pub fn go_duration(text: &str) -> Option<String> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    let mut nanos = 0.0;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let value: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        nanos += value * scale;
        rest = &rest[unit_len..];
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Some(format_go_duration(nanos.round() as u64))
}

fn format_go_duration(nanos: u64) -> String {
    if nanos == 0 {
        return "0s".into();
    }
    if nanos < 1_000_000_000 {
        let (div, unit) = if nanos < 1_000 {
            (1, "ns")
        } else if nanos < 1_000_000 {
            (1_000, "µs")
        } else {
            (1_000_000, "ms")
        };
        return format!("{}{unit}", trim_fraction(nanos, div));
    }
    let hours = nanos / 3_600_000_000_000;
    let minutes = nanos / 60_000_000_000 % 60;
    let secs = nanos % 60_000_000_000;
    let mut out = String::new();
    if hours > 0 {
        out = format!("{hours}h");
    }
    if hours > 0 || minutes > 0 {
        out = format!("{out}{minutes}m");
    }
    format!("{out}{}s", trim_fraction(secs, 1_000_000_000))
}

fn trim_fraction(value: u64, div: u64) -> String {
    let whole = value / div;
    let frac = value % div;
    if frac == 0 {
        return whole.to_string();
    }
    let width = div.to_string().len() - 1;
    let digits = format!("{frac:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// Everything injection adds to one pod template.
#[derive(Debug, Clone)]
pub struct Sidecar {
    pub init_containers: Vec<Val>,
    pub container: Val,
    pub volumes: Vec<Val>,
    pub status: String,
}

/// Names of what injection adds, for recognising it again.
pub const INIT_CONTAINERS: &[&str] = &["istio-init", "enable-core-dump"];
pub const VOLUMES: &[&str] = &["istio-envoy", "istio-certs"];

/// An item of the pod that has a name injection would add again: the API server rejects
/// a pod with two containers (init containers included) or two volumes of one name.
#[derive(Debug, Clone, Copy)]
pub struct NameConflict<'a> {
    /// `container`, `init container` or `volume`: what the user's item is.
    pub what: &'static str,
    /// The name both would have.
    pub name: &'a str,
    /// What injection would add under that name: `container`, `init container` or `volume`.
    pub added: &'static str,
    /// The user's item's `name` value.
    pub node: NodeRef<'a>,
}

/// `a container`, `an init container`: the noun of a [`NameConflict`] with its article.
#[must_use]
pub fn article(what: &str) -> String {
    if what.starts_with(['a', 'e', 'i', 'o', 'u']) { format!("an {what}") } else { format!("a {what}") }
}

/// The items of `template` whose names collide with what injection with `params` adds.
/// Container names share one namespace across `containers` and `initContainers`.
#[must_use]
pub fn name_conflicts<'a>(template: &crate::model::PodTemplate<'a>, params: &Params) -> Vec<NameConflict<'a>> {
    let mut added: Vec<(&str, &'static str)> =
        vec![(crate::istio::decide::PROXY_CONTAINER, "container"), (INIT_CONTAINERS[0], "init container")];
    if params.core_dump {
        added.push((INIT_CONTAINERS[1], "init container"));
    }
    let mut found = Vec::new();
    let named = |item: NodeRef<'a>| item.get("name").filter(|n| n.scalar().is_some());
    let containers = template.containers().map(|c| ("container", c));
    for (what, item) in containers.chain(template.init_containers().map(|c| ("init container", c))) {
        let Some(node) = named(item) else { continue };
        let name = node.scalar().unwrap_or_default();
        if let Some((_, kind)) = added.iter().find(|(n, _)| *n == name) {
            found.push(NameConflict { what, name, added: kind, node });
        }
    }
    let volumes = template.spec().and_then(|s| s.get("volumes")).filter(NodeRef::is_seq);
    for item in volumes.into_iter().flat_map(NodeRef::items) {
        let Some(node) = named(item) else { continue };
        let name = node.scalar().unwrap_or_default();
        if VOLUMES.contains(&name) {
            found.push(NameConflict { what: "volume", name, added: "volume", node });
        }
    }
    found
}

/// The sidecar for a pod whose `app` label is `app` and service account `account`.
#[must_use]
pub fn sidecar(params: &Params, mesh: &Mesh, app: Option<&str>, account: Option<&str>) -> Sidecar {
    let pull = Val::s(&params.image_pull_policy);
    let mut init_args = vec![
        Val::s("-p"),
        Val::s(mesh.proxy_listen_port.to_string()),
        Val::s("-u"),
        Val::s(params.proxy_uid.to_string()),
    ];
    if !params.include_ip_ranges.is_empty() {
        init_args.extend([Val::s("-i"), Val::s(&params.include_ip_ranges)]);
    }
    let mut init_containers = vec![Val::map([
        ("name", Val::s("istio-init")),
        ("image", Val::s(&params.init_image)),
        ("args", Val::Seq(init_args)),
        ("imagePullPolicy", pull.clone()),
        (
            "securityContext",
            Val::map([
                ("capabilities", Val::map([("add", Val::strs(&["NET_ADMIN"]))])),
                ("privileged", Val::Bool(true)),
            ]),
        ),
    ])];
    if params.core_dump {
        let sysctl = format!("sysctl -w kernel.core_pattern={}/core.%e.%p.%t && ulimit -c unlimited", mesh.config_path);
        init_containers.push(Val::map([
            ("name", Val::s("enable-core-dump")),
            ("image", Val::s("alpine")),
            ("command", Val::strs(&["/bin/sh"])),
            ("args", Val::Seq(vec![Val::s("-c"), Val::s(sysctl)])),
            ("imagePullPolicy", pull.clone()),
            ("securityContext", Val::map([("privileged", Val::Bool(true))])),
        ]));
    }
    let mut args = vec![Val::s("proxy"), Val::s("sidecar")];
    if params.verbosity > 0 {
        args.extend([Val::s("-v"), Val::s(params.verbosity.to_string())]);
    }
    for (flag, value) in [
        ("--configPath", mesh.config_path.clone()),
        ("--binaryPath", mesh.binary_path.clone()),
        ("--serviceCluster", app.unwrap_or("istio-proxy").to_owned()),
        ("--drainDuration", mesh.drain_duration.clone()),
        ("--parentShutdownDuration", mesh.parent_shutdown_duration.clone()),
        ("--discoveryAddress", mesh.discovery_address.clone()),
        ("--discoveryRefreshDelay", mesh.discovery_refresh_delay.clone()),
        ("--zipkinAddress", mesh.zipkin_address.clone()),
        ("--connectTimeout", mesh.connect_timeout.clone()),
        ("--statsdUdpAddress", mesh.statsd_udp_address.clone()),
        ("--proxyAdminPort", mesh.proxy_admin_port.to_string()),
    ] {
        args.extend([Val::s(flag), Val::s(value)]);
    }
    let field_env = |name: &str, path: &str| {
        Val::map([
            ("name", Val::s(name)),
            ("valueFrom", Val::map([("fieldRef", Val::map([("fieldPath", Val::s(path))]))])),
        ])
    };
    let container = Val::map([
        ("name", Val::s("istio-proxy")),
        ("image", Val::s(&params.proxy_image)),
        ("args", Val::Seq(args)),
        (
            "env",
            Val::Seq(vec![
                field_env("POD_NAME", "metadata.name"),
                field_env("POD_NAMESPACE", "metadata.namespace"),
                field_env("INSTANCE_IP", "status.podIP"),
            ]),
        ),
        ("imagePullPolicy", pull),
        (
            "securityContext",
            Val::map([
                ("runAsUser", Val::Int(params.proxy_uid)),
                ("readOnlyRootFilesystem", Val::Bool(!params.debug)),
                ("privileged", Val::Bool(params.debug)),
            ]),
        ),
        (
            "volumeMounts",
            Val::Seq(vec![
                Val::map([("name", Val::s("istio-envoy")), ("mountPath", Val::s(&mesh.config_path))]),
                Val::map([
                    ("name", Val::s("istio-certs")),
                    ("mountPath", Val::s("/etc/certs/")),
                    ("readOnly", Val::Bool(true)),
                ]),
            ]),
        ),
    ]);
    let volumes = vec![
        Val::map([("name", Val::s("istio-envoy")), ("emptyDir", Val::map([("medium", Val::s("Memory"))]))]),
        Val::map([
            ("name", Val::s("istio-certs")),
            (
                "secret",
                Val::map([
                    ("secretName", Val::s(format!("istio.{}", account.unwrap_or("default")))),
                    ("optional", Val::Bool(true)),
                ]),
            ),
        ]),
    ];
    Sidecar { init_containers, container, volumes, status: params.status() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_core_dump_params_take_yaml_booleans() {
        let with = |key: &str, value: &str| {
            let mut config = InjectConfig::default();
            config
                .params
                .push((key.to_owned(), crate::istio::config::Sourced { value: value.to_owned(), source: None }));
            Params::from_config(&config)
        };
        assert!(!Params::from_config(&InjectConfig::default()).debug, "the install's default");
        for yes in ["true", "True", "yes", "on", "y"] {
            assert!(with("debugMode", yes).debug, "{yes}");
            assert!(with("enableCoreDump", yes).core_dump, "{yes}");
        }
        for no in ["false", "no", "off", "n", ""] {
            assert!(!with("debugMode", no).debug, "{no}");
            assert!(!with("enableCoreDump", no).core_dump, "{no}");
        }
    }

    #[test]
    fn go_durations() {
        for (input, want) in
            [("1s", "1s"), ("60s", "1m0s"), ("1m0s", "1m0s"), ("45s", "45s"), ("0.5s", "500ms"), ("90m", "1h30m0s")]
        {
            assert_eq!(go_duration(input).as_deref(), Some(want), "{input}");
        }
        // Every unit Go's time.ParseDuration takes, printed as Go's Duration.String does.
        for (input, want) in [
            ("7ns", "7ns"),
            ("10us", "10µs"),
            ("10µs", "10µs"),
            ("250ms", "250ms"),
            ("1500ms", "1.5s"),
            ("2h", "2h0m0s"),
            ("1h1m1s1ms", "1h1m1.001s"),
            // Each unit's first value.
            ("1000ns", "1µs"),
            ("1000us", "1ms"),
            ("1000ms", "1s"),
        ] {
            assert_eq!(go_duration(input).as_deref(), Some(want), "{input}");
        }
        for bad in ["", "1", "1x", "s", "1d"] {
            assert_eq!(go_duration(bad), None, "{bad}");
        }
    }
}
