//! Locks: for each architecture, the exact packages an environment
//! resolved to, where they came from and the sha256 of each file, so the
//! next build (or `compile`) needs no resolution and BuildKit can fetch each
//! package pinned by content. `lockfile` reads and writes them.

use std::path::{Path, PathBuf};

use super::cache::{self, PackageRef};
use super::{index, resolve, Error};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Locked {
    pub name: String,
    pub version: String,
    pub arch: String,
    pub repository: String,
    /// The index's `C:`: `Q1` + base64 SHA-1 of the control member.
    pub checksum: String,
    /// Hex SHA-256 of the whole `.apk` file.
    pub sha256: String,
}

impl Locked {
    pub fn package_ref(&self) -> PackageRef<'_> {
        PackageRef {
            repository: &self.repository,
            arch: &self.arch,
            name: &self.name,
            version: &self.version,
            checksum: &self.checksum,
        }
    }

    /// `<name>-<version>.apk`.
    pub fn file_name(&self) -> String {
        format!("{}-{}.apk", self.name, self.version)
    }

    /// The package's bytes, from the cache or its repository, which must
    /// still have the sha256 the lock recorded.
    pub async fn read(&self, cache: &Path, keyring: &[PathBuf]) -> Result<Vec<u8>, Error> {
        let (bytes, sha) = cache::package(cache, &self.package_ref(), keyring).await?;
        if sha != self.sha256 {
            return Err(Error::package(
                format!("{}/{}", self.repository, self.package_ref().relative()),
                format!("sha256 {sha} is not the locked {}", self.sha256),
            ));
        }
        Ok(bytes)
    }
}

/// What to resolve for one architecture.
pub struct Request<'a> {
    pub arch: &'a str,
    pub repositories: &'a [String],
    pub keyring: &'a [PathBuf],
    pub packages: &'a [String],
}

/// One architecture's lock: what was asked for, and what it resolved to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchLock {
    pub arch: String,
    /// The requested package names, sorted, each once.
    pub requested: Vec<String>,
    pub packages: Vec<Locked>,
}

/// Sorted and deduplicated, as a lock records requests.
pub fn requested(packages: &[String]) -> Vec<String> {
    let set: std::collections::BTreeSet<&String> = packages.iter().collect();
    set.into_iter().cloned().collect()
}

/// Resolves, and records each chosen package's sha256 from the package
/// cache (downloading, and checking against the index's checksum, what is
/// not there yet).
pub async fn lock(req: &Request<'_>, cache: &Path) -> Result<ArchLock, Error> {
    let mut available = Vec::new();
    let mut origin = Vec::new();
    for repo in req.repositories {
        let idx = index::fetch_verified(cache, repo, req.arch, req.keyring).await?;
        for p in idx.packages {
            origin.push(repo.clone());
            available.push(p);
        }
    }
    let chosen =
        resolve::resolve(&available, req.packages).map_err(|why| Error::Unsatisfiable {
            arch: req.arch.to_owned(),
            why,
        })?;
    let mut out = Vec::new();
    for p in chosen {
        // The repository the chosen record came from.
        let repo = available
            .iter()
            .position(|a| a.name == p.name && a.version == p.version && a.checksum == p.checksum)
            .map(|at| &origin[at])
            .ok_or_else(|| Error::package(&p.name, "resolved, but in none of the indexes"))?;
        let package = PackageRef {
            repository: repo,
            arch: req.arch,
            name: &p.name,
            version: &p.version,
            checksum: &p.checksum,
        };
        let sha256 = cache::sha256(cache, &package, req.keyring).await?;
        out.push(Locked {
            name: p.name,
            version: p.version,
            arch: req.arch.to_owned(),
            repository: repo.clone(),
            checksum: p.checksum,
            sha256,
        });
    }
    Ok(ArchLock {
        arch: req.arch.to_owned(),
        requested: requested(req.packages),
        packages: out,
    })
}
