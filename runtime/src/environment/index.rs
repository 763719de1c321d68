//! A repository's `<repo>/<arch>/APKINDEX.tar.gz`: fetched, its signature
//! checked against the keyring, its records read.

use std::path::{Path, PathBuf};

use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use rsa::RsaPublicKey;
use sha1::Sha1;
use sha2::Sha256;

use super::{fetch, Error};
use crate::apk::package::Info;
use crate::apk::read;
use crate::file_error::ReadError;

/// A repository's index, verified, with where it came from.
pub struct Index {
    pub repository: String,
    pub packages: Vec<Info>,
    /// The key that signed it.
    pub signed_by: String,
}

/// `<repo>/<arch>/APKINDEX.tar.gz`: a local path (or `file://`), or `http(s)://`.
pub async fn fetch(repository: &str, arch: &str) -> Result<Vec<u8>, Error> {
    fetch::file(repository, &format!("{arch}/APKINDEX.tar.gz")).await
}

/// Where the last index of a repository that verified is kept: what a lock
/// is checked against without a download. Only its signature makes it
/// count, checked again whenever it is read.
fn kept_path(cache: &Path, repository: &str, arch: &str) -> PathBuf {
    let key = crate::apk::hex(&<Sha256 as sha2::Digest>::digest(
        format!("{repository}\n{arch}").as_bytes(),
    ));
    cache.join("indexes").join(format!("{}.tar.gz", &key[..32]))
}

/// Keeps an index that has just verified.
pub fn keep(cache: &Path, repository: &str, arch: &str, bytes: &[u8]) -> Result<(), Error> {
    crate::atomic::write(&kept_path(cache, repository, arch), bytes, 0o644)?;
    Ok(())
}

/// The kept index of a repository, verified against `keyring` now; `None`
/// when none is kept.
pub fn kept(
    cache: &Path,
    repository: &str,
    arch: &str,
    keyring: &[PathBuf],
) -> Option<Result<Index, Error>> {
    let bytes = std::fs::read(kept_path(cache, repository, arch)).ok()?;
    Some(verify(repository, &bytes, keyring))
}

/// A repository's current index, verified and kept.
pub async fn fetch_verified(
    cache: &Path,
    repository: &str,
    arch: &str,
    keyring: &[PathBuf],
) -> Result<Index, Error> {
    let bytes = fetch(repository, arch).await?;
    let index = verify(repository, &bytes, keyring)?;
    keep(cache, repository, arch, &bytes)?;
    Ok(index)
}

/// Checks the index's signature with a key from `keyring` (public key files
/// named as the signature entry names them) and reads its records.
pub fn verify(repository: &str, bytes: &[u8], keyring: &[PathBuf]) -> Result<Index, Error> {
    let fail = |reason: String| Error::Index {
        repository: repository.to_owned(),
        reason,
    };
    // Only the signature member is decompressed here; the index's own
    // members are read once, below.
    let (sig_member, sig_content) = read::first_member(bytes).map_err(|e| fail(e.to_string()))?;
    let signatures = read::tar_files(&sig_content).map_err(|e| fail(e.to_string()))?;
    let signed = &bytes[sig_member.len()..];
    match signed_by(&signatures, signed, keyring) {
        Ok(Signed::By(key_name)) => {
            let packages = read::index(signed).map_err(|e| fail(e.to_string()))?;
            // Names and versions become file names in the cache and the
            // environment: even a signed index may not name a path.
            if let Some(bad) = packages.iter().find(|p| !safe_record(&p.name, &p.version)) {
                return Err(fail(format!(
                    "the index lists a package {:?} version {:?}, which no package may be called",
                    bad.name, bad.version
                )));
            }
            Ok(Index {
                repository: repository.to_owned(),
                packages,
                signed_by: key_name,
            })
        }
        Ok(Signed::NotByKeyring(tried)) => Err(fail(format!(
            "the index is not signed by any key in the keyring{}",
            if tried.is_empty() {
                String::new()
            } else {
                format!(" (signed by {})", tried.join(", "))
            }
        ))),
        Err(SignatureError::Read(e)) => Err(Error::Read(e)),
        Err(SignatureError::Bad(reason)) => Err(fail(reason)),
    }
}

/// What the signature members of an index or a package say of `signed`.
pub enum Signed {
    /// Verified with this key of the keyring.
    By(String),
    /// By none of the keyring's keys: these others, if any.
    NotByKeyring(Vec<String>),
}

pub enum SignatureError {
    Read(ReadError),
    /// A signature by a key of the keyring that does not verify.
    Bad(String),
}

/// Checks signature members (`.SIGN.<RSA|RSA256>.<key name>`) over `signed`
/// with the key of the keyring that has that file name. A signature by a
/// key of the keyring must verify; one by another key proves nothing.
pub fn signed_by(
    signatures: &[(String, Vec<u8>)],
    signed: &[u8],
    keyring: &[PathBuf],
) -> Result<Signed, SignatureError> {
    let mut tried = Vec::new();
    for (name, signature) in signatures.iter().filter(|(n, _)| n.starts_with(".SIGN.")) {
        let Some((alg, key_name)) = name[".SIGN.".len()..].split_once('.') else {
            continue;
        };
        let Some(key_path) = keyring.iter().find(|k| file_name(k) == key_name) else {
            tried.push(key_name.to_owned());
            continue;
        };
        let pem = std::fs::read_to_string(key_path).map_err(|source| {
            SignatureError::Read(ReadError {
                path: key_path.clone(),
                source,
            })
        })?;
        let bad = |reason: String| SignatureError::Bad(reason);
        let key = RsaPublicKey::from_public_key_pem(&pem).map_err(|e| {
            bad(format!(
                "{} is not an RSA public key: {e}",
                key_path.display()
            ))
        })?;
        let sig = Signature::try_from(signature.as_slice())
            .map_err(|e| bad(format!("the signature by {key_name} is malformed: {e}")))?;
        let ok = match alg {
            "RSA256" => VerifyingKey::<Sha256>::new(key)
                .verify(signed, &sig)
                .is_ok(),
            "RSA" => VerifyingKey::<Sha1>::new(key).verify(signed, &sig).is_ok(),
            _ => false,
        };
        if !ok {
            return Err(bad(format!("the signature by {key_name} does not verify")));
        }
        return Ok(Signed::By(key_name.to_owned()));
    }
    Ok(Signed::NotByKeyring(tried))
}

fn safe_record(name: &str, version: &str) -> bool {
    melangec_compiler::names::valid_name(name)
        && !version.is_empty()
        && !version.starts_with('.')
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+_.-~".contains(c))
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apk::key::{self, Key};
    use crate::apk::package::Info;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn signed_indexes_verify_from_a_directory_and_over_http() {
        let dir = std::env::temp_dir().join(format!("melangec-index-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("repo/x86_64")).unwrap();
        let (private, public) = key::generate(&dir.join("repo.rsa"), 2048).unwrap();
        let (_, other) = key::generate(&dir.join("other.rsa"), 2048).unwrap();
        let key = Key::load(&private).unwrap();
        let info = Info {
            name: "busybox".into(),
            version: "1.37-r0".into(),
            checksum: "Q1abc=".into(),
            ..Default::default()
        };
        let bytes = crate::apk::index::build(std::slice::from_ref(&info), 0, Some(&key));
        std::fs::write(dir.join("repo/x86_64/APKINDEX.tar.gz"), &bytes).unwrap();

        let repo = dir.join("repo").to_string_lossy().into_owned();
        let fetched = fetch(&repo, "x86_64").await.unwrap();
        let index = verify(&repo, &fetched, std::slice::from_ref(&public)).unwrap();
        assert_eq!(index.packages[0].name, "busybox");
        assert_eq!(index.signed_by, "repo.rsa.pub");
        let err = verify(&repo, &fetched, &[other]).err().unwrap().to_string();
        assert!(err.contains("not signed by any key"), "{err}");
        let mut tampered = fetched.clone();
        let last = tampered.len() - 9;
        tampered[last] ^= 1;
        assert!(verify(&repo, &tampered, std::slice::from_ref(&public)).is_err());

        // Signed, but naming a path: refused.
        for (name, version) in [("../../etc", "1-r0"), ("ok", "1/../../x-r0")] {
            let bad = Info {
                name: name.into(),
                version: version.into(),
                ..info.clone()
            };
            let signed = crate::apk::index::build(&[bad], 0, Some(&key));
            let err = verify(&repo, &signed, std::slice::from_ref(&public))
                .err()
                .unwrap()
                .to_string();
            assert!(err.contains("which no package may be called"), "{err}");
        }

        // The same over http from a one-shot loopback server.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let served = bytes.clone();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await.unwrap();
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                served.len()
            );
            s.write_all(head.as_bytes()).await.unwrap();
            s.write_all(&served).await.unwrap();
        });
        let over_http = fetch(&format!("http://127.0.0.1:{port}/"), "x86_64")
            .await
            .unwrap();
        assert_eq!(over_http, bytes);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
