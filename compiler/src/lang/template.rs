//! The `${{name}}` placeholder grammar and the two ways melange fills it in:
//! parse-time (exact spelling, unknown names kept) and compile-time (spaces
//! allowed, every name must be defined).

use std::collections::BTreeMap;

use nom::bytes::complete::{tag, take_while, take_while1};
use nom::sequence::delimited;
use nom::{IResult, Parser};

/// Variables in scope, by name (`package.version`, `inputs.uri`, ...).
pub type Scope = BTreeMap<String, String>;

/// Somewhere variables are looked up: a scope, or a layer over one.
pub trait Lookup {
    fn lookup(&self, name: &str) -> Option<&str>;
}

impl Lookup for Scope {
    fn lookup(&self, name: &str) -> Option<&str> {
        self.get(name).map(String::as_str)
    }
}

/// A few variables over a caller's: a step's inputs, a subpackage's context.
/// Cheaper than copying the caller's scope for every step.
pub struct Layer<'a> {
    pub own: Scope,
    pub parent: &'a dyn Lookup,
}

impl Lookup for Layer<'_> {
    fn lookup(&self, name: &str) -> Option<&str> {
        self.own
            .get(name)
            .map(String::as_str)
            .or_else(|| self.parent.lookup(name))
    }
}

/// What went wrong with one placeholder, with its byte range in the string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateError {
    pub message: String,
    pub start: usize,
    pub end: usize,
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-'
}

fn is_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// `${{` ws* name ws* `}}`
fn placeholder(i: &str) -> IResult<&str, &str> {
    delimited(
        (tag("${{"), take_while(is_ws)),
        take_while1(is_name_char),
        (take_while(is_ws), tag("}}")),
    )
    .parse(i)
}

/// Compile-time substitution: every placeholder must name a variable in
/// scope. Replacement text is not rescanned.
pub fn substitute(text: &str, scope: &dyn Lookup) -> Result<String, Vec<TemplateError>> {
    substitute_with(text, |name| scope.lookup(name))
}

/// Substitution with a lookup function; `None` is an undefined variable.
pub fn substitute_with<'s>(
    text: &str,
    lookup: impl Fn(&str) -> Option<&'s str>,
) -> Result<String, Vec<TemplateError>> {
    fill(text, lookup, |out, value| out.push_str(value))
}

/// Substitution that writes each value through `emit` (to quote it, say).
pub fn substitute_emit<'s>(
    text: &str,
    lookup: impl Fn(&str) -> Option<&'s str>,
    emit: impl Fn(&mut String, &str),
) -> Result<String, Vec<TemplateError>> {
    fill(text, lookup, emit)
}

fn fill<'s>(
    text: &str,
    lookup: impl Fn(&str) -> Option<&'s str>,
    emit: impl Fn(&mut String, &str),
) -> Result<String, Vec<TemplateError>> {
    if !text.contains("${{") {
        return Ok(text.to_owned());
    }
    let mut out = String::with_capacity(text.len());
    let mut errors = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("${{") {
        out.push_str(&rest[..at]);
        let offset = text.len() - rest.len() + at;
        match placeholder(&rest[at..]) {
            Ok((after, name)) => {
                let end = text.len() - after.len();
                match lookup(name) {
                    Some(value) => emit(&mut out, value),
                    None => errors.push(TemplateError {
                        message: format!("variable {name} not defined"),
                        start: offset,
                        end,
                    }),
                }
                rest = after;
            }
            Err(_) => {
                let tail = &rest[at..];
                let end = tail.find("}}").map_or(text.len(), |n| offset + n + 2);
                let message = if tail[3..].trim_start_matches(is_ws).starts_with("}}") {
                    "empty placeholder `${{}}`".to_owned()
                } else if tail.contains("}}") {
                    format!(
                        "malformed placeholder `{}`: a name is letters, digits, `.`, `_` and `-`",
                        &text[offset..end]
                    )
                } else {
                    "unterminated placeholder: `${{` without `}}`".to_owned()
                };
                errors.push(TemplateError {
                    message,
                    start: offset,
                    end,
                });
                rest = &text[end..];
            }
        }
    }
    out.push_str(rest);
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Parse-time substitution: exact `${{name}}` spelling only; names not in
/// scope stay as written for the compile-time pass.
pub fn substitute_parse_time(text: &str, scope: &Scope) -> String {
    if !text.contains("${{") {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("${{") {
        out.push_str(&rest[..at]);
        let tail = &rest[at + 3..];
        let name_len = tail.find(|c: char| !is_name_char(c)).unwrap_or(tail.len());
        if name_len > 0 && tail[name_len..].starts_with("}}") {
            if let Some(value) = scope.get(&tail[..name_len]) {
                out.push_str(value);
                rest = &tail[name_len + 2..];
                continue;
            }
        }
        out.push_str("${{");
        rest = tail;
    }
    out.push_str(rest);
    out
}

/// Names of the placeholders in a text (well-formed ones only).
pub fn placeholders(text: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("${{") {
        match placeholder(&rest[at..]) {
            Ok((after, name)) => {
                names.push(name);
                rest = after;
            }
            Err(_) => rest = &rest[at + 3..],
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(pairs: &[(&str, &str)]) -> Scope {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn compile_time_allows_spaces_and_requires_definitions() {
        let s = scope(&[("package.version", "1.2")]);
        assert_eq!(substitute("v${{ package.version }}!", &s).unwrap(), "v1.2!");
        let err = substitute("${{nope}} ${{package.version}}", &s).unwrap_err();
        assert_eq!(err[0].message, "variable nope not defined");
        assert_eq!((err[0].start, err[0].end), (0, 9));
    }

    #[test]
    fn no_escape_and_no_rescan() {
        let s = scope(&[("a", "${{b}}"), ("b", "x")]);
        assert_eq!(substitute("$${{a}}", &s).unwrap(), "$${{b}}");
    }

    #[test]
    fn malformed_and_unterminated() {
        let s = Scope::new();
        assert!(substitute("${{ }}", &s).unwrap_err()[0]
            .message
            .contains("empty"));
        assert!(substitute("${{a b}}", &s).unwrap_err()[0]
            .message
            .contains("malformed"));
        assert!(substitute("${{abc", &s).unwrap_err()[0]
            .message
            .contains("unterminated"));
    }

    #[test]
    fn shell_syntax_is_untouched() {
        let s = Scope::new();
        assert_eq!(substitute("${HOME} $(pwd)", &s).unwrap(), "${HOME} $(pwd)");
    }

    #[test]
    fn parse_time_is_exact_and_keeps_unknowns() {
        let s = scope(&[("vars.x", "1")]);
        assert_eq!(
            substitute_parse_time("${{vars.x}} ${{ vars.x }} ${{targets.destdir}}", &s),
            "1 ${{ vars.x }} ${{targets.destdir}}"
        );
    }
}
