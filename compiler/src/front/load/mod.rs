//! Load: YAML text -> `Recipe`, keeping spans. Decoding is strict as
//! melange's is for recipes (an unknown field anywhere is an error) and
//! lenient for pipeline definition files. One module per part of the
//! recipe; this one holds the entry points and the readers of scalars,
//! lists and maps they share.

mod environment;
mod options;
mod package;
mod pipeline;
mod shapes;

use std::collections::HashMap;

use shapes::UPDATE;

use crate::front::diagnostics::{Code, Diagnostic, Diagnostics};
use crate::front::recipe::*;
use crate::front::yaml::{self, Node, NodeKind};
use crate::source::{SourceFile, Span};

/// Loads a recipe.
pub fn load_recipe(file: &SourceFile) -> Result<Recipe, Diagnostics> {
    let root = yaml::parse(file)?;
    let mut r = Reader::new(file, false);
    let recipe = r.recipe(&root);
    r.diags.finish(recipe)
}

/// Loads a `uses:` pipeline definition.
pub fn load_pipeline_def(file: &SourceFile) -> Result<PipelineDef, Diagnostics> {
    let root = yaml::parse(file)?;
    let mut r = Reader::new(file, true);
    let def = r.pipeline_def(&root);
    r.diags.finish(def)
}

/// Loads a `--vars-file`: a flat map of strings.
pub fn load_vars_file(file: &SourceFile) -> Result<TextMap, Diagnostics> {
    let root = yaml::parse(file)?;
    let mut r = Reader::new(file, false);
    let vars = if root.is_null() {
        Vec::new()
    } else {
        r.text_map(&root)
    };
    r.diags.finish(vars)
}

pub(super) struct Reader<'a> {
    pub(super) file: &'a SourceFile,
    pub(super) diags: Diagnostics,
    lenient: bool,
}

impl<'a> Reader<'a> {
    pub(super) fn new(file: &'a SourceFile, lenient: bool) -> Reader<'a> {
        Reader {
            file,
            diags: Diagnostics::default(),
            lenient,
        }
    }

    pub(super) fn error(&mut self, span: Span, message: String) {
        let d = Diagnostic::new(Code::Load, self.file, span, message);
        self.diags.push(d);
    }

    /// Points at the node's first line only: a wrong collection may span
    /// thousands, and the report would quote every one.
    pub(super) fn type_error(&mut self, node: &Node, target: &str) {
        let msg = format!("cannot unmarshal {} into {target}", node.type_name());
        let span = first_line(self.file, node.span);
        self.diags.push(
            Diagnostic::new(Code::Load, self.file, span, msg)
                .with_label(format!("expected {target}")),
        );
    }

    /// The entries of a mapping, after checking keys are scalars and unique.
    pub(super) fn entries<'n>(
        &mut self,
        node: &'n Node,
        ty: &str,
    ) -> Vec<(&'n str, &'n Node, &'n Node)> {
        let NodeKind::Map(entries) = &node.kind else {
            if !node.is_null() {
                self.type_error(node, ty);
            }
            return Vec::new();
        };
        let mut out: Vec<(&str, &Node, &Node)> = Vec::with_capacity(entries.len());
        // Where each key was first written: a map may hold thousands.
        let mut firsts: HashMap<&str, &Node> = HashMap::with_capacity(entries.len());
        for (k, v) in entries {
            let Some(key) = k.as_scalar() else {
                self.type_error(k, "a string key");
                continue;
            };
            if let Some(first) = firsts.get(key) {
                let line = self.file.line_of(first.span.start);
                self.error(
                    k.span,
                    format!("mapping key \"{key}\" already defined at line {line}"),
                );
                continue;
            }
            firsts.insert(key, k);
            out.push((key, k, v));
        }
        out
    }

    pub(super) fn unknown(&mut self, key: &Node, ty: &str) {
        if self.lenient {
            return;
        }
        let name = key.as_scalar().unwrap_or_default();
        self.diags.push(
            Diagnostic::new(
                Code::Load,
                self.file,
                key.span,
                format!("field {name} not found in type {ty}"),
            )
            .with_label("unknown field"),
        );
    }

    pub(super) fn text(&mut self, node: &Node) -> Text {
        match &node.kind {
            NodeKind::Scalar { value, .. } if node.is_null() && value != "null" => {
                Text::new("", node.span)
            }
            NodeKind::Scalar { plain: true, value } if value == "null" => Text::new("", node.span),
            NodeKind::Scalar { value, .. } => Text::new(value.clone(), node.span),
            _ => {
                self.type_error(node, "string");
                Text::new("", node.span)
            }
        }
    }

    pub(super) fn texts(&mut self, node: &Node) -> Vec<Text> {
        match &node.kind {
            NodeKind::Seq(items) => items.iter().map(|n| self.text(n)).collect(),
            _ if node.is_null() => Vec::new(),
            _ => {
                self.type_error(node, "[]string");
                Vec::new()
            }
        }
    }

    pub(super) fn text_map(&mut self, node: &Node) -> TextMap {
        let entries = self.entries(node, "map[string]string");
        entries
            .into_iter()
            .map(|(key, k, v)| (Text::new(key, k.span), self.text(v)))
            .collect()
    }

    pub(super) fn boolean(&mut self, node: &Node) -> bool {
        match node.as_scalar() {
            Some("true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON") => true,
            Some("false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF") => false,
            _ if node.is_null() => false,
            _ => {
                self.type_error(node, "bool");
                false
            }
        }
    }

    pub(super) fn integer(&mut self, node: &Node, target: &str) -> Option<i64> {
        if node.is_null() {
            return None;
        }
        let parsed = node.as_scalar().and_then(parse_int);
        if parsed.is_none() {
            self.type_error(node, target);
        }
        parsed
    }

    pub(super) fn unsigned(&mut self, node: &Node, target: &str) -> Option<u64> {
        match self.integer(node, target) {
            Some(n) if n >= 0 => Some(n as u64),
            Some(_) => {
                self.type_error(node, target);
                None
            }
            None => None,
        }
    }

    pub(super) fn id(&mut self, node: &Node) -> Option<u32> {
        self.unsigned(node, "uint32")
            .and_then(|n| u32::try_from(n).ok())
    }

    pub(super) fn list<T>(
        &mut self,
        node: &Node,
        ty: &str,
        item: fn(&mut Self, &Node) -> T,
    ) -> Vec<T> {
        match &node.kind {
            NodeKind::Seq(items) => items.iter().map(|n| item(self, n)).collect(),
            _ if node.is_null() => Vec::new(),
            _ => {
                self.type_error(node, ty);
                Vec::new()
            }
        }
    }
}

impl Reader<'_> {
    pub(super) fn recipe(&mut self, root: &Node) -> Recipe {
        let mut recipe = Recipe::default();
        let mut saw_package = false;
        for (key, k, v) in self.entries(root, "config.Configuration") {
            match key {
                "package" => {
                    saw_package = true;
                    recipe.package = self.package(v);
                }
                "environment" => recipe.environment = self.environment(v),
                "capabilities" => {
                    for (key, k, v) in self.entries(v, "config.Capabilities") {
                        match key {
                            "add" => recipe.capabilities.add = self.texts(v),
                            "drop" => recipe.capabilities.drop = self.texts(v),
                            _ => self.unknown(k, "config.Capabilities"),
                        }
                    }
                }
                "pipeline" => recipe.pipeline = self.steps(v),
                "subpackages" => {
                    recipe.subpackages = self.list(v, "[]config.Subpackage", Self::subpackage)
                }
                "data" => recipe.data = self.list(v, "[]config.RangeData", Self::data_set),
                "vars" => recipe.vars = self.text_map(v),
                "var-transforms" => {
                    recipe.var_transforms =
                        self.list(v, "[]config.VarTransforms", Self::var_transform)
                }
                "options" => {
                    for (key, k, v) in self.entries(v, "map[string]config.BuildOption") {
                        let option = self.build_option(v);
                        recipe.options.push((Text::new(key, k.span), option));
                    }
                }
                "test" => recipe.test = Some(self.test(k, v)),
                "update" => recipe.update = self.kept(v, &UPDATE),
                _ => self.unknown(k, "config.Configuration"),
            }
        }
        if !saw_package {
            self.error(root.span, "recipe has no `package:` section".into());
        }
        recipe
    }
}

/// The part of `span` on its first line, or `span` if that part is blank.
fn first_line(file: &SourceFile, span: Span) -> Span {
    let (start, end) = (span.start as usize, span.end as usize);
    let text = file.text().get(start..end).unwrap_or_default();
    match text.find('\n') {
        Some(n) if !text[..n].trim().is_empty() => {
            Span::new(start, start + text[..n].trim_end().len())
        }
        _ => span,
    }
}

/// Integers as Go's YAML decoder reads them: decimal, `0x`, `0o`, `0b`, `_`.
fn parse_int(s: &str) -> Option<i64> {
    let s = s.trim();
    let (neg, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let body = body.replace('_', "");
    let n = if let Some(hex) = body.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()?
    } else if let Some(oct) = body.strip_prefix("0o") {
        i64::from_str_radix(oct, 8).ok()?
    } else if let Some(bin) = body.strip_prefix("0b") {
        i64::from_str_radix(bin, 2).ok()?
    } else if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    } else {
        body.parse().ok()?
    };
    Some(if neg { -n } else { n })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Recipe, Diagnostics> {
        load_recipe(&SourceFile::new("t.yaml", text))
    }

    #[test]
    fn reads_package_and_steps_with_spans() {
        let text = "package:\n  name: hello\n  version: 1.0\n  epoch: 2\npipeline:\n  - runs: echo hi\n    name: greet\n";
        let r = load(text).unwrap();
        assert_eq!(r.package.name.value, "hello");
        assert_eq!(r.package.version.value, "1.0");
        assert_eq!(r.package.epoch, 2);
        let step = &r.pipeline[0];
        assert_eq!(step.runs.value, "echo hi");
        assert_eq!(
            &text[step.runs.span.start as usize..step.runs.span.end as usize],
            "echo hi"
        );
        assert_eq!(step.name.value, "greet");
    }

    #[test]
    fn unknown_field_is_reported_like_melange() {
        let err = load("package:\n  name: a\n  version: 1\n  colour: red\n").unwrap_err();
        assert_eq!(
            err.0[0].message,
            "field colour not found in type config.Package"
        );
        assert_eq!(err.0[0].line(), 4);
    }

    #[test]
    fn range_on_a_step_is_rejected() {
        let err = load("package: {name: a, version: 1}\npipeline:\n  - range: x\n").unwrap_err();
        assert!(err.0[0]
            .message
            .contains("field range not found in type config.Pipeline"));
    }

    #[test]
    fn wrong_type_is_reported() {
        let err =
            load("package: {name: a, version: 1}\npipeline:\n  - runs: [a, b]\n").unwrap_err();
        assert_eq!(err.0[0].message, "cannot unmarshal !!seq into string");
        assert_eq!(err.0[0].line(), 3);
    }

    #[test]
    fn a_type_error_quotes_one_line() {
        let nested = format!("{}x\n", "- ".repeat(90));
        let text = format!(
            "package: {{name: a, version: 1}}\npipeline:\n  - runs:\n      {nested}      - more\n"
        );
        let err = load(&text).unwrap_err();
        assert_eq!(err.0.len(), 1);
        let span = err.0[0].span;
        assert_eq!(err.0[0].line(), 4);
        assert!(!text[span.start as usize..span.end as usize].contains('\n'));
    }

    #[test]
    fn duplicate_key_is_an_error() {
        let err = load("package: {name: a, version: 1}\nvars:\n  a: 1\n  a: 2\n").unwrap_err();
        assert!(err.0[0].message.contains("already defined at line 3"));
    }

    #[test]
    fn pipeline_definitions_are_lenient() {
        let file = SourceFile::new(
            "p.yaml",
            "name: x\nfoo: bar\npipeline:\n  - runs: a\n    description: ignored\n",
        );
        let def = load_pipeline_def(&file).unwrap();
        assert_eq!(def.pipeline.len(), 1);
    }

    #[test]
    fn bad_yaml_points_at_the_error() {
        let err = load("package:\n  name: [unclosed\n").unwrap_err();
        assert!(err.0[0].message.starts_with("invalid YAML"));
    }

    #[test]
    fn integers_parse_as_go_does() {
        assert_eq!(parse_int("0x10"), Some(16));
        assert_eq!(parse_int("1_000"), Some(1000));
        assert_eq!(parse_int("abc"), None);
    }
}
