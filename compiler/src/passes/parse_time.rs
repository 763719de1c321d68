//! Parse-time: what melange does while parsing a recipe. Merges
//! `--vars-file`, derives `var-transforms`, pastes package/vars values into
//! the recipe by exact spelling, expands ranged subpackages, merges
//! `--env-file`, adds the build account, applies build options and validates.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use regex::Regex;

use crate::front::diagnostics::{excerpt, Code, Diagnostic, Diagnostics};
use crate::front::dotenv::parse_dotenv;
use crate::front::load::load_vars_file;
use crate::front::recipe::*;
use crate::lang::template::{
    placeholders, substitute, substitute_parse_time, substitute_with, Scope,
};
use crate::names::{text_problem, valid_name, valid_version, word_problem};
use crate::options::Options;
use crate::source::{SourceFile, Span};

/// Default variables melange fills in when absent or empty.
const DEFAULT_ENV: &[(&str, &str)] = &[
    ("COMPOSER_CACHE_DIR", "/var/cache/melange/composer"),
    ("GOMODCACHE", "/var/cache/melange/gomodcache"),
    ("GOPATH", "/home/build/.cache/go"),
    ("HOME", "/home/build"),
    ("PIP_CACHE_DIR", "/var/cache/melange/pip"),
    ("UV_CACHE_DIR", "/var/cache/melange/uv"),
    ("npm_config_cache", "/var/cache/melange/npm"),
];

/// Applies parse-time processing; returns the recipe and its parse-time scope.
pub fn apply(
    file: &SourceFile,
    mut recipe: Recipe,
    options: &Options,
) -> Result<(Recipe, Scope), Diagnostics> {
    let mut diags = Diagnostics::default();

    if let Some(vars_file) = &options.vars_file {
        for (k, v) in load_vars_file(vars_file)? {
            set(&mut recipe.vars, k, v);
        }
    }

    let chains = check_var_references(file, &recipe.vars, &mut diags);
    let scope = parse_scope(file, &recipe, chains, &mut diags);
    let s = |t: &mut Text| t.value = substitute_parse_time(&t.value, &scope);

    each_package_text(&mut recipe.package, s);
    each_environment_text(&mut recipe.environment, s);
    each_steps_text(&mut recipe.pipeline, s);
    if let Some(test) = &mut recipe.test {
        each_environment_text(&mut test.environment, s);
        each_steps_text(&mut test.pipeline, s);
    }
    recipe.subpackages = expand_ranges(
        file,
        std::mem::take(&mut recipe.subpackages),
        &recipe.data,
        &scope,
        &mut diags,
    );
    recipe.data.clear();

    // melange gives test environments the build account too.
    add_build_account(&mut recipe.environment);
    for test in recipe.test.iter_mut().chain(
        recipe
            .subpackages
            .iter_mut()
            .filter_map(|s| s.test.as_mut()),
    ) {
        add_build_account(&mut test.environment);
    }
    merge_env_files(&mut recipe.environment, &options.env_files, &mut diags);
    for (name, value) in DEFAULT_ENV {
        match recipe
            .environment
            .environment
            .iter_mut()
            .find(|(k, _)| k.value == *name)
        {
            Some((_, v)) if !v.value.is_empty() => {}
            Some((_, v)) => v.value = (*value).to_owned(),
            None => recipe.environment.environment.push((
                Text::new(*name, Span::default()),
                Text::new(*value, Span::default()),
            )),
        }
    }

    strict_pass(file, &mut recipe, &scope, &mut diags);
    apply_build_options(file, &mut recipe, options, &mut diags);
    validate(file, &recipe, &mut diags);
    diags.finish((recipe, scope))
}

fn set(map: &mut TextMap, key: Text, value: Text) {
    match map.iter_mut().find(|(k, _)| k.value == key.value) {
        Some((_, v)) => *v = value,
        None => map.push((key, value)),
    }
}

/// package.*, vars.* and var-transforms, in melange's order.
/// Compiles a pattern once per process: Wolfi's recipes share a handful of
/// version patterns, and compiling dominates applying them.
fn compiled(pattern: &str) -> Result<Regex, regex::Error> {
    static CACHE: OnceLock<Mutex<HashMap<String, Regex>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(re) = cache.lock().ok().and_then(|c| c.get(pattern).cloned()) {
        return Ok(re);
    }
    let re = Regex::new(pattern)?;
    if let Ok(mut c) = cache.lock() {
        c.insert(pattern.to_owned(), re.clone());
    }
    Ok(re)
}

/// How long a var's value may grow by naming others.
const MAX_VAR_BYTES: usize = 1 << 20;

fn parse_scope(
    file: &SourceFile,
    recipe: &Recipe,
    chains: Chains,
    diags: &mut Diagnostics,
) -> Scope {
    let p = &recipe.package;
    let mut scope = Scope::new();
    scope.insert("package.name".into(), p.name.value.clone());
    scope.insert("package.version".into(), p.version.value.clone());
    scope.insert("package.description".into(), p.description.value.clone());
    scope.insert("package.epoch".into(), p.epoch.to_string());
    scope.insert(
        "package.full-version".into(),
        format!("{}-r{}", p.version.value, p.epoch),
    );
    for (k, v) in &recipe.vars {
        scope.insert(format!("vars.{}", k.value), v.value.clone());
    }
    // A var naming a var is resolved to the end of its chain (melange's
    // two passes stop at two links, leaving `${{vars.c}}` in a script);
    // the chains are known acyclic and short, so this ends.
    if let Chains::Resolvable(order) = chains {
        for i in order {
            let (k, v) = &recipe.vars[i];
            let key = format!("vars.{}", k.value);
            let resolved = substitute_parse_time(&scope[&key], &scope);
            if resolved.len() > MAX_VAR_BYTES {
                diags.push(
                    Diagnostic::new(
                        Code::Recipe,
                        file,
                        v.span,
                        format!(
                            "vars.{} grows past {} MiB through the vars it names",
                            excerpt(&k.value, 80),
                            MAX_VAR_BYTES >> 20
                        ),
                    )
                    .with_label("this value"),
                );
                break;
            }
            scope.insert(key, resolved);
        }
    }
    for t in &recipe.var_transforms {
        let from = match substitute_with(&t.from.value, |n| scope.get(n).map(String::as_str)) {
            Ok(v) => v,
            Err(errs) => {
                for e in errs {
                    diags.push(
                        Diagnostic::new(Code::Recipe, file, t.from.span, e.message)
                            .with_label("only package.* and vars.* exist while parsing"),
                    );
                }
                continue;
            }
        };
        let re = match compiled(&t.match_.value) {
            Ok(re) => re,
            Err(e) => {
                diags.push(Diagnostic::new(
                    Code::Recipe,
                    file,
                    t.match_.span,
                    format!("invalid regular expression: {e}"),
                ));
                continue;
            }
        };
        let value = re.replace_all(&from, t.replace.value.as_str()).into_owned();
        scope.insert(format!("vars.{}", t.to.value), value);
    }
    scope
}

/// Vars whose values name other vars may chain this deep.
pub const MAX_VAR_DEPTH: usize = 16;

/// Whether vars that name vars can be resolved: if so, in an order where
/// every var comes after those it names.
enum Chains {
    Resolvable(Vec<usize>),
    Broken,
}

/// Vars that name each other in a cycle never resolve, and a long chain
/// of them is no recipe's intent: both are errors, found without recursion.
fn check_var_references(file: &SourceFile, vars: &TextMap, diags: &mut Diagnostics) -> Chains {
    let index: HashMap<&str, usize> = vars
        .iter()
        .enumerate()
        .map(|(i, (k, _))| (k.as_str(), i))
        .collect();
    let edges: Vec<Vec<usize>> = vars
        .iter()
        .map(|(_, v)| {
            placeholders(&v.value)
                .into_iter()
                .filter_map(|n| n.strip_prefix("vars."))
                .filter_map(|n| index.get(n).copied())
                .collect()
        })
        .collect();
    if edges.iter().all(Vec::is_empty) {
        return Chains::Resolvable(Vec::new());
    }
    let mut broken = false;
    let mut order = Vec::with_capacity(vars.len());
    // 0: not seen, 1: on the path, 2: done; `depth` is the longest chain
    // from a var, once done.
    let mut state = vec![0u8; vars.len()];
    let mut depth = vec![0usize; vars.len()];
    let mut deepest: Option<usize> = None;
    for root in 0..vars.len() {
        if state[root] != 0 {
            continue;
        }
        let mut path: Vec<(usize, usize)> = vec![(root, 0)];
        state[root] = 1;
        while let Some(&mut (node, ref mut next)) = path.last_mut() {
            if let Some(&to) = edges[node].get(*next) {
                *next += 1;
                match state[to] {
                    0 => {
                        state[to] = 1;
                        path.push((to, 0));
                    }
                    1 => {
                        let at = path.iter().position(|(n, _)| *n == to).unwrap_or(0);
                        let cycle: Vec<String> = path[at..]
                            .iter()
                            .map(|(n, _)| *n)
                            .chain([to])
                            .map(|n| format!("vars.{}", vars[n].0.value))
                            .collect();
                        let (key, value) = &vars[to];
                        broken = true;
                        diags.push(
                            Diagnostic::new(
                                Code::Recipe,
                                file,
                                value.span,
                                format!("vars cycle: {}", cycle.join(" → ")),
                            )
                            .with_label(format!("vars.{} comes back to itself", key.value)),
                        );
                    }
                    _ => {}
                }
            } else {
                path.pop();
                state[node] = 2;
                order.push(node);
                depth[node] = 1 + edges[node].iter().map(|&t| depth[t]).max().unwrap_or(0);
                if depth[node] > MAX_VAR_DEPTH && deepest.is_none_or(|d| depth[node] > depth[d]) {
                    deepest = Some(node);
                }
            }
        }
    }
    if let Some(start) = deepest {
        let (key, value) = &vars[start];
        diags.push(
            Diagnostic::new(
                Code::Recipe,
                file,
                value.span,
                format!(
                    "vars reference each other {} deep from vars.{}; at most {MAX_VAR_DEPTH} are allowed",
                    depth[start],
                    excerpt(&key.value, 80)
                ),
            )
            .with_label("this value names another var, which names another, …"),
        );
        broken = true;
    }
    if broken {
        Chains::Broken
    } else {
        Chains::Resolvable(order)
    }
}

fn each_text(list: &mut [Text], f: impl Fn(&mut Text) + Copy) {
    list.iter_mut().for_each(f);
}

fn each_map_value(map: &mut TextMap, f: impl Fn(&mut Text) + Copy) {
    map.iter_mut().for_each(|(_, v)| f(v));
}

fn each_deps_text(d: &mut Dependencies, f: impl Fn(&mut Text) + Copy) {
    each_text(&mut d.runtime, f);
    each_text(&mut d.provides, f);
    each_text(&mut d.replaces, f);
    f(&mut d.provider_priority);
    f(&mut d.replaces_priority);
}

fn each_scriptlets_text(s: &mut Scriptlets, f: impl Fn(&mut Text) + Copy) {
    for t in [
        &mut s.pre_install,
        &mut s.post_install,
        &mut s.pre_deinstall,
        &mut s.post_deinstall,
        &mut s.pre_upgrade,
        &mut s.post_upgrade,
        &mut s.trigger_script,
    ] {
        f(t);
    }
    each_text(&mut s.trigger_paths, f);
}

fn each_package_text(p: &mut Package, f: impl Fn(&mut Text) + Copy) {
    f(&mut p.name);
    f(&mut p.description);
    f(&mut p.url);
    each_map_value(&mut p.annotations, f);
    each_text(&mut p.target_architecture, f);
    for c in &mut p.copyright {
        f(&mut c.license);
        f(&mut c.license_path);
        each_text(&mut c.paths, f);
    }
    each_deps_text(&mut p.dependencies, f);
    each_scriptlets_text(&mut p.scriptlets, f);
}

fn each_environment_text(e: &mut Environment, f: impl Fn(&mut Text) + Copy) {
    each_text(&mut e.repositories, f);
    each_text(&mut e.build_repositories, f);
    each_text(&mut e.keyring, f);
    each_text(&mut e.packages, f);
    each_map_value(&mut e.environment, f);
}

fn each_steps_text(steps: &mut [Step], f: impl Fn(&mut Text) + Copy) {
    for s in steps {
        f(&mut s.name);
        f(&mut s.runs);
        f(&mut s.if_);
        f(&mut s.working_directory);
        each_map_value(&mut s.with, f);
        each_map_value(&mut s.environment, f);
        each_text(&mut s.needs, f);
        each_steps_text(&mut s.pipeline, f);
    }
}

fn each_subpackage_text(s: &mut Subpackage, f: impl Fn(&mut Text) + Copy) {
    f(&mut s.name);
    f(&mut s.if_);
    f(&mut s.description);
    f(&mut s.url);
    each_map_value(&mut s.annotations, f);
    each_steps_text(&mut s.pipeline, f);
    each_deps_text(&mut s.dependencies, f);
    each_scriptlets_text(&mut s.scriptlets, f);
    if let Some(test) = &mut s.test {
        each_environment_text(&mut test.environment, f);
        each_steps_text(&mut test.pipeline, f);
    }
}

/// One subpackage per item of the named `data` entry, in key order.
fn expand_ranges(
    file: &SourceFile,
    subpackages: Vec<Subpackage>,
    data: &[DataSet],
    scope: &Scope,
    diags: &mut Diagnostics,
) -> Vec<Subpackage> {
    let mut out = Vec::with_capacity(subpackages.len());
    for sub in subpackages {
        if sub.range.is_empty() {
            let mut sub = sub;
            each_subpackage_text(&mut sub, |t| {
                t.value = substitute_parse_time(&t.value, scope)
            });
            out.push(sub);
            continue;
        }
        let Some(set) = data.iter().find(|d| d.name.value == sub.range.value) else {
            diags.push(
                Diagnostic::new(
                    Code::Recipe,
                    file,
                    sub.range.span,
                    format!("range {:?} specified but not defined", sub.range.value),
                )
                .with_label("no `data:` entry has this name"),
            );
            continue;
        };
        let mut items: Vec<&(Text, Text)> = set.items.iter().collect();
        items.sort_by(|a, b| a.0.value.cmp(&b.0.value));
        for (key, value) in items {
            let mut item_scope = scope.clone();
            item_scope.insert("range.key".into(), key.value.clone());
            item_scope.insert("range.value".into(), value.value.clone());
            let mut copy = sub.clone();
            each_subpackage_text(&mut copy, |t| {
                t.value = substitute_parse_time(&t.value, &item_scope)
            });
            out.push(copy);
        }
    }
    out
}

fn add_build_account(env: &mut Environment) {
    if !env.groups.iter().any(|g| g.groupname.value == "build") {
        env.groups.push(Group {
            groupname: Text::new("build", Span::default()),
            gid: Some(1000),
            members: vec![Text::new("build", Span::default())],
        });
    }
    if !env.users.iter().any(|u| u.username.value == "build") {
        env.users.push(User {
            username: Text::new("build", Span::default()),
            uid: Some(1000),
            gid: Some(1000),
            ..User::default()
        });
    }
}

/// dotenv files: earlier files win over later ones; the recipe wins over all.
fn merge_env_files(env: &mut Environment, files: &[SourceFile], diags: &mut Diagnostics) {
    for file in files {
        for (k, v) in parse_dotenv(file, diags) {
            if !env.environment.iter().any(|(key, _)| key.value == k.value) {
                env.environment.push((k, v));
            }
        }
    }
}

/// Dependency lists, priorities and package lists are substituted again,
/// strictly (spaces allowed): an unknown `${{...}}` is an error already here.
fn strict_pass(file: &SourceFile, recipe: &mut Recipe, scope: &Scope, diags: &mut Diagnostics) {
    let mut fill = |t: &mut Text| match substitute(&t.value, scope) {
        Ok(v) => t.value = v,
        Err(errors) => {
            for e in errors {
                diags.push(
                    Diagnostic::new(Code::Template, file, t.span, e.message)
                        .with_label("only package.*, vars.* and range.* exist here"),
                );
            }
        }
    };
    fn deps(d: &mut Dependencies, fill: &mut dyn FnMut(&mut Text)) {
        d.runtime
            .iter_mut()
            .chain(&mut d.provides)
            .chain(&mut d.replaces)
            .for_each(&mut *fill);
        fill(&mut d.provider_priority);
        fill(&mut d.replaces_priority);
    }
    deps(&mut recipe.package.dependencies, &mut fill);
    recipe.environment.packages.iter_mut().for_each(&mut fill);
    if let Some(t) = &mut recipe.test {
        t.environment.packages.iter_mut().for_each(&mut fill);
    }
    for s in &mut recipe.subpackages {
        deps(&mut s.dependencies, &mut fill);
        if let Some(t) = &mut s.test {
            t.environment.packages.iter_mut().for_each(&mut fill);
        }
    }
}

fn apply_build_options(
    file: &SourceFile,
    recipe: &mut Recipe,
    options: &Options,
    diags: &mut Diagnostics,
) {
    for name in &options.build_options {
        let Some((_, option)) = recipe.options.iter().find(|(k, _)| &k.value == name) else {
            let defined: Vec<&str> = recipe.options.iter().map(|(k, _)| k.as_str()).collect();
            let message = format!("build option {name:?} is not defined in the recipe");
            // Point at the options the recipe has, when it has some.
            let d = match recipe.options.first() {
                Some((first, _)) => Diagnostic::new(Code::Options, file, first.span, message)
                    .with_label("the recipe's options")
                    .with_help(format!(
                        "--build-option takes one of: {}",
                        defined.join(", ")
                    )),
                None => Diagnostic::new(Code::Options, file, Span::default(), message)
                    .with_help("the recipe has no `options:`"),
            };
            diags.push(d);
            continue;
        };
        let option = option.clone();
        for (k, v) in option.vars {
            set(&mut recipe.vars, k, v);
        }
        recipe.environment.packages.extend(option.add);
        recipe
            .environment
            .packages
            .retain(|p| !option.remove.iter().any(|r| r.value == p.value));
    }
}

fn validate(file: &SourceFile, recipe: &Recipe, diags: &mut Diagnostics) {
    let p = &recipe.package;
    let err = |span: Span, msg: String| Diagnostic::new(Code::Invalid, file, span, msg);
    if p.name.is_empty() {
        diags.push(err(p.span, "package.name is required".into()));
    } else if !valid_name(&p.name.value) {
        diags.push(err(
            p.name.span,
            format!("package name {:?} is invalid", p.name.value),
        ));
    }
    if p.version.is_empty() {
        diags.push(err(p.span, "package.version is required".into()));
    } else if !valid_version(&p.version.value) {
        diags.push(
            err(
                p.version.span,
                format!(
                    "unable to parse version {:?}",
                    excerpt(&p.version.value, 80)
                ),
            )
            .with_label("not an apk version")
            .with_help(
                "digits separated by dots, an optional letter, then optional \
                 _alpha, _beta, _pre, _rc, _cvs, _svn, _git, _hg or _p with digits; \
                 the release goes in `epoch:`",
            ),
        );
    }
    package_fields(file, p, diags);
    let priority = |t: &Text, diags: &mut Diagnostics| {
        if !t.is_empty() && t.value.trim().parse::<i64>().is_err() {
            diags.push(err(
                t.span,
                format!("priority must convert to integer, got {:?}", t.value),
            ));
        }
    };
    priority(&p.dependencies.provider_priority, diags);
    priority(&p.dependencies.replaces_priority, diags);
    validate_steps(file, &recipe.pipeline, diags);
    let mut seen: std::collections::HashSet<&str> = Default::default();
    for s in &recipe.subpackages {
        for t in [&s.description, &s.url, &s.commit] {
            text_field(file, "subpackage", t, diags);
        }
        dependency_fields(file, &s.dependencies, &s.scriptlets, diags);
        priority(&s.dependencies.provider_priority, diags);
        priority(&s.dependencies.replaces_priority, diags);
        validate_steps(file, &s.pipeline, diags);
        if s.name.value == p.name.value {
            diags.push(err(
                s.name.span,
                format!("subpackage name {:?} equals the package name", s.name.value),
            ));
        } else if seen.contains(&s.name.value.as_str()) {
            diags.push(err(
                s.name.span,
                format!("subpackage name {:?} is used twice", s.name.value),
            ));
        } else if !valid_name(&s.name.value) {
            diags.push(err(
                s.name.span,
                format!("subpackage name {:?} is invalid", s.name.value),
            ));
        }
        seen.insert(&s.name.value);
    }
}

/// The fields of the package that reach `.PKGINFO` and the index.
fn package_fields(file: &SourceFile, p: &Package, diags: &mut Diagnostics) {
    for t in [&p.description, &p.url, &p.commit] {
        text_field(file, "package", t, diags);
    }
    for c in &p.copyright {
        text_field(file, "copyright", &c.license, diags);
    }
    dependency_fields(file, &p.dependencies, &p.scriptlets, diags);
}

fn text_field(file: &SourceFile, what: &str, t: &Text, diags: &mut Diagnostics) {
    if let Some(problem) = text_problem(&t.value) {
        diags.push(
            Diagnostic::new(
                Code::Invalid,
                file,
                t.span,
                format!("this {what} field holds {problem}"),
            )
            .with_label("it becomes a line of .PKGINFO"),
        );
    }
}

/// Each dependency, provide, replace and trigger path is one word.
fn dependency_fields(file: &SourceFile, d: &Dependencies, s: &Scriptlets, diags: &mut Diagnostics) {
    let lists = [
        ("dependency", &d.runtime),
        ("provide", &d.provides),
        ("replace", &d.replaces),
        ("trigger path", &s.trigger_paths),
    ];
    for (what, list) in lists {
        for t in list {
            if let Some(problem) = word_problem(t.value.trim()) {
                diags.push(
                    Diagnostic::new(
                        Code::Invalid,
                        file,
                        t.span,
                        format!("{what} {:?} holds {problem}", excerpt(t.value.trim(), 80)),
                    )
                    .with_label("each entry is one word of .PKGINFO and the index"),
                );
            }
        }
    }
}

fn validate_steps(file: &SourceFile, steps: &[Step], diags: &mut Diagnostics) {
    for s in steps {
        let err = |msg: &str| Diagnostic::new(Code::Invalid, file, s.span, msg.to_owned());
        if s.with_span.is_some() && s.uses.is_empty() {
            diags.push(err("a step with `with:` needs `uses:`"));
        }
        if !s.uses.is_empty() && !s.runs.is_empty() {
            diags.push(err("a step cannot have both `uses:` and `runs:`"));
        }
        if !s.with.is_empty() && !s.runs.is_empty() {
            diags.push(err("a step cannot have both `with:` and `runs:`"));
        }
        validate_steps(file, &s.pipeline, diags);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::front::load::load_recipe;
    use crate::options::Arch;

    fn run(text: &str) -> Result<(Recipe, Scope), Diagnostics> {
        let file = SourceFile::new("t.yaml", text);
        let recipe = load_recipe(&file)?;
        apply(&file, recipe, &Options::new(Arch::X86_64))
    }

    #[test]
    fn vars_naming_vars_resolve_to_the_end_of_the_chain() {
        let (_, scope) = run(
            "package: {name: p, version: 1.2.3}\nvars:\n  a: A${{vars.b}}\n  b: B${{vars.c}}\n  c: C${{vars.d}}\n  d: D${{package.version}}\npipeline:\n  - runs: echo ${{vars.a}}\n",
        )
        .unwrap();
        assert_eq!(scope["vars.a"], "ABCD1.2.3");
        assert_eq!(scope["vars.c"], "CD1.2.3");
    }

    #[test]
    fn var_transforms_and_exact_spelling() {
        let (r, scope) = run(
            "package: {name: p, version: 1.2.3}\nvar-transforms:\n  - from: ${{package.version}}\n    match: \\.\n    replace: _\n    to: under\npipeline:\n  - runs: echo ${{vars.under}} ${{ vars.under }}\n",
        )
        .unwrap();
        assert_eq!(scope["vars.under"], "1_2_3");
        assert_eq!(r.pipeline[0].runs.value, "echo 1_2_3 ${{ vars.under }}");
    }

    #[test]
    fn ranges_expand_in_key_order() {
        let (r, _) = run(
            "package: {name: p, version: 1}\ndata:\n  - name: d\n    items: {b: two, a: one}\nsubpackages:\n  - name: p-${{range.key}}\n    range: d\n    description: ${{range.value}}\n",
        )
        .unwrap();
        let names: Vec<_> = r
            .subpackages
            .iter()
            .map(|s| s.name.value.as_str())
            .collect();
        assert_eq!(names, ["p-a", "p-b"]);
        assert_eq!(r.subpackages[1].description.value, "two");
    }

    #[test]
    fn unknown_range_and_strict_packages() {
        let err =
            run("package: {name: p, version: 1}\nsubpackages:\n  - name: x\n    range: nope\n")
                .unwrap_err();
        assert!(err.0[0].message.contains("range \"nope\""));
        let err = run("package: {name: p, version: 1}\nenvironment:\n  contents:\n    packages:\n      - ${{vars.nope}}\n").unwrap_err();
        assert_eq!(err.0[0].message, "variable vars.nope not defined");
    }

    #[test]
    fn env_files_lose_to_the_recipe_and_defaults_fill_gaps() {
        let file = SourceFile::new(
            "t.yaml",
            "package: {name: p, version: 1}\nenvironment:\n  environment: {A: recipe, HOME: ''}\n",
        );
        let mut opts = Options::new(Arch::X86_64);
        opts.env_files = vec![
            SourceFile::new("one.env", "export A=file\nB=one\n"),
            SourceFile::new("two.env", "B=two\nC='c d'\n"),
        ];
        let (r, _) = apply(&file, load_recipe(&file).unwrap(), &opts).unwrap();
        let get = |k: &str| {
            r.environment
                .environment
                .iter()
                .find(|(key, _)| key.value == k)
                .map(|(_, v)| v.value.clone())
        };
        assert_eq!(get("A").as_deref(), Some("recipe"));
        assert_eq!(get("B").as_deref(), Some("one"));
        assert_eq!(get("C").as_deref(), Some("c d"));
        assert_eq!(get("HOME").as_deref(), Some("/home/build"));
    }

    #[test]
    fn a_vars_cycle_is_named() {
        let err = run(
            "package: {name: p, version: 1}\nvars:\n  a: x${{vars.b}}\n  b: ${{ vars.c }}\n  c: ${{vars.a}}\n  d: ${{vars.d}}\npipeline:\n  - runs: echo ${{vars.a}}\n",
        )
        .unwrap_err();
        let found: Vec<(&str, u32)> = err
            .0
            .iter()
            .map(|d| (d.message.as_str(), d.line()))
            .collect();
        assert_eq!(
            found,
            [
                ("vars cycle: vars.a → vars.b → vars.c → vars.a", 3),
                ("vars cycle: vars.d → vars.d", 6),
            ]
        );
    }

    #[test]
    fn a_long_vars_chain_is_an_error_on_a_small_stack() {
        let mut text = String::from("package: {name: p, version: 1}\nvars:\n");
        for i in 0..10_000 {
            text.push_str(&format!("  v{i}: ${{{{vars.v{}}}}}\n", i + 1));
        }
        text.push_str("  v10000: end\n");
        let err = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || run(&text).unwrap_err())
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(err.0.len(), 1);
        assert_eq!(
            err.0[0].message,
            "vars reference each other 10001 deep from vars.v0; at most 16 are allowed"
        );
        assert_eq!(err.0[0].line(), 3);
        let short = "package: {name: p, version: 1}\nvars:\n  a: ${{vars.b}}\n  b: x\n";
        assert!(run(short).is_ok());
    }

    #[test]
    fn step_rules() {
        let err = run("package: {name: p, version: 1}\npipeline:\n  - runs: a\n    with: {x: y}\n")
            .unwrap_err();
        assert!(err
            .0
            .iter()
            .any(|d| d.message.contains("`with:` needs `uses:`")));
    }
}
