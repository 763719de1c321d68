//! `melangec`: compile melange recipes to BuildKit LLB.

mod atomic;
mod pipeline_dirs;
mod pipelines;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use melangec_compiler::{compile, render, Arch, Diagnostics, Options, SourceFile};

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
    Compile(CompileArgs),
    /// Print a readable rendering of an .llb file.
    Render {
        /// The .llb file (`-` for standard input).
        file: PathBuf,
    },
    /// List the pipelines `uses:` can name, or show one's inputs.
    Pipelines(PipelinesArgs),
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
    /// The recipe.
    recipe: PathBuf,
    /// Where to write the definition; standard output if omitted.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Target architecture (x86_64 or aarch64; amd64/arm64 accepted).
    #[arg(long, default_value = "x86_64")]
    arch: String,
    /// First directory searched for `uses:` pipelines.
    #[arg(long)]
    pipeline_dir: Option<PathBuf>,
    /// Further directories searched for `uses:` pipelines, in order.
    #[arg(long, value_delimiter = ',')]
    pipeline_dirs: Vec<PathBuf>,
    /// Directory whose files populate /home/build (default: the recipe's directory).
    #[arg(long)]
    source_dir: Option<PathBuf>,
    /// dotenv files merged into the build environment (earlier files win).
    #[arg(long, value_delimiter = ',')]
    env_file: Vec<PathBuf>,
    /// YAML map merged over the recipe's `vars`.
    #[arg(long)]
    vars_file: Option<PathBuf>,
    /// Enable a named build option of the recipe.
    #[arg(long, value_delimiter = ',')]
    build_option: Vec<String>,
    /// libc flavour for ${{host.triplet.*}}.
    #[arg(
        long = "override-host-triplet-libc-substitution-flavor",
        default_value = "gnu"
    )]
    libc_flavor: String,
    /// Capability IDs of the target BuildKit, comma-separated; what it lacks
    /// (e.g. source.http.checksum) runs in the container instead.
    /// Default: what BuildKit v0.8 and later all have.
    #[arg(long, value_delimiter = ',', value_name = "CAPS")]
    caps: Option<Vec<String>>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Compile(args) => run_compile(args),
        Command::Render { file } => run_render(&file),
        Command::Pipelines(args) => run_pipelines(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
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

enum Failure {
    Message(String),
    Diagnostics(Diagnostics),
}

impl From<String> for Failure {
    fn from(m: String) -> Failure {
        Failure::Message(m)
    }
}

fn read(path: &Path, what: &str) -> Result<String, Failure> {
    std::fs::read_to_string(path)
        .map_err(|e| Failure::Message(format!("cannot read {what} {}: {e}", path.display())))
}

/// `SOURCE_DATE_EPOCH` from the environment, as melange reads it.
fn source_date_epoch() -> Result<u64, Failure> {
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
    let arch = Arch::parse(&args.arch).ok_or_else(|| {
        format!(
            "unknown architecture {:?}: use x86_64 or aarch64",
            args.arch
        )
    })?;
    let text = read(&args.recipe, "recipe")?;
    let file = SourceFile::new(args.recipe.display().to_string(), text);

    let mut options = Options::new(arch);
    options.source_date_epoch = source_date_epoch()?;
    options.libc_flavor = args.libc_flavor;
    options.build_options = args.build_option;
    if let Some(caps) = args.caps {
        options.caps = caps.into_iter().filter(|c| !c.is_empty()).collect();
    }
    for f in &args.env_file {
        options.env_files.push(SourceFile::new(
            f.display().to_string(),
            read(f, "env file")?,
        ));
    }
    if let Some(f) = &args.vars_file {
        options.vars_file = Some(SourceFile::new(
            f.display().to_string(),
            read(f, "vars file")?,
        ));
    }
    let source_dir = args.source_dir.clone().unwrap_or_else(|| {
        args.recipe
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    });
    if let Ok(ignore) = std::fs::read_to_string(source_dir.join(".melangeignore")) {
        options.source_excludes = ignore
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_owned)
            .collect();
    }

    let mut dirs: Vec<PathBuf> = args.pipeline_dir.into_iter().collect();
    dirs.extend(args.pipeline_dirs);
    let library = pipeline_dirs::library(&dirs)?;

    let compiled = compile(&file, &options, &library).map_err(Failure::Diagnostics)?;
    match &args.output {
        Some(path) => atomic::write(path, &compiled.bytes)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?,
        None => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            out.write_all(&compiled.bytes)
                .and_then(|()| out.flush())
                .map_err(|e| format!("cannot write output: {e}"))?;
        }
    }
    Ok(())
}

fn run_pipelines(args: PipelinesArgs) -> Result<(), Failure> {
    let mut dirs: Vec<PathBuf> = args.pipeline_dir.into_iter().collect();
    dirs.extend(args.pipeline_dirs);
    let library = pipeline_dirs::library(&dirs)?;
    let text = match args.action {
        None => pipelines::list(&library),
        Some(PipelinesAction::Show { name }) => pipelines::show(&library, &name)?,
    };
    print!("{text}");
    Ok(())
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
    let text = render::render_bytes(&bytes)?;
    print!("{text}");
    Ok(())
}
