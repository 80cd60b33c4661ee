//! Large single inputs through the `meshlint` binary: the cost must grow with the size of
//! the input, not with its square. Each test builds its input in a temporary directory
//! at a size where the quadratic code took many times the bound given here (see
//! BENCHMARKS.md, "Large files"), checks what meshlint reports, and fails when the run
//! does not finish within a generous wall-clock bound (debug build) or, for memory, when
//! the peak resident size passes its bound.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use meshlint::source::{Position, SourceFile};

/// The binary, run in `dir`, without colours, killed after `limit`.
fn meshlint_in(dir: &Path, limit: Duration) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_meshlint"));
    cmd.current_dir(dir).env("NO_COLOR", "1").env_remove("RAYON_NUM_THREADS").timeout(limit);
    cmd
}

/// Run `meshlint ARGS` in `dir`; panics with the elapsed time when it does not finish
/// within `limit`. Returns stdout and the exit code.
fn run_within(dir: &Path, args: &[&str], limit: Duration) -> (String, i32) {
    let started = Instant::now();
    let output = meshlint_in(dir, limit).args(args).output().expect("meshlint starts");
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.code().is_some(),
        "meshlint {args:?} did not finish within {limit:?} (killed after {elapsed:?}): {stderr}"
    );
    assert!(!stderr.contains("panicked"), "meshlint {args:?} panicked:\n{stderr}");
    let code = output.status.code().unwrap_or(-1);
    (String::from_utf8(output.stdout).expect("stdout is UTF-8"), code)
}

/// A `v1` List of `n` Services written as minified JSON on one line. Every Service has
/// one unnamed port (`unnamed-service-port` points at its value `80`) and a non-ASCII
/// annotation, so that columns (counted in characters) differ from byte offsets.
fn one_line_list(n: usize) -> String {
    let mut text = String::from(r#"{"apiVersion":"v1","kind":"List","items":["#);
    for i in 0..n {
        if i > 0 {
            text.push(',');
        }
        write!(
            text,
            r#"{{"apiVersion":"v1","kind":"Service","metadata":{{"name":"svc-{i}","annotations":{{"note":"café ☕"}}}},"spec":{{"selector":{{"app":"a{i}"}},"ports":[{{"port":80}}]}}}}"#
        )
        .unwrap();
    }
    text.push_str("]}\n");
    text
}

/// Columns (1-based, in characters) of every port value `80` in `text`, a one-line file.
fn port_value_columns(text: &str) -> Vec<usize> {
    let needle = r#""port":"#;
    let mut columns = Vec::new();
    let (mut chars, mut byte) = (0, 0);
    while let Some(found) = text[byte..].find(needle) {
        let value = byte + found + needle.len();
        chars += text[byte..value].chars().count();
        byte = value;
        columns.push(chars + 1);
    }
    columns
}

#[test]
fn columns_on_one_long_line_cost_linear_time() {
    // 80,000 positions on one 13 MB line: `SourceFile::position` counted the characters
    // from the line's start for each, about 35 s in all (debug or release: the count is
    // the standard library's); now each is a byte difference or a count from the nearest
    // mark.
    const SERVICES: usize = 80_000;
    let text = one_line_list(SERVICES);
    let needle = r#""port":"#;
    let offsets: Vec<usize> = text.match_indices(needle).map(|(i, _)| i + needle.len()).collect();
    let expected = port_value_columns(&text);
    assert_eq!(offsets.len(), SERVICES);
    let file = SourceFile::new("list.json".into(), None, text);

    let started = Instant::now();
    let positions: Vec<Position> = offsets.iter().map(|&b| file.position(b)).collect();
    let elapsed = started.elapsed();

    let expected: Vec<Position> = expected.into_iter().map(|column| Position { line: 1, column }).collect();
    assert!(positions == expected, "columns differ from the characters counted in the text");
    assert!(elapsed < Duration::from_secs(2), "{SERVICES} positions on one line took {elapsed:?}");
}

#[test]
fn columns_on_one_long_line_through_the_binary() {
    // The same shape of file, smaller, through `check`: every finding's column is that
    // of its port value, counted in characters.
    const SERVICES: usize = 20_000;
    let dir = tempfile::tempdir().unwrap();
    let text = one_line_list(SERVICES);
    assert!(!text.is_ascii() && text.lines().count() == 1);
    std::fs::write(dir.path().join("list.json"), &text).unwrap();

    let (out, code) = run_within(dir.path(), &["check", "--format", "concise", "list.json"], Duration::from_secs(60));
    assert_eq!(code, 1, "{out}");
    let mut columns: Vec<usize> = out
        .lines()
        .filter(|l| l.contains("warning[unnamed-service-port]"))
        .map(|l| {
            let rest = l.strip_prefix("list.json:1:").unwrap_or_else(|| panic!("not on line 1: {l}"));
            rest.split(':').next().unwrap().parse().unwrap()
        })
        .collect();
    columns.sort_unstable();
    let expected = port_value_columns(&text);
    assert_eq!(expected.len(), SERVICES);
    assert_eq!(columns, expected);
}

/// `services` Services of `ports` unnamed ports each (ports 1, 2, ...), every port line
/// but every 1000th ending with `# meshlint: ignore[unnamed-service-port]`.
fn suppressed_ports(services: usize, ports: usize) -> String {
    let mut text = String::new();
    for s in 0..services {
        write!(text, "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: svc-{s}\nspec:\n  selector:\n    app: a{s}\n  ports:\n").unwrap();
        for p in 0..ports {
            write!(text, "  - port: {}", p + 1).unwrap();
            if (s * ports + p) % 1000 != 999 {
                text.push_str("  # meshlint: ignore[unnamed-service-port] legacy");
            }
            text.push('\n');
        }
    }
    text
}

#[test]
fn suppressions_cost_linear_time() {
    // 160,000 findings and 159,840 suppressions: every finding was compared with every
    // suppression: 160 s in a debug build (34 s for half of it); about 2.5 s now.
    let (services, ports) = (16, 10_000);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ports.yaml"), suppressed_ports(services, ports)).unwrap();

    let (out, code) = run_within(dir.path(), &["check", "--format", "concise", "ports.yaml"], Duration::from_secs(15));
    assert_eq!(code, 1, "{out}");
    let findings: Vec<&str> = out.lines().filter(|l| l.starts_with("ports.yaml:")).collect();
    // Only the unsuppressed ports (every 1000th) remain, and no suppression is unused.
    assert_eq!(findings.len(), services * ports / 1000, "{out}");
    for line in findings {
        assert!(line.contains("warning[unnamed-service-port]"), "{line}");
        let port: usize = line.split("port ").nth(1).and_then(|r| r.split(' ').next()).unwrap().parse().unwrap();
        assert_eq!(port % 1000, 0, "{line}");
    }
}

/// A stream of `n` Services, each with an unnamed port, suppressed in turn by a comment
/// above its document, by a comment at the end of the port's line, and by the
/// `meshlint.io/ignore` annotation; every 1000th Service is left unsuppressed.
fn suppressed_stream(n: usize) -> String {
    let mut text = String::new();
    for i in 0..n {
        let kept = i % 1000 == 999;
        text.push_str("---\n");
        if !kept && i % 3 == 0 {
            text.push_str("# meshlint: ignore[unnamed-service-port] legacy port\n");
        }
        write!(text, "apiVersion: v1\nkind: Service\nmetadata:\n  name: svc-{i}\n").unwrap();
        if !kept && i % 3 == 2 {
            text.push_str("  annotations:\n    meshlint.io/ignore: unnamed-service-port\n");
        }
        write!(text, "spec:\n  selector:\n    app: a{i}\n  ports:\n  - port: 80").unwrap();
        if !kept && i % 3 == 1 {
            text.push_str("  # meshlint: ignore[unnamed-service-port] legacy port");
        }
        text.push('\n');
    }
    text
}

#[test]
fn suppressions_of_every_kind_on_many_documents() {
    // 40,000 Services and 39,960 suppressions of the three kinds: every comment above a
    // document was also compared with every document (54 s in a debug build before,
    // about 3 s now; the bound here only stops a hang).
    const SERVICES: usize = 40_000;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("services.yaml"), suppressed_stream(SERVICES)).unwrap();

    let (out, code) =
        run_within(dir.path(), &["check", "--format", "concise", "services.yaml"], Duration::from_secs(60));
    assert_eq!(code, 1, "{out}");
    let findings: Vec<&str> = out.lines().filter(|l| l.starts_with("services.yaml:")).collect();
    // Only the unsuppressed Services (svc-999, svc-1999, ...) remain, and no suppression
    // is unused.
    let expected: Vec<String> = (0..SERVICES).filter(|i| i % 1000 == 999).map(|i| format!("`svc-{i}`")).collect();
    assert_eq!(findings.len(), expected.len(), "{out}");
    for (line, name) in findings.iter().zip(&expected) {
        assert!(line.contains("warning[unnamed-service-port]") && line.contains(name.as_str()), "{line}");
    }
}

/// Peak resident set size (`VmHWM`) of a running process, in bytes.
fn peak_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// A `v1` List of Deployments as one pretty-printed JSON document (`kubectl get -o
/// json` style) of at least `bytes` bytes.
fn deployment_list(bytes: usize) -> String {
    let mut text = String::from("{\n    \"apiVersion\": \"v1\",\n    \"kind\": \"List\",\n    \"items\": [");
    let mut i = 0;
    while text.len() < bytes {
        if i > 0 {
            text.push(',');
        }
        write!(
            text,
            r#"
        {{
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {{"name": "app-{i}", "namespace": "ns-{ns}", "labels": {{"app": "app-{i}", "version": "v1"}}}},
            "spec": {{
                "replicas": 2,
                "selector": {{"matchLabels": {{"app": "app-{i}"}}}},
                "template": {{
                    "metadata": {{"labels": {{"app": "app-{i}", "version": "v1"}}}},
                    "spec": {{"containers": [{{
                        "name": "main",
                        "image": "registry.example.com/app-{i}:1.0.{i}",
                        "ports": [{{"containerPort": 8080, "name": "http"}}],
                        "env": [{{"name": "A", "value": "a-{i}"}}, {{"name": "B", "value": "b-{i}"}}],
                        "resources": {{"requests": {{"cpu": "100m", "memory": "128Mi"}}, "limits": {{"cpu": "1", "memory": "256Mi"}}}}
                    }}]}}
                }}
            }}
        }}"#,
            ns = i % 7
        )
        .unwrap();
        i += 1;
    }
    text.push_str("\n    ]\n}\n");
    text
}

#[test]
#[cfg(target_os = "linux")]
fn one_json_document_costs_memory_in_proportion() {
    // One 12 MB JSON document: the parser kept every token of a document whose root is a
    // flow collection until the collection closed, tens of bytes of memory per byte of
    // input.
    let dir = tempfile::tempdir().unwrap();
    let text = deployment_list(12_000_000);
    let path = dir.path().join("list.json");
    std::fs::write(&path, &text).unwrap();

    let mut child = StdCommand::new(env!("CARGO_BIN_EXE_meshlint"))
        .args(["check", "--format", "concise"])
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("meshlint starts");
    // VmHWM only grows: the last reading before the process exits is its peak, give or
    // take the last few milliseconds.
    let (mut peak, started) = (0, Instant::now());
    let status = loop {
        if let Some(rss) = peak_rss(child.id()) {
            peak = peak.max(rss);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(120) {
            child.kill().unwrap();
            panic!("meshlint did not finish within 120 s (peak so far {} MB)", peak >> 20);
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    assert!(status.code().is_some_and(|c| c <= 1), "meshlint failed: {status}");
    // Ten times the input, plus the process's own floor (binary, allocator arenas).
    let bound = 10 * text.len() as u64 + (40 << 20);
    assert!(peak > 0, "could not read /proc/{}/status", child.id());
    assert!(peak <= bound, "peak RSS {} MB for a {} MB file (bound {} MB)", peak >> 20, text.len() >> 20, bound >> 20);
    eprintln!("peak RSS {} MB for a {} MB file", peak >> 20, text.len() >> 20);
}

/// The human format on a minified file: every finding used to print its whole line (the
/// whole file), so 5,000 findings on a 0.8 MB line wrote 4 GB. A long line is shown as a
/// window around the finding: the output grows with the findings, not with their square.
#[test]
fn the_human_format_shows_a_window_of_a_long_line() {
    let dir = tempfile::tempdir().unwrap();
    let text = one_line_list(5_000);
    std::fs::write(dir.path().join("one.json"), &text).unwrap();
    let (out, code) = run_within(dir.path(), &["check", "--no-context", "one.json"], Duration::from_secs(60));
    assert_eq!(code, 1);
    assert_eq!(out.matches("warning[unnamed-service-port]").count(), 5_000);
    assert!(out.len() < 5_000 * 1_000, "{} bytes of output for 5,000 findings", out.len());
    assert!(
        out.contains(&format!("   = the line is {} bytes long: a window around column", text.len() - 1)),
        "{}",
        &out[..2000]
    );
    // The window holds the finding's text: `{"port":80}` of the first Service.
    let first = out.split("\n\n").next().unwrap();
    assert!(first.contains(r#""ports":[{"port":80}]"#), "{first}");
}
