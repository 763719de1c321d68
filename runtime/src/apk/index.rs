//! `APKINDEX.tar.gz`: one record per package, sorted as `apk index` sorts,
//! in a tar of `APKINDEX` alone, signed like a package.

pub use super::fields::record;
use super::gz;
use super::key::Key;
use super::package::Info;
use super::tarball::{Entry, Tar, REGULAR};

pub fn render(packages: &[Info]) -> String {
    let mut sorted: Vec<&Info> = packages.iter().collect();
    sorted.sort_by(|a, b| {
        a.name
            .to_ascii_lowercase()
            .cmp(&b.name.to_ascii_lowercase())
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.version.cmp(&b.version))
            .then_with(|| a.checksum.cmp(&b.checksum))
    });
    let mut out = String::new();
    for p in sorted {
        out.push_str(&record(p));
        out.push('\n');
    }
    out
}

/// The index file: signed when a key is given.
pub fn build(packages: &[Info], epoch: u64, key: Option<&Key>) -> Vec<u8> {
    let text = render(packages);
    let mut tar = Tar::new(epoch);
    tar.append(
        Entry {
            path: "APKINDEX",
            kind: REGULAR,
            mode: 0o644,
            size: text.len() as u64,
            link: "",
            pax: Vec::new(),
            owner_names: false,
        },
        text.as_bytes(),
    )
    .expect("writing to memory");
    tar.finish().expect("writing to memory");
    let unsigned = gz::member(tar.bytes());
    let mut out = Vec::new();
    if let Some(key) = key {
        out.extend_from_slice(&key.signature_member(&unsigned, epoch));
    }
    out.extend_from_slice(&unsigned);
    out
}
