//! What can go wrong building, signing, reading or writing packages and
//! indexes: one error type for the whole `apk` stage.

use crate::file_error::{ReadError, WriteError};
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error(transparent)]
    Write(#[from] WriteError),
    /// An error about the contents of a file, named by its path.
    #[error("{}: {source}", path.display())]
    InFile { path: PathBuf, source: Box<Error> },
    /// A file in the tree that no package may carry.
    #[error("{path}: {kind} cannot go in a package")]
    UnsafeEntry { path: String, kind: &'static str },
    /// Packaging gave up because it was asked to stop.
    #[error("packaging stopped")]
    Stopped,
    #[error("empty file")]
    EmptyFile,
    /// `offset` is where the member was expected to start.
    #[error("not a gzip member at byte {offset}: {source}")]
    NotGzip {
        offset: usize,
        source: std::io::Error,
    },
    /// A member inflates past what such a member may hold (a gzip bomb).
    #[error("the gzip member at byte {offset} decompresses to more than {limit} bytes")]
    TooLarge { offset: usize, limit: u64 },
    #[error("bad tar: {source}")]
    BadTar { source: std::io::Error },
    #[error("no .PKGINFO in the package")]
    NoPkgInfo,
    #[error(
        "the package records no datahash, so nothing ties its data to its checked control member"
    )]
    NoDataHash,
    #[error("the data does not match the datahash its control member records ({recorded}; the data hashes to {found})")]
    DataHash { recorded: String, found: String },
    /// Only signatures: no package or index member to sign.
    #[error("nothing to sign")]
    NothingToSign,
    #[error("{} is not an RSA private key in PEM: {reason}", path.display())]
    Key { path: PathBuf, reason: String },
    #[error("a {bits}-bit key is too weak: use 2048 bits or more")]
    WeakKey { bits: usize },
    #[error("cannot generate a key: {reason}")]
    KeyGeneration { reason: String },
}

impl Error {
    /// This error, said of the file at `path`.
    pub fn in_file(self, path: impl Into<PathBuf>) -> Error {
        Error::InFile {
            path: path.into(),
            source: Box::new(self),
        }
    }
}
