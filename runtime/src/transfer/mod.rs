//! fsutil's DiffCopy protocol, both roles: sending a directory the daemon
//! reads as a `local://` source, and receiving the tree the `local` exporter
//! writes. Packets: a listing of STATs in walk order (ending with an empty
//! one), REQs for file contents by listing index, DATA chunks ending with an
//! empty one per file, and a FIN handshake; ERR aborts. Written here rather
//! than taken from a crate: none speaks fsutil, and the listing's order and
//! fields decide the daemon's cache keys, so they must be exactly Go's.

mod mode;
mod patterns;
mod receive;
mod send;

pub use patterns::{PatternError, Patterns};
pub use receive::{receive, Received, Replies};
pub use send::{send, SendOptions};

use melangec_proto::fsutil::types::packet::PacketType;
use melangec_proto::fsutil::types::Packet;

/// Why a transfer failed, as the side that noticed says it.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{0}")]
pub struct TransferError(pub String);

impl From<std::io::Error> for TransferError {
    fn from(e: std::io::Error) -> TransferError {
        TransferError(e.to_string())
    }
}

fn packet(kind: PacketType) -> Packet {
    Packet {
        r#type: kind as i32,
        ..Default::default()
    }
}

/// Sends are fine to lose once the other side has gone: the error that
/// matters is reported by whoever notices first.
type Outgoing = tokio::sync::mpsc::Sender<Result<Packet, tonic::Status>>;

async fn emit(out: &Outgoing, p: Packet) -> Result<(), TransferError> {
    out.send(Ok(p))
        .await
        .map_err(|_| TransferError("the other side closed the transfer".into()))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
    use std::path::{Path, PathBuf};

    use tokio::sync::mpsc;
    use tokio_stream::wrappers::{ReceiverStream, UnboundedReceiverStream};

    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("melangec-transfer-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Runs a sender and a receiver against each other in-process.
    async fn transfer(
        src: &Path,
        dest: &Path,
        opts: SendOptions,
    ) -> Result<Received, TransferError> {
        let (to_receiver, receiver_in) = mpsc::channel(16);
        let (to_sender, sender_in) = mpsc::unbounded_channel();
        let src = src.to_path_buf();
        let sender = tokio::spawn(async move {
            send(
                &src,
                &opts,
                UnboundedReceiverStream::new(sender_in),
                to_receiver,
            )
            .await
        });
        let got = receive(dest, ReceiverStream::new(receiver_in), to_sender).await;
        sender.await.unwrap()?;
        got
    }

    fn tree(root: &Path) {
        let w = |p: &str, data: &[u8], mode: u32| {
            let path = root.join(p);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, data).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        };
        w("a/b", b"inside a", 0o644);
        w("a-b", b"beside a", 0o600);
        w("usr/bin/tool", b"#!/bin/sh\necho hi\n", 0o755);
        w("big", &vec![7u8; 300_000], 0o644);
        w("empty-file", b"", 0o644);
        w("build/out.o", b"obj", 0o644);
        w("build/keep", b"keep", 0o644);
        w("x.log", b"log", 0o644);
        std::fs::create_dir_all(root.join("empty/dir")).unwrap();
        symlink("tool", root.join("usr/bin/tool-link")).unwrap();
        symlink("../nowhere", root.join("usr/bin/dangling")).unwrap();
        std::fs::hard_link(root.join("a/b"), root.join("a/c")).unwrap();
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_tree_round_trips() {
        let base = scratch("roundtrip");
        let (src, dest) = (base.join("src"), base.join("dest"));
        tree(&src);
        let got = transfer(&src, &dest, SendOptions::default()).await.unwrap();
        assert!(got.bytes >= 300_000);
        for p in [
            "a/b",
            "a-b",
            "usr/bin/tool",
            "big",
            "empty-file",
            "build/keep",
        ] {
            let (s, d) = (src.join(p), dest.join(p));
            assert_eq!(
                std::fs::read(&s).unwrap(),
                std::fs::read(&d).unwrap(),
                "{p}"
            );
            let (sm, dm) = (s.metadata().unwrap(), d.metadata().unwrap());
            assert_eq!(sm.mode(), dm.mode(), "{p}");
            assert_eq!(
                (sm.mtime(), sm.mtime_nsec()),
                (dm.mtime(), dm.mtime_nsec()),
                "{p}"
            );
        }
        assert_eq!(
            std::fs::read_link(dest.join("usr/bin/tool-link")).unwrap(),
            Path::new("tool")
        );
        assert_eq!(
            std::fs::read_link(dest.join("usr/bin/dangling")).unwrap(),
            Path::new("../nowhere")
        );
        assert!(dest.join("empty/dir").is_dir());
        assert_eq!(
            dest.join("a/b").metadata().unwrap().ino(),
            dest.join("a/c").metadata().unwrap().ino()
        );
        let _ = std::fs::remove_dir_all(&base);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn excludes_and_exceptions() {
        let base = scratch("exclude");
        let (src, dest) = (base.join("src"), base.join("dest"));
        tree(&src);
        let opts = SendOptions {
            exclude: vec!["*.log".into(), "build".into(), "!build/keep".into()],
            ..Default::default()
        };
        transfer(&src, &dest, opts).await.unwrap();
        assert!(!dest.join("x.log").exists());
        assert!(!dest.join("build/out.o").exists());
        assert!(dest.join("build/keep").is_file());
        assert!(dest.join("a/b").is_file());
        let _ = std::fs::remove_dir_all(&base);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn includes_bring_their_directories() {
        let base = scratch("include");
        let (src, dest) = (base.join("src"), base.join("dest"));
        tree(&src);
        let opts = SendOptions {
            include: vec!["usr/bin/tool".into()],
            ..Default::default()
        };
        transfer(&src, &dest, opts).await.unwrap();
        assert!(dest.join("usr/bin/tool").is_file());
        assert!(!dest.join("a").exists());
        assert!(!dest.join("usr/bin/tool-link").exists());
        let _ = std::fs::remove_dir_all(&base);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_receiver_refuses_escapes() {
        let base = scratch("escape");
        let dest = base.join("dest");
        for bad in ["../x", "/etc/x", "a/../../x", "a//b"] {
            let (tx, rx) = mpsc::channel(4);
            let (out, mut back) = mpsc::unbounded_channel();
            let mut p = packet(PacketType::PacketStat);
            p.stat = Some(melangec_proto::fsutil::types::Stat {
                path: bad.into(),
                mode: 0o644,
                ..Default::default()
            });
            tx.send(Ok(p)).await.unwrap();
            drop(tx);
            let err = receive(&dest, ReceiverStream::new(rx), out)
                .await
                .unwrap_err();
            assert!(
                err.0.contains("unclean") || err.0.contains("before its directory"),
                "{bad}: {err}"
            );
            let sent = back.recv().await.unwrap().unwrap();
            assert_eq!(sent.r#type, PacketType::PacketErr as i32);
        }
        // A symlink cannot carry a later entry out of the destination.
        let (tx, rx) = mpsc::channel(4);
        let (out, _back) = mpsc::unbounded_channel();
        let mut link = packet(PacketType::PacketStat);
        link.stat = Some(melangec_proto::fsutil::types::Stat {
            path: "l".into(),
            mode: mode::SYMLINK | 0o777,
            linkname: base.as_os_str().as_encoded_bytes().to_vec(),
            ..Default::default()
        });
        let mut through = packet(PacketType::PacketStat);
        through.stat = Some(melangec_proto::fsutil::types::Stat {
            path: "l/escaped".into(),
            mode: 0o644,
            ..Default::default()
        });
        tx.send(Ok(link)).await.unwrap();
        tx.send(Ok(through)).await.unwrap();
        drop(tx);
        assert!(receive(&dest, ReceiverStream::new(rx), out).await.is_err());
        assert!(!base.join("escaped").exists());
        let _ = std::fs::remove_dir_all(&base);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn entries_no_package_can_carry_are_refused_by_name() {
        let base = scratch("uncarried");
        let dest = base.join("dest");
        for (path, mode, says) in [
            (&b"run/sock"[..], mode::SOCKET | 0o755, "is a socket"),
            (&b"bad\xffname"[..], 0o644, "is not UTF-8"),
        ] {
            let (tx, rx) = mpsc::channel(4);
            let (out, _back) = mpsc::unbounded_channel();
            let mut dir = packet(PacketType::PacketStat);
            dir.stat = Some(melangec_proto::fsutil::types::Stat {
                path: b"run".to_vec(),
                mode: mode::DIR | 0o755,
                ..Default::default()
            });
            let mut p = packet(PacketType::PacketStat);
            p.stat = Some(melangec_proto::fsutil::types::Stat {
                path: path.to_vec(),
                mode,
                ..Default::default()
            });
            tx.send(Ok(dir)).await.unwrap();
            tx.send(Ok(p)).await.unwrap();
            drop(tx);
            let err = receive(&dest, ReceiverStream::new(rx), out)
                .await
                .unwrap_err();
            let name = String::from_utf8_lossy(path).into_owned();
            assert!(err.0.contains(says) && err.0.contains(&name), "{err}");
        }
        let _ = std::fs::remove_dir_all(&base);
    }
}
