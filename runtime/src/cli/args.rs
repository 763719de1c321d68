//! The flag groups several subcommands share, as melange spells them.

use std::path::PathBuf;

use melangec::buildkit::addr::{self, Addr};
use melangec::buildkit::daemon::Candidates;
use melangec::environment::Extra;
use melangec::progress::Mode;
use melangec::recipe::Sources;
use melangec_compiler::Arch;

/// `--arch`: an architecture, in APK or OCI spelling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ArchArg {
    #[value(name = "x86_64", alias = "amd64")]
    X86_64,
    #[value(name = "aarch64", alias = "arm64")]
    Aarch64,
}

impl From<ArchArg> for Arch {
    fn from(a: ArchArg) -> Arch {
        match a {
            ArchArg::X86_64 => Arch::X86_64,
            ArchArg::Aarch64 => Arch::Aarch64,
        }
    }
}

/// `--progress`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ProgressArg {
    /// tty on a terminal, plain otherwise.
    Auto,
    /// A live view: one line per running step.
    Tty,
    /// Every step and output line, as `buildctl --progress=plain`.
    Plain,
    /// BuildKit's status updates, one JSON object per line.
    Json,
}

impl From<ProgressArg> for Mode {
    fn from(p: ProgressArg) -> Mode {
        match p {
            ProgressArg::Auto => Mode::Auto,
            ProgressArg::Tty => Mode::Tty,
            ProgressArg::Plain => Mode::Plain,
            ProgressArg::Json => Mode::Json,
        }
    }
}

/// The recipe and what its compile reads.
#[derive(clap::Args, Clone, Debug)]
pub struct RecipeArgs {
    /// The recipe.
    pub recipe: PathBuf,
    /// Target architecture.
    #[arg(long, value_enum, default_value = "x86_64")]
    pub arch: ArchArg,
    /// First directory searched for `uses:` pipelines.
    #[arg(long, value_name = "DIR")]
    pub pipeline_dir: Option<PathBuf>,
    /// Further directories searched for `uses:` pipelines, in order.
    #[arg(long, value_delimiter = ',', value_name = "DIR,...")]
    pub pipeline_dirs: Vec<PathBuf>,
    /// Directory whose files populate /home/build (default: the recipe's directory).
    #[arg(long, value_name = "DIR")]
    pub source_dir: Option<PathBuf>,
    /// dotenv files merged into the build environment (earlier files win).
    #[arg(long, value_delimiter = ',', value_name = "FILE")]
    pub env_file: Vec<PathBuf>,
    /// YAML map merged over the recipe's `vars`.
    #[arg(long, value_name = "FILE")]
    pub vars_file: Option<PathBuf>,
    /// Enable a named build option of the recipe.
    #[arg(long, value_delimiter = ',', value_name = "NAME")]
    pub build_option: Vec<String>,
    /// libc flavour for ${{host.triplet.*}}.
    #[arg(
        long = "override-host-triplet-libc-substitution-flavor",
        default_value = "gnu",
        value_name = "FLAVOR"
    )]
    pub libc_flavor: String,
}

impl RecipeArgs {
    pub fn sources(&self) -> Sources {
        let mut pipeline_dirs: Vec<PathBuf> = self.pipeline_dir.iter().cloned().collect();
        pipeline_dirs.extend(self.pipeline_dirs.iter().cloned());
        Sources {
            recipe: self.recipe.clone(),
            arch: self.arch.into(),
            pipeline_dirs,
            source_dir: self.source_dir.clone(),
            env_files: self.env_file.clone(),
            vars_file: self.vars_file.clone(),
            build_options: self.build_option.clone(),
            libc_flavor: self.libc_flavor.clone(),
            outputs: Vec::new(),
        }
    }
}

/// Repositories, keys and packages besides the recipe's (melange's flags).
#[derive(clap::Args, Clone, Debug, Default)]
pub struct RepositoryArgs {
    /// Public keys trusted besides the recipe's keyring (paths or URLs).
    #[arg(long, value_delimiter = ',', value_name = "KEY")]
    pub keyring_append: Vec<String>,
    /// Repositories searched after the recipe's (directories or URLs).
    #[arg(long, value_delimiter = ',', value_name = "REPO")]
    pub repository_append: Vec<String>,
    /// Packages added to the environment.
    #[arg(long, value_delimiter = ',', value_name = "PACKAGE")]
    pub package_append: Vec<String>,
}

impl RepositoryArgs {
    pub fn extra(&self) -> Extra {
        Extra {
            repositories: self.repository_append.clone(),
            keyring: self.keyring_append.clone(),
            packages: self.package_append.clone(),
        }
    }
}

/// The environment flags of `build` and `compile`.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct EnvironmentArgs {
    #[command(flatten)]
    pub repos: RepositoryArgs,
    /// The lock to use (default: `<recipe>.lock.yaml` when it exists).
    #[arg(long, value_name = "FILE")]
    pub lock: Option<PathBuf>,
}

/// The daemons `--buildkit-addr` names, else the usual places
/// (`$BUILDKIT_HOST`, buildkitd's socket, Docker's).
pub fn daemon_candidates(given: Option<&str>) -> Result<Candidates, addr::AddrError> {
    Ok(match given {
        Some(a) => Candidates {
            addrs: vec![Addr::parse(a)?],
            explicit: true,
        },
        None => Candidates {
            addrs: addr::candidates(
                std::env::var("BUILDKIT_HOST").ok().as_deref(),
                std::env::var("DOCKER_HOST").ok().as_deref(),
            )?,
            explicit: false,
        },
    })
}
