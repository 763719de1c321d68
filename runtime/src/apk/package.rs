//! One `.apk`: the data tar (sorted walk, root-owned, one mtime, SHA-1 PAX
//! records), its gzip member and `datahash`, the `.PKGINFO` and scripts as
//! the control member, and the signature member over it.

use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use melangec_compiler::ir::PackageMeta;
use sha1::{Digest as _, Sha1};
use sha2::Sha256;

pub use super::fields::Info;
use super::key::Key;
use super::sca::{self, File};
use super::{gz, hex, Error};
use crate::listing::{self, Child};

use super::tarball::{Entry, Tar, DIRECTORY, HARDLINK, REGULAR, SYMLINK};
use crate::file_error::{ReadError, WriteError};

/// A built package and what the index needs from it. The data member is
/// streamed to a temporary file, so memory stays flat however big the tree.
pub struct Apk {
    pub file_name: String,
    /// Signature (if any) and control members.
    head: Vec<u8>,
    data: std::fs::File,
    pub info: Info,
}

impl Apk {
    /// The whole package in memory (for tests and small packages).
    pub fn bytes(&self) -> Result<Vec<u8>, Error> {
        let mut out = self.head.clone();
        std::io::Read::read_to_end(&mut self.data_reader(), &mut out).map_err(|source| {
            Error::Read(ReadError {
                path: std::env::temp_dir(),
                source,
            })
        })?;
        Ok(out)
    }

    /// Writes the package to `path` through a temporary file renamed into
    /// place.
    pub fn write_to(&self, path: &Path) -> Result<(), Error> {
        crate::atomic::write_with(path, 0o644, |out| {
            out.write_all(&self.head)?;
            std::io::copy(&mut self.data_reader(), out)?;
            Ok(())
        })
        .map_err(|source| {
            Error::Write(WriteError {
                path: path.to_path_buf(),
                source,
            })
        })
    }

    fn data_reader(&self) -> ReadAt<'_> {
        ReadAt {
            file: &self.data,
            at: 0,
        }
    }
}

/// A package's control member: `.PKGINFO`, then the install scripts, in
/// one tar fragment (no end-of-archive, as apk-tools writes it) of its own
/// gzip member. The index's `C:` is this member's SHA-1.
pub fn control_member(pkginfo: &str, scripts: &[(&str, &[u8])], epoch: u64) -> Vec<u8> {
    let mut control = Tar::new(epoch);
    let files = std::iter::once((".PKGINFO", 0o644, pkginfo.as_bytes()))
        .chain(scripts.iter().map(|(n, s)| (*n, 0o755, *s)));
    for (name, mode, bytes) in files {
        control
            .append(
                Entry {
                    path: name,
                    kind: REGULAR,
                    mode,
                    size: bytes.len() as u64,
                    link: "",
                    pax: Vec::new(),
                    owner_names: true,
                },
                bytes,
            )
            .expect("writing to memory");
    }
    gz::member(control.bytes())
}

/// Reads a file from its start by position, leaving its offset alone, so a
/// shared `&Apk` can be written more than once.
struct ReadAt<'a> {
    file: &'a std::fs::File,
    at: u64,
}

impl std::io::Read for ReadAt<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = std::os::unix::fs::FileExt::read_at(self.file, buf, self.at)?;
        self.at += n as u64;
        Ok(n)
    }
}

/// A file in `dir` with no name (`O_TMPFILE`), gone when closed; where the
/// filesystem cannot make one, a named file unlinked at once.
fn anonymous_file(dir: &Path) -> std::io::Result<std::fs::File> {
    use rustix::fs::{Mode, OFlags};
    let flags = OFlags::RDWR | OFlags::CLOEXEC;
    match rustix::fs::open(dir, flags | OFlags::TMPFILE, Mode::from_raw_mode(0o600)) {
        Ok(fd) => Ok(fd.into()),
        Err(_) => {
            let path = dir.join(format!(
                ".melangec-data-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&path)?;
            std::fs::remove_file(&path)?;
            Ok(file)
        }
    }
}

/// Counts, hashes and passes on what is written through it.
struct Hashing<W> {
    inner: W,
    sha256: Sha256,
    len: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.sha256.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

struct Walked {
    path: String,
    kind: u8,
    mode: u32,
    /// Regular files: where the content is read from, when written.
    source: PathBuf,
    link: String,
}

/// Directories first, each directory's entries sorted by name.
fn walk(
    dir: &Path,
    rel: &str,
    out: &mut Vec<Walked>,
    inodes: &mut HashMap<(u64, u64), String>,
) -> Result<(), Error> {
    let children = listing::sorted(dir, rel).map_err(|source| {
        Error::Read(ReadError {
            path: dir.to_path_buf(),
            source,
        })
    })?;
    for Child { path, full, meta } in children {
        let ft = meta.file_type();
        let mode = meta.mode() & 0o7777;
        if ft.is_dir() {
            out.push(Walked {
                path: path.clone(),
                kind: DIRECTORY,
                mode,
                source: PathBuf::new(),
                link: String::new(),
            });
            walk(&full, &path, out, inodes)?;
        } else if ft.is_symlink() {
            let target = std::fs::read_link(&full)
                .map_err(|source| {
                    Error::Read(ReadError {
                        path: full.clone(),
                        source,
                    })
                })?
                .to_string_lossy()
                .into_owned();
            out.push(Walked {
                path,
                kind: SYMLINK,
                mode: 0o777,
                source: PathBuf::new(),
                link: target,
            });
        } else if ft.is_file() {
            let key = (meta.dev(), meta.ino());
            if meta.nlink() > 1 {
                if let Some(first) = inodes.get(&key) {
                    out.push(Walked {
                        path,
                        kind: HARDLINK,
                        mode,
                        source: PathBuf::new(),
                        link: first.clone(),
                    });
                    continue;
                }
                inodes.insert(key, path.clone());
            }
            out.push(Walked {
                path,
                kind: REGULAR,
                mode,
                source: full,
                link: String::new(),
            });
        } else {
            let kind = if ft.is_block_device() || ft.is_char_device() {
                "a device"
            } else if ft.is_fifo() {
                "a FIFO"
            } else if ft.is_socket() {
                "a socket"
            } else {
                "a file of unknown type"
            };
            return Err(Error::UnsafeEntry { path, kind });
        }
    }
    Ok(())
}

/// A value for `.PKGINFO`: one line, no surrounding space.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub struct Options<'a> {
    pub arch: &'a str,
    pub epoch: u64,
    pub namespace: &'a str,
    pub key: Option<&'a Key>,
}

static NEXT: AtomicU64 = AtomicU64::new(0);

pub fn build(tree: &Path, meta: &PackageMeta, opts: &Options<'_>) -> Result<Apk, Error> {
    build_unless(tree, meta, opts, &AtomicBool::new(false))
}

/// [`build`], giving up (with [`Error::Stopped`]) between two files once `stop` is
/// set, so an interrupted build need not compress the rest of a large tree.
pub fn build_unless(
    tree: &Path,
    meta: &PackageMeta,
    opts: &Options<'_>,
    stop: &AtomicBool,
) -> Result<Apk, Error> {
    let mut entries = Vec::new();
    if tree.is_dir() {
        walk(tree, "", &mut entries, &mut HashMap::new())?;
    }

    // Data segment, streamed: tar into gzip into a hashed temporary file
    // that has no name, so not even a killed build leaves it behind.
    let temp_dir = std::env::temp_dir();
    let io = |source| {
        Error::Write(WriteError {
            path: temp_dir.clone(),
            source,
        })
    };
    let file = anonymous_file(&temp_dir).map_err(io)?;
    let sink = Hashing {
        inner: std::io::BufWriter::with_capacity(1 << 20, file),
        sha256: Sha256::new(),
        len: 0,
    };
    let mut data = Tar::into_writer(gz::ParallelEncoder::new(sink).map_err(io)?, opts.epoch);
    let mut analysis = sca::Analysis::new(&meta.version, meta.no_commands);
    let mut size: u64 = 0;
    for e in &entries {
        if stop.load(Ordering::Relaxed) {
            return Err(Error::Stopped);
        }
        let mut pax = Vec::new();
        let mut content = Vec::new();
        match e.kind {
            REGULAR => {
                content = std::fs::read(&e.source).map_err(|source| {
                    Error::Read(ReadError {
                        path: e.source.clone(),
                        source,
                    })
                })?;
                pax.push((
                    "APK-TOOLS.checksum.SHA1".to_owned(),
                    hex(&Sha1::digest(&content)).into_bytes(),
                ));
                size += content.len() as u64;
            }
            SYMLINK => {
                pax.push((
                    "APK-TOOLS.checksum.SHA1".to_owned(),
                    hex(&Sha1::digest(e.link.as_bytes())).into_bytes(),
                ));
            }
            _ => {}
        }
        if e.kind == REGULAR || e.kind == SYMLINK {
            analysis.add(&File {
                path: &e.path,
                mode: e.mode,
                is_symlink: e.kind == SYMLINK,
                data: &content,
            });
        }
        data.append(
            Entry {
                path: &e.path,
                kind: e.kind,
                mode: e.mode,
                size: content.len() as u64,
                link: &e.link,
                pax,
                owner_names: true,
            },
            &content,
        )
        .map_err(io)?;
    }
    data.finish().map_err(io)?;
    let mut sink = data.out.finish().map_err(io)?;
    sink.flush().map_err(io)?;
    let datahash = hex(&sink.sha256.finalize_reset());
    let data_len = sink.len;
    let data_file = sink.inner.into_inner().map_err(|e| io(e.into_error()))?;
    if size == 0 && (!entries.is_empty() || !meta.scripts.is_empty()) {
        size = 1;
    }

    // Dependencies: declared, then found, sorted and each once.
    let found = analysis.finish();
    let mut provides: BTreeSet<String> = meta.provides.iter().cloned().collect();
    if !meta.no_provides {
        provides.extend(found.provides);
    }
    let mut depends: BTreeSet<String> = meta.depends.iter().cloned().collect();
    if !meta.no_depends {
        depends.extend(found.depends);
    }
    depends.remove(&meta.name);

    let mut info = Info {
        name: meta.name.clone(),
        version: meta.version.clone(),
        arch: opts.arch.to_owned(),
        size,
        description: one_line(&meta.description),
        url: one_line(&meta.url),
        license: one_line(&meta.license),
        origin: meta.origin.clone(),
        maintainer: one_line(opts.namespace),
        builddate: opts.epoch,
        commit: one_line(&meta.commit),
        provider_priority: meta.provider_priority.clone(),
        replaces_priority: meta.replaces_priority.clone(),
        depends: depends.into_iter().collect(),
        provides: provides.into_iter().collect(),
        replaces: meta.replaces.clone(),
        triggers: meta.triggers.clone(),
        datahash,
        ..Default::default()
    };
    let pkginfo = super::fields::pkginfo(&info);

    let scripts: Vec<(&str, &[u8])> = meta
        .scripts
        .iter()
        .map(|(n, s)| (n.as_str(), s.as_bytes()))
        .collect();
    let control_gz = control_member(&pkginfo, &scripts, opts.epoch);
    info.checksum = super::q1(&Sha1::digest(&control_gz));

    let mut head = Vec::new();
    if let Some(key) = opts.key {
        head.extend_from_slice(&key.signature_member(&control_gz, opts.epoch));
    }
    head.extend_from_slice(&control_gz);
    info.file_size = head.len() as u64 + data_len;
    Ok(Apk {
        file_name: format!("{}-{}.apk", meta.name, meta.version),
        head,
        data: data_file,
        info,
    })
}

/// A package of `tree` called `name`, version `1-r0`, for x86_64: what
/// tests of signing, reading and caching start from.
#[cfg(test)]
pub(crate) fn for_test(tree: &Path, name: &str, epoch: u64, key: Option<&Key>) -> Apk {
    let meta = PackageMeta {
        name: name.into(),
        version: "1-r0".into(),
        ..Default::default()
    };
    let opts = Options {
        arch: "x86_64",
        epoch,
        namespace: "",
        key,
    };
    build(tree, &meta, &opts).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scratch::Scratch;

    fn options() -> Options<'static> {
        Options {
            arch: "x86_64",
            epoch: 0,
            namespace: "",
            key: None,
        }
    }

    fn meta() -> PackageMeta {
        PackageMeta {
            name: "p".into(),
            version: "1-r0".into(),
            ..Default::default()
        }
    }

    #[test]
    fn stopping_and_unsafe_entries_are_errors_a_caller_can_match() {
        let dir = Scratch::new(
            std::env::temp_dir().join(format!("melangec-package-{}", std::process::id())),
        );
        std::fs::create_dir_all(dir.path().join("usr")).unwrap();
        std::fs::write(dir.path().join("usr/a"), "a").unwrap();
        let stopped = build_unless(dir.path(), &meta(), &options(), &AtomicBool::new(true));
        assert!(matches!(stopped, Err(Error::Stopped)));

        let fifo = dir.path().join("usr/fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.is_ok_and(|s| s.success()));
        match build(dir.path(), &meta(), &options()) {
            Err(e @ Error::UnsafeEntry { .. }) => {
                assert_eq!(e.to_string(), "usr/fifo: a FIFO cannot go in a package")
            }
            other => panic!("{:?}", other.err()),
        }
    }
}
