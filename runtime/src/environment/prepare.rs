//! The environment stage: for `build`, the locked packages (from the lock
//! when it still fits the recipe, else resolved, and a stale lock
//! refreshed), pinned in the definition when BuildKit can fetch them, else
//! assembled here; for `compile`, the pinned environment from the lock and
//! the package cache alone, with nothing downloaded or rewritten.

use std::path::{Path, PathBuf};
use std::time::Instant;

use melangec_compiler::ir::Environment as Asked;
use melangec_compiler::{Code, Diagnostic, Diagnostics, PinnedEnvironment, SourceFile};

use super::lock::{self, ArchLock, Locked};
use super::lockfile::LockFile;
use super::resolve::Unresolved;
use super::vouch::{vouch, Vouched};
use super::{
    cache, constraint, lockfile, pinned, rootfs, Environment, Error, Extra, Network, Wanted,
};
use crate::atomic::write as write_atomic;
use crate::progress::Console;

/// Resolves one architecture's environment; a package that cannot be
/// resolved is pointed out at its recipe line.
pub async fn resolve(
    wanted: &Wanted,
    cache: &Path,
    file: &SourceFile,
    env: &Asked,
) -> Result<ArchLock, Error> {
    match lock::lock(&wanted.request(), cache).await {
        Err(Error::Unsatisfiable { why, .. }) => Err(unresolved(file, env, why)),
        other => other,
    }
}

/// The locked packages for the environment's architecture: from the lock when it
/// covers what is asked for now, else resolved afresh and, if there is a
/// lock, written back into it, as Cargo refreshes Cargo.lock. Returns them
/// and the lock file in use, if any.
async fn locked(
    lock: &LockFile,
    cache: &Path,
    file: &SourceFile,
    env: &Asked,
    wanted: &Wanted,
    refresh: Refresh,
    console: &Console,
) -> Result<(Vec<Locked>, Option<PathBuf>), Error> {
    let arch = env.arch.apk();
    let mut locks = lock.read()?;
    if let Some(found) = locks.as_ref().and_then(|ls| matching(ls, wanted)) {
        match vouch(found, wanted, cache, Network::Allowed).await? {
            Vouched::Yes => return Ok((found.packages.clone(), Some(lock.path.clone()))),
            Vouched::No(why) => console.note(format_args!(
                "{}: {why}: the environment is resolved afresh",
                lock.path.display()
            )),
        }
    }
    if wanted.repositories.is_empty() {
        return Err(Error::NoRepositories);
    }
    let fresh = resolve(wanted, cache, file, env).await?;
    let packages = fresh.packages.clone();
    let Some(ls) = locks.as_mut().filter(|_| refresh == Refresh::Yes) else {
        return Ok((packages, None));
    };
    ls.retain(|l| l.arch != arch);
    ls.push(fresh);
    ls.sort_by(|a, b| a.arch.cmp(&b.arch));
    write_atomic(&lock.path, lockfile::render(ls).as_bytes(), 0o644)?;
    console.line(format_args!(
        "refreshed {} for {arch}: the environment asks for other packages",
        lock.path.display()
    ));
    Ok((packages, Some(lock.path.clone())))
}

/// The entry for what is asked for now, if the lock has one.
fn matching<'a>(locks: &'a [ArchLock], wanted: &Wanted) -> Option<&'a ArchLock> {
    locks
        .iter()
        .find(|l| l.arch == wanted.arch && l.requested == wanted.requested)
}

/// A resolution failure, pointed at the recipe line that asked for the
/// package (or for the package that needed it) when the recipe lists it.
pub fn unresolved(file: &SourceFile, env: &Asked, u: Unresolved) -> Error {
    let arch = env.arch.apk();
    let name_of = |c: &str| constraint::name_of(c).to_owned();
    let asked = match &u.required_by {
        None => name_of(&u.constraint),
        // `name-version-rN`: the package name is what the recipe lists.
        Some(by) => env
            .spans
            .iter()
            .map(|(n, _)| n.clone())
            .find(|n| {
                by.strip_prefix(n.as_str())
                    .and_then(|rest| rest.strip_prefix('-'))
                    .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
            })
            .unwrap_or_default(),
    };
    match env.spans.iter().find(|(n, _)| name_of(n) == asked) {
        Some((_, span)) => {
            let label = match &u.required_by {
                None => format!("{}: {}", u.constraint, u.why),
                Some(by) => format!("{by} needs {}: {}", u.constraint, u.why),
            };
            Error::Unresolved(Diagnostics(vec![Diagnostic::new(
                Code::Environment,
                file,
                *span,
                format!("cannot resolve the {arch} {} environment", env.purpose),
            )
            .with_label(label)
            .with_help("check the name and the repositories (--repository-append) and keys (--keyring-append)")]))
        }
        None => Error::Unsatisfiable {
            arch: arch.to_owned(),
            why: u,
        },
    }
}

/// Whether a lock that does not fit is rewritten (builds, as Cargo does)
/// or left alone (tests, whose environments a build's lock does not hold).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refresh {
    Yes,
    No,
}

/// The environment `env` asks for: pinned when a lock is in use and every
/// package can be fetched by BuildKit, otherwise assembled here.
pub async fn prepare(
    lock: &LockFile,
    extra: &Extra,
    file: &SourceFile,
    env: &Asked,
    refresh: Refresh,
    console: &Console,
) -> Result<Environment, Error> {
    let started = Instant::now();
    let cache = cache::root();
    let wanted = Wanted::new(env, extra, &cache, Network::Allowed).await?;
    wanted.note_absent(console);
    let (locked, lock_file) = locked(lock, &cache, file, env, &wanted, refresh, console).await?;
    if let Some(lock_file) = &lock_file {
        match pinned::fetchable(&locked) {
            Ok(()) => {
                let env = pinned::pin(&cache, &locked, &wanted.setup(), Network::Allowed).await?;
                console.line(format_args!(
                    "environment: {} packages pinned by {} in {:.2}s",
                    locked.len(),
                    lock_file.display(),
                    started.elapsed().as_secs_f64()
                ));
                return Ok(Environment::Pinned(env));
            }
            Err(e) => console.note(format_args!(
                "{e}; the environment is assembled here instead"
            )),
        }
    }
    let dir = rootfs::assemble(&cache, &locked, &wanted.setup()).await?;
    console.line(format_args!(
        "environment: {} packages in {:.2}s ({})",
        locked.len(),
        started.elapsed().as_secs_f64(),
        dir.display()
    ));
    Ok(Environment::Dir(dir))
}

/// The environment `compile` pins from a lock: the lock must fit the recipe
/// (else run `melangec lock`), and the keys and the packages' database must
/// be in the package cache, since compiling downloads nothing.
pub async fn pinned_offline(
    lock: &LockFile,
    extra: &Extra,
    env: &Asked,
) -> Result<PinnedEnvironment, Error> {
    let cache = cache::root();
    let wanted = Wanted::new(env, extra, &cache, Network::Offline).await?;
    let locks = lock.read()?.unwrap_or_default();
    let found = matching(&locks, &wanted).ok_or_else(|| Error::StaleLock {
        path: lock.path.clone(),
        arch: wanted.arch.to_owned(),
    })?;
    if let Vouched::No(reason) = vouch(found, &wanted, &cache, Network::Offline).await? {
        return Err(Error::Unvouched {
            path: lock.path.clone(),
            reason,
        });
    }
    pinned::pin(&cache, &found.packages, &wanted.setup(), Network::Offline).await
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
        let Error::Unresolved(diags) = unresolved(&file, &build.environment, u) else {
            panic!("not a diagnostic");
        };
        let handler =
            miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
                .with_width(100);
        let mut rendered = String::new();
        handler.render_report(&mut rendered, &diags.0[0]).unwrap();
        insta::with_settings!({snapshot_path => "../../../golden/errors", prepend_module_to_snapshot => false, omit_expression => true}, {
            insta::assert_snapshot!("environment", rendered);
        });
    }
}
