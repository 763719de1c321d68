//! `melangec lock`: resolve a recipe's build environment against its
//! repositories (and the appended ones) for each architecture, and write
//! `<recipe>.lock.yaml` beside it.

use std::path::PathBuf;

use melangec::atomic::write as write_atomic;
use melangec::repo::lock::{self, Request};
use melangec_compiler::{build_ir, Arch};

use crate::environment_args;
use crate::recipe_args::{Inputs, RecipeArgs};
use crate::Failure;

#[derive(clap::Args)]
pub struct LockArgs {
    #[command(flatten)]
    recipe: RecipeArgs,
    /// Further architectures to lock besides --arch, comma-separated.
    #[arg(long, value_delimiter = ',')]
    also_arch: Vec<String>,
    #[command(flatten)]
    repos: environment_args::RepositoryArgs,
    /// Where to write the lock (default: beside the recipe, `.lock.yaml`).
    #[arg(short, long)]
    output: Option<PathBuf>,
}

pub fn run(args: LockArgs) -> Result<(), Failure> {
    let runtime = crate::async_runtime()?;
    let Inputs {
        file,
        options,
        library,
        ..
    } = args.recipe.inputs()?;
    let mut arches = vec![options.arch];
    for a in &args.also_arch {
        let arch = Arch::parse(a).ok_or_else(|| format!("unknown architecture {a:?}"))?;
        if !arches.contains(&arch) {
            arches.push(arch);
        }
    }
    let mut locks = Vec::new();
    for arch in arches {
        let mut opts = options.clone();
        opts.arch = arch;
        let build = build_ir(&file, &opts, &library).map_err(Failure::Diagnostics)?;
        let wanted = runtime.block_on(args.repos.wanted(&build))?;
        let request = Request {
            arch: arch.apk(),
            repositories: &wanted.repositories,
            keyring: &wanted.keyring,
            packages: &wanted.packages,
        };
        locks.push(runtime.block_on(environment_args::resolve(&request, &file, &build))?);
    }
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| environment_args::default_lock(&args.recipe.recipe));
    write_atomic(&output, lock::render(&locks).as_bytes(), 0o644)?;
    let count: usize = locks.iter().map(|l| l.packages.len()).sum();
    eprintln!("wrote {} ({count} packages)", output.display());
    Ok(())
}
