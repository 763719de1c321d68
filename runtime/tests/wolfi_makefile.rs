//! Wolfi's own Makefile with `MELANGE=melangec`: a git checkout made of the
//! corpus's Makefile, `pipelines/`, env files and a few recipes, where the
//! only edit is the unreachable `https://packages.wolfi.dev/os` replaced by
//! the test repository served on loopback. `make package/NAME test/NAME`
//! builds and tests each recipe with exactly the flags the Makefile passes.
//!
//! The corpus is read from beside the project (or where `MELANGEC_CORPUS`
//! says); under `CI=true` its absence is a failure.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The recipes copied in, each with its source directory.
const RECIPES: &[&str] = &["netcat-openbsd", "terser", "dns-root-hints", "wolfi-base"];

fn corpus() -> Option<PathBuf> {
    let shared = std::env::var_os("MELANGEC_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| common::root().join("../shared/corpus"));
    let dir = shared.join("wolfi");
    if dir.join("Makefile").is_file() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("CI").is_none_or(|v| v != "true"),
        "no Wolfi corpus at {} under CI=true",
        dir.display()
    );
    eprintln!("SKIPPED: no Wolfi corpus at {}", dir.display());
    None
}

fn copy_tree(from: &Path, to: &Path) {
    let status = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(status.success(), "cp {}", from.display());
}

/// The checkout, made once: the Makefile with Wolfi's repository URL
/// replaced, its pipelines and env files, the recipes, one commit.
fn checkout() -> Option<&'static PathBuf> {
    static CHECKOUT: OnceLock<Option<PathBuf>> = OnceLock::new();
    CHECKOUT
        .get_or_init(|| {
            let corpus = corpus()?;
            let repo = common::serve::serve(common::repo());
            let dir = common::root().join("target/test-makefile/os");
            let _ = std::fs::remove_dir_all(dir.parent().unwrap());
            std::fs::create_dir_all(&dir).unwrap();
            let makefile = std::fs::read_to_string(corpus.join("Makefile")).unwrap();
            std::fs::write(
                dir.join("Makefile"),
                makefile.replace("https://packages.wolfi.dev/os", &repo),
            )
            .unwrap();
            copy_tree(&corpus.join("pipelines"), &dir);
            for env in ["build-common.env", "build-x86_64.env", "build-aarch64.env"] {
                std::fs::copy(corpus.join(env), dir.join(env)).unwrap();
            }
            for name in RECIPES {
                std::fs::copy(
                    corpus.join(format!("{name}.yaml")),
                    dir.join(format!("{name}.yaml")),
                )
                .unwrap();
                let sources = corpus.join(name);
                if sources.is_dir() {
                    copy_tree(&sources, &dir);
                }
            }
            // A copy of wolfi-base whose test fails at a known line.
            let base = std::fs::read_to_string(corpus.join("wolfi-base.yaml")).unwrap();
            let broken = base
                .replace("name: wolfi-base", "name: wolfi-base-broken")
                .replace("for y in apk sh ; do", "for y in apk sh no-such-command ; do");
            assert_ne!(broken, base);
            std::fs::write(dir.join("wolfi-base-broken.yaml"), broken).unwrap();
            git(&dir, &["init", "-q"]);
            git(&dir, &["add", "-A"]);
            git(
                &dir,
                &[
                    "-c",
                    "user.name=melangec",
                    "-c",
                    "user.email=melangec@localhost",
                    "commit",
                    "-qm",
                    "recipes",
                ],
            );
            Some(dir)
        })
        .as_ref()
}

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .current_dir(dir)
        .args(args)
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

/// `make MELANGE=melangec MELANGE_RUNNER=docker TARGETS...` in the
/// checkout, with melangec on PATH and BuildKit where the tests use it.
fn make(dir: &Path, targets: &[&str]) -> Output {
    let bin = Path::new(env!("CARGO_BIN_EXE_melangec")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new("make")
        .current_dir(dir)
        .env("PATH", path)
        .env("BUILDKIT_HOST", common::daemon())
        .env("MELANGE_TMPDIR", dir.parent().unwrap().join("tmp"))
        .args(["MELANGE=melangec", "MELANGE_RUNNER=docker"])
        .args(targets)
        .output()
        .unwrap()
}

fn log(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Builds NAME with `make package/NAME` (the package must then be where the
/// Makefile looks for it), then tests it with `make test/NAME`.
fn package_and_test(dir: &Path, name: &str) -> Output {
    let out = make(dir, &[&format!("package/{name}")]);
    assert!(out.status.success(), "make package/{name}:\n{}", log(&out));
    let version = Command::new(env!("CARGO_BIN_EXE_melangec"))
        .current_dir(dir)
        .args(["package-version", &format!("{name}.yaml")])
        .output()
        .unwrap();
    let pkgver = String::from_utf8(version.stdout).unwrap();
    assert!(
        dir.join(format!("packages/x86_64/{pkgver}.apk")).is_file(),
        "make package/{name} wrote no packages/x86_64/{pkgver}.apk"
    );
    make(dir, &[&format!("test/{name}")])
}

#[test]
fn netcat_openbsd_builds_and_its_tests_pass_then_come_from_the_cache() {
    let _serial = serial();
    let Some(dir) = checkout() else { return };
    let out = package_and_test(dir, "netcat-openbsd");
    let text = log(&out);
    assert!(out.status.success(), "make test/netcat-openbsd:\n{text}");
    assert!(text.contains("PASS netcat-openbsd\n"), "{text}");
    // The subpackage's test installs the subpackage (test/docs reads its
    // man page), not the main package.
    assert!(text.contains("PASS netcat-openbsd-doc\n"), "{text}");
    assert!(text.contains("2 passed (0 cached), 0 failed"), "{text}");

    let again = make(dir, &["test/netcat-openbsd"]);
    let text = log(&again);
    assert!(again.status.success(), "{text}");
    assert!(text.contains("2 passed (2 cached), 0 failed"), "{text}");

    // An edit to one test's script re-runs that test alone.
    let recipe = dir.join("netcat-openbsd.yaml");
    let original = std::fs::read_to_string(&recipe).unwrap();
    let edited = original.replace("        nc -h\n", "        nc -h\n        echo edited\n");
    assert_ne!(edited, original);
    std::fs::write(&recipe, edited).unwrap();
    let edit = make(dir, &["test/netcat-openbsd"]);
    std::fs::write(&recipe, original).unwrap();
    let text = log(&edit);
    assert!(edit.status.success(), "{text}");
    assert!(text.contains("PASS netcat-openbsd\n"), "{text}");
    assert!(text.contains("PASS netcat-openbsd-doc (cached"), "{text}");
}

#[test]
fn terser_builds_and_its_tests_pass() {
    let _serial = serial();
    let Some(dir) = checkout() else { return };
    let out = package_and_test(dir, "terser");
    let text = log(&out);
    assert!(out.status.success(), "make test/terser:\n{text}");
    assert!(text.contains("PASS terser"), "{text}");
}

#[test]
fn wolfi_base_builds_and_its_tests_pass() {
    let _serial = serial();
    let Some(dir) = checkout() else { return };
    let out = package_and_test(dir, "wolfi-base");
    let text = log(&out);
    assert!(out.status.success(), "make test/wolfi-base:\n{text}");
    assert!(text.contains("PASS wolfi-base"), "{text}");
}

/// dns-root-hints' test downloads the root zone from www.internic.net,
/// which only resolves where there is Internet access: there it passes;
/// elsewhere it fails in that step, with curl's exit code 6.
#[test]
fn dns_root_hints_builds_and_its_test_runs() {
    let _serial = serial();
    let Some(dir) = checkout() else { return };
    let out = package_and_test(dir, "dns-root-hints");
    let text = log(&out);
    let online = std::net::ToSocketAddrs::to_socket_addrs(&("www.internic.net", 443)).is_ok();
    if online {
        assert!(out.status.success(), "{text}");
        assert!(text.contains("PASS dns-root-hints"), "{text}");
    } else {
        assert!(!out.status.success(), "{text}");
        assert!(text.contains("FAIL dns-root-hints"), "{text}");
        assert!(
            text.contains("failed with exit code 6 (dns-root-hints.yaml:54)"),
            "{text}"
        );
    }
}

#[test]
fn a_failing_test_fails_make_naming_its_step_and_line() {
    let _serial = serial();
    let Some(dir) = checkout() else { return };
    let out = package_and_test(dir, "wolfi-base-broken");
    let text = log(&out);
    assert!(!out.status.success(), "{text}");
    let recipe = std::fs::read_to_string(dir.join("wolfi-base-broken.yaml")).unwrap();
    let line = recipe
        .lines()
        .position(|l| l.contains("name: \"Commands exist\""))
        .unwrap()
        + 1;
    assert!(text.contains("FAIL wolfi-base-broken"), "{text}");
    assert!(
        text.contains(&format!(
            "step `wolfi-base-broken test: Commands exist` failed with exit code 1 (wolfi-base-broken.yaml:{line})"
        )),
        "{text}"
    );
    assert!(text.contains("ERROR: no-such-command missing"), "{text}");
    assert!(text.contains("make: ***"), "{text}");
}
