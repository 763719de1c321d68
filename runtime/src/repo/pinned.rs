//! A locked environment for the definition itself to install: each package
//! by URL and sha256, in install order, with apk's files computed here from
//! the packages (read from the package cache) so that the compiler, which
//! reads nothing, can write them.

use std::path::Path;

use melangec_compiler::{PinnedEnvironment, PinnedPackage};

use sha2::{Digest, Sha256};

use super::lock::Locked;
use super::{index, rootfs};
use crate::atomic::write as write_atomic;

/// Whether BuildKit can fetch every package itself.
pub fn fetchable(packages: &[Locked]) -> Result<(), String> {
    match packages.iter().find(|p| !index::is_url(&p.repository)) {
        Some(p) => Err(format!(
            "{} comes from {}, which BuildKit cannot fetch from (not http or https)",
            p.name, p.repository
        )),
        None => Ok(()),
    }
}

/// Pins `packages`. Reading every package to write apk's database is the
/// slow part, so its result (the install order and the database) is kept in
/// the cache by the lock's content: a build with an unchanged lock reads
/// no package.
pub async fn pin(
    cache: &Path,
    packages: &[Locked],
    setup: &rootfs::Setup<'_>,
) -> Result<PinnedEnvironment, String> {
    fetchable(packages)?;
    let mut h = Sha256::new();
    h.update(b"melangec database 3\n");
    for p in packages {
        h.update(format!("{} {} {}\n", p.name, p.version, p.sha256));
    }
    let memo = cache
        .join("pinned")
        .join(format!("{}.db", &crate::apk::hex(&h.finalize())[..32]));
    let (order, installed, has_passwd, has_group) = match read_memo(&memo) {
        Some(m) => m,
        None => {
            let loaded = rootfs::load(cache, packages, None).await?;
            let m = (
                loaded
                    .iter()
                    .map(|l| l.locked.name.clone())
                    .collect::<Vec<_>>(),
                rootfs::installed(&loaded),
                rootfs::ships(&loaded, "etc/passwd"),
                rootfs::ships(&loaded, "etc/group"),
            );
            let text = format!("{}\n{} {}\n{}", m.0.join(" "), m.2, m.3, m.1);
            write_atomic(&memo, text.as_bytes(), 0o644)?;
            m
        }
    };
    let layout = rootfs::layout_from(installed, has_passwd, has_group, setup)?;
    let mut ordered = Vec::new();
    for name in &order {
        let l = packages
            .iter()
            .find(|p| &p.name == name)
            .ok_or_else(|| format!("{}: stale entry for {name}", memo.display()))?;
        ordered.push(PinnedPackage {
            name: l.name.clone(),
            version: l.version.clone(),
            url: format!(
                "{}/{}/{}-{}.apk",
                l.repository.trim_end_matches('/'),
                l.arch,
                l.name,
                l.version
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

type Memo = (Vec<String>, String, bool, bool);

fn read_memo(path: &Path) -> Option<Memo> {
    let text = std::fs::read_to_string(path).ok()?;
    let (order, rest) = text.split_once('\n')?;
    let (flags, installed) = rest.split_once('\n')?;
    let (passwd, group) = flags.split_once(' ')?;
    Some((
        order
            .split(' ')
            .filter(|n| !n.is_empty())
            .map(str::to_owned)
            .collect(),
        installed.to_owned(),
        passwd == "true",
        group == "true",
    ))
}
