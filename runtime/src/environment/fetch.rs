//! Files from a repository: a directory on this machine (or `file://`), or
//! `http(s)://` through one shared client. A download is bounded: in size
//! by what it is, in time by a lowest rate it must keep, and in redirects,
//! which never go from https to http.

use std::io::Read;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::Error;
use crate::file_error::ReadError;

/// Whether a repository or key is a URL (which BuildKit can fetch too)
/// rather than a path on this machine.
pub fn is_url(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://")
}

/// What is downloaded, which says how large it may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An `APKINDEX.tar.gz`: Wolfi's is tens of MB.
    Index,
    /// An `.apk`: the largest toolchains are a few GB.
    Package,
    /// A public key: a few hundred bytes.
    Key,
}

impl Kind {
    fn limit(self) -> u64 {
        match self {
            Kind::Index => 512 << 20,
            Kind::Package => 16 << 30,
            Kind::Key => 1 << 20,
        }
    }
}

/// `<repo>/<relative path>`, from a directory or over http(s).
pub async fn file(repository: &str, relative: &str) -> Result<Vec<u8>, Error> {
    let repo = repository.trim_end_matches('/');
    let kind = if relative.ends_with("APKINDEX.tar.gz") {
        Kind::Index
    } else {
        Kind::Package
    };
    if is_url(repo) {
        return get(format!("{repo}/{relative}"), kind).await;
    }
    let dir = PathBuf::from(repo.strip_prefix("file://").unwrap_or(repo));
    let path = dir.join(relative);
    tokio::fs::read(&path)
        .await
        .map_err(|source| Error::Read(ReadError { path, source }))
}

/// How a download may go: at most `size` bytes, and after `grace` at least
/// `rate` bytes a second on average.
#[derive(Clone, Copy, Debug)]
struct Bounds {
    size: u64,
    grace: Duration,
    rate: u64,
}

impl Bounds {
    fn of(kind: Kind) -> Bounds {
        Bounds {
            size: kind.limit(),
            grace: Duration::from_secs(60),
            rate: 16 << 10,
        }
    }
}

/// Redirects followed before giving up.
const REDIRECTS: usize = 5;

/// An http(s) GET, following redirects, trusting the system's certificate
/// authorities (as the rest of the machine does, a site's own included).
pub async fn get(url: String, kind: Kind) -> Result<Vec<u8>, Error> {
    get_within(url, Bounds::of(kind)).await
}

async fn get_within(url: String, bounds: Bounds) -> Result<Vec<u8>, Error> {
    tokio::task::spawn_blocking(move || {
        static AGENT: std::sync::OnceLock<ureq::Agent> = std::sync::OnceLock::new();
        let agent = AGENT.get_or_init(|| {
            ureq::AgentBuilder::new()
                .user_agent(concat!("melangec/", env!("CARGO_PKG_VERSION")))
                .timeout_connect(Duration::from_secs(20))
                .timeout_read(Duration::from_secs(60))
                // Followed here, where a downgrade to http is refused.
                .redirects(0)
                .build()
        });
        let mut at = url.clone();
        for _ in 0..=REDIRECTS {
            let response = agent
                .get(&at)
                .call()
                .map_err(|e| match e {
                    ureq::Error::Status(code, r) => format!("{at}: {code} {}", r.status_text()),
                    // ureq names the URL itself.
                    ureq::Error::Transport(t) => t.to_string(),
                })
                .map_err(Error::Fetch)?;
            if (300..400).contains(&response.status()) {
                let location = response.header("location").unwrap_or_default().to_owned();
                at = redirected(&at, &location).map_err(Error::Fetch)?;
                continue;
            }
            if let Some(length) = response
                .header("content-length")
                .and_then(|l| l.parse::<u64>().ok())
                .filter(|l| *l > bounds.size)
            {
                return Err(Error::Fetch(format!(
                    "{at}: {length} bytes is more than the {} a download of this kind may be",
                    bounds.size
                )));
            }
            return read_within(response.into_reader(), &at, bounds);
        }
        Err(Error::Fetch(format!(
            "{url}: more than {REDIRECTS} redirects"
        )))
    })
    .await
    .map_err(|e| Error::Fetch(format!("the download stopped: {e}")))?
}

/// Where a redirect from `from` to `location` leads; never from https to
/// http, where anyone on the way could answer.
fn redirected(from: &str, location: &str) -> Result<String, String> {
    let base = url::Url::parse(from).map_err(|e| format!("{from}: {e}"))?;
    let next = base
        .join(location)
        .map_err(|e| format!("{from}: a redirect to {location:?}: {e}"))?;
    match (base.scheme(), next.scheme()) {
        ("https", "https") | ("http", "http") | ("http", "https") => Ok(next.into()),
        ("https", "http") => Err(format!(
            "{from}: refused a redirect from https to http ({next})"
        )),
        (_, other) => Err(format!("{from}: refused a redirect to a {other} URL")),
    }
}

/// Reads a body within `bounds`.
fn read_within(mut body: impl Read, url: &str, bounds: Bounds) -> Result<Vec<u8>, Error> {
    let started = Instant::now();
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = body
            .read(&mut buf)
            .map_err(|e| Error::Fetch(format!("{url}: {e}")))?;
        if n == 0 {
            return Ok(out);
        }
        out.extend_from_slice(&buf[..n]);
        if out.len() as u64 > bounds.size {
            return Err(Error::Fetch(format!(
                "{url}: more than the {} bytes a download of this kind may be",
                bounds.size
            )));
        }
        let elapsed = started.elapsed();
        if elapsed > bounds.grace && (out.len() as u64) < bounds.rate * elapsed.as_secs() {
            return Err(Error::Fetch(format!(
                "{url}: too slow ({} bytes in {}s, below {} bytes a second)",
                out.len(),
                elapsed.as_secs(),
                bounds.rate
            )));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Serves one connection with `head`, then writes `chunk` every
    /// `every` for as long as the client reads.
    fn serve(head: String, chunk: Vec<u8>, every: Duration) -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf);
            if s.write_all(head.as_bytes()).is_err() {
                return;
            }
            while s.write_all(&chunk).is_ok() {
                std::thread::sleep(every);
            }
        });
        format!("http://127.0.0.1:{port}/f")
    }

    #[tokio::test]
    async fn an_endless_body_stops_at_the_size_limit() {
        let url = serve(
            "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".into(),
            vec![b'x'; 64 << 10],
            Duration::ZERO,
        );
        let bounds = Bounds {
            size: 1 << 20,
            ..Bounds::of(Kind::Index)
        };
        let err = get_within(url, bounds).await.unwrap_err().to_string();
        assert!(err.contains("more than the 1048576 bytes"), "{err}");
    }

    #[tokio::test]
    async fn a_declared_length_over_the_limit_is_refused_before_reading() {
        let url = serve(
            "HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n".into(),
            b"x".to_vec(),
            Duration::from_secs(1),
        );
        let err = get(url, Kind::Key).await.unwrap_err().to_string();
        assert!(err.contains("99999999999 bytes is more than"), "{err}");
    }

    #[tokio::test]
    async fn a_trickle_is_given_up() {
        let url = serve(
            "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".into(),
            b"x".to_vec(),
            Duration::from_millis(50),
        );
        let bounds = Bounds {
            size: 1 << 20,
            grace: Duration::from_millis(300),
            rate: 1000,
        };
        let err = get_within(url, bounds).await.unwrap_err().to_string();
        assert!(err.contains("too slow"), "{err}");
    }

    #[test]
    fn redirects_never_go_from_https_to_http() {
        assert_eq!(redirected("https://a/x/y", "z").unwrap(), "https://a/x/z");
        assert_eq!(
            redirected("http://a/x", "https://b/y").unwrap(),
            "https://b/y"
        );
        let err = redirected("https://a/x", "http://a/x").unwrap_err();
        assert!(err.contains("from https to http"), "{err}");
        let err = redirected("https://a/x", "file:///etc/passwd").unwrap_err();
        assert!(err.contains("a file URL"), "{err}");
    }

    #[tokio::test]
    async fn a_redirect_loop_ends() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for s in listener.incoming() {
                let Ok(mut s) = s else { return };
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf);
                let _ = s.write_all(
                    b"HTTP/1.1 302 Found\r\nLocation: /again\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            }
        });
        let err = get(format!("http://127.0.0.1:{port}/"), Kind::Index)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("more than 5 redirects"), "{err}");
    }
}
