//! `melangec test`: melange's flags into one test job; then, for each
//! test, its steps and its verdict, a cached pass said to be one.

use std::fmt::Write as _;
use std::path::PathBuf;

use melangec::cancel::Cancel;
use melangec::environment::Extra;
use melangec::job::test::{self, Request, Tested, Verdict};
use melangec::progress::{Console, StepState};
use melangec_compiler::{compile_suite, render, test_ir};

use super::args::{daemon_candidates, ProgressArg, RecipeArgs};
use super::interrupt::Interrupts;
use super::{async_runtime, Failure};

#[derive(clap::Args)]
pub struct TestArgs {
    #[command(flatten)]
    recipe: RecipeArgs,
    /// The package the top-level test installs: NAME or NAME=VERSION-rN
    /// (default: the recipe's package).
    package: Option<String>,
    /// Public keys trusted besides each test environment's keyring (paths or URLs).
    #[arg(short = 'k', long, value_delimiter = ',', value_name = "KEY")]
    keyring_append: Vec<String>,
    /// Repositories searched after each test environment's own (directories or URLs).
    #[arg(short = 'r', long, value_delimiter = ',', value_name = "REPO")]
    repository_append: Vec<String>,
    /// Packages added to every test environment.
    #[arg(long, value_delimiter = ',', value_name = "PACKAGE")]
    test_package_append: Vec<String>,
    /// The lock test environments are pinned from when it has them
    /// (default: `<recipe>.lock.yaml` when it exists).
    #[arg(long, value_name = "FILE")]
    lock: Option<PathBuf>,
    /// BuildKit to use, as for `build`.
    #[arg(long, value_name = "ADDR")]
    buildkit_addr: Option<String>,
    /// How progress is shown.
    #[arg(long, value_enum, default_value = "auto")]
    progress: ProgressArg,
    /// Run every test step, even those whose inputs are unchanged since a
    /// passing run.
    #[arg(long)]
    no_cache: bool,
    /// Trace every command of the test scripts (`set -x`).
    #[arg(long)]
    debug: bool,
    /// Print the tests' definition, rendered, instead of running it: the
    /// environments as locals, nothing resolved and no daemon contacted.
    #[arg(long)]
    dry_run: bool,
    /// Accepted for melange compatibility; BuildKit is the only runner.
    #[arg(long, value_name = "RUNNER")]
    runner: Option<String>,
    /// Accepted for melange compatibility: nothing is written.
    #[arg(long, value_name = "DIR")]
    workspace_dir: Option<PathBuf>,
    /// Accepted for melange compatibility: /var/cache/melange is BuildKit's
    /// own cache mount.
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Accepted for melange compatibility (melange does not use it either).
    #[arg(long, value_name = "DIR")]
    cache_source: Option<PathBuf>,
    /// Accepted for melange compatibility: downloaded packages are kept in
    /// melangec's own cache.
    #[arg(long, value_name = "DIR")]
    apk_cache_dir: Option<PathBuf>,
    /// Accepted, no effect (as in melange).
    #[arg(long, value_name = "OPTION")]
    test_option: Vec<String>,
    /// Refused: signatures are always checked.
    #[arg(long)]
    ignore_signatures: bool,
    /// Not supported: a failed step's report shows its last output.
    #[arg(short, long)]
    interactive: bool,
    /// Accepted for melange compatibility.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    rm: Option<bool>,
    /// Accepted for melange compatibility.
    #[arg(long)]
    debug_runner: bool,
    /// Resource requests for melange's VM runner; not applied on BuildKit.
    #[arg(long, value_name = "N")]
    cpu: Option<String>,
    /// Resource requests for melange's VM runner; not applied on BuildKit.
    #[arg(long, value_name = "MODEL", hide = true)]
    cpumodel: Option<String>,
    /// Resource requests for melange's VM runner; not applied on BuildKit.
    #[arg(long, value_name = "SIZE", hide = true)]
    memory: Option<String>,
    /// Resource requests for melange's VM runner; not applied on BuildKit.
    #[arg(long, value_name = "SIZE", hide = true)]
    disk: Option<String>,
    /// Resource requests for melange's VM runner; not applied on BuildKit.
    #[arg(long, value_name = "DURATION", hide = true)]
    timeout: Option<String>,
}

/// What the flags that do nothing here would have done, said once each.
fn notes(args: &TestArgs, console: &Console) {
    if let Some(runner) = &args.runner {
        console.note(format_args!(
            "--runner {runner} is ignored: steps run on BuildKit"
        ));
    }
    if args.workspace_dir.is_some() {
        console.note("--workspace-dir is not used: a test writes nothing on this machine");
    }
    if args.cache_dir.is_some() {
        console.note("--cache-dir is not mounted: /var/cache/melange is BuildKit's cache mount `melange-cache`");
    }
    if args.apk_cache_dir.is_some() {
        console.note(
            "--apk-cache-dir is not used: environments are kept by content in ~/.cache/melangec",
        );
    }
    if args.interactive || args.debug_runner {
        console.note("--interactive and --debug-runner are not supported: a failed step's report shows its last output");
    }
    let resources = [
        &args.cpu,
        &args.cpumodel,
        &args.memory,
        &args.disk,
        &args.timeout,
    ];
    if resources.iter().any(|r| r.is_some()) {
        console.note("--cpu, --cpumodel, --memory, --disk and --timeout size melange's VM runner; BuildKit does not apply them");
    }
}

/// The sources, leaving out what the command line names besides them.
fn sources(args: &TestArgs) -> melangec::recipe::Sources {
    let mut sources = args.recipe.sources();
    sources.outputs = [
        &args.workspace_dir,
        &args.cache_dir,
        &args.apk_cache_dir,
        &args.lock,
    ]
    .into_iter()
    .flatten()
    .cloned()
    .collect();
    sources
}

/// `--dry-run`: the definition, rendered, with every environment a local.
fn dry_run(args: &TestArgs) -> Result<(), Failure> {
    let inputs = sources(args).read()?;
    let mut options = inputs.options;
    options.debug = args.debug;
    let with_source = args.recipe.source_dir.is_some();
    let mut suite = test_ir(
        &inputs.file,
        &options,
        &inputs.library,
        args.package.as_deref(),
        with_source,
    )
    .map_err(Failure::Diagnostics)?;
    suite.rerun = args.no_cache;
    let compiled = compile_suite(&suite, &inputs.file);
    let text = render::render(&compiled.definition)?;
    print!("{text}");
    Ok(())
}

pub fn run(args: TestArgs) -> Result<(), Failure> {
    if args.ignore_signatures {
        return Err(Failure::message(
            "--ignore-signatures is refused: every package is checked against its signed index",
        ));
    }
    if args.dry_run {
        return dry_run(&args);
    }
    let console = Console::stderr();
    notes(&args, &console);
    let request = Request {
        sources: sources(&args),
        package: args.package.clone(),
        extra: Extra {
            repositories: args.repository_append.clone(),
            keyring: args.keyring_append.clone(),
            packages: args.test_package_append.clone(),
        },
        lock: args.lock.clone(),
        daemon: daemon_candidates(args.buildkit_addr.as_deref())?,
        progress: args.progress.into(),
        rerun: args.no_cache,
        debug: args.debug,
    };
    async_runtime()?.block_on(async {
        let cancel = Cancel::new();
        let interrupts = Interrupts::listen(&cancel)?;
        match test::test(&request, &cancel, &console).await {
            Ok(tested) => {
                console.line(report(&tested));
                match tested.failed() {
                    0 => Ok(()),
                    n => Err(Failure::Message(format!(
                        "{n} of {} tests of {} failed",
                        tested.tests.len(),
                        tested.recipe
                    ))),
                }
            }
            Err(melangec::job::Error::Cancelled) => Err(interrupts.failure()),
            Err(e) => Err(e.into()),
        }
    })
}

/// Each test with its steps, then a summary line.
pub fn report(t: &Tested) -> String {
    let mut out = String::new();
    let mut cached = 0;
    for test in &t.tests {
        match &test.verdict {
            Verdict::Passed { cached: true } => {
                cached += 1;
                let _ = writeln!(
                    out,
                    "PASS {} (cached: passed before with identical inputs; --no-cache runs it again)",
                    test.package
                );
            }
            Verdict::Passed { cached: false } => {
                let _ = writeln!(out, "PASS {}", test.package);
            }
            Verdict::Failed(_) => {
                let _ = writeln!(out, "FAIL {}", test.package);
            }
        }
        for step in &test.steps {
            let state = match step.state {
                StepState::Ran(s) => format!("ok {s:.1}s"),
                StepState::Cached => "cached".to_owned(),
                StepState::Failed => "FAILED".to_owned(),
                StepState::Unseen | StepState::Stopped => "not run".to_owned(),
            };
            let at = step
                .location
                .as_ref()
                .map(|(f, l)| format!(" ({f}:{l})"))
                .unwrap_or_default();
            let _ = writeln!(out, "  {state:>9}  {}{at}", step.label);
        }
        if let Verdict::Failed(failure) = &test.verdict {
            for line in failure.to_string().lines() {
                let _ = writeln!(out, "  {line}");
            }
        }
    }
    let failed = t.failed();
    let passed = t.tests.len() - failed;
    let _ = write!(
        out,
        "{passed} passed ({cached} cached), {failed} failed: {} tests of {} for {} in {:.1}s",
        t.tests.len(),
        t.recipe,
        t.arch.apk(),
        t.elapsed.as_secs_f64()
    );
    out
}
