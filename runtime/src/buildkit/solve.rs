//! One build on a daemon: open the session (tunnelled through
//! `Control.Session`, which buildkitd and Docker both accept), then run
//! `Status` and `Solve` together; the export lands through the session.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use melangec_proto::moby::buildkit::v1::control_client::ControlClient;
use melangec_proto::moby::buildkit::v1::{
    BytesMessage, SolveRequest, StatusRequest, StatusResponse,
};
use melangec_proto::pb;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;

use super::connect::MAX_MESSAGE;
use super::session::{self, ExportState, Offer, SendFailure, METHODS};
use crate::cancel::Cancel;

/// Why a solve did not produce its export.
#[derive(Debug, thiserror::Error)]
pub enum SolveError {
    /// The daemon reported the build failed; the message is BuildKit's.
    #[error("{0}")]
    Build(String),
    /// The session or the connection failed.
    #[error("{0}")]
    Transport(String),
    /// Cancelled from this side; the daemon has let go of the build, or did
    /// not say so within [`RELEASE_WAIT`].
    #[error("cancelled")]
    Cancelled,
}

/// How long a cancelled build waits for the daemon to end its job. Until it
/// has, the job holds the daemon's copies of the local sources, and a build
/// started meanwhile gets copies of its own: BuildKit then keys the same
/// content two ways and steps of later builds miss the cache.
const RELEASE_WAIT: Duration = Duration::from_secs(10);

/// A fresh identifier: 25 lowercase base-36 characters, as BuildKit's own
/// clients make them. Only uniqueness matters here, never the value.
pub fn new_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut x = nanos ^ (u128::from(std::process::id()) << 64);
    let counter = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    x = x.wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835) ^ u128::from(counter);
    let mut out = String::with_capacity(25);
    for _ in 0..25 {
        let d = (x % 36) as u8;
        out.push(if d < 10 {
            (b'0' + d) as char
        } else {
            (b'a' + d - 10) as char
        });
        x /= 36;
        if x == 0 {
            x = nanos.rotate_left(17) | 1;
        }
    }
    out
}

static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

pub struct Solve {
    /// The session id the definition's local sources name.
    pub session_id: String,
    pub definition: pb::Definition,
    pub offer: Offer,
    /// A label for the daemon's session table (BuildKit shows it nowhere).
    pub name: String,
}

/// Runs the solve; status updates go to `progress` as they come. Returns
/// once the daemon answered and the export (if any) is complete, or, once
/// `cancel` fires, when the daemon has ended the job.
pub async fn run(
    channel: Channel,
    solve: Solve,
    progress: mpsc::Sender<StatusResponse>,
    cancel: &Cancel,
) -> Result<(), SolveError> {
    let mut client = ControlClient::new(channel)
        .max_decoding_message_size(MAX_MESSAGE)
        .max_encoding_message_size(MAX_MESSAGE);
    let session_id = solve.session_id.clone();
    let build_ref = new_id();
    let exporting = solve.offer.export_to.is_some();
    let export_state = ExportState::default();
    let send_failure = SendFailure::default();

    // The session: an HTTP/2 server on one end of an in-memory pipe, the
    // other end pumped to and from the Control.Session stream.
    let (server_end, pump_end) = tokio::io::duplex(1 << 16);
    let server = tokio::spawn(session::serve(
        server_end,
        solve.offer,
        export_state.clone(),
        send_failure.clone(),
    ));
    let (out_tx, out_rx) = mpsc::channel::<BytesMessage>(64);
    let mut request = tonic::Request::new(ReceiverStream::new(out_rx));
    let md = request.metadata_mut();
    let ascii =
        |s: &str| MetadataValue::try_from(s).map_err(|e| SolveError::Transport(e.to_string()));
    md.insert("x-docker-expose-session-uuid", ascii(&session_id)?);
    md.insert("x-docker-expose-session-name", ascii(&solve.name)?);
    // No shared key: with one, the daemon syncs into its previous copy of a
    // directory, and builds running at the same time were seen reading each
    // other's copies (BuildKit v0.8 and v0.13 alike).
    md.insert("x-docker-expose-session-sharedkey", ascii("")?);
    for method in METHODS {
        md.append("x-docker-expose-session-grpc-method", ascii(method)?);
    }
    let (mut pump_read, mut pump_write) = tokio::io::split(pump_end);
    let outbound = tokio::spawn(async move {
        let mut buf = vec![0u8; 32 << 10];
        loop {
            match pump_read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let msg = BytesMessage {
                        data: buf[..n].to_vec(),
                    };
                    if out_tx.send(msg).await.is_err() {
                        break;
                    }
                }
            }
        }
    });
    let mut session_client = client.clone();
    let inbound = tokio::spawn(async move {
        let Ok(response) = session_client.session(request).await else {
            return;
        };
        let mut stream = response.into_inner();
        while let Ok(Some(msg)) = stream.message().await {
            if !msg.data.is_empty() && pump_write.write_all(&msg.data).await.is_err() {
                break;
            }
        }
        let _ = pump_write.shutdown().await;
    });

    // Status and Solve run together: the daemon waits a few seconds for the
    // job Status names to appear.
    let mut status_client = client.clone();
    let status_ref = build_ref.clone();
    let mut status = tokio::spawn(async move {
        let Ok(response) = status_client
            .status(StatusRequest { r#ref: status_ref })
            .await
        else {
            return;
        };
        let mut stream = response.into_inner();
        while let Ok(Some(update)) = stream.message().await {
            if progress.send(update).await.is_err() {
                break;
            }
        }
    });

    let request = SolveRequest {
        r#ref: build_ref,
        definition: Some(solve.definition),
        exporter: if exporting {
            "local".into()
        } else {
            String::new()
        },
        exporter_attrs: BTreeMap::new(),
        session: session_id,
        ..Default::default()
    };
    let Some(solved) = cancel.race(client.solve(request)).await else {
        // Dropping the call cancels the job; its status stream ends once the
        // daemon has discarded it. The session stays up until then, as the
        // daemon may still be reading from it.
        let _ = tokio::time::timeout(RELEASE_WAIT, &mut status).await;
        status.abort();
        outbound.abort();
        inbound.abort();
        server.abort();
        return Err(SolveError::Cancelled);
    };

    // The export is complete when Solve returns; then the session goes.
    outbound.abort();
    inbound.abort();
    server.abort();
    let _ = tokio::time::timeout(Duration::from_secs(3), status).await;

    if solved.is_err() {
        if let Some(e) = send_failure.lock().ok().and_then(|s| s.clone()) {
            return Err(SolveError::Build(e));
        }
    }
    match solved {
        Ok(_) => {}
        Err(status) if status.code() == tonic::Code::Unavailable => {
            return Err(SolveError::Transport(status.message().to_owned()))
        }
        Err(status) => return Err(SolveError::Build(status.message().to_owned())),
    }
    if exporting {
        // The daemon's side of the export may end a moment before ours has
        // recorded its outcome.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while export_state.lock().is_ok_and(|s| s.is_none())
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        match export_state.lock().ok().and_then(|s| s.clone()) {
            Some(Ok(())) => {}
            Some(Err(e)) => return Err(SolveError::Transport(format!("export failed: {e}"))),
            None => {
                return Err(SolveError::Transport(
                    "the daemon finished without sending the export".into(),
                ))
            }
        }
    }
    Ok(())
}
