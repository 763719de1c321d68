//! Locked environments: `melangec lock` against the test repository served
//! over loopback HTTP, `compile` pinning every package in the definition
//! (no `environment` local), and `build` installing them on a real BuildKit,
//! cached from one build to the next, refreshing the lock when the recipe
//! asks for other packages.

mod common;
use common::serve::serve;
use common::{daemon, repo, root};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use melangec::environment::lock::ArchLock;
use melangec::environment::lockfile;

fn melangec(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_melangec"))
        .args(args)
        .current_dir(dir)
        .env("MELANGEC_CACHE", dir.join("cache"))
        .output()
        .unwrap()
}

fn ok(out: &Output) -> String {
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "melangec failed:\n{log}");
    log
}

/// `melangec build recipe.yaml` in `dir` on the test daemon, into
/// `dir/<ws>`, with `flags`; returns its log.
fn build(dir: &Path, ws: &str, flags: &[&str]) -> String {
    let addr = daemon();
    let mut args = vec![
        "build",
        "recipe.yaml",
        "--progress",
        "plain",
        "--buildkit-addr",
        &addr,
        "--workspace-dir",
        ws,
        "--out-dir",
        "packages",
    ];
    args.extend(flags);
    ok(&melangec(&args, dir))
}

fn scratch(name: &str) -> PathBuf {
    let dir = root().join("target/test-locked").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        root().join("testdata/with-subpackage.yaml"),
        dir.join("recipe.yaml"),
    )
    .unwrap();
    dir
}

/// The x86_64 entry of `recipe.lock.yaml` in `dir`.
fn read_lock(dir: &Path) -> ArchLock {
    let path = dir.join("recipe.lock.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut locks = lockfile::parse(&path, &text).unwrap();
    assert_eq!(locks.len(), 1, "{text}");
    locks.remove(0)
}

#[test]
fn a_locked_environment_is_pinned_built_cached_and_refreshed() {
    let repo = repo();
    let url = serve(repo.clone());
    let key = repo.join("wolfi-signing.rsa.pub");
    let key = key.to_str().unwrap();
    let dir = scratch("pinned");
    let env_flags = ["--repository-append", &url, "--keyring-append", key];

    let mut args = vec!["lock", "recipe.yaml"];
    args.extend(env_flags);
    let log = ok(&melangec(&args, &dir));
    assert!(log.contains("wrote recipe.lock.yaml"), "{log}");
    let lock = read_lock(&dir);
    assert_eq!(lock.requested, ["busybox"], "{lock:?}");
    assert!(
        lock.packages.iter().all(|p| p.repository == url),
        "{lock:?}"
    );

    // compile reads the lock: every package a source pinned by sha256, no
    // environment local, the same bytes every time.
    let mut args = vec!["compile", "recipe.yaml", "-o", "a.llb"];
    args.extend(env_flags);
    ok(&melangec(&args, &dir));
    args[3] = "b.llb";
    ok(&melangec(&args, &dir));
    let a = std::fs::read(dir.join("a.llb")).unwrap();
    assert_eq!(a, std::fs::read(dir.join("b.llb")).unwrap());
    let out = melangec(&["render", "a.llb"], &dir);
    ok(&out);
    let rendered = String::from_utf8_lossy(&out.stdout);
    assert!(!rendered.contains("local://environment"), "{rendered}");
    assert!(rendered.contains("local://source"), "{rendered}");
    for p in &lock.packages {
        assert!(
            rendered.contains(&format!("http.checksum = sha256:{}", p.sha256)),
            "{} not pinned",
            p.name
        );
    }
    assert!(rendered.contains("unpack input 1:/busybox-"), "{rendered}");
    assert!(
        rendered.contains("mkfile /lib/apk/db/installed"),
        "{rendered}"
    );

    // build installs the pinned packages on the daemon.
    let build = |extra: &[&str]| {
        let flags: Vec<&str> = env_flags.iter().chain(extra).copied().collect();
        build(&dir, "ws", &flags)
    };
    let first = build(&[]);
    assert!(
        first.contains("packages pinned by recipe.lock.yaml"),
        "{first}"
    );
    assert!(dir
        .join("ws/x86_64/melange-out/hello-tool/usr/bin/hello-tool")
        .is_file());
    // The same lock again: the environment's ops are all cached.
    let second = build(&[]);
    let env_steps: Vec<&str> = second
        .lines()
        .filter(|l| {
            l.split_once(' ').is_some_and(|(_, rest)| {
                rest.starts_with("install ")
                    || rest.starts_with("unpack ")
                    || rest.starts_with("merge ")
                    || rest == "write the apk database"
            })
        })
        .collect();
    assert!(!env_steps.is_empty(), "{second}");
    for l in &env_steps {
        let num = l.split_whitespace().next().unwrap();
        assert!(
            second.contains(&format!("{num} CACHED")),
            "{l} re-ran:\n{second}"
        );
    }

    // Another package asked for: the lock is refreshed, then used.
    let third = build(&["--package-append", "ca-certificates-bundle"]);
    assert!(third.contains("refreshed recipe.lock.yaml"), "{third}");
    let lock = read_lock(&dir);
    assert!(
        lock.requested.iter().any(|r| r == "ca-certificates-bundle"),
        "{lock:?}"
    );
    assert!(
        lock.packages
            .iter()
            .any(|p| p.name == "ca-certificates-bundle"),
        "{lock:?}"
    );
}

/// `compile` downloads nothing and rewrites no lock: a lock the recipe has
/// outgrown, or a package cache without what the lock pins, is an error
/// that says to run `melangec lock`, and nothing is written.
#[test]
fn compile_with_a_lock_reads_only_the_lock_and_the_cache() {
    let repo = repo();
    let url = serve(repo.clone());
    let key = repo.join("wolfi-signing.rsa.pub");
    let dir = scratch("pure");
    let env_flags = [
        "--repository-append",
        &url,
        "--keyring-append",
        key.to_str().unwrap(),
    ];
    let mut args = vec!["lock", "recipe.yaml"];
    args.extend(env_flags);
    ok(&melangec(&args, &dir));
    let before = std::fs::read(dir.join("recipe.lock.yaml")).unwrap();

    let mut args = vec![
        "compile",
        "recipe.yaml",
        "-o",
        "stale.llb",
        "--package-append",
        "curl",
    ];
    args.extend(env_flags);
    let out = melangec(&args, &dir);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("was made for other packages"), "{err}");
    assert!(err.contains("run `melangec lock`"), "{err}");
    assert_eq!(std::fs::read(dir.join("recipe.lock.yaml")).unwrap(), before);
    assert!(!dir.join("stale.llb").exists());

    // Another machine, or an emptied cache: nothing to pin from.
    let out = Command::new(env!("CARGO_BIN_EXE_melangec"))
        .args(["compile", "recipe.yaml", "-o", "empty.llb"])
        .args(env_flags)
        .current_dir(&dir)
        .env("MELANGEC_CACHE", dir.join("empty-cache"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is not in the package cache"), "{err}");
    assert!(!dir.join("empty.llb").exists());
    assert!(
        !dir.join("empty-cache/apk").exists(),
        "compile downloaded packages"
    );
}

#[test]
fn a_lock_from_a_directory_repository_is_assembled_on_the_client() {
    let repo = repo();
    let dir = scratch("directory");
    let key = repo.join("wolfi-signing.rsa.pub");
    let flags = [
        "--repository-append",
        repo.to_str().unwrap(),
        "--keyring-append",
        key.to_str().unwrap(),
    ];
    let mut args = vec!["lock", "recipe.yaml"];
    args.extend(flags);
    ok(&melangec(&args, &dir));
    let mut args = vec!["compile", "recipe.yaml", "-o", "a.llb"];
    args.extend(flags);
    let out = melangec(&args, &dir);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("BuildKit cannot fetch from"), "{err}");
    assert!(!dir.join("a.llb").exists());
    // build uses the same lock, assembling the environment here instead.
    let log = build(&dir, "ws", &flags);
    assert!(log.contains("is assembled here instead"), "{log}");
    assert!(!log.contains("pinned by"), "{log}");
    assert!(log.contains("build environment"), "{log}");
    assert!(dir
        .join("ws/x86_64/melange-out/hello-tool/usr/bin/hello-tool")
        .is_file());
}

#[test]
fn recipe_accounts_reach_both_kinds_of_environment() {
    let repo = repo();
    let url = serve(repo.clone());
    let key = repo.join("wolfi-signing.rsa.pub");
    let dir = scratch("accounts");
    std::fs::copy(
        root().join("testdata/e2e/accounts.yaml"),
        dir.join("recipe.yaml"),
    )
    .unwrap();
    let build = |repository: &str, ws: &str| {
        let flags = [
            "--repository-append",
            repository,
            "--keyring-append",
            key.to_str().unwrap(),
        ];
        build(&dir, ws, &flags)
    };
    // Without a lock: assembled here, from the directory.
    let log = build(repo.to_str().unwrap(), "ws-client");
    assert!(log.contains("environment: "), "{log}");
    // With a lock over http: pinned in the definition.
    let args = [
        "lock",
        "recipe.yaml",
        "--repository-append",
        &url,
        "--keyring-append",
        key.to_str().unwrap(),
    ];
    ok(&melangec(&args, &dir));
    let log = build(&url, "ws-pinned");
    assert!(log.contains("pinned by recipe.lock.yaml"), "{log}");
    for ws in ["ws-client", "ws-pinned"] {
        let seen =
            std::fs::read_to_string(dir.join(ws).join("x86_64/melange-out/acc/etc/passwd.seen"))
                .unwrap();
        assert_eq!(
            seen,
            // melange adds its build user to the recipe's accounts.
            "root:x:0:0:root:/root:/bin/sh\nwww-data:x:10000:10000:www-data:/home/www-data:/bin/sh\nsvc:x:0:0:svc:/home/svc:/bin/sh\nbuild:x:1000:1000:build:/home/build:/bin/sh\n"
        );
    }
}

/// A lock records a resolution and grants no trust: its packages are used
/// only when an index the keyring verifies lists them, as a fresh
/// resolution's are. Without the key, or edited, or naming another
/// repository, it is not believed.
#[test]
fn a_lock_is_believed_only_as_far_as_a_signed_index_vouches_for_it() {
    let repo = repo();
    let url = serve(repo.clone());
    let key = repo.join("wolfi-signing.rsa.pub");
    let key = key.to_str().unwrap();
    let dir = scratch("vouched");
    ok(&melangec(
        &[
            "lock",
            "recipe.yaml",
            "--repository-append",
            &url,
            "--keyring-append",
            key,
        ],
        &dir,
    ));
    let good = std::fs::read_to_string(dir.join("recipe.lock.yaml")).unwrap();

    // No keyring: the lock beside the recipe is not a key.
    let out = melangec(
        &[
            "build",
            "recipe.yaml",
            "--buildkit-addr",
            &daemon(),
            "--repository-append",
            &url,
        ],
        &dir,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("not signed by any key in the keyring"),
        "{err}"
    );
    assert!(!dir.join("packages").exists(), "{err}");

    // An edited entry (another file under a package's name) is in no index:
    // compile refuses it, build resolves afresh and rewrites the lock.
    let mut lock = read_lock(&dir);
    let p = &mut lock.packages[0];
    p.checksum = format!("Q1{}=", "A".repeat(27));
    p.sha256 = "00".repeat(32);
    let edited = lockfile::render(std::slice::from_ref(&lock));
    std::fs::write(dir.join("recipe.lock.yaml"), &edited).unwrap();
    // compile with the lock as it is now: it must refuse; returns why.
    let refused = |llb: &str| {
        let out = melangec(
            &[
                "compile",
                "recipe.yaml",
                "-o",
                llb,
                "--repository-append",
                &url,
                "--keyring-append",
                key,
            ],
            &dir,
        );
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!out.status.success(), "{err}");
        assert!(!dir.join(llb).exists());
        err
    };
    let err = refused("edited.llb");
    assert!(
        err.contains(&format!(
            "{} is in no index of {url}",
            lock.packages[0].file_name()
        )),
        "{err}"
    );
    assert!(err.contains("run `melangec lock`"), "{err}");
    let log = build(
        &dir,
        "ws",
        &["--repository-append", &url, "--keyring-append", key],
    );
    assert!(log.contains("the environment is resolved afresh"), "{log}");
    assert_eq!(
        std::fs::read_to_string(dir.join("recipe.lock.yaml")).unwrap(),
        good
    );

    // An entry from a repository the environment does not name.
    let moved = good.replace(&url, "http://127.0.0.1:9/elsewhere");
    std::fs::write(dir.join("recipe.lock.yaml"), moved).unwrap();
    let err = refused("moved.llb");
    assert!(err.contains("which the environment does not name"), "{err}");
}
