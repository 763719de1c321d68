//! Paths that hold unfinished work: removed when dropped, so a failed or
//! cancelled step (a dropped future, an early return) leaves nothing behind.

use std::path::{Path, PathBuf};

pub struct Scratch(PathBuf);

impl Scratch {
    pub fn new(path: PathBuf) -> Scratch {
        Scratch(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        match std::fs::symlink_metadata(&self.0) {
            Ok(m) if m.is_dir() => {
                let _ = std::fs::remove_dir_all(&self.0);
            }
            Ok(_) => {
                let _ = std::fs::remove_file(&self.0);
            }
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_what_is_left_and_nothing_else() {
        let base = std::env::temp_dir().join(format!("melangec-scratch-{}", std::process::id()));
        let dir = base.join("partial");
        std::fs::create_dir_all(dir.join("a/b")).unwrap();
        std::fs::write(dir.join("a/b/c"), b"x").unwrap();
        drop(Scratch::new(dir.clone()));
        assert!(!dir.exists());

        let file = base.join("data.gz");
        std::fs::write(&file, b"x").unwrap();
        drop(Scratch::new(file.clone()));
        assert!(!file.exists());

        // Renamed into place: the finished result stays.
        let scratch = Scratch::new(base.join("tmp"));
        std::fs::create_dir_all(scratch.path()).unwrap();
        std::fs::rename(scratch.path(), base.join("done")).unwrap();
        drop(scratch);
        assert!(base.join("done").is_dir());
        std::fs::remove_dir_all(&base).unwrap();
    }
}
