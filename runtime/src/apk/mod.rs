//! APK v2 packaging on the client: packages from the exported
//! `melange-out/<name>` trees, signatures, and the repository index. Keys
//! never reach the daemon.

mod error;
pub mod fields;
pub mod gz;
pub mod index;
pub mod key;
pub mod package;
pub mod read;
pub mod repository;
pub mod sca;
pub mod sign;
pub mod tarball;

use std::io::Write as _;
use std::path::Path;

use crate::file_error::WriteError;
use base64::Engine as _;

pub use error::Error;

/// Writes `bytes` to `path` through a temporary file renamed into place.
fn write_file(path: &Path, bytes: &[u8], mode: u32) -> Result<(), Error> {
    crate::atomic::write_with(path, mode, |f| f.write_all(bytes)).map_err(|source| {
        Error::Write(WriteError {
            path: path.to_path_buf(),
            source,
        })
    })
}

/// Lowercase hex, as digests are written in `.PKGINFO`, locks and cache
/// names.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// apk-tools' form of a SHA-1 (index `C:`, database `Z:`): `Q1` and its
/// base64.
pub fn q1(sha1: &[u8]) -> String {
    format!(
        "Q1{}",
        base64::engine::general_purpose::STANDARD.encode(sha1)
    )
}
