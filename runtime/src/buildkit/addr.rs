//! Where BuildKit is: `--buildkit-addr`, `$BUILDKIT_HOST`, or the usual
//! sockets of a standalone buildkitd and of Docker Engine.

use std::fmt;
use std::path::{Path, PathBuf};

pub const BUILDKITD_SOCKET: &str = "/run/buildkit/buildkitd.sock";
pub const DOCKER_SOCKET: &str = "/var/run/docker.sock";

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AddrError {
    #[error("{0:?} names no socket path")]
    NoPath(String),
    #[error("{0:?} needs a port: tcp://HOST:PORT")]
    NoPort(String),
    #[error("unknown BuildKit address {0:?}: use unix://PATH, tcp://HOST:PORT or docker://")]
    Unknown(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Addr {
    /// A standalone buildkitd on a Unix socket (gRPC with prior knowledge).
    Unix(PathBuf),
    /// A standalone buildkitd on TCP, without TLS.
    Tcp(String),
    /// Docker Engine's embedded BuildKit, reached by upgrading `POST /grpc`.
    Docker(PathBuf),
}

impl Addr {
    /// Parses `unix://PATH`, `tcp://HOST:PORT`, `docker://[PATH]`. A Unix
    /// socket named like Docker's (`docker.sock`) is Docker's.
    pub fn parse(s: &str) -> Result<Addr, AddrError> {
        if let Some(rest) = s.strip_prefix("docker://") {
            let path = if rest.is_empty() { DOCKER_SOCKET } else { rest };
            return Ok(Addr::Docker(PathBuf::from(path)));
        }
        if let Some(path) = s.strip_prefix("unix://") {
            if path.is_empty() {
                return Err(AddrError::NoPath(s.to_owned()));
            }
            let path = PathBuf::from(path);
            if is_docker_socket(&path) {
                return Ok(Addr::Docker(path));
            }
            return Ok(Addr::Unix(path));
        }
        if let Some(hostport) = s.strip_prefix("tcp://") {
            let hostport = hostport.trim_end_matches('/');
            if !hostport.contains(':') {
                return Err(AddrError::NoPort(s.to_owned()));
            }
            return Ok(Addr::Tcp(hostport.to_owned()));
        }
        Err(AddrError::Unknown(s.to_owned()))
    }
}

fn is_docker_socket(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with("docker"))
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Addr::Unix(p) => write!(f, "unix://{}", p.display()),
            Addr::Tcp(h) => write!(f, "tcp://{h}"),
            Addr::Docker(p) => write!(f, "docker://{}", p.display()),
        }
    }
}

/// Addresses to try, in order, when none is given: `$BUILDKIT_HOST`, then
/// the buildkitd socket, then Docker's (`$DOCKER_HOST` if it is a socket).
pub fn candidates(
    buildkit_host: Option<&str>,
    docker_host: Option<&str>,
) -> Result<Vec<Addr>, AddrError> {
    if let Some(host) = buildkit_host.filter(|h| !h.is_empty()) {
        return Ok(vec![Addr::parse(host)?]);
    }
    let mut out = vec![Addr::Unix(PathBuf::from(BUILDKITD_SOCKET))];
    match docker_host.and_then(|h| h.strip_prefix("unix://")) {
        Some(path) if !path.is_empty() => out.push(Addr::Docker(PathBuf::from(path))),
        _ => out.push(Addr::Docker(PathBuf::from(DOCKER_SOCKET))),
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_form() {
        assert_eq!(
            Addr::parse("unix:///run/buildkit/buildkitd.sock").unwrap(),
            Addr::Unix("/run/buildkit/buildkitd.sock".into())
        );
        assert_eq!(
            Addr::parse("unix:///var/run/docker.sock").unwrap(),
            Addr::Docker("/var/run/docker.sock".into())
        );
        assert_eq!(
            Addr::parse("docker://").unwrap(),
            Addr::Docker(DOCKER_SOCKET.into())
        );
        assert_eq!(
            Addr::parse("tcp://127.0.0.1:1234").unwrap(),
            Addr::Tcp("127.0.0.1:1234".into())
        );
        assert!(Addr::parse("tcp://nohost").is_err());
        assert!(Addr::parse("http://x").is_err());
    }

    #[test]
    fn discovery_order() {
        let c = candidates(None, None).unwrap();
        assert_eq!(
            c,
            [
                Addr::Unix(BUILDKITD_SOCKET.into()),
                Addr::Docker(DOCKER_SOCKET.into())
            ]
        );
        let c = candidates(Some("tcp://h:1"), None).unwrap();
        assert_eq!(c, [Addr::Tcp("h:1".into())]);
        let c = candidates(None, Some("unix:///tmp/d.sock")).unwrap();
        assert_eq!(c[1], Addr::Docker("/tmp/d.sock".into()));
    }
}
