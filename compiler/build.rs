//! Embeds every built-in pipeline definition under `pipelines/` into the
//! binary as data, sorted by name so the table is the same on every machine.
//! Files are named by the library's own rule (`src/library/tree.rs`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[path = "src/library/tree.rs"]
#[allow(dead_code)]
mod tree;

fn entries(dir: &Path) -> std::io::Result<Vec<(PathBuf, bool)>> {
    std::fs::read_dir(dir)?
        .map(|e| e.map(|e| (e.path(), e.path().is_dir())))
        .collect()
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let base = manifest.join("pipelines");
    println!("cargo:rerun-if-changed=pipelines");
    println!("cargo:rerun-if-changed=src/library/tree.rs");
    let found = tree::pipeline_files(&base, entries).expect("read the built-in pipelines");
    let mut code = String::from("pub static BUILTINS: &[(&str, &str)] = &[\n");
    for (name, path) in &found {
        println!("cargo:rerun-if-changed={}", path.display());
        writeln!(
            code,
            "    ({name:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .expect("string write");
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it")).join("builtins.rs");
    std::fs::write(out, code).expect("write builtins table");
}
