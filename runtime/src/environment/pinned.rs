//! A locked environment for the definition itself to install: each package
//! by URL and sha256, in install order, with apk's files computed here from
//! the packages (read from the package cache) so that the compiler, which
//! reads nothing, can write them.

use std::path::{Path, PathBuf};

use melangec_compiler::{PinnedEnvironment, PinnedPackage};
use sha2::{Digest, Sha256};

use super::database::{self, Setup};
use super::lock::Locked;
use super::{fetch, Error, Network};
use crate::atomic::write as write_atomic;

/// Whether BuildKit can fetch every package itself.
pub fn fetchable(packages: &[Locked]) -> Result<(), Error> {
    match packages.iter().find(|p| !fetch::is_url(&p.repository)) {
        Some(p) => Err(Error::NotFetchable {
            package: p.name.clone(),
            repository: p.repository.clone(),
        }),
        None => Ok(()),
    }
}

/// Where the install order and database of `packages` are kept.
fn memo_path(cache: &Path, packages: &[Locked]) -> PathBuf {
    let mut h = Sha256::new();
    h.update(b"melangec database 3\n");
    for p in packages {
        h.update(format!("{} {} {}\n", p.name, p.version, p.sha256));
    }
    cache
        .join("pinned")
        .join(format!("{}.db", &crate::apk::hex(&h.finalize())[..32]))
}

/// Reads every package once to work out what [`pin`] needs, and keeps it:
/// `lock` does this so that `compile`, which downloads nothing, can pin.
pub async fn remember(cache: &Path, packages: &[Locked], keyring: &[PathBuf]) -> Result<(), Error> {
    memo(cache, packages, keyring, Network::Allowed)
        .await
        .map(|_| ())
}

async fn memo(
    cache: &Path,
    packages: &[Locked],
    keyring: &[PathBuf],
    network: Network,
) -> Result<Memo, Error> {
    let path = memo_path(cache, packages);
    if let Some(m) = read_memo(&path) {
        return Ok(m);
    }
    if network == Network::Offline {
        return Err(Error::NotCached {
            what: format!("the database of {} locked packages", packages.len()),
            cache: cache.to_path_buf(),
        });
    }
    let loaded = database::load(cache, packages, keyring, None).await?;
    let m = Memo {
        order: loaded.iter().map(|l| l.locked.name.clone()).collect(),
        installed: database::installed(&loaded),
        has_passwd: database::ships(&loaded, "etc/passwd"),
        has_group: database::ships(&loaded, "etc/group"),
    };
    let text = format!(
        "{}\n{} {}\n{}",
        m.order.join(" "),
        m.has_passwd,
        m.has_group,
        m.installed
    );
    write_atomic(&path, text.as_bytes(), 0o644)?;
    Ok(m)
}

/// Pins `packages`. Reading every package to write apk's database is the
/// slow part, so its result (the install order and the database) is kept in
/// the cache by the lock's content: a build with an unchanged lock reads
/// no package, and offline (`compile`) it must already be there.
pub async fn pin(
    cache: &Path,
    packages: &[Locked],
    setup: &Setup<'_>,
    network: Network,
) -> Result<PinnedEnvironment, Error> {
    fetchable(packages)?;
    let m = memo(cache, packages, setup.keys, network).await?;
    let layout = database::layout_from(m.installed, m.has_passwd, m.has_group, setup)?;
    let mut ordered = Vec::new();
    for name in &m.order {
        let l = packages.iter().find(|p| &p.name == name).ok_or_else(|| {
            Error::package(name, "the kept database names a package the lock lacks")
        })?;
        ordered.push(PinnedPackage {
            name: l.name.clone(),
            version: l.version.clone(),
            url: format!(
                "{}/{}",
                l.repository.trim_end_matches('/'),
                l.package_ref().relative()
            ),
            sha256: l.sha256.clone(),
        });
    }
    Ok(PinnedEnvironment {
        packages: ordered,
        files: layout.files,
        dirs: layout.dirs,
    })
}

struct Memo {
    order: Vec<String>,
    installed: String,
    has_passwd: bool,
    has_group: bool,
}

fn read_memo(path: &Path) -> Option<Memo> {
    let text = std::fs::read_to_string(path).ok()?;
    let (order, rest) = text.split_once('\n')?;
    let (flags, installed) = rest.split_once('\n')?;
    let (passwd, group) = flags.split_once(' ')?;
    Some(Memo {
        order: order
            .split(' ')
            .filter(|n| !n.is_empty())
            .map(str::to_owned)
            .collect(),
        installed: installed.to_owned(),
        has_passwd: passwd == "true",
        has_group: group == "true",
    })
}
