//! A recipe as written: every field melange accepts, each string with the
//! span it came from. Later passes read these; nothing here is substituted.

use crate::front::yaml::Node;
use crate::source::Span;

/// A string and where it was written.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Text {
    pub value: String,
    pub span: Span,
}

impl Text {
    pub fn new(value: impl Into<String>, span: Span) -> Text {
        Text {
            value: value.into(),
            span,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.value
    }

    pub fn is_empty(&self) -> bool {
        self.value.is_empty()
    }
}

/// A mapping whose order of writing is kept (later passes sort where melange
/// does); keys are unique.
pub type TextMap = Vec<(Text, Text)>;

#[derive(Clone, Debug, Default)]
pub struct Recipe {
    pub package: Package,
    pub environment: Environment,
    pub capabilities: Capabilities,
    pub pipeline: Vec<Step>,
    pub subpackages: Vec<Subpackage>,
    pub data: Vec<DataSet>,
    pub vars: TextMap,
    pub var_transforms: Vec<VarTransform>,
    pub options: Vec<(Text, BuildOption)>,
    pub test: Option<Test>,
    /// `update:` is read by update bots only; kept as written.
    pub update: Option<Node>,
}

#[derive(Clone, Debug, Default)]
pub struct Package {
    pub name: Text,
    pub version: Text,
    pub epoch: u64,
    pub description: Text,
    pub url: Text,
    pub commit: Text,
    pub annotations: TextMap,
    pub target_architecture: Vec<Text>,
    pub copyright: Vec<Copyright>,
    pub dependencies: Dependencies,
    pub options: PackageOptions,
    pub scriptlets: Scriptlets,
    pub checks_disabled: Vec<Text>,
    pub cpe: Option<Node>,
    pub setcap: Option<Node>,
    pub timeout: Text,
    pub resources: Option<Node>,
    pub test_resources: Option<Node>,
    pub span: Span,
}

#[derive(Clone, Debug, Default)]
pub struct Copyright {
    pub license: Text,
    pub paths: Vec<Text>,
    pub attestation: Text,
    pub license_path: Text,
    pub detection_override: Text,
}

#[derive(Clone, Debug, Default)]
pub struct Dependencies {
    pub runtime: Vec<Text>,
    pub provides: Vec<Text>,
    pub replaces: Vec<Text>,
    pub provider_priority: Text,
    pub replaces_priority: Text,
}

#[derive(Clone, Debug, Default)]
pub struct PackageOptions {
    pub no_provides: bool,
    pub no_depends: bool,
    pub no_commands: bool,
    pub no_versioned_shlib_deps: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Scriptlets {
    pub pre_install: Text,
    pub post_install: Text,
    pub pre_deinstall: Text,
    pub post_deinstall: Text,
    pub pre_upgrade: Text,
    pub post_upgrade: Text,
    pub trigger_script: Text,
    pub trigger_paths: Vec<Text>,
}

/// apko's image configuration, as melange uses it for build and tests.
#[derive(Clone, Debug, Default)]
pub struct Environment {
    pub repositories: Vec<Text>,
    pub build_repositories: Vec<Text>,
    pub keyring: Vec<Text>,
    pub packages: Vec<Text>,
    pub users: Vec<User>,
    pub groups: Vec<Group>,
    pub run_as: Text,
    pub environment: TextMap,
    pub span: Span,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct User {
    pub username: Text,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub shell: Text,
    pub homedir: Text,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Group {
    pub groupname: Text,
    pub gid: Option<u32>,
    pub members: Vec<Text>,
}

#[derive(Clone, Debug, Default)]
pub struct Capabilities {
    pub add: Vec<Text>,
    pub drop: Vec<Text>,
}

/// One pipeline step, in a recipe or in a pipeline definition.
#[derive(Clone, Debug, Default)]
pub struct Step {
    pub name: Text,
    pub uses: Text,
    pub with: TextMap,
    pub with_span: Option<Span>,
    pub runs: Text,
    pub if_: Text,
    pub working_directory: Text,
    pub pipeline: Vec<Step>,
    pub environment: TextMap,
    pub needs: Vec<Text>,
    pub inputs: Vec<(Text, Input)>,
    pub label: Text,
    pub required_steps: Option<(i64, Span)>,
    pub span: Span,
}

#[derive(Clone, Debug, Default)]
pub struct Input {
    pub description: Text,
    pub default: Option<Text>,
    pub required: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Subpackage {
    pub name: Text,
    pub if_: Text,
    pub range: Text,
    pub description: Text,
    pub url: Text,
    pub commit: Text,
    pub pipeline: Vec<Step>,
    pub dependencies: Dependencies,
    pub options: PackageOptions,
    pub scriptlets: Scriptlets,
    pub checks_disabled: Vec<Text>,
    pub annotations: TextMap,
    pub test: Option<Test>,
    pub span: Span,
}

#[derive(Clone, Debug, Default)]
pub struct Test {
    pub environment: Environment,
    pub pipeline: Vec<Step>,
    /// The `test:` key.
    pub span: Span,
}

#[derive(Clone, Debug, Default)]
pub struct DataSet {
    pub name: Text,
    pub items: TextMap,
}

#[derive(Clone, Debug, Default)]
pub struct VarTransform {
    pub from: Text,
    pub match_: Text,
    pub replace: Text,
    pub to: Text,
}

#[derive(Clone, Debug, Default)]
pub struct BuildOption {
    pub vars: TextMap,
    pub add: Vec<Text>,
    pub remove: Vec<Text>,
}

/// A `uses:` definition file.
#[derive(Clone, Debug, Default)]
pub struct PipelineDef {
    pub needs: Vec<Text>,
    pub inputs: Vec<(Text, Input)>,
    pub pipeline: Vec<Step>,
    pub description: Text,
    pub name: Text,
}
