//! What the integration tests share: where the project is, which daemon to
//! build on, and the test repository.

#![allow(dead_code)]

pub mod serve;

use std::path::{Path, PathBuf};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn daemon() -> String {
    std::env::var("MELANGEC_TEST_BUILDKIT")
        .expect("MELANGEC_TEST_BUILDKIT names the BuildKit to test against (make test sets it)")
}

/// `target/test-repo`, which `make test-repo` builds.
pub fn repo() -> PathBuf {
    let repo = root().join("target/test-repo");
    assert!(
        repo.join("x86_64/APKINDEX.tar.gz").exists(),
        "run `make test-repo`"
    );
    repo
}

/// The public key the test repository is signed with.
pub fn repo_key() -> PathBuf {
    let repo = repo();
    std::fs::read_dir(&repo)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".rsa.pub"))
        .expect("the test repository's key")
}
