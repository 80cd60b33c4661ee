//! The name `unnamed-service-port` and `unknown-port-protocol` suggest, from the evidence
//! in order (the port's own name, the target port's name, the selected containers' port
//! names, `appProtocol`, the well-known numbers), mapped onto each profile's protocol
//! list; with no evidence, `tcp-<name>`. A database port is never told to be `http`.

use meshlint::engine::{self, ContextMode, Input, Options};
use meshlint::istio::Profile;

/// One case: the Service port as YAML lines, the container port names of the Deployment
/// it selects (if any), the profile, and the name the help must suggest.
struct Case {
    profile: Profile,
    service: &'static str,
    port: &'static str,
    container_port: Option<(&'static str, u32)>,
    want: &'static str,
}

const fn case(
    profile: Profile,
    service: &'static str,
    port: &'static str,
    container_port: Option<(&'static str, u32)>,
    want: &'static str,
) -> Case {
    Case { profile, service, port, container_port, want }
}

use Profile::{Istio02, Modern};

const CASES: &[Case] = &[
    // Istio 0.2: its list is http, http2, https, grpc, mongo, redis.
    case(Istio02, "db", "port: 27017", None, "mongo-db"),
    case(Istio02, "db", "port: 3306", None, "tcp-mysql"),
    case(Istio02, "cache", "port: 6379", None, "redis-cache"),
    case(Istio02, "pg", "port: 5432", None, "tcp-postgres"),
    case(Istio02, "store", "port: 9042", None, "tcp-cassandra"),
    case(Istio02, "web", "port: 8080", None, "http-web"),
    // A container port named `grpc` is a valid port name as it is.
    case(Istio02, "api", "port: 9000", Some(("grpc", 9000)), "grpc"),
    case(Istio02, "api", "port: 9000\n    targetPort: http-metrics", None, "http-metrics"),
    case(Istio02, "api", "port: 9000\n    appProtocol: grpc", None, "grpc"),
    case(Istio02, "odd", "port: 9999", None, "tcp-odd"),
    // A container port the Service does not send to (9090, not 9999) says nothing of it.
    case(Istio02, "odd", "port: 9999", Some(("grpc", 9090)), "tcp-odd"),
    case(Istio02, "odd", "port: 9999\n    targetPort: 8080", Some(("grpc", 9090)), "tcp-odd"),
    case(Istio02, "db", "port: 3306\n    name: mysql", None, "tcp-mysql"),
    case(Istio02, "db", "port: 5432\n    name: postgresql", None, "tcp-postgres"),
    case(Istio02, "mixer", "port: 9094\n    name: configapi", None, "tcp-configapi"),
    // The container's port name wins over a well-known number that would say HTTP.
    case(Istio02, "api", "port: 80\n    targetPort: 8081", Some(("grpc", 8081)), "grpc"),
    // Modern Istio: mysql is on the list; 3306 and 27017 unnamed are not findings.
    case(Modern, "pg", "port: 5432", None, "tcp-postgres"),
    case(Modern, "cache", "port: 6379", None, "redis-cache"),
    case(Modern, "api", "port: 9000", Some(("grpc", 9000)), "grpc"),
    case(Modern, "db", "port: 9306\n    targetPort: mysql", None, "mysql"),
    case(Modern, "odd", "port: 9999", None, "tcp-odd"),
    // Every word meshlint reads as a protocol, on a port number that says nothing. A
    // port's own name is kept as the suffix; an unnamed port takes the Service's name.
    // Istio 0.2 knows http2 and https: the word maps onto them.
    case(Istio02, "web", "port: 7000\n    name: h2c", None, "http2-h2c"),
    case(Istio02, "web", "port: 7000\n    name: wss", None, "https-wss"),
    case(Istio02, "docs", "port: 7000\n    targetPort: mongodb", None, "mongo-docs"),
    // A word for a protocol 0.2 does not list becomes plain TCP named after the protocol.
    case(Istio02, "db", "port: 7000\n    name: pg", None, "tcp-postgres"),
    case(Istio02, "store", "port: 7000\n    name: cql", None, "tcp-cassandra"),
    case(Istio02, "coord", "port: 7000\n    name: zk", None, "tcp-zookeeper"),
    // The target port's name, on an unnamed port (else: `tcp-<service>`).
    case(Istio02, "bus", "port: 7000\n    targetPort: kafka", None, "tcp-kafka"),
    case(Istio02, "bus", "port: 7000\n    targetPort: amqp", None, "tcp-amqp"),
    case(Istio02, "bus", "port: 7000\n    targetPort: nats", None, "tcp-nats"),
    case(Istio02, "cache", "port: 7000\n    targetPort: memcached", None, "tcp-memcached"),
    case(Istio02, "cache", "port: 7000\n    targetPort: redis", None, "redis"),
    case(Istio02, "svc", "port: 7000\n    targetPort: tcp", None, "tcp"),
    // UDP is no name for 0.2: plain TCP under the Service's name, not `tcp-udp`.
    case(Istio02, "dns", "port: 7000\n    targetPort: udp", None, "tcp-dns"),
    // Modern Istio lists udp and tls: the word is a valid name as it is.
    case(Modern, "dns", "port: 7000\n    targetPort: udp", None, "udp"),
    case(Modern, "edge", "port: 7000\n    targetPort: tls", None, "tls"),
];

fn manifest(case: &Case) -> String {
    let mut text = format!(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {}\nspec:\n  selector:\n    app: {}\n  ports:\n  - {}\n",
        case.service, case.service, case.port
    );
    if let Some((name, number)) = case.container_port {
        text.push_str(&format!(
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {0}\nspec:\n  selector:\n    matchLabels:\n      app: {0}\n  template:\n    metadata:\n      labels:\n        app: {0}\n    spec:\n      containers:\n      - name: {0}\n        image: {0}:1\n        ports:\n        - name: {name}\n          containerPort: {number}\n",
            case.service
        ));
    }
    text
}

/// The help of the one port finding for a case.
fn port_help(case: &Case) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("case.yaml");
    std::fs::write(&path, manifest(case)).unwrap();
    let mut options = Options::new(vec![Input::Path(path)]);
    options.context = ContextMode::Off;
    options.profile = Some(case.profile);
    let report = engine::check(&options);
    let found: Vec<_> = report
        .diagnostics
        .iter()
        .filter(|d| d.rule == "unnamed-service-port" || d.rule == "unknown-port-protocol")
        .collect();
    assert_eq!(found.len(), 1, "{}:\n{}\n{found:#?}", case.profile.name(), manifest(case));
    found[0].help.clone().unwrap_or_default()
}

#[test]
fn each_case_suggests_its_name() {
    let mut wrong = Vec::new();
    for case in CASES {
        let help = port_help(case);
        if !help.starts_with(&format!("name it `{}` (", case.want)) {
            wrong.push(format!(
                "{} `{}`: want `{}`, got: {help}",
                case.profile.name(),
                case.port.replace('\n', " "),
                case.want
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn no_database_or_grpc_port_is_told_to_be_http() {
    for case in CASES {
        let help = port_help(case);
        let suggested = help.split('`').nth(1).unwrap_or_default();
        let database = ["27017", "3306", "6379", "5432"].iter().any(|n| case.port.contains(n));
        let grpc = case.container_port.is_some_and(|(name, _)| name == "grpc");
        if database || grpc {
            assert!(!suggested.starts_with("http"), "{}: {help}", case.port);
        }
    }
}

#[test]
fn with_no_evidence_the_help_says_what_http_needs() {
    let help = port_help(&case(Istio02, "odd", "port: 9999", None, "tcp-odd"));
    assert!(help.contains("`http-` is right only for HTTP traffic"), "{help}");
    // Modern Istio sniffs such a port: the help says what that costs.
    let help = port_help(&case(Modern, "odd", "port: 9999", None, "tcp-odd"));
    assert!(help.contains("server-first protocol"), "{help}");
}

#[test]
fn an_unnamed_port_is_spoken_of_by_number_or_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.yaml");
    std::fs::write(
        &path,
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: two\nspec:\n  ports:\n  - port: 80\n  - targetPort: 9000\n",
    )
    .unwrap();
    let mut options = Options::new(vec![Input::Path(path)]);
    options.context = ContextMode::Off;
    options.profile = Some(Istio02);
    let report = engine::check(&options);
    let labels: Vec<&str> = report.diagnostics.iter().map(|d| d.primary.message.as_str()).collect();
    assert_eq!(labels, ["port 80 has no `name`", "the second port has no `name`"]);
}
