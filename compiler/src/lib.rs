//! melangec's compiler: a pure function from a melange recipe (plus options
//! and a pipeline library) to a deterministic BuildKit LLB definition. It
//! reads no file, clock, variable or network: callers hand it texts.
//!
//! The recipe flows one way: `front` (text to a `Recipe` with spans),
//! `passes` (to the Build IR in `ir`, checked by `ir::valid`), `back` (LLB
//! graph, marshalled bytes, and a rendering for people). `lang` holds the
//! two small languages inside recipe strings; `library` the pipelines
//! `uses:` names.

pub mod back;
pub mod front;
pub mod ir;
pub mod lang;
pub mod library;
pub mod names;
pub mod options;
pub mod passes;
pub mod query;
pub mod source;

pub use back::render;
pub use front::diagnostics::{Code, Diagnostic, Diagnostics, Note};
pub use library::PipelineLibrary;
pub use options::{Arch, Options, PinnedEnvironment, PinnedPackage};
pub use source::{SourceFile, Span};

use crate::ir::{Build, Suite};

/// A compiled recipe.
pub struct Compiled {
    pub build: Build,
    pub definition: melangec_proto::pb::Definition,
    /// The serialized definition: the `.llb` file.
    pub bytes: Vec<u8>,
    /// Op digests in definition order; the last is the terminal op.
    pub digests: Vec<String>,
}

/// The passes builds and tests share, up to `substitute`; their findings
/// are added to `diags`, a failure to parse ends them early.
fn substituted(
    recipe_file: &SourceFile,
    options: &Options,
    library: &PipelineLibrary,
    diags: &mut Diagnostics,
) -> Result<(front::recipe::Recipe, ir::Resolved), Diagnostics> {
    let recipe = front::load::load_recipe(recipe_file)?;
    let (recipe, parse_scope) = passes::parse_time::apply(recipe_file, recipe, options)?;
    passes::target::check(recipe_file, &recipe, options.arch)?;
    let expanded = passes::expand::expand(recipe_file, library, &recipe, diags);
    let resolved = passes::substitute::substitute(
        recipe_file,
        &recipe,
        &parse_scope,
        options,
        &expanded,
        diags,
    );
    Ok((recipe, resolved))
}

/// Parses and checks a recipe down to the Build IR: the passes in order.
pub fn build_ir(
    recipe_file: &SourceFile,
    options: &Options,
    library: &PipelineLibrary,
) -> Result<Build, Diagnostics> {
    let mut diags = Diagnostics::default();
    let (recipe, resolved) = substituted(recipe_file, options, library, &mut diags)?;
    let mut folded = passes::fold::fold(recipe_file, &recipe, resolved, &mut diags);
    let user = passes::accounts::run_as(&recipe.environment, recipe_file, &mut diags);
    passes::native::native(&mut folded, options, &user);
    let build = passes::assemble::assemble(&recipe, options, folded, user);
    diags.finish(())?;
    ir::valid::validate(&build).map_err(|e| e.diagnostic(recipe_file))?;
    Ok(build)
}

/// The recipe's tests down to the Suite IR: the passes of a build up to
/// `fold`, then `tests`. `package` names what the top-level test installs
/// (`name` or `name=version-rN`; the recipe's package by default);
/// `with_source` says whether the workspace starts as the source directory.
pub fn test_ir(
    recipe_file: &SourceFile,
    options: &Options,
    library: &PipelineLibrary,
    package: Option<&str>,
    with_source: bool,
) -> Result<Suite, Diagnostics> {
    let mut diags = Diagnostics::default();
    let (recipe, mut resolved) = substituted(recipe_file, options, library, &mut diags)?;
    let tests = std::mem::take(&mut resolved.tests);
    let folded = passes::fold::fold(recipe_file, &recipe, resolved, &mut diags);
    let kept: Vec<usize> = folded.subpackages.iter().map(|(i, _)| *i).collect();
    let tests = passes::suite::plan(
        recipe_file,
        &recipe,
        options,
        tests,
        &kept,
        package,
        &mut diags,
    );
    diags.finish(())?;
    let suite = Suite {
        arch: options.arch,
        package: recipe.package.name.value.clone(),
        tests,
        with_source,
        source_excludes: options.source_excludes.clone(),
        source_date_epoch: options.source_date_epoch,
        local_session: options.local_session.clone(),
        merge: options.has_caps(&["mergeop"]),
        debug: options.debug,
        rerun: false,
    };
    ir::valid::validate_suite(&suite).map_err(|e| e.diagnostic(recipe_file))?;
    Ok(suite)
}

/// A compiled test suite.
pub struct CompiledSuite {
    pub definition: melangec_proto::pb::Definition,
    pub bytes: Vec<u8>,
    /// For each test of the suite, the digest of each of its steps' ops.
    pub steps: Vec<Vec<String>>,
}

/// Lowers a suite (its environments pinned or named as locals by the
/// caller) to one definition that runs every test.
pub fn compile_suite(suite: &Suite, recipe_file: &SourceFile) -> CompiledSuite {
    let lowered = back::suite::lower_suite(suite);
    let m = back::marshal::marshal(lowered.graph, lowered.result, recipe_file);
    let steps = lowered
        .steps
        .iter()
        .map(|nodes| nodes.iter().map(|n| m.digest_of[n].clone()).collect())
        .collect();
    CompiledSuite {
        definition: m.definition,
        bytes: m.bytes,
        steps,
    }
}

/// Compiles a recipe to a serialized LLB definition.
pub fn compile(
    recipe_file: &SourceFile,
    options: &Options,
    library: &PipelineLibrary,
) -> Result<Compiled, Diagnostics> {
    let build = build_ir(recipe_file, options, library)?;
    let (graph, result) = back::lower::lower(&build);
    let m = back::marshal::marshal(graph, result, recipe_file);
    Ok(Compiled {
        build,
        definition: m.definition,
        bytes: m.bytes,
        digests: m.digests,
    })
}
