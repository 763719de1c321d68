//! Which files of a pipeline directory are pipelines, and the names `uses:`
//! gives them: every `*.yaml` below it, named by its path without the
//! extension, `/`-separated. The walk asks its caller for each directory's
//! entries, so it reads nothing itself; `build.rs` includes this file to
//! embed the built-ins by the same rule.

use std::path::{Path, PathBuf};

/// Every pipeline below `root` with its path, sorted by name. `list` gives
/// a directory's entries: each path, and whether it is a directory.
pub fn pipeline_files<E>(
    root: &Path,
    mut list: impl FnMut(&Path) -> Result<Vec<(PathBuf, bool)>, E>,
) -> Result<Vec<(String, PathBuf)>, E> {
    let mut out = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for (path, is_dir) in list(&dir)? {
            if is_dir {
                pending.push(path);
            } else if let Some(name) = pipeline_name(root, &path) {
                out.push((name, path));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The `uses:` name of the file at `path` under `root`, if it is a pipeline.
fn pipeline_name(root: &Path, path: &Path) -> Option<String> {
    if path.extension().is_none_or(|e| e != "yaml") {
        return None;
    }
    let rel = path.strip_prefix(root).ok()?.with_extension("");
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_files_below_the_root_by_path() {
        let listing = |dir: &Path| -> Result<Vec<(PathBuf, bool)>, ()> {
            Ok(match dir.to_str() {
                Some("p") => vec![
                    ("p/go".into(), true),
                    ("p/fetch.yaml".into(), false),
                    ("p/README.md".into(), false),
                ],
                Some("p/go") => vec![("p/go/build.yaml".into(), false)],
                _ => vec![],
            })
        };
        let names: Vec<String> = pipeline_files(Path::new("p"), listing)
            .unwrap()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(names, ["fetch", "go/build"]);
    }
}
