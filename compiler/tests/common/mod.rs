//! Shared by the integration tests: paths and the test pipeline library.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use melangec_compiler::library::tree;
use melangec_compiler::{Arch, PipelineLibrary};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn entries(dir: &Path) -> std::io::Result<Vec<(PathBuf, bool)>> {
    std::fs::read_dir(dir)?
        .map(|e| e.map(|e| (e.path(), e.path().is_dir())))
        .collect()
}

/// A pipeline directory's files, as the library names them.
pub fn pipeline_files(dir: &Path) -> Vec<(String, String)> {
    tree::pipeline_files(dir, entries)
        .expect("pipeline dir")
        .into_iter()
        .map(|(name, path)| (name, std::fs::read_to_string(path).expect("pipeline")))
        .collect()
}

/// Built-ins plus a pipeline directory, as `--pipeline-dir DIR` gives.
pub fn library_with(dir: &Path) -> PipelineLibrary {
    let mut lib = PipelineLibrary::builtin();
    lib.add_dir(
        &dir.file_name().unwrap_or_default().to_string_lossy(),
        pipeline_files(dir),
    );
    lib
}

pub fn testdata_library() -> PipelineLibrary {
    library_with(&root().join("testdata/pipelines"))
}

/// Recipes named for an architecture compile for it; the rest for x86_64.
pub fn arch_for(stem: &str) -> Arch {
    if stem.contains("aarch64") {
        Arch::Aarch64
    } else {
        Arch::X86_64
    }
}

/// `*.yaml` files directly in `dir`, sorted.
pub fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("readable dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}
