//! A package's data member unpacked under a root, or only listed: what apk
//! would install, and each file's recorded SHA-1. Read with the `tar`
//! crate (PAX and GNU long names included). Entries are written here rather
//! than by the crate so that each is checked: no absolute or `..` path, and
//! nothing written through a link that leads out of the root (links inside
//! it, like `/lib` -> `usr/lib`, are followed as apk follows them).

use std::io::Read;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};

use tar::EntryType;

use super::lock::Locked;
use super::Error;
use crate::apk::read;

/// A file a package installs: its path and, when recorded, its SHA-1 (hex).
pub type Installed = (String, Option<String>);

#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    #[error("{0}")]
    Malformed(String),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("unsafe path {0:?}")]
    UnsafePath(String),
    #[error("{0:?} would be written outside the root")]
    Outside(String),
}

impl UnpackError {
    /// The stage's error, naming the package.
    pub fn in_package(self, p: &Locked) -> Error {
        match self {
            UnpackError::UnsafePath(_) | UnpackError::Outside(_) => Error::Unsafe {
                package: p.file_name(),
                reason: self.to_string(),
            },
            _ => Error::package(p.file_name(), self),
        }
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> UnpackError + '_ {
    move |source| UnpackError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn malformed(e: impl std::fmt::Display) -> UnpackError {
    UnpackError::Malformed(e.to_string())
}

/// Unpacks the data member of an `.apk` under `root` (or only lists it).
pub fn unpack(bytes: &[u8], root: Option<&Path>) -> Result<Vec<Installed>, UnpackError> {
    let members = read::members(bytes).map_err(malformed)?;
    let data = &members.last().ok_or_else(|| malformed("empty package"))?.1;
    let base = match root {
        Some(root) => Some(root.canonicalize().map_err(io(root))?),
        None => None,
    };
    let mut files = Vec::new();
    // The last directory checked to lie inside the root: entries come
    // grouped by directory, so most need no check of their own. A symlink
    // written may redirect a checked path, so it clears this.
    let mut checked: Option<PathBuf> = None;
    let mut archive = tar::Archive::new(&data[..]);
    for entry in archive.entries().map_err(malformed)? {
        let mut entry = entry.map_err(malformed)?;
        let kind = entry.header().entry_type();
        let path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let rel = path.trim_end_matches('/').to_owned();
        if rel.is_empty() || rel.starts_with('/') || rel.split('/').any(|c| c == ".." || c == ".") {
            return Err(UnpackError::UnsafePath(path));
        }
        let mut sha1 = None;
        if let Some(extensions) = entry.pax_extensions().map_err(malformed)? {
            for ext in extensions {
                let ext = ext.map_err(malformed)?;
                if ext.key() == Ok("APK-TOOLS.checksum.SHA1") {
                    sha1 = ext.value().ok().map(str::to_owned);
                }
            }
        }
        if matches!(
            kind,
            EntryType::Regular | EntryType::Continuous | EntryType::Link | EntryType::Symlink
        ) {
            files.push((rel.clone(), sha1));
        }
        let (Some(root), Some(base)) = (root, &base) else {
            continue;
        };
        let target = root.join(&rel);
        if let Some(parent) = target.parent().filter(|p| checked.as_deref() != Some(*p)) {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
            let real = parent.canonicalize().map_err(io(parent))?;
            if !real.starts_with(base) {
                return Err(UnpackError::Outside(path));
            }
            checked = Some(parent.to_path_buf());
        }
        let mode = entry.header().mode().map_err(malformed)?;
        let link = match kind {
            EntryType::Symlink | EntryType::Link => PathBuf::from(
                String::from_utf8_lossy(&entry.link_name_bytes().unwrap_or_default()).into_owned(),
            ),
            _ => PathBuf::new(),
        };
        match kind {
            EntryType::Directory => {
                std::fs::create_dir_all(&target).map_err(io(&target))?;
                std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode))
                    .map_err(io(&target))?;
            }
            EntryType::Symlink => {
                let _ = std::fs::remove_file(&target);
                symlink(&link, &target).map_err(io(&target))?;
                checked = None;
            }
            EntryType::Link => {
                let _ = std::fs::remove_file(&target);
                std::fs::hard_link(root.join(link), &target).map_err(io(&target))?;
            }
            EntryType::Regular | EntryType::Continuous => {
                let mut body = Vec::with_capacity(entry.size() as usize);
                entry.read_to_end(&mut body).map_err(malformed)?;
                let _ = std::fs::remove_file(&target);
                std::fs::write(&target, &body).map_err(io(&target))?;
                std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode))
                    .map_err(io(&target))?;
            }
            _ => {}
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_written_through_a_link_out_of_the_root() {
        use crate::apk::tarball::{DIRECTORY, REGULAR, SYMLINK};
        let dir = std::env::temp_dir().join(format!("melangec-unpack-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let root = dir.join("root");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(dir.join("outside")).unwrap();

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
        assert!(!dir.join("outside/evil").exists());
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
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A one-member "package" whose tar holds `entries` (path, kind, link).
    fn apk(entries: &[(&str, u8, &str)]) -> Vec<u8> {
        use crate::apk::tarball::{Entry, Tar};
        let mut tar = Tar::new(0);
        for (path, kind, link) in entries {
            let data: &[u8] = if *kind == crate::apk::tarball::REGULAR {
                b"x"
            } else {
                b""
            };
            tar.append(
                Entry {
                    path,
                    kind: *kind,
                    mode: 0o755,
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

    #[test]
    fn long_names_and_recorded_checksums_are_read() {
        use crate::apk::tarball::{Entry, Tar, REGULAR};
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
        let files = unpack(&crate::apk::gz::member(tar.bytes()), None).unwrap();
        assert_eq!(files, [(long, Some("00ff".to_owned()))]);
    }
}
