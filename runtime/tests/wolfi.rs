//! Real Wolfi recipes, unmodified, built on a real BuildKit with their
//! environments resolved from the test repository (`make test-repo`: Debian's
//! packages under Wolfi's names), then their packages installed into new
//! environments and used there. Sources come from Debian's archive, the npm
//! registry and the recipes' own directories.
//!
//! The recipes are read in place from the corpus beside the project (or where
//! `MELANGEC_CORPUS` says); without it these tests say so and pass.

mod common;
use common::{daemon, repo, root};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

fn wolfi() -> Option<PathBuf> {
    let shared = std::env::var_os("MELANGEC_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/corpus"));
    let dir = shared.join("wolfi");
    if dir.join("netcat-openbsd.yaml").is_file() {
        Some(dir)
    } else {
        // CI always has the corpus beside the clone: there, its absence is
        // a failure, not a skip.
        assert!(
            std::env::var_os("CI").is_none_or(|v| v != "true"),
            "no Wolfi corpus at {} under CI=true",
            dir.display()
        );
        eprintln!(
            "SKIPPED: no Wolfi corpus at {} (set MELANGEC_CORPUS)",
            dir.display()
        );
        None
    }
}

/// One workspace for the whole file: built packages form a repository the
/// checks install from, signed by one key.
fn work() -> &'static PathBuf {
    static WORK: OnceLock<PathBuf> = OnceLock::new();
    WORK.get_or_init(|| {
        let dir = root().join("target/test-wolfi");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let out = melangec(&["keygen".as_ref(), dir.join("wolfi-test.rsa").as_os_str()]);
        ok(&out);
        dir
    })
}

fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn melangec(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_melangec"))
        .args(args)
        .output()
        .unwrap()
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "melangec failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Builds `recipe` as Wolfi's Makefile does (its pipelines, the recipe's
/// directory as sources when there is one), against the test repository and
/// whatever `extra_repos` add, into the shared package directory.
fn build(recipe: &Path, extra_repos: &[&Path]) -> Output {
    let work = work();
    let name = recipe.file_stem().unwrap().to_string_lossy().into_owned();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_melangec"));
    cmd.arg("build")
        .arg(recipe)
        .args(["--arch", "x86_64", "--progress", "plain"])
        .args(["--buildkit-addr", &daemon()])
        .arg("--workspace-dir")
        .arg(work.join(format!("ws-{name}")))
        .arg("--out-dir")
        .arg(work.join("packages"))
        .arg("--signing-key")
        .arg(work.join("wolfi-test.rsa"))
        .arg("--repository-append")
        .arg(repo())
        .arg("--keyring-append")
        .arg(repo().join("wolfi-signing.rsa.pub"));
    if let Some(wolfi) = recipe.parent().filter(|d| d.join("pipelines").is_dir()) {
        cmd.arg("--pipeline-dir").arg(wolfi.join("pipelines"));
        let sources = wolfi.join(&name);
        if sources.is_dir() {
            cmd.arg("--source-dir").arg(sources);
        }
    }
    for r in extra_repos {
        cmd.arg("--repository-append")
            .arg(r)
            .arg("--keyring-append")
            .arg(work.join("wolfi-test.rsa.pub"));
    }
    cmd.output().unwrap()
}

fn apk(name: &str) -> PathBuf {
    let dir = work().join("packages/x86_64");
    std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            let f = p.file_name().unwrap().to_string_lossy();
            f.strip_prefix(name)
                .and_then(|rest| rest.strip_prefix('-'))
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        })
        .unwrap_or_else(|| panic!("no {name} package in {}", dir.display()))
}

/// The members of an .apk through gzip and tar, not our own reader.
fn pkginfo(apk: &Path) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg("tar -xzOf \"$1\" .PKGINFO 2>/dev/null")
        .arg("sh")
        .arg(apk)
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

fn listing(apk: &Path) -> String {
    let out = Command::new("tar").arg("-tvzf").arg(apk).output().unwrap();
    String::from_utf8(out.stdout).unwrap()
}

/// The signature checks out with openssl against the public key, over the
/// control member as apk-tools checks it.
fn assert_signed(apk: &Path) {
    let bytes = std::fs::read(apk).unwrap();
    let members = melangec::apk::read::members(&bytes).unwrap();
    assert_eq!(members.len(), 3, "{}", apk.display());
    let dir = work().join("verify");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("control.gz"), members[1].0).unwrap();
    let (name, sig) = melangec::apk::read::tar_files(&members[0].1)
        .unwrap()
        .remove(0);
    assert_eq!(name, ".SIGN.RSA256.wolfi-test.rsa.pub");
    std::fs::write(dir.join("sig"), sig).unwrap();
    let out = Command::new("openssl")
        .args(["dgst", "-sha256", "-verify"])
        .arg(work().join("wolfi-test.rsa.pub"))
        .arg("-signature")
        .arg(dir.join("sig"))
        .arg(dir.join("control.gz"))
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Verified OK"),
        "{} does not verify",
        apk.display()
    );
}

fn index_lists(name: &str) -> bool {
    let out = Command::new("sh")
        .arg("-c")
        .arg("tar -xzOf \"$1\" APKINDEX 2>/dev/null")
        .arg("sh")
        .arg(work().join("packages/x86_64/APKINDEX.tar.gz"))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|l| l == format!("P:{name}"))
}

#[test]
fn dns_root_hints_files_links_and_runtime_dependencies() {
    let Some(wolfi) = wolfi() else { return };
    let _serial = serial();
    let out = build(&wolfi.join("dns-root-hints.yaml"), &[]);
    ok(&out);
    let apk = apk("dns-root-hints");
    assert_signed(&apk);
    let info = pkginfo(&apk);
    for line in ["pkgver = 2022062901-r3", "depend = curl", "depend = gpgv"] {
        assert!(info.lines().any(|l| l == line), "{line} missing:\n{info}");
    }
    let files = listing(&apk);
    for entry in [
        "-rwxr-xr-x root/root",
        "usr/bin/update-dns-root-hints",
        "usr/share/dns-root-hints/named.cache -> named.root",
        "usr/share/dns-root-hints/db.cache -> named.root",
        "usr/share/dns-root-hints/verisign-grs-nstld-key.gpg",
    ] {
        assert!(files.contains(entry), "{entry} missing:\n{files}");
    }
    // gpg --dearmor ran: the keyring is binary OpenPGP, not armor.
    let ws = work().join("ws-dns-root-hints/x86_64/melange-out/dns-root-hints");
    let gpg =
        std::fs::read(ws.join("usr/share/dns-root-hints/verisign-grs-nstld-key.gpg")).unwrap();
    assert!(!gpg.starts_with(b"-----BEGIN"));
    assert!(index_lists("dns-root-hints"));
}

#[test]
fn netcat_openbsd_builds_from_debian_sources_and_nc_runs_installed() {
    let Some(wolfi) = wolfi() else { return };
    let _serial = serial();
    let out = build(&wolfi.join("netcat-openbsd.yaml"), &[]);
    ok(&out);
    let apk = apk("netcat-openbsd");
    assert_signed(&apk);
    assert_signed(&self::apk("netcat-openbsd-doc"));
    let info = pkginfo(&apk);
    assert!(info.contains("depend = so:libbsd.so.0"), "{info}");
    assert!(info.contains("provides = cmd:nc=1.238-r0"), "{info}");
    assert!(listing(&apk).contains("usr/bin/nc"));
    assert!(listing(&self::apk("netcat-openbsd-doc")).contains("nc.openbsd.1"));
    assert!(index_lists("netcat-openbsd") && index_lists("netcat-openbsd-doc"));

    // Installed from the signed package directory into a new environment.
    let packages = work().join("packages");
    let check = build(&root().join("testdata/e2e/netcat-check.yaml"), &[&packages]);
    ok(&check);
    let got = std::fs::read_to_string(work().join(
        "ws-netcat-check/x86_64/melange-out/netcat-check/usr/share/netcat-check/received.txt",
    ))
    .unwrap();
    assert_eq!(got, "through nc\n");
}

#[test]
fn terser_installs_from_npm_and_minifies_installed() {
    let Some(wolfi) = wolfi() else { return };
    let _serial = serial();
    let out = build(&wolfi.join("terser.yaml"), &[]);
    ok(&out);
    let apk = apk("terser");
    assert_signed(&apk);
    let files = listing(&apk);
    assert!(files.contains("usr/local/bin/terser -> "), "{files}");
    assert!(files.contains("usr/local/lib/node_modules/terser/package.json"));

    let packages = work().join("packages");
    let check = build(&root().join("testdata/e2e/terser-check.yaml"), &[&packages]);
    ok(&check);
    let dir = work().join("ws-terser-check/x86_64/melange-out/terser-check/usr/share/terser-check");
    let input = std::fs::read_to_string(dir.join("in.js")).unwrap();
    let output = std::fs::read_to_string(dir.join("out.js")).unwrap();
    assert!(output.len() < input.len(), "{output}");
    assert!(output.starts_with("function add("), "{output}");
}
