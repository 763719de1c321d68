//! Assembling an environment's root filesystem on the client from locked
//! packages: each `.apk` checked against its recorded sha256, its data
//! unpacked, and apk's own files written, as apko lays them out. The result
//! is kept by content (the lock's hash), so an unchanged environment loads
//! at once.

use std::fmt::Write as _;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::cache;
use super::lock::Locked;
use crate::apk::read;

use crate::apk::package::Info;
use crate::scratch::Scratch;

/// Where an environment is kept: `<cache>/environments/<hash of what it is
/// made of>`: the packages, and what apk's files record (world,
/// repositories, key names).
fn cache_path(cache: &Path, packages: &[Locked], setup: &Setup<'_>) -> PathBuf {
    let mut h = Sha256::new();
    // The layout's own version: a tree made by an older melangec is not
    // taken for a current one.
    h.update(b"melangec environment 3\n");
    for p in packages {
        h.update(p.sha256.as_bytes());
        h.update(b"\n");
    }
    for list in [
        setup.requested,
        setup.repositories,
        setup.passwd,
        setup.group,
    ] {
        for text in list {
            h.update(text.as_bytes());
            h.update(b"\n");
        }
        h.update(b"\0");
    }
    for k in setup.keys {
        h.update(
            k.file_name()
                .map(|n| n.as_encoded_bytes())
                .unwrap_or_default(),
        );
        h.update(b"\n");
    }
    cache
        .join("environments")
        .join(&crate::apk::hex(&h.finalize())[..32])
}

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
    root: Option<&Path>,
) -> Result<Vec<Loaded>, String> {
    let mut loaded = Vec::new();
    for p in packages {
        let bytes = cache::locked(cache, p).await?;
        let file = format!("{}-{}.apk", p.name, p.version);
        let info = read::package(&bytes).map_err(|e| format!("{file}: {e}"))?;
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
        l.files = unpack(&l.bytes, root)
            .map_err(|e| format!("{}-{}.apk: {e}", l.locked.name, l.locked.version))?;
    }
    Ok(ordered)
}

fn install_order(infos: &[&Info]) -> Vec<usize> {
    let mut by_name: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
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
        by_name: &std::collections::HashMap<&str, usize>,
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
            .filter_map(|d| by_name.get(super::constraint::name_of(d)).copied())
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
    /// `environment.accounts` as `/etc/passwd` and `/etc/group` lines.
    pub passwd: &'a [String],
    pub group: &'a [String],
}

/// apk's files over the installed packages, as apko writes them: the
/// installed database, world, repositories and trusted keys; and the build
/// account melange adds unless a package made the account files.
pub struct Layout {
    pub files: Vec<(String, i32, Vec<u8>)>,
    pub dirs: Vec<(String, i32)>,
}

pub fn layout(loaded: &[Loaded], setup: &Setup<'_>) -> Result<Layout, String> {
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
) -> Result<Layout, String> {
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
        let text = std::fs::read(k).map_err(|e| format!("{}: {e}", k.display()))?;
        key_files.push((format!("etc/apk/keys/{name}"), 0o644, text));
    }
    key_files.sort();
    files.extend(key_files);
    // root and melange's build user, unless the recipe defines them, then
    // the recipe's accounts; a package's own files are left as they are.
    let accounts = |defaults: [&str; 2], recipe: &[String]| {
        let mut lines: Vec<String> = defaults
            .iter()
            .filter(|d| {
                let name = d.split(':').next().unwrap_or_default();
                !recipe.iter().any(|l| l.split(':').next() == Some(name))
            })
            .map(|d| (*d).to_owned())
            .collect();
        lines.extend(recipe.iter().cloned());
        (lines.join("\n") + "\n").into_bytes()
    };
    if !has_passwd {
        files.push((
            "etc/passwd".to_owned(),
            0o644,
            accounts(
                [
                    "root:x:0:0:root:/root:/bin/sh",
                    "build:x:1000:1000:build:/home/build:/bin/sh",
                ],
                setup.passwd,
            ),
        ));
    }
    if !has_group {
        files.push((
            "etc/group".to_owned(),
            0o644,
            accounts(["root:x:0:", "build:x:1000:"], setup.group),
        ));
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

/// Assembles (once) the root filesystem of `packages` under `cache`.
pub async fn assemble(
    cache: &Path,
    packages: &[Locked],
    setup: &Setup<'_>,
) -> Result<PathBuf, String> {
    let dest = cache_path(cache, packages, setup);
    if dest.join("lib/apk/db/installed").exists() {
        used(&dest);
        return Ok(dest);
    }
    // Removed unless renamed into place: a cancelled build (this future
    // dropped while downloading) leaves no half-assembled tree behind.
    let scratch = Scratch::new(dest.with_extension(format!("partial-{}", std::process::id())));
    let partial = scratch.path();
    let _ = std::fs::remove_dir_all(partial);
    std::fs::create_dir_all(partial).map_err(|e| format!("{}: {e}", partial.display()))?;
    let loaded = load(cache, packages, Some(partial)).await?;
    let layout = layout(&loaded, setup)?;
    for (dir, mode) in &layout.dirs {
        let path = partial.join(dir);
        std::fs::create_dir_all(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        if dir == "tmp" {
            let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o1777));
        } else {
            let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(*mode as u32));
        }
    }
    for (rel, mode, data) in &layout.files {
        let path = partial.join(rel);
        std::fs::create_dir_all(path.parent().expect("has parent")).map_err(|e| e.to_string())?;
        std::fs::write(&path, data).map_err(|e| format!("{}: {e}", path.display()))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(*mode as u32))
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    match std::fs::rename(partial, &dest) {
        Ok(()) => {
            used(&dest);
            prune(&cache.join("environments"), KEEP);
            Ok(dest)
        }
        // Another build assembled the same environment meanwhile.
        Err(_) if dest.join("lib/apk/db/installed").exists() => Ok(dest),
        Err(e) => Err(format!("{}: {e}", dest.display())),
    }
}

/// How many assembled environments the cache keeps: each is a whole root
/// filesystem (hundreds of MB for a toolchain), and a new one is made
/// whenever a package, repository or key changes.
pub const KEEP: usize = 8;

/// Marks an environment as just used (its directory's modification time), the
/// order [`prune`] goes by.
fn used(dir: &Path) {
    if let Ok(f) = std::fs::File::open(dir) {
        let _ = f.set_modified(std::time::SystemTime::now());
    }
}

/// Removes all but the `keep` most recently used environments under `dir`,
/// and the partial trees of processes that are gone (killed mid-assembly).
pub fn prune(dir: &Path, keep: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut finished = Vec::new();
    for e in entries.flatten() {
        let path = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some((_, pid)) = name.split_once(".partial-") {
            let alive = pid
                .parse::<u32>()
                .is_ok_and(|pid| Path::new(&format!("/proc/{pid}")).exists());
            if !alive {
                let _ = std::fs::remove_dir_all(&path);
            }
            continue;
        }
        let modified = e
            .metadata()
            .and_then(|m| m.modified())
            .unwrap_or(std::time::UNIX_EPOCH);
        finished.push((modified, path));
    }
    // Newest first; ties by name so the choice does not depend on listing order.
    finished.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    for (_, path) in finished.into_iter().skip(keep) {
        let _ = std::fs::remove_dir_all(&path);
    }
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Unpacks the data member of an `.apk` under `root` (or only lists it);
/// returns the files, with the SHA-1 each records.
fn unpack(bytes: &[u8], root: Option<&Path>) -> Result<Vec<(String, Option<String>)>, String> {
    let members = read::members(bytes).map_err(|e| e.to_string())?;
    let tar = &members.last().ok_or("empty package")?.1;
    let mut files = Vec::new();
    let mut at = 0;
    let mut long_path: Option<String> = None;
    let mut long_link: Option<String> = None;
    let mut sha1: Option<String> = None;
    let base = match root {
        Some(root) => Some(
            root.canonicalize()
                .map_err(|e| format!("{}: {e}", root.display()))?,
        ),
        None => None,
    };
    // The last directory checked to lie inside the root: entries come
    // grouped by directory, so most need no check of their own. A symlink
    // written may redirect a checked path, so it clears this.
    let mut checked: Option<PathBuf> = None;
    while at + 512 <= tar.len() && tar[at] != 0 {
        let h = &tar[at..at + 512];
        let field = |r: std::ops::Range<usize>| {
            String::from_utf8_lossy(&h[r])
                .trim_end_matches('\0')
                .to_owned()
        };
        let size = usize::from_str_radix(field(124..135).trim(), 8).map_err(|e| e.to_string())?;
        let mode = u32::from_str_radix(field(100..107).trim(), 8).unwrap_or(0o644);
        let body = tar.get(at + 512..at + 512 + size).ok_or("truncated tar")?;
        let kind = h[156];
        at += 512 + size.div_ceil(512) * 512;
        if kind == b'x' {
            for rec in String::from_utf8_lossy(body).split('\n') {
                if let Some((_, kv)) = rec.split_once(' ') {
                    if let Some(v) = kv.strip_prefix("path=") {
                        long_path = Some(v.to_owned());
                    } else if let Some(v) = kv.strip_prefix("linkpath=") {
                        long_link = Some(v.to_owned());
                    } else if let Some(v) = kv.strip_prefix("APK-TOOLS.checksum.SHA1=") {
                        sha1 = Some(v.to_owned());
                    }
                }
            }
            continue;
        }
        let path = long_path.take().unwrap_or_else(|| field(0..100));
        let link = long_link.take().unwrap_or_else(|| field(157..257));
        let sha1 = sha1.take();
        let rel = path.trim_end_matches('/');
        if rel.is_empty() || rel.starts_with('/') || rel.split('/').any(|c| c == ".." || c == ".") {
            return Err(format!("unsafe path {path:?}"));
        }
        if matches!(kind, b'0' | 0 | b'1' | b'2') {
            files.push((rel.to_owned(), sha1));
        }
        let (Some(root), Some(base)) = (root, &base) else {
            continue;
        };
        let target = root.join(rel);
        if let Some(parent) = target.parent().filter(|p| checked.as_deref() != Some(*p)) {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
            // Directory symlinks inside the root are followed, as apk does;
            // none may lead out of it.
            let real = parent
                .canonicalize()
                .map_err(|e| format!("{}: {e}", parent.display()))?;
            if !real.starts_with(base) {
                return Err(format!("{path:?} would be written outside the root"));
            }
            checked = Some(parent.to_path_buf());
        }
        let io = |e: std::io::Error| format!("{}: {e}", target.display());
        match kind {
            b'5' => {
                std::fs::create_dir_all(&target).map_err(io)?;
                std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode))
                    .map_err(io)?;
            }
            b'2' => {
                let _ = std::fs::remove_file(&target);
                symlink(&link, &target).map_err(io)?;
                checked = None;
            }
            b'1' => {
                let _ = std::fs::remove_file(&target);
                std::fs::hard_link(root.join(&link), &target).map_err(io)?;
            }
            b'0' | 0 => {
                let _ = std::fs::remove_file(&target);
                std::fs::write(&target, body).map_err(io)?;
                std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode))
                    .map_err(io)?;
            }
            _ => {}
        }
    }
    Ok(files)
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

    /// A one-member "package" whose tar holds `entries` (path, kind, link).
    fn apk(entries: &[(&str, u8, &str)]) -> Vec<u8> {
        use crate::apk::tarball::{Entry, Tar};
        let mut tar = Tar::new(0);
        for (path, kind, link) in entries {
            let data: &[u8] = if *kind == crate::apk::tarball::REGULAR {
                b"x"
            } else {
                b""
            };
            tar.append(
                Entry {
                    path,
                    kind: *kind,
                    mode: 0o755,
                    size: data.len() as u64,
                    link,
                    pax: vec![],
                    owner_names: true,
                },
                data,
            )
            .unwrap();
        }
        tar.finish().unwrap();
        crate::apk::gz::member(tar.bytes())
    }

    #[test]
    fn nothing_is_written_through_a_link_out_of_the_root() {
        use crate::apk::tarball::{DIRECTORY, REGULAR, SYMLINK};
        let dir = std::env::temp_dir().join(format!("melangec-unpack-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let root = dir.join("root");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(dir.join("outside")).unwrap();

        // Files in one directory, then a link in it that leads out, then a
        // file through the link.
        let bytes = apk(&[
            ("usr", DIRECTORY, ""),
            ("usr/a", REGULAR, ""),
            ("usr/b", REGULAR, ""),
            ("usr/out", SYMLINK, "../../outside"),
            ("usr/out/evil", REGULAR, ""),
        ]);
        let err = unpack(&bytes, Some(&root)).unwrap_err();
        assert!(err.contains("outside the root"), "{err}");
        assert!(!dir.join("outside/evil").exists());
        assert!(root.join("usr/a").is_file());

        // A link inside the root is followed, as apk follows /lib -> usr/lib.
        let bytes = apk(&[
            ("usr/lib", DIRECTORY, ""),
            ("lib", SYMLINK, "usr/lib"),
            ("lib/libx.so", REGULAR, ""),
        ]);
        let files = unpack(&bytes, Some(&root)).unwrap();
        assert!(root.join("usr/lib/libx.so").is_file());
        assert_eq!(files.len(), 2, "{files:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn prune_keeps_the_most_recently_used_and_live_partials() {
        let dir = std::env::temp_dir().join(format!("melangec-prune-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let base = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        for i in 0..5u64 {
            let env = dir.join(format!("env{i}"));
            std::fs::create_dir_all(env.join("usr/bin")).unwrap();
            let f = std::fs::File::open(&env).unwrap();
            f.set_modified(base + std::time::Duration::from_secs(i * 60))
                .unwrap();
        }
        // Used a moment ago, though made first.
        used(&dir.join("env0"));
        let live = dir.join(format!("abc.partial-{}", std::process::id()));
        let dead = dir.join(format!("def.partial-{}", u32::MAX));
        std::fs::create_dir_all(&live).unwrap();
        std::fs::create_dir_all(&dead).unwrap();

        prune(&dir, 2);
        let mut left: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        let live_name = live.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(left, vec![live_name, "env0".to_owned(), "env4".to_owned()]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn accounts_join_root_and_the_build_user() {
        let requested = vec!["busybox".to_owned()];
        let repositories = vec!["https://repo/os".to_owned()];
        let passwd = vec!["build:x:2000:2000:build:/home/build:/bin/sh".to_owned()];
        let group = vec!["www-data:x:10000:build".to_owned()];
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
            "root:x:0:\nbuild:x:1000:\nwww-data:x:10000:build\n"
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
