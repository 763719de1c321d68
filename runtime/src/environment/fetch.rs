//! Files from a repository: a directory on this machine (or `file://`), or
//! `http(s)://` through one shared client.

use std::path::PathBuf;

use super::Error;
use crate::file_error::ReadError;

/// Whether a repository or key is a URL (which BuildKit can fetch too)
/// rather than a path on this machine.
pub fn is_url(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://")
}

/// `<repo>/<relative path>`, from a directory or over http(s).
pub async fn file(repository: &str, relative: &str) -> Result<Vec<u8>, Error> {
    let repo = repository.trim_end_matches('/');
    if is_url(repo) {
        return get(format!("{repo}/{relative}")).await;
    }
    let dir = PathBuf::from(repo.strip_prefix("file://").unwrap_or(repo));
    let path = dir.join(relative);
    tokio::fs::read(&path)
        .await
        .map_err(|source| Error::Read(ReadError { path, source }))
}

/// An http(s) GET, following redirects, trusting the system's certificate
/// authorities (as the rest of the machine does, a site's own included).
pub async fn get(url: String) -> Result<Vec<u8>, Error> {
    tokio::task::spawn_blocking(move || {
        static AGENT: std::sync::OnceLock<ureq::Agent> = std::sync::OnceLock::new();
        let agent = AGENT.get_or_init(|| {
            ureq::AgentBuilder::new()
                .user_agent(concat!("melangec/", env!("CARGO_PKG_VERSION")))
                .timeout_connect(std::time::Duration::from_secs(20))
                .timeout_read(std::time::Duration::from_secs(60))
                .build()
        });
        let response = agent
            .get(&url)
            .call()
            .map_err(|e| match e {
                ureq::Error::Status(code, r) => format!("{url}: {code} {}", r.status_text()),
                // ureq names the URL itself.
                ureq::Error::Transport(t) => t.to_string(),
            })
            .map_err(Error::Fetch)?;
        let mut body = Vec::new();
        std::io::Read::read_to_end(&mut response.into_reader(), &mut body)
            .map_err(|e| Error::Fetch(format!("{url}: {e}")))?;
        Ok(body)
    })
    .await
    .map_err(|e| Error::Fetch(format!("the download stopped: {e}")))?
}
