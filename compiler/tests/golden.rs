//! Every `testdata/*.yaml` compiles to the readable LLB pinned in
//! `golden/<stem>.snap`; every `testdata/errors/*.yaml` fails with the
//! diagnostic pinned in `golden/errors/<stem>.snap`; every built-in pipeline
//! has a recipe `testdata/builtins/<name with - for />.yaml` pinned in
//! `golden/builtins/<stem>.snap`.

mod common;

use melangec_compiler::{compile, render, Options, SourceFile};
use miette::{GraphicalReportHandler, GraphicalTheme};

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
    let handler =
        GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor()).with_width(100);
    for path in files {
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let file = SourceFile::new(format!("{stem}.yaml"), text);
        let diags = match compile(&file, &Options::new(common::arch_for(&stem)), &lib) {
            Ok(_) => panic!("{stem} compiled but must fail"),
            Err(d) => d,
        };
        let mut rendered = String::new();
        for d in &diags.0 {
            handler.render_report(&mut rendered, d).unwrap();
        }
        insta::with_settings!({snapshot_path => "../../golden/errors", prepend_module_to_snapshot => false, omit_expression => true}, {
            insta::assert_snapshot!(stem, rendered);
        });
    }
}
