//! Where a build environment comes from, for `build` and `compile`: the
//! recipe's repositories, keyring and packages plus the `--*-append` flags,
//! and the lock beside the recipe. With a lock whose packages BuildKit can
//! fetch, the definition installs them itself; otherwise `build` assembles
//! the root filesystem here and serves it.

use std::path::{Path, PathBuf};

use melangec::atomic::write as write_atomic;
use melangec::repo::lock::{self, ArchLock, LockError, Locked, Request};
use melangec::repo::resolve::Unresolved;
use melangec::repo::{cache, constraint, pinned, rootfs};
use melangec_compiler::ir::Build;
use melangec_compiler::{Code, Diagnostic, Diagnostics, PinnedEnvironment, SourceFile};
use sha2::Digest;

use crate::Failure;

#[derive(clap::Args, Clone, Debug, Default)]
pub struct EnvironmentArgs {
    #[command(flatten)]
    pub repos: RepositoryArgs,
    /// The lock to use and refresh (default: `<recipe>.lock.yaml` when it
    /// exists).
    #[arg(long)]
    pub lock: Option<PathBuf>,
}

/// Repositories, keys and packages besides the recipe's (melange's flags).
#[derive(clap::Args, Clone, Debug, Default)]
pub struct RepositoryArgs {
    /// Public keys trusted besides the recipe's keyring (paths or URLs).
    #[arg(long, value_delimiter = ',')]
    pub keyring_append: Vec<String>,
    /// Repositories searched after the recipe's.
    #[arg(long, value_delimiter = ',')]
    pub repository_append: Vec<String>,
    /// Packages added to the environment.
    #[arg(long, value_delimiter = ',')]
    pub package_append: Vec<String>,
}

/// What the environment asks for.
pub struct Wanted {
    pub repositories: Vec<String>,
    pub keyring: Vec<PathBuf>,
    pub packages: Vec<String>,
    /// The recipe's accounts, as `/etc/passwd` and `/etc/group` lines.
    pub passwd: Vec<String>,
    pub group: Vec<String>,
    /// `packages`, sorted, each once: what `world` records.
    pub requested: Vec<String>,
}

impl Wanted {
    pub fn setup(&self) -> rootfs::Setup<'_> {
        rootfs::Setup {
            requested: &self.requested,
            repositories: &self.repositories,
            keys: &self.keyring,
            passwd: &self.passwd,
            group: &self.group,
        }
    }
}

impl RepositoryArgs {
    /// The request; keys given by URL are downloaded into the cache.
    pub async fn wanted(&self, build: &Build) -> Result<Wanted, Failure> {
        let mut repositories = build.repositories.clone();
        repositories.extend(self.repository_append.iter().cloned());
        let mut keyring = Vec::new();
        for k in build.keyring.iter().chain(&self.keyring_append) {
            keyring.push(key_file(k).await?);
        }
        let mut packages = build.environment_packages.clone();
        packages.extend(self.package_append.iter().cloned());
        Ok(Wanted {
            repositories,
            keyring,
            requested: lock::requested(&packages),
            packages,
            passwd: build.passwd.clone(),
            group: build.group.clone(),
        })
    }
}

impl EnvironmentArgs {
    /// The lock in use: `--lock`, else the one beside the recipe.
    pub fn lock_path(&self, recipe: &Path) -> PathBuf {
        self.lock.clone().unwrap_or_else(|| default_lock(recipe))
    }
}

/// `<recipe>.lock.yaml`, where `melangec lock` writes and the others look.
pub fn default_lock(recipe: &Path) -> PathBuf {
    recipe.with_extension("lock.yaml")
}

/// Resolves one architecture's environment; a package that cannot be
/// resolved is pointed out at its recipe line.
pub async fn resolve(
    request: &Request<'_>,
    file: &SourceFile,
    build: &Build,
) -> Result<ArchLock, Failure> {
    match lock::lock(request, &cache::root()).await {
        Ok(l) => Ok(l),
        Err(LockError::Unresolved(u)) => Err(unresolved(file, build, &u)),
        Err(e) => Err(format!(
            "cannot resolve the {} build environment of {}: {e}",
            request.arch,
            file.name()
        )
        .into()),
    }
}

/// A keyring entry as a file: a path as it is, a URL fetched once into the
/// cache under its own file name (which signatures name).
async fn key_file(entry: &str) -> Result<PathBuf, Failure> {
    if !melangec::repo::index::is_url(entry) {
        return Ok(PathBuf::from(entry));
    }
    let name = entry
        .rsplit('/')
        .next()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| format!("{entry}: no file name in the key URL"))?;
    let dir = cache::root()
        .join("keys")
        .join(&melangec::apk::hex(&sha2::Sha256::digest(entry.as_bytes()))[..16]);
    let path = dir.join(name);
    if !path.exists() {
        let bytes = melangec::repo::index::get(entry.to_owned()).await?;
        write_atomic(&path, &bytes, 0o644)?;
    }
    Ok(path)
}

/// The environment a build runs in.
pub enum Environment {
    /// Installed by the definition from pinned packages.
    Pinned(PinnedEnvironment),
    /// A root filesystem on this machine, served as the `environment` local.
    Dir(PathBuf),
}

/// The locked packages for `build`'s architecture: from the lock when it
/// covers what is asked for now, else resolved afresh (and written back
/// into the lock, if there is one, as Cargo refreshes Cargo.lock).
/// Returns them and the lock file in use, if any.
pub async fn locked(
    args: &EnvironmentArgs,
    recipe: &Path,
    file: &SourceFile,
    build: &Build,
    wanted: &Wanted,
) -> Result<(Vec<Locked>, Option<PathBuf>), Failure> {
    let arch = build.arch.apk();
    let path = args.lock_path(recipe);
    let mut locks = match std::fs::read_to_string(&path) {
        Ok(text) => Some(lock::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && args.lock.is_none() => None,
        Err(e) => return Err(format!("cannot read {}: {e}", path.display()).into()),
    };
    if let Some(found) = locks.as_ref().and_then(|ls| {
        ls.iter()
            .find(|l| l.arch == arch && l.requested == wanted.requested)
    }) {
        return Ok((found.packages.clone(), Some(path)));
    }
    if wanted.repositories.is_empty() {
        return Err("no environment: the recipe names no repositories; pass --repository-append (and --keyring-append), or --environment-dir".to_owned().into());
    }
    let request = Request {
        arch,
        repositories: &wanted.repositories,
        keyring: &wanted.keyring,
        packages: &wanted.packages,
    };
    let fresh = resolve(&request, file, build).await?;
    let packages = fresh.packages.clone();
    if let Some(ls) = locks.as_mut() {
        ls.retain(|l| l.arch != arch);
        ls.push(fresh);
        ls.sort_by(|a, b| a.arch.cmp(&b.arch));
        write_atomic(&path, lock::render(ls).as_bytes(), 0o644)?;
        eprintln!(
            "refreshed {} for {arch}: the environment asks for other packages",
            path.display()
        );
        return Ok((packages, Some(path)));
    }
    Ok((packages, None))
}

/// A resolution failure, pointed at the recipe line that asked for the
/// package (or for the package that needed it) when the recipe lists it.
pub fn unresolved(file: &SourceFile, build: &Build, u: &Unresolved) -> Failure {
    let arch = build.arch.apk();
    let name_of = |c: &str| constraint::name_of(c).to_owned();
    let asked = match &u.required_by {
        None => name_of(&u.constraint),
        // `name-version-rN`: the package name is what the recipe lists.
        Some(by) => build
            .environment_spans
            .iter()
            .map(|(n, _)| n.clone())
            .find(|n| {
                by.strip_prefix(n.as_str())
                    .and_then(|rest| rest.strip_prefix('-'))
                    .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
            })
            .unwrap_or_default(),
    };
    match build
        .environment_spans
        .iter()
        .find(|(n, _)| name_of(n) == asked)
    {
        Some((_, span)) => {
            let label = match &u.required_by {
                None => format!("{}: {}", u.constraint, u.why),
                Some(by) => format!("{by} needs {}: {}", u.constraint, u.why),
            };
            Failure::Diagnostics(Diagnostics(vec![Diagnostic::new(
                Code::Environment,
                file,
                *span,
                format!("cannot resolve the {arch} build environment"),
            )
            .with_label(label)
            .with_help("check the name and the repositories (--repository-append) and keys (--keyring-append)")]))
        }
        None => format!("cannot resolve the {arch} build environment: {u}").into(),
    }
}

/// Pins a locked environment for the definition to install.
pub async fn pin(locked: &[Locked], wanted: &Wanted) -> Result<PinnedEnvironment, Failure> {
    Ok(pinned::pin(&cache::root(), locked, &wanted.setup()).await?)
}

/// The environment for `build`: pinned when a lock is in use and every
/// package can be fetched by BuildKit, otherwise assembled here.
pub async fn prepare(
    args: &EnvironmentArgs,
    recipe: &Path,
    file: &SourceFile,
    build: &Build,
) -> Result<Environment, Failure> {
    let started = std::time::Instant::now();
    let wanted = args.repos.wanted(build).await?;
    let (locked, lock_file) = locked(args, recipe, file, build, &wanted).await?;
    if let Some(lock_file) = &lock_file {
        match pinned::fetchable(&locked) {
            Ok(()) => {
                let env = pin(&locked, &wanted).await?;
                eprintln!(
                    "environment: {} packages pinned by {} in {:.2}s",
                    locked.len(),
                    lock_file.display(),
                    started.elapsed().as_secs_f64()
                );
                return Ok(Environment::Pinned(env));
            }
            Err(e) => eprintln!("note: {e}; the environment is assembled here instead"),
        }
    }
    let dir = rootfs::assemble(&cache::root(), &locked, &wanted.setup()).await?;
    eprintln!(
        "environment: {} packages in {:.2}s ({})",
        locked.len(),
        started.elapsed().as_secs_f64(),
        dir.display()
    );
    Ok(Environment::Dir(dir))
}

#[cfg(test)]
mod tests {
    use super::*;
    use melangec_compiler::{build_ir, Arch, Options, PipelineLibrary};

    /// A package the repositories lack, needed by one the recipe lists: the
    /// diagnostic points at the recipe's line for that one.
    #[test]
    fn an_unresolved_dependency_renders_as_pinned() {
        let file = SourceFile::new(
            "unresolved.yaml",
            "package:\n  name: unresolved\n  version: 1.0.0\n\nenvironment:\n  contents:\n    packages:\n      - busybox\n      - build-base\n\npipeline:\n  - runs: make\n",
        );
        let build = build_ir(
            &file,
            &Options::new(Arch::X86_64),
            &PipelineLibrary::builtin(),
        )
        .unwrap();
        let u = Unresolved {
            constraint: "so:libfoo.so.1".into(),
            required_by: Some("build-base-1-r0".into()),
            why: "no such package".into(),
        };
        let Failure::Diagnostics(diags) = unresolved(&file, &build, &u) else {
            panic!("not a diagnostic");
        };
        let handler =
            miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
                .with_width(100);
        let mut rendered = String::new();
        handler.render_report(&mut rendered, &diags.0[0]).unwrap();
        insta::with_settings!({snapshot_path => "../../golden/errors", prepend_module_to_snapshot => false, omit_expression => true}, {
            insta::assert_snapshot!("environment", rendered);
        });
    }
}
