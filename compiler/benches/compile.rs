//! `make bench`: compile the whole Wolfi corpus in one process and compare
//! with its floors, parsing the same files as bare YAML (serde_yaml into a
//! value, and our own span-keeping tree).

use std::path::Path;
use std::time::{Duration, Instant};

use melangec_compiler::front::yaml;
use melangec_compiler::{compile, Arch, Options, PipelineLibrary, SourceFile};

#[path = "../tests/common/mod.rs"]
mod common;

fn best_of<F: FnMut() -> usize>(runs: usize, mut f: F) -> (Duration, usize) {
    let mut best = Duration::MAX;
    let mut count = 0;
    for _ in 0..runs {
        let t = Instant::now();
        count = f();
        best = best.min(t.elapsed());
    }
    (best, count)
}

fn main() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/wolfi");
    let mut recipes: Vec<SourceFile> = std::fs::read_dir(&corpus)
        .expect("the Wolfi corpus beside the project")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "yaml")
                && !p.to_string_lossy().ends_with(".yam.yaml")
        })
        .map(|p| {
            SourceFile::new(
                p.file_name().unwrap().to_string_lossy(),
                std::fs::read_to_string(&p).expect("read"),
            )
        })
        .collect();
    recipes.sort_by(|a, b| a.name().cmp(b.name()));
    let bytes: usize = recipes.iter().map(|r| r.text().len()).sum();
    let files = common::pipeline_files(&corpus.join("pipelines"));
    let runs = 5;

    let (serde, _) = best_of(runs, || {
        recipes
            .iter()
            .filter(|r| serde_yaml::from_str::<serde_yaml::Value>(r.text()).is_ok())
            .count()
    });
    let (tree, _) = best_of(runs, || {
        recipes.iter().filter(|r| yaml::parse(r).is_ok()).count()
    });
    let compile_all = || {
        // A fresh library each run: definition files are parsed on first use.
        let mut lib = PipelineLibrary::builtin();
        lib.add_dir("pipelines", files.clone());
        let opts = Options::new(Arch::X86_64);
        recipes
            .iter()
            .filter(|r| compile(r, &opts, &lib).is_ok())
            .count()
    };
    // The first run also fills the process-wide caches (compiled
    // var-transform patterns); later runs show the steady state.
    let (cold, _) = best_of(1, compile_all);
    let (full, ok) = best_of(runs, compile_all);

    println!(
        "corpus: {} recipes, {:.1} MiB, best of {runs} runs",
        recipes.len(),
        bytes as f64 / 1048576.0
    );
    println!(
        "floor  serde_yaml parse      {:>8.1} ms",
        serde.as_secs_f64() * 1e3
    );
    println!(
        "floor  span tree parse       {:>8.1} ms",
        tree.as_secs_f64() * 1e3
    );
    println!(
        "compile x86_64 ({ok} ok)     {:>8.1} ms",
        full.as_secs_f64() * 1e3
    );
    println!(
        "compile, first run           {:>8.1} ms  ({:.2}x serde_yaml)",
        cold.as_secs_f64() * 1e3,
        cold.as_secs_f64() / serde.as_secs_f64()
    );
    println!(
        "ratio  compile / serde_yaml  {:>8.2}x",
        full.as_secs_f64() / serde.as_secs_f64()
    );
    println!(
        "ratio  compile / span tree   {:>8.2}x",
        full.as_secs_f64() / tree.as_secs_f64()
    );
}
