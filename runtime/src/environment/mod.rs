//! Build environments from APK repositories: indexes fetched and verified
//! (`fetch`, `index`, `keys`), resolved (`version`, `constraint`, `resolve`),
//! locked (`lock`, `lockfile`), and then either pinned in the definition
//! (`pinned`) or assembled here as a root filesystem (`rootfs`, `unpack`),
//! with apk's own files written by `database`. `prepare` runs the whole
//! stage for a build; `request` says what an environment asks for.

pub mod cache;
pub mod constraint;
pub mod database;
pub mod fetch;
pub mod index;
pub mod keys;
pub mod lock;
pub mod lockfile;
pub mod pinned;
pub mod prepare;
pub mod request;
pub mod resolve;
pub mod root;
pub mod rootfs;
pub mod unpack;
pub mod version;
pub mod vouch;

use std::fmt::Display;
use std::path::PathBuf;

use melangec_compiler::{Diagnostics, PinnedEnvironment};

use crate::file_error::{ReadError, WriteError};

pub use prepare::{prepare, Refresh};
pub use request::{Extra, Wanted};

/// The environment a build runs in.
#[derive(Clone, Debug)]
pub enum Environment {
    /// Installed by the definition from pinned packages.
    Pinned(PinnedEnvironment),
    /// A root filesystem on this machine, served as the `environment` local.
    Dir(PathBuf),
}

/// Why an environment could not be had.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A download failed (the URL is in the reason).
    #[error("{0}")]
    Fetch(String),
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error(transparent)]
    Write(#[from] WriteError),
    /// A repository's index is unsigned, badly signed or unreadable.
    #[error("{repository}: {reason}")]
    Index { repository: String, reason: String },
    /// A package is not what its index or lock says, or does not read.
    #[error("{package}: {reason}")]
    Package { package: String, reason: String },
    /// No set of packages satisfies the request, pointed at the recipe.
    #[error("{}", .0.first_line())]
    Unresolved(Diagnostics),
    /// No set of packages satisfies the request, with nothing to point at.
    #[error("cannot resolve the {arch} build environment: {why}")]
    Unsatisfiable {
        arch: String,
        why: resolve::Unresolved,
    },
    #[error("{}: {reason}", path.display())]
    LockFile { path: PathBuf, reason: String },
    /// A lock no longer matches what the recipe asks for.
    #[error("{} was made for other packages than the recipe now asks for ({arch}); run `melangec lock` to refresh it", path.display())]
    StaleLock { path: PathBuf, arch: String },
    /// An offline stage (`compile`) needs what only a download would give.
    #[error("{what} is not in the package cache ({}); run `melangec lock` to fetch it", cache.display())]
    NotCached { what: String, cache: PathBuf },
    #[error("no environment: the recipe names no repositories; pass --repository-append (and --keyring-append), or --environment-dir")]
    NoRepositories,
    /// A lock whose repositories BuildKit cannot reach cannot be pinned.
    #[error(
        "{package} comes from {repository}, which BuildKit cannot fetch from (not http or https)"
    )]
    NotFetchable { package: String, repository: String },
    /// A lock whose packages no signed index vouches for, where nothing may
    /// be resolved afresh (`compile`).
    #[error("{}: {reason}; run `melangec lock` to resolve the environment again", path.display())]
    Unvouched { path: PathBuf, reason: String },
    /// An archive entry that would land outside the root.
    #[error("{package}: {reason}")]
    Unsafe { package: String, reason: String },
}

impl Error {
    pub(crate) fn package(package: impl Display, reason: impl Display) -> Error {
        Error::Package {
            package: package.to_string(),
            reason: reason.to_string(),
        }
    }

    pub(crate) fn write(path: &std::path::Path, source: std::io::Error) -> Error {
        Error::Write(WriteError {
            path: path.to_path_buf(),
            source,
        })
    }

    /// The diagnostics to show instead of the message, when there are some.
    pub fn diagnostics(&self) -> Option<&Diagnostics> {
        match self {
            Error::Unresolved(d) => Some(d),
            _ => None,
        }
    }
}

/// Whether the stage may download (`build`, `lock`) or must make do with
/// the package cache (`compile`, whose output must not depend on a network).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Network {
    Allowed,
    Offline,
}
