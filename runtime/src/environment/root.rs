//! An environment's root directory, written only through paths walked from
//! it: each component is opened relative to the one before without
//! following links, and a symlink met on the way is resolved by us, within
//! the root (an absolute target from the root, as apk in a chroot), so that
//! `lib -> usr/lib` is followed and `x -> ../../..` is refused. Nothing is
//! ever created, changed or linked outside the root.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{self as fs, AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

/// How many symlinks one path may go through, as Linux allows.
const MAX_LINKS: usize = 40;

#[derive(Debug, thiserror::Error)]
pub enum RootError {
    /// A symlink on the way leads out of the root.
    #[error("{0:?} would be written outside the root")]
    Outside(String),
    #[error("{0:?} goes through too many symlinks")]
    Loop(String),
    /// Something on the way (or the entry's place) is not a directory.
    #[error("{0:?}: {1} is not a directory")]
    NotDirectory(String, String),
    /// A hard link's target is not a regular file this unpack wrote.
    #[error("{path:?}: the hard link target {target:?} is not a file written before it")]
    BadLinkTarget { path: String, target: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    /// Reading what was to be written failed (a broken or too large
    /// archive), as opposed to writing it.
    #[error("{path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
}

fn io(path: &str) -> impl Fn(Errno) -> RootError + '_ {
    move |e| RootError::Io {
        path: path.to_owned(),
        source: e.into(),
    }
}

/// A file's identity on its device: how an unpack knows the files it wrote.
pub type FileId = (u64, u64);

/// A directory opened as an environment's root.
pub struct Root {
    fd: OwnedFd,
    path: PathBuf,
}

impl Root {
    pub fn open(path: &Path) -> Result<Root, RootError> {
        let fd = fs::open(
            path,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| RootError::Io {
            path: path.display().to_string(),
            source: e.into(),
        })?;
        Ok(Root {
            fd,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The directory `rel` names, opened (`O_PATH`), creating missing
    /// directories (0755) on the way when `create`.
    fn dir(&self, rel: &str, create: bool) -> Result<OwnedFd, RootError> {
        let mut todo: VecDeque<Vec<u8>> = rel.split('/').map(|c| c.as_bytes().to_vec()).collect();
        // The real directories walked so far, below the root: a `..` in a
        // link target is their parent, never the root's.
        let mut stack: Vec<OwnedFd> = Vec::new();
        let mut links = 0;
        while let Some(name) = todo.pop_front() {
            match &name[..] {
                b"" | b"." => continue,
                b".." => {
                    if stack.pop().is_none() {
                        return Err(RootError::Outside(rel.to_owned()));
                    }
                    continue;
                }
                _ => {}
            }
            let at = stack.last().unwrap_or(&self.fd).as_fd();
            let opened = fs::openat(
                at,
                &name[..],
                OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            );
            match opened {
                Ok(fd) => {
                    stack.push(fd);
                    continue;
                }
                Err(Errno::NOENT) if create => {
                    match fs::mkdirat(at, &name[..], Mode::from_raw_mode(0o755)) {
                        Ok(()) | Err(Errno::EXIST) => {}
                        Err(e) => return Err(io(rel)(e)),
                    }
                    todo.push_front(name);
                    continue;
                }
                Err(Errno::NOTDIR) | Err(Errno::LOOP) => {}
                Err(e) => return Err(io(rel)(e)),
            }
            // Not a directory: a symlink is resolved here, within the root.
            let target = match fs::readlinkat(at, &name[..], Vec::new()) {
                Ok(target) => target.into_bytes(),
                Err(Errno::INVAL) => {
                    return Err(RootError::NotDirectory(
                        rel.to_owned(),
                        String::from_utf8_lossy(&name).into_owned(),
                    ))
                }
                Err(e) => return Err(io(rel)(e)),
            };
            links += 1;
            if links > MAX_LINKS {
                return Err(RootError::Loop(rel.to_owned()));
            }
            if target.starts_with(b"/") {
                stack.clear();
            }
            for c in target.split(|b| *b == b'/').rev() {
                todo.push_front(c.to_vec());
            }
        }
        match stack.pop() {
            Some(fd) => Ok(fd),
            None => fs::openat(
                &self.fd,
                ".",
                OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(io(rel)),
        }
    }

    /// The directory holding `rel`, and `rel`'s last component.
    fn parent<'a>(&self, rel: &'a str, create: bool) -> Result<(OwnedFd, &'a str), RootError> {
        let (parent, name) = rel.rsplit_once('/').unwrap_or(("", rel));
        Ok((self.dir(parent, create)?, name))
    }

    /// What is at `name` in `dir`, not following a symlink; `None` if
    /// nothing is.
    fn kind(dir: &OwnedFd, name: &str, rel: &str) -> Result<Option<FileType>, RootError> {
        match fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(Some(FileType::from_raw_mode(st.st_mode))),
            Err(Errno::NOENT) => Ok(None),
            Err(e) => Err(io(rel)(e)),
        }
    }

    /// Makes room at `name` for a new file or link: whatever non-directory
    /// is there (a symlink itself, never what it points at) is removed.
    fn clear(dir: &OwnedFd, name: &str, rel: &str) -> Result<(), RootError> {
        match Self::kind(dir, name, rel)? {
            None => Ok(()),
            Some(FileType::Directory) => Err(RootError::Io {
                path: rel.to_owned(),
                source: std::io::Error::from(std::io::ErrorKind::IsADirectory),
            }),
            Some(_) => fs::unlinkat(dir, name, AtFlags::empty()).map_err(io(rel)),
        }
    }

    /// A directory at `rel` with `mode`. One already there keeps its place
    /// and takes the mode; a symlink already there (`lib -> usr/lib`) is
    /// left as it is, and neither it nor its target is changed, but it must
    /// stay inside the root and lead to a directory.
    pub fn mkdir(&self, rel: &str, mode: u32) -> Result<(), RootError> {
        let (parent, name) = self.parent(rel, true)?;
        match Self::kind(&parent, name, rel)? {
            None => match fs::mkdirat(&parent, name, Mode::from_raw_mode(0o700)) {
                Ok(()) | Err(Errno::EXIST) => {}
                Err(e) => return Err(io(rel)(e)),
            },
            Some(FileType::Directory) => {}
            Some(FileType::Symlink) => return self.dir(rel, false).map(drop),
            Some(_) => {
                return Err(RootError::NotDirectory(rel.to_owned(), name.to_owned()));
            }
        }
        let dir = fs::openat(
            &parent,
            name,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(io(rel))?;
        fs::fchmod(&dir, Mode::from_raw_mode(mode & 0o7777)).map_err(io(rel))
    }

    /// A regular file at `rel` with what `content` reads and `mode`
    /// (set-uid and set-gid bits included, as apk sets them): returns its
    /// identity, for hard links to it.
    pub fn write(&self, rel: &str, mode: u32, content: &mut dyn Read) -> Result<FileId, RootError> {
        let (parent, name) = self.parent(rel, true)?;
        Self::clear(&parent, name, rel)?;
        let fd = fs::openat(
            &parent,
            name,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )
        .map_err(io(rel))?;
        let mut file = std::fs::File::from(fd);
        let mut buf = vec![0u8; 64 << 10];
        loop {
            let n = match content.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(RootError::Read {
                        path: rel.to_owned(),
                        source,
                    })
                }
            };
            file.write_all(&buf[..n]).map_err(|source| RootError::Io {
                path: rel.to_owned(),
                source,
            })?;
        }
        fs::fchmod(&file, Mode::from_raw_mode(mode & 0o7777)).map_err(io(rel))?;
        let st = fs::fstat(&file).map_err(io(rel))?;
        Ok((st.st_dev, st.st_ino))
    }

    /// A symlink at `rel` to `target`, which is stored as given and only
    /// ever followed through [`Root`].
    pub fn symlink(&self, rel: &str, target: &str) -> Result<(), RootError> {
        let (parent, name) = self.parent(rel, true)?;
        Self::clear(&parent, name, rel)?;
        fs::symlinkat(target, &parent, name).map_err(io(rel))
    }

    /// A hard link at `rel` to the regular file at `target` (relative to
    /// the root), which must be one of `written`.
    pub fn hard_link(
        &self,
        rel: &str,
        target: &str,
        written: &std::collections::HashSet<FileId>,
    ) -> Result<(), RootError> {
        let bad = || RootError::BadLinkTarget {
            path: rel.to_owned(),
            target: target.to_owned(),
        };
        let (from, from_name) = self.parent(target, false).map_err(|e| match e {
            RootError::Io { .. } | RootError::NotDirectory(..) => bad(),
            other => other,
        })?;
        let st = match fs::statat(&from, from_name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            Err(_) => return Err(bad()),
        };
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile
            || !written.contains(&(st.st_dev, st.st_ino))
        {
            return Err(bad());
        }
        let (parent, name) = self.parent(rel, true)?;
        Self::clear(&parent, name, rel)?;
        fs::linkat(&from, from_name, &parent, name, AtFlags::empty()).map_err(io(rel))
    }
}
