//! Any bytes as an `.apk`, and the same bytes as the data tar of a package
//! whose control member records their `datahash` (so they get past that
//! check): read, listed and unpacked into a fresh root. Errors, never a
//! panic; an unpack that succeeds lists what a listing does; and nothing is
//! ever created or changed beside the root.
#![no_main]

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use melangec::apk::fields::{self, Info};
use melangec::apk::{gz, hex, package, read};
use melangec::environment::unpack::unpack;
use sha2::{Digest, Sha256};

/// A package of `tar` as its data member, its control member made as
/// `melangec build` makes one: `.PKGINFO` with the data's `datahash`, in a
/// tar fragment of its own gzip member.
fn package_of(tar: &[u8]) -> Vec<u8> {
    let data = gz::member(tar);
    let info = Info {
        name: "fuzz".into(),
        version: "1-r0".into(),
        arch: "x86_64".into(),
        datahash: hex(&Sha256::digest(&data)),
        ..Default::default()
    };
    let mut out = package::control_member(&fields::pkginfo(&info), &[], 0);
    out.extend_from_slice(&data);
    out
}

/// Reads `bytes` as a package every way a build does, lists it, unpacks
/// it into `<scratch>/root` and checks `<scratch>/outside` is untouched.
fn exercise(bytes: &[u8]) {
    let _ = read::package(bytes);
    let _ = read::control_checksum(bytes);
    let _ = read::verified(bytes);
    let listed = unpack(bytes, None);

    let scratch = tempfile::Builder::new()
        .prefix("melangec-fuzz-apk-")
        .tempdir()
        .expect("a temporary directory");
    let root = scratch.path().join("root");
    let outside = scratch.path().join("outside");
    for dir in [&root, &outside] {
        std::fs::create_dir(dir).expect("making a directory");
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
            .expect("setting a mode");
    }
    let unpacked = unpack(bytes, Some(&root));

    let beside: BTreeSet<String> = std::fs::read_dir(scratch.path())
        .expect("reading the scratch directory")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(
        beside,
        BTreeSet::from(["outside".to_owned(), "root".to_owned()]),
        "something was created beside the root"
    );
    let out = std::fs::symlink_metadata(&outside).expect("the outside directory");
    assert!(out.is_dir(), "the outside directory was replaced");
    assert_eq!(
        out.permissions().mode() & 0o7777,
        0o755,
        "outside was changed"
    );
    assert_eq!(
        std::fs::read_dir(&outside)
            .expect("reading outside")
            .count(),
        0,
        "something was written outside the root"
    );
    if let Ok(files) = &unpacked {
        match &listed {
            Ok(list) => assert_eq!(list, files, "unpacking and listing disagree"),
            Err(e) => panic!("the package unpacks but does not list: {e}"),
        }
    }
    writable(&root);
}

/// Makes every directory under `dir` writable again (an entry may have
/// made one 0000), so the scratch directory can be removed.
fn writable(dir: &Path) {
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755));
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            writable(&entry.path());
        }
    }
}

fuzz_target!(|data: &[u8]| {
    exercise(data);
    exercise(&package_of(data));
});
