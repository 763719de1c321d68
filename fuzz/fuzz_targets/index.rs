//! Any bytes as a repository index, read the ways a build reads one: as an
//! `APKINDEX.tar.gz` (its signature checked against a keyring, its records
//! read) and as the text of the `APKINDEX` inside it. Errors, never a panic.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use melangec::apk::{fields, read};
use melangec::environment::index;

/// A keyring of one public key, the one the seed index is signed with, so
/// that a signature entry naming it is parsed and checked.
fn keyring() -> &'static [PathBuf] {
    static KEYRING: OnceLock<(tempfile::TempDir, Vec<PathBuf>)> = OnceLock::new();
    let (_, keys) = KEYRING.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("fuzz.rsa.pub");
        std::fs::write(&path, include_bytes!("../keys/fuzz.rsa.pub")).expect("writing the key");
        (dir, vec![path])
    });
    keys
}

fuzz_target!(|data: &[u8]| {
    let _ = read::index(data);
    let _ = index::verify("fuzz", data, keyring());
    let text = String::from_utf8_lossy(data);
    for info in read::records(&text) {
        // A record read is one an index we write would say again.
        assert_eq!(fields::parse_record(&fields::record(&info)), info);
    }
});
