//! Downloaded packages, kept once on disk by what the index says of them
//! (name, version and control checksum) with the sha256 of the file beside
//! each: locking, assembling and pinning an environment then download every
//! package at most once.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::index;
use super::lock::Locked;
use crate::apk::{hex, read};
use crate::atomic::write as write_atomic;

/// `$MELANGEC_CACHE`, else `~/.cache/melangec`.
pub fn root() -> PathBuf {
    std::env::var_os("MELANGEC_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/melangec")))
        .unwrap_or_else(|| PathBuf::from(".melangec-cache"))
}

fn path(cache: &Path, arch: &str, name: &str, version: &str, checksum: &str) -> PathBuf {
    let key = hex(&Sha256::digest(checksum.as_bytes()));
    cache
        .join("apk")
        .join(arch)
        .join(format!("{name}-{version}.{}.apk", &key[..16]))
}

/// A package as the index describes it: from the cache, or downloaded,
/// checked against `checksum` and kept. Returns the file and its sha256.
pub async fn package(
    cache: &Path,
    repository: &str,
    arch: &str,
    name: &str,
    version: &str,
    checksum: &str,
) -> Result<(Vec<u8>, String), String> {
    let file = path(cache, arch, name, version, checksum);
    let sidecar = file.with_extension("sha256");
    if let (Ok(bytes), Ok(sha)) = (std::fs::read(&file), std::fs::read_to_string(&sidecar)) {
        return Ok((bytes, sha.trim().to_owned()));
    }
    let relative = format!("{arch}/{name}-{version}.apk");
    let bytes = index::fetch_file(repository, &relative).await?;
    let found =
        read::control_checksum(&bytes).map_err(|e| format!("{repository}/{relative}: {e}"))?;
    if found != checksum {
        return Err(format!(
            "{repository}/{relative}: checksum {found} does not match the index's {checksum}"
        ));
    }
    let sha = hex(&Sha256::digest(&bytes));
    write_atomic(&file, &bytes, 0o644).map_err(|e| e.to_string())?;
    write_atomic(&sidecar, format!("{sha}\n").as_bytes(), 0o644).map_err(|e| e.to_string())?;
    Ok((bytes, sha))
}

/// The sha256 of a package as the index describes it, downloading it into
/// the cache first if it is not there; the file itself is not read again.
pub async fn sha256(
    cache: &Path,
    repository: &str,
    arch: &str,
    name: &str,
    version: &str,
    checksum: &str,
) -> Result<String, String> {
    let sidecar = path(cache, arch, name, version, checksum).with_extension("sha256");
    if let Ok(sha) = std::fs::read_to_string(&sidecar) {
        return Ok(sha.trim().to_owned());
    }
    Ok(package(cache, repository, arch, name, version, checksum)
        .await?
        .1)
}

/// A locked package, which must still have the sha256 the lock recorded.
pub async fn locked(cache: &Path, p: &Locked) -> Result<Vec<u8>, String> {
    let (bytes, sha) = package(
        cache,
        &p.repository,
        &p.arch,
        &p.name,
        &p.version,
        &p.checksum,
    )
    .await?;
    if sha != p.sha256 {
        return Err(format!(
            "{}/{}/{}-{}.apk: sha256 {sha} is not the locked {}",
            p.repository, p.arch, p.name, p.version, p.sha256
        ));
    }
    Ok(bytes)
}
