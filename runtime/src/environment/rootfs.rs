//! Assembling an environment's root filesystem on the client from locked
//! packages: each `.apk` checked against its recorded sha256, its data
//! unpacked, and apk's own files written, as apko lays them out. The result
//! is kept by content (the lock's hash), so an unchanged environment loads
//! at once.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::database::{self, Setup};
use super::lock::Locked;
use super::root::{Root, RootError};
use super::Error;
use crate::scratch::Scratch;

/// Where an environment is kept: `<cache>/environments/<hash of what it is
/// made of>`: the packages, and what apk's files record (world,
/// repositories, key names).
fn cache_path(cache: &Path, packages: &[Locked], setup: &Setup<'_>) -> PathBuf {
    let mut h = Sha256::new();
    // The layout's own version: a tree made by an older melangec (4: one
    // unpacked before entries were walked from the root) is not taken for a
    // current one.
    h.update(b"melangec environment 4\n");
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

/// Assembles (once) the root filesystem of `packages` under `cache`.
pub async fn assemble(
    cache: &Path,
    packages: &[Locked],
    setup: &Setup<'_>,
) -> Result<PathBuf, Error> {
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
    std::fs::create_dir_all(partial).map_err(|e| Error::write(partial, e))?;
    let loaded = database::load(cache, packages, setup.keys, Some(partial)).await?;
    let layout = database::layout(&loaded, setup)?;
    write_layout(partial, &layout)?;
    match std::fs::rename(partial, &dest) {
        Ok(()) => {
            used(&dest);
            prune(&cache.join("environments"), KEEP);
            Ok(dest)
        }
        // Another build assembled the same environment meanwhile.
        Err(_) if dest.join("lib/apk/db/installed").exists() => Ok(dest),
        Err(e) => Err(Error::write(&dest, e)),
    }
}

/// apk's files, over the unpacked packages and through the same checked
/// root: a package's symlink (`etc -> /host/etc`) must not carry them out.
fn write_layout(partial: &Path, layout: &database::Layout) -> Result<(), Error> {
    let root = Root::open(partial).map_err(|e| layout_error(partial, e))?;
    for (dir, mode) in &layout.dirs {
        let mode = if dir == "tmp" { 0o1777 } else { *mode as u32 };
        root.mkdir(dir, mode)
            .map_err(|e| layout_error(partial, e))?;
    }
    for (rel, mode, data) in &layout.files {
        root.write(rel, *mode as u32, &mut &data[..])
            .map_err(|e| layout_error(partial, e))?;
    }
    Ok(())
}

/// A failure writing apk's files: a write error, or a package's link that
/// would take them out of the root.
fn layout_error(root: &Path, e: RootError) -> Error {
    match e {
        RootError::Io { path, source } | RootError::Read { path, source } => {
            Error::write(&root.join(path), source)
        }
        other => Error::Unsafe {
            package: "the installed packages".to_owned(),
            reason: other.to_string(),
        },
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

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
    fn apks_files_are_not_written_through_a_packages_link() {
        use std::os::unix::fs::symlink;
        let dir = Scratch::new(
            std::env::temp_dir().join(format!("melangec-layout-{}", std::process::id())),
        );
        let root = dir.path().join("root");
        let host = dir.path().join("host");
        std::fs::create_dir_all(root.join("usr/lib")).unwrap();
        std::fs::create_dir_all(host.join("etc")).unwrap();
        std::fs::set_permissions(&host, std::fs::Permissions::from_mode(0o755)).unwrap();
        let layout = |files: &[&str], dirs: &[&str]| database::Layout {
            files: files
                .iter()
                .map(|f| ((*f).to_owned(), 0o644, b"x\n".to_vec()))
                .collect(),
            dirs: dirs.iter().map(|d| ((*d).to_owned(), 0o755)).collect(),
        };
        // Links inside the root are followed; an absolute one is the root's.
        symlink("usr/lib", root.join("lib")).unwrap();
        symlink(host.join("etc"), root.join("etc")).unwrap();
        write_layout(
            &root,
            &layout(&["lib/apk/db/installed", "etc/passwd"], &["tmp"]),
        )
        .unwrap();
        assert!(root.join("usr/lib/apk/db/installed").is_file());
        let etc = root.join(host.join("etc").strip_prefix("/").unwrap());
        assert!(etc.join("passwd").is_file());
        assert!(!host.join("etc/passwd").exists());
        assert_eq!(
            std::fs::metadata(root.join("tmp"))
                .unwrap()
                .permissions()
                .mode()
                & 0o7777,
            0o1777
        );
        // One that leads out is refused, and nothing is made through it.
        symlink("../host", root.join("home")).unwrap();
        for l in [layout(&["home/build/x"], &[]), layout(&[], &["home/build"])] {
            let err = write_layout(&root, &l).unwrap_err();
            assert!(matches!(err, Error::Unsafe { .. }), "{err}");
        }
        assert!(!host.join("build").exists());
        assert_eq!(
            std::fs::metadata(&host).unwrap().permissions().mode() & 0o7777,
            0o755
        );
    }
}
