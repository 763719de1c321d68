//! The sending side: list a directory as STATs in walk order, serve each
//! requested file as DATA chunks, answer the receiver's FIN with ours.

use std::collections::{BTreeMap, HashMap};
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use futures::{Stream, StreamExt};
use melangec_proto::fsutil::types::packet::PacketType;
use melangec_proto::fsutil::types::{Packet, Stat};
use tokio::io::AsyncReadExt;

use crate::listing::{self, Child};

use super::mode::{self, Kind};
use super::patterns::Patterns;
use super::{emit, packet, Outgoing, TransferError};

/// Go's sender uses 32 KiB chunks; the daemon accepts up to 4 MiB.
const CHUNK: usize = 32 << 10;

#[derive(Clone, Debug, Default)]
pub struct SendOptions {
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    /// Accepted; symlinks named here are sent like any other entry.
    pub followpaths: Vec<String>,
    /// Send every entry as owned by root, as buildctl does, so cache keys
    /// do not depend on who owns the files here.
    pub zero_owner: bool,
}

struct Entry {
    stat: Stat,
    /// Set for regular files with content to serve.
    source: Option<PathBuf>,
}

/// Serves `root` to the receiver on the other end of `incoming`/`out`.
pub async fn send(
    root: &Path,
    opts: &SendOptions,
    mut incoming: impl Stream<Item = Result<Packet, tonic::Status>> + Unpin + Send + 'static,
    out: Outgoing,
) -> Result<(), TransferError> {
    let entries = {
        let root = root.to_path_buf();
        let opts = opts.clone();
        tokio::task::spawn_blocking(move || list(&root, &opts))
            .await
            .map_err(|e| TransferError(e.to_string()))??
    };
    let files: HashMap<u32, PathBuf> = entries
        .iter()
        .enumerate()
        .filter_map(|(i, e)| e.source.clone().map(|p| (i as u32, p)))
        .collect();

    // The listing goes out while requests come in: the receiver asks for
    // files as soon as it sees them.
    let listing = {
        let out = out.clone();
        let stats: Vec<Stat> = entries.into_iter().map(|e| e.stat).collect();
        tokio::spawn(async move {
            for stat in stats {
                let mut p = packet(PacketType::PacketStat);
                p.stat = Some(stat);
                emit(&out, p).await?;
            }
            emit(&out, Packet::default()).await
        })
    };

    // Requests are drained as they arrive: the daemon asks for every file
    // in a burst of tiny frames, and h2 closes a connection on which too
    // many of them wait unread while a large file is being sent.
    let (req_tx, mut requests) = tokio::sync::mpsc::unbounded_channel();
    let drain = tokio::spawn(async move {
        while let Some(msg) = incoming.next().await {
            if req_tx.send(msg).is_err() {
                break;
            }
        }
    });
    let mut served = std::collections::HashSet::new();
    let result = loop {
        let Some(msg) = requests.recv().await else {
            break Err(TransferError(
                "the receiver closed the transfer early".into(),
            ));
        };
        let p = match msg {
            Ok(p) => p,
            Err(status) => break Err(TransferError(status.message().to_owned())),
        };
        match PacketType::try_from(p.r#type) {
            Ok(PacketType::PacketReq) => {
                let Some(path) = files.get(&p.id).filter(|_| served.insert(p.id)) else {
                    break Err(TransferError(format!("invalid file id {}", p.id)));
                };
                serve(path, p.id, &out).await?;
            }
            Ok(PacketType::PacketFin) => {
                emit(&out, packet(PacketType::PacketFin)).await?;
                break Ok(());
            }
            Ok(PacketType::PacketErr) => {
                break Err(TransferError(format!(
                    "error from receiver: {}",
                    String::from_utf8_lossy(&p.data)
                )));
            }
            _ => {
                break Err(TransferError(format!(
                    "unexpected packet type {}",
                    p.r#type
                )))
            }
        }
    };
    drain.abort();
    if result.is_err() {
        listing.abort();
    }
    result
}

async fn serve(path: &Path, id: u32, out: &Outgoing) -> Result<(), TransferError> {
    // A file that vanished or cannot be read arrives empty, as with Go's
    // sender; the listing already promised it.
    if let Ok(mut file) = tokio::fs::File::open(path).await {
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = match file.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let mut p = packet(PacketType::PacketData);
            p.id = id;
            p.data = buf[..n].to_vec();
            emit(out, p).await?;
        }
    }
    let mut end = packet(PacketType::PacketData);
    end.id = id;
    emit(out, end).await
}

/// Walks `root` depth first, each directory's entries sorted by name, which
/// is the order fsutil's receiver checks.
fn list(root: &Path, opts: &SendOptions) -> Result<Vec<Entry>, TransferError> {
    let exclude = Patterns::new(&opts.exclude).map_err(|e| TransferError(e.to_string()))?;
    let include = Patterns::new(&opts.include).map_err(|e| TransferError(e.to_string()))?;
    let mut walk = Walk {
        root,
        exclude,
        include,
        zero_owner: opts.zero_owner,
        out: Vec::new(),
        sent_dirs: Vec::new(),
        inodes: HashMap::new(),
    };
    walk.dir(root, "")?;
    Ok(walk.out)
}

struct Walk<'a> {
    root: &'a Path,
    exclude: Patterns,
    include: Patterns,
    zero_owner: bool,
    out: Vec<Entry>,
    /// Directories already listed, for sending skipped ancestors of an
    /// included path just before it.
    sent_dirs: Vec<String>,
    inodes: HashMap<(u64, u64), String>,
}

impl Walk<'_> {
    fn dir(&mut self, dir: &Path, rel: &str) -> Result<(), TransferError> {
        for Child { path, full, meta } in listing::sorted(dir, rel)? {
            let excluded = self.exclude.matches(&path);
            if excluded && !(meta.is_dir() && self.exclude.has_exceptions()) {
                continue;
            }
            let included = self.include.is_empty() || self.include.matches(&path);
            if included && !excluded {
                self.emit(&path, &full, &meta)?;
            }
            if meta.is_dir() {
                self.dir(&full, &path)?;
            }
        }
        Ok(())
    }

    fn emit(
        &mut self,
        path: &str,
        full: &Path,
        meta: &std::fs::Metadata,
    ) -> Result<(), TransferError> {
        // Ancestors that were skipped (not included themselves) come first.
        let mut missing = Vec::new();
        let mut p = path;
        while let Some(i) = p.rfind('/') {
            p = &p[..i];
            if self.sent_dirs.iter().any(|d| d == p) {
                break;
            }
            missing.push(p.to_owned());
        }
        for dir in missing.into_iter().rev() {
            let m = std::fs::symlink_metadata(self.root.join(&dir))?;
            self.push(&dir, self.root.join(&dir).as_path(), &m)?;
        }
        self.push(path, full, meta)
    }

    fn push(
        &mut self,
        path: &str,
        full: &Path,
        meta: &std::fs::Metadata,
    ) -> Result<(), TransferError> {
        let ft = meta.file_type();
        let mut stat = Stat {
            path: path.as_bytes().to_vec(),
            mode: mode::to_go(meta.mode()),
            uid: if self.zero_owner { 0 } else { meta.uid() },
            gid: if self.zero_owner { 0 } else { meta.gid() },
            size: meta.size() as i64,
            mod_time: meta.mtime() * 1_000_000_000 + meta.mtime_nsec(),
            linkname: Vec::new(),
            devmajor: 0,
            devminor: 0,
            xattrs: BTreeMap::new(),
        };
        let mut source = None;
        if ft.is_dir() {
            stat.size = 0;
            self.sent_dirs.push(path.to_owned());
        } else if ft.is_symlink() {
            stat.linkname = std::fs::read_link(full)?.into_os_string().into_vec();
        } else if ft.is_block_device() || ft.is_char_device() {
            let rdev = meta.rdev();
            stat.devmajor = libc::major(rdev) as i64;
            stat.devminor = libc::minor(rdev) as i64;
        } else if mode::kind(stat.mode) == Kind::Regular {
            let key = (meta.dev(), meta.ino());
            match self.inodes.get(&key) {
                Some(first) if meta.nlink() > 1 => {
                    stat.linkname = first.as_bytes().to_vec();
                    stat.size = 0;
                }
                _ => {
                    if meta.nlink() > 1 {
                        self.inodes.insert(key, path.to_owned());
                    }
                    source = Some(full.to_path_buf());
                }
            }
        }
        self.out.push(Entry { stat, source });
        Ok(())
    }
}
