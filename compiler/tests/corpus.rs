//! Compiles every recipe of the Wolfi corpus (with its `pipelines/`) and of
//! melange's examples for x86_64 and aarch64, where they are; one line per
//! recipe and arch in `golden/corpus.snap`, and the same for their tests
//! (`melangec test`) in `golden/corpus-tests.snap`, with how many tests
//! each has. Nothing may panic. Recipes that melange itself rejects fail
//! here too, with the diagnostic's first line.

mod common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use melangec_compiler::back::marshal::digest;
use melangec_compiler::{
    compile, compile_suite, test_ir, Arch, Options, PipelineLibrary, SourceFile,
};

/// Recipes and arches that compiled, that did not, and tests compiled.
#[derive(Default)]
struct Tally {
    ok: usize,
    failed: usize,
    tests: usize,
}

/// What is compiled of each recipe.
#[derive(Clone, Copy, PartialEq)]
enum What {
    Build,
    Tests,
}

/// Wolfi keeps recipes at the top level (subdirectories hold their files);
/// melange's examples nest them, beside `pipelines/` directories.
fn recipes_under(dir: &Path, recursive: bool, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("corpus dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            if recursive && path.file_name().is_some_and(|n| n != "pipelines") {
                recipes_under(&path, recursive, out);
            }
        } else if path.extension().is_some_and(|e| e == "yaml")
            && !path.to_string_lossy().ends_with(".yam.yaml")
        {
            out.push(path);
        }
    }
}

fn run(
    what: What,
    corpus: &Path,
    recursive: bool,
    lib: &PipelineLibrary,
    label: &str,
    out: &mut String,
    tally: &mut Tally,
) {
    let mut files = Vec::new();
    recipes_under(corpus, recursive, &mut files);
    files.sort();
    for path in files {
        let rel = path
            .strip_prefix(corpus)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let file = SourceFile::new(rel.clone(), text);
        // melange's e2e tests pass `--pipeline-dir` for the `pipelines/`
        // beside them; do the same.
        let beside = path.parent().map(|d| d.join("pipelines"));
        let local;
        let lib = match beside {
            Some(dir) if recursive && dir.is_dir() => {
                local = common::library_with(&dir);
                &local
            }
            _ => lib,
        };
        for arch in [Arch::X86_64, Arch::Aarch64] {
            let options = Options::new(arch);
            let result = std::panic::catch_unwind(|| match what {
                What::Build => compile(&file, &options, lib).map(|c| (digest(&c.bytes), 0)),
                What::Tests => test_ir(&file, &options, lib, None, true).map(|s| {
                    let n = s.tests.len();
                    (
                        format!("{} {n}", digest(&compile_suite(&s, &file).bytes)),
                        n,
                    )
                }),
            });
            let line = match result {
                Ok(Ok((line, n))) => {
                    tally.ok += 1;
                    tally.tests += n;
                    line
                }
                Ok(Err(d)) => {
                    tally.failed += 1;
                    format!("error: {}", d.first_line().lines().next().unwrap_or(""))
                }
                Err(_) => panic!("compiling {rel} for {} panicked", arch.apk()),
            };
            writeln!(out, "{label}/{rel} {} {line}", arch.apk()).unwrap();
        }
    }
}

#[test]
fn corpus_compiles_without_panic() {
    corpus(What::Build, "corpus");
}

#[test]
fn corpus_tests_compile_without_panic() {
    corpus(What::Tests, "corpus-tests");
}

fn corpus(what: What, snapshot: &str) {
    // The corpus lives beside the project (or where MELANGEC_CORPUS says);
    // it is read in place, never copied in.
    let shared = std::env::var_os("MELANGEC_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| common::root().join("../shared/corpus"));
    let wolfi = shared.join("wolfi");
    let examples = shared.join("melange-examples");
    if !(wolfi.is_dir() && examples.is_dir()) {
        // CI always has the corpus beside the clone: there, its absence is
        // a failure, not a skip.
        assert!(
            std::env::var_os("CI").is_none_or(|v| v != "true"),
            "no corpus at {} under CI=true",
            shared.display()
        );
        eprintln!(
            "SKIPPED: no corpus at {} (set MELANGEC_CORPUS to its directory)",
            shared.display()
        );
        return;
    }
    let mut out = String::new();
    let mut tally = Tally::default();
    let lib = common::library_with(&wolfi.join("pipelines"));
    run(what, &wolfi, false, &lib, "wolfi", &mut out, &mut tally);
    run(
        what,
        &examples,
        true,
        &PipelineLibrary::builtin(),
        "melange-examples",
        &mut out,
        &mut tally,
    );
    let total = tally.ok + tally.failed;
    let tests = match what {
        What::Build => String::new(),
        What::Tests => format!(", {} tests", tally.tests),
    };
    let header = format!(
        "compiled {} of {} ({:.1}%){tests}\n",
        tally.ok,
        total,
        100.0 * tally.ok as f64 / total as f64
    );
    insta::with_settings!({snapshot_path => "../../golden", prepend_module_to_snapshot => false, omit_expression => true}, {
        insta::assert_snapshot!(snapshot, header + &out);
    });
}

/// `package-version` of every Wolfi recipe is `NAME-VERSION-rEPOCH` as the
/// YAML says, read here by another YAML parser (numbers compared as
/// numbers, since it keeps no text for them).
#[test]
fn corpus_package_versions_are_name_version_epoch() {
    let wolfi = common::root().join("../shared/corpus/wolfi");
    if !wolfi.is_dir() {
        assert!(
            std::env::var_os("CI").is_none_or(|v| v != "true"),
            "no corpus at {} under CI=true",
            wolfi.display()
        );
        eprintln!("SKIPPED: no corpus at {}", wolfi.display());
        return;
    }
    let mut files = Vec::new();
    recipes_under(&wolfi, false, &mut files);
    assert!(files.len() > 1000, "{} recipes", files.len());
    let options = Options::new(Arch::X86_64);
    let mut checked = 0;
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let Ok(yaml) = serde_yaml::from_str::<serde_yaml::Value>(&text) else {
            continue;
        };
        let file = SourceFile::new(path.display().to_string(), text);
        let Ok(ours) = melangec_compiler::query::package_version(&file, &options) else {
            continue;
        };
        let package = &yaml["package"];
        let scalar = |v: &serde_yaml::Value| match v {
            serde_yaml::Value::String(s) => s.clone(),
            serde_yaml::Value::Number(n) => n.to_string(),
            _ => String::new(),
        };
        let (name, version) = (scalar(&package["name"]), &package["version"]);
        let epoch = package["epoch"].as_u64().unwrap_or(0);
        let rest = ours
            .strip_prefix(&format!("{name}-"))
            .and_then(|r| r.strip_suffix(&format!("-r{epoch}")))
            .unwrap_or_else(|| panic!("{}: {ours}", path.display()));
        match version {
            serde_yaml::Value::Number(n) => {
                assert_eq!(
                    rest.parse::<f64>().ok(),
                    n.as_f64(),
                    "{}: {ours}",
                    path.display()
                )
            }
            v => assert_eq!(rest, scalar(v), "{}: {ours}", path.display()),
        }
        checked += 1;
    }
    assert!(checked > 1000, "{checked} recipes checked");
    eprintln!("package-version checked on {checked} recipes");
}
