//! One build, as a library call: the recipe read and compiled, a daemon
//! found, the environment prepared, the definition solved with progress
//! shown, the export received, and the packages and index written.
//! `melangec build` is a thin command around `build`; tests of the
//! recipe's `test:` sections and builds of many recipes call it too.

mod package;
pub mod test;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use melangec_compiler::ir::guest::{ENVIRONMENT_LOCAL, OUT, SOURCE_LOCAL};
use melangec_compiler::{build_ir, compile, Arch, Diagnostics};
use tokio::sync::mpsc;

use crate::buildkit::daemon::{self, Candidates, ConnectError, Daemon};
use crate::buildkit::session::Offer;
use crate::buildkit::solve::{self, new_id, Solve, SolveError};
use crate::cancel::Cancel;
use crate::environment::{self, lockfile::LockFile, Environment, Extra, Refresh};
use crate::file_error::WriteError;
use crate::progress::Console;
use crate::progress::{Failure, Mode, Progress};
use crate::recipe::{InputError, Sources};
use crate::scratch::Scratch;

/// Where the environment comes from.
#[derive(Clone, Debug)]
pub enum EnvironmentSource {
    /// A root filesystem made by hand (`--environment-dir`).
    Dir(PathBuf),
    /// The recipe's repositories and packages, with `extra`, through the
    /// lock (`lock`, else the one beside the recipe when it exists).
    Repositories { extra: Extra, lock: Option<PathBuf> },
}

/// Where the packages go and how they are signed.
#[derive(Clone, Debug)]
pub struct Packaging {
    /// Packages land in `<out_dir>/<arch>/`.
    pub out_dir: PathBuf,
    pub signing_key: Option<PathBuf>,
    /// Written as each package's maintainer.
    pub namespace: String,
    /// Update `<out_dir>/<arch>/APKINDEX.tar.gz`.
    pub generate_index: bool,
}

/// Everything one build needs.
#[derive(Clone, Debug)]
pub struct Request {
    pub sources: Sources,
    pub environment: EnvironmentSource,
    pub daemon: Candidates,
    /// `melange-out/` lands in `<workspace_dir>/<arch>/`.
    pub workspace_dir: PathBuf,
    pub packaging: Packaging,
    pub progress: Mode,
    /// Trace every command of the scripts (`set -x`).
    pub debug: bool,
}

/// What a build made.
#[derive(Clone, Debug)]
pub struct Built {
    pub arch: Arch,
    /// The exported tree, one directory per package.
    pub melange_out: PathBuf,
    /// Every package and index written, in order.
    pub written: Vec<PathBuf>,
    pub elapsed: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Input(#[from] InputError),
    /// The recipe does not compile.
    #[error("{}", .0.first_line())]
    Recipe(Diagnostics),
    #[error(transparent)]
    Daemon(#[from] ConnectError),
    #[error(transparent)]
    Environment(#[from] environment::Error),
    #[error("the environment directory {} does not exist", .0.display())]
    NoEnvironmentDir(PathBuf),
    /// A step failed; the report says which, where, and its last output.
    #[error("{0}")]
    Step(Box<Failure>),
    /// The daemon refused the build without a failed step to show.
    #[error("{0}")]
    Solve(String),
    #[error("lost the connection to BuildKit at {addr}: {message}")]
    Lost { addr: String, message: String },
    #[error(transparent)]
    Apk(#[from] crate::apk::Error),
    /// The packaging thread died.
    #[error("packaging failed: {0}")]
    Packaging(String),
    #[error("cannot use {}: {source}", path.display())]
    Path {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Write(#[from] WriteError),
    /// Cancelled before anything was written.
    #[error("the build was cancelled and nothing was written")]
    Cancelled,
}

impl Error {
    /// Diagnostics to show as they are, quoting their lines.
    pub fn diagnostics(&self) -> Option<&Diagnostics> {
        match self {
            Error::Recipe(d) => Some(d),
            Error::Environment(e) => e.diagnostics(),
            _ => None,
        }
    }
}

/// Runs `work` unless `cancel` comes first.
async fn unless<T>(
    cancel: &Cancel,
    work: impl std::future::Future<Output = T>,
) -> Result<T, Error> {
    cancel.race(work).await.ok_or(Error::Cancelled)
}

fn absolute(p: &Path) -> Result<PathBuf, Error> {
    std::fs::canonicalize(p).map_err(|source| Error::Path {
        path: p.to_path_buf(),
        source,
    })
}

/// Solves on `daemon` with the updates shown by `progress` (finished by
/// the caller); a failed step comes back as its report.
async fn solve_shown(
    daemon: &Daemon,
    solve: Solve,
    progress: &mut Progress,
    cancel: &Cancel,
    console: &Console,
) -> Result<(), Error> {
    progress.begin();
    let (tx, mut rx) = mpsc::channel(256);
    let solving = solve::run(daemon.channel.clone(), solve, tx, cancel);
    tokio::pin!(solving);
    let mut out = console.writer();
    let outcome = loop {
        tokio::select! {
            result = &mut solving => break result,
            Some(update) = rx.recv() => {
                // Once cancelled, the daemon's account of tearing down
                // (steps ending in "context canceled") is not shown.
                if !cancel.is_cancelled() {
                    let _ = progress.update(&update, &mut out);
                }
            }
        }
    };
    while let Ok(update) = rx.try_recv() {
        if !cancel.is_cancelled() {
            let _ = progress.update(&update, &mut out);
        }
    }
    match outcome {
        Err(SolveError::Cancelled) => Err(Error::Cancelled),
        Err(SolveError::Build(message)) => Err(match progress.failure(&message) {
            Some(failure) => Error::Step(Box::new(failure)),
            None => Error::Solve(message),
        }),
        Err(SolveError::Transport(message)) => Err(Error::Lost {
            addr: daemon.addr.to_string(),
            message,
        }),
        Ok(()) => Ok(()),
    }
}

/// Builds one recipe. Nothing is written unless every step succeeded.
pub async fn build(req: &Request, cancel: &Cancel, console: &Console) -> Result<Built, Error> {
    if let EnvironmentSource::Dir(dir) = &req.environment {
        if !dir.is_dir() {
            return Err(Error::NoEnvironmentDir(dir.clone()));
        }
    }
    let inputs = req.sources.read()?;
    let (file, mut options, library) = (inputs.file, inputs.options, inputs.library);
    options.debug = req.debug;
    // The key is read before the build, so a bad key fails fast; it stays
    // on this machine.
    let key = req
        .packaging
        .signing_key
        .as_deref()
        .map(crate::apk::key::Key::load)
        .transpose()?;
    // A recipe error is reported before any daemon is contacted; the IR
    // is what the environment needs, lowering waits for the daemon's caps.
    let ir = build_ir(&file, &options, &library).map_err(Error::Recipe)?;

    let daemon = unless(cancel, daemon::connect(&req.daemon)).await??;
    options.caps = daemon.caps.clone();
    let session_id = new_id();
    options.local_session = Some(session_id.clone());
    let environment = match &req.environment {
        EnvironmentSource::Dir(dir) => Environment::Dir(dir.clone()),
        EnvironmentSource::Repositories { extra, lock } => {
            let lock = LockFile::new(&inputs.recipe, lock.as_deref());
            let preparing =
                environment::prepare(&lock, extra, &file, &ir.environment, Refresh::Yes, console);
            unless(cancel, preparing).await??
        }
    };
    let environment_dir = match environment {
        Environment::Dir(dir) => Some(dir),
        Environment::Pinned(pinned) => {
            if options.caps.contains("mergeop")
                && !unless(cancel, daemon::merges(&daemon.channel, options.arch)).await?
            {
                options.caps.remove("mergeop");
            }
            options.environment = Some(pinned);
            None
        }
    };
    let compiled = compile(&file, &options, &library).map_err(Error::Recipe)?;
    console.line(format_args!(
        "building {} for {} on {} (BuildKit {})",
        file.name(),
        options.arch.apk(),
        daemon.addr,
        daemon.version.as_deref().unwrap_or("v0.8, Docker 20.10")
    ));

    let arch_dir = req.workspace_dir.join(options.arch.apk());
    std::fs::create_dir_all(&arch_dir).map_err(|source| {
        Error::Write(WriteError {
            path: arch_dir.clone(),
            source,
        })
    })?;
    let partial = arch_dir.join(format!("{}{}", crate::exclusive::PARTIAL, new_id()));
    // An interrupted or failed build leaves no partial export behind.
    let _cleanup = Scratch::new(partial.clone());
    // Claimed while this build lives, so a later build can tell it from
    // one a killed build left, and remove only those.
    let _claim = crate::exclusive::claim(&partial)?;

    let mut offer = Offer::default();
    if let Some(dir) = &environment_dir {
        offer
            .dirs
            .insert(ENVIRONMENT_LOCAL.to_owned(), absolute(dir)?);
    }
    offer
        .dirs
        .insert(SOURCE_LOCAL.to_owned(), absolute(&inputs.source_dir)?);
    offer.export_to = Some(partial.clone());

    let started = Instant::now();
    let definition = compiled.definition.clone();
    let mut progress = Progress::new(req.progress, &definition);
    let solve = Solve {
        session_id,
        definition,
        offer,
        name: file.name().to_owned(),
    };
    let solved = solve_shown(&daemon, solve, &mut progress, cancel, console).await;
    let _ = progress.finish(&mut console.writer());
    solved?;

    let melange_out = arch_dir.join(OUT);
    let written = package::package(
        package::Job {
            tree: partial.join(OUT),
            target: melange_out.clone(),
            metas: compiled.build.metadata.clone(),
            arch: options.arch.apk().to_owned(),
            epoch: options.source_date_epoch,
            namespace: req.packaging.namespace.clone(),
            key,
            out_dir: req.packaging.out_dir.clone(),
            generate_index: req.packaging.generate_index,
        },
        cancel,
        console,
    )
    .await?;
    Ok(Built {
        arch: options.arch,
        melange_out,
        written,
        elapsed: started.elapsed(),
    })
}
