//! Shared by the integration tests: paths and the test pipeline library.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use melangec_compiler::{Arch, PipelineLibrary};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read_pipelines(dir: &Path, base: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).expect("pipeline dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            read_pipelines(&path, base, out);
        } else if path.extension().is_some_and(|e| e == "yaml") {
            let name = path
                .strip_prefix(base)
                .expect("under base")
                .with_extension("");
            out.push((
                name.to_string_lossy().into_owned(),
                std::fs::read_to_string(&path).expect("pipeline"),
            ));
        }
    }
}

/// Built-ins plus a pipeline directory, as `--pipeline-dir DIR` gives.
pub fn library_with(dir: &Path) -> PipelineLibrary {
    let mut lib = PipelineLibrary::builtin();
    let mut files = Vec::new();
    read_pipelines(dir, dir, &mut files);
    files.sort();
    lib.add_dir(
        &dir.file_name().unwrap_or_default().to_string_lossy(),
        files,
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
