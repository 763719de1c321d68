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
pub mod options;
pub mod passes;
pub mod source;

pub use back::render;
pub use front::diagnostics::{Code, Diagnostic, Diagnostics, Note};
pub use library::PipelineLibrary;
pub use options::{Arch, Options, PinnedEnvironment, PinnedPackage};
pub use source::{SourceFile, Span};

use crate::ir::Build;

/// A compiled recipe.
pub struct Compiled {
    pub build: Build,
    pub definition: melangec_proto::pb::Definition,
    /// The serialized definition: the `.llb` file.
    pub bytes: Vec<u8>,
    /// Op digests in definition order; the last is the terminal op.
    pub digests: Vec<String>,
}

/// Parses and checks a recipe down to the Build IR: the passes in order.
pub fn build_ir(
    recipe_file: &SourceFile,
    options: &Options,
    library: &PipelineLibrary,
) -> Result<Build, Diagnostics> {
    let recipe = front::load::load_recipe(recipe_file)?;
    let (recipe, parse_scope) = passes::parse_time::apply(recipe_file, recipe, options)?;
    passes::target::check(recipe_file, &recipe, options.arch)?;
    let mut diags = Diagnostics::default();
    let expanded = passes::expand::expand(recipe_file, library, &recipe, &mut diags);
    let resolved = passes::substitute::substitute(
        recipe_file,
        &recipe,
        &parse_scope,
        options,
        &expanded,
        &mut diags,
    );
    let mut folded = passes::fold::fold(recipe_file, &recipe, resolved, &mut diags);
    let user = passes::accounts::run_as(&recipe.environment, recipe_file, &mut diags);
    passes::native::native(&mut folded, options, &user);
    let build = passes::assemble::assemble(&recipe, options, folded, user);
    diags.finish(())?;
    ir::valid::validate(&build).map_err(|e| e.diagnostic(recipe_file))?;
    Ok(build)
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
