//! Opens a gRPC channel to BuildKit's Control API: HTTP/2 with prior
//! knowledge on a buildkitd socket, or on a Docker Engine socket after
//! upgrading `POST /grpc` (Docker's embedded BuildKit).

use std::io;
use std::path::Path;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};
use tonic::transport::{Channel, Endpoint, Uri};
use tower::service_fn;

use super::addr::Addr;

/// Messages up to this size pass in both directions (BuildKit's Go client
/// allows the same).
pub const MAX_MESSAGE: usize = 16 << 20;

/// The HTTP/2 connection window of our side of every connection. h2 closes
/// a connection (ENHANCE_YOUR_CALM) once the small DATA frames it holds
/// unread cost more than half this window; a daemon sends thousands of
/// small messages (a listing, a chatty log) faster than any reader takes
/// them at times. Memory stays bounded by each stream's own window.
pub const CONNECTION_WINDOW: u32 = 1 << 30;

pub async fn channel(addr: &Addr, timeout: Duration) -> io::Result<Channel> {
    let endpoint = Endpoint::from_static("http://localhost")
        .connect_timeout(timeout)
        .initial_connection_window_size(CONNECTION_WINDOW)
        .timeout(Duration::from_secs(24 * 3600));
    let connected = match addr.clone() {
        Addr::Unix(path) => endpoint
            .connect_with_connector(service_fn(move |_: Uri| {
                let path = path.clone();
                async move { Ok::<_, io::Error>(TokioIo::new(UnixStream::connect(path).await?)) }
            }))
            .await,
        Addr::Tcp(hostport) => endpoint
            .connect_with_connector(service_fn(move |_: Uri| {
                let hostport = hostport.clone();
                async move { Ok::<_, io::Error>(TokioIo::new(TcpStream::connect(hostport).await?)) }
            }))
            .await,
        Addr::Docker(path) => {
            endpoint
                .connect_with_connector(service_fn(move |_: Uri| {
                    let path = path.clone();
                    // Every new connection needs its own upgraded socket.
                    async move { Ok::<_, io::Error>(TokioIo::new(upgrade(&path, "/grpc").await?)) }
                }))
                .await
        }
    };
    connected.map_err(|e| io::Error::other(root_cause(&e)))
}

/// `POST <path>` with `Upgrade: h2c` on Docker's socket; returns the socket
/// once the 101 has been read, and not a byte further: Docker drops anything
/// sent before it answers, and sends nothing after until we speak.
pub async fn upgrade(socket: &Path, path: &str) -> io::Result<UnixStream> {
    let mut stream = UnixStream::connect(socket).await?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: h2c\r\nContent-Length: 0\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut head = Vec::with_capacity(256);
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await? == 0 || head.len() > 16 << 10 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the Docker socket closed before answering the upgrade",
            ));
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    let status = head.lines().next().unwrap_or("");
    if status.split_whitespace().nth(1) != Some("101") {
        let mut body = vec![0u8; 512];
        let n = tokio::time::timeout(Duration::from_millis(200), stream.read(&mut body))
            .await
            .unwrap_or(Ok(0))
            .unwrap_or(0);
        let body = String::from_utf8_lossy(&body[..n]);
        return Err(io::Error::other(format!(
            "Docker refused {path}: {status} {}",
            body.trim()
        )));
    }
    Ok(stream)
}

/// The innermost error message: transport errors wrap the one that says what
/// happened (connection refused, no such file).
pub fn root_cause(e: &dyn std::error::Error) -> String {
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}
