//! The context cache of pre-commit mode (`.meshlint_cache/` at the repository root):
//! a run naming one file with a warm cache gives the output of a run without it, byte
//! for byte, on the corpus and on small repositories whose context files are edited,
//! added, renamed and deleted between runs; a truncated or garbage cache is ignored.

mod common;

use std::path::{Path, PathBuf};

use common::{code, copy_tree, meshlint_in, shared, stderr};

/// A temporary repository (it has `.git`) holding a copy of `from`, or empty.
fn repository(from: Option<&Path>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    if let Some(from) = from {
        copy_tree(from, dir.path());
    }
    std::fs::create_dir_all(dir.path().join(".git")).expect("a repository");
    dir
}

/// `check` of `args` in `dir`: exit code, stdout.
fn run(dir: &Path, args: &[&str]) -> (i32, Vec<u8>) {
    let out = meshlint_in(dir).arg("check").args(args).output().expect("meshlint runs");
    assert!(!stderr(&out).contains("panicked"), "{args:?}: {}", stderr(&out));
    assert_ne!(code(&out), 2, "{args:?}: {}", stderr(&out));
    (code(&out), out.stdout)
}

/// The same check with the cache (as it is) and without: the same exit code and bytes.
fn same_with_and_without_cache(dir: &Path, args: &[&str]) -> Vec<u8> {
    let warm = run(dir, args);
    let mut cold_args = vec!["--no-cache"];
    cold_args.extend_from_slice(args);
    let cold = run(dir, &cold_args);
    assert_eq!(warm.0, cold.0, "{args:?}: exit codes differ");
    assert_eq!(
        String::from_utf8_lossy(&warm.1),
        String::from_utf8_lossy(&cold.1),
        "{args:?}: the cached run differs from the uncached one"
    );
    warm.1
}

fn cache_file(dir: &Path) -> PathBuf {
    dir.join(".meshlint_cache/context-v3")
}

/// The kept walk of the context folder, a file of its own.
fn walk_file(dir: &Path) -> PathBuf {
    dir.join(".meshlint_cache/walk-v1")
}

#[test]
fn on_the_corpus_a_cached_run_is_byte_identical_to_an_uncached_one() {
    let repo = repository(Some(&shared().join("corpus")));
    let dir = repo.path();
    settle();
    let mut files: Vec<String> = walk(dir).into_iter().filter(|p| !p.contains(".meshlint_cache")).collect();
    files.sort();
    // A spread of files of every project, and the Istio samples (Services of several
    // workloads, the injector's ConfigMaps, namespaces).
    let mut sample: Vec<&String> = files.iter().step_by(37).collect();
    sample.extend(files.iter().filter(|f| f.starts_with("istio__istio/samples/bookinfo/platform/kube/")).take(4));
    // The first run is cold and writes the cache; every later one is warm.
    run(dir, &["--format", "concise", sample[0]]);
    assert!(cache_file(dir).is_file(), "the first run wrote the cache");
    for file in &sample {
        same_with_and_without_cache(dir, &["--format", "json", file]);
    }
    // The human format, with its counts of files, documents and objects.
    for file in sample.iter().take(3) {
        same_with_and_without_cache(dir, &[file]);
    }
}

/// Every manifest file under `dir`, relative to it.
fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("readable").flatten() {
            let p = entry.path();
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.starts_with('.') {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else if [".yaml", ".yml", ".json"].iter().any(|e| name.ends_with(e)) {
                out.push(p.strip_prefix(dir).expect("below").to_string_lossy().into_owned());
            }
        }
    }
    out
}

const WEB: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n        - name: web\n          image: web:1\n";

fn service(name: &str, app: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: shop\nspec:\n  selector:\n    app: {app}\n  ports:\n    - name: http\n      port: 80\n"
    )
}

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

fn rules(json: &[u8]) -> Vec<String> {
    let value: serde_json::Value = serde_json::from_slice(json).expect("JSON");
    value["diagnostics"]
        .as_array()
        .expect("array")
        .iter()
        .map(|d| d["rule"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[test]
fn editing_adding_renaming_and_deleting_context_files_is_seen() {
    let repo = repository(None);
    let dir = repo.path();
    write(dir, "apps/web.yaml", WEB);
    write(dir, "apps/web-svc.yaml", &service("web", "web"));
    for i in 0..30 {
        write(dir, &format!("other/o{i}.yaml"), &service(&format!("o{i}"), &format!("o{i}")));
    }
    settle();
    let args = ["--profile", "istio-0.2", "--format", "json", "apps/web.yaml"];
    let first = same_with_and_without_cache(dir, &args);
    assert!(!rules(&first).contains(&"pod-in-multiple-services".to_owned()), "{}", String::from_utf8_lossy(&first));
    assert!(cache_file(dir).is_file());

    // A new Service selecting the named workload.
    write(dir, "other/also-web.yaml", &service("also-web", "web"));
    let added = same_with_and_without_cache(dir, &args);
    assert!(rules(&added).contains(&"pod-in-multiple-services".to_owned()), "{}", String::from_utf8_lossy(&added));

    // Edited to select something else.
    write(dir, "other/also-web.yaml", &service("also-web", "nothing-here"));
    let edited = same_with_and_without_cache(dir, &args);
    assert!(!rules(&edited).contains(&"pod-in-multiple-services".to_owned()));

    // An unrelated cached file edited to select the workload.
    write(dir, "other/o7.yaml", &service("o7", "web"));
    let edited = same_with_and_without_cache(dir, &args);
    assert!(rules(&edited).contains(&"pod-in-multiple-services".to_owned()));

    // Renamed, and deleted.
    std::fs::rename(dir.join("other/o7.yaml"), dir.join("other/renamed.yaml")).expect("rename");
    let renamed = same_with_and_without_cache(dir, &args);
    assert!(rules(&renamed).contains(&"pod-in-multiple-services".to_owned()));
    std::fs::remove_file(dir.join("other/renamed.yaml")).expect("delete");
    let deleted = same_with_and_without_cache(dir, &args);
    assert!(!rules(&deleted).contains(&"pod-in-multiple-services".to_owned()));

    // Naming a Service: a cached workload it selects, and another cached Service that
    // selects that workload too (found through the workload).
    write(dir, "other/o3.yaml", &service("o3", "web"));
    run(dir, &args);
    let by_service =
        same_with_and_without_cache(dir, &["--profile", "istio-0.2", "--format", "json", "apps/web-svc.yaml"]);
    assert!(
        rules(&by_service).contains(&"pod-in-multiple-services".to_owned()),
        "{}",
        String::from_utf8_lossy(&by_service)
    );

    // A Namespace with an injection label (a global file) appears: the profile changes.
    write(
        dir,
        "ns/shop.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels:\n    istio-injection: enabled\n",
    );
    let human = same_with_and_without_cache(dir, &["apps/web.yaml"]);
    assert!(String::from_utf8_lossy(&human).contains("profile istio-modern"), "{}", String::from_utf8_lossy(&human));
}

#[test]
fn a_truncated_or_garbage_cache_is_ignored_and_rewritten() {
    let repo = repository(None);
    let dir = repo.path();
    write(dir, "apps/web.yaml", WEB);
    write(dir, "apps/web-svc.yaml", &service("web", "web"));
    write(dir, "apps/web-too.yaml", &service("web-too", "web"));
    settle();
    let args = ["--profile", "istio-0.2", "--format", "json", "apps/web.yaml"];
    let expected = same_with_and_without_cache(dir, &args);
    let text = std::fs::read(cache_file(dir)).expect("the cache");
    let broken: [Vec<u8>; 4] = [
        text[..text.len() / 2].to_vec(),
        b"garbage\n\x00\xff".to_vec(),
        Vec::new(),
        String::from_utf8_lossy(&text).replace("\tS\t", "\tL\t").replace("app=web", "app=other").into_bytes(),
    ];
    for (i, bytes) in broken.iter().enumerate() {
        std::fs::write(cache_file(dir), bytes).expect("break the cache");
        let got = run(dir, &args);
        if i < 3 {
            assert_eq!(String::from_utf8_lossy(&got.1), String::from_utf8_lossy(&expected), "broken cache {i}");
            let rewritten = std::fs::read(cache_file(dir)).expect("rewritten");
            assert!(rewritten.starts_with(b"meshlint context cache v3\n"), "broken cache {i} was rewritten");
        }
    }
}

#[test]
fn a_truncated_or_garbage_kept_walk_is_ignored_and_rewritten() {
    let repo = repository(None);
    let dir = repo.path();
    write(dir, "apps/web.yaml", WEB);
    write(dir, "apps/web-svc.yaml", &service("web", "web"));
    write(dir, "other/web-too.yaml", &service("web-too", "web"));
    settle();
    let args = ["--profile", "istio-0.2", "--format", "json", "apps/web.yaml"];
    // The first run makes the cache folder, which moves the root folder's time.
    run(dir, &args);
    settle();
    let expected = same_with_and_without_cache(dir, &args);
    assert!(
        rules(&expected).contains(&"pod-in-multiple-services".to_owned()),
        "{}",
        String::from_utf8_lossy(&expected)
    );
    let text = std::fs::read(walk_file(dir)).expect("the kept walk");
    assert!(kept_walk(dir));
    // Cut short, garbage, empty, and a walk that lists no file in `other` (whole, but
    // its folder's time no longer matches: the folder is walked again).
    let lossy = String::from_utf8_lossy(&text).into_owned();
    let other = lossy.lines().find(|l| l.starts_with("D\t") && l.contains("other\t")).expect("the folder other");
    let emptied = format!("{}\t", other.rsplit_once('\t').expect("fields").0);
    let broken: [Vec<u8>; 4] = [
        text[..text.len() / 2].to_vec(),
        b"garbage\n\x00\xff".to_vec(),
        Vec::new(),
        lossy.replace(other, &emptied.replace("\t1", "\t9")).into_bytes(),
    ];
    for (i, bytes) in broken.iter().enumerate() {
        std::fs::write(walk_file(dir), bytes).expect("break the walk");
        let got = run(dir, &args);
        assert_eq!(String::from_utf8_lossy(&got.1), String::from_utf8_lossy(&expected), "broken walk {i}");
        assert_eq!(std::fs::read(walk_file(dir)).expect("rewritten"), text, "broken walk {i} was rewritten");
    }
}

#[test]
fn no_cache_writes_nothing_and_cache_clean_removes_it() {
    let repo = repository(None);
    let dir = repo.path();
    write(dir, "apps/web.yaml", WEB);
    write(dir, "apps/web-svc.yaml", &service("web", "web"));
    settle();
    run(dir, &["--no-cache", "apps/web.yaml"]);
    assert!(!dir.join(".meshlint_cache").exists());
    // Naming the whole repository reads no context: no cache either.
    run(dir, &["."]);
    assert!(!dir.join(".meshlint_cache").exists());
    run(dir, &["apps/web.yaml"]);
    assert!(cache_file(dir).is_file());
    let ignore = std::fs::read_to_string(dir.join(".meshlint_cache/.gitignore")).expect("a .gitignore");
    assert!(ignore.lines().any(|l| l == "*"), "{ignore}");
    let out = meshlint_in(dir).args(["cache", "clean"]).output().expect("runs");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(!dir.join(".meshlint_cache").exists());
    // --cache-dir puts it elsewhere.
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let cache_dir = elsewhere.path().join("c");
    run(dir, &["--cache-dir", cache_dir.to_str().expect("UTF-8"), "apps/web.yaml"]);
    assert!(cache_dir.join("context-v3").is_file());
    assert!(!dir.join(".meshlint_cache").exists());
    // A cache file of an earlier format (an earlier meshlint) is removed when the cache
    // is written.
    std::fs::create_dir_all(dir.join(".meshlint_cache")).expect("the cache folder");
    let former = dir.join(".meshlint_cache/context-v2");
    std::fs::write(&former, "meshlint context cache v2\n").expect("a former cache file");
    run(dir, &["apps/web.yaml"]);
    assert!(cache_file(dir).is_file());
    assert!(!former.exists(), "the former cache file is still there");
}

#[test]
fn a_context_file_the_cache_holds_as_it_is_is_not_read() {
    // The proof that warm runs use the cache: an unrelated context file rewritten with
    // the same size and modification time is not read again, so its old counts stand
    // (a real edit changes the modification time, and is seen).
    let repo = repository(None);
    let dir = repo.path();
    write(dir, "apps/web.yaml", WEB);
    let other = service("other", "other");
    write(dir, "other/other.yaml", &other);
    settle();
    let args = ["--profile", "istio-0.2", "apps/web.yaml"];
    let primed = run(dir, &args).1;
    assert!(
        String::from_utf8_lossy(&primed).contains("2 documents, 2 objects"),
        "{}",
        String::from_utf8_lossy(&primed)
    );
    let path = dir.join("other/other.yaml");
    let modified = std::fs::metadata(&path).and_then(|m| m.modified()).expect("mtime");
    std::fs::write(&path, format!("#{}\n", "x".repeat(other.len() - 2))).expect("same size");
    std::fs::File::options().write(true).open(&path).and_then(|f| f.set_modified(modified)).expect("same mtime");
    let warm = String::from_utf8_lossy(&run(dir, &args).1).into_owned();
    assert!(warm.contains("2 documents, 2 objects"), "the cached counts: {warm}");
    let mut cold_args = vec!["--no-cache"];
    cold_args.extend_from_slice(&args);
    let cold = String::from_utf8_lossy(&run(dir, &cold_args).1).into_owned();
    assert!(cold.contains("1 documents, 1 objects"), "read again: {cold}");
}

/// Wait until what was just written is old enough for a walk to be kept: a walk is kept
/// only when nothing it depends on changed in the two seconds before it (a change in the
/// same tick of the coarse file clock could otherwise go unseen), and a folder's
/// status-change time cannot be set back by hand.
fn settle() {
    std::thread::sleep(std::time::Duration::from_millis(2300));
}

fn kept_walk(dir: &Path) -> bool {
    std::fs::read_to_string(walk_file(dir)).is_ok_and(|t| t.lines().any(|l| l.starts_with("D\t")))
}

#[test]
fn a_kept_walk_sees_files_added_removed_and_no_longer_ignored() {
    let repo = repository(None);
    let dir = repo.path();
    write(dir, "apps/web.yaml", WEB);
    write(dir, "apps/web-svc.yaml", &service("web", "web"));
    write(dir, "skipped/web-too.yaml", &service("web-too", "web"));
    write(dir, ".gitignore", "skipped/\n");
    for i in 0..10 {
        write(dir, &format!("other/o{i}.yaml"), &service(&format!("o{i}"), &format!("o{i}")));
    }
    let args = ["--profile", "istio-0.2", "--format", "json", "apps/web.yaml"];
    let has = |out: &[u8]| rules(out).contains(&"pod-in-multiple-services".to_owned());
    // Files just written, and the first run makes the cache folder in the root: not kept.
    let first = same_with_and_without_cache(dir, &args);
    assert!(!has(&first), "the ignored Service is not read: {}", String::from_utf8_lossy(&first));
    assert!(!kept_walk(dir), "a walk of files just written is not kept");
    settle();
    run(dir, &args);
    assert!(kept_walk(dir), "a walk of folders that did not change for two seconds is kept");
    let warm = same_with_and_without_cache(dir, &args);
    assert!(!has(&warm));
    assert!(kept_walk(dir));

    // A new folder with a Service selecting the named workload (its parent's time moves).
    write(dir, "other/deep/new/also-web.yaml", &service("also-web", "web"));
    let added = same_with_and_without_cache(dir, &args);
    assert!(has(&added), "{}", String::from_utf8_lossy(&added));
    assert!(!kept_walk(dir), "a walk with a folder changed just now is not kept");
    std::fs::remove_file(dir.join("other/deep/new/also-web.yaml")).expect("delete");
    settle();
    run(dir, &args);
    assert!(kept_walk(dir));
    let removed = same_with_and_without_cache(dir, &args);
    assert!(!has(&removed));

    // The .gitignore rewritten in place (its folder's times do not move): the ignored
    // Service is read.
    std::fs::write(dir.join(".gitignore"), "# nothing ignored\n").expect("rewrite");
    let unignored = same_with_and_without_cache(dir, &args);
    assert!(has(&unignored), "{}", String::from_utf8_lossy(&unignored));

    // git's own exclude file appears (inside the hidden `.git`: no walked folder's time
    // moves): the Service is ignored again.
    settle();
    run(dir, &args);
    assert!(kept_walk(dir));
    write(dir, ".git/info/exclude", "skipped/\n");
    let excluded = same_with_and_without_cache(dir, &args);
    assert!(!has(&excluded), "{}", String::from_utf8_lossy(&excluded));
}

#[test]
fn a_kept_walk_sees_the_global_excludes_file_and_the_git_configuration_change() {
    // The files outside the repository that decide what the walk skips: git's global
    // excludes file (by default `$HOME/.config/git/ignore`) and `~/.gitconfig`, which can
    // name another. Rewritten or created, they move no time of any folder walked.
    let repo = repository(None);
    let dir = repo.path();
    let home = tempfile::tempdir().expect("home");
    let home = home.path();
    write(dir, "apps/web.yaml", WEB);
    write(dir, "apps/web-svc.yaml", &service("web", "web"));
    write(dir, "skipped/web-too.yaml", &service("web-too", "web"));
    write(home, ".config/git/ignore", "skipped/\n");
    write(home, "excludes", "skipped/\n");
    let args = ["--profile", "istio-0.2", "--format", "json", "apps/web.yaml"];
    let check = |extra: &[&str]| {
        let out = meshlint_in(dir)
            .env("HOME", home)
            .env_remove("XDG_CONFIG_HOME")
            .arg("check")
            .args(extra)
            .args(args)
            .output()
            .expect("meshlint runs");
        assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
        assert_ne!(code(&out), 2, "{}", stderr(&out));
        out.stdout
    };
    // With the cache as it is and without: the same bytes; whether the skipped Service
    // was read.
    let read_skipped = || {
        let warm = check(&[]);
        assert_eq!(String::from_utf8_lossy(&warm), String::from_utf8_lossy(&check(&["--no-cache"])));
        rules(&warm).contains(&"pod-in-multiple-services".to_owned())
    };
    assert!(!read_skipped(), "the global excludes file is honoured");
    settle();
    check(&[]);
    assert!(kept_walk(dir), "a walk of folders that did not change for two seconds is kept");
    assert!(!read_skipped());

    // The global excludes file emptied in place: the Service is read.
    std::fs::write(home.join(".config/git/ignore"), "# nothing\n").expect("rewrite");
    assert!(read_skipped(), "a warm run sees the global excludes file change");

    // A ~/.gitconfig appears and names another excludes file, which skips the Service.
    settle();
    check(&[]);
    assert!(kept_walk(dir));
    let config = format!("[core]\n\texcludesFile = {}\n", home.join("excludes").display());
    write(home, ".gitconfig", &config);
    assert!(!read_skipped(), "a warm run sees the git configuration name another excludes file");
}

#[test]
fn a_warm_run_reads_the_kept_walk() {
    // The proof: a file the walk skips (ignored), added by hand to the kept walk of its
    // folder, is read by a warm run and not by one without the cache.
    let repo = repository(None);
    let dir = repo.path();
    write(dir, "apps/web.yaml", WEB);
    write(dir, "apps/web-svc.yaml", &service("web", "web"));
    write(dir, "other/o.yaml", &service("o", "o"));
    write(dir, "other/web-too.yaml", &service("web-too", "web"));
    write(dir, ".gitignore", "web-too.yaml\n");
    let args = ["--profile", "istio-0.2", "--format", "json", "apps/web.yaml"];
    run(dir, &args);
    settle();
    run(dir, &args);
    assert!(kept_walk(dir));
    let text = std::fs::read_to_string(walk_file(dir)).expect("the kept walk");
    let line = text.lines().find(|l| l.starts_with("D\t") && l.contains("other\t")).expect("the folder other");
    let tampered = text.replace(line, &format!("{line}\x1fweb-too.yaml"));
    std::fs::write(walk_file(dir), tampered).expect("tamper");
    let warm = run(dir, &args).1;
    assert!(rules(&warm).contains(&"pod-in-multiple-services".to_owned()), "{}", String::from_utf8_lossy(&warm));
    let cold = run(dir, &["--no-cache", "--profile", "istio-0.2", "--format", "json", "apps/web.yaml"]).1;
    assert!(!rules(&cold).contains(&"pod-in-multiple-services".to_owned()), "{}", String::from_utf8_lossy(&cold));
}

#[test]
fn the_injection_configmaps_are_read_on_every_warm_run() {
    // Neither relates to the named workload by labels or names: they are read because
    // they decide its injection (and a dashboard's ConfigMap in istio-system is not).
    for fixture in ["policy-disabled-annotation-absent", "initializer-name-mismatch"] {
        let repo = repository(Some(&common::root().join("fixtures/trees/inject").join(fixture)));
        let dir = repo.path();
        write(
            dir,
            "addons/dashboard.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: grafana-dashboards\n  namespace: istio-system\ndata:\n  a.json: '{}'\n",
        );
        settle();
        let args = ["--profile", "istio-0.2", "--format", "json", "workload.yaml"];
        run(dir, &args);
        let warm = same_with_and_without_cache(dir, &args);
        assert!(
            rules(&warm).contains(&"workload-not-injected".to_owned()),
            "{fixture}: {}",
            String::from_utf8_lossy(&warm)
        );
        let text = std::fs::read_to_string(cache_file(dir)).expect("the cache");
        let global = |name: &str| {
            text.lines().any(|l| l.starts_with(&format!("F\t{name}\t")) && l.split('\t').nth(5) == Some("1"))
        };
        assert!(global("istio-inject.yaml"), "{fixture}: {text}");
        assert!(!global("addons/dashboard.yaml"), "{fixture}: {text}");
    }
}

#[test]
fn a_namespace_is_read_for_the_objects_in_it_and_only_for_them() {
    // A Namespace decides the injection of the workloads in it (modern profile: its
    // `istio-injection` label) but nothing elsewhere: a warm run reads the one a named
    // workload is in, and a change to another is not a change to everything.
    let repo = repository(None);
    let dir = repo.path();
    let namespace = |name: &str, label: &str| {
        format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n  labels:\n    istio-injection: {label}\n")
    };
    write(dir, "apps/web.yaml", WEB);
    write(dir, "namespaces/shop.yaml", &namespace("shop", "enabled"));
    write(dir, "namespaces/other.yaml", &namespace("other", "disabled"));
    settle();
    let args = ["--profile", "istio-modern", "--format", "json", "apps/web.yaml"];
    run(dir, &args);
    let injected = same_with_and_without_cache(dir, &args);
    let found = rules(&injected);
    assert!(
        !found.iter().any(|r| r.contains("not-injected")),
        "the label of namespace `shop` injects web: {}",
        String::from_utf8_lossy(&injected)
    );
    let text = std::fs::read_to_string(cache_file(dir)).expect("the cache");
    let global =
        |name: &str| text.lines().any(|l| l.starts_with(&format!("F\t{name}\t")) && l.split('\t').nth(5) == Some("1"));
    assert!(!global("namespaces/shop.yaml") && !global("namespaces/other.yaml"), "{text}");
    // The label turned off: seen by the warm run (the file changed, so it is read).
    write(dir, "namespaces/shop.yaml", &namespace("shop", "disabled"));
    let disabled = same_with_and_without_cache(dir, &args);
    assert!(rules(&disabled).iter().any(|r| r == "workload-not-injected"), "{}", String::from_utf8_lossy(&disabled));
    // Back on, and settled: the cached Namespace is what the warm run reads for web.
    write(dir, "namespaces/shop.yaml", &namespace("shop", "enabled"));
    settle();
    run(dir, &args);
    assert_eq!(same_with_and_without_cache(dir, &args), injected);
}

#[test]
fn a_file_changed_just_now_is_not_kept_until_it_is_two_seconds_old() {
    // Its size and time could repeat after a second change in the same tick of the file
    // clock, so a file modified in the two seconds before a run is read again next time.
    let repo = repository(None);
    let dir = repo.path();
    write(dir, "apps/web.yaml", WEB);
    write(dir, "other/other.yaml", &service("other", "other"));
    let has_entry = |dir: &Path| {
        std::fs::read_to_string(cache_file(dir))
            .is_ok_and(|t| t.lines().any(|l| l.starts_with("F\tother/other.yaml\t")))
    };
    run(dir, &["apps/web.yaml"]);
    assert!(cache_file(dir).is_file(), "the cache is made on the first run");
    assert!(!has_entry(dir), "{}", std::fs::read_to_string(cache_file(dir)).unwrap_or_default());
    settle();
    run(dir, &["apps/web.yaml"]);
    assert!(has_entry(dir));
}
