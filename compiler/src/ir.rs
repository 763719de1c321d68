//! The Build IR: what the recipe asks BuildKit to do, with every string final
//! (no templates, no conditions left) and every environment sorted.

use crate::options::Arch;
use crate::yaml::Span;

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
    /// Requested build environment: `environment.contents.packages` then the
    /// needs of every step that runs, in that order.
    pub environment_packages: Vec<String>,
    pub repositories: Vec<String>,
    pub keyring: Vec<String>,
    /// `user[:group]` to run steps as; empty is root.
    pub user: String,
    /// Main package first, then every subpackage whose `if` holds.
    pub packages: Vec<PackageSteps>,
    pub source_excludes: Vec<String>,
    pub source_date_epoch: u64,
}
