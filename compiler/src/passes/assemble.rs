//! Assemble: the Build IR from what the passes made: each kept package's
//! steps flattened in run order with their variables, its metadata, the
//! environment it all runs in, and the options the back end needs.

use crate::front::recipe::Recipe;
use crate::ir::{Build, Environment, Folded, PackageSteps};
use crate::options::Options;
use crate::passes::{accounts, environment, metadata};

pub fn assemble(recipe: &Recipe, options: &Options, folded: Folded, user: String) -> Build {
    let env = &recipe.environment;
    let base = environment::base_env(
        Some(options.source_date_epoch),
        env.environment
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str())),
    );
    let flatten = |name: &str, steps: &[crate::ir::ResolvedStep]| {
        let mut out = Vec::new();
        environment::flatten(steps, &base, &mut out);
        PackageSteps {
            name: name.to_owned(),
            steps: out,
        }
    };
    let mut packages = vec![flatten(&recipe.package.name.value, &folded.main)];
    let mut metadata = vec![metadata::main_package(recipe)];
    for (i, steps) in &folded.subpackages {
        let s = &recipe.subpackages[*i];
        packages.push(flatten(&s.name.value, steps));
        metadata.push(metadata::subpackage(recipe, s));
    }

    let mut environment_packages: Vec<String> =
        env.packages.iter().map(|p| p.value.clone()).collect();
    environment_packages.extend(folded.needs);
    // A set, not a sequence: recipes asking for the same packages in another
    // order share one environment.
    environment_packages.sort();
    environment_packages.dedup();

    let texts = |list: &[crate::front::recipe::Text]| -> Vec<String> {
        list.iter().map(|t| t.value.clone()).collect()
    };
    Build {
        arch: options.arch,
        package: recipe.package.name.value.clone(),
        version: recipe.package.version.value.clone(),
        epoch: recipe.package.epoch,
        environment: Environment {
            arch: options.arch,
            purpose: "build".to_owned(),
            packages: environment_packages,
            spans: env
                .packages
                .iter()
                .map(|p| (p.value.clone(), p.span))
                .collect(),
            repositories: texts(&env.repositories),
            keyring: texts(&env.keyring),
            passwd: accounts::passwd(&env.users),
            group: accounts::group(&env.groups),
        },
        user,
        packages,
        source_excludes: options.source_excludes.clone(),
        source_date_epoch: options.source_date_epoch,
        local_session: options.local_session.clone(),
        pinned_environment: options.environment.clone(),
        merge: options.has_caps(&["mergeop"]),
        debug: options.debug,
        metadata,
    }
}
