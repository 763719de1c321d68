//! Expand `uses:`: each `uses:` step takes its definition's inputs,
//! needs and nested steps; `with:` is checked against the declared inputs and
//! defaults fill the gaps. Values stay templates here; `substitute` resolves
//! them in their scope.

use crate::front::diagnostics::{Code, Diagnostic, Diagnostics, Note};
use crate::front::recipe::{Input, Recipe, Step, Text};
use crate::ir::{Expanded, ExpandedStep};
use crate::library::{Origin, PipelineLibrary};
use crate::passes::native::is_hex;
use crate::source::{SourceFile, Span};

/// Steps may nest this deep, counting both inline `pipeline:` lists and
/// `uses:`: later passes walk the tree recursively, and real recipes stay
/// under ten.
pub const MAX_DEPTH: usize = 32;

/// A recipe may expand to this many steps in all, counting every step of
/// every pipeline it uses: a few pipelines that each use the next ten times
/// would otherwise make billions. Wolfi's largest stay under a thousand.
pub const MAX_STEPS: usize = 50_000;

/// Expands the package's steps, each subpackage's, and the tests': a build
/// does not run tests, but melange compiles them, so their `uses:` must
/// resolve and their inputs must check.
pub fn expand(
    recipe_file: &SourceFile,
    library: &PipelineLibrary,
    recipe: &Recipe,
    diags: &mut Diagnostics,
) -> Expanded {
    let mut expander = Expander::new(recipe_file, library);
    let main = expander.expand(&recipe.pipeline);
    let subpackages = recipe
        .subpackages
        .iter()
        .map(|s| expander.expand(&s.pipeline))
        .collect();
    let mut tests = Vec::new();
    if let Some(t) = &recipe.test {
        tests.push((None, expander.expand(&t.pipeline)));
    }
    for s in &recipe.subpackages {
        if let Some(t) = &s.test {
            tests.push((Some(s.name.value.clone()), expander.expand(&t.pipeline)));
        }
    }
    diags.0.append(&mut expander.diags.0);
    Expanded {
        main,
        subpackages,
        tests,
    }
}

/// What `expand` needs to know besides the steps.
pub struct Expander<'a> {
    pub recipe_file: &'a SourceFile,
    pub library: &'a PipelineLibrary,
    pub diags: Diagnostics,
    /// The pipelines being expanded, outermost first.
    chain: Vec<String>,
    /// Steps made so far; past `MAX_STEPS` nothing more is expanded.
    steps: usize,
}

impl<'a> Expander<'a> {
    pub fn new(recipe_file: &'a SourceFile, library: &'a PipelineLibrary) -> Expander<'a> {
        Expander {
            recipe_file,
            library,
            diags: Diagnostics::default(),
            chain: Vec::new(),
            steps: 0,
        }
    }

    /// Expands recipe-level steps.
    pub fn expand(&mut self, steps: &[Step]) -> Vec<ExpandedStep> {
        let file = self.recipe_file.clone();
        steps
            .iter()
            .map(|s| self.step(s, &file, None, "", 0))
            .collect()
    }

    fn error(
        &mut self,
        file: &SourceFile,
        span: Span,
        origin: Option<Span>,
        message: String,
        label: &str,
    ) {
        let mut d = Diagnostic::new(Code::Uses, file, span, message).with_label(label.to_owned());
        if let Some(origin) = origin {
            d = d.from_pipeline(self.recipe_file, origin);
        }
        self.diags.push(d);
    }

    fn step(
        &mut self,
        step: &Step,
        file: &SourceFile,
        origin: Option<Span>,
        prefix: &str,
        depth: usize,
    ) -> ExpandedStep {
        let own = if !step.name.is_empty() {
            step.name.value.clone()
        } else if !step.uses.is_empty() {
            step.uses.value.clone()
        } else if !prefix.is_empty() && file.name() != self.recipe_file.name() {
            // An unnamed step of a pipeline definition is that pipeline's
            // work; its first script line would say less.
            String::new()
        } else {
            first_line(&step.runs.value)
        };
        let label = match (prefix.is_empty(), own.is_empty()) {
            (true, _) => own,
            (false, true) => prefix.to_owned(),
            (false, false) => format!("{prefix} › {own}"),
        };
        let here = origin.unwrap_or(step.span);
        let mut out = ExpandedStep {
            label: label.clone(),
            uses: step.uses.value.clone(),
            builtin: false,
            runs: step.runs.clone(),
            if_: step.if_.clone(),
            working_directory: step.working_directory.clone(),
            environment: step.environment.clone(),
            needs: step.needs.clone(),
            needs_file: file.clone(),
            inputs: Vec::new(),
            children: Vec::new(),
            file: file.clone(),
            origin: here,
            required_steps: step.required_steps,
        };
        if self.steps >= MAX_STEPS {
            // Reported once; the count then stays one past the limit.
            if self.steps == MAX_STEPS {
                self.steps += 1;
                let d = Diagnostic::new(
                    Code::Uses,
                    self.recipe_file,
                    here,
                    format!("the recipe expands to more than {MAX_STEPS} steps in all"),
                )
                .with_label("this step is past the limit")
                .with_help("count the steps of the pipelines `uses:` names, and of theirs");
                self.diags.push(d);
            }
            return out;
        }
        self.steps += 1;
        let inline = !step.pipeline.is_empty();
        if inline && depth >= MAX_DEPTH {
            self.error(
                file,
                step.span,
                origin,
                format!("steps nest more than {MAX_DEPTH} deep"),
                "here",
            );
            return out;
        }
        if !step.uses.is_empty() && !inline {
            self.uses(step, file, origin, &label, depth, &mut out);
        } else {
            out.children = step
                .pipeline
                .iter()
                .map(|s| self.step(s, file, origin, &label, depth + 1))
                .collect();
        }
        out
    }

    fn uses(
        &mut self,
        step: &Step,
        file: &SourceFile,
        origin: Option<Span>,
        label: &str,
        depth: usize,
        out: &mut ExpandedStep,
    ) {
        let name = step.uses.value.as_str();
        if name.starts_with('/') || name.split('/').any(|c| c == "..") {
            self.error(
                file,
                step.uses.span,
                origin,
                format!("invalid pipeline name {name:?}: it must be relative and without `..`"),
                "here",
            );
            return;
        }
        if let Some(at) = self.chain.iter().position(|n| n == name) {
            let cycle = self.chain[at..]
                .iter()
                .map(String::as_str)
                .chain([name])
                .collect::<Vec<_>>()
                .join(" uses ");
            self.error(
                file,
                step.uses.span,
                origin,
                format!("pipeline cycle: {cycle}"),
                "uses a pipeline that is already being expanded",
            );
            return;
        }
        if depth >= MAX_DEPTH {
            self.error(
                file,
                step.uses.span,
                origin,
                format!("pipeline {name:?}: steps nest more than {MAX_DEPTH} deep"),
                "here",
            );
            return;
        }
        let Some(def) = self.library.find(name) else {
            let mut d = Diagnostic::new(Code::Uses, file, step.uses.span, format!("unable to load pipeline {name:?}: not found"))
                .with_label("no such pipeline")
                .with_help("pipelines are searched in --pipeline-dir, --pipeline-dirs, /usr/share/melange/pipelines, then the built-ins");
            if let Some(origin) = origin {
                d = d.with_note(Note {
                    file: self.recipe_file.clone(),
                    span: origin,
                    message: "used from this recipe step".into(),
                });
            }
            self.diags.push(d);
            return;
        };
        let parsed = match def.parse() {
            Ok(p) => p,
            Err(errs) => {
                self.diags.0.extend(errs.0);
                return;
            }
        };
        let def_file = def.file.clone();
        out.builtin = self.library.origin(name) == Some(Origin::Builtin);
        let with_at = step.with_span.unwrap_or(step.uses.span);
        for (key, _) in &step.with {
            if !parsed.inputs.iter().any(|(k, _)| k.value == key.value) {
                self.error(
                    file,
                    key.span,
                    origin,
                    format!("undefined input {:?} to pipeline {name:?}", key.value),
                    "not an input of this pipeline",
                );
            }
        }
        for (key, input) in &parsed.inputs {
            let given = step
                .with
                .iter()
                .find(|(k, _)| k.value == key.value)
                .map(|(_, v)| v);
            let (value, value_file) = resolve_input(given, input, file, &def_file);
            if input.required && value.is_empty() {
                self.error(
                    file,
                    with_at,
                    origin,
                    format!(
                        "required input {:?} for pipeline {name:?} is missing",
                        key.value
                    ),
                    "add it under `with:`",
                );
            }
            if let Some(expect) = hex_length(&key.value) {
                let v = &value.value;
                if !v.is_empty() && !v.contains("${{") && !is_hex(v, expect) {
                    self.error(
                        &value_file,
                        value.span,
                        origin,
                        format!(
                            "input {:?} must be {expect} hexadecimal characters",
                            key.value
                        ),
                        "here",
                    );
                }
            }
            out.inputs.push((key.value.clone(), value, value_file));
        }
        out.needs = parsed.needs.clone();
        out.needs_file = def_file.clone();
        let origin = Some(origin.unwrap_or(step.span));
        self.chain.push(name.to_owned());
        out.children = parsed
            .pipeline
            .iter()
            .map(|s| self.step(s, &def_file, origin, label, depth + 1))
            .collect();
        self.chain.pop();
    }
}

/// The value of one input: the `with:` value if given and non-empty, else the
/// default, else empty; with the file it was written in.
fn resolve_input(
    given: Option<&Text>,
    input: &Input,
    caller: &SourceFile,
    def: &SourceFile,
) -> (Text, SourceFile) {
    match (given, &input.default) {
        (Some(v), _) if !v.is_empty() => (v.clone(), caller.clone()),
        (_, Some(d)) => (d.clone(), def.clone()),
        (Some(v), None) => (v.clone(), caller.clone()),
        (None, None) => (Text::default(), def.clone()),
    }
}

/// Inputs melange checks by name.
fn hex_length(name: &str) -> Option<usize> {
    match name {
        "expected-sha256" => Some(64),
        "expected-sha512" => Some(128),
        "expected-commit" => Some(40),
        _ => None,
    }
}

/// The first command line; shortened once its placeholders are filled.
fn first_line(script: &str) -> String {
    script
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .unwrap_or("")
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::front::load::load_recipe;

    fn lib() -> PipelineLibrary {
        let mut lib = PipelineLibrary::default();
        lib.add_dir(
            "p",
            [
                ("greet".to_owned(), "needs:\n  packages: [busybox]\ninputs:\n  who:\n    required: true\n  how:\n    default: hello\npipeline:\n  - runs: echo ${{inputs.how}} ${{inputs.who}}\n".to_owned()),
                ("outer".to_owned(), "inputs:\n  x:\n    default: 1\npipeline:\n  - uses: greet\n    with:\n      nope: 1\n".to_owned()),
            ],
        );
        lib
    }

    fn expand(text: &str) -> (Vec<ExpandedStep>, Diagnostics) {
        let file = SourceFile::new("r.yaml", text);
        let recipe = load_recipe(&file).unwrap();
        let lib = lib();
        let mut e = Expander::new(&file, &lib);
        let steps = e.expand(&recipe.pipeline);
        (steps, e.diags)
    }

    #[test]
    fn defaults_fill_and_needs_come_along() {
        let (steps, diags) = expand("package: {name: a, version: 1}\npipeline:\n  - uses: greet\n    with:\n      who: world\n");
        assert!(diags.is_empty(), "{diags:?}");
        let s = &steps[0];
        assert_eq!(
            s.inputs
                .iter()
                .map(|(k, v, _)| (k.as_str(), v.value.as_str()))
                .collect::<Vec<_>>(),
            [("who", "world"), ("how", "hello")]
        );
        assert_eq!(s.needs[0].value, "busybox");
        assert_eq!(s.children.len(), 1);
        assert_eq!(s.children[0].label, "greet");
    }

    #[test]
    fn missing_required_points_at_with() {
        let text = "package: {name: a, version: 1}\npipeline:\n  - uses: greet\n    with:\n      how: hi\n";
        let (_, diags) = expand(text);
        assert_eq!(
            diags.0[0].message,
            "required input \"who\" for pipeline \"greet\" is missing"
        );
        assert_eq!(diags.0[0].line(), 4);
    }

    #[test]
    fn unknown_input_points_at_the_key() {
        let (_, diags) = expand("package: {name: a, version: 1}\npipeline:\n  - uses: greet\n    with:\n      who: x\n      colour: red\n");
        assert_eq!(
            diags.0[0].message,
            "undefined input \"colour\" to pipeline \"greet\""
        );
        assert_eq!(diags.0[0].line(), 6);
    }

    #[test]
    fn nested_errors_point_at_the_recipe_with_a_note() {
        let (_, diags) = expand("package: {name: a, version: 1}\npipeline:\n  - uses: outer\n");
        let d = &diags.0[0];
        assert_eq!(d.file.name(), "r.yaml");
        assert_eq!(d.line(), 3);
        assert_eq!(d.notes[0].file.name(), "p/outer.yaml");
    }

    #[test]
    fn nested_missing_and_unknown_inputs_both_reach_the_recipe() {
        let (_, diags) = expand(
            "package: {name: a, version: 1}\npipeline:\n  - uses: outer\n    with:\n      x: 2\n",
        );
        let mut seen: Vec<(String, u32, u32)> = diags
            .0
            .iter()
            .map(|d| {
                let note = &d.notes[0];
                assert_eq!(note.file.name(), "p/outer.yaml");
                (
                    d.message.clone(),
                    d.line(),
                    note.file.line_of(note.span.start),
                )
            })
            .collect();
        seen.sort();
        assert_eq!(
            seen,
            [
                (
                    "required input \"who\" for pipeline \"greet\" is missing".to_owned(),
                    3,
                    6
                ),
                (
                    "undefined input \"nope\" to pipeline \"greet\"".to_owned(),
                    3,
                    7
                ),
            ]
        );
    }

    fn cyclic_lib() -> PipelineLibrary {
        let mut lib = PipelineLibrary::default();
        let file = |uses: &str| format!("pipeline:\n  - uses: {uses}\n");
        lib.add_dir(
            "p",
            [
                ("a".to_owned(), file("b")),
                ("b".to_owned(), file("c")),
                ("c".to_owned(), file("b")),
                ("me".to_owned(), file("me")),
            ],
        );
        lib
    }

    fn expand_with(lib: &PipelineLibrary, text: &str) -> Diagnostics {
        let file = SourceFile::new("r.yaml", text);
        let recipe = load_recipe(&file).unwrap();
        let mut e = Expander::new(&file, lib);
        e.expand(&recipe.pipeline);
        e.diags
    }

    #[test]
    fn a_cycle_through_pipeline_files_is_named() {
        let lib = cyclic_lib();
        let diags = expand_with(
            &lib,
            "package: {name: a, version: 1}\npipeline:\n  - uses: a\n",
        );
        assert_eq!(diags.0.len(), 1);
        let d = &diags.0[0];
        assert_eq!(d.message, "pipeline cycle: b uses c uses b");
        assert_eq!((d.file.name(), d.line()), ("r.yaml", 3));
        assert_eq!(d.notes[0].file.name(), "p/c.yaml");
        let diags = expand_with(
            &lib,
            "package: {name: a, version: 1}\npipeline:\n  - uses: me\n",
        );
        assert_eq!(diags.0[0].message, "pipeline cycle: me uses me");
    }

    #[test]
    fn the_same_pipeline_twice_in_a_row_is_no_cycle() {
        let diags = expand(
            "package: {name: a, version: 1}\npipeline:\n  - uses: greet\n    with: {who: a}\n  - uses: greet\n    with: {who: b}\n",
        )
        .1;
        assert!(diags.is_empty(), "{diags:?}");
    }

    #[test]
    fn fan_out_stops_at_the_step_limit() {
        let mut lib = PipelineLibrary::default();
        let mut files = Vec::new();
        for level in 0..8 {
            let uses = format!("  - uses: l{}\n", level + 1).repeat(10);
            files.push((format!("l{level}"), format!("pipeline:\n{uses}")));
        }
        files.push(("l8".to_owned(), "pipeline:\n  - runs: x\n".to_owned()));
        lib.add_dir("p", files);
        let file = SourceFile::new(
            "r.yaml",
            "package: {name: a, version: 1}\npipeline:\n  - uses: l0\n",
        );
        let recipe = load_recipe(&file).unwrap();
        let mut e = Expander::new(&file, &lib);
        e.expand(&recipe.pipeline);
        // The work done is bounded by the limit, not by the fan-out.
        assert_eq!(e.steps, MAX_STEPS + 1);
        assert_eq!(e.diags.0.len(), 1);
        assert_eq!(
            e.diags.0[0].message,
            format!("the recipe expands to more than {MAX_STEPS} steps in all")
        );
        assert_eq!(e.diags.0[0].line(), 3);
    }

    #[test]
    fn inline_nesting_is_bounded() {
        let mut text = String::from("package: {name: a, version: 1}\npipeline:\n");
        for depth in 0..=MAX_DEPTH {
            text.push_str(&format!("{}- pipeline:\n", "  ".repeat(2 * depth + 1)));
        }
        text.push_str(&format!("{}- runs: x\n", "  ".repeat(2 * MAX_DEPTH + 3)));
        let diags = expand(&text).1;
        assert_eq!(diags.0.len(), 1);
        assert_eq!(diags.0[0].message, "steps nest more than 32 deep");
    }

    #[test]
    fn unknown_pipeline() {
        let (_, diags) = expand("package: {name: a, version: 1}\npipeline:\n  - uses: nope/nope\n");
        assert!(diags.0[0]
            .message
            .contains("unable to load pipeline \"nope/nope\""));
    }
}
