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

#[derive(Clone, Debug, PartialEq)]
pub struct Build {
    pub arch: Arch,
    pub package: String,
    pub version: String,
    pub epoch: u64,
    /// Requested build environment: `environment.contents.packages` and the
    /// needs of every step that runs, sorted, each once.
    pub environment_packages: Vec<String>,
    /// Where the recipe lists each of its own environment packages, for
    /// diagnostics about them.
    pub environment_spans: Vec<(String, Span)>,
    pub repositories: Vec<String>,
    pub keyring: Vec<String>,
    /// `uid:gid` to run steps as; empty is root.
    pub user: String,
    /// `/etc/passwd` and `/etc/group` of the environment, line by line:
    /// root, then `environment.accounts` (melange's `build` account among
    /// them), as apko writes them; used unless a package ships its own.
    pub passwd: Vec<String>,
    pub group: Vec<String>,
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
    /// One per package, in the order of `packages`.
    pub metadata: Vec<PackageMeta>,
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
