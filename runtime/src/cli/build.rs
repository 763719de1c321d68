//! `melangec build`: the flags, as melange's, into one build job; then what
//! it wrote, or why it failed.

use std::path::PathBuf;

use melangec::cancel::Cancel;
use melangec::job::{self, EnvironmentSource, Packaging, Request};
use melangec::progress::Console;

use super::args::{daemon_candidates, EnvironmentArgs, ProgressArg, RecipeArgs};
use super::interrupt::Interrupts;
use super::{async_runtime, Failure};

#[derive(clap::Args)]
pub struct BuildArgs {
    #[command(flatten)]
    recipe: RecipeArgs,
    /// BuildKit to use: unix://PATH (buildkitd), tcp://HOST:PORT, or docker://[SOCKET]
    /// (Docker Engine). Default: $BUILDKIT_HOST, then /run/buildkit/buildkitd.sock,
    /// then /var/run/docker.sock.
    #[arg(long, value_name = "ADDR")]
    buildkit_addr: Option<String>,
    /// Root filesystem the steps run in, instead of one assembled from the
    /// recipe's repositories and the appended ones.
    #[arg(long, value_name = "DIR")]
    environment_dir: Option<PathBuf>,
    /// Host directory for the build's results; melange-out/ lands in
    /// DIR/<arch>/melange-out.
    #[arg(long, default_value = "workspace", value_name = "DIR")]
    workspace_dir: PathBuf,
    /// Where packages go (DIR/<arch>/).
    #[arg(long, default_value = "packages", value_name = "DIR")]
    out_dir: PathBuf,
    /// How progress is shown.
    #[arg(long, value_enum, default_value = "auto")]
    progress: ProgressArg,
    /// Accepted for melange compatibility: /var/cache/melange is BuildKit's
    /// own persistent cache mount instead.
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Accepted for melange compatibility; BuildKit is the only runner.
    #[arg(long, value_name = "RUNNER")]
    runner: Option<String>,
    /// Sign packages and the index with this RSA private key (PEM).
    #[arg(long, value_name = "KEY")]
    signing_key: Option<PathBuf>,
    #[command(flatten)]
    env: EnvironmentArgs,
    /// Accepted for melange compatibility: downloaded packages are kept in
    /// melangec's own cache (~/.cache/melangec, or $MELANGEC_CACHE).
    #[arg(long, value_name = "DIR")]
    apk_cache_dir: Option<PathBuf>,
    /// Distribution namespace, written as the packages' maintainer.
    #[arg(long, value_name = "NAMESPACE")]
    namespace: Option<String>,
    /// License of the recipe, for an SBOM (accepted; no SBOM is written yet).
    #[arg(long, value_name = "LICENSE")]
    license: Option<String>,
    /// Repository the recipe comes from, for an SBOM (accepted; no SBOM is
    /// written yet).
    #[arg(long, value_name = "URL")]
    git_repo_url: Option<String>,
    /// Update <out-dir>/<arch>/APKINDEX.tar.gz (default true).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    generate_index: Option<bool>,
    /// Accepted, no effect (as in melange).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    cleanup: Option<bool>,
    /// Trace every command of the scripts (`set -x`), as melange's --debug.
    #[arg(long)]
    debug: bool,
}

/// What the flags that do nothing here would have done, said once each.
fn notes(args: &BuildArgs, console: &Console) {
    if let Some(runner) = &args.runner {
        console.note(format_args!(
            "--runner {runner} is ignored: steps run on BuildKit"
        ));
    }
    if args.cache_dir.is_some() {
        console.note("--cache-dir is not mounted: /var/cache/melange is BuildKit's cache mount `melange-cache`");
    }
    if args.license.is_some() || args.git_repo_url.is_some() {
        console.note(
            "--license and --git-repo-url describe the recipe for an SBOM, which is not written yet",
        );
    }
    if args.environment_dir.is_some()
        && (!args.env.repos.extra().is_empty() || args.env.lock.is_some())
    {
        console.note("repository flags have no effect with --environment-dir");
    }
    if args.apk_cache_dir.is_some() {
        console.note(
            "--apk-cache-dir is not used: environments are kept by content in ~/.cache/melangec",
        );
    }
}

fn request(args: BuildArgs) -> Result<Request, Failure> {
    let daemon = daemon_candidates(args.buildkit_addr.as_deref())?;
    let environment = match args.environment_dir {
        Some(dir) => EnvironmentSource::Dir(dir),
        None => EnvironmentSource::Repositories {
            extra: args.env.repos.extra(),
            lock: args.env.lock.clone(),
        },
    };
    let mut sources = args.recipe.sources();
    sources.outputs = [
        Some(&args.workspace_dir),
        Some(&args.out_dir),
        args.cache_dir.as_ref(),
        args.apk_cache_dir.as_ref(),
        args.env.lock.as_ref(),
    ]
    .into_iter()
    .flatten()
    .cloned()
    .collect();
    Ok(Request {
        sources,
        environment,
        daemon,
        workspace_dir: args.workspace_dir,
        packaging: Packaging {
            out_dir: args.out_dir,
            signing_key: args.signing_key,
            namespace: args.namespace.unwrap_or_default(),
            generate_index: args.generate_index.unwrap_or(true),
        },
        progress: args.progress.into(),
        debug: args.debug,
    })
}

pub fn run(args: BuildArgs) -> Result<(), Failure> {
    let console = Console::stderr();
    notes(&args, &console);
    let request = request(args)?;
    async_runtime()?.block_on(async {
        let cancel = Cancel::new();
        let interrupts = Interrupts::listen(&cancel)?;
        match job::build(&request, &cancel, &console).await {
            Ok(built) => {
                for path in &built.written {
                    console.line(format_args!("wrote {}", path.display()));
                }
                console.line(format_args!(
                    "done in {:.1}s: {}",
                    built.elapsed.as_secs_f64(),
                    built.melange_out.display()
                ));
                Ok(())
            }
            Err(job::Error::Cancelled) => Err(interrupts.failure()),
            Err(e) => Err(e.into()),
        }
    })
}
