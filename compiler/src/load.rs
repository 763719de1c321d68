//! Pass 1, load: YAML text -> `Recipe`, keeping spans. Decoding is strict as
//! melange's is for recipes (an unknown field anywhere is an error) and
//! lenient for pipeline definition files.

use crate::diag::{Diagnostic, Diagnostics, SourceFile};
use crate::recipe::*;
use crate::yaml::{self, Node, NodeKind, Span};

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

/// Shape of the parts of a recipe melangec carries but does not interpret,
/// so that they are checked as strictly as the rest.
enum Shape {
    Str,
    Bool,
    Int,
    Strs,
    StrMap,
    Any,
    Map(&'static str, &'static [(&'static str, Shape)]),
    List(&'static Shape),
}

const UPDATE: Shape = Shape::Map(
    "config.Update",
    &[
        ("enabled", Shape::Bool),
        ("manual", Shape::Bool),
        ("require-sequential", Shape::Bool),
        ("shared", Shape::Bool),
        ("version-separator", Shape::Str),
        ("ignore-regex-patterns", Shape::Strs),
        ("release-monitor", RELEASE_MONITOR),
        ("github", GITHUB),
        ("git", GIT),
        ("oci", OCI),
        ("version_data", Shape::Any),
        ("version-transform", Shape::List(&VERSION_TRANSFORM)),
        ("exclude-reason", Shape::Str),
        (
            "schedule",
            Shape::Map(
                "config.Schedule",
                &[("reason", Shape::Str), ("period", Shape::Str)],
            ),
        ),
        ("enable-prerelease-tags", Shape::Bool),
    ],
);
const RELEASE_MONITOR: Shape = Shape::Map(
    "config.ReleaseMonitor",
    &[
        ("identifier", Shape::Int),
        ("strip-prefix", Shape::Str),
        ("strip-suffix", Shape::Str),
        ("version-filter-contains", Shape::Str),
        ("version-filter-prefix", Shape::Str),
    ],
);
const GITHUB: Shape = Shape::Map(
    "config.GitHubMonitor",
    &[
        ("identifier", Shape::Str),
        ("strip-prefix", Shape::Str),
        ("strip-suffix", Shape::Str),
        ("tag-filter", Shape::Str),
        ("tag-filter-prefix", Shape::Str),
        ("tag-filter-contains", Shape::Str),
        ("use-tag", Shape::Bool),
    ],
);
const GIT: Shape = Shape::Map(
    "config.GitMonitor",
    &[
        ("strip-prefix", Shape::Str),
        ("strip-suffix", Shape::Str),
        ("tag-filter-prefix", Shape::Str),
        ("tag-filter-contains", Shape::Str),
    ],
);
const OCI: Shape = Shape::Map(
    "config.OCIMonitor",
    &[
        ("identifier", Shape::Str),
        ("strip-prefix", Shape::Str),
        ("strip-suffix", Shape::Str),
        ("tag-filter-prefix", Shape::Str),
        ("tag-filter-contains", Shape::Str),
    ],
);
const VERSION_TRANSFORM: Shape = Shape::Map(
    "config.VersionTransform",
    &[("match", Shape::Str), ("replace", Shape::Str)],
);
const CPE: Shape = Shape::Map(
    "config.CPE",
    &[
        ("part", Shape::Str),
        ("vendor", Shape::Str),
        ("product", Shape::Str),
        ("edition", Shape::Str),
        ("language", Shape::Str),
        ("sw_edition", Shape::Str),
        ("target_sw", Shape::Str),
        ("target_hw", Shape::Str),
        ("other", Shape::Str),
    ],
);
const RESOURCES: Shape = Shape::Map(
    "config.Resources",
    &[
        ("cpu", Shape::Str),
        ("cpumodel", Shape::Str),
        ("memory", Shape::Str),
        ("disk", Shape::Str),
    ],
);
const SETCAP: Shape = Shape::List(&Shape::Map(
    "config.Capability",
    &[
        ("path", Shape::Str),
        ("add", Shape::StrMap),
        ("reason", Shape::Str),
    ],
));

struct Reader<'a> {
    file: &'a SourceFile,
    diags: Diagnostics,
    lenient: bool,
}

impl<'a> Reader<'a> {
    fn new(file: &'a SourceFile, lenient: bool) -> Reader<'a> {
        Reader {
            file,
            diags: Diagnostics::default(),
            lenient,
        }
    }

    fn error(&mut self, span: Span, message: String) {
        let d = Diagnostic::new(self.file, span, message).with_code("melangec::load");
        self.diags.push(d);
    }

    fn type_error(&mut self, node: &Node, target: &str) {
        let msg = format!("cannot unmarshal {} into {target}", node.type_name());
        self.diags.push(
            Diagnostic::new(self.file, node.span, msg)
                .with_code("melangec::load")
                .with_label(format!("expected {target}")),
        );
    }

    /// The entries of a mapping, after checking keys are scalars and unique.
    fn entries<'n>(&mut self, node: &'n Node, ty: &str) -> Vec<(&'n str, &'n Node, &'n Node)> {
        let NodeKind::Map(entries) = &node.kind else {
            if !node.is_null() {
                self.type_error(node, ty);
            }
            return Vec::new();
        };
        let mut out: Vec<(&str, &Node, &Node)> = Vec::with_capacity(entries.len());
        for (k, v) in entries {
            let Some(key) = k.as_scalar() else {
                self.type_error(k, "a string key");
                continue;
            };
            if let Some((_, first, _)) = out.iter().find(|(name, _, _)| *name == key) {
                let line = self.file.line_of(first.span.start);
                self.error(
                    k.span,
                    format!("mapping key \"{key}\" already defined at line {line}"),
                );
                continue;
            }
            out.push((key, k, v));
        }
        out
    }

    fn unknown(&mut self, key: &Node, ty: &str) {
        if self.lenient {
            return;
        }
        let name = key.as_scalar().unwrap_or_default();
        self.diags.push(
            Diagnostic::new(
                self.file,
                key.span,
                format!("field {name} not found in type {ty}"),
            )
            .with_code("melangec::load")
            .with_label("unknown field"),
        );
    }

    fn text(&mut self, node: &Node) -> Text {
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

    fn texts(&mut self, node: &Node) -> Vec<Text> {
        match &node.kind {
            NodeKind::Seq(items) => items.iter().map(|n| self.text(n)).collect(),
            _ if node.is_null() => Vec::new(),
            _ => {
                self.type_error(node, "[]string");
                Vec::new()
            }
        }
    }

    fn text_map(&mut self, node: &Node) -> TextMap {
        let entries = self.entries(node, "map[string]string");
        entries
            .into_iter()
            .map(|(key, k, v)| (Text::new(key, k.span), self.text(v)))
            .collect()
    }

    fn boolean(&mut self, node: &Node) -> bool {
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

    fn integer(&mut self, node: &Node, target: &str) -> Option<i64> {
        if node.is_null() {
            return None;
        }
        let parsed = node.as_scalar().and_then(parse_int);
        if parsed.is_none() {
            self.type_error(node, target);
        }
        parsed
    }

    fn unsigned(&mut self, node: &Node, target: &str) -> Option<u64> {
        match self.integer(node, target) {
            Some(n) if n >= 0 => Some(n as u64),
            Some(_) => {
                self.type_error(node, target);
                None
            }
            None => None,
        }
    }

    fn id(&mut self, node: &Node) -> Option<u32> {
        self.unsigned(node, "uint32")
            .and_then(|n| u32::try_from(n).ok())
    }

    fn check(&mut self, node: &Node, shape: &Shape) {
        match shape {
            Shape::Any => {}
            Shape::Str => {
                self.text(node);
            }
            Shape::Bool => {
                self.boolean(node);
            }
            Shape::Int => {
                self.integer(node, "int");
            }
            Shape::Strs => {
                self.texts(node);
            }
            Shape::StrMap => {
                self.text_map(node);
            }
            Shape::List(inner) => match &node.kind {
                NodeKind::Seq(items) => {
                    for item in items {
                        self.check(item, inner);
                    }
                }
                _ if node.is_null() => {}
                _ => self.type_error(node, "a list"),
            },
            Shape::Map(ty, fields) => {
                for (key, k, v) in self.entries(node, ty) {
                    match fields.iter().find(|(name, _)| *name == key) {
                        Some((_, shape)) => self.check(v, shape),
                        None => self.unknown(k, ty),
                    }
                }
            }
        }
    }

    fn kept(&mut self, node: &Node, shape: &Shape) -> Option<Node> {
        self.check(node, shape);
        Some(node.clone())
    }

    fn recipe(&mut self, root: &Node) -> Recipe {
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
                "test" => recipe.test = Some(self.test(v)),
                "update" => recipe.update = self.kept(v, &UPDATE),
                _ => self.unknown(k, "config.Configuration"),
            }
        }
        if !saw_package {
            self.error(root.span, "recipe has no `package:` section".into());
        }
        recipe
    }

    fn list<T>(&mut self, node: &Node, ty: &str, item: fn(&mut Self, &Node) -> T) -> Vec<T> {
        match &node.kind {
            NodeKind::Seq(items) => items.iter().map(|n| item(self, n)).collect(),
            _ if node.is_null() => Vec::new(),
            _ => {
                self.type_error(node, ty);
                Vec::new()
            }
        }
    }

    fn package(&mut self, node: &Node) -> Package {
        let ty = "config.Package";
        let mut p = Package {
            span: node.span,
            ..Package::default()
        };
        for (key, k, v) in self.entries(node, ty) {
            match key {
                "name" => p.name = self.text(v),
                "version" => p.version = self.text(v),
                "epoch" => p.epoch = self.unsigned(v, "uint64").unwrap_or(0),
                "description" => p.description = self.text(v),
                "url" => p.url = self.text(v),
                "commit" => p.commit = self.text(v),
                "annotations" => p.annotations = self.text_map(v),
                "target-architecture" => p.target_architecture = self.texts(v),
                "copyright" => p.copyright = self.list(v, "[]config.Copyright", Self::copyright),
                "dependencies" => p.dependencies = self.dependencies(v),
                "options" => p.options = self.package_options(v),
                "scriptlets" => p.scriptlets = self.scriptlets(v),
                "checks" => p.checks_disabled = self.checks(v),
                "cpe" => p.cpe = self.kept(v, &CPE),
                "setcap" => p.setcap = self.kept(v, &SETCAP),
                "timeout" => p.timeout = self.duration(v),
                "resources" => p.resources = self.kept(v, &RESOURCES),
                "test-resources" => p.test_resources = self.kept(v, &RESOURCES),
                _ => self.unknown(k, ty),
            }
        }
        p
    }

    /// Go decodes a duration from a string such as `90m`; only `0` passes as
    /// a bare number.
    fn duration(&mut self, node: &Node) -> Text {
        let t = self.text(node);
        let ok = t.value == "0"
            || (t.value.chars().any(|c| c.is_ascii_alphabetic())
                && t.value.chars().next().is_some_and(|c| c.is_ascii_digit()));
        if !ok && !t.value.is_empty() {
            self.error(
                node.span,
                format!("cannot unmarshal !!int `{}` into time.Duration", t.value),
            );
        }
        t
    }

    fn copyright(&mut self, node: &Node) -> Copyright {
        let ty = "config.Copyright";
        let mut c = Copyright::default();
        for (key, k, v) in self.entries(node, ty) {
            match key {
                "license" => c.license = self.text(v),
                "paths" => c.paths = self.texts(v),
                "attestation" => c.attestation = self.text(v),
                "license-path" => c.license_path = self.text(v),
                "detection-override" => c.detection_override = self.text(v),
                _ => self.unknown(k, ty),
            }
        }
        c
    }

    fn dependencies(&mut self, node: &Node) -> Dependencies {
        let ty = "config.Dependencies";
        let mut d = Dependencies::default();
        for (key, k, v) in self.entries(node, ty) {
            match key {
                "runtime" => d.runtime = self.texts(v),
                "provides" => d.provides = self.texts(v),
                "replaces" => d.replaces = self.texts(v),
                "provider-priority" => d.provider_priority = self.text(v),
                "replaces-priority" => d.replaces_priority = self.text(v),
                _ => self.unknown(k, ty),
            }
        }
        d
    }

    fn package_options(&mut self, node: &Node) -> PackageOptions {
        let ty = "config.PackageOption";
        let mut o = PackageOptions::default();
        for (key, k, v) in self.entries(node, ty) {
            match key {
                "no-provides" => o.no_provides = self.boolean(v),
                "no-depends" => o.no_depends = self.boolean(v),
                "no-commands" => o.no_commands = self.boolean(v),
                "no-versioned-shlib-deps" => o.no_versioned_shlib_deps = self.boolean(v),
                _ => self.unknown(k, ty),
            }
        }
        o
    }

    fn scriptlets(&mut self, node: &Node) -> Scriptlets {
        let ty = "config.Scriptlets";
        let mut s = Scriptlets::default();
        for (key, k, v) in self.entries(node, ty) {
            match key {
                "pre-install" => s.pre_install = self.text(v),
                "post-install" => s.post_install = self.text(v),
                "pre-deinstall" => s.pre_deinstall = self.text(v),
                "post-deinstall" => s.post_deinstall = self.text(v),
                "pre-upgrade" => s.pre_upgrade = self.text(v),
                "post-upgrade" => s.post_upgrade = self.text(v),
                "trigger" => {
                    for (key, k, v) in self.entries(v, "config.Trigger") {
                        match key {
                            "script" => s.trigger_script = self.text(v),
                            "paths" => s.trigger_paths = self.texts(v),
                            _ => self.unknown(k, "config.Trigger"),
                        }
                    }
                }
                _ => self.unknown(k, ty),
            }
        }
        s
    }

    fn checks(&mut self, node: &Node) -> Vec<Text> {
        let mut disabled = Vec::new();
        for (key, k, v) in self.entries(node, "config.Checks") {
            match key {
                "disabled" => disabled = self.texts(v),
                "enabled" => {
                    self.texts(v);
                }
                _ => self.unknown(k, "config.Checks"),
            }
        }
        disabled
    }

    fn environment(&mut self, node: &Node) -> Environment {
        let ty = "types.ImageConfiguration";
        let mut e = Environment {
            span: node.span,
            ..Environment::default()
        };
        for (key, k, v) in self.entries(node, ty) {
            match key {
                "contents" => {
                    let ty = "types.ImageContents";
                    for (key, k, v) in self.entries(v, ty) {
                        match key {
                            "repositories" => e.repositories = self.texts(v),
                            "build_repositories" => e.build_repositories = self.texts(v),
                            "keyring" => e.keyring = self.texts(v),
                            "packages" => e.packages = self.texts(v),
                            "runtime_repositories" | "runtime_keyring" => {
                                self.texts(v);
                            }
                            "baseimage" => {}
                            _ => self.unknown(k, ty),
                        }
                    }
                }
                "accounts" => {
                    let ty = "types.ImageAccounts";
                    for (key, k, v) in self.entries(v, ty) {
                        match key {
                            "users" => e.users = self.list(v, "[]types.User", Self::user),
                            "groups" => e.groups = self.list(v, "[]types.Group", Self::group),
                            "run-as" => e.run_as = self.text(v),
                            _ => self.unknown(k, ty),
                        }
                    }
                }
                "environment" => e.environment = self.text_map(v),
                "cmd" | "stop-signal" | "work-dir" | "vcs-url" | "include" => {
                    self.text(v);
                }
                "archs" | "volumes" => {
                    self.texts(v);
                }
                "annotations" => {
                    self.text_map(v);
                }
                "entrypoint" | "paths" | "layering" | "certificates" => {}
                _ => self.unknown(k, ty),
            }
        }
        e
    }

    fn user(&mut self, node: &Node) -> User {
        let ty = "types.User";
        let mut u = User::default();
        for (key, k, v) in self.entries(node, ty) {
            match key {
                "username" => u.username = self.text(v),
                "uid" => u.uid = self.id(v),
                "gid" => u.gid = self.id(v),
                "shell" => u.shell = self.text(v),
                "homedir" => u.homedir = self.text(v),
                _ => self.unknown(k, ty),
            }
        }
        u
    }

    fn group(&mut self, node: &Node) -> Group {
        let ty = "types.Group";
        let mut g = Group::default();
        for (key, k, v) in self.entries(node, ty) {
            match key {
                "groupname" => g.groupname = self.text(v),
                "gid" => g.gid = self.id(v),
                "members" => g.members = self.texts(v),
                _ => self.unknown(k, ty),
            }
        }
        g
    }

    fn steps(&mut self, node: &Node) -> Vec<Step> {
        self.list(node, "[]config.Pipeline", Self::step)
    }

    fn step(&mut self, node: &Node) -> Step {
        let ty = "config.Pipeline";
        let mut s = Step {
            span: node.span,
            ..Step::default()
        };
        for (key, k, v) in self.entries(node, ty) {
            match key {
                "name" => s.name = self.text(v),
                "uses" => s.uses = self.text(v),
                "with" => {
                    s.with = self.text_map(v);
                    s.with_span = Some(k.span.join(v.span));
                }
                "runs" => s.runs = self.text(v),
                "if" => s.if_ = self.text(v),
                "working-directory" => s.working_directory = self.text(v),
                "pipeline" => s.pipeline = self.steps(v),
                "environment" => s.environment = self.text_map(v),
                "needs" => {
                    for (key, k, v) in self.entries(v, "config.Needs") {
                        match key {
                            "packages" => s.needs = self.texts(v),
                            _ => self.unknown(k, "config.Needs"),
                        }
                    }
                }
                "inputs" => s.inputs = self.inputs(v),
                "label" => s.label = self.text(v),
                "assertions" => {
                    for (key, k, v) in self.entries(v, "config.PipelineAssertions") {
                        match key {
                            "required-steps" => {
                                s.required_steps = self.integer(v, "int").map(|n| (n, v.span))
                            }
                            _ => self.unknown(k, "config.PipelineAssertions"),
                        }
                    }
                }
                _ => self.unknown(k, ty),
            }
        }
        s
    }

    fn inputs(&mut self, node: &Node) -> Vec<(Text, Input)> {
        let mut inputs = Vec::new();
        for (key, k, v) in self.entries(node, "map[string]config.Input") {
            let mut input = Input::default();
            for (field, fk, fv) in self.entries(v, "config.Input") {
                match field {
                    "description" => input.description = self.text(fv),
                    "default" => input.default = Some(self.text(fv)),
                    "required" => input.required = self.boolean(fv),
                    _ => self.unknown(fk, "config.Input"),
                }
            }
            inputs.push((Text::new(key, k.span), input));
        }
        inputs
    }

    fn subpackage(&mut self, node: &Node) -> Subpackage {
        let ty = "config.Subpackage";
        let mut s = Subpackage {
            span: node.span,
            ..Subpackage::default()
        };
        for (key, k, v) in self.entries(node, ty) {
            match key {
                "name" => s.name = self.text(v),
                "if" => s.if_ = self.text(v),
                "range" => s.range = self.text(v),
                "description" => s.description = self.text(v),
                "url" => s.url = self.text(v),
                "commit" => s.commit = self.text(v),
                "pipeline" => s.pipeline = self.steps(v),
                "dependencies" => s.dependencies = self.dependencies(v),
                "options" => s.options = self.package_options(v),
                "scriptlets" => s.scriptlets = self.scriptlets(v),
                "checks" => s.checks_disabled = self.checks(v),
                "annotations" => s.annotations = self.text_map(v),
                "test" => s.test = Some(self.test(v)),
                "setcap" => self.check(v, &SETCAP),
                _ => self.unknown(k, ty),
            }
        }
        s
    }

    fn test(&mut self, node: &Node) -> Test {
        let ty = "config.Test";
        let mut t = Test::default();
        for (key, k, v) in self.entries(node, ty) {
            match key {
                "environment" => t.environment = self.environment(v),
                "pipeline" => t.pipeline = self.steps(v),
                _ => self.unknown(k, ty),
            }
        }
        t
    }

    fn data_set(&mut self, node: &Node) -> DataSet {
        let ty = "config.RangeData";
        let mut d = DataSet::default();
        for (key, k, v) in self.entries(node, ty) {
            match key {
                "name" => d.name = self.text(v),
                "items" => d.items = self.text_map(v),
                _ => self.unknown(k, ty),
            }
        }
        d
    }

    fn var_transform(&mut self, node: &Node) -> VarTransform {
        let ty = "config.VarTransforms";
        let mut t = VarTransform::default();
        for (key, k, v) in self.entries(node, ty) {
            match key {
                "from" => t.from = self.text(v),
                "match" => t.match_ = self.text(v),
                "replace" => t.replace = self.text(v),
                "to" => t.to = self.text(v),
                _ => self.unknown(k, ty),
            }
        }
        t
    }

    fn build_option(&mut self, node: &Node) -> BuildOption {
        let ty = "config.BuildOption";
        let mut o = BuildOption::default();
        for (key, k, v) in self.entries(node, ty) {
            match key {
                "vars" => o.vars = self.text_map(v),
                "environment" => {
                    for (key, k, v) in self.entries(v, "config.EnvironmentOption") {
                        if key != "contents" {
                            self.unknown(k, "config.EnvironmentOption");
                            continue;
                        }
                        for (key, k, v) in self.entries(v, "config.ContentsOption") {
                            if key != "packages" {
                                self.unknown(k, "config.ContentsOption");
                                continue;
                            }
                            for (key, k, v) in self.entries(v, "config.ListOption") {
                                match key {
                                    "add" => o.add = self.texts(v),
                                    "remove" => o.remove = self.texts(v),
                                    _ => self.unknown(k, "config.ListOption"),
                                }
                            }
                        }
                    }
                }
                _ => self.unknown(k, ty),
            }
        }
        o
    }

    fn pipeline_def(&mut self, root: &Node) -> PipelineDef {
        let mut def = PipelineDef::default();
        for (key, _, v) in self.entries(root, "config.Pipeline") {
            match key {
                "name" => def.name = self.text(v),
                "description" => def.description = self.text(v),
                "needs" => {
                    for (key, _, v) in self.entries(v, "config.Needs") {
                        if key == "packages" {
                            def.needs = self.texts(v);
                        }
                    }
                }
                "inputs" => def.inputs = self.inputs(v),
                "pipeline" => def.pipeline = self.steps(v),
                _ => {}
            }
        }
        def
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
