//! The steps between the recipe and the IR: after `expand` (every `uses:`
//! replaced by its definition, texts still templates) and after
//! `substitute` (every template filled, conditions still to evaluate).

use std::collections::BTreeMap;

use super::guest::WORKSPACE;
use super::NativeSource;
use crate::front::recipe::{Text, TextMap};
use crate::source::{SourceFile, Span};

/// A recipe's steps with every `uses:` expanded.
#[derive(Clone, Debug, Default)]
pub struct Expanded {
    pub main: Vec<ExpandedStep>,
    /// One list per subpackage, in recipe order.
    pub subpackages: Vec<Vec<ExpandedStep>>,
    /// Each `test:` section's steps, with the subpackage it tests (`None`
    /// for the package's own).
    pub tests: Vec<(Option<String>, Vec<ExpandedStep>)>,
}

/// A recipe's steps with every template filled in.
#[derive(Clone, Debug, Default)]
pub struct Resolved {
    pub main: Vec<ResolvedStep>,
    /// One list per subpackage, in recipe order.
    pub subpackages: Vec<Vec<ResolvedStep>>,
    /// Each `test:` section's steps, as in [`Expanded::tests`].
    pub tests: Vec<(Option<String>, Vec<ResolvedStep>)>,
}

/// The steps that run: those whose `if` holds, of the package and of each
/// subpackage whose `if` holds.
#[derive(Clone, Debug, Default)]
pub struct Folded {
    pub main: Vec<ResolvedStep>,
    /// The index of each kept subpackage in the recipe, and its steps.
    pub subpackages: Vec<(usize, Vec<ResolvedStep>)>,
    /// The `needs.packages` of every kept step, in step order.
    pub needs: Vec<String>,
}

impl Folded {
    /// Every kept list of steps, the package's first.
    pub fn lists_mut(&mut self) -> impl Iterator<Item = &mut Vec<ResolvedStep>> {
        std::iter::once(&mut self.main).chain(self.subpackages.iter_mut().map(|(_, s)| s))
    }
}

/// A step with its `uses:` expanded. Texts are still templates.
#[derive(Clone, Debug)]
pub struct ExpandedStep {
    /// Human label: the step's name, its `uses:`, or its first script line.
    pub label: String,
    pub uses: String,
    /// `uses:` resolved to a built-in (not shadowed by a directory).
    pub builtin: bool,
    pub runs: Text,
    pub if_: Text,
    pub working_directory: Text,
    pub environment: TextMap,
    pub needs: Vec<Text>,
    /// Where `needs` was written (the definition file for `uses:` steps).
    pub needs_file: SourceFile,
    /// This step's own inputs (`uses:` steps only): name, value template,
    /// and the file the value was written in.
    pub inputs: Vec<(String, Text, SourceFile)>,
    pub children: Vec<ExpandedStep>,
    /// The file the texts above were written in.
    pub file: SourceFile,
    /// The recipe step this step comes from (for source maps and notes).
    pub origin: Span,
    pub required_steps: Option<(i64, Span)>,
}

/// A step with every template resolved; `if_` still to be evaluated.
#[derive(Clone, Debug)]
pub struct ResolvedStep {
    pub label: String,
    pub runs: String,
    pub if_: String,
    pub if_text: Text,
    pub workdir: String,
    pub environment: TextMap,
    pub needs: Vec<String>,
    pub children: Vec<ResolvedStep>,
    pub file: SourceFile,
    pub origin: Span,
    pub required_steps: Option<(i64, Span)>,
    /// The `uses:` this step is, with its inputs resolved.
    pub call: Option<Call>,
    /// Set by the `native` pass.
    pub native: Option<NativeSource>,
}

/// A `uses:` step: the pipeline's name and its final input values.
#[derive(Clone, Debug, Default)]
pub struct Call {
    pub name: String,
    pub builtin: bool,
    pub inputs: BTreeMap<String, String>,
}

impl ResolvedStep {
    /// A step of `file` that runs nothing, in the workspace: what the
    /// passes' tests build on.
    pub fn empty(file: SourceFile) -> ResolvedStep {
        ResolvedStep {
            label: String::new(),
            runs: String::new(),
            if_: String::new(),
            if_text: Text::default(),
            workdir: WORKSPACE.to_owned(),
            environment: Vec::new(),
            needs: Vec::new(),
            children: Vec::new(),
            file,
            origin: Span::default(),
            required_steps: None,
            call: None,
            native: None,
        }
    }
}
