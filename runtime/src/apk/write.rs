//! Packages into a repository directory: every exported tree built into an
//! `.apk`, then written with the directory's index updated, each file
//! atomically.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use super::key::Key;
use super::package::{self, Apk, Info};
use super::{index, read};
use crate::atomic::write as write_atomic;
use melangec_compiler::ir::PackageMeta;

fn read_file(p: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()))
}

/// Writes an index of `fresh`, after the records already at `path` when
/// `merge` (a package of the same name and version is replaced). Returns
/// how many it lists.
pub fn write_index(
    path: &Path,
    fresh: Vec<Info>,
    merge: bool,
    epoch: u64,
    key: Option<&Key>,
) -> Result<usize, String> {
    let mut infos = if merge && path.exists() {
        read::index(&read_file(path)?)?
    } else {
        Vec::new()
    };
    for info in fresh {
        infos.retain(|i: &Info| !(i.name == info.name && i.version == info.version));
        infos.push(info);
    }
    write_atomic(path, &index::build(&infos, epoch, key), 0o644)?;
    Ok(infos.len())
}

/// Packages every `melange-out/<name>` tree, in memory and temporary files;
/// stops early (with [`package::STOPPED`]) once `stop` is set.
pub fn build_packages(
    tree: &Path,
    metas: &[PackageMeta],
    opts: &package::Options<'_>,
    stop: &AtomicBool,
) -> Result<Vec<Apk>, String> {
    metas
        .iter()
        .map(|meta| package::build_unless(&tree.join(&meta.name), meta, opts, stop))
        .collect()
}

/// Writes built packages into `<out>/<arch>/`, then updates the index there;
/// each file is written atomically.
pub fn write_packages(
    built: &[Apk],
    opts: &package::Options<'_>,
    out_dir: &Path,
    generate_index: bool,
) -> Result<Vec<PathBuf>, String> {
    let (arch, epoch, key) = (opts.arch, opts.epoch, opts.key);
    let dir = out_dir.join(arch);
    let mut written = Vec::new();
    for apk in built {
        let path = dir.join(&apk.file_name);
        apk.write_to(&path)?;
        written.push(path);
    }
    if generate_index {
        let path = dir.join("APKINDEX.tar.gz");
        let fresh = built.iter().map(|apk| apk.info.clone()).collect();
        write_index(&path, fresh, true, epoch, key)?;
        written.push(path);
    }
    Ok(written)
}
