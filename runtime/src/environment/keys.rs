//! Keyring entries as files: a path as it is, a URL fetched once into the
//! cache under its own file name (which signatures name).

use std::path::{Path, PathBuf};

use sha2::Digest;

use super::{fetch, Error, Network};
use crate::atomic::write as write_atomic;

pub async fn key_file(cache: &Path, entry: &str, network: Network) -> Result<PathBuf, Error> {
    if !fetch::is_url(entry) {
        return Ok(PathBuf::from(entry));
    }
    let name = entry
        .rsplit('/')
        .next()
        .filter(|n| !n.is_empty() && *n != "." && *n != "..")
        .ok_or_else(|| Error::Fetch(format!("{entry}: no file name in the key URL")))?;
    let dir = cache
        .join("keys")
        .join(&crate::apk::hex(&sha2::Sha256::digest(entry.as_bytes()))[..16]);
    let path = dir.join(name);
    if !path.exists() {
        if network == Network::Offline {
            return Err(Error::NotCached {
                what: format!("the key {entry}"),
                cache: cache.to_path_buf(),
            });
        }
        let bytes = fetch::get(entry.to_owned(), fetch::Kind::Key).await?;
        write_atomic(&path, &bytes, 0o644)?;
    }
    Ok(path)
}
