//! `melangec compile`: a recipe to a serialized LLB definition. Pure as the
//! compiler is, with one input besides the files named: a lock (`--lock`,
//! or `<recipe>.lock.yaml` beside the recipe), whose environment is then
//! pinned in the definition from the package cache. Nothing is downloaded
//! and no lock is rewritten; a lock that no longer fits the recipe is an
//! error that says to run `melangec lock`.

use std::path::PathBuf;

use melangec::environment::lockfile::LockFile;
use melangec::environment::prepare::pinned_offline;
use melangec_compiler::{build_ir, compile};

use super::args::{EnvironmentArgs, RecipeArgs};
use super::{async_runtime, print_out, Failure};

#[derive(clap::Args)]
pub struct CompileArgs {
    #[command(flatten)]
    recipe: RecipeArgs,
    /// Where to write the definition; standard output if omitted.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Capability IDs of the target BuildKit, comma-separated; what it lacks
    /// (e.g. source.http.checksum) runs in the container instead.
    /// Default: what BuildKit v0.8 and later all have.
    #[arg(long, value_delimiter = ',', value_name = "CAPS")]
    caps: Option<Vec<String>>,
    /// With a lock, the definition installs the locked packages itself and
    /// needs no `environment` local.
    #[command(flatten)]
    env: EnvironmentArgs,
}

pub fn run(args: CompileArgs) -> Result<(), Failure> {
    let mut sources = args.recipe.sources();
    sources.outputs.extend(args.env.lock.clone());
    let inputs = sources.read()?;
    let mut options = inputs.options;
    if let Some(caps) = args.caps {
        options.caps = caps.into_iter().filter(|c| !c.is_empty()).collect();
    }
    let lock = LockFile::new(&inputs.recipe, args.env.lock.as_deref());
    if lock.in_use() {
        // The IR says what the environment asks for; the lock pins it.
        let ir = build_ir(&inputs.file, &options, &inputs.library).map_err(Failure::Diagnostics)?;
        let extra = args.env.repos.extra();
        let pinned = async_runtime()?.block_on(pinned_offline(&lock, &extra, &ir.environment))?;
        options.environment = Some(pinned);
    }
    let compiled =
        compile(&inputs.file, &options, &inputs.library).map_err(Failure::Diagnostics)?;
    match &args.output {
        Some(path) => Ok(melangec::atomic::write(path, &compiled.bytes, 0o644)?),
        None => print_out(&compiled.bytes),
    }
}
