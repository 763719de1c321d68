//! `melangec query` and `package-version`: a recipe as melange parses it
//! (parse-time substitution done), seen through Go's field names, with the
//! small part of Go's template language scripts around melange use.

use crate::front::diagnostics::{Code, Diagnostic, Diagnostics};
use crate::front::recipe::{Copyright, Dependencies, Package, Recipe, Subpackage, Text};
use crate::lang::go_template;
use crate::options::Options;
use crate::source::{SourceFile, Span};

/// `NAME-VERSION-rEPOCH`, as `melange package-version` prints it.
pub fn package_version(recipe_file: &SourceFile, options: &Options) -> Result<String, Diagnostics> {
    let recipe = parsed(recipe_file, options)?;
    let p = &recipe.package;
    Ok(format!("{}-{}-r{}", p.name.value, p.version.value, p.epoch))
}

/// Executes `template` against the recipe; a template error quotes the
/// template.
pub fn query(
    recipe_file: &SourceFile,
    options: &Options,
    template: &str,
) -> Result<String, Diagnostics> {
    let recipe = parsed(recipe_file, options)?;
    let file = SourceFile::new("template", template);
    let parsed = go_template::parse(template).map_err(|e| error(&file, e))?;
    go_template::execute(&parsed, Value::Config(&recipe)).map_err(|e| error(&file, e).into())
}

fn parsed(recipe_file: &SourceFile, options: &Options) -> Result<Recipe, Diagnostics> {
    let recipe = crate::front::load::load_recipe(recipe_file)?;
    Ok(crate::passes::parse_time::apply(recipe_file, recipe, options)?.0)
}

fn error(file: &SourceFile, e: go_template::Error) -> Diagnostic {
    Diagnostic::new(Code::Template, file, Span::new(e.start, e.end), e.message)
}

/// A value of melange's configuration types, by Go field name.
#[derive(Clone)]
pub enum Value<'a> {
    Config(&'a Recipe),
    Package(&'a Package),
    Subpackage(&'a Subpackage),
    Dependencies(&'a Dependencies),
    Copyright(&'a Copyright),
    Str(&'a str),
    Int(u64),
    List(Vec<Value<'a>>),
    /// Key-value pairs, sorted by key as Go prints and ranges over maps.
    Map(Vec<(&'a str, Value<'a>)>),
}

fn texts(list: &[Text]) -> Value<'_> {
    Value::List(list.iter().map(|t| Value::Str(&t.value)).collect())
}

fn text_map(map: &[(Text, Text)]) -> Value<'_> {
    let mut pairs: Vec<_> = map
        .iter()
        .map(|(k, v)| (k.value.as_str(), Value::Str(&v.value)))
        .collect();
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    Value::Map(pairs)
}

impl<'a> go_template::Data for Value<'a> {
    fn field(&self, name: &str) -> Option<Self> {
        Some(match (self, name) {
            (Value::Config(r), "Package") => Value::Package(&r.package),
            (Value::Config(r), "Subpackages") => {
                Value::List(r.subpackages.iter().map(Value::Subpackage).collect())
            }
            (Value::Config(r), "Vars") => text_map(&r.vars),
            (Value::Package(p), "Name") => Value::Str(&p.name.value),
            (Value::Package(p), "Version") => Value::Str(&p.version.value),
            (Value::Package(p), "Epoch") => Value::Int(p.epoch),
            (Value::Package(p), "Description") => Value::Str(&p.description.value),
            (Value::Package(p), "URL") => Value::Str(&p.url.value),
            (Value::Package(p), "Commit") => Value::Str(&p.commit.value),
            (Value::Package(p), "Timeout") => Value::Str(&p.timeout.value),
            (Value::Package(p), "TargetArchitecture") => texts(&p.target_architecture),
            (Value::Package(p), "Copyright") => {
                Value::List(p.copyright.iter().map(Value::Copyright).collect())
            }
            (Value::Package(p), "Dependencies") => Value::Dependencies(&p.dependencies),
            (Value::Package(p), "Annotations") => text_map(&p.annotations),
            (Value::Subpackage(s), "Name") => Value::Str(&s.name.value),
            (Value::Subpackage(s), "Description") => Value::Str(&s.description.value),
            (Value::Subpackage(s), "URL") => Value::Str(&s.url.value),
            (Value::Subpackage(s), "Commit") => Value::Str(&s.commit.value),
            (Value::Subpackage(s), "If") => Value::Str(&s.if_.value),
            (Value::Subpackage(s), "Range") => Value::Str(&s.range.value),
            (Value::Subpackage(s), "Dependencies") => Value::Dependencies(&s.dependencies),
            (Value::Subpackage(s), "Annotations") => text_map(&s.annotations),
            (Value::Dependencies(d), "Runtime") => texts(&d.runtime),
            (Value::Dependencies(d), "Provides") => texts(&d.provides),
            (Value::Dependencies(d), "Replaces") => texts(&d.replaces),
            (Value::Dependencies(d), "ProviderPriority") => Value::Str(&d.provider_priority.value),
            (Value::Dependencies(d), "ReplacesPriority") => Value::Str(&d.replaces_priority.value),
            (Value::Copyright(c), "License") => Value::Str(&c.license.value),
            (Value::Copyright(c), "Paths") => texts(&c.paths),
            (Value::Copyright(c), "Attestation") => Value::Str(&c.attestation.value),
            (Value::Copyright(c), "LicensePath") => Value::Str(&c.license_path.value),
            (Value::Map(pairs), key) => {
                return pairs
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, v)| v.clone());
            }
            _ => return None,
        })
    }

    fn type_name(&self) -> &'static str {
        match self {
            Value::Config(_) => "config.Configuration",
            Value::Package(_) => "config.Package",
            Value::Subpackage(_) => "config.Subpackage",
            Value::Dependencies(_) => "config.Dependencies",
            Value::Copyright(_) => "config.Copyright",
            Value::Str(_) => "string",
            Value::Int(_) => "uint64",
            Value::List(_) => "slice",
            Value::Map(_) => "map",
        }
    }

    fn items(&self) -> Option<Vec<Self>> {
        match self {
            Value::List(items) => Some(items.clone()),
            Value::Map(pairs) => Some(pairs.iter().map(|(_, v)| v.clone()).collect()),
            _ => None,
        }
    }

    fn truthy(&self) -> bool {
        match self {
            Value::Str(s) => !s.is_empty(),
            Value::Int(n) => *n != 0,
            Value::List(items) => !items.is_empty(),
            Value::Map(pairs) => !pairs.is_empty(),
            _ => true,
        }
    }

    fn print(&self, out: &mut String) {
        match self {
            Value::Str(s) => out.push_str(s),
            Value::Int(n) => out.push_str(&n.to_string()),
            Value::List(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    item.print(out);
                }
                out.push(']');
            }
            Value::Map(pairs) => {
                out.push_str("map[");
                for (i, (k, v)) in pairs.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    out.push_str(k);
                    out.push(':');
                    v.print(out);
                }
                out.push(']');
            }
            // Structs are named, not dumped field by field as Go does.
            Value::Package(Package { name, .. }) | Value::Subpackage(Subpackage { name, .. }) => {
                out.push_str(&format!("{{{} ...}}", name.value))
            }
            Value::Config(_) | Value::Dependencies(_) | Value::Copyright(_) => {
                out.push_str("{...}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::Arch;

    const RECIPE: &str = "package:\n  name: hello\n  version: 2.12.1\n  epoch: 3\n  \
        dependencies:\n    runtime: [a, b]\n\
        subpackages:\n  - name: ${{package.name}}-doc\n  - name: hello-dev\n\
        pipeline:\n  - runs: make\n";

    fn run(template: &str) -> Result<String, Diagnostics> {
        let file = SourceFile::new("hello.yaml", RECIPE);
        query(&file, &Options::new(Arch::X86_64), template)
    }

    #[test]
    fn package_version_is_name_version_epoch() {
        let file = SourceFile::new("hello.yaml", RECIPE);
        assert_eq!(
            package_version(&file, &Options::new(Arch::X86_64)).unwrap(),
            "hello-2.12.1-r3"
        );
    }

    #[test]
    fn fields_ranges_and_conditions() {
        assert_eq!(
            run("{{ .Package.Name }}-{{ .Package.Version }}-r{{ .Package.Epoch }}").unwrap(),
            "hello-2.12.1-r3"
        );
        assert_eq!(
            run("{{ range .Subpackages }}{{ .Name }} {{ end }}").unwrap(),
            "hello-doc hello-dev "
        );
        assert_eq!(run("{{ .Package.Dependencies.Runtime }}").unwrap(), "[a b]");
        assert_eq!(
            run("{{ if .Package.Description }}yes{{ else }}no{{ end }}").unwrap(),
            "no"
        );
        assert_eq!(
            run("{{- /* c */ -}}  x {{- .Package.Epoch }}").unwrap(),
            "x3"
        );
    }

    #[test]
    fn unknown_fields_and_bad_templates_are_diagnostics() {
        let e = run("{{ .Package.Nmae }}").unwrap_err();
        assert!(
            format!("{:?}", e.0[0]).contains("can't evaluate field Nmae in type config.Package")
        );
        assert!(run("{{ .Package.Name ").is_err());
        assert!(run("{{ range .Subpackages }}").is_err());
        assert!(run("{{ end }}").is_err());
    }
}
