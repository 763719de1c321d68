//! Hostile recipes: each compiles or fails with a diagnostic, on a thread
//! with a spawned thread's default stack, and within a bounded amount of
//! work. None may panic, abort or overflow the stack.

mod common;

use melangec_compiler::library::PipelineLibrary;
use melangec_compiler::{compile, Arch, Compiled, Diagnostics, Options, SourceFile};

const STACK: usize = 2 * 1024 * 1024;

const HEAD: &str = "package:\n  name: p\n  version: 1.0.0\n";

/// Compiles `text` with `library` on a small stack.
fn compile_small(text: String, library: PipelineLibrary) -> Result<Compiled, Diagnostics> {
    std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(move || {
            let file = SourceFile::new("hostile.yaml", text);
            compile(&file, &Options::new(Arch::X86_64), &library)
        })
        .expect("spawn")
        .join()
        .expect("the compiler does not panic")
}

fn fails_with(text: String, library: PipelineLibrary, wanted: &str) -> Diagnostics {
    match compile_small(text, library) {
        Ok(_) => panic!("compiled; wanted {wanted:?}"),
        Err(d) => {
            assert!(
                d.0.iter().any(|d| d.message.contains(wanted)),
                "wanted {wanted:?}, got {:?}",
                d.0.iter().map(|d| &d.message).collect::<Vec<_>>()
            );
            d
        }
    }
}

/// A library holding `files`, named as `uses:` names them.
fn library(files: &[(&str, String)]) -> PipelineLibrary {
    let mut lib = PipelineLibrary::builtin();
    lib.add_dir(
        "hostile",
        files.iter().map(|(n, t)| ((*n).to_owned(), t.clone())),
    );
    lib
}

fn builtin() -> PipelineLibrary {
    PipelineLibrary::builtin()
}

#[test]
fn an_alias_bomb() {
    let mut text = String::from(HEAD);
    text.push_str("a0: &a0 [x,x,x,x,x,x,x,x,x]\n");
    for i in 1..9 {
        let items = vec![format!("*a{}", i - 1); 9].join(",");
        text.push_str(&format!("a{i}: &a{i} [{items}]\n"));
    }
    fails_with(text, builtin(), "alias bomb");
}

#[test]
fn deep_yaml_nesting() {
    let text = format!(
        "{HEAD}vars:\n  x: {}{}\n",
        "[".repeat(3000),
        "]".repeat(3000)
    );
    fails_with(text, builtin(), "invalid YAML");
    let text = format!("{HEAD}vars:\n  x:\n    {}y\n", "- ".repeat(3000));
    fails_with(text, builtin(), "nest more than");
}

#[test]
fn a_deep_type_error_prints_a_bounded_message() {
    let text = format!("{HEAD}pipeline:\n  - runs:\n      {}x\n", "- ".repeat(90));
    let d = fails_with(text, builtin(), "cannot unmarshal");
    let handler =
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor());
    let mut rendered = String::new();
    for d in &d.0 {
        handler.render_report(&mut rendered, d).unwrap();
    }
    assert!(
        rendered.len() < 4096,
        "{} bytes of diagnostic",
        rendered.len()
    );
}

#[test]
fn deeply_nested_pipelines() {
    let mut text = String::from(HEAD);
    text.push_str("pipeline:\n");
    for depth in 0..5000 {
        let pad = "  ".repeat(depth + 1);
        text.push_str(&format!("{pad}- pipeline:\n"));
        text.push_str(&format!("{pad}  "));
        text.push('\n');
    }
    // Each level is a list in a map: the YAML limit stops it first.
    fails_with(text, builtin(), "nest more than");
    let mut text = String::from(HEAD);
    text.push_str("pipeline:\n");
    for depth in 0..40 {
        let pad = "    ".repeat(depth);
        text.push_str(&format!("{pad}  - pipeline:\n"));
    }
    text.push_str(&format!("{}  - runs: x\n", "    ".repeat(40)));
    fails_with(text, builtin(), "steps nest more than");
}

#[test]
fn a_deep_vars_chain() {
    let mut text = String::from(HEAD);
    text.push_str("vars:\n");
    for i in 0..10_000 {
        text.push_str(&format!("  v{i}: ${{{{vars.v{}}}}}\n", i + 1));
    }
    text.push_str("  v10000: end\npipeline:\n  - runs: echo ${{vars.v0}}\n");
    fails_with(text, builtin(), "vars reference");
}

#[test]
fn a_vars_cycle_is_named() {
    let text = format!(
        "{HEAD}vars:\n  a: ${{{{vars.b}}}}\n  b: ${{{{vars.a}}}}\npipeline:\n  - runs: echo ${{{{vars.a}}}}\n"
    );
    fails_with(text, builtin(), "vars.a → vars.b → vars.a");
}

#[test]
fn deep_if_expressions() {
    let cond = format!("{}'a' == 'a'{}", "(".repeat(5000), ")".repeat(5000));
    let text = format!("{HEAD}pipeline:\n  - if: \"{cond}\"\n    runs: x\n");
    fails_with(text, builtin(), "nest");
}

#[test]
fn many_flat_steps() {
    let mut text = String::from(HEAD);
    text.push_str("pipeline:\n");
    for i in 0..100_000 {
        text.push_str(&format!("  - runs: echo {i}\n"));
    }
    fails_with(text, builtin(), "steps in all");
    let mut text = String::from(HEAD);
    text.push_str("pipeline:\n");
    for i in 0..5_000 {
        text.push_str(&format!("  - runs: echo {i}\n"));
    }
    let compiled = compile_small(text, builtin()).expect("5,000 steps compile");
    assert!(compiled.digests.len() > 5_000);
}

#[test]
fn a_uses_fan_out_is_bounded() {
    let mut files = Vec::new();
    for level in 0..8 {
        let steps = (0..10)
            .map(|_| format!("  - uses: l{}\n", level + 1))
            .collect::<String>();
        files.push((format!("l{level}"), format!("pipeline:\n{steps}")));
    }
    files.push(("l8".into(), "pipeline:\n  - runs: x\n".into()));
    let files: Vec<(&str, String)> = files.iter().map(|(n, t)| (n.as_str(), t.clone())).collect();
    let text = format!("{HEAD}pipeline:\n  - uses: l0\n");
    fails_with(text, library(&files), "steps in all");
}

#[test]
fn a_uses_cycle_is_named() {
    let lib = library(&[
        ("a", "pipeline:\n  - uses: b\n".into()),
        ("b", "pipeline:\n  - uses: a\n".into()),
    ]);
    let text = format!("{HEAD}pipeline:\n  - uses: a\n");
    fails_with(text, lib, "a uses b uses a");
}

#[test]
fn a_long_range_is_linear() {
    let mut text = String::from(HEAD);
    text.push_str("data:\n  - name: d\n    items:\n");
    for i in 0..40_000 {
        text.push_str(&format!("      k{i}: v{i}\n"));
    }
    text.push_str("subpackages:\n  - name: p-${{range.key}}\n    range: d\n");
    let started = std::time::Instant::now();
    let result = compile_small(text, builtin());
    // Generous for a loaded debug build: linear takes about 4 s, the
    // quadratic version took 50.
    assert!(started.elapsed().as_secs() < 30, "{:?}", started.elapsed());
    if let Err(d) = result {
        assert!(d.0.iter().all(|d| !d.message.is_empty()));
    }
}

#[test]
fn stray_bytes_and_documents() {
    let text = format!("\u{FEFF}{HEAD}pipeline:\n  - runs: x\n");
    assert!(compile_small(text, builtin()).is_ok(), "a byte-order mark");
    fails_with(
        format!("{HEAD}  description: a\0b\n"),
        builtin(),
        "NUL byte at 4:17",
    );
    fails_with(
        format!("{HEAD}---\n{HEAD}"),
        builtin(),
        "exactly one YAML document",
    );
}

#[test]
fn injected_package_fields() {
    let deps = |list: &str| format!("{HEAD}  dependencies:\n    {list}\n");
    let cases = [
        ("package:\n  name: p\n  version: 1.0/../../x\n".to_owned(), 3, "unable to parse version"),
        ("package:\n  name: p\n  version: 1.0-r3\n".to_owned(), 3, "unable to parse version"),
        ("package:\n  name: p\n  version: \"1.0\\npkgname = evil\"\n".to_owned(), 3, "unable to parse version"),
        ("package:\n  name: \"p\\npkgname = evil\"\n  version: 1.0\n".to_owned(), 2, "package name"),
        (deps("runtime: [\"a\\npkgname = evil\"]"), 5, "dependency"),
        (deps("provides: [\"a b\"]"), 5, "provide"),
        (deps("replaces: [\"a\\rb\"]"), 5, "replace"),
        (format!("{HEAD}  description: \"a\\0b\"\n"), 4, "NUL character"),
        (format!("{HEAD}  url: \"a\\eb\"\n"), 4, "control character"),
        (format!("{HEAD}  copyright:\n    - license: \"MIT\\0\"\n"), 5, "NUL character"),
        (format!("{HEAD}subpackages:\n  - name: \"p-x\\ny\"\n"), 5, "subpackage name"),
        (format!("{HEAD}subpackages:\n  - name: p-x\n    dependencies:\n      runtime: [\"x\\ny\"]\n"), 7, "dependency"),
    ];
    for (text, line, wanted) in cases {
        let d = fails_with(text.clone(), builtin(), wanted);
        assert_eq!(d.0[0].line(), line, "{text}");
    }
    // Line breaks in free text are folded to spaces when written.
    let text = format!("{HEAD}  description: >\n    two\n    lines\n\n    and more\n");
    assert!(compile_small(text, builtin()).is_ok());
}
