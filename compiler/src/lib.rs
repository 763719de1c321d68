//! melangec's compiler: a pure function from a melange recipe (plus options
//! and a pipeline library) to a deterministic BuildKit LLB definition.
//!
//! Passes, one module each: `load` -> `parse_time` -> `expand` ->
//! `substitute` -> `fold` -> `environment` -> `lower` -> `marshal`; `render`
//! prints a definition for people.

pub mod accounts;
pub mod cond;
pub mod diag;
pub mod environment;
pub mod expand;
pub mod fold;
pub mod ir;
pub mod library;
pub mod llb;
pub mod load;
pub mod lower;
pub mod marshal;
pub mod metadata;
pub mod native;
pub mod options;
pub mod parse_time;
pub mod recipe;
pub mod render;
pub mod substitute;
pub mod template;
pub mod yaml;

pub use diag::{Diagnostic, Diagnostics, SourceFile};
pub use library::PipelineLibrary;
pub use options::{Arch, Options, PinnedEnvironment, PinnedPackage};

use crate::expand::Expander;
use crate::ir::{Build, ExecStep, PackageSteps};
use crate::substitute::{global_scope, subpackage_scope, Substituter};

/// A compiled recipe.
pub struct Compiled {
    pub build: Build,
    pub definition: melangec_proto::pb::Definition,
    /// The serialized definition: the `.llb` file.
    pub bytes: Vec<u8>,
    /// Op digests in definition order; the last is the terminal op.
    pub digests: Vec<String>,
}

/// Parses and checks a recipe down to the Build IR.
pub fn build_ir(
    recipe_file: &SourceFile,
    options: &Options,
    library: &PipelineLibrary,
) -> Result<Build, Diagnostics> {
    let recipe = load::load_recipe(recipe_file)?;
    let (recipe, parse_scope) = parse_time::apply(recipe_file, recipe, options)?;

    let arch = options.arch.apk();
    let targets = &recipe.package.target_architecture;
    if !targets.is_empty()
        && !targets.iter().any(|t| {
            t.value == arch || t.value == "all" || Arch::parse(&t.value) == Some(options.arch)
        })
    {
        return Err(Diagnostic::new(
            recipe_file,
            targets[0].span,
            format!("skip this arch: {arch} is not in target-architecture"),
        )
        .with_code("melangec::arch")
        .into());
    }

    let mut names: Vec<&str> = vec![recipe.package.name.as_str()];
    names.extend(recipe.subpackages.iter().map(|s| s.name.as_str()));
    let global = global_scope(&recipe, &parse_scope, options, &names);

    let mut expander = Expander::new(recipe_file, library);
    let main = expander.expand(&recipe.pipeline);
    let subs: Vec<_> = recipe
        .subpackages
        .iter()
        .map(|s| expander.expand(&s.pipeline))
        .collect();
    // Tests are not run by a build, but melange compiles them: their `uses:`
    // must resolve and their inputs must check.
    let mut tests = Vec::new();
    if let Some(t) = &recipe.test {
        tests.push((expander.expand(&t.pipeline), None));
    }
    for s in &recipe.subpackages {
        if let Some(t) = &s.test {
            tests.push((expander.expand(&t.pipeline), Some(s.name.value.as_str())));
        }
    }
    let mut diags = expander.diags;

    let mut sub = Substituter {
        diags: &mut diags,
        recipe_file,
    };
    let main = sub.steps(&main, &global, None);
    let subs: Vec<_> = recipe
        .subpackages
        .iter()
        .zip(&subs)
        .map(|(s, steps)| sub.steps(steps, &subpackage_scope(&global, &s.name.value), None))
        .collect();
    for (steps, subpackage) in &tests {
        match subpackage {
            Some(name) => sub.steps(steps, &subpackage_scope(&global, name), None),
            None => sub.steps(steps, &global, None),
        };
    }
    // melange substitutes a subpackage `if` at compile time only to check it;
    // an undefined name is an error even though the result is not used.
    for s in &recipe.subpackages {
        let scope = subpackage_scope(&global, &s.name.value);
        if let Err(errors) = template::substitute(&s.if_.value, &scope) {
            for e in errors {
                diags.push(
                    Diagnostic::new(recipe_file, s.if_.span, e.message)
                        .with_code("melangec::template"),
                );
            }
        }
    }

    let mut needs: Vec<String> = Vec::new();
    let mut main = fold::fold(main, &mut needs, recipe_file, &mut diags);
    let mut subs: Vec<_> = subs
        .into_iter()
        .map(|steps| fold::fold(steps, &mut needs, recipe_file, &mut diags))
        .collect();

    let user = run_as(&recipe.environment, recipe_file, &mut diags);
    native::mark(&mut main, options, &user);
    for steps in &mut subs {
        native::mark(steps, options, &user);
    }

    let base = environment::base_env(
        options.source_date_epoch,
        recipe
            .environment
            .environment
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str())),
    );
    let mut packages = Vec::new();
    let mut steps: Vec<ExecStep> = Vec::new();
    environment::flatten(&main, &base, &mut steps);
    packages.push(PackageSteps {
        name: recipe.package.name.value.clone(),
        steps,
    });
    let mut metas = vec![metadata::main_package(&recipe)];
    for (s, resolved) in recipe.subpackages.iter().zip(&subs) {
        match fold::subpackage_holds(&s.if_, recipe_file) {
            Ok(true) => {}
            Ok(false) => continue,
            Err(d) => {
                diags.push(d);
                continue;
            }
        }
        let mut steps = Vec::new();
        environment::flatten(resolved, &base, &mut steps);
        packages.push(PackageSteps {
            name: s.name.value.clone(),
            steps,
        });
        metas.push(metadata::subpackage(&recipe, s));
    }

    let mut environment_packages: Vec<String> = recipe
        .environment
        .packages
        .iter()
        .map(|p| p.value.clone())
        .collect();
    environment_packages.extend(needs);
    // A set, not a sequence: recipes asking for the same packages in another
    // order share one environment.
    environment_packages.sort();
    environment_packages.dedup();

    diags.finish(Build {
        arch: options.arch,
        package: recipe.package.name.value.clone(),
        version: recipe.package.version.value.clone(),
        epoch: recipe.package.epoch,
        environment_packages,
        environment_spans: recipe
            .environment
            .packages
            .iter()
            .map(|p| (p.value.clone(), p.span))
            .collect(),
        repositories: recipe
            .environment
            .repositories
            .iter()
            .map(|t| t.value.clone())
            .collect(),
        keyring: recipe
            .environment
            .keyring
            .iter()
            .map(|t| t.value.clone())
            .collect(),
        user,
        passwd: accounts::passwd(&recipe.environment.users),
        group: accounts::group(&recipe.environment.groups),
        packages,
        source_excludes: options.source_excludes.clone(),
        source_date_epoch: options.source_date_epoch,
        local_session: options.local_session.clone(),
        pinned_environment: options.environment.clone(),
        merge: options.has_caps(&["mergeop"]),
        metadata: metas,
    })
}

/// `accounts.run-as` as a BuildKit user: `uid:gid`, or empty for root.
fn run_as(env: &recipe::Environment, file: &SourceFile, diags: &mut Diagnostics) -> String {
    let who = env.run_as.value.as_str();
    match who {
        "" | "root" | "0" => String::new(),
        n if n.bytes().all(|b| b.is_ascii_digit()) => format!("{n}:{n}"),
        name => match env.users.iter().find(|u| u.username.value == name) {
            Some(u) => {
                let uid = u.uid.unwrap_or(0);
                format!("{uid}:{}", u.gid.unwrap_or(uid))
            }
            None => {
                diags.push(
                    Diagnostic::new(
                        file,
                        env.run_as.span,
                        format!("run-as user {name:?} is not in environment.accounts.users"),
                    )
                    .with_code("melangec::accounts"),
                );
                String::new()
            }
        },
    }
}

/// Compiles a recipe to a serialized LLB definition.
pub fn compile(
    recipe_file: &SourceFile,
    options: &Options,
    library: &PipelineLibrary,
) -> Result<Compiled, Diagnostics> {
    let build = build_ir(recipe_file, options, library)?;
    let (graph, result) = lower::lower(&build);
    let m = marshal::marshal(graph, result, recipe_file);
    Ok(Compiled {
        build,
        definition: m.definition,
        bytes: m.bytes,
        digests: m.digests,
    })
}
