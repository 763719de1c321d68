//! `melangec build`: compile for the daemon found, serve the environment and
//! the source directory, stream progress, and put the exported
//! `melange-out/` in place only when the build succeeded.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use melangec::apk::key::Key;
use melangec::buildkit::addr::{self, Addr};
use melangec::buildkit::daemon;
use melangec::buildkit::session::Offer;
use melangec::buildkit::solve::{self, new_id, Solve, SolveError};
use melangec::scratch::Scratch;
use melangec::status_view::{Mode, Progress};
use melangec_compiler::compile;
use melangec_compiler::ir::guest::{ENVIRONMENT_LOCAL, SOURCE_LOCAL};
use melangec_compiler::ir::PackageMeta;
use tokio::sync::mpsc;

use crate::environment_args::{self, Environment, EnvironmentArgs};
use crate::interrupt::{Interrupts, CANCELLED};
use crate::recipe_args::{Inputs, RecipeArgs};
use crate::Failure;

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
    /// Progress output: auto, tty, plain or json.
    #[arg(long, default_value = "auto")]
    progress: String,
    /// Accepted for melange compatibility: /var/cache/melange is BuildKit's
    /// own persistent cache mount instead.
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Accepted for melange compatibility; BuildKit is the only runner.
    #[arg(long)]
    runner: Option<String>,
    /// Sign packages and the index with this RSA private key (PEM).
    #[arg(long)]
    signing_key: Option<PathBuf>,
    #[command(flatten)]
    env: EnvironmentArgs,
    #[arg(long)]
    apk_cache_dir: Option<PathBuf>,
    /// Distribution namespace, written as the packages' maintainer.
    #[arg(long)]
    namespace: Option<String>,
    #[arg(long)]
    license: Option<String>,
    #[arg(long)]
    git_repo_url: Option<String>,
    /// Update <out-dir>/<arch>/APKINDEX.tar.gz (default true).
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    generate_index: Option<bool>,
    /// Accepted, no effect (as in melange).
    #[arg(long)]
    cleanup: Option<bool>,
}

pub fn run(args: BuildArgs) -> Result<(), Failure> {
    let runtime = crate::async_runtime()?;
    runtime.block_on(async {
        let mut interrupts = Interrupts::listen()?;
        build(args, &mut interrupts).await
    })
}

fn notes(args: &BuildArgs) {
    let mut notes = Vec::new();
    if let Some(runner) = &args.runner {
        notes.push(format!(
            "--runner {runner} is ignored: steps run on BuildKit"
        ));
    }
    if args.cache_dir.is_some() {
        notes.push(
            "--cache-dir is not mounted: /var/cache/melange is BuildKit's cache mount `melange-cache`"
                .to_owned(),
        );
    }
    if args.license.is_some() || args.git_repo_url.is_some() {
        notes.push("--license and --git-repo-url describe the recipe for an SBOM, which is not written yet".to_owned());
    }
    if args.environment_dir.is_some()
        && (!args.env.repos.keyring_append.is_empty()
            || !args.env.repos.repository_append.is_empty()
            || !args.env.repos.package_append.is_empty()
            || args.env.lock.is_some())
    {
        notes.push("repository flags have no effect with --environment-dir".to_owned());
    }
    if args.apk_cache_dir.is_some() {
        notes.push(
            "--apk-cache-dir is not used: environments are kept by content in ~/.cache/melangec"
                .to_owned(),
        );
    }
    for n in notes {
        eprintln!("note: {n}");
    }
}

async fn build(args: BuildArgs, interrupts: &mut Interrupts) -> Result<(), Failure> {
    notes(&args);
    let mode = Mode::parse(&args.progress).ok_or_else(|| {
        format!(
            "unknown --progress {:?}: use auto, tty, plain or json",
            args.progress
        )
    })?;
    if let Some(dir) = args.environment_dir.as_ref().filter(|d| !d.is_dir()) {
        return Err(format!("the environment directory {} does not exist", dir.display()).into());
    }
    let Inputs {
        file,
        mut options,
        library,
        source_dir,
    } = args.recipe.inputs()?;
    // The key is read before the build, so a bad key fails fast; it stays
    // on this machine.
    let key = args
        .signing_key
        .as_deref()
        .map(melangec::apk::key::Key::load)
        .transpose()
        .map_err(|e| e.to_string())?;
    // A recipe error is reported before any daemon is contacted.
    let first = compile(&file, &options, &library).map_err(Failure::Diagnostics)?;

    let explicit = args.buildkit_addr.is_some();
    let candidates = match &args.buildkit_addr {
        Some(a) => vec![Addr::parse(a)?],
        None => addr::candidates(
            std::env::var("BUILDKIT_HOST").ok().as_deref(),
            std::env::var("DOCKER_HOST").ok().as_deref(),
        )?,
    };
    let daemon = interrupts
        .race(daemon::connect(&candidates, explicit))
        .await??;
    options.caps = daemon.caps.clone();
    let session_id = new_id();
    options.local_session = Some(session_id.clone());
    let environment = match &args.environment_dir {
        Some(dir) => Environment::Dir(dir.clone()),
        None => {
            let preparing =
                environment_args::prepare(&args.env, &args.recipe.recipe, &file, &first.build);
            interrupts.race(preparing).await??
        }
    };
    let environment_dir = match environment {
        Environment::Dir(dir) => Some(dir),
        Environment::Pinned(pinned) => {
            if options.caps.contains("mergeop")
                && !interrupts
                    .race(daemon::merges(&daemon.channel, options.arch))
                    .await?
            {
                options.caps.remove("mergeop");
            }
            options.environment = Some(pinned);
            None
        }
    };
    let compiled = compile(&file, &options, &library).map_err(Failure::Diagnostics)?;
    eprintln!(
        "building {} for {} on {} (BuildKit {})",
        file.name(),
        options.arch.apk(),
        daemon.addr,
        daemon.version.as_deref().unwrap_or("v0.8, Docker 20.10")
    );

    let arch_dir = args.workspace_dir.join(options.arch.apk());
    std::fs::create_dir_all(&arch_dir)
        .map_err(|e| format!("cannot create {}: {e}", arch_dir.display()))?;
    let partial = arch_dir.join(format!(".melange-out.partial-{}", new_id()));
    // An interrupted or failed build leaves no partial export behind.
    let _cleanup = Scratch::new(partial.clone());

    let mut offer = Offer::default();
    if let Some(dir) = &environment_dir {
        offer
            .dirs
            .insert(ENVIRONMENT_LOCAL.to_owned(), absolute(dir)?);
    }
    offer
        .dirs
        .insert(SOURCE_LOCAL.to_owned(), absolute(&source_dir)?);
    offer.export_to = Some(partial.clone());

    let (tx, mut rx) = mpsc::channel(256);
    let definition = compiled.definition.clone();
    let mut progress = Progress::new(mode, &definition);
    let started = Instant::now();
    let solving = solve::run(
        daemon.channel.clone(),
        Solve {
            session_id,
            definition,
            offer,
            name: file.name().to_owned(),
        },
        tx,
    );
    tokio::pin!(solving);
    let mut stderr = std::io::stderr();
    let outcome = loop {
        tokio::select! {
            result = &mut solving => break Ok(result),
            Some(update) = rx.recv() => {
                let _ = progress.update(&update, &mut stderr);
            }
            code = interrupts.next() => break Err(code),
        }
    };
    while let Ok(update) = rx.try_recv() {
        let _ = progress.update(&update, &mut stderr);
    }
    let _ = progress.finish(&mut stderr);
    let _ = stderr.flush();

    let result = match outcome {
        Err(code) => {
            eprintln!("{CANCELLED}");
            return Err(Failure::Reported(code));
        }
        Ok(result) => result,
    };
    match result {
        Err(SolveError::Build(message)) => {
            match progress.failure(&message) {
                Some(failure) => eprintln!("error: {failure}"),
                None => eprintln!("error: {message}"),
            }
            Err(Failure::Reported(1))
        }
        Err(SolveError::Transport(message)) => Err(format!(
            "lost the connection to BuildKit at {}: {message}",
            daemon.addr
        )
        .into()),
        Ok(()) => {
            let target = arch_dir.join("melange-out");
            let written = package(
                Packaging {
                    tree: partial.join("melange-out"),
                    target: target.clone(),
                    metas: compiled.build.metadata.clone(),
                    arch: options.arch.apk().to_owned(),
                    epoch: options.source_date_epoch,
                    namespace: args.namespace.clone().unwrap_or_default(),
                    key,
                    out_dir: args.out_dir.clone(),
                    generate_index: args.generate_index.unwrap_or(true),
                },
                interrupts,
            )
            .await?;
            for path in &written {
                eprintln!("wrote {}", path.display());
            }
            eprintln!(
                "done in {:.1}s: {}",
                started.elapsed().as_secs_f64(),
                target.display()
            );
            Ok(())
        }
    }
}

/// What turns an exported `melange-out/` into packages.
struct Packaging {
    /// The export, still in its partial directory.
    tree: PathBuf,
    /// Where the export goes once the packages are built.
    target: PathBuf,
    metas: Vec<PackageMeta>,
    arch: String,
    epoch: u64,
    namespace: String,
    key: Option<Key>,
    out_dir: PathBuf,
    generate_index: bool,
}

/// Builds the packages off the async threads, then moves the export into
/// the workspace and writes the packages and index. A signal while packages
/// are still being built stops them and writes nothing; once writing has
/// begun it finishes, so the output directory is never left half updated.
async fn package(job: Packaging, interrupts: &mut Interrupts) -> Result<Vec<PathBuf>, Failure> {
    let stop = Arc::new(AtomicBool::new(false));
    let stopping = stop.clone();
    // Ok(None): stopped before anything was written.
    let mut task = tokio::task::spawn_blocking(move || -> Result<Option<Vec<PathBuf>>, Failure> {
        let opts = melangec::apk::package::Options {
            arch: &job.arch,
            epoch: job.epoch,
            namespace: &job.namespace,
            key: job.key.as_ref(),
        };
        if !job.tree.is_dir() {
            std::fs::create_dir_all(&job.tree)
                .map_err(|e| format!("cannot write {}: {e}", job.tree.display()))?;
        }
        let built = match melangec::apk::repository::build_packages(
            &job.tree, &job.metas, &opts, &stopping,
        ) {
            Err(melangec::apk::Error::Stopped) => return Ok(None),
            built => built.map_err(|e| e.to_string())?,
        };
        replace_dir(&job.tree, &job.target)?;
        melangec::apk::repository::write_packages(&built, &opts, &job.out_dir, job.generate_index)
            .map(Some)
            .map_err(|e| e.to_string().into())
    });
    let mut signalled = None;
    let finished = tokio::select! {
        finished = &mut task => finished,
        code = interrupts.next() => {
            stop.store(true, Ordering::SeqCst);
            signalled = Some(code);
            task.await
        }
    };
    let result = finished.map_err(|e| format!("packaging failed: {e}"))?;
    match (result?, signalled) {
        (Some(written), _) => Ok(written),
        (None, Some(code)) => {
            eprintln!("{CANCELLED}");
            Err(Failure::Reported(code))
        }
        (None, None) => Err(melangec::apk::Error::Stopped.to_string().into()),
    }
}

fn absolute(p: &Path) -> Result<PathBuf, Failure> {
    std::fs::canonicalize(p)
        .map_err(|e| Failure::Message(format!("cannot use {}: {e}", p.display())))
}

/// Puts `new` where `target` is, replacing it; the old tree is removed only
/// once the new one is in place.
fn replace_dir(new: &Path, target: &Path) -> Result<(), Failure> {
    let fail =
        |e: std::io::Error| Failure::Message(format!("cannot write {}: {e}", target.display()));
    let old = target.with_file_name(format!(".melange-out.old-{}", new_id()));
    let had_old = target.exists();
    if had_old {
        std::fs::rename(target, &old).map_err(fail)?;
    }
    if let Err(e) = std::fs::rename(new, target) {
        if had_old {
            let _ = std::fs::rename(&old, target);
        }
        return Err(fail(e));
    }
    if had_old {
        let _ = std::fs::remove_dir_all(&old);
    }
    Ok(())
}
