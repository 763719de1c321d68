//! The pipeline library from directories, in melange's search order:
//! `--pipeline-dir`, each `--pipeline-dirs`, then
//! `/usr/share/melange/pipelines` when it exists (melange searches it too),
//! then the built-ins. Files are found and named by the compiler's rule.

use std::path::{Path, PathBuf};

use melangec_compiler::library::tree;
use melangec_compiler::PipelineLibrary;

pub const SYSTEM_DIR: &str = "/usr/share/melange/pipelines";

#[derive(Debug, thiserror::Error)]
#[error("cannot read pipeline directory {}: {source}", dir.display())]
pub struct PipelineDirError {
    pub dir: PathBuf,
    pub source: std::io::Error,
}

fn entries(dir: &Path) -> std::io::Result<Vec<(PathBuf, bool)>> {
    std::fs::read_dir(dir)?
        .map(|e| e.map(|e| (e.path(), e.path().is_dir())))
        .collect()
}

/// Every pipeline below `dir`, by name, with its text.
fn read_dir(dir: &Path) -> std::io::Result<Vec<(String, String)>> {
    tree::pipeline_files(dir, entries)?
        .into_iter()
        .map(|(name, path)| Ok((name, std::fs::read_to_string(path)?)))
        .collect()
}

pub fn library(dirs: &[PathBuf]) -> Result<PipelineLibrary, PipelineDirError> {
    let mut lib = PipelineLibrary::builtin();
    for dir in dirs {
        let files = read_dir(dir).map_err(|source| PipelineDirError {
            dir: dir.clone(),
            source,
        })?;
        lib.add_dir(&dir.display().to_string(), files);
    }
    let system = Path::new(SYSTEM_DIR);
    if system.is_dir() {
        if let Ok(files) = read_dir(system) {
            lib.add_dir(SYSTEM_DIR, files);
        }
    }
    Ok(lib)
}
