//! The packaging stage of a build: packages built from the export off the
//! async threads, then the export moved into the workspace and the packages
//! and index written. A cancel while packages are still being built stops
//! them and writes nothing; once writing has begun it finishes, so the
//! output directory is never left half updated.

use std::path::{Path, PathBuf};

use melangec_compiler::ir::PackageMeta;

use super::Error;
use crate::apk::key::Key;
use crate::apk::{self, package, repository};
use crate::buildkit::solve::new_id;
use crate::cancel::Cancel;
use crate::file_error::WriteError;

pub struct Job {
    /// The export, still in its partial directory.
    pub tree: PathBuf,
    /// Where the export goes once the packages are built.
    pub target: PathBuf,
    pub metas: Vec<PackageMeta>,
    pub arch: String,
    pub epoch: u64,
    pub namespace: String,
    pub key: Option<Key>,
    pub out_dir: PathBuf,
    pub generate_index: bool,
}

pub async fn package(job: Job, cancel: &Cancel) -> Result<Vec<PathBuf>, Error> {
    let cancel = cancel.clone();
    let task = tokio::task::spawn_blocking(move || -> Result<Vec<PathBuf>, Error> {
        let opts = package::Options {
            arch: &job.arch,
            epoch: job.epoch,
            namespace: &job.namespace,
            key: job.key.as_ref(),
        };
        if !job.tree.is_dir() {
            std::fs::create_dir_all(&job.tree).map_err(|source| {
                Error::Write(WriteError {
                    path: job.tree.clone(),
                    source,
                })
            })?;
        }
        let built = match repository::build_packages(&job.tree, &job.metas, &opts, cancel.flag()) {
            Err(apk::Error::Stopped) => return Err(Error::Cancelled),
            other => other?,
        };
        replace_dir(&job.tree, &job.target)?;
        Ok(repository::write_packages(
            &built,
            &opts,
            &job.out_dir,
            job.generate_index,
        )?)
    });
    task.await.map_err(|e| Error::Packaging(e.to_string()))?
}

/// Puts `new` where `target` is, replacing it; the old tree is removed only
/// once the new one is in place.
fn replace_dir(new: &Path, target: &Path) -> Result<(), Error> {
    let fail = |source: std::io::Error| {
        Error::Write(WriteError {
            path: target.to_path_buf(),
            source,
        })
    };
    let old = target.with_file_name(format!(".melange-out.old-{}", new_id()));
    let had_old = target.exists();
    if had_old {
        std::fs::rename(target, &old).map_err(fail)?;
    }
    if let Err(e) = std::fs::rename(new, target) {
        if had_old {
            let _ = std::fs::rename(&old, target);
        }
        return Err(fail(e));
    }
    if had_old {
        let _ = std::fs::remove_dir_all(&old);
    }
    Ok(())
}
