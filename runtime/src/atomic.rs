//! Writes a file so that readers see the old content or the new, never half:
//! through a temporary file beside it, renamed into place.

use std::fs::File;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::file_error::WriteError;

/// Writes `bytes` to `path` through a temporary file renamed into place.
pub fn write(path: &Path, bytes: &[u8], mode: u32) -> Result<(), WriteError> {
    write_with(path, mode, |f| std::io::Write::write_all(f, bytes)).map_err(|source| WriteError {
        path: path.to_path_buf(),
        source,
    })
}

/// Creates a temporary file beside `path` (and the directories above it),
/// lets `content` write it, and renames it to `path` once it is complete
/// and synced. On any error the temporary file is removed and `path` is
/// left as it was.
/// Whether a file name is one of [`write_with`]'s temporary files, which a
/// writer killed before its rename leaves behind.
pub fn is_temporary(name: &str) -> bool {
    name.starts_with('.') && name.contains(TMP)
}

const TMP: &str = ".tmp-";

pub fn write_with(
    path: &Path,
    mode: u32,
    content: impl FnOnce(&mut File) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}{TMP}{}",
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        std::process::id()
    ));
    let result = (|| {
        let mut f = File::create(&tmp)?;
        content(&mut f)?;
        f.set_permissions(std::fs::Permissions::from_mode(mode))?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temporary() {
        let dir = crate::scratch::Scratch::new(
            std::env::temp_dir().join(format!("melangec-atomic-{}", std::process::id())),
        );
        let path = dir.path().join("sub/file");
        write(&path, b"old", 0o600).unwrap();
        let failed = write_with(&path, 0o644, |f| {
            f.write_all(b"half")?;
            Err(std::io::Error::other("stopped"))
        });
        assert!(failed.is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        assert_eq!(
            std::fs::read_dir(dir.path().join("sub")).unwrap().count(),
            1
        );
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
