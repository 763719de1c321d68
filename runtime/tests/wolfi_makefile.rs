//! Wolfi's own Makefile with `MELANGE=melangec`: a checkout of Wolfi's
//! layout (the Makefile, `pipelines/`, the `*.env` files and some recipes
//! with their directories) in a temporary git repository, driven exactly as
//! a Wolfi developer drives it: `make package/NAME test/NAME`. The one edit
//! to the Makefile puts the loopback URL of the test repository where
//! `https://packages.wolfi.dev/os` is, which these machines cannot reach.
//! `make -o cache` leaves out the QEMU kernel download (from Chainguard's
//! private registry, for the qemu runner only; the docker runner never
//! reads it).

mod common;
use common::{daemon, repo, root};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

fn wolfi() -> Option<PathBuf> {
    let dir = std::env::var_os("MELANGEC_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/corpus"))
        .join("wolfi");
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

/// The checkout, made once for the file: make's targets share its
/// `packages/` and key, as they do in a real checkout.
struct Checkout {
    dir: PathBuf,
    url: String,
}

fn checkout() -> Option<&'static Checkout> {
    static CHECKOUT: OnceLock<Option<Checkout>> = OnceLock::new();
    CHECKOUT
        .get_or_init(|| {
            let wolfi = wolfi()?;
            let repo = repo();
            assert!(
                repo.join("wolfi-signing.rsa.pub").is_file(),
                "the test repository serves no wolfi-signing.rsa.pub: run `make test-repo`"
            );
            let url = common::serve::serve(repo);
            let dir = root().join("target/test-makefile/os");
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            let makefile = std::fs::read_to_string(wolfi.join("Makefile")).unwrap();
            assert!(makefile.contains("https://packages.wolfi.dev/os"));
            std::fs::write(
                dir.join("Makefile"),
                makefile.replace("https://packages.wolfi.dev/os", &url),
            )
            .unwrap();
            let mut copy = Command::new("cp");
            copy.arg("-a").arg(wolfi.join("pipelines"));
            for env in ["build-x86_64.env", "build-aarch64.env", "build-common.env"] {
                copy.arg(wolfi.join(env));
            }
            for name in RECIPES {
                copy.arg(wolfi.join(format!("{name}.yaml")));
                if wolfi.join(name).is_dir() {
                    copy.arg(wolfi.join(name));
                }
            }
            assert!(copy.arg(&dir).status().unwrap().success());
            // A copy of wolfi-base whose test looks for a command that no
            // package has.
            let base = std::fs::read_to_string(wolfi.join("wolfi-base.yaml")).unwrap();
            let broken = base.replacen("for y in apk sh ;", "for y in apk sh no-such-command ;", 1);
            assert_ne!(base, broken);
            std::fs::write(dir.join("wolfi-base-broken.yaml"), broken).unwrap();
            git(&dir, &["init", "-q"]);
            git(&dir, &["add", "."]);
            git(&dir, &["commit", "-qm", "recipes"]);
            Some(Checkout { dir, url })
        })
        .as_ref()
}

const RECIPES: [&str; 4] = ["netcat-openbsd", "terser", "dns-root-hints", "wolfi-base"];

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=melangec",
            "-c",
            "user.email=melangec@localhost",
        ])
        .args(args)
        .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
        .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

/// `make` in the checkout with what a developer using melangec sets.
fn make(c: &Checkout, targets: &[&str]) -> Output {
    // A test that never ends fails instead of holding up the suite.
    Command::new("timeout")
        .args(["600", "make"])
        .current_dir(&c.dir)
        .args(["-o", "cache"])
        .arg(format!("MELANGE={}", env!("CARGO_BIN_EXE_melangec")))
        .arg("MELANGE_RUNNER=docker")
        .arg(format!("WOLFI_REPO={}", c.url))
        .arg(format!("WOLFI_KEY={}/wolfi-signing.rsa.pub", c.url))
        .arg(format!("MELANGE_TMPDIR={}", c.dir.join(".tmp").display()))
        .args(targets)
        .env("BUILDKIT_HOST", daemon())
        .env_remove("MAKEFLAGS")
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

fn ok(out: &Output) -> String {
    let text = log(out);
    assert!(out.status.success(), "make failed:\n{text}");
    text
}

/// make runs one recipe at a time, as a developer does; tests here share
/// one checkout.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Built, then tested: the package lands where the Makefile's
/// `package-version` rule expects it, and its own tests pass. A second
/// `make test/NAME` reports every test cached.
fn package_and_test(name: &str) {
    let _serial = serial();
    let Some(c) = checkout() else { return };
    let text = ok(&make(
        c,
        &[&format!("package/{name}"), &format!("test/{name}")],
    ));
    let version = Command::new(env!("CARGO_BIN_EXE_melangec"))
        .arg("package-version")
        .arg(c.dir.join(format!("{name}.yaml")))
        .output()
        .unwrap();
    let version = String::from_utf8(version.stdout).unwrap();
    assert!(
        c.dir
            .join(format!("packages/x86_64/{version}.apk"))
            .is_file(),
        "no packages/x86_64/{version}.apk:\n{text}"
    );
    assert!(text.contains(&format!("PASS {name}")), "{text}");
    assert!(text.contains(" 0 failed"), "{text}");

    let again = ok(&make(c, &[&format!("test/{name}")]));
    assert!(again.contains(&format!("PASS {name} (cached")), "{again}");
    let summary = again
        .lines()
        .find(|l| l.contains(" passed (") && l.contains(" failed"))
        .unwrap_or_else(|| panic!("no summary:\n{again}"));
    let passed: usize = summary.split(' ').next().unwrap().parse().unwrap();
    assert!(
        summary.contains(&format!("{passed} passed ({passed} cached), 0 failed")),
        "{again}"
    );
}

/// netcat-openbsd's "Basic functionality tests" step needs a `::1`
/// loopback in the step containers (`.ci/docker` starts Docker Engine with
/// IPv6): without one, `nc -u localhost` waits forever, which the time
/// limit on `make` turns into a failure.
#[test]
fn netcat_openbsd_builds_and_its_tests_pass_with_the_makefile() {
    package_and_test("netcat-openbsd");
}

#[test]
fn terser_builds_and_its_tests_pass_with_the_makefile() {
    package_and_test("terser");
}

#[test]
fn wolfi_base_builds_and_its_tests_pass_with_the_makefile() {
    package_and_test("wolfi-base");
}

/// dns-root-hints builds from its own directory; its test runs
/// `update-dns-root-hints`, which downloads from www.internic.net: it
/// passes where that host answers, and elsewhere fails at its step's line
/// with curl's exit code, as a test must.
#[test]
fn dns_root_hints_builds_and_its_test_reaches_for_internic() {
    let _serial = serial();
    let Some(c) = checkout() else { return };
    ok(&make(c, &["package/dns-root-hints"]));
    let out = make(c, &["test/dns-root-hints"]);
    let text = log(&out);
    let reachable = std::net::ToSocketAddrs::to_socket_addrs(&("www.internic.net", 443))
        .is_ok_and(|mut a| a.next().is_some());
    if reachable && out.status.success() {
        assert!(text.contains("PASS dns-root-hints"), "{text}");
    } else {
        assert!(!out.status.success(), "{text}");
        assert!(text.contains("FAIL dns-root-hints"), "{text}");
        assert!(text.contains("dns-root-hints.yaml:54"), "{text}");
    }
}

/// A test edited to fail fails `make test/NAME`, naming the step and its
/// line; fixing it passes again.
#[test]
fn a_failing_test_fails_make_naming_the_step() {
    let _serial = serial();
    let Some(c) = checkout() else { return };
    let out = make(c, &["test/wolfi-base-broken"]);
    let text = log(&out);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("FAIL wolfi-base"), "{text}");
    assert!(text.contains("Commands exist"), "{text}");
    assert!(text.contains("wolfi-base-broken.yaml:26"), "{text}");
    assert!(text.contains("ERROR: no-such-command missing"), "{text}");
}
