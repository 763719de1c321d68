//! The Build IR: what the recipe asks BuildKit to do, with every string final
//! (no templates, no conditions left) and every environment sorted.

use crate::options::Arch;
use crate::yaml::Span;

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
    pub environment_spans: Vec<(String, crate::yaml::Span)>,
    pub repositories: Vec<String>,
    pub keyring: Vec<String>,
    /// `user[:group]` to run steps as; empty is root.
    pub user: String,
    /// `environment.accounts`: lines for `/etc/passwd` and `/etc/group`,
    /// as apko writes them.
    pub passwd: Vec<String>,
    pub group: Vec<String>,
    /// Main package first, then every subpackage whose `if` holds.
    pub packages: Vec<PackageSteps>,
    pub source_excludes: Vec<String>,
    pub source_date_epoch: u64,
    /// Session named by the local sources (builds only).
    pub local_session: Option<String>,
    /// Pinned packages in place of the `environment` local.
    pub pinned_environment: Option<crate::options::PinnedEnvironment>,
    /// Whether the daemon merges layers (MergeOp); otherwise a pinned
    /// environment is installed by a chain of copies.
    pub merge: bool,
    /// One per package, in the order of `packages`.
    pub metadata: Vec<crate::metadata::PackageMeta>,
}
