//! Same inputs, same bytes: across repeated compiles, mapping key orders and
//! directories; different architectures give different ops.

mod common;

use melangec_compiler::{compile, Arch, Options, SourceFile};

fn compile_text(name: &str, text: &str, arch: Arch) -> melangec_compiler::Compiled {
    let lib = common::testdata_library();
    compile(&SourceFile::new(name, text), &Options::new(arch), &lib)
        .unwrap_or_else(|d| panic!("{}", d.first_line()))
}

fn ops(c: &melangec_compiler::Compiled) -> Vec<String> {
    c.digests.clone()
}

#[test]
fn a_hundred_compiles_are_byte_identical() {
    let text =
        std::fs::read_to_string(common::root().join("testdata/nested-pipelines.yaml")).unwrap();
    let first = compile_text("nested-pipelines.yaml", &text, Arch::X86_64).bytes;
    for _ in 0..100 {
        assert_eq!(
            compile_text("nested-pipelines.yaml", &text, Arch::X86_64).bytes,
            first
        );
    }
}

#[test]
fn reordered_mapping_keys_give_the_same_ops() {
    let a = "package:\n  name: p\n  version: 1\nvars:\n  a: 1\n  b: 2\nenvironment:\n  environment:\n    X: 1\n    Y: 2\npipeline:\n  - uses: greet/person\n    with:\n      who: ${{vars.a}}\n      greeting: ${{vars.b}}\n";
    let b = "vars:\n  b: 2\n  a: 1\npipeline:\n  - with:\n      greeting: ${{vars.b}}\n      who: ${{vars.a}}\n    uses: greet/person\nenvironment:\n  environment:\n    Y: 2\n    X: 1\npackage:\n  version: 1\n  name: p\n";
    let ca = compile_text("p.yaml", a, Arch::X86_64);
    let cb = compile_text("p.yaml", b, Arch::X86_64);
    // Only the source map (which quotes the file) may differ.
    assert_eq!(ops(&ca), ops(&cb));
    assert_eq!(ca.definition.def, cb.definition.def);
    assert_ne!(ca.bytes, cb.bytes);
}

#[test]
fn another_arch_gives_other_digests() {
    let text = std::fs::read_to_string(common::root().join("testdata/simple.yaml")).unwrap();
    let x = compile_text("simple.yaml", &text, Arch::X86_64);
    let a = compile_text("simple.yaml", &text, Arch::Aarch64);
    assert_ne!(x.digests.last(), a.digests.last());
}

#[test]
fn the_source_map_names_the_file_not_the_path() {
    let text = std::fs::read_to_string(common::root().join("testdata/simple.yaml")).unwrap();
    let here = compile_text("/home/alice/recipes/simple.yaml", &text, Arch::X86_64);
    let there = compile_text("/srv/build/other/simple.yaml", &text, Arch::X86_64);
    assert_eq!(here.bytes, there.bytes);
    let infos = &here.definition.source.as_ref().unwrap().infos;
    assert_eq!(infos[0].filename, "simple.yaml");
}

#[test]
fn steps_point_at_their_recipe_lines() {
    let text = std::fs::read_to_string(common::root().join("testdata/simple.yaml")).unwrap();
    let c = compile_text("simple.yaml", &text, Arch::X86_64);
    let source = c.definition.source.as_ref().unwrap();
    let exec = c
        .definition
        .def
        .iter()
        .zip(&c.digests)
        .find(|(b, _)| {
            use prost::Message;
            matches!(
                melangec_proto::pb::Op::decode(b.as_slice()).unwrap().op,
                Some(melangec_proto::pb::op::Op::Exec(_))
            )
        })
        .map(|(_, d)| d.clone())
        .unwrap();
    let range = &source.locations[&exec].locations[0].ranges[0];
    assert_eq!(range.start.as_ref().unwrap().line, 15);
    assert!(text.lines().nth(14).unwrap().contains("runs: echo hello"));
}

#[test]
fn editing_a_later_step_keeps_earlier_ops() {
    let lib = common::testdata_library();
    let before =
        "package: {name: p, version: 1}\npipeline:\n  - runs: echo one\n  - runs: echo two\n";
    let after =
        "package: {name: p, version: 1}\npipeline:\n  - runs: echo one\n  - runs: echo TWO\n";
    let a = compile(
        &SourceFile::new("p.yaml", before),
        &Options::new(Arch::X86_64),
        &lib,
    )
    .unwrap();
    let b = compile(
        &SourceFile::new("p.yaml", after),
        &Options::new(Arch::X86_64),
        &lib,
    )
    .unwrap();
    let shared = a.digests.iter().filter(|d| b.digests.contains(d)).count();
    // environment and its copy, source, workspace and the first step are
    // unchanged.
    assert_eq!(shared, 5);
}
