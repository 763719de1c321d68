//! `melangec lock`: resolve a recipe's build environment against its
//! repositories (and the appended ones) for each architecture, write
//! `<recipe>.lock.yaml` beside it, and keep what `compile` needs to pin the
//! environment (the packages' database) in the package cache.

use std::path::PathBuf;

use melangec::atomic::write as write_atomic;
use melangec::environment::{cache, lockfile, pinned, prepare, Network, Wanted};
use melangec_compiler::{build_ir, Arch};

use super::args::{ArchArg, RecipeArgs, RepositoryArgs};
use super::{async_runtime, Failure};

#[derive(clap::Args)]
pub struct LockArgs {
    #[command(flatten)]
    recipe: RecipeArgs,
    /// Further architectures to lock besides --arch, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', value_name = "ARCH,...")]
    also_arch: Vec<ArchArg>,
    #[command(flatten)]
    repos: RepositoryArgs,
    /// Where to write the lock (default: beside the recipe, `.lock.yaml`).
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

pub fn run(args: LockArgs) -> Result<(), Failure> {
    let runtime = async_runtime()?;
    let inputs = args.recipe.sources().read()?;
    let mut arches = vec![inputs.options.arch];
    for a in &args.also_arch {
        let arch = Arch::from(*a);
        if !arches.contains(&arch) {
            arches.push(arch);
        }
    }
    let extra = args.repos.extra();
    let cache = cache::root();
    let console = melangec::progress::Console::stderr();
    let mut locks = Vec::new();
    for arch in arches {
        let mut opts = inputs.options.clone();
        opts.arch = arch;
        let build = build_ir(&inputs.file, &opts, &inputs.library).map_err(Failure::Diagnostics)?;
        let lock = runtime.block_on(async {
            let wanted = Wanted::new(&build.environment, &extra, &cache, Network::Allowed).await?;
            wanted.note_absent(&console);
            let lock = prepare::resolve(&wanted, &cache, &inputs.file, &build.environment).await?;
            if pinned::fetchable(&lock.packages).is_ok() {
                pinned::remember(&cache, &lock.packages, wanted.setup().keys).await?;
            }
            Ok::<_, Failure>(lock)
        });
        locks.push(lock?);
    }
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| lockfile::default_path(&args.recipe.recipe));
    write_atomic(&output, lockfile::render(&locks).as_bytes(), 0o644)?;
    let count: usize = locks.iter().map(|l| l.packages.len()).sum();
    eprintln!("wrote {} ({count} packages)", output.display());
    Ok(())
}
