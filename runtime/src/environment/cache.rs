//! Downloaded packages, kept once on disk by what the index says of them
//! (name, version and control checksum) with the sha256 of the file beside
//! each: locking, assembling and pinning an environment then download every
//! package at most once. A kept package is checked again whenever it is
//! used, as a download is before it is kept; one that no longer checks is
//! downloaded again.

use std::path::{Path, PathBuf};

use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::index::{self, SignatureError};
use super::{fetch, Error};
use crate::apk::{hex, q1, read};
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
///
/// A kept file must still hash to its sidecar and still be the package the
/// index describes ([`check`]); one that does not (a disk fault, a copy cut
/// short, a change by hand) is removed and downloaded again. A download is
/// checked before it is kept, so a truncated or altered one never is.
pub async fn package(
    cache: &Path,
    p: &PackageRef<'_>,
    keyring: &[PathBuf],
) -> Result<(Vec<u8>, String), Error> {
    let file = p.path(cache);
    let sidecar = file.with_extension("sha256");
    if let (Ok(bytes), Ok(recorded)) = (std::fs::read(&file), std::fs::read_to_string(&sidecar)) {
        let sha = hex(&Sha256::digest(&bytes));
        if sha == recorded.trim() && check(p, &bytes, &file.display().to_string(), keyring).is_ok()
        {
            return Ok((bytes, sha));
        }
    }
    // Whatever is kept of it (one of the two, or both not checking) goes.
    let _ = std::fs::remove_file(&sidecar);
    let _ = std::fs::remove_file(&file);
    let relative = p.relative();
    let bytes = fetch::file(p.repository, &relative).await?;
    check(p, &bytes, &format!("{}/{relative}", p.repository), keyring)?;
    let sha = hex(&Sha256::digest(&bytes));
    write_atomic(&file, &bytes, 0o644)?;
    write_atomic(&sidecar, format!("{sha}\n").as_bytes(), 0o644)?;
    Ok((bytes, sha))
}

/// Whether `bytes` (read from `at`) are the package the index describes:
/// its control member's SHA-1 is the index's `C:`, a signature it carries
/// by a key of the keyring verifies (one by another key proves nothing, as
/// for apk: the signed index vouches for the control member), and its data
/// is what the `datahash` in that control member records.
fn check(p: &PackageRef<'_>, bytes: &[u8], at: &str, keyring: &[PathBuf]) -> Result<(), Error> {
    let parts = read::parts(bytes).map_err(|e| Error::package(at, e))?;
    let found = q1(&Sha1::digest(parts.control));
    if found != p.checksum {
        return Err(Error::package(
            at,
            format!("checksum {found} does not match the index's {}", p.checksum),
        ));
    }
    match index::signed_by(&parts.signatures, parts.control, keyring) {
        Ok(_) => {}
        Err(SignatureError::Bad(reason)) => return Err(Error::package(at, reason)),
        Err(SignatureError::Read(e)) => return Err(Error::Read(e)),
    }
    read::verified_data(&parts).map_err(|e| Error::package(at, e))?;
    Ok(())
}

/// The sha256 of a package, downloading it into the cache first if it is
/// not there or no longer checks.
pub async fn sha256(
    cache: &Path,
    p: &PackageRef<'_>,
    keyring: &[PathBuf],
) -> Result<String, Error> {
    Ok(package(cache, p, keyring).await?.1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apk::package;
    use crate::environment::lock::Locked;
    use crate::scratch::Scratch;

    #[tokio::test]
    async fn a_kept_package_that_no_longer_checks_is_downloaded_again() {
        let dir = Scratch::new(
            std::env::temp_dir().join(format!("melangec-cache-{}", std::process::id())),
        );
        let tree = dir.path().join("tree");
        std::fs::create_dir_all(tree.join("usr/bin")).unwrap();
        std::fs::write(tree.join("usr/bin/hello"), "hi\n".repeat(1000)).unwrap();
        let apk = package::for_test(&tree, "hello", 0, None);
        let good = apk.bytes().unwrap();
        let repo = dir.path().join("repo");
        std::fs::create_dir_all(repo.join("x86_64")).unwrap();
        let published = repo.join("x86_64/hello-1-r0.apk");
        std::fs::write(&published, &good).unwrap();
        let cache = dir.path().join("cache");
        let locked = Locked {
            name: "hello".into(),
            version: "1-r0".into(),
            arch: "x86_64".into(),
            repository: repo.to_string_lossy().into_owned(),
            checksum: apk.info.checksum.clone(),
            sha256: hex(&Sha256::digest(&good)),
        };
        let p = locked.package_ref();
        assert_eq!(locked.read(&cache, &[]).await.unwrap(), good);
        let kept = p.path(&cache);
        let sidecar = kept.with_extension("sha256");
        assert_eq!(std::fs::read(&kept).unwrap(), good);

        // A byte of the kept data changed: downloaded again.
        let mut changed = good.clone();
        let at = changed.len() - 20;
        changed[at] ^= 1;
        std::fs::write(&kept, &changed).unwrap();
        assert_eq!(locked.read(&cache, &[]).await.unwrap(), good);
        assert_eq!(std::fs::read(&kept).unwrap(), good);

        // Cut short, with a sidecar that matches the cut file: the control
        // still checks, the datahash does not.
        let cut = &good[..good.len() - 100];
        std::fs::write(&kept, cut).unwrap();
        std::fs::write(&sidecar, hex(&Sha256::digest(cut))).unwrap();
        assert_eq!(locked.read(&cache, &[]).await.unwrap(), good);
        assert_eq!(std::fs::read(&kept).unwrap(), good);

        // A download cut short is refused and never kept.
        std::fs::remove_file(&kept).unwrap();
        std::fs::write(&published, cut).unwrap();
        let err = package(&cache, &p, &[]).await.unwrap_err().to_string();
        assert!(
            err.contains("hello-1-r0.apk") && err.contains("datahash"),
            "{err}"
        );
        assert!(!kept.exists() && !sidecar.exists());
        assert!(sha256(&cache, &p, &[]).await.is_err());
    }

    #[tokio::test]
    async fn a_package_signature_by_a_key_of_the_keyring_must_verify() {
        let dir = Scratch::new(
            std::env::temp_dir().join(format!("melangec-cache-sig-{}", std::process::id())),
        );
        let tree = dir.path().join("tree");
        std::fs::create_dir_all(&tree).unwrap();
        std::fs::write(tree.join("f"), "f\n").unwrap();
        let (private, public) =
            crate::apk::key::generate(&dir.path().join("keys/packager.rsa"), 2048).unwrap();
        let key = crate::apk::key::Key::load(&private).unwrap();
        let apk = package::for_test(&tree, "signed", 0, Some(&key));
        let good = apk.bytes().unwrap();
        let p = PackageRef {
            repository: "unused",
            arch: "x86_64",
            name: "signed",
            version: "1-r0",
            checksum: &apk.info.checksum,
        };
        let keyring = [public];
        assert!(check(&p, &good, "signed.apk", &keyring).is_ok());

        // The signature member re-made over other bytes: the control member
        // and its C: are untouched, the signature is not theirs.
        let members = read::control_members(&good).unwrap();
        let forged = key.signature_member(b"something else", 0);
        let mut bad = forged.clone();
        bad.extend_from_slice(&good[members[0].0.len()..]);
        let err = check(&p, &bad, "signed.apk", &keyring)
            .unwrap_err()
            .to_string();
        assert!(err.contains("does not verify"), "{err}");
        // By a key the keyring lacks it proves nothing; the index vouches.
        assert!(check(&p, &bad, "signed.apk", &[]).is_ok());
    }
}
