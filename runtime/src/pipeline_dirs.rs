//! Reads pipeline directories into the compiler's library, in melange's
//! search order: `--pipeline-dir`, each `--pipeline-dirs`, then
//! `/usr/share/melange/pipelines` when it exists, then the built-ins.

use std::path::{Path, PathBuf};

use melangec_compiler::PipelineLibrary;

pub const SYSTEM_DIR: &str = "/usr/share/melange/pipelines";

/// Every `*.yaml` below `dir`, named by its path without the extension.
fn read_dir(dir: &Path) -> std::io::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d)? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                let rel = path.strip_prefix(dir).unwrap_or(&path).with_extension("");
                let name = rel.to_string_lossy().replace('\\', "/");
                out.push((name, std::fs::read_to_string(&path)?));
            }
        }
    }
    out.sort();
    Ok(out)
}

pub fn library(dirs: &[PathBuf]) -> Result<PipelineLibrary, String> {
    let mut lib = PipelineLibrary::builtin();
    for dir in dirs {
        let files = read_dir(dir)
            .map_err(|e| format!("cannot read pipeline directory {}: {e}", dir.display()))?;
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
