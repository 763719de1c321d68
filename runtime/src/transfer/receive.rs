//! The receiving side: create each listed entry under the destination,
//! request every regular file, write the DATA that comes back, then FIN.
//! Entries are created without following symlinks, so nothing lands outside
//! the destination whatever the listing holds.

use std::collections::HashMap;
use std::ffi::CString;
use std::fs::File;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};

use futures::{Stream, StreamExt};
use melangec_proto::fsutil::types::packet::PacketType;
use melangec_proto::fsutil::types::{Packet, Stat};

use super::mode::{self, Kind};
use super::{packet, TransferError};

/// What arrived.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    pub entries: u64,
    pub bytes: u64,
}

struct Pending {
    /// Open only while its data arrives: a tree of many files is never
    /// held open all at once.
    file: Option<File>,
    path: PathBuf,
    stat: Stat,
}

/// At most this much received data waits to be written; past it the
/// daemon's sends wait on HTTP/2 flow control.
const QUEUED_BYTES: usize = 64 << 20;

type Message = Result<Packet, tonic::Status>;

/// The receiver's replies: unbounded, so that sending one never waits (the
/// sender stops reading REQs while its data is unread, so a receiver that
/// waited to send one before reading on would deadlock both).
pub type Replies = tokio::sync::mpsc::UnboundedSender<Message>;

/// Receives a tree into `dest` (created if missing), merging with what is
/// there. Owners are ours; modes and times are the sender's.
///
/// Reading the stream and writing files are apart: messages are taken off
/// the connection as they arrive (h2 closes a connection on which many
/// small DATA frames sit unread, and a listing is thousands of them) and
/// written to disk off the async threads.
pub async fn receive(
    dest: &Path,
    mut incoming: impl Stream<Item = Message> + Unpin + Send + 'static,
    replies: Replies,
) -> Result<Received, TransferError> {
    std::fs::create_dir_all(dest)?;
    let (taken, arrived) = tokio::sync::mpsc::unbounded_channel();
    let room = std::sync::Arc::new(tokio::sync::Semaphore::new(QUEUED_BYTES));
    tokio::spawn(async move {
        while let Some(m) = incoming.next().await {
            // A message's own size plus what holding it costs.
            let size = (m.as_ref().map_or(0, |p| p.data.len()) + 256).min(QUEUED_BYTES);
            let Ok(permit) = room.clone().acquire_many_owned(size as u32).await else {
                break;
            };
            if taken.send((m, permit)).is_err() {
                break;
            }
        }
    });
    let dest = dest.to_path_buf();
    tokio::task::spawn_blocking(move || write_tree(&dest, arrived, replies))
        .await
        .map_err(|e| TransferError(format!("the receiver stopped: {e}")))?
}

fn write_tree(
    dest: &Path,
    mut arrived: tokio::sync::mpsc::UnboundedReceiver<(Message, tokio::sync::OwnedSemaphorePermit)>,
    replies: Replies,
) -> Result<Received, TransferError> {
    let emit = |p: Packet| {
        replies
            .send(Ok(p))
            .map_err(|_| TransferError("the other side closed the transfer".into()))
    };
    let mut got = Received::default();
    let mut next_id: u32 = 0;
    let mut open: HashMap<u32, Pending> = HashMap::new();
    let mut dirs: Vec<(PathBuf, Stat)> = Vec::new();
    let mut listed = false;
    let mut fin_sent = false;

    let result = loop {
        let msg = match arrived.blocking_recv() {
            Some((m, _written)) => m,
            // The sender ending the stream after our FIN is a normal end.
            None if fin_sent => break Ok(()),
            None => break Err(TransferError("the sender closed the transfer early".into())),
        };
        let p = match msg {
            Ok(p) => p,
            // So is an error once every file is in.
            Err(_) if fin_sent => break Ok(()),
            Err(status) => break Err(TransferError(status.message().to_owned())),
        };
        match PacketType::try_from(p.r#type) {
            Ok(PacketType::PacketStat) => {
                let Some(stat) = p.stat.filter(|s| !s.path.is_empty()) else {
                    listed = true;
                    if open.is_empty() && !fin_sent {
                        emit(packet(PacketType::PacketFin))?;
                        fin_sent = true;
                    }
                    continue;
                };
                if listed {
                    break Err(TransferError("entry after the end of the listing".into()));
                }
                let id = next_id;
                next_id += 1;
                got.entries += 1;
                match create(dest, &stat) {
                    Ok(Created::Dir(path)) => dirs.push((path, stat)),
                    Ok(Created::File(path)) => {
                        open.insert(
                            id,
                            Pending {
                                file: None,
                                path,
                                stat,
                            },
                        );
                        let mut req = packet(PacketType::PacketReq);
                        req.id = id;
                        emit(req)?;
                    }
                    Ok(Created::Done) => {}
                    Err(e) => break Err(e),
                }
            }
            Ok(PacketType::PacketData) => {
                let Some(pending) = open.get_mut(&p.id) else {
                    break Err(TransferError(format!("invalid file request {}", p.id)));
                };
                if p.data.is_empty() {
                    let done = open.remove(&p.id).expect("present");
                    if let Err(e) = finish(done) {
                        break Err(e);
                    }
                    if listed && open.is_empty() && !fin_sent {
                        emit(packet(PacketType::PacketFin))?;
                        fin_sent = true;
                    }
                } else {
                    got.bytes += p.data.len() as u64;
                    let written =
                        match &mut pending.file {
                            Some(f) => f.write_all(&p.data),
                            None => File::options().append(true).open(&pending.path).and_then(
                                |mut f| {
                                    f.write_all(&p.data)?;
                                    pending.file = Some(f);
                                    Ok(())
                                },
                            ),
                        };
                    if let Err(e) = written {
                        break Err(TransferError(format!("{}: {e}", pending.path.display())));
                    }
                }
            }
            Ok(PacketType::PacketFin) => break Ok(()),
            Ok(PacketType::PacketErr) => {
                break Err(TransferError(format!(
                    "error from sender: {}",
                    String::from_utf8_lossy(&p.data)
                )))
            }
            _ => {
                break Err(TransferError(format!(
                    "unexpected packet type {}",
                    p.r#type
                )))
            }
        }
    };
    if let Err(e) = &result {
        let mut err = packet(PacketType::PacketErr);
        err.data = e.0.clone().into_bytes();
        let _ = emit(err);
        return Err(e.clone());
    }
    if !fin_sent || !open.is_empty() {
        return Err(TransferError(
            "the transfer ended before every file arrived".into(),
        ));
    }
    // Directory times last, deepest first: writing into them changed them.
    for (path, stat) in dirs.iter().rev() {
        set_times(path, stat.mod_time, false)?;
    }
    Ok(got)
}

enum Created {
    Dir(PathBuf),
    File(PathBuf),
    Done,
}

/// The entry's place under `dest`, refusing anything that is not a clean
/// relative path or whose parent is not a real directory inside `dest`.
fn place(dest: &Path, rel: &str) -> Result<PathBuf, TransferError> {
    let bad = rel.starts_with('/')
        || rel.ends_with('/')
        || rel
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..");
    if bad {
        return Err(TransferError(format!("unclean path {rel:?}")));
    }
    let path = dest.join(rel);
    if let Some((parent, _)) = rel.rsplit_once('/') {
        let meta = std::fs::symlink_metadata(dest.join(parent))
            .map_err(|_| TransferError(format!("{rel:?} arrived before its directory")))?;
        if !meta.is_dir() {
            return Err(TransferError(format!("{parent:?} is not a directory")));
        }
    }
    Ok(path)
}

/// A name as the sender sent it. Go sends any bytes; a package's tar
/// headers and index hold UTF-8, so a name that is not is refused, by name.
fn utf8<'a>(name: &'a [u8], of: &[u8]) -> Result<&'a str, TransferError> {
    std::str::from_utf8(name).map_err(|_| {
        let what = String::from_utf8_lossy(of);
        let link = if name.as_ptr() == of.as_ptr() { "" } else { "the link target of " };
        TransferError(format!(
            "{link}{what:?} is not UTF-8: a package cannot carry it (rename it in the step that makes it)"
        ))
    })
}

fn create(dest: &Path, stat: &Stat) -> Result<Created, TransferError> {
    let rel = utf8(&stat.path, &stat.path)?;
    let linkname = utf8(&stat.linkname, &stat.path)?;
    let path = place(dest, rel)?;
    let perm = mode::unix_perm(stat.mode);
    let existing = std::fs::symlink_metadata(&path).ok();
    let kind = mode::kind(stat.mode);
    // Merge: a directory stays a directory; anything else is replaced.
    if let Some(m) = &existing {
        if !(m.is_dir() && kind == Kind::Dir) {
            if m.is_dir() {
                std::fs::remove_dir_all(&path)?;
            } else {
                std::fs::remove_file(&path)?;
            }
        }
    }
    let io = |e: std::io::Error| TransferError(format!("{}: {e}", path.display()));
    match kind {
        Kind::Dir => {
            if existing.as_ref().is_none_or(|m| !m.is_dir()) {
                std::fs::create_dir(&path).map_err(io)?;
            }
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(perm)).map_err(io)?;
            Ok(Created::Dir(path))
        }
        Kind::Symlink => {
            symlink(linkname, &path).map_err(io)?;
            set_times(&path, stat.mod_time, true)?;
            Ok(Created::Done)
        }
        Kind::Regular if !linkname.is_empty() => {
            let target = place(dest, linkname)?;
            std::fs::hard_link(&target, &path).map_err(io)?;
            Ok(Created::Done)
        }
        Kind::Regular => {
            File::create(&path).map_err(io)?;
            Ok(Created::File(path))
        }
        Kind::NamedPipe | Kind::CharDevice | Kind::BlockDevice => {
            let kind_bits = match kind {
                Kind::NamedPipe => libc::S_IFIFO,
                Kind::CharDevice => libc::S_IFCHR,
                _ => libc::S_IFBLK,
            };
            let dev = libc::makedev(stat.devmajor as u32, stat.devminor as u32);
            let c = CString::new(path.as_os_str().as_bytes())
                .map_err(|_| TransferError(format!("bad path {}", path.display())))?;
            // SAFETY: `c` is a valid NUL-terminated path.
            let rc = unsafe { libc::mknod(c.as_ptr(), kind_bits | perm, dev) };
            if rc != 0 {
                return Err(io(std::io::Error::last_os_error()));
            }
            set_times(&path, stat.mod_time, false)?;
            Ok(Created::Done)
        }
        // Sockets and irregular files: no package can carry them (melange's
        // tar writer refuses them too), so they are refused by name rather
        // than left out.
        Kind::Other => Err(TransferError(format!(
            "{rel:?} is a socket or another special file: a package cannot carry it"
        ))),
    }
}

fn finish(pending: Pending) -> Result<(), TransferError> {
    let Pending { file, path, stat } = pending;
    drop(file);
    let io = |e: std::io::Error| TransferError(format!("{}: {e}", path.display()));
    std::fs::set_permissions(
        &path,
        std::fs::Permissions::from_mode(mode::unix_perm(stat.mode)),
    )
    .map_err(io)?;
    set_times(&path, stat.mod_time, false)
}

fn set_times(path: &Path, nanos: i64, symlink: bool) -> Result<(), TransferError> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| TransferError(format!("bad path {}", path.display())))?;
    let ts = libc::timespec {
        tv_sec: nanos.div_euclid(1_000_000_000) as libc::time_t,
        tv_nsec: nanos.rem_euclid(1_000_000_000) as libc::c_long,
    };
    let times = [ts, ts];
    let flags = if symlink {
        libc::AT_SYMLINK_NOFOLLOW
    } else {
        0
    };
    // SAFETY: `c` is a valid NUL-terminated path and `times` two timespecs.
    let rc = unsafe { libc::utimensat(libc::AT_FDCWD, c.as_ptr(), times.as_ptr(), flags) };
    if rc != 0 {
        return Err(TransferError(format!(
            "{}: {}",
            path.display(),
            std::io::Error::last_os_error()
        )));
    }
    Ok(())
}
