//! The Build IR: what the recipe asks BuildKit to do, with every string final
//! (no templates, no conditions left) and every environment sorted. The
//! passes produce it (through the intermediate steps in `steps`), `valid`
//! checks it, and the back end lowers it.

pub mod steps;
pub mod valid;

pub use steps::{Call, Expanded, ExpandedStep, Folded, Resolved, ResolvedStep};

use crate::options::{Arch, PinnedEnvironment};
use crate::source::Span;

/// Where things are inside the build container, as melange lays it out.
pub mod guest {
    /// The workspace: the source directory, the working directory of steps.
    pub const WORKSPACE: &str = "/home/build";
    /// Where each package's files are made: `<OUTDIR>/<package>`.
    pub const OUTDIR: &str = "/home/build/melange-out";
    /// `OUTDIR`'s name in the workspace, and in the export.
    pub const OUT: &str = "melange-out";
    /// The cache mount shared by every build on a daemon.
    pub const CACHE: &str = "/var/cache/melange";
    /// PATH every step gets, replacing any PATH from the recipe environment.
    pub const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/bin:/usr/sbin:/sbin:/bin";
    /// Name of the `local` source holding the build environment rootfs.
    pub const ENVIRONMENT_LOCAL: &str = "environment";
    /// Name of the `local` source holding the recipe's source directory.
    pub const SOURCE_LOCAL: &str = "source";
}

/// Something BuildKit fetches itself for a step, instead of the step's own
/// download.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NativeSource {
    /// A file downloaded and verified by the daemon, placed in the workspace
    /// as `<dir>/<filename>` (`dir` relative to `/home/build`) before the step.
    Http {
        url: String,
        checksum: String,
        filename: String,
        dir: String,
    },
    /// A checkout with its `.git`, mounted read-only at [`GIT_SOURCE_DIR`]
    /// for the step, which finds it through `MELANGEC_GIT_SOURCE`.
    Git { remote: String, reference: String },
}

/// Where a native git checkout is mounted.
pub const GIT_SOURCE_DIR: &str = "/var/lib/melangec/git-source";
/// The variable naming [`GIT_SOURCE_DIR`] to the step.
pub const GIT_SOURCE_ENV: &str = "MELANGEC_GIT_SOURCE";

/// One shell process melange would start.
#[derive(Clone, Debug, PartialEq)]
pub struct ExecStep {
    /// Human label (recipe step name, `uses:` path, or first script line).
    pub label: String,
    /// The fragment, placeholders filled in.
    pub script: String,
    /// Absolute working directory.
    pub workdir: String,
    /// Final environment, sorted by name.
    pub env: Vec<(String, String)>,
    /// The recipe step it came from.
    pub origin: Span,
    /// What the daemon fetches for this step.
    pub native: Option<NativeSource>,
}

/// The steps of one package (main or subpackage) in run order.
#[derive(Clone, Debug, PartialEq)]
pub struct PackageSteps {
    pub name: String,
    pub steps: Vec<ExecStep>,
}

/// An environment steps run in, as asked for: what apk resolves from the
/// repositories, and the account files written over it. A build has one;
/// each test has its own.
#[derive(Clone, Debug, PartialEq)]
pub struct Environment {
    pub arch: Arch,
    /// What it is for, in messages: `build`, or `<package> test`.
    pub purpose: String,
    /// `contents.packages` and the needs of every step that runs (and, for
    /// a test, the package under test), sorted, each once.
    pub packages: Vec<String>,
    /// Where the recipe asks for each of these packages, for diagnostics
    /// about them.
    pub spans: Vec<(String, Span)>,
    pub repositories: Vec<String>,
    pub keyring: Vec<String>,
    /// `/etc/passwd` and `/etc/group`, line by line: root, then the
    /// accounts (for a build, melange's `build` account among them), as
    /// apko writes them; used unless a package ships its own.
    pub passwd: Vec<String>,
    pub group: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Build {
    pub arch: Arch,
    pub package: String,
    pub version: String,
    pub epoch: u64,
    pub environment: Environment,
    /// `uid:gid` to run steps as; empty is root.
    pub user: String,
    /// Main package first, then every subpackage whose `if` holds.
    pub packages: Vec<PackageSteps>,
    pub source_excludes: Vec<String>,
    pub source_date_epoch: u64,
    /// Session named by the local sources (builds only).
    pub local_session: Option<String>,
    /// Pinned packages in place of the `environment` local.
    pub pinned_environment: Option<PinnedEnvironment>,
    /// Whether the daemon merges layers (MergeOp); otherwise a pinned
    /// environment is installed by a chain of copies.
    pub merge: bool,
    /// Scripts trace their commands (`set -x`, melange's `--debug`).
    pub debug: bool,
    /// One per package, in the order of `packages`.
    pub metadata: Vec<PackageMeta>,
}

/// The tests of a recipe (`melangec test`): each `test:` section that has
/// steps to run, in recipe order, the package's own first.
#[derive(Clone, Debug, PartialEq)]
pub struct Suite {
    pub arch: Arch,
    /// The recipe's package.
    pub package: String,
    pub tests: Vec<Test>,
    /// Whether `/home/build` starts as the source directory (melange copies
    /// it only when `--source-dir` is given); else it starts empty.
    pub with_source: bool,
    pub source_excludes: Vec<String>,
    /// Timestamps of the files a pinned environment writes, as a build's.
    pub source_date_epoch: u64,
    /// As in [`Build::local_session`].
    pub local_session: Option<String>,
    /// As in [`Build::merge`].
    pub merge: bool,
    /// Scripts trace their commands (`set -x`).
    pub debug: bool,
    /// Every step runs, whatever the daemon has cached (`--no-cache`).
    pub rerun: bool,
}

/// One `test:` section: its steps, in a fresh environment holding the
/// package under test.
#[derive(Clone, Debug, PartialEq)]
pub struct Test {
    /// Its place among the recipe's tests: names its environment local, so
    /// that a suite of some of the tests names each as the whole one does.
    pub id: usize,
    /// The package under test: the recipe's package (or the one named on
    /// the command line) for the top-level section, else the subpackage.
    pub package: String,
    /// The `test:` key.
    pub span: Span,
    pub environment: Environment,
    /// `uid:gid` to run steps as; empty is root.
    pub user: String,
    pub steps: Vec<ExecStep>,
    /// Pinned packages in place of this test's environment local.
    pub pinned_environment: Option<PinnedEnvironment>,
}

/// What packaging needs to know about one package the build produces:
/// `.PKGINFO` fields, declared dependencies, options and scriptlets, with
/// parse-time substitution already applied.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PackageMeta {
    pub name: String,
    /// `<version>-r<epoch>`.
    pub version: String,
    pub origin: String,
    pub description: String,
    pub url: String,
    pub commit: String,
    /// The copyright licenses joined with ` AND `.
    pub license: String,
    pub depends: Vec<String>,
    pub provides: Vec<String>,
    pub replaces: Vec<String>,
    pub provider_priority: String,
    pub replaces_priority: String,
    pub no_provides: bool,
    pub no_depends: bool,
    pub no_commands: bool,
    /// Control file name (`.post-install`, …) and script, in a fixed order.
    pub scripts: Vec<(String, String)>,
    pub triggers: Vec<String>,
}
