//! `melangec package-version` and `melangec query`: what scripts around
//! melange (Wolfi's Makefile first) ask of a recipe, printed as melange
//! prints it: no trailing newline.

use std::path::PathBuf;

use melangec::recipe::read_recipe;
use melangec_compiler::{query, Options};

use super::args::ArchArg;
use super::{print_out, Failure};

#[derive(clap::Args)]
pub struct PackageVersionArgs {
    /// The recipe.
    recipe: PathBuf,
    /// Architecture for `${{build.arch}}` in the recipe's values.
    #[arg(long, value_enum, default_value = "x86_64")]
    arch: ArchArg,
}

#[derive(clap::Args)]
pub struct QueryArgs {
    /// The recipe.
    recipe: PathBuf,
    /// A Go template over melange's configuration, e.g. `{{ .Package.Version }}`.
    template: String,
    /// Architecture for `${{build.arch}}` in the recipe's values.
    #[arg(long, value_enum, default_value = "x86_64")]
    arch: ArchArg,
}

pub fn package_version(args: PackageVersionArgs) -> Result<(), Failure> {
    let file = read_recipe(&args.recipe)?;
    let text = query::package_version(&file, &Options::new(args.arch.into()))
        .map_err(Failure::Diagnostics)?;
    print_out(text.as_bytes())
}

pub fn run(args: QueryArgs) -> Result<(), Failure> {
    let file = read_recipe(&args.recipe)?;
    let text = query::query(&file, &Options::new(args.arch.into()), &args.template)
        .map_err(Failure::Diagnostics)?;
    print_out(text.as_bytes())
}
