//! What an environment asks for: the recipe's repositories, keyring and
//! packages plus those given on the command line, and the account files
//! the compiler wrote.

use std::path::{Path, PathBuf};

use melangec_compiler::ir::Environment;

use super::database::Setup;
use super::lock::{self, Request};
use super::{fetch, keys, Error, Network};
use crate::progress::Console;

/// Repositories, keys and packages besides the recipe's (melange's
/// `--repository-append`, `--keyring-append`, `--package-append`).
#[derive(Clone, Debug, Default)]
pub struct Extra {
    pub repositories: Vec<String>,
    /// Paths or URLs.
    pub keyring: Vec<String>,
    pub packages: Vec<String>,
}

impl Extra {
    pub fn is_empty(&self) -> bool {
        self.repositories.is_empty() && self.keyring.is_empty() && self.packages.is_empty()
    }
}

pub struct Wanted {
    pub arch: &'static str,
    pub repositories: Vec<String>,
    /// Key files; those given by URL are in the cache.
    pub keyring: Vec<PathBuf>,
    pub packages: Vec<String>,
    /// `packages`, sorted, each once: what `world` records and locks key by.
    pub requested: Vec<String>,
    /// `/etc/passwd` and `/etc/group`, unless a package ships them.
    pub passwd: Vec<String>,
    pub group: Vec<String>,
    /// Local repositories with no index for the architecture yet (Wolfi's
    /// `./packages` before the first build): searched as empty ones, as
    /// melange does, and said so.
    pub absent: Vec<String>,
}

impl Wanted {
    /// The request of `env` with `extra`; keys given by URL are fetched
    /// into `cache` (or must be there already, offline).
    pub async fn new(
        env: &Environment,
        extra: &Extra,
        cache: &Path,
        network: Network,
    ) -> Result<Wanted, Error> {
        let arch = env.arch.apk();
        let (repositories, absent) = env
            .repositories
            .iter()
            .chain(&extra.repositories)
            .cloned()
            .partition(|r| !is_absent(r, arch));
        let mut keyring = Vec::new();
        for k in env.keyring.iter().chain(&extra.keyring) {
            keyring.push(keys::key_file(cache, k, network).await?);
        }
        let mut packages = env.packages.clone();
        packages.extend(extra.packages.iter().cloned());
        Ok(Wanted {
            arch,
            repositories,
            keyring,
            requested: lock::requested(&packages),
            packages,
            passwd: env.passwd.clone(),
            group: env.group.clone(),
            absent,
        })
    }

    /// One line per absent local repository.
    pub fn note_absent(&self, console: &Console) {
        for r in &self.absent {
            console.note(format_args!(
                "repository {r} has no {}/APKINDEX.tar.gz yet: searched as an empty one",
                self.arch
            ));
        }
    }

    pub fn request(&self) -> Request<'_> {
        Request {
            arch: self.arch,
            repositories: &self.repositories,
            keyring: &self.keyring,
            packages: &self.packages,
        }
    }

    pub fn setup(&self) -> Setup<'_> {
        Setup {
            requested: &self.requested,
            repositories: &self.repositories,
            keys: &self.keyring,
            passwd: &self.passwd,
            group: &self.group,
        }
    }
}

/// A local repository without an index for `arch`.
fn is_absent(repository: &str, arch: &str) -> bool {
    if fetch::is_url(repository) {
        return false;
    }
    let dir = repository.strip_prefix("file://").unwrap_or(repository);
    !Path::new(dir).join(arch).join("APKINDEX.tar.gz").exists()
}
