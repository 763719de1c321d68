//! `melangec`: compile melange recipes to BuildKit LLB and build them.

mod apk_cmd;
mod build_cmd;
mod environment_args;
mod interrupt;
mod lock_cmd;
mod pipeline_dirs;
mod pipelines;
mod recipe_args;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use melangec_compiler::{compile, render, Diagnostics};

use recipe_args::{Inputs, RecipeArgs};

#[derive(Parser)]
#[command(
    name = "melangec",
    version,
    about = "Build APK packages from melange recipes with BuildKit"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compile a recipe to a serialized LLB definition (`buildctl build < OUT.llb`).
    Compile(Box<CompileArgs>),
    /// Build a recipe on BuildKit (a buildkitd or Docker Engine) and export melange-out.
    Build(Box<build_cmd::BuildArgs>),
    /// Print a readable rendering of an .llb file.
    Render {
        /// The .llb file (`-` for standard input).
        file: PathBuf,
    },
    /// List the pipelines `uses:` can name, or show one's inputs.
    Pipelines(PipelinesArgs),
    /// Generate an RSA key pair for signing packages and indexes.
    Keygen(apk_cmd::KeygenArgs),
    /// Sign packages or indexes in place (RSA256).
    Sign(apk_cmd::SignArgs),
    /// Write an APKINDEX.tar.gz for packages.
    Index(apk_cmd::IndexArgs),
    /// Resolve the build environment and write <recipe>.lock.yaml.
    Lock(Box<lock_cmd::LockArgs>),
    /// Package a directory as it is into an .apk (for test repositories).
    Package(Box<apk_cmd::PackageArgs>),
}

#[derive(clap::Args)]
struct PipelinesArgs {
    #[command(subcommand)]
    action: Option<PipelinesAction>,
    /// First directory searched for `uses:` pipelines.
    #[arg(long, global = true)]
    pipeline_dir: Option<PathBuf>,
    /// Further directories searched for `uses:` pipelines, in order.
    #[arg(long, value_delimiter = ',', global = true)]
    pipeline_dirs: Vec<PathBuf>,
}

#[derive(Subcommand)]
enum PipelinesAction {
    /// Print a pipeline's description, needs and inputs.
    Show {
        /// The name as `uses:` gives it, such as `go/build`.
        name: String,
    },
}

#[derive(clap::Args)]
struct CompileArgs {
    #[command(flatten)]
    recipe: RecipeArgs,
    /// Where to write the definition; standard output if omitted.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Capability IDs of the target BuildKit, comma-separated; what it lacks
    /// (e.g. source.http.checksum) runs in the container instead.
    /// Default: what BuildKit v0.8 and later all have.
    #[arg(long, value_delimiter = ',', value_name = "CAPS")]
    caps: Option<Vec<String>>,
    /// With a lock (`<recipe>.lock.yaml`, or --lock), the definition
    /// installs the locked packages itself and needs no `environment` local.
    #[command(flatten)]
    env: environment_args::EnvironmentArgs,
}

/// The async runtime for the commands that talk to daemons and
/// repositories.
fn async_runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}").into())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Compile(args) => run_compile(*args),
        Command::Build(args) => build_cmd::run(*args),
        Command::Render { file } => run_render(&file),
        Command::Pipelines(args) => run_pipelines(args),
        Command::Keygen(args) => apk_cmd::keygen(args),
        Command::Sign(args) => apk_cmd::sign(args),
        Command::Index(args) => apk_cmd::index_cmd(args),
        Command::Package(args) => apk_cmd::package_dir(*args),
        Command::Lock(args) => lock_cmd::run(*args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Reported(code)) => ExitCode::from(code),
        Err(Failure::Message(m)) => {
            eprintln!("error: {m}");
            ExitCode::FAILURE
        }
        Err(Failure::Diagnostics(diags)) => {
            for d in diags.0 {
                eprintln!("{:?}", miette::Report::new(d));
            }
            ExitCode::FAILURE
        }
    }
}

pub enum Failure {
    /// Already told the user; exit with this code.
    Reported(u8),
    Message(String),
    Diagnostics(Diagnostics),
}

impl From<String> for Failure {
    fn from(m: String) -> Failure {
        Failure::Message(m)
    }
}

pub fn read(path: &Path, what: &str) -> Result<String, Failure> {
    std::fs::read_to_string(path)
        .map_err(|e| Failure::Message(format!("cannot read {what} {}: {e}", path.display())))
}

/// `SOURCE_DATE_EPOCH` from the environment, as melange reads it.
pub fn source_date_epoch() -> Result<u64, Failure> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if v.trim().is_empty() => Ok(0),
        Ok(v) => v.trim().parse().map_err(|_| {
            Failure::Message(format!(
                "SOURCE_DATE_EPOCH={v:?} is not an integer number of seconds"
            ))
        }),
        Err(_) => Ok(0),
    }
}

fn run_compile(args: CompileArgs) -> Result<(), Failure> {
    let Inputs {
        file,
        mut options,
        library,
        ..
    } = args.recipe.inputs()?;
    if let Some(caps) = args.caps {
        options.caps = caps.into_iter().filter(|c| !c.is_empty()).collect();
    }
    let compiled = compile(&file, &options, &library).map_err(Failure::Diagnostics)?;
    // A lock pins the environment: the packages are read (from the package
    // cache, fetched once) to write apk's database into the definition.
    let compiled = if args.env.lock_path(&args.recipe.recipe).exists() || args.env.lock.is_some() {
        let runtime = async_runtime()?;
        let pinned = runtime.block_on(async {
            let wanted = args.env.repos.wanted(&compiled.build).await?;
            let (locked, _) = environment_args::locked(
                &args.env,
                &args.recipe.recipe,
                &file,
                &compiled.build,
                &wanted,
            )
            .await?;
            melangec::repo::pinned::fetchable(&locked)?;
            environment_args::pin(&locked, &wanted).await
        })?;
        options.environment = Some(pinned);
        compile(&file, &options, &library).map_err(Failure::Diagnostics)?
    } else {
        compiled
    };
    match &args.output {
        Some(path) => Ok(melangec::atomic::write(path, &compiled.bytes, 0o644)?),
        None => print_out(&compiled.bytes),
    }
}

fn run_pipelines(args: PipelinesArgs) -> Result<(), Failure> {
    let mut dirs: Vec<PathBuf> = args.pipeline_dir.into_iter().collect();
    dirs.extend(args.pipeline_dirs);
    let library = pipeline_dirs::library(&dirs)?;
    let text = match args.action {
        None => pipelines::list(&library),
        Some(PipelinesAction::Show { name }) => pipelines::show(&library, &name)?,
    };
    print_out(text.as_bytes())
}

fn run_render(path: &Path) -> Result<(), Failure> {
    let bytes = if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        buf
    } else {
        std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?
    };
    let text = render::render_bytes(&bytes).map_err(|e| e.to_string())?;
    print_out(text.as_bytes())
}

/// Writes to standard output; a reader that went away (`| head`) ends the
/// output quietly.
fn print_out(bytes: &[u8]) -> Result<(), Failure> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(format!("cannot write output: {e}").into())
        }
        _ => Ok(()),
    }
}
