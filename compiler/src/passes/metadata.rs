//! Package metadata: each package's `.PKGINFO` fields, dependencies,
//! options and scripts, from the recipe as parse-time left it.

use crate::front::recipe::{Dependencies, PackageOptions, Recipe, Scriptlets, Subpackage, Text};
use crate::ir::PackageMeta;

fn texts(list: &[Text]) -> Vec<String> {
    list.iter()
        .map(|t| t.value.trim().to_owned())
        .filter(|v| !v.is_empty())
        .collect()
}

fn scripts(s: &Scriptlets) -> (Vec<(String, String)>, Vec<String>) {
    let mut out = Vec::new();
    for (name, text) in [
        (".pre-install", &s.pre_install),
        (".post-install", &s.post_install),
        (".pre-deinstall", &s.pre_deinstall),
        (".post-deinstall", &s.post_deinstall),
        (".pre-upgrade", &s.pre_upgrade),
        (".post-upgrade", &s.post_upgrade),
        (".trigger", &s.trigger_script),
    ] {
        if !text.value.trim().is_empty() {
            out.push((name.to_owned(), text.value.clone()));
        }
    }
    (out, texts(&s.trigger_paths))
}

fn base(
    recipe: &Recipe,
    name: &str,
    deps: &Dependencies,
    opts: &PackageOptions,
    s: &Scriptlets,
) -> PackageMeta {
    let p = &recipe.package;
    let license = p
        .copyright
        .iter()
        .map(|c| c.license.value.trim())
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" AND ");
    let (scripts, triggers) = scripts(s);
    PackageMeta {
        name: name.to_owned(),
        version: format!("{}-r{}", p.version.value, p.epoch),
        origin: p.name.value.clone(),
        description: p.description.value.clone(),
        url: p.url.value.clone(),
        commit: p.commit.value.clone(),
        license,
        depends: texts(&deps.runtime),
        provides: texts(&deps.provides),
        replaces: texts(&deps.replaces),
        provider_priority: deps.provider_priority.value.trim().to_owned(),
        replaces_priority: deps.replaces_priority.value.trim().to_owned(),
        no_provides: opts.no_provides,
        no_depends: opts.no_depends,
        no_commands: opts.no_commands,
        scripts,
        triggers,
    }
}

pub fn main_package(recipe: &Recipe) -> PackageMeta {
    let p = &recipe.package;
    base(
        recipe,
        &p.name.value,
        &p.dependencies,
        &p.options,
        &p.scriptlets,
    )
}

/// A subpackage: its own description, dependencies, options and scripts;
/// the URL and commit of the main package unless it sets its own.
pub fn subpackage(recipe: &Recipe, s: &Subpackage) -> PackageMeta {
    let mut meta = base(
        recipe,
        &s.name.value,
        &s.dependencies,
        &s.options,
        &s.scriptlets,
    );
    meta.description = s.description.value.clone();
    if !s.url.value.is_empty() {
        meta.url = s.url.value.clone();
    }
    if !s.commit.value.is_empty() {
        meta.commit = s.commit.value.clone();
    }
    meta
}
