//! The `if:` grammar: `==`/`!=` comparisons of quoted strings joined by `&&`
//! and `||` (equal precedence, left to right, as melange), with parentheses.

use nom::branch::alt;
use nom::bytes::complete::{tag, take_while, take_while1};
use nom::character::complete::{anychar, none_of};
use nom::combinator::{all_consuming, map, value};
use nom::multi::many0;
use nom::sequence::{delimited, preceded};
use nom::{IResult, Parser};

fn ws(i: &str) -> IResult<&str, &str> {
    take_while(|c: char| matches!(c, ' ' | '\t' | '\r' | '\n')).parse(i)
}

fn token<'a>(
    t: &'static str,
) -> impl Parser<&'a str, Output = &'a str, Error = nom::error::Error<&'a str>> {
    delimited(ws, tag(t), ws)
}

/// A quoted literal with melange's escapes; other backslash pairs stay as written.
fn quoted(q: char) -> impl FnMut(&str) -> IResult<&str, String> {
    move |i: &str| {
        let (i, _) = nom::character::complete::char(q).parse(i)?;
        let (i, parts) = many0(alt((
            preceded(
                nom::character::complete::char('\\'),
                map(anychar, |c| match c {
                    '\\' => "\\".to_owned(),
                    '\'' => "'".to_owned(),
                    '"' => "\"".to_owned(),
                    'n' => "\n".to_owned(),
                    't' => "\t".to_owned(),
                    other => format!("\\{other}"),
                }),
            ),
            map(none_of(if q == '"' { "\"\\" } else { "'\\" }), String::from),
        )))
        .parse(i)?;
        let (i, _) = nom::character::complete::char(q).parse(i)?;
        Ok((i, parts.concat()))
    }
}

/// A placeholder left in the text reads as the empty string (subpackage `if`).
fn leftover(i: &str) -> IResult<&str, String> {
    value(
        String::new(),
        delimited(
            (tag("${{"), ws),
            take_while1(|c: char| c.is_ascii_alphanumeric() || ".-_".contains(c)),
            (ws, tag("}}")),
        ),
    )
    .parse(i)
}

fn operand(i: &str) -> IResult<&str, String> {
    delimited(ws, alt((quoted('\''), quoted('"'), leftover)), ws).parse(i)
}

fn comparison(i: &str) -> IResult<&str, bool> {
    let (i, left) = operand(i)?;
    let (i, op) = alt((token("=="), token("!="))).parse(i)?;
    let (i, right) = operand(i)?;
    Ok((
        i,
        if op == "==" {
            left == right
        } else {
            left != right
        },
    ))
}

fn atom(i: &str) -> IResult<&str, bool> {
    alt((delimited(token("("), expr, token(")")), comparison)).parse(i)
}

fn expr(i: &str) -> IResult<&str, bool> {
    let (mut i, mut acc) = atom(i)?;
    loop {
        match alt((token("&&"), token("||"))).parse(i) {
            Ok((rest, op)) => {
                // Both sides are always evaluated; no short circuit.
                let (rest, rhs) = atom(rest)?;
                acc = if op == "&&" { acc && rhs } else { acc || rhs };
                i = rest;
            }
            Err(_) => return Ok((i, acc)),
        }
    }
}

/// Why a condition could not be evaluated.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConditionError {
    #[error("cannot parse condition `{condition}` at column {column}: expected a quoted string, `==`, `!=`, `&&`, `||` or parentheses")]
    Syntax { condition: String, column: usize },
    #[error("incomplete condition `{0}`")]
    Incomplete(String),
    #[error("condition `{condition}` nests parentheses more than {MAX_NESTING} deep")]
    TooDeep { condition: String },
}

/// Parentheses may nest this deep: the parser recurses once per level.
pub const MAX_NESTING: usize = 32;

/// What a message quotes of a condition: enough to find it.
fn excerpt(condition: &str) -> String {
    crate::front::diagnostics::excerpt(condition.trim(), 120)
}

/// How deep parentheses outside quoted literals nest.
fn nesting(condition: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let mut quote: Option<char> = None;
    let mut chars = condition.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(_), '\\') => {
                chars.next();
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '(') => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            (None, ')') => depth = depth.saturating_sub(1),
            (None, _) => {}
        }
    }
    deepest
}

/// Evaluates a condition whose placeholders have been substituted. An empty
/// condition is true.
pub fn evaluate(condition: &str) -> Result<bool, ConditionError> {
    if condition.trim().is_empty() {
        return Ok(true);
    }
    if nesting(condition) > MAX_NESTING {
        return Err(ConditionError::TooDeep {
            condition: excerpt(condition),
        });
    }
    match all_consuming(delimited(ws, expr, ws)).parse(condition) {
        Ok((_, v)) => Ok(v),
        Err(nom::Err::Error(e) | nom::Err::Failure(e)) => Err(ConditionError::Syntax {
            condition: excerpt(condition),
            column: condition.len() - e.input.len() + 1,
        }),
        Err(nom::Err::Incomplete(_)) => Err(ConditionError::Incomplete(excerpt(condition))),
    }
}

/// Quotes a compile-time value for insertion into a condition, as melange
/// does (a double-quoted Go string literal).
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons() {
        assert_eq!(evaluate("'a' == 'a'"), Ok(true));
        assert_eq!(evaluate("\"x86_64\" != 'aarch64'"), Ok(true));
        assert_eq!(evaluate(""), Ok(true));
    }

    #[test]
    fn equal_precedence_left_to_right() {
        // (true || false) && false
        assert_eq!(evaluate("'a'=='a' || 'a'=='b' && 'a'=='b'"), Ok(false));
        assert_eq!(evaluate("'a'=='a' || ('a'=='b' && 'a'=='b')"), Ok(true));
    }

    #[test]
    fn escapes() {
        assert_eq!(evaluate(r#"'it\'s' == "it's""#), Ok(true));
        assert_eq!(evaluate(r"'\q' == '\\q'"), Ok(true));
    }

    #[test]
    fn leftover_placeholders_read_empty() {
        assert_eq!(evaluate("${{build.arch}} == ''"), Ok(true));
    }

    #[test]
    fn errors() {
        assert!(evaluate("x86_64 == 'x86_64'").is_err());
        assert!(evaluate("'a' == 'a' junk").is_err());
        assert!(evaluate("('a' == 'a'").is_err());
    }

    #[test]
    fn deep_parentheses_are_an_error_not_an_overflow() {
        let deep = format!("{}'a' == 'a'{}", "(".repeat(5000), ")".repeat(5000));
        let err = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || evaluate(&deep).unwrap_err())
            .unwrap()
            .join()
            .unwrap();
        assert!(matches!(&err, ConditionError::TooDeep { condition } if condition.len() < 200));
        let ok = format!(
            "{}'a' == 'a'{}",
            "(".repeat(MAX_NESTING),
            ")".repeat(MAX_NESTING)
        );
        assert_eq!(evaluate(&ok), Ok(true));
        assert_eq!(evaluate("'((((' == '(((('"), Ok(true));
    }

    #[test]
    fn quoting_round_trips() {
        let q = quote("a\"b\\c");
        assert_eq!(evaluate(&format!("{q} == 'a\"b\\\\c'")), Ok(true));
    }
}
