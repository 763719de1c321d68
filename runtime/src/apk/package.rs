//! One `.apk`: the data tar (sorted walk, root-owned, one mtime, SHA-1 PAX
//! records), its gzip member and `datahash`, the `.PKGINFO` and scripts as
//! the control member, and the signature member over it.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use base64::Engine;
use melangec_compiler::metadata::PackageMeta;
use sha1::{Digest as _, Sha1};
use sha2::Sha256;

use super::gz;
use super::key::Key;
use super::sca::{self, File};
use super::tarball::{Entry, Tar, DIRECTORY, HARDLINK, REGULAR, SYMLINK};

/// A built package and what the index needs from it.
pub struct Apk {
    pub file_name: String,
    pub bytes: Vec<u8>,
    pub info: Info,
}

/// The fields of `.PKGINFO` the index repeats.
#[derive(Clone, Debug, Default)]
pub struct Info {
    pub name: String,
    pub version: String,
    pub arch: String,
    pub size: u64,
    pub description: String,
    pub url: String,
    pub license: String,
    pub origin: String,
    pub maintainer: String,
    pub builddate: u64,
    pub commit: String,
    pub provider_priority: String,
    pub depends: Vec<String>,
    pub provides: Vec<String>,
    /// `Q1` + base64 of the SHA-1 of the control member.
    pub checksum: String,
    pub file_size: u64,
}

struct Walked {
    path: String,
    kind: u8,
    mode: u32,
    data: Vec<u8>,
    link: String,
}

/// Directories first, each directory's entries sorted by name.
fn walk(
    dir: &Path,
    rel: &str,
    out: &mut Vec<Walked>,
    inodes: &mut HashMap<(u64, u64), String>,
) -> Result<(), String> {
    let io = |e: std::io::Error| format!("{}: {e}", dir.display());
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .map_err(io)?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<Result<_, _>>()
        .map_err(io)?;
    names.sort();
    for name in names {
        let name = name.to_string_lossy().into_owned();
        let path = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let full = dir.join(&name);
        let meta = std::fs::symlink_metadata(&full).map_err(io)?;
        let ft = meta.file_type();
        let mode = meta.mode() & 0o7777;
        if ft.is_dir() {
            out.push(Walked {
                path: path.clone(),
                kind: DIRECTORY,
                mode,
                data: Vec::new(),
                link: String::new(),
            });
            walk(&full, &path, out, inodes)?;
        } else if ft.is_symlink() {
            let target = std::fs::read_link(&full)
                .map_err(io)?
                .to_string_lossy()
                .into_owned();
            out.push(Walked {
                path,
                kind: SYMLINK,
                mode: 0o777,
                data: Vec::new(),
                link: target,
            });
        } else if ft.is_file() {
            let key = (meta.dev(), meta.ino());
            if meta.nlink() > 1 {
                if let Some(first) = inodes.get(&key) {
                    out.push(Walked {
                        path,
                        kind: HARDLINK,
                        mode,
                        data: Vec::new(),
                        link: first.clone(),
                    });
                    continue;
                }
                inodes.insert(key, path.clone());
            }
            let data = std::fs::read(&full).map_err(io)?;
            out.push(Walked {
                path,
                kind: REGULAR,
                mode,
                data,
                link: String::new(),
            });
        } else {
            return Err(format!(
                "{path}: devices, FIFOs and sockets cannot go in a package"
            ));
        }
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A value for `.PKGINFO`: one line, no surrounding space.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub struct Options<'a> {
    pub arch: &'a str,
    pub epoch: u64,
    pub namespace: &'a str,
    pub key: Option<&'a Key>,
}

pub fn build(tree: &Path, meta: &PackageMeta, opts: &Options<'_>) -> Result<Apk, String> {
    let mut entries = Vec::new();
    if tree.is_dir() {
        walk(tree, "", &mut entries, &mut HashMap::new())?;
    }

    // Data segment.
    let mut data = Tar::new(opts.epoch);
    let mut size: u64 = 0;
    for e in &entries {
        let mut pax = Vec::new();
        match e.kind {
            REGULAR => {
                pax.push((
                    "APK-TOOLS.checksum.SHA1".to_owned(),
                    hex(&Sha1::digest(&e.data)).into_bytes(),
                ));
                size += e.data.len() as u64;
            }
            SYMLINK => {
                pax.push((
                    "APK-TOOLS.checksum.SHA1".to_owned(),
                    hex(&Sha1::digest(e.link.as_bytes())).into_bytes(),
                ));
            }
            _ => {}
        }
        data.append(
            Entry {
                path: &e.path,
                kind: e.kind,
                mode: e.mode,
                size: e.data.len() as u64,
                link: &e.link,
                pax,
                owner_names: true,
            },
            &e.data,
        );
    }
    data.finish();
    let data_gz = gz::member(&data.bytes);
    let datahash = hex(&Sha256::digest(&data_gz));
    if size == 0 && (!entries.is_empty() || !meta.scripts.is_empty()) {
        size = 1;
    }

    // Dependencies: declared, then found, sorted and each once.
    let files: Vec<File<'_>> = entries
        .iter()
        .filter(|e| e.kind == REGULAR || e.kind == SYMLINK)
        .map(|e| File {
            path: &e.path,
            mode: e.mode,
            is_symlink: e.kind == SYMLINK,
            data: &e.data,
        })
        .collect();
    let found = sca::analyse(&files, &meta.version, meta.no_commands);
    let mut provides: BTreeSet<String> = meta.provides.iter().cloned().collect();
    if !meta.no_provides {
        provides.extend(found.provides);
    }
    let mut depends: BTreeSet<String> = meta.depends.iter().cloned().collect();
    if !meta.no_depends {
        depends.extend(found.depends);
    }
    depends.remove(&meta.name);

    let mut info = Info {
        name: meta.name.clone(),
        version: meta.version.clone(),
        arch: opts.arch.to_owned(),
        size,
        description: one_line(&meta.description),
        url: one_line(&meta.url),
        license: one_line(&meta.license),
        origin: meta.origin.clone(),
        maintainer: one_line(opts.namespace),
        builddate: opts.epoch,
        commit: one_line(&meta.commit),
        provider_priority: meta.provider_priority.clone(),
        depends: depends.into_iter().collect(),
        provides: provides.into_iter().collect(),
        ..Default::default()
    };

    let mut pkginfo = String::from("# Generated by melangec\n");
    let mut line = |k: &str, v: &str| {
        let _ = writeln!(pkginfo, "{k} = {v}");
    };
    line("pkgname", &info.name);
    line("pkgver", &info.version);
    line("arch", &info.arch);
    line("size", &info.size.to_string());
    line("origin", &info.origin);
    line("pkgdesc", &info.description);
    line("url", &info.url);
    line("commit", &info.commit);
    if !info.maintainer.is_empty() {
        line("maintainer", &info.maintainer);
    }
    if info.builddate != 0 {
        line("builddate", &info.builddate.to_string());
    }
    line("license", &info.license);
    for d in &info.depends {
        line("depend", d);
    }
    for p in &info.provides {
        line("provides", p);
    }
    for r in &meta.replaces {
        line("replaces", r);
    }
    if !meta.provider_priority.is_empty() {
        line("provider_priority", &meta.provider_priority);
    }
    if !meta.replaces_priority.is_empty() {
        line("replaces_priority", &meta.replaces_priority);
    }
    if !meta.triggers.is_empty() {
        line("triggers", &meta.triggers.join(" "));
    }
    line("datahash", &datahash);

    // Control segment: .PKGINFO, then scripts; no end-of-archive.
    let mut control = Tar::new(opts.epoch);
    let files: Vec<(&str, u32, &[u8])> = std::iter::once((".PKGINFO", 0o644, pkginfo.as_bytes()))
        .chain(
            meta.scripts
                .iter()
                .map(|(n, s)| (n.as_str(), 0o755, s.as_bytes())),
        )
        .collect();
    for (name, mode, bytes) in files {
        control.append(
            Entry {
                path: name,
                kind: REGULAR,
                mode,
                size: bytes.len() as u64,
                link: "",
                pax: Vec::new(),
                owner_names: true,
            },
            bytes,
        );
    }
    let control_gz = gz::member(&control.bytes);
    info.checksum = format!(
        "Q1{}",
        base64::engine::general_purpose::STANDARD.encode(Sha1::digest(&control_gz))
    );

    let mut bytes = Vec::new();
    if let Some(key) = opts.key {
        let signature = key.sign(&control_gz);
        let mut sig = Tar::new(opts.epoch);
        let name = key.entry_name();
        sig.append(
            Entry {
                path: &name,
                kind: REGULAR,
                mode: 0o644,
                size: signature.len() as u64,
                link: "",
                pax: Vec::new(),
                owner_names: true,
            },
            &signature,
        );
        bytes.extend_from_slice(&gz::member(&sig.bytes));
    }
    bytes.extend_from_slice(&control_gz);
    bytes.extend_from_slice(&data_gz);
    info.file_size = bytes.len() as u64;
    Ok(Apk {
        file_name: format!("{}-{}.apk", meta.name, meta.version),
        bytes,
        info,
    })
}
