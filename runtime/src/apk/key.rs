//! RSA keys as melange uses them: PKCS#1 PEM private keys (PKCS#8 read too),
//! SubjectPublicKeyInfo PEM public keys named `<private key>.pub`, and
//! RSASSA-PKCS1-v1_5 signatures over SHA-256 (`.SIGN.RSA256.<name>`).

use std::path::{Path, PathBuf};

use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey, LineEnding};
use rsa::signature::{SignatureEncoding, Signer};
use rsa::RsaPrivateKey;
use sha2::Sha256;

use super::tarball::{Entry, Tar, REGULAR};
use super::{gz, Error};
use crate::file_error::ReadError;

pub struct Key {
    key: RsaPrivateKey,
    /// The public key's file name, which names the signature entry.
    pub public_name: String,
}

impl Key {
    pub fn load(path: &Path) -> Result<Key, Error> {
        let pem = std::fs::read_to_string(path).map_err(|source| {
            Error::Read(ReadError {
                path: path.to_path_buf(),
                source,
            })
        })?;
        let key = RsaPrivateKey::from_pkcs1_pem(&pem)
            .or_else(|_| RsaPrivateKey::from_pkcs8_pem(&pem))
            .map_err(|e| Error::Key {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
        let base = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(Key {
            key,
            public_name: format!("{base}.pub"),
        })
    }

    /// The signature entry's name: `.SIGN.RSA256.<public key file>`.
    pub fn entry_name(&self) -> String {
        format!(".SIGN.RSA256.{}", self.public_name)
    }

    /// PKCS#1 v1.5 over SHA-256 of `data`; deterministic.
    pub fn sign(&self, data: &[u8]) -> Vec<u8> {
        let signer = rsa::pkcs1v15::SigningKey::<Sha256>::new(self.key.clone());
        signer.sign(data).to_vec()
    }

    /// The gzip member that signs `data`: one `.SIGN.RSA256.<key>` entry, no
    /// end-of-archive, as packages and indexes both carry it.
    pub fn signature_member(&self, data: &[u8], epoch: u64) -> Vec<u8> {
        let signature = self.sign(data);
        let name = self.entry_name();
        let mut tar = Tar::new(epoch);
        tar.append(
            Entry {
                path: &name,
                kind: REGULAR,
                mode: 0o644,
                size: signature.len() as u64,
                link: "",
                pax: Vec::new(),
                owner_names: true,
            },
            &signature,
        )
        .expect("writing to memory");
        gz::member(tar.bytes())
    }
}

/// Writes `<name>` (PKCS#1) and `<name>.pub` (SPKI), as `melange keygen`.
pub fn generate(name: &Path, bits: usize) -> Result<(PathBuf, PathBuf), Error> {
    if bits < 2048 {
        return Err(Error::WeakKey { bits });
    }
    let failed = |e: &dyn std::fmt::Display| Error::KeyGeneration {
        reason: e.to_string(),
    };
    let mut rng = rand_core::OsRng;
    let key = RsaPrivateKey::new(&mut rng, bits).map_err(|e| failed(&e))?;
    let private = key.to_pkcs1_pem(LineEnding::LF).map_err(|e| failed(&e))?;
    let public = key
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| failed(&e))?;
    let public_path = PathBuf::from(format!("{}.pub", name.display()));
    super::write_file(name, private.as_bytes(), 0o600)?;
    super::write_file(&public_path, public.as_bytes(), 0o644)?;
    Ok((name.to_path_buf(), public_path))
}
