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
use crate::exclusive::{self, HoldError};
use crate::file_error::WriteError;
use crate::progress::Console;

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

impl Job {
    fn options(&self) -> package::Options<'_> {
        package::Options {
            arch: &self.arch,
            epoch: self.epoch,
            namespace: &self.namespace,
            key: self.key.as_ref(),
        }
    }
}

pub async fn package(job: Job, cancel: &Cancel, console: &Console) -> Result<Vec<PathBuf>, Error> {
    let flag = cancel.clone();
    let (job, built) = blocking(move || {
        if !job.tree.is_dir() {
            std::fs::create_dir_all(&job.tree).map_err(|source| {
                Error::Write(WriteError {
                    path: job.tree.clone(),
                    source,
                })
            })?;
        }
        let built =
            match repository::build_packages(&job.tree, &job.metas, &job.options(), flag.flag()) {
                Err(apk::Error::Stopped) => return Err(Error::Cancelled),
                other => other?,
            };
        Ok((job, built))
    })
    .await?;

    // Another build writing the same workspace or packages waits here, so
    // the export moved and the index merged are this build's alone.
    let arch_out = job.out_dir.join(&job.arch);
    let workspace = job.target.parent().unwrap_or(&job.target).to_path_buf();
    let held = exclusive::hold(&[workspace.as_path(), arch_out.as_path()], cancel, |dir| {
        console.line(format_args!(
            "waiting for another build writing {}",
            dir.display()
        ))
    })
    .await
    .map_err(|e| match e {
        HoldError::Cancelled => Error::Cancelled,
        HoldError::Write(w) => Error::Write(w),
    })?;
    blocking(move || {
        let _held = held;
        exclusive::sweep(&workspace);
        exclusive::sweep(&arch_out);
        replace_dir(&job.tree, &job.target)?;
        Ok(repository::write_packages(
            &built,
            &job.options(),
            &job.out_dir,
            job.generate_index,
        )?)
    })
    .await
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::Packaging(e.to_string()))?
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
    let old = target.with_file_name(format!("{}{}", exclusive::OLD, new_id()));
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
