//! Compile-time substitution: fills `${{...}}` in `runs`, `if`,
//! `working-directory`, `needs` and input values, each in the scope of the
//! step (global variables, package context, the inputs of every enclosing
//! `uses:`). An undefined variable is an error here.

use std::collections::BTreeMap;

use crate::front::diagnostics::{Code, Diagnostic, Diagnostics};
use crate::front::recipe::{Recipe, Text};
use crate::ir::guest::{OUTDIR, WORKSPACE};
use crate::ir::{Call, Expanded, ExpandedStep, Resolved, ResolvedStep};
use crate::lang::cond::quote;
use crate::lang::template::{self, substitute_emit, Layer, Lookup, Scope, TemplateError};
use crate::options::Options;
use crate::source::{SourceFile, Span};

/// Fills every template of the expanded recipe, each in its scope: the
/// package's steps in the global one, a subpackage's in its own, and each
/// test's in the scope of the package it tests. A subpackage `if` is filled only to check it,
/// as melange does: an undefined name is an error though the result is not
/// used (`fold` reads the parse-time text).
pub fn substitute(
    recipe_file: &SourceFile,
    recipe: &Recipe,
    parse_scope: &Scope,
    options: &Options,
    expanded: &Expanded,
    diags: &mut Diagnostics,
) -> Resolved {
    let mut names: Vec<&str> = vec![recipe.package.name.as_str()];
    names.extend(recipe.subpackages.iter().map(|s| s.name.as_str()));
    let global = global_scope(recipe, parse_scope, options, &names);
    let mut sub = Substituter { diags, recipe_file };
    let main = sub.steps(&expanded.main, &global, None);
    let subpackages = recipe
        .subpackages
        .iter()
        .zip(&expanded.subpackages)
        .map(|(s, steps)| sub.steps(steps, &subpackage_scope(&global, &s.name.value), None))
        .collect();
    let tests = expanded
        .tests
        .iter()
        .map(|(subpackage, steps)| {
            let resolved = match subpackage {
                Some(name) => sub.steps(steps, &subpackage_scope(&global, name), None),
                None => sub.steps(steps, &global, None),
            };
            (subpackage.clone(), resolved)
        })
        .collect();
    for s in &recipe.subpackages {
        let scope = subpackage_scope(&global, &s.name.value);
        if let Err(errors) = template::substitute(&s.if_.value, &scope) {
            for e in errors {
                sub.diags.push(Diagnostic::new(
                    Code::Template,
                    recipe_file,
                    s.if_.span,
                    e.message,
                ));
            }
        }
    }
    Resolved {
        main,
        subpackages,
        tests,
    }
}

/// Variables every step of the build sees.
pub fn global_scope(
    recipe: &Recipe,
    parse_scope: &Scope,
    options: &Options,
    package_names: &[&str],
) -> Scope {
    let p = &recipe.package;
    let arch = options.arch;
    let flavor = options.libc_flavor.as_str();
    let mut scope = Scope::new();
    let mut set = |k: &str, v: String| {
        scope.insert(k.to_owned(), v);
    };
    set("package.name", p.name.value.clone());
    set("package.version", p.version.value.clone());
    set("package.epoch", p.epoch.to_string());
    set(
        "package.full-version",
        format!("{}-r{}", p.version.value, p.epoch),
    );
    set("package.srcdir", WORKSPACE.into());
    set("targets.outdir", OUTDIR.into());
    set("targets.destdir", format!("{OUTDIR}/{}", p.name.value));
    set("targets.contextdir", format!("{OUTDIR}/{}", p.name.value));
    set("context.name", p.name.value.clone());
    set("build.arch", arch.apk().into());
    set("build.goarch", arch.goarch().into());
    set("host.triplet.gnu", arch.gnu_triplet(flavor));
    set("host.triplet.rust", arch.rust_triplet(flavor));
    set("cross.triplet.gnu.glibc", arch.gnu_triplet("gnu"));
    set("cross.triplet.gnu.musl", arch.gnu_triplet("musl"));
    set("cross.triplet.rust.glibc", arch.rust_triplet("gnu"));
    set("cross.triplet.rust.musl", arch.rust_triplet("musl"));
    for name in package_names {
        set(
            &format!("targets.package.{name}"),
            format!("{OUTDIR}/{name}"),
        );
    }
    for (k, _) in &recipe.options {
        let on = options.build_options.contains(&k.value);
        set(&format!("options.{}.enabled", k.value), on.to_string());
    }
    for name in &options.build_options {
        set(&format!("options.{name}.enabled"), "true".into());
    }
    for (k, v) in parse_scope.iter().filter(|(k, _)| k.starts_with("vars.")) {
        scope.insert(k.clone(), v.clone());
    }
    // Build options' vars reach placeholders that survived parsing.
    for (name, option) in &recipe.options {
        if options.build_options.contains(&name.value) {
            for (k, v) in &option.vars {
                scope.insert(format!("vars.{}", k.value), v.value.clone());
            }
        }
    }
    scope
}

/// The scope of a subpackage's steps.
pub fn subpackage_scope<'a>(global: &'a Scope, name: &str) -> Layer<'a> {
    let mut own = Scope::new();
    let dir = format!("{OUTDIR}/{name}");
    own.insert("context.name".into(), name.to_owned());
    own.insert("subpkg.name".into(), name.to_owned());
    own.insert("targets.contextdir".into(), dir.clone());
    own.insert("targets.subpkgdir".into(), dir);
    Layer {
        own,
        parent: global,
    }
}

pub struct Substituter<'a> {
    pub diags: &'a mut Diagnostics,
    pub recipe_file: &'a SourceFile,
}

impl Substituter<'_> {
    fn report(&mut self, file: &SourceFile, text: &Text, errors: Vec<TemplateError>, origin: Span) {
        for e in errors {
            let span = narrow(file, text, &e);
            let mut d = Diagnostic::new(Code::Template, file, span, e.message).with_label("here");
            if file.name() != self.recipe_file.name() {
                d = d.from_pipeline(self.recipe_file, origin);
            }
            self.diags.push(d);
        }
    }

    fn fill(&mut self, file: &SourceFile, text: &Text, scope: &dyn Lookup, origin: Span) -> String {
        match template::substitute(&text.value, scope) {
            Ok(v) => v,
            Err(errors) => {
                self.report(file, text, errors, origin);
                String::new()
            }
        }
    }

    /// Resolves steps in `scope`; `parent_wd` is the enclosing step's directory.
    pub fn steps(
        &mut self,
        steps: &[ExpandedStep],
        scope: &dyn Lookup,
        parent_wd: Option<&str>,
    ) -> Vec<ResolvedStep> {
        steps
            .iter()
            .map(|s| self.step(s, scope, parent_wd))
            .collect()
    }

    fn step(
        &mut self,
        step: &ExpandedStep,
        parent: &dyn Lookup,
        parent_wd: Option<&str>,
    ) -> ResolvedStep {
        let own;
        let mut call = None;
        let scope: &dyn Lookup = if step.inputs.is_empty() {
            parent
        } else {
            let mut layer = Scope::new();
            let mut inputs = BTreeMap::new();
            for (name, value, file) in &step.inputs {
                let resolved = self.fill(file, value, parent, step.origin);
                layer.insert(format!("inputs.{name}"), resolved.clone());
                inputs.insert(name.clone(), resolved);
            }
            call = Some(Call {
                name: step.uses.clone(),
                builtin: step.builtin,
                inputs,
            });
            own = Layer { own: layer, parent };
            &own
        };
        if call.is_none() && !step.uses.is_empty() {
            call = Some(Call {
                name: step.uses.clone(),
                builtin: step.builtin,
                inputs: BTreeMap::new(),
            });
        }
        let file = &step.file;
        let runs = self.fill(file, &step.runs, scope, step.origin);
        let wd = self.fill(file, &step.working_directory, scope, step.origin);
        let workdir = if wd.is_empty() {
            parent_wd.unwrap_or(WORKSPACE).to_owned()
        } else if wd.starts_with('/') {
            wd
        } else {
            format!("{WORKSPACE}/{}", wd.trim_start_matches("./"))
        };
        let if_ = if step.if_.is_empty() {
            String::new()
        } else {
            // Compile-time values enter conditions as quoted literals.
            let lookup = |n: &str| scope.lookup(n);
            match substitute_emit(&step.if_.value, lookup, |out, v| out.push_str(&quote(v))) {
                Ok(filled) => filled,
                Err(errors) => {
                    self.report(file, &step.if_, errors, step.origin);
                    String::new()
                }
            }
        };
        let needs = step
            .needs
            .iter()
            .map(|n| self.fill(&step.needs_file, n, scope, step.origin))
            .filter(|n| !n.is_empty())
            .collect();
        let children = self.steps(&step.children, scope, Some(&workdir));
        // Labels quote scripts as written; show them filled in.
        let label = if step.label.contains("${{") {
            template::substitute(&step.label, scope).unwrap_or_else(|_| step.label.clone())
        } else {
            step.label.clone()
        };
        let label = shorten(label);
        ResolvedStep {
            label,
            runs,
            if_,
            if_text: step.if_.clone(),
            workdir,
            environment: step.environment.clone(),
            needs,
            children,
            file: file.clone(),
            origin: step.origin,
            required_steps: step.required_steps,
            call,
            native: None,
        }
    }
}

/// Keeps the last part of a label (a script's first line, usually) short.
fn shorten(label: String) -> String {
    let last = label.rfind(" › ").map_or(0, |i| i + " › ".len());
    let tail = &label[last..];
    if tail.chars().count() <= 60 {
        return label;
    }
    let cut: String = tail.chars().take(59).collect();
    format!("{}{cut}…", &label[..last])
}

/// The span of the failing placeholder when the text is written verbatim in
/// the file; otherwise the whole text.
fn narrow(file: &SourceFile, text: &Text, e: &TemplateError) -> Span {
    let src = file.text();
    let (start, end) = (text.span.start as usize, text.span.end as usize);
    let Some(written) = src.get(start..end) else {
        return text.span;
    };
    let needle = text.value.get(e.start..e.end).unwrap_or("");
    if !needle.is_empty() {
        if let Some(at) = written.find(needle) {
            return Span::new(start + at, start + at + needle.len());
        }
    }
    text.span
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::front::load::load_recipe;
    use crate::library::PipelineLibrary;
    use crate::options::Arch;
    use crate::passes::expand::Expander;

    fn resolve(text: &str, lib: &PipelineLibrary) -> (Vec<ResolvedStep>, Diagnostics) {
        let file = SourceFile::new("r.yaml", text);
        let recipe = load_recipe(&file).unwrap();
        let (recipe, parse) =
            crate::passes::parse_time::apply(&file, recipe, &Options::new(Arch::Aarch64)).unwrap();
        let mut e = Expander::new(&file, lib);
        let steps = e.expand(&recipe.pipeline);
        let mut diags = e.diags;
        let scope = global_scope(&recipe, &parse, &Options::new(Arch::Aarch64), &["p"]);
        let mut s = Substituter {
            diags: &mut diags,
            recipe_file: &file,
        };
        let out = s.steps(&steps, &scope, None);
        (out, diags)
    }

    #[test]
    fn compile_time_variables_and_workdir() {
        let (steps, diags) = resolve(
            "package: {name: p, version: 1}\npipeline:\n  - working-directory: src\n    runs: echo ${{ build.arch }} ${{targets.destdir}}\n    pipeline:\n      - runs: pwd\n",
            &PipelineLibrary::default(),
        );
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(steps[0].runs, "echo aarch64 /home/build/melange-out/p");
        assert_eq!(steps[0].workdir, "/home/build/src");
        assert_eq!(steps[0].children[0].workdir, "/home/build/src");
    }

    #[test]
    fn conditions_get_quoted_values() {
        let (steps, _) = resolve(
            "package: {name: p, version: 1}\npipeline:\n  - if: ${{build.arch}} == 'x86_64'\n    runs: a\n",
            &PipelineLibrary::default(),
        );
        assert_eq!(steps[0].if_, "\"aarch64\" == 'x86_64'");
    }

    #[test]
    fn inputs_flow_down_and_defaults_see_the_caller() {
        let mut lib = PipelineLibrary::default();
        lib.add_dir(
            "d",
            [
                ("outer".into(), "inputs:\n  dir:\n    default: ${{targets.contextdir}}/x\npipeline:\n  - uses: inner\n".into()),
                ("inner".into(), "pipeline:\n  - runs: ls ${{inputs.dir}}\n".into()),
            ],
        );
        let (steps, diags) = resolve(
            "package: {name: p, version: 1}\npipeline:\n  - uses: outer\n",
            &lib,
        );
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(
            steps[0].children[0].children[0].runs,
            "ls /home/build/melange-out/p/x"
        );
    }

    #[test]
    fn unknown_variable_points_at_it() {
        let text = "package: {name: p, version: 1}\npipeline:\n  - runs: echo ${{nope.nope}}\n";
        let (_, diags) = resolve(text, &PipelineLibrary::default());
        let d = &diags.0[0];
        assert_eq!(d.message, "variable nope.nope not defined");
        assert_eq!(
            &text[d.span.start as usize..d.span.end as usize],
            "${{nope.nope}}"
        );
    }
}
