//! A lock records a resolution; it grants no trust. Before its packages are
//! used, each must be listed, with the same control checksum, in an index
//! of one of the environment's repositories that verifies against the
//! keyring in force now, as a fresh resolution's packages are.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use super::index::{self, Index};
use super::lock::{ArchLock, Locked};
use super::{fetch, Error, Network, Wanted};

/// Whether a lock's packages are vouched for, or why not.
#[derive(Debug, PartialEq, Eq)]
pub enum Vouched {
    Yes,
    No(String),
}

/// Checks `lock` against the signed indexes of `wanted`'s repositories: a
/// kept index first (no download), then, unless offline, the current one.
pub async fn vouch(
    lock: &ArchLock,
    wanted: &Wanted,
    cache: &Path,
    network: Network,
) -> Result<Vouched, Error> {
    let mut by_repository: BTreeMap<&str, Vec<&Locked>> = BTreeMap::new();
    for p in &lock.packages {
        if !wanted.repositories.contains(&p.repository) {
            return Ok(Vouched::No(format!(
                "{} comes from {}, which the environment does not name",
                p.file_name(),
                p.repository
            )));
        }
        by_repository.entry(&p.repository).or_default().push(p);
    }
    // An index lists tens of thousands of packages: looked up, not scanned.
    let unlisted = |index: &Index, packages: &[&Locked]| -> Option<String> {
        let listed: HashSet<(&str, &str, &str)> = index
            .packages
            .iter()
            .map(|i| (i.name.as_str(), i.version.as_str(), i.checksum.as_str()))
            .collect();
        packages
            .iter()
            .find(|p| !listed.contains(&(p.name.as_str(), p.version.as_str(), p.checksum.as_str())))
            .map(|p| p.file_name())
    };
    for (repository, packages) in by_repository {
        // A local repository is read afresh: reading it is no download.
        if fetch::is_url(repository) {
            match index::kept(cache, repository, wanted.arch, &wanted.keyring) {
                Some(Ok(index)) if unlisted(&index, &packages).is_none() => continue,
                Some(Err(e)) if network == Network::Offline => return Err(e),
                None if network == Network::Offline => {
                    return Err(Error::NotCached {
                        what: format!("the signed index of {repository}"),
                        cache: cache.to_path_buf(),
                    })
                }
                Some(Ok(index)) if network == Network::Offline => {
                    return Ok(Vouched::No(not_listed(
                        &unlisted(&index, &packages).unwrap_or_default(),
                        repository,
                    )))
                }
                _ => {}
            }
        }
        let index = index::fetch_verified(cache, repository, wanted.arch, &wanted.keyring).await?;
        if let Some(file) = unlisted(&index, &packages) {
            return Ok(Vouched::No(not_listed(&file, repository)));
        }
    }
    Ok(Vouched::Yes)
}

fn not_listed(file: &str, repository: &str) -> String {
    format!("{file} is in no index of {repository} that the keyring verifies")
}
