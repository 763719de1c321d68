//! Environments resolve against a real signed repository: the one
//! `make test-repo` builds from Debian packages with `melangec package`.

use std::path::{Path, PathBuf};

use melangec::environment::{index, lockfile, resolve};

fn repo() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-repo");
    assert!(
        dir.join("x86_64/APKINDEX.tar.gz").exists(),
        "{} is missing: run `make test-repo`",
        dir.display()
    );
    dir
}

#[tokio::test]
async fn the_test_repository_verifies_and_resolves() {
    let dir = repo();
    let name = dir.to_string_lossy().into_owned();
    let bytes = index::fetch(&name, "x86_64").await.unwrap();
    let idx = index::verify(&name, &bytes, &[dir.join("wolfi-signing.rsa.pub")]).unwrap();
    assert_eq!(idx.signed_by, "wolfi-signing.rsa.pub");
    let chosen = resolve::resolve(&idx.packages, &["ca-certificates-bundle".into()]).unwrap();
    let names: Vec<&str> = chosen.iter().map(|p| p.name.as_str()).collect();
    // Debian's Depends, under their apk names: openssl, and libc6 below it.
    for name in ["ca-certificates-bundle", "openssl", "libc6"] {
        assert!(names.contains(&name), "{name}: {names:?}");
    }
    assert!(names.windows(2).all(|w| w[0] < w[1]), "sorted: {names:?}");
    // A meta package: Wolfi's toolchain, Debian's gcc and make behind it.
    let chosen = resolve::resolve(&idx.packages, &["build-base".into()]).unwrap();
    for name in ["build-base", "gcc", "make", "binutils", "glibc-dev"] {
        assert!(chosen.iter().any(|p| p.name == name), "{name}");
    }
    let err = resolve::resolve(&idx.packages, &["no-such-thing".into()]).unwrap_err();
    assert_eq!(err.to_string(), "no-such-thing: no such package");
}

#[test]
fn lock_writes_the_same_pinned_list_every_time() {
    let dir = repo();
    let out = std::env::temp_dir().join(format!("melangec-lock-{}", std::process::id()));
    std::fs::create_dir_all(&out).unwrap();
    let mut texts = Vec::new();
    for n in 0..2 {
        let lock = out.join(format!("{n}.lock.yaml"));
        let status = std::process::Command::new(env!("CARGO_BIN_EXE_melangec"))
            .arg("lock")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/with-subpackage.yaml"))
            .arg("--repository-append")
            .arg(&dir)
            .arg("--keyring-append")
            .arg(dir.join("wolfi-signing.rsa.pub"))
            .args(["--package-append", "ca-certificates-bundle", "-o"])
            .arg(&lock)
            .status()
            .unwrap();
        assert!(status.success());
        texts.push(std::fs::read_to_string(&lock).unwrap());
    }
    assert_eq!(texts[0], texts[1]);
    let locks = lockfile::parse(Path::new("0.lock.yaml"), &texts[0]).unwrap();
    let names: Vec<&str> = locks[0].packages.iter().map(|p| p.name.as_str()).collect();
    for name in ["base-files", "busybox", "ca-certificates-bundle", "libc6"] {
        assert!(names.contains(&name), "{name}: {names:?}");
    }
    assert!(locks[0]
        .packages
        .iter()
        .all(|p| p.sha256.len() == 64 && p.checksum.starts_with("Q1")));
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn a_missing_package_is_shown_at_its_recipe_line() {
    let dir = repo();
    let out = std::env::temp_dir().join(format!("melangec-missing-{}", std::process::id()));
    std::fs::create_dir_all(&out).unwrap();
    let recipe = out.join("missing.yaml");
    std::fs::write(
        &recipe,
        "package:\n  name: missing\n  version: 1\n  epoch: 0\nenvironment:\n  contents:\n    packages:\n      - busybox\n      - no-such-tool\npipeline:\n  - runs: true\n",
    )
    .unwrap();
    let result = std::process::Command::new(env!("CARGO_BIN_EXE_melangec"))
        .arg("lock")
        .arg(&recipe)
        .arg("--repository-append")
        .arg(&dir)
        .arg("--keyring-append")
        .arg(dir.join("wolfi-signing.rsa.pub"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(!result.status.success());
    let err = String::from_utf8_lossy(&result.stderr);
    assert!(
        err.contains("cannot resolve the x86_64 build environment"),
        "{err}"
    );
    assert!(err.contains("missing.yaml:9:9"), "{err}");
    assert!(err.contains("no-such-tool: no such package"), "{err}");
    assert!(!out.join("missing.lock.yaml").exists());
    let _ = std::fs::remove_dir_all(&out);
}

/// Wolfi's Makefile appends `$(pwd)/packages` before anything is built
/// there: a local repository with no index yet is an empty one, said in
/// one line, as melange goes on.
#[test]
fn an_absent_local_repository_is_an_empty_one() {
    let dir = repo();
    let out = std::env::temp_dir().join(format!("melangec-absent-{}", std::process::id()));
    std::fs::create_dir_all(&out).unwrap();
    let absent = out.join("packages");
    let result = std::process::Command::new(env!("CARGO_BIN_EXE_melangec"))
        .arg("lock")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/with-subpackage.yaml"))
        .arg("--repository-append")
        .arg(&absent)
        .arg("--repository-append")
        .arg(&dir)
        .arg("--keyring-append")
        .arg(dir.join("wolfi-signing.rsa.pub"))
        .arg("-o")
        .arg(out.join("r.lock.yaml"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&result.stderr);
    assert!(result.status.success(), "{err}");
    let note = format!(
        "repository {} has no x86_64/APKINDEX.tar.gz yet: searched as an empty one",
        absent.display()
    );
    assert_eq!(err.matches(&note).count(), 1, "{err}");
    let lock = std::fs::read_to_string(out.join("r.lock.yaml")).unwrap();
    assert!(!lock.contains(&absent.display().to_string()), "{lock}");
    let _ = std::fs::remove_dir_all(&out);
}
