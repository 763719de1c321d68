//! A directory's entries in the same order on every machine: sorted by name,
//! each with its path relative to the tree's root and its own (not followed)
//! metadata. Packaging and the file sender both walk trees this way.

use std::fs::Metadata;
use std::path::{Path, PathBuf};

pub struct Child {
    /// Relative to the tree's root, `/`-separated.
    pub path: String,
    pub full: PathBuf,
    pub meta: Metadata,
}

/// The entries of `dir`, which is `rel` inside the tree ("" for the root).
pub fn sorted(dir: &Path, rel: &str) -> std::io::Result<Vec<Child>> {
    let mut names: Vec<_> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<Result<_, _>>()?;
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let name = name.to_string_lossy().into_owned();
            let full = dir.join(&name);
            let meta = std::fs::symlink_metadata(&full)?;
            let path = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            Ok(Child { path, full, meta })
        })
        .collect()
}
