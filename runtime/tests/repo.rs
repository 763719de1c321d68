//! Environments resolve against a real signed repository: the one
//! `make test-repo` builds from Debian packages with `melangec package`.

use std::path::{Path, PathBuf};

use melangec::repo::{index, resolve};

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
    let idx = index::verify(&name, &bytes, &[dir.join("melangec-test.rsa.pub")]).unwrap();
    assert_eq!(idx.signed_by, "melangec-test.rsa.pub");
    let chosen = resolve::resolve(&idx.packages, &["ca-certificates-bundle".into()]).unwrap();
    let names: Vec<&str> = chosen.iter().map(|p| p.name.as_str()).collect();
    // ca-certificates' maintainer script needs a shell: busybox provides it.
    assert_eq!(names, ["busybox", "ca-certificates-bundle"]);
    let err = resolve::resolve(&idx.packages, &["build-base".into()]).unwrap_err();
    assert_eq!(err.to_string(), "build-base: no such package");
}
