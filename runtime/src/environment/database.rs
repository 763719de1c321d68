//! apk's own files in an environment, as apko writes them: the installed
//! database (every package with its files and their checksums), `world`,
//! the repositories and trusted keys, and the account files; read from
//! the locked packages, which are put in install order.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::lock::Locked;
use super::{constraint, unpack, Error};
use crate::apk::package::Info;
use crate::apk::read;
use crate::file_error::ReadError;

/// A locked package, read: its file, `.PKGINFO` and the paths it installs.
pub struct Loaded {
    pub locked: Locked,
    pub info: Info,
    /// Each file's path and, when the package records one, its SHA-1 (hex).
    pub files: Vec<(String, Option<String>)>,
    pub bytes: Vec<u8>,
}

/// Reads every locked package (from the package cache, downloading what is
/// missing) and puts them in install order: each after what it depends on,
/// otherwise by name, as apk installs them. With `root`, each is unpacked
/// there as it is listed.
pub async fn load(
    cache: &Path,
    packages: &[Locked],
    keyring: &[PathBuf],
    root: Option<&Path>,
) -> Result<Vec<Loaded>, Error> {
    let mut loaded = Vec::new();
    for p in packages {
        let bytes = p.read(cache, keyring).await?;
        let info = read::package(&bytes).map_err(|e| Error::package(p.file_name(), e))?;
        loaded.push(Loaded {
            locked: p.clone(),
            info,
            files: Vec::new(),
            bytes,
        });
    }
    let order = install_order(&loaded.iter().map(|l| &l.info).collect::<Vec<_>>());
    let mut slots: Vec<Option<Loaded>> = loaded.into_iter().map(Some).collect();
    let mut ordered: Vec<Loaded> = order.into_iter().filter_map(|i| slots[i].take()).collect();
    for l in &mut ordered {
        l.files = unpack::unpack(&l.bytes, root).map_err(|e| e.in_package(&l.locked))?;
    }
    Ok(ordered)
}

fn install_order(infos: &[&Info]) -> Vec<usize> {
    let mut by_name: HashMap<&str, usize> = HashMap::new();
    for (i, info) in infos.iter().enumerate() {
        by_name.insert(&info.name, i);
    }
    for (i, info) in infos.iter().enumerate() {
        for p in &info.provides {
            let name = p.split('=').next().unwrap_or(p);
            by_name.entry(name).or_insert(i);
        }
    }
    let mut by_sorted: Vec<usize> = (0..infos.len()).collect();
    by_sorted.sort_by(|a, b| infos[*a].name.cmp(&infos[*b].name));
    let mut done = vec![false; infos.len()];
    let mut order = Vec::new();
    // Depth first, dependencies before dependents; a cycle is cut where it
    // closes.
    fn visit(
        i: usize,
        infos: &[&Info],
        by_name: &HashMap<&str, usize>,
        done: &mut [bool],
        order: &mut Vec<usize>,
    ) {
        if done[i] {
            return;
        }
        done[i] = true;
        let mut deps: Vec<usize> = infos[i]
            .depends
            .iter()
            .filter(|d| !d.starts_with('!'))
            .filter_map(|d| by_name.get(constraint::name_of(d)).copied())
            .collect();
        deps.sort_by(|a, b| infos[*a].name.cmp(&infos[*b].name));
        for d in deps {
            visit(d, infos, by_name, done, order);
        }
        order.push(i);
    }
    for i in by_sorted {
        visit(i, infos, &by_name, &mut done, &mut order);
    }
    order
}

/// What an environment records besides its packages: the requested names
/// (`world`), the repositories and keys, and the recipe's accounts.
#[derive(Clone, Copy)]
pub struct Setup<'a> {
    pub requested: &'a [String],
    pub repositories: &'a [String],
    pub keys: &'a [PathBuf],
    /// `/etc/passwd` and `/etc/group`, line by line, as the compiler wrote
    /// them.
    pub passwd: &'a [String],
    pub group: &'a [String],
}

/// apk's files over the installed packages, as apko writes them: the
/// installed database, world, repositories and trusted keys; and the
/// account files, unless a package made them.
pub struct Layout {
    pub files: Vec<(String, i32, Vec<u8>)>,
    pub dirs: Vec<(String, i32)>,
}

pub fn layout(loaded: &[Loaded], setup: &Setup<'_>) -> Result<Layout, Error> {
    layout_from(
        installed(loaded),
        ships(loaded, "etc/passwd"),
        ships(loaded, "etc/group"),
        setup,
    )
}

/// Whether one of the packages installs `path`.
pub fn ships(loaded: &[Loaded], path: &str) -> bool {
    loaded
        .iter()
        .any(|l| l.files.iter().any(|(f, _)| f == path))
}

/// apk's installed database for `loaded`, in their order.
pub fn installed(loaded: &[Loaded]) -> String {
    let mut installed = String::new();
    for l in loaded {
        installed.push_str(&crate::apk::index::record(&l.info));
        // Every R: follows its directory's F:, the root's (`F:`) included.
        let mut dir: Option<&str> = None;
        for (f, sha1) in &l.files {
            let (parent, name) = f.rsplit_once('/').unwrap_or(("", f));
            if dir != Some(parent) {
                let _ = writeln!(installed, "F:{parent}");
                dir = Some(parent);
            }
            let _ = writeln!(installed, "R:{name}");
            if let Some(bytes) = sha1.as_deref().and_then(unhex) {
                let _ = writeln!(installed, "Z:{}", crate::apk::q1(&bytes));
            }
        }
        installed.push('\n');
    }
    installed
}

/// The layout from an installed database already made, and whether the
/// packages ship the account files.
pub fn layout_from(
    installed: String,
    has_passwd: bool,
    has_group: bool,
    setup: &Setup<'_>,
) -> Result<Layout, Error> {
    let Setup {
        requested,
        repositories,
        keys,
        ..
    } = *setup;
    let mut files = vec![
        (
            "lib/apk/db/installed".to_owned(),
            0o644,
            installed.into_bytes(),
        ),
        (
            "etc/apk/world".to_owned(),
            0o644,
            (requested.join("\n") + "\n").into_bytes(),
        ),
        (
            "etc/apk/repositories".to_owned(),
            0o644,
            (repositories.join("\n") + "\n").into_bytes(),
        ),
    ];
    let mut key_files = Vec::new();
    for k in keys {
        let name = k
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = std::fs::read(k).map_err(|source| {
            Error::Read(ReadError {
                path: k.clone(),
                source,
            })
        })?;
        key_files.push((format!("etc/apk/keys/{name}"), 0o644, text));
    }
    key_files.sort();
    files.extend(key_files);
    // The compiler wrote the account files; a package's own are left as
    // they are.
    let lines = |l: &[String]| (l.join("\n") + "\n").into_bytes();
    if !has_passwd {
        files.push(("etc/passwd".to_owned(), 0o644, lines(setup.passwd)));
    }
    if !has_group {
        files.push(("etc/group".to_owned(), 0o644, lines(setup.group)));
    }
    let dirs = vec![
        ("lib/apk/db".to_owned(), 0o755),
        ("etc/apk/keys".to_owned(), 0o755),
        ("tmp".to_owned(), 0o777),
        ("home/build".to_owned(), 0o755),
        ("var/cache/melange".to_owned(), 0o755),
    ];
    Ok(Layout { files, dirs })
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file<'a>(layout: &'a Layout, path: &str) -> Option<&'a str> {
        layout
            .files
            .iter()
            .find(|(p, _, _)| p == path)
            .map(|(_, _, d)| std::str::from_utf8(d).unwrap())
    }

    #[test]
    fn the_compilers_account_files_unless_a_package_ships_them() {
        let requested = vec!["busybox".to_owned()];
        let repositories = vec!["https://repo/os".to_owned()];
        let passwd = vec![
            "root:x:0:0:root:/root:/bin/sh".to_owned(),
            "build:x:2000:2000:build:/home/build:/bin/sh".to_owned(),
        ];
        let group = vec!["root:x:0:".to_owned(), "www-data:x:10000:build".to_owned()];
        let setup = Setup {
            requested: &requested,
            repositories: &repositories,
            keys: &[],
            passwd: &passwd,
            group: &group,
        };
        let layout = layout_from(String::new(), false, false, &setup).unwrap();
        assert_eq!(
            file(&layout, "etc/passwd").unwrap(),
            "root:x:0:0:root:/root:/bin/sh\nbuild:x:2000:2000:build:/home/build:/bin/sh\n"
        );
        assert_eq!(
            file(&layout, "etc/group").unwrap(),
            "root:x:0:\nwww-data:x:10000:build\n"
        );
        assert_eq!(file(&layout, "etc/apk/world").unwrap(), "busybox\n");
        assert_eq!(
            file(&layout, "etc/apk/repositories").unwrap(),
            "https://repo/os\n"
        );
        // A package's own account files are left alone.
        let layout = layout_from(String::new(), true, true, &setup).unwrap();
        assert!(file(&layout, "etc/passwd").is_none());
    }

    #[test]
    fn the_database_lists_every_file_under_its_directory() {
        let l = Loaded {
            locked: Locked {
                name: "base".into(),
                version: "1-r0".into(),
                arch: "x86_64".into(),
                repository: "https://repo".into(),
                checksum: "Q1abc=".into(),
                sha256: String::new(),
            },
            // As read::package reads it: checksum and size of the file.
            info: Info {
                name: "base".into(),
                version: "1-r0".into(),
                arch: "x86_64".into(),
                checksum: "Q1abc=".into(),
                file_size: 10,
                ..Default::default()
            },
            files: vec![
                ("bin".into(), None),
                ("etc/os-release".into(), Some("00".repeat(20))),
            ],
            bytes: vec![0; 10],
        };
        let db = installed(&[l]);
        assert!(
            db.contains("S:10\n")
                && db.ends_with(
                    "F:\nR:bin\nF:etc\nR:os-release\nZ:Q1AAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n"
                ),
            "{db}"
        );
    }

    #[test]
    fn dependencies_install_first() {
        let info = |name: &str, depends: &[&str], provides: &[&str]| Info {
            name: name.into(),
            depends: depends.iter().map(|d| (*d).into()).collect(),
            provides: provides.iter().map(|p| (*p).into()).collect(),
            ..Default::default()
        };
        let infos = [
            info("a-app", &["so:libz.so.1", "cmd:sh"], &[]),
            info("busybox", &["base-files"], &["cmd:sh=1"]),
            info("base-files", &[], &[]),
            info("zlib", &[], &["so:libz.so.1=1"]),
        ];
        let refs: Vec<&Info> = infos.iter().collect();
        let names: Vec<&str> = install_order(&refs)
            .into_iter()
            .map(|i| infos[i].name.as_str())
            .collect();
        assert_eq!(names, ["base-files", "busybox", "zlib", "a-app"]);
    }
}
