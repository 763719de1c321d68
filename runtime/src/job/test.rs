//! The tests of one recipe, as a library call: its `test:` sections
//! compiled to one graph, each test over an environment of its own (pinned
//! by the lock where it has one, else assembled here), all solved at once.
//! When a test fails, the daemon stops the solve; the failed test is taken
//! out and the others solved again (what already passed comes back from
//! the cache), so every test gets a verdict and a failure is never cached.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use melangec_compiler::back::suite::environment_name;
use melangec_compiler::ir::guest::SOURCE_LOCAL;
use melangec_compiler::ir::Suite;
use melangec_compiler::{compile_suite, test_ir, Arch};

use super::{absolute, solve_shown, unless, Error};
use crate::buildkit::daemon::{self, Candidates};
use crate::buildkit::session::Offer;
use crate::buildkit::solve::{new_id, Solve};
use crate::cancel::Cancel;
use crate::environment::{self, lockfile::LockFile, Environment, Extra, Refresh};
use crate::progress::{Console, Failure, Mode, Progress, StepState};
use crate::recipe::Sources;

/// Everything one run of a recipe's tests needs.
#[derive(Clone, Debug)]
pub struct Request {
    pub sources: Sources,
    /// What the top-level test installs: `name` or `name=version-rN`
    /// (default: the recipe's package).
    pub package: Option<String>,
    /// Repositories and keys besides each test's own, and packages added to
    /// every test environment (`--test-package-append`).
    pub extra: Extra,
    /// The lock to pin test environments from (default: the recipe's).
    pub lock: Option<PathBuf>,
    pub daemon: Candidates,
    pub progress: Mode,
    /// Run every step, whatever the daemon has cached.
    pub rerun: bool,
    /// Trace every command (`set -x`).
    pub debug: bool,
}

/// How one step of a test fared.
#[derive(Clone, Debug)]
pub struct StepReport {
    pub label: String,
    pub location: Option<(String, u32)>,
    pub state: StepState,
}

#[derive(Clone, Debug)]
pub enum Verdict {
    /// Every step succeeded; `cached` when none had to run, its result
    /// coming from an earlier run with the same inputs.
    Passed {
        cached: bool,
    },
    Failed(Box<Failure>),
}

/// One test's result.
#[derive(Clone, Debug)]
pub struct TestReport {
    /// The package under test.
    pub package: String,
    pub steps: Vec<StepReport>,
    pub verdict: Verdict,
}

/// What a run found.
#[derive(Clone, Debug)]
pub struct Tested {
    pub arch: Arch,
    pub recipe: String,
    pub tests: Vec<TestReport>,
    pub elapsed: Duration,
}

impl Tested {
    pub fn failed(&self) -> usize {
        self.tests
            .iter()
            .filter(|t| matches!(t.verdict, Verdict::Failed(_)))
            .count()
    }
}

/// Runs the recipe's tests. Nothing is written.
pub async fn test(req: &Request, cancel: &Cancel, console: &Console) -> Result<Tested, Error> {
    let inputs = req.sources.read()?;
    let (file, mut options, library) = (inputs.file, inputs.options, inputs.library);
    options.debug = req.debug;
    // melange copies the source directory in only when it is given.
    let with_source = req.sources.source_dir.is_some();
    // A recipe error is reported before any daemon is contacted.
    let mut suite = test_ir(
        &file,
        &options,
        &library,
        req.package.as_deref(),
        with_source,
    )
    .map_err(Error::Recipe)?;

    let daemon = unless(cancel, daemon::connect(&req.daemon)).await??;
    // What the daemon and the session decide, set on the planned suite.
    let session_id = new_id();
    suite.local_session = Some(session_id.clone());
    suite.merge = daemon.caps.contains("mergeop");
    suite.rerun = req.rerun;
    if suite.tests.is_empty() {
        console.line(format_args!("{} has no tests to run", file.name()));
        return Ok(Tested {
            arch: options.arch,
            recipe: file.name().to_owned(),
            tests: Vec::new(),
            elapsed: Duration::ZERO,
        });
    }

    let mut offer = Offer::default();
    if with_source {
        offer
            .dirs
            .insert(SOURCE_LOCAL.to_owned(), absolute(&inputs.source_dir)?);
    }
    let lock = LockFile::new(&inputs.recipe, req.lock.as_deref());
    let mut merge_checked = false;
    for test in suite.tests.iter_mut() {
        let preparing = environment::prepare(
            &lock,
            &req.extra,
            &file,
            &test.environment,
            Refresh::No,
            console,
        );
        match unless(cancel, preparing).await?? {
            Environment::Dir(dir) => {
                offer
                    .dirs
                    .insert(environment_name(test.id), absolute(&dir)?);
            }
            Environment::Pinned(pinned) => {
                if suite.merge && !merge_checked {
                    merge_checked = true;
                    suite.merge =
                        unless(cancel, daemon::merges(&daemon.channel, options.arch)).await?;
                }
                test.pinned_environment = Some(pinned);
            }
        }
    }
    console.line(format_args!(
        "testing {} for {} on {} (BuildKit {}): {}",
        file.name(),
        options.arch.apk(),
        daemon.addr,
        daemon.version.as_deref().unwrap_or("v0.8, Docker 20.10"),
        suite
            .tests
            .iter()
            .map(|t| t.package.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ));

    let started = Instant::now();
    let compiled = compile_suite(&suite, &file);
    let mut progress = Progress::new(req.progress, &compiled.definition);
    // Tests still to settle, by index into the suite.
    let mut pending: Vec<usize> = (0..suite.tests.len()).collect();
    let mut failures: Vec<Option<Failure>> = vec![None; suite.tests.len()];
    let outcome = loop {
        // The first solve is of every test; later ones of those left.
        let definition = if pending.len() == suite.tests.len() {
            compiled.definition.clone()
        } else {
            let remaining = Suite {
                tests: pending.iter().map(|i| suite.tests[*i].clone()).collect(),
                ..suite.clone()
            };
            compile_suite(&remaining, &file).definition
        };
        let solve = Solve {
            session_id: session_id.clone(),
            definition,
            offer: Offer {
                dirs: offer.dirs.clone(),
                export_to: None,
            },
            name: file.name().to_owned(),
        };
        match solve_shown(&daemon, solve, &mut progress, cancel, console).await {
            Ok(()) => break Ok(()),
            Err(Error::Step(failure)) => {
                // Every pending test that ran the failed op fails with it.
                let failed: Vec<usize> = pending
                    .iter()
                    .copied()
                    .filter(|i| compiled.steps[*i].contains(&failure.vertex))
                    .collect();
                if failed.is_empty() {
                    break Err(Error::Step(failure));
                }
                for i in &failed {
                    failures[*i] = Some((*failure).clone());
                }
                pending.retain(|i| !failed.contains(i));
                if pending.is_empty() {
                    break Ok(());
                }
            }
            Err(e) => break Err(e),
        }
    };
    let _ = progress.finish(&mut console.writer());
    outcome?;

    let tests = suite
        .tests
        .iter()
        .zip(&compiled.steps)
        .zip(failures)
        .map(|((test, digests), failure)| {
            let steps: Vec<StepReport> = test
                .steps
                .iter()
                .zip(digests)
                .map(|(step, digest)| StepReport {
                    label: step.label.clone(),
                    location: progress.location(digest),
                    state: progress.step(digest),
                })
                .collect();
            let verdict = match failure {
                Some(f) => Verdict::Failed(Box::new(f)),
                None => Verdict::Passed {
                    cached: !steps.iter().any(|s| matches!(s.state, StepState::Ran(_))),
                },
            };
            TestReport {
                package: test.package.clone(),
                steps,
                verdict,
            }
        })
        .collect();
    Ok(Tested {
        arch: options.arch,
        recipe: file.name().to_owned(),
        tests,
        elapsed: started.elapsed(),
    })
}
