//! The session BuildKit calls back into while it solves: health probes,
//! FileSync serving the `local://` directories the definition names, and
//! FileSend receiving the `local` exporter's tree. Served as an HTTP/2 gRPC
//! server on whatever byte stream carries the session.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures::StreamExt;
use melangec_proto::fsutil::types::Packet;
use melangec_proto::grpc::health::v1::health_check_response::ServingStatus;
use melangec_proto::grpc::health::v1::health_server::{Health, HealthServer};
use melangec_proto::grpc::health::v1::{HealthCheckRequest, HealthCheckResponse};
use melangec_proto::moby::filesync::v1::file_send_server::{FileSend, FileSendServer};
use melangec_proto::moby::filesync::v1::file_sync_server::{FileSync, FileSyncServer};
use tokio::io::{AsyncRead, AsyncWrite, DuplexStream, ReadBuf};
use tokio::sync::mpsc;
use tokio_stream::wrappers::{ReceiverStream, UnboundedReceiverStream};
use tonic::metadata::MetadataMap;
use tonic::transport::server::Connected;
use tonic::{Request, Response, Status, Streaming};

use crate::transfer::{self, SendOptions, TransferError};

/// Every method the session serves, advertised to the daemon.
pub const METHODS: &[&str] = &[
    "/grpc.health.v1.Health/Check",
    "/moby.filesync.v1.FileSync/DiffCopy",
    "/moby.filesync.v1.FileSync/TarStream",
    "/moby.filesync.v1.FileSend/DiffCopy",
];

/// What the session offers: named directories to read, and where an export
/// goes.
#[derive(Clone, Debug, Default)]
pub struct Offer {
    pub dirs: BTreeMap<String, PathBuf>,
    pub export_to: Option<PathBuf>,
}

/// How the export went, once the daemon has sent it.
pub type ExportState = Arc<Mutex<Option<Result<(), TransferError>>>>;

/// The first directory that could not be sent, and why: the daemon only
/// reports that its side was canceled.
pub type SendFailure = Arc<Mutex<Option<String>>>;

type PacketStream = ReceiverStream<Result<Packet, Status>>;

struct HealthService;

#[tonic::async_trait]
impl Health for HealthService {
    async fn check(
        &self,
        _: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        Ok(Response::new(HealthCheckResponse {
            status: ServingStatus::Serving as i32,
        }))
    }
}

struct FileSyncService {
    dirs: BTreeMap<String, PathBuf>,
    failure: SendFailure,
}

fn values(md: &MetadataMap, key: &str) -> Vec<String> {
    md.get_all(key)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_owned)
        .collect()
}

#[tonic::async_trait]
impl FileSync for FileSyncService {
    type DiffCopyStream = PacketStream;
    type TarStreamStream = PacketStream;

    async fn diff_copy(
        &self,
        request: Request<Streaming<Packet>>,
    ) -> Result<Response<PacketStream>, Status> {
        let md = request.metadata();
        let name = values(md, "dir-name")
            .into_iter()
            .next()
            .unwrap_or_default();
        let Some(root) = self.dirs.get(&name).cloned() else {
            return Err(Status::not_found(format!(
                "no access allowed to dir {name:?}"
            )));
        };
        let opts = SendOptions {
            include: values(md, "include-patterns"),
            exclude: values(md, "exclude-patterns"),
            followpaths: values(md, "followpaths"),
            // As buildctl: files reach the build owned by root, whoever owns
            // them here, so cache keys agree across machines.
            zero_owner: true,
        };
        let incoming = request.into_inner();
        let (tx, rx) = mpsc::channel(64);
        let failure = self.failure.clone();
        tokio::spawn(async move {
            if let Err(e) = transfer::send(&root, &opts, incoming, tx.clone()).await {
                if let Ok(mut slot) = failure.lock() {
                    slot.get_or_insert_with(|| format!("cannot send {}: {e}", root.display()));
                }
                let _ = tx.send(Err(Status::internal(e.to_string()))).await;
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn tar_stream(
        &self,
        _: Request<Streaming<Packet>>,
    ) -> Result<Response<PacketStream>, Status> {
        Err(Status::unimplemented(
            "tar streams are not served; use diffcopy",
        ))
    }
}

struct FileSendService {
    export_to: Option<PathBuf>,
    state: ExportState,
}

#[tonic::async_trait]
impl FileSend for FileSendService {
    type DiffCopyStream = UnboundedReceiverStream<Result<Packet, Status>>;

    async fn diff_copy(
        &self,
        request: Request<Streaming<Packet>>,
    ) -> Result<Response<Self::DiffCopyStream>, Status> {
        let Some(dest) = self.export_to.clone() else {
            return Err(Status::failed_precondition("this build exports nothing"));
        };
        let incoming = request.into_inner();
        // Unbounded: see transfer::Replies.
        let (tx, rx) = mpsc::unbounded_channel();
        let state = self.state.clone();
        tokio::spawn(async move {
            let result = transfer::receive(&dest, incoming, tx.clone()).await;
            let outcome = match result {
                Ok(_) => Ok(()),
                Err(e) => {
                    let _ = tx.send(Err(Status::internal(e.to_string())));
                    Err(e)
                }
            };
            if let Ok(mut s) = state.lock() {
                *s = Some(outcome);
            }
        });
        Ok(Response::new(UnboundedReceiverStream::new(rx)))
    }
}

/// One end of the in-memory pipe the session runs on, as a connection the
/// gRPC server accepts.
pub struct Pipe(pub DuplexStream);

impl Connected for Pipe {
    type ConnectInfo = ();
    fn connect_info(&self) {}
}

impl AsyncRead for Pipe {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Pipe {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// Serves the session's services on `pipe` until it closes.
pub async fn serve(pipe: DuplexStream, offer: Offer, state: ExportState, failure: SendFailure) {
    let server = tonic::transport::Server::builder()
        .initial_connection_window_size(super::connect::CONNECTION_WINDOW)
        .add_service(HealthServer::new(HealthService))
        .add_service(FileSyncServer::new(FileSyncService {
            dirs: offer.dirs,
            failure,
        }))
        .add_service(FileSendServer::new(FileSendService {
            export_to: offer.export_to,
            state,
        }));
    // The one connection, then nothing: tonic shuts connections down
    // gracefully once its incoming stream ends, which refuses the streams
    // (health checks, later transfers) the daemon opens after that.
    let incoming = futures::stream::once(async move { Ok::<_, std::io::Error>(Pipe(pipe)) })
        .chain(futures::stream::pending());
    let _ = server.serve_with_incoming(incoming).await;
}
