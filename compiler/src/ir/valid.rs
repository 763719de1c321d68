//! The IR's invariants, checked before lowering: what the back end relies
//! on and the passes promise. A violation is a bug in melangec, never in the
//! recipe; it is reported as an internal diagnostic rather than lowered
//! into a definition that BuildKit would misread.

use super::{Build, ExecStep, NativeSource, Suite};
use crate::front::diagnostics::{Code, Diagnostic};
use crate::names::{text_problem, valid_full_version, valid_name, word_problem};
use crate::options::PinnedEnvironment;
use crate::passes::native::is_hex;
use crate::source::{SourceFile, Span};

/// What is wrong, and the recipe line it came from when there is one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{what}")]
pub struct Invalid {
    pub what: String,
    pub at: Option<Span>,
}

impl Invalid {
    fn new(what: impl Into<String>, at: Option<Span>) -> Invalid {
        Invalid {
            what: what.into(),
            at,
        }
    }

    /// As a diagnostic on the recipe.
    pub fn diagnostic(&self, recipe: &SourceFile) -> Diagnostic {
        Diagnostic::new(
            Code::Internal,
            recipe,
            self.at.unwrap_or_default(),
            format!("internal error: {}", self.what),
        )
        .with_label("compiled from here")
        .with_help("this is a bug in melangec; please report it with the recipe")
    }
}

pub fn validate(build: &Build) -> Result<(), Invalid> {
    let Some(main) = build.packages.first() else {
        return Err(Invalid::new("the build makes no package", None));
    };
    if main.name != build.package {
        return Err(Invalid::new(
            format!(
                "the first package is {:?}, not {:?}",
                main.name, build.package
            ),
            None,
        ));
    }
    if build.metadata.len() != build.packages.len()
        || build
            .metadata
            .iter()
            .zip(&build.packages)
            .any(|(m, p)| m.name != p.name)
    {
        return Err(Invalid::new(
            "package metadata does not follow the packages",
            None,
        ));
    }
    // Versions name files and every field is a `.PKGINFO` line.
    for m in &build.metadata {
        if !valid_full_version(&m.version) {
            return Err(Invalid::new(
                format!("package version {:?}", m.version),
                None,
            ));
        }
        let words = m.depends.iter().chain(&m.provides).chain(&m.replaces);
        if words.chain(&m.triggers).any(|w| word_problem(w).is_some())
            || [&m.description, &m.url, &m.commit, &m.license]
                .iter()
                .any(|t| text_problem(t).is_some())
        {
            return Err(Invalid::new(
                format!("package {:?} has a field .PKGINFO cannot hold", m.name),
                None,
            ));
        }
    }
    let mut names = std::collections::HashSet::new();
    for p in &build.packages {
        if !valid_name(&p.name) {
            return Err(Invalid::new(format!("package name {:?}", p.name), None));
        }
        if !names.insert(p.name.as_str()) {
            return Err(Invalid::new(format!("package {:?} twice", p.name), None));
        }
        for step in &p.steps {
            exec_step(step)?;
        }
    }
    if !strictly_sorted(&build.environment.packages) {
        return Err(Invalid::new(
            "environment packages are not a sorted set",
            None,
        ));
    }
    if !user(&build.user) {
        return Err(Invalid::new(format!("user {:?}", build.user), None));
    }
    if let Some(pinned) = &build.pinned_environment {
        pinned_environment(pinned)?;
    }
    Ok(())
}

pub fn validate_suite(suite: &Suite) -> Result<(), Invalid> {
    for test in &suite.tests {
        let at = Some(test.span);
        if !valid_name(&test.package) {
            return Err(Invalid::new(
                format!("package under test {:?}", test.package),
                at,
            ));
        }
        if test.steps.is_empty() {
            return Err(Invalid::new(
                format!("the {} test has no steps", test.package),
                at,
            ));
        }
        for step in &test.steps {
            exec_step(step)?;
        }
        if !strictly_sorted(&test.environment.packages) {
            return Err(Invalid::new(
                "test environment packages are not a sorted set",
                at,
            ));
        }
        if !user(&test.user) {
            return Err(Invalid::new(format!("user {:?}", test.user), at));
        }
        if let Some(pinned) = &test.pinned_environment {
            pinned_environment(pinned)?;
        }
    }
    Ok(())
}

fn exec_step(step: &ExecStep) -> Result<(), Invalid> {
    let at = Some(step.origin);
    let fail = |what: String| Err(Invalid::new(format!("step {:?}: {what}", step.label), at));
    if !step.workdir.starts_with('/') {
        return fail(format!("working directory {:?} is relative", step.workdir));
    }
    let keys: Vec<&String> = step.env.iter().map(|(k, _)| k).collect();
    if !strictly_sorted(&keys) {
        return fail("its environment is not sorted by name, each once".to_owned());
    }
    match &step.native {
        Some(NativeSource::Http {
            url,
            checksum,
            filename,
            dir,
        }) => {
            let hex = checksum.strip_prefix("sha256:").unwrap_or("");
            if !http(url)
                || !is_hex(hex, 64)
                || filename.is_empty()
                || filename.contains('/')
                || dir.starts_with('/')
                || dir.split('/').any(|c| c == "..")
            {
                return fail(format!("download {url:?} into {dir:?}/{filename:?}"));
            }
        }
        Some(NativeSource::Git { remote, reference })
            if remote.is_empty() || reference.is_empty() =>
        {
            return fail(format!("checkout {remote:?} at {reference:?}"));
        }
        _ => {}
    }
    Ok(())
}

fn pinned_environment(pinned: &PinnedEnvironment) -> Result<(), Invalid> {
    for p in &pinned.packages {
        if !http(&p.url) || !is_hex(&p.sha256, 64) {
            return Err(Invalid::new(
                format!("pinned package {} at {:?}", p.name, p.url),
                None,
            ));
        }
    }
    let paths = pinned
        .files
        .iter()
        .map(|(p, _, _)| p)
        .chain(pinned.dirs.iter().map(|(p, _)| p));
    for path in paths {
        if path.is_empty() || path.starts_with('/') || path.split('/').any(|c| c == "..") {
            return Err(Invalid::new(
                format!("environment path {path:?} is not inside the root"),
                None,
            ));
        }
    }
    Ok(())
}

fn strictly_sorted<T: Ord>(items: &[T]) -> bool {
    items.windows(2).all(|w| w[0] < w[1])
}

fn http(url: &str) -> bool {
    url.starts_with("https://") || url.starts_with("http://")
}

/// Empty (root) or `uid:gid`, both numbers.
fn user(user: &str) -> bool {
    user.is_empty()
        || user
            .split_once(':')
            .is_some_and(|(u, g)| number(u) && number(g))
}

fn number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{PackageMeta, PackageSteps};
    use crate::options::Arch;

    fn build() -> Build {
        Build {
            arch: Arch::X86_64,
            package: "p".into(),
            version: "1".into(),
            epoch: 0,
            environment: crate::ir::Environment {
                arch: Arch::X86_64,
                purpose: "build".into(),
                packages: vec!["a".into(), "b".into()],
                spans: vec![],
                repositories: vec![],
                keyring: vec![],
                passwd: vec!["root:x:0:0:root:/root:/bin/sh".into()],
                group: vec!["root:x:0:".into()],
            },
            user: "1000:1000".into(),
            packages: vec![PackageSteps {
                name: "p".into(),
                steps: vec![ExecStep {
                    label: "make".into(),
                    script: "make".into(),
                    workdir: crate::ir::guest::WORKSPACE.into(),
                    env: vec![("A".into(), "1".into()), ("B".into(), "2".into())],
                    origin: Span::new(10, 20),
                    native: None,
                }],
            }],
            source_excludes: vec![],
            source_date_epoch: 0,
            local_session: None,
            pinned_environment: None,
            merge: false,
            debug: false,
            metadata: vec![PackageMeta {
                name: "p".into(),
                version: "1.0-r0".into(),
                ..Default::default()
            }],
        }
    }

    #[test]
    fn a_compiled_build_passes() {
        assert_eq!(validate(&build()), Ok(()));
    }

    #[test]
    fn each_invariant_is_checked() {
        type Break = (&'static str, fn(&mut Build));
        let breaks: Vec<Break> = vec![
            ("no package", |b| b.packages.clear()),
            ("first package", |b| b.package = "q".into()),
            ("metadata", |b| b.metadata.clear()),
            ("package version", |b| {
                b.metadata[0].version = "../x-r0".into()
            }),
            (".PKGINFO", |b| {
                b.metadata[0].depends = vec!["a\npkgname = b".into()]
            }),
            ("relative", |b| {
                b.packages[0].steps[0].workdir = "src".into()
            }),
            ("sorted", |b| b.packages[0].steps[0].env.reverse()),
            ("environment packages", |b| {
                b.environment.packages.push("a".into())
            }),
            ("user", |b| b.user = "build".into()),
            ("download", |b| {
                b.packages[0].steps[0].native = Some(NativeSource::Http {
                    url: "https://h/a".into(),
                    checksum: "sha256:00".into(),
                    filename: "a".into(),
                    dir: String::new(),
                })
            }),
        ];
        for (what, breaking) in breaks {
            let mut b = build();
            breaking(&mut b);
            let e = validate(&b).expect_err(what);
            assert!(e.what.contains(what), "{what}: {e}");
        }
    }

    #[test]
    fn a_step_error_points_at_its_recipe_line() {
        let mut b = build();
        b.packages[0].steps[0].env.reverse();
        let e = validate(&b).unwrap_err();
        assert_eq!(e.at, Some(Span::new(10, 20)));
        let d = e.diagnostic(&SourceFile::new("r.yaml", "0123456789abcdefghij\n"));
        assert_eq!(d.code, Code::Internal);
        assert!(d.message.starts_with("internal error: step \"make\""));
    }
}
