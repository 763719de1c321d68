//! Builds that write the same directories take turns: the one that comes
//! second waits (and says so) until the first has moved its export and
//! written its packages and index, so neither sees a tree or an index half
//! written by the other. The lock is `flock` on the directory itself: no
//! lock file is left in a package directory, and a lock held by a killed
//! process is released by the kernel.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustix::fs::{self as fs, FlockOperation, Mode, OFlags};
use rustix::io::Errno;

use crate::cancel::Cancel;
use crate::file_error::WriteError;

/// How often a waiting build tries again.
const POLL: Duration = Duration::from_millis(100);

/// Directories held until this is dropped.
pub struct Held {
    _locks: Vec<OwnedFd>,
}

#[derive(Debug, thiserror::Error)]
pub enum HoldError {
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error("cancelled while waiting for another build")]
    Cancelled,
}

/// Holds every one of `dirs` (created if absent), waiting while another
/// process holds one; `waiting` is told once per directory it waits for.
/// Directories are taken in one order (by device and inode), so two builds
/// naming the same pair in either order cannot deadlock, and one directory
/// named twice is held once.
pub async fn hold(
    dirs: &[&Path],
    cancel: &Cancel,
    mut waiting: impl FnMut(&Path),
) -> Result<Held, HoldError> {
    let mut locks = Vec::new();
    for (_, dir, fd) in open_all(dirs)? {
        lock(&dir, &fd, cancel, &mut waiting).await?;
        locks.push(fd);
    }
    Ok(Held { _locks: locks })
}

type Opened = ((u64, u64), PathBuf, OwnedFd);

fn open_all(dirs: &[&Path]) -> Result<Vec<Opened>, WriteError> {
    let mut opened = Vec::new();
    for dir in dirs {
        let fail = |source: std::io::Error| WriteError {
            path: dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(fail)?;
        let fd = fs::open(
            *dir,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| fail(e.into()))?;
        let stat = fs::fstat(&fd).map_err(|e| fail(e.into()))?;
        opened.push((
            (stat.st_dev as u64, stat.st_ino as u64),
            dir.to_path_buf(),
            fd,
        ));
    }
    opened.sort_by_key(|(id, _, _)| *id);
    opened.dedup_by_key(|(id, _, _)| *id);
    Ok(opened)
}

/// The same, for commands off the async threads: waits without a cancel
/// (a signal ends the process, and the kernel drops the lock).
pub fn hold_blocking(dirs: &[&Path], mut waiting: impl FnMut(&Path)) -> Result<Held, WriteError> {
    let mut locks = Vec::new();
    for (_, dir, fd) in open_all(dirs)? {
        let fail = |e: Errno| WriteError {
            path: dir.clone(),
            source: e.into(),
        };
        if !try_lock(&fd).map_err(fail)? {
            waiting(&dir);
            loop {
                match fs::flock(&fd, FlockOperation::LockExclusive) {
                    Err(Errno::INTR) => continue,
                    other => break other.map_err(fail)?,
                }
            }
        }
        locks.push(fd);
    }
    Ok(Held { _locks: locks })
}

/// Where a build's export arrives (its partial) and where the export it
/// replaces waits to be removed, in the workspace's arch directory.
pub const PARTIAL: &str = ".melange-out.partial-";
pub const OLD: &str = ".melange-out.old-";

/// A directory this process is filling (a build's partial export), locked
/// for as long as this lives, so that [`sweep`] can tell it from one a
/// killed build left.
pub struct Claim {
    _lock: OwnedFd,
}

pub fn claim(dir: &Path) -> Result<Claim, WriteError> {
    let (_, dir, fd) = open_all(&[dir])?.remove(0);
    // A fresh directory of a new name: nobody else holds it.
    try_lock(&fd).map_err(|e| WriteError {
        path: dir,
        source: e.into(),
    })?;
    Ok(Claim { _lock: fd })
}

/// Removes what killed builds left in `dir`, which the caller holds: partial
/// exports nobody claims, old exports, and temporary files of atomic writes
/// (every writer of a held directory holds it, so none is in use).
pub fn sweep(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let path = entry.path();
        if name.starts_with(PARTIAL) {
            let unclaimed = fs::open(
                &path,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC | OFlags::NOFOLLOW,
                Mode::empty(),
            )
            .and_then(|fd| try_lock(&fd));
            if unclaimed == Ok(true) {
                let _ = std::fs::remove_dir_all(&path);
            }
        } else if name.starts_with(OLD) {
            let _ = std::fs::remove_dir_all(&path);
        } else if crate::atomic::is_temporary(&name) {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// Takes the lock if nobody holds it: `false` when another does. A
/// filesystem that cannot lock (some network ones) counts as taken: it is
/// written without taking turns, as before there were turns, rather than
/// not at all.
fn try_lock(fd: &OwnedFd) -> Result<bool, Errno> {
    loop {
        match fs::flock(fd, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => return Ok(true),
            Err(Errno::WOULDBLOCK) => return Ok(false),
            Err(Errno::INTR) => continue,
            Err(Errno::NOLCK | Errno::OPNOTSUPP | Errno::NOSYS) => return Ok(true),
            Err(e) => return Err(e),
        }
    }
}

async fn lock(
    dir: &Path,
    fd: &OwnedFd,
    cancel: &Cancel,
    waiting: &mut impl FnMut(&Path),
) -> Result<(), HoldError> {
    let mut told = false;
    while !try_lock(fd).map_err(|e| WriteError {
        path: dir.to_path_buf(),
        source: e.into(),
    })? {
        if !told {
            waiting(dir);
            told = true;
        }
        if cancel.race(tokio::time::sleep(POLL)).await.is_none() {
            return Err(HoldError::Cancelled);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scratch::Scratch;

    fn scratch(name: &str) -> Scratch {
        let pid = std::process::id();
        Scratch::new(std::env::temp_dir().join(format!("melangec-exclusive-{name}-{pid}")))
    }

    #[tokio::test]
    async fn a_second_holder_waits_until_the_first_lets_go() {
        let dir = scratch("order");
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        let cancel = Cancel::new();
        let first = hold(&[&a, &b, &a], &cancel, |_| panic!("nothing held yet"))
            .await
            .unwrap();

        let mut waited = Vec::new();
        let (a2, b2) = (a.clone(), b.clone());
        let second = tokio::spawn(async move {
            let cancel = Cancel::new();
            let held = hold(&[&b2, &a2], &cancel, |d| waited.push(d.to_path_buf()))
                .await
                .unwrap();
            (held, waited)
        });
        tokio::time::sleep(POLL * 3).await;
        assert!(!second.is_finished(), "the second holder did not wait");
        drop(first);
        let (_held, waited) = second.await.unwrap();
        assert_eq!(waited.len(), 1, "told once: {waited:?}");
    }

    #[tokio::test]
    async fn a_cancel_ends_the_wait() {
        let dir = scratch("cancel");
        let a = dir.path().join("a");
        let _first = hold(&[&a], &Cancel::new(), |_| {}).await.unwrap();
        let cancel = Cancel::new();
        let c = cancel.clone();
        let waiter = tokio::spawn(async move { hold(&[&a], &c, |_| {}).await.map(|_| ()) });
        tokio::time::sleep(POLL * 2).await;
        cancel.cancel();
        assert!(matches!(waiter.await.unwrap(), Err(HoldError::Cancelled)));
    }

    #[test]
    fn a_sweep_removes_only_what_no_live_build_claims() {
        let dir = scratch("sweep");
        let d = dir.path();
        let live = d.join(".melange-out.partial-live");
        let dead = d.join(".melange-out.partial-dead");
        std::fs::create_dir_all(dead.join("melange-out/x")).unwrap();
        let _claim = claim(&live).unwrap();
        std::fs::create_dir_all(d.join(".melange-out.old-1/y")).unwrap();
        std::fs::write(d.join(".a-1.apk.tmp-99"), b"x").unwrap();
        std::fs::write(d.join("a-1.apk"), b"x").unwrap();
        std::fs::create_dir_all(d.join("melange-out")).unwrap();
        sweep(d);
        let mut left: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [".melange-out.partial-live", "a-1.apk", "melange-out"]
        );
    }
}
