//! Downloaded packages, kept once on disk by what the index says of them
//! (name, version and control checksum) with the sha256 of the file beside
//! each: locking, assembling and pinning an environment then download every
//! package at most once.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{fetch, Error};
use crate::apk::{hex, read};
use crate::atomic::write as write_atomic;

/// `$MELANGEC_CACHE`, else `~/.cache/melangec`.
pub fn root() -> PathBuf {
    std::env::var_os("MELANGEC_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/melangec")))
        .unwrap_or_else(|| PathBuf::from(".melangec-cache"))
}

/// A package as an index describes it, and where it comes from.
#[derive(Clone, Copy, Debug)]
pub struct PackageRef<'a> {
    pub repository: &'a str,
    pub arch: &'a str,
    pub name: &'a str,
    pub version: &'a str,
    /// The index's `C:`.
    pub checksum: &'a str,
}

impl PackageRef<'_> {
    /// `<arch>/<name>-<version>.apk`, the file's place in its repository.
    pub fn relative(&self) -> String {
        format!("{}/{}-{}.apk", self.arch, self.name, self.version)
    }

    fn path(&self, cache: &Path) -> PathBuf {
        let key = hex(&Sha256::digest(self.checksum.as_bytes()));
        cache.join("apk").join(self.arch).join(format!(
            "{}-{}.{}.apk",
            self.name,
            self.version,
            &key[..16]
        ))
    }
}

/// A package: from the cache, or downloaded, checked against its index
/// checksum and kept. Returns the file and its sha256.
pub async fn package(cache: &Path, p: &PackageRef<'_>) -> Result<(Vec<u8>, String), Error> {
    let file = p.path(cache);
    let sidecar = file.with_extension("sha256");
    if let (Ok(bytes), Ok(sha)) = (std::fs::read(&file), std::fs::read_to_string(&sidecar)) {
        return Ok((bytes, sha.trim().to_owned()));
    }
    let relative = p.relative();
    let bytes = fetch::file(p.repository, &relative).await?;
    let at = format!("{}/{relative}", p.repository);
    let found = read::control_checksum(&bytes).map_err(|e| Error::package(&at, e))?;
    if found != p.checksum {
        return Err(Error::package(
            &at,
            format!("checksum {found} does not match the index's {}", p.checksum),
        ));
    }
    let sha = hex(&Sha256::digest(&bytes));
    write_atomic(&file, &bytes, 0o644)?;
    write_atomic(&sidecar, format!("{sha}\n").as_bytes(), 0o644)?;
    Ok((bytes, sha))
}

/// The sha256 of a package, downloading it into the cache first if it is
/// not there; the file itself is not read again.
pub async fn sha256(cache: &Path, p: &PackageRef<'_>) -> Result<String, Error> {
    let sidecar = p.path(cache).with_extension("sha256");
    if let Ok(sha) = std::fs::read_to_string(&sidecar) {
        return Ok(sha.trim().to_owned());
    }
    Ok(package(cache, p).await?.1)
}
