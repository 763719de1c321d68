//! Every `testdata/*.yaml` compiles to the readable LLB pinned in
//! `golden/<stem>.snap`; every `testdata/errors/*.yaml` fails with the
//! diagnostic pinned in `golden/errors/<stem>.snap`; every built-in pipeline
//! has a recipe `testdata/builtins/<name with - for />.yaml` pinned in
//! `golden/builtins/<stem>.snap`; the tests of every `testdata/tests/*.yaml`
//! (`melangec test`) render as pinned in `golden/tests/<stem>.snap`. An error case that needs command-line
//! input names it in `<stem>.flags` (`--env-file F`, `--build-option N`).
//! Every diagnostic code has a pinned rendering.

mod common;

use std::path::Path;

use melangec_compiler::{
    compile, compile_suite, render, test_ir, Code, Diagnostic, Options, SourceFile,
};
use miette::{GraphicalReportHandler, GraphicalTheme};

fn report(d: &Diagnostic) -> String {
    let handler =
        GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor()).with_width(100);
    let mut rendered = String::new();
    handler.render_report(&mut rendered, d).unwrap();
    rendered
}

/// The options `<stem>.flags` beside an error case asks for.
fn options_for(path: &Path, stem: &str) -> Options {
    let mut options = Options::new(common::arch_for(stem));
    let Ok(flags) = std::fs::read_to_string(path.with_extension("flags")) else {
        return options;
    };
    let words: Vec<&str> = flags.split_whitespace().collect();
    for pair in words.chunks(2) {
        match pair {
            ["--env-file", f] => {
                let env = path.with_file_name(f);
                let text = std::fs::read_to_string(&env).unwrap();
                options.env_files.push(SourceFile::new(*f, text));
            }
            ["--build-option", name] => options.build_options.push((*name).to_owned()),
            other => panic!("{stem}.flags: cannot use {other:?}"),
        }
    }
    options
}

#[test]
fn recipes_render_as_pinned() {
    let lib = common::testdata_library();
    let files = common::yaml_files(&common::root().join("testdata"));
    assert!(files.len() >= 10, "the golden set is missing recipes");
    for path in files {
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let file = SourceFile::new(format!("{stem}.yaml"), text);
        let compiled = match compile(&file, &Options::new(common::arch_for(&stem)), &lib) {
            Ok(c) => c,
            Err(d) => panic!("{stem} does not compile: {}", d.first_line()),
        };
        let rendered = render::render(&compiled.definition).unwrap();
        insta::with_settings!({snapshot_path => "../../golden", prepend_module_to_snapshot => false, omit_expression => true}, {
            insta::assert_snapshot!(stem, rendered);
        });
    }
}

#[test]
fn test_sections_render_as_pinned() {
    let lib = common::testdata_library();
    let files = common::yaml_files(&common::root().join("testdata/tests"));
    assert!(!files.is_empty(), "no test recipes");
    for path in files {
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let file = SourceFile::new(format!("{stem}.yaml"), text);
        let options = Options::new(common::arch_for(&stem));
        let suite = match test_ir(&file, &options, &lib, None, true) {
            Ok(s) => s,
            Err(d) => panic!("{stem}'s tests do not compile: {}", d.first_line()),
        };
        let rendered = render::render(&compile_suite(&suite, &file).definition).unwrap();
        insta::with_settings!({snapshot_path => "../../golden/tests", prepend_module_to_snapshot => false, omit_expression => true}, {
            insta::assert_snapshot!(stem, rendered);
        });
    }
}

#[test]
fn every_builtin_renders_as_pinned() {
    let lib = common::testdata_library();
    let dir = common::root().join("testdata/builtins");
    let files = common::yaml_files(&dir);
    let stems: Vec<String> = files
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    let missing: Vec<&str> = lib
        .builtin_names()
        .filter(|name| !stems.contains(&name.replace('/', "-")))
        .collect();
    assert!(
        missing.is_empty(),
        "built-ins without a test recipe: {missing:?}"
    );
    for (path, stem) in files.iter().zip(&stems) {
        let text = std::fs::read_to_string(path).unwrap();
        let file = SourceFile::new(format!("{stem}.yaml"), text);
        let compiled = match compile(&file, &Options::new(common::arch_for(stem)), &lib) {
            Ok(c) => c,
            Err(d) => panic!("{stem} does not compile: {}", d.first_line()),
        };
        let rendered = render::render(&compiled.definition).unwrap();
        insta::with_settings!({snapshot_path => "../../golden/builtins", prepend_module_to_snapshot => false, omit_expression => true}, {
            insta::assert_snapshot!(stem.as_str(), rendered);
        });
    }
}

#[test]
fn errors_render_as_pinned() {
    let lib = common::testdata_library();
    let files = common::yaml_files(&common::root().join("testdata/errors"));
    assert!(files.len() >= 8, "the error set is missing cases");
    for path in files {
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let file = SourceFile::new(format!("{stem}.yaml"), text);
        let diags = match compile(&file, &options_for(&path, &stem), &lib) {
            Ok(_) => panic!("{stem} compiled but must fail"),
            Err(d) => d,
        };
        let rendered: String = diags.0.iter().map(report).collect();
        insta::with_settings!({snapshot_path => "../../golden/errors", prepend_module_to_snapshot => false, omit_expression => true}, {
            insta::assert_snapshot!(stem, rendered);
        });
    }
}

/// A Build IR the validator refuses, as the internal error it becomes: no
/// recipe reaches it, so it is made by hand.
#[test]
fn an_invalid_build_renders_as_pinned() {
    let lib = common::testdata_library();
    let text = std::fs::read_to_string(common::root().join("testdata/simple.yaml")).unwrap();
    let file = SourceFile::new("simple.yaml", text);
    let mut build =
        melangec_compiler::build_ir(&file, &Options::new(common::arch_for("simple")), &lib)
            .unwrap();
    build.packages[0].steps[0].workdir = "src".to_owned();
    let invalid = melangec_compiler::ir::valid::validate(&build).unwrap_err();
    let rendered = report(&invalid.diagnostic(&file));
    insta::with_settings!({snapshot_path => "../../golden/errors", prepend_module_to_snapshot => false, omit_expression => true}, {
        insta::assert_snapshot!("internal", rendered);
    });
}

/// Every code has at least one pinned rendering under `golden/errors/`
/// (the runtime pins `environment`'s).
#[test]
fn every_code_has_a_pinned_rendering() {
    let dir = common::root().join("golden/errors");
    let pinned: String = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    let missing: Vec<String> = Code::ALL
        .iter()
        .map(|c| c.to_string())
        .filter(|c| !pinned.contains(&format!("{c}\n")))
        .collect();
    assert!(missing.is_empty(), "codes without a snapshot: {missing:?}");
}
