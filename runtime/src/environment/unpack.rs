//! A package's data member unpacked under a root, or only listed: what apk
//! would install, and each file's recorded SHA-1. The data is first checked
//! against the `datahash` of the control member (which the index's `C:`
//! covers), then read as it is decompressed with the `tar` crate (PAX and
//! GNU long names included). Entries are written here, through [`Root`],
//! rather than by the crate, so that each is checked: no absolute or `..`
//! path, nothing the host cannot name, no device or fifo, hard links only
//! to files this package wrote, and nothing written, created or changed
//! through a link that leads out of the root (links inside it, like `/lib`
//! -> `usr/lib`, are followed as apk follows them).

use std::collections::HashSet;
use std::path::Path;

use tar::EntryType;

use super::lock::Locked;
use super::root::{FileId, Root, RootError};
use super::Error;
use crate::apk::read;

/// A file a package installs: its path and, when recorded, its SHA-1 (hex).
pub type Installed = (String, Option<String>);

/// The longest name a Linux filesystem holds (`NAME_MAX`), and the longest
/// path (`PATH_MAX`, its NUL aside).
const NAME_MAX: usize = 255;
const PATH_MAX: usize = 4095;

#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    /// The package does not read, or its data is not what its control
    /// member records.
    #[error(transparent)]
    Package(#[from] crate::apk::Error),
    #[error("{0}")]
    Malformed(String),
    #[error("unsafe path {0:?}")]
    UnsafePath(String),
    /// An entry apk could install but an environment must not hold, or
    /// that is not what it claims.
    #[error("{path:?}: {reason}")]
    Refused { path: String, reason: String },
    #[error(transparent)]
    Root(#[from] RootError),
}

impl UnpackError {
    /// The stage's error, naming the package.
    pub fn in_package(self, p: &Locked) -> Error {
        match self {
            UnpackError::UnsafePath(_)
            | UnpackError::Refused { .. }
            | UnpackError::Root(
                RootError::Outside(_)
                | RootError::Loop(_)
                | RootError::NotDirectory(..)
                | RootError::BadLinkTarget { .. },
            ) => Error::Unsafe {
                package: p.file_name(),
                reason: self.to_string(),
            },
            _ => Error::package(p.file_name(), self),
        }
    }
}

fn malformed(e: impl std::fmt::Display) -> UnpackError {
    UnpackError::Malformed(e.to_string())
}

fn refused(path: &str, reason: impl Into<String>) -> UnpackError {
    UnpackError::Refused {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

/// An entry's path, checked: relative, without `.` or `..` components,
/// UTF-8 (the installed database records it as text), without control
/// characters (apk calls those malicious) and within what the host can
/// name. A trailing `/` (a directory, as abuild writes them) is dropped.
fn checked_path(raw: &[u8]) -> Result<String, UnpackError> {
    let lossy = || String::from_utf8_lossy(raw).into_owned();
    let text = std::str::from_utf8(raw).map_err(|_| refused(&lossy(), "the name is not UTF-8"))?;
    if text.chars().any(char::is_control) {
        return Err(refused(text, "the name holds a control character"));
    }
    let rel = text.trim_end_matches('/');
    if rel.is_empty()
        || rel.starts_with('/')
        || rel
            .split('/')
            .any(|c| c == ".." || c == "." || c.is_empty())
    {
        return Err(UnpackError::UnsafePath(text.to_owned()));
    }
    if rel.len() > PATH_MAX || rel.split('/').any(|c| c.len() > NAME_MAX) {
        return Err(refused(text, "the name is longer than a filesystem holds"));
    }
    Ok(rel.to_owned())
}

/// Unpacks the data member of an `.apk` under `root` (or only lists it),
/// once the data is checked against its `datahash`: nothing is written
/// before that.
pub fn unpack(bytes: &[u8], root: Option<&Path>) -> Result<Vec<Installed>, UnpackError> {
    let parts = read::parts(bytes)?;
    let data = read::verified_data(&parts)?;
    let root = match root {
        Some(root) => Some(Root::open(root)?),
        None => None,
    };
    let mut files = Vec::new();
    if data.is_empty() {
        return Ok(files);
    }
    // What hard links may point at: the regular files written so far, by
    // name and (when unpacking) by identity.
    let mut regular: HashSet<String> = HashSet::new();
    let mut written: HashSet<FileId> = HashSet::new();
    let mut archive = tar::Archive::new(read::data_reader(data));
    for entry in archive.entries().map_err(malformed)? {
        let mut entry = entry.map_err(malformed)?;
        let kind = entry.header().entry_type();
        let rel = checked_path(&entry.path_bytes())?;
        let mut sha1 = None;
        if let Some(extensions) = entry.pax_extensions().map_err(malformed)? {
            for ext in extensions {
                let ext = ext.map_err(malformed)?;
                if ext.key() == Ok("APK-TOOLS.checksum.SHA1") {
                    sha1 = ext.value().ok().map(str::to_owned);
                }
            }
        }
        let link = match kind {
            EntryType::Symlink | EntryType::Link => {
                let raw = entry.link_name_bytes().unwrap_or_default();
                let text = std::str::from_utf8(&raw)
                    .map_err(|_| refused(&rel, "the link target is not UTF-8"))?;
                if text.is_empty() || text.contains('\0') {
                    return Err(refused(&rel, "the link target is empty or holds a NUL"));
                }
                text.to_owned()
            }
            _ => String::new(),
        };
        match kind {
            EntryType::Directory
            | EntryType::Regular
            | EntryType::Continuous
            | EntryType::Symlink => {}
            EntryType::Link => {
                // Relative to the root, without `..`, to a file written
                // before: apk's rule, which also keeps host files out.
                if link.starts_with('/')
                    || link
                        .split('/')
                        .any(|c| c == ".." || c == "." || c.is_empty())
                {
                    return Err(refused(
                        &rel,
                        format!("the hard link target {link:?} is not a plain path in the package"),
                    ));
                }
                if !regular.contains(&link) {
                    return Err(refused(
                        &rel,
                        format!("the hard link target {link:?} is not a file before it"),
                    ));
                }
            }
            EntryType::Char | EntryType::Block => {
                return Err(refused(&rel, "a device node cannot go in an environment"))
            }
            EntryType::Fifo => return Err(refused(&rel, "a fifo cannot go in an environment")),
            // apk ignores PAX global headers.
            EntryType::XGlobalHeader => continue,
            other => {
                return Err(refused(&rel, format!("unsupported entry type {other:?}")));
            }
        }
        if kind != EntryType::Directory {
            files.push((rel.clone(), sha1));
        }
        if matches!(kind, EntryType::Regular | EntryType::Continuous) {
            regular.insert(rel.clone());
        }
        let Some(root) = &root else {
            continue;
        };
        let mode = entry.header().mode().map_err(malformed)?;
        match kind {
            EntryType::Directory => root.mkdir(&rel, mode)?,
            EntryType::Symlink => root.symlink(&rel, &link)?,
            EntryType::Link => root.hard_link(&rel, &link, &written)?,
            _ => {
                let id = root.write(&rel, mode, &mut entry).map_err(|e| match e {
                    RootError::Read { source, .. } => match read::too_large(&source) {
                        Some(limit) => refused(
                            &rel,
                            format!("the data decompresses to more than {limit} bytes"),
                        ),
                        None => malformed(format!("{rel}: {source}")),
                    },
                    other => other.into(),
                })?;
                written.insert(id);
            }
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apk::tarball::{DIRECTORY, HARDLINK, REGULAR, SYMLINK};
    use crate::scratch::Scratch;
    use sha2::{Digest, Sha256};
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    use std::path::PathBuf;

    /// A scratch directory with an empty `root` and a host directory
    /// `outside` (0755) beside it.
    fn dirs(name: &str) -> (Scratch, PathBuf, PathBuf) {
        let dir = Scratch::new(
            std::env::temp_dir().join(format!("melangec-unpack-{name}-{}", std::process::id())),
        );
        let _ = std::fs::remove_dir_all(dir.path());
        let root = dir.path().join("root");
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::set_permissions(&outside, std::fs::Permissions::from_mode(0o755)).unwrap();
        (dir, root, outside)
    }

    fn mode(path: &Path) -> u32 {
        std::fs::symlink_metadata(path)
            .unwrap()
            .permissions()
            .mode()
            & 0o7777
    }

    #[test]
    fn nothing_is_written_through_a_link_out_of_the_root() {
        let (dir, root, _) = dirs("link");
        // Files in one directory, then a link in it that leads out, then a
        // file through the link.
        let bytes = apk(&[
            ("usr", DIRECTORY, ""),
            ("usr/a", REGULAR, ""),
            ("usr/b", REGULAR, ""),
            ("usr/out", SYMLINK, "../../outside"),
            ("usr/out/evil", REGULAR, ""),
        ]);
        let err = unpack(&bytes, Some(&root)).unwrap_err().to_string();
        assert!(err.contains("outside the root"), "{err}");
        assert!(!dir.path().join("outside/evil").exists());
        assert!(root.join("usr/a").is_file());

        // A link inside the root is followed, as apk follows /lib -> usr/lib.
        let bytes = apk(&[
            ("usr/lib", DIRECTORY, ""),
            ("lib", SYMLINK, "usr/lib"),
            ("lib/libx.so", REGULAR, ""),
        ]);
        let files = unpack(&bytes, Some(&root)).unwrap();
        assert!(root.join("usr/lib/libx.so").is_file());
        assert_eq!(files.len(), 2, "{files:?}");
    }

    #[test]
    fn no_directory_is_made_or_changed_through_a_link_out_of_the_root() {
        let (_dir, root, outside) = dirs("dirs");
        // A directory entry named like an earlier symlink: its target is
        // not chmod'ed.
        let bytes = apk_with(&[
            ("out", SYMLINK, "../outside", 0o777),
            ("out", DIRECTORY, "", 0o777),
        ]);
        let err = unpack(&bytes, Some(&root)).unwrap_err().to_string();
        assert!(err.contains("outside the root"), "{err}");
        assert_eq!(mode(&outside), 0o755);
        // No directory is created through it either.
        let bytes = apk(&[
            ("out", SYMLINK, "../outside"),
            ("out/sub/file", REGULAR, ""),
        ]);
        let err = unpack(&bytes, Some(&root)).unwrap_err().to_string();
        assert!(err.contains("outside the root"), "{err}");
        assert!(!outside.join("sub").exists());

        // An absolute target is the root's, as apk sees it in a chroot: the
        // host's directory is neither changed nor written in.
        let host = outside.to_str().unwrap();
        let bytes = apk_with(&[
            ("abs", SYMLINK, host, 0o777),
            ("abs/sub/file", REGULAR, "", 0o644),
            ("abs", DIRECTORY, "", 0o777),
        ]);
        unpack(&bytes, Some(&root)).unwrap();
        let inside = root.join(host.trim_start_matches('/'));
        assert!(inside.join("sub/file").is_file());
        assert!(!outside.join("sub").exists());
        assert_eq!(mode(&outside), 0o755);
        // The link stays a link.
        assert!(std::fs::symlink_metadata(root.join("abs"))
            .unwrap()
            .file_type()
            .is_symlink());
    }

    #[test]
    fn hard_links_only_to_files_the_package_wrote() {
        let (_dir, root, outside) = dirs("hard");
        std::fs::write(outside.join("secret"), "host").unwrap();
        let secret = outside.join("secret");
        let absolute = secret.to_str().unwrap();
        for target in [absolute, "../outside/secret", "etc/missing", "etc/link"] {
            let bytes = apk(&[
                ("etc", DIRECTORY, ""),
                ("etc/link", SYMLINK, "../../outside/secret"),
                ("etc/stolen", HARDLINK, target),
            ]);
            let err = unpack(&bytes, Some(&root)).unwrap_err();
            assert!(
                matches!(err, UnpackError::Refused { .. }),
                "{target}: {err}"
            );
            assert!(err.to_string().contains("etc/stolen"), "{err}");
            assert!(!root.join("etc/stolen").exists());
            // Listing refuses it too.
            assert!(unpack(&bytes, None).is_err());
        }
        assert_eq!(std::fs::metadata(&secret).unwrap().nlink(), 1);

        // To a file written before it, the link is made.
        let bytes = apk(&[
            ("usr/bin", DIRECTORY, ""),
            ("usr/bin/a", REGULAR, ""),
            ("usr/bin/b", HARDLINK, "usr/bin/a"),
        ]);
        unpack(&bytes, Some(&root)).unwrap();
        assert_eq!(
            std::fs::metadata(root.join("usr/bin/b")).unwrap().nlink(),
            2
        );
    }

    #[test]
    fn entries_no_environment_may_hold_are_refused_by_name() {
        let (_dir, root, _) = dirs("refused");
        let long = format!("usr/{}", "n".repeat(300));
        for (path, kind, why) in [
            ("dev/null", b'3', "device"),
            ("dev/sda", b'4', "device"),
            ("run/fifo", b'6', "fifo"),
            ("a\u{1}b", REGULAR, "control character"),
            (long.as_str(), REGULAR, "longer than"),
        ] {
            let bytes = apk(&[(path, kind, "")]);
            for root in [Some(root.as_path()), None] {
                let err = unpack(&bytes, root).unwrap_err().to_string();
                assert!(err.contains(why) && err.contains(&path[..1]), "{err}");
            }
        }
        for path in ["/etc/passwd", "usr/../../x", "./x"] {
            let err = unpack(&apk(&[(path, REGULAR, "")]), Some(&root)).unwrap_err();
            assert!(matches!(err, UnpackError::UnsafePath(_)), "{err}");
        }
        assert_eq!(std::fs::read_dir(&root).unwrap().count(), 0);
    }

    #[test]
    fn modes_are_kept_set_uid_included() {
        let (_dir, root, _) = dirs("modes");
        let bytes = apk_with(&[
            ("usr/bin", DIRECTORY, "", 0o755),
            ("usr/bin/su", REGULAR, "", 0o4755),
            ("usr/bin/wall", REGULAR, "", 0o2755),
            ("tmp", DIRECTORY, "", 0o1777),
        ]);
        unpack(&bytes, Some(&root)).unwrap();
        assert_eq!(mode(&root.join("usr/bin/su")), 0o4755);
        assert_eq!(mode(&root.join("usr/bin/wall")), 0o2755);
        assert_eq!(mode(&root.join("tmp")), 0o1777);
    }

    #[test]
    fn data_that_is_not_what_the_control_records_is_refused() {
        let (_dir, root, _) = dirs("datahash");
        let good = apk(&[("usr", DIRECTORY, ""), ("usr/good", REGULAR, "")]);
        let evil = data(&[
            ("usr", DIRECTORY, "", 0o755),
            ("usr/evil", REGULAR, "", 0o755),
        ]);
        // The same control member (so the index's C: still matches), other
        // data.
        let control = read::parts(&good).unwrap().control.len();
        let swapped = [&good[..control], &evil[..]].concat();
        assert_eq!(
            read::control_checksum(&swapped).unwrap(),
            read::control_checksum(&good).unwrap()
        );
        for root in [Some(root.as_path()), None] {
            let err = unpack(&swapped, root).unwrap_err().to_string();
            assert!(err.contains("does not match the datahash"), "{err}");
        }
        assert!(!root.join("usr").exists());
        // Without a datahash, nothing ties the data to the control.
        let err = unpack(&package(&evil, None), None).unwrap_err().to_string();
        assert!(err.contains("no datahash"), "{err}");
        assert_eq!(unpack(&good, Some(&root)).unwrap().len(), 1);
    }

    /// A package whose data tar holds `entries` (path, kind, link), all
    /// 0755.
    fn apk(entries: &[(&str, u8, &str)]) -> Vec<u8> {
        let with: Vec<_> = entries
            .iter()
            .map(|(p, k, l)| (*p, *k, *l, 0o755))
            .collect();
        apk_with(&with)
    }

    /// A package whose data tar holds `entries` (path, kind, link, mode).
    fn apk_with(entries: &[(&str, u8, &str, u32)]) -> Vec<u8> {
        let data = data(entries);
        let hash = crate::apk::hex(&Sha256::digest(&data));
        package(&data, Some(&hash))
    }

    /// A data member holding `entries`; a regular file holds `x`.
    fn data(entries: &[(&str, u8, &str, u32)]) -> Vec<u8> {
        use crate::apk::tarball::{Entry, Tar};
        let mut tar = Tar::new(0);
        for (path, kind, link, mode) in entries {
            let data: &[u8] = if *kind == REGULAR { b"x" } else { b"" };
            tar.append(
                Entry {
                    path,
                    kind: *kind,
                    mode: *mode,
                    size: data.len() as u64,
                    link,
                    pax: vec![],
                    owner_names: true,
                },
                data,
            )
            .unwrap();
        }
        tar.finish().unwrap();
        crate::apk::gz::member(tar.bytes())
    }

    /// A package of a control member (recording `datahash`, if any) and
    /// the data member `data`.
    fn package(data: &[u8], datahash: Option<&str>) -> Vec<u8> {
        let mut pkginfo = "pkgname = t\npkgver = 1-r0\n".to_owned();
        if let Some(hash) = datahash {
            pkginfo.push_str(&format!("datahash = {hash}\n"));
        }
        let mut out = crate::apk::package::control_member(&pkginfo, &[], 0);
        out.extend_from_slice(data);
        out
    }

    #[test]
    fn long_names_and_recorded_checksums_are_read() {
        use crate::apk::tarball::{Entry, Tar};
        let long = format!("usr/share/{}/file", "d".repeat(120));
        let mut tar = Tar::new(0);
        tar.append(
            Entry {
                path: &long,
                kind: REGULAR,
                mode: 0o644,
                size: 1,
                link: "",
                pax: vec![("APK-TOOLS.checksum.SHA1".into(), b"00ff".to_vec())],
                owner_names: true,
            },
            b"x",
        )
        .unwrap();
        tar.finish().unwrap();
        let data = crate::apk::gz::member(tar.bytes());
        let hash = crate::apk::hex(&Sha256::digest(&data));
        let files = unpack(&package(&data, Some(&hash)), None).unwrap();
        assert_eq!(files, [(long, Some("00ff".to_owned()))]);
    }
}
