//! `melangec test` on a real BuildKit: a recipe's `test:` sections run
//! against the packages its build wrote, each in its own environment; a
//! second run reports every test cached; an edit re-runs only the test it
//! touches; failures and bad input say where.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs one at a time, as the build tests do: BuildKit shares work between
/// solves running at once, which would blur what is cached.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

const RECIPE: &str = r#"package:
  name: hello
  version: 1.0.0
  epoch: 0
environment:
  contents:
    packages: [busybox]
pipeline:
  - runs: |
      mkdir -p ${{targets.destdir}}/usr/bin
      printf '#!/bin/sh\necho hello ${{package.version}}\n' > ${{targets.destdir}}/usr/bin/hello
      chmod +x ${{targets.destdir}}/usr/bin/hello
subpackages:
  - name: hello-doc
    pipeline:
      - runs: |
          mkdir -p ${{targets.subpkgdir}}/usr/share/doc/hello
          echo docs > ${{targets.subpkgdir}}/usr/share/doc/hello/README
    test:
      pipeline:
        - name: only the docs are installed
          runs: |
            test -f /usr/share/doc/hello/README
            test ! -e /usr/bin/hello
test:
  environment:
    contents:
      packages: [bash]
  pipeline:
    - name: greets
      runs: hello | grep 'hello ${{package.version}}'
    - name: has bash
      runs: bash -c 'echo DOC_MARK'
"#;

/// A directory with the recipe, its packages built into `packages/`.
fn built(name: &str, recipe: &str) -> PathBuf {
    let dir = common::root().join("target/test-tests").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("hello.yaml"), recipe).unwrap();
    let melangec = env!("CARGO_BIN_EXE_melangec");
    let key = dir.join("local.rsa");
    let out = Command::new(melangec)
        .arg("keygen")
        .arg(&key)
        .args(["--key-size", "2048"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(melangec)
        .current_dir(&dir)
        .args(["build", "hello.yaml", "--signing-key", "local.rsa"])
        .arg("--repository-append")
        .arg(common::repo())
        .arg("--keyring-append")
        .arg(common::repo_key())
        .args(["--buildkit-addr", &common::daemon(), "--progress", "plain"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

/// `melangec test hello.yaml` in `dir`, as Wolfi's Makefile runs it.
fn test(dir: &Path, extra: &[&str]) -> Output {
    let packages = dir.join("packages");
    Command::new(env!("CARGO_BIN_EXE_melangec"))
        .current_dir(dir)
        .args(["test", "hello.yaml"])
        .arg(format!("--repository-append={}", packages.display()))
        .arg("--keyring-append=local.rsa.pub")
        .arg("--repository-append")
        .arg(common::repo())
        .arg("--keyring-append")
        .arg(common::repo_key())
        .args(["--test-package-append=busybox", "--debug"])
        .args(["--buildkit-addr", &common::daemon(), "--progress", "plain"])
        .args(extra)
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn tests_pass_then_come_from_the_cache_and_an_edit_reruns_its_test() {
    let _serial = serial();
    let dir = built("cached", RECIPE);
    let first = test(&dir, &["--no-cache"]);
    let log = stderr(&first);
    assert!(first.status.success(), "{log}");
    assert!(log.contains("PASS hello\n"), "{log}");
    assert!(log.contains("PASS hello-doc\n"), "{log}");
    // --debug traces the scripts; test.environment.contents gave bash.
    assert!(log.contains("+ bash -c 'echo DOC_MARK'"), "{log}");
    assert!(log.contains("DOC_MARK"), "{log}");
    assert!(log.contains("2 passed (0 cached), 0 failed"), "{log}");

    let again = test(&dir, &[]);
    let log = stderr(&again);
    assert!(again.status.success(), "{log}");
    assert!(
        log.contains("PASS hello (cached: passed before with identical inputs"),
        "{log}"
    );
    assert!(log.contains("2 passed (2 cached), 0 failed"), "{log}");

    // An edit to the subpackage's test re-runs that test only.
    let edited = RECIPE.replace("test ! -e /usr/bin/hello", "test ! -e /usr/bin/hello-not");
    std::fs::write(dir.join("hello.yaml"), edited).unwrap();
    let edit = test(&dir, &[]);
    let log = stderr(&edit);
    assert!(edit.status.success(), "{log}");
    assert!(log.contains("PASS hello (cached"), "{log}");
    assert!(log.contains("PASS hello-doc\n"), "{log}");
    assert!(log.contains("2 passed (1 cached), 0 failed"), "{log}");
}

#[test]
fn a_failing_test_fails_the_run_naming_its_step_and_line_and_others_still_pass() {
    let _serial = serial();
    let recipe = RECIPE.replace(
        "      runs: bash -c 'echo DOC_MARK'",
        "      runs: |\n        echo about to fail\n        exit 3",
    );
    let dir = built("failing", &recipe);
    let out = test(&dir, &[]);
    let log = stderr(&out);
    assert!(!out.status.success(), "{log}");
    let line = recipe
        .lines()
        .position(|l| l.contains("name: has bash"))
        .unwrap()
        + 1;
    assert!(log.contains("FAIL hello\n"), "{log}");
    assert!(
        log.contains(&format!("failed with exit code 3 (hello.yaml:{line})")),
        "{log}"
    );
    assert!(log.contains("| about to fail"), "{log}");
    assert!(log.contains("PASS hello-doc"), "{log}");
    assert!(
        log.contains("error: 1 of 2 tests of hello.yaml failed"),
        "{log}"
    );
    // A failure is never a cached result: it runs again.
    let again = test(&dir, &[]);
    let log = stderr(&again);
    assert!(!again.status.success());
    assert!(log.contains("| about to fail"), "{log}");
}

/// Each a diagnostic quoting its line, and a failure exit.
#[test]
fn bad_tests_point_at_their_line() {
    let _serial = serial();
    let dir = built("bad", RECIPE);
    let cases: [(&str, &str, &str); 4] = [
        (
            "      runs: hello | grep 'hello ${{package.version}}'",
            "      uses: test/no-such-pipeline",
            "test/no-such-pipeline",
        ),
        (
            "      runs: hello | grep 'hello ${{package.version}}'",
            "      uses: git-checkout",
            "repository",
        ),
        (
            "      packages: [bash]",
            "      packages: [no-such-package]",
            "no-such-package",
        ),
        (
            "  name: hello\n",
            "  name: hello-never-built\n",
            "hello-never-built",
        ),
    ];
    for (from, to, names) in cases {
        let recipe = RECIPE.replacen(from, to, 1);
        std::fs::write(dir.join("hello.yaml"), &recipe).unwrap();
        let out = test(&dir, &[]);
        let log = stderr(&out);
        assert!(!out.status.success(), "{to}: {log}");
        assert!(log.contains(names), "{to}: {log}");
        // The diagnostic quotes the recipe around the line.
        let quoted = to.trim().trim_end_matches('\n');
        let at = if to.contains("never-built") {
            "test:"
        } else {
            quoted
        };
        assert!(log.contains(at), "{to}: {log}");
        assert!(log.contains("hello.yaml:"), "{to}: {log}");
    }
}
