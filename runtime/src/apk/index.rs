//! `APKINDEX.tar.gz`: one record per package, sorted as `apk index` sorts,
//! in a tar of `APKINDEX` alone, signed like a package.

use std::fmt::Write as _;

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

/// A package's lines in an index, which apk's installed database starts
/// each package with too.
pub fn record(p: &Info) -> String {
    let mut out = String::new();
    let mut l = |k: char, v: &str| {
        let _ = writeln!(out, "{k}:{v}");
    };
    l('C', &p.checksum);
    l('P', &p.name);
    l('V', &p.version);
    l('A', &p.arch);
    l('S', &p.file_size.to_string());
    l('I', &p.size.to_string());
    l('T', &p.description);
    l('U', &p.url);
    l('L', &p.license);
    l('o', &p.origin);
    if !p.maintainer.is_empty() {
        l('m', &p.maintainer);
    }
    if p.builddate != 0 {
        l('t', &p.builddate.to_string());
    }
    l('c', &p.commit);
    if !p.provider_priority.is_empty() && p.provider_priority != "0" {
        l('k', &p.provider_priority);
    }
    if !p.depends.is_empty() {
        l('D', &p.depends.join(" "));
    }
    if !p.provides.is_empty() {
        l('p', &p.provides.join(" "));
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
