//! A repository directory: packages built from the exported
//! `melange-out/<name>` trees, written into `<out>/<arch>/` beside the
//! `APKINDEX.tar.gz` that lists them.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use melangec_compiler::ir::PackageMeta;

use super::key::Key;
use super::package::{self, Apk, Info, Options};
use super::{index, read, Error};
use crate::file_error::ReadError;

/// Packages every `melange-out/<name>` tree, in memory and temporary files;
/// stops early (with [`Error::Stopped`]) once `stop` is set, even if the
/// last package was finished.
pub fn build_packages(
    tree: &Path,
    metas: &[PackageMeta],
    opts: &Options<'_>,
    stop: &AtomicBool,
) -> Result<Vec<Apk>, Error> {
    let built = metas
        .iter()
        .map(|meta| package::build_unless(&tree.join(&meta.name), meta, opts, stop))
        .collect::<Result<Vec<_>, _>>()?;
    // A stop that came after the last file still means nothing is written.
    if stop.load(Ordering::SeqCst) {
        return Err(Error::Stopped);
    }
    Ok(built)
}

/// Writes built packages into `<out>/<arch>/`, then updates the index there;
/// each file is written atomically.
pub fn write_packages(
    built: &[Apk],
    opts: &Options<'_>,
    out_dir: &Path,
    generate_index: bool,
) -> Result<Vec<PathBuf>, Error> {
    let dir = out_dir.join(opts.arch);
    let mut written = Vec::new();
    for apk in built {
        let path = dir.join(&apk.file_name);
        apk.write_to(&path)?;
        written.push(path);
    }
    if generate_index {
        let path = dir.join("APKINDEX.tar.gz");
        let fresh = built.iter().map(|apk| apk.info.clone()).collect();
        write_index(&path, fresh, true, opts.epoch, opts.key)?;
        written.push(path);
    }
    Ok(written)
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
) -> Result<usize, Error> {
    let mut infos = if merge && path.exists() {
        let bytes = std::fs::read(path).map_err(|source| {
            Error::Read(ReadError {
                path: path.to_path_buf(),
                source,
            })
        })?;
        read::index(&bytes).map_err(|e| e.in_file(path))?
    } else {
        Vec::new()
    };
    for info in fresh {
        infos.retain(|i: &Info| !(i.name == info.name && i.version == info.version));
        infos.push(info);
    }
    super::write_file(path, &index::build(&infos, epoch, key), 0o644)?;
    Ok(infos.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scratch::Scratch;

    fn info(name: &str, version: &str) -> Info {
        Info {
            name: name.into(),
            version: version.into(),
            checksum: format!("Q1{name}{version}"),
            ..Default::default()
        }
    }

    #[test]
    fn merging_replaces_the_same_name_and_version() {
        let dir = Scratch::new(
            std::env::temp_dir().join(format!("melangec-repository-{}", std::process::id())),
        );
        let path = dir.path().join("x86_64/APKINDEX.tar.gz");
        let first = vec![info("a", "1-r0"), info("b", "1-r0")];
        assert_eq!(write_index(&path, first, true, 0, None).unwrap(), 2);
        let mut again = info("a", "1-r0");
        again.description = "rebuilt".into();
        let fresh = vec![again.clone(), info("a", "2-r0")];
        assert_eq!(write_index(&path, fresh.clone(), true, 0, None).unwrap(), 3);
        let listed = read::index(&std::fs::read(&path).unwrap()).unwrap();
        let a1: Vec<_> = listed
            .iter()
            .filter(|i| i.name == "a" && i.version == "1-r0")
            .collect();
        assert_eq!(a1, [&again]);
        // Without merge, only the fresh records.
        assert_eq!(write_index(&path, fresh, false, 0, None).unwrap(), 2);
    }
}
