//! The part of Go's `text/template` that scripts around melange pass to
//! `melange query`: text, `{{ .Field.Field }}`, `{{ . }}`, `{{ $ }}`,
//! `range`/`if`/`with` with `else` and `end`, comments, and the `{{-`/`-}}`
//! trim markers. Anything else is an error naming it, never a guess.

/// What a template can look into.
pub trait Data: Clone {
    /// The field of this Go name, or `None` when the type has none.
    fn field(&self, name: &str) -> Option<Self>;
    /// The Go type name, for errors.
    fn type_name(&self) -> &'static str;
    /// Elements to `range` over, or `None` when it cannot be ranged.
    fn items(&self) -> Option<Vec<Self>>;
    /// Go's truth: zero values and empty collections are false.
    fn truthy(&self) -> bool;
    fn print(&self, out: &mut String);
}

#[derive(Debug)]
pub struct Error {
    pub start: usize,
    pub end: usize,
    pub message: String,
}

fn err<T>(start: usize, end: usize, message: impl Into<String>) -> Result<T, Error> {
    Err(Error {
        start,
        end,
        message: message.into(),
    })
}

#[derive(Debug)]
pub struct Template {
    nodes: Vec<Node>,
}

#[derive(Debug)]
enum Node {
    Text(String),
    Print(Path),
    Block {
        kind: Block,
        path: Path,
        then: Vec<Node>,
        otherwise: Vec<Node>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Block {
    Range,
    If,
    With,
}

#[derive(Debug)]
struct Path {
    from_root: bool,
    /// Field names with their offsets in the template.
    fields: Vec<(String, usize, usize)>,
}

/// One `{{ … }}` with its offsets, trim markers removed.
struct Action<'t> {
    body: &'t str,
    start: usize,
    end: usize,
}

enum Piece<'t> {
    Text(String),
    Action(Action<'t>),
}

/// Splits the template into text and actions, applying trim markers.
fn pieces(text: &str) -> Result<Vec<Piece<'_>>, Error> {
    let mut out = Vec::new();
    let mut rest = 0;
    let mut trim_next = false;
    while let Some(open) = text[rest..].find("{{").map(|i| i + rest) {
        let close = match text[open + 2..].find("}}") {
            Some(i) => open + 2 + i,
            None => return err(open, text.len(), "unclosed action: no `}}`"),
        };
        let mut literal = &text[rest..open];
        if trim_next {
            literal = literal.trim_start();
        }
        let mut inner = &text[open + 2..close];
        let mut body_start = open + 2;
        if let Some(stripped) = inner.strip_prefix("- ") {
            literal = literal.trim_end();
            inner = stripped;
            body_start += 2;
        }
        trim_next = false;
        if let Some(stripped) = inner.strip_suffix(" -") {
            inner = stripped;
            trim_next = true;
        }
        if !literal.is_empty() {
            out.push(Piece::Text(literal.to_owned()));
        }
        let leading = inner.len() - inner.trim_start().len();
        out.push(Piece::Action(Action {
            body: inner.trim(),
            start: body_start + leading,
            end: close,
        }));
        rest = close + 2;
    }
    let mut literal = &text[rest..];
    if trim_next {
        literal = literal.trim_start();
    }
    if !literal.is_empty() {
        out.push(Piece::Text(literal.to_owned()));
    }
    Ok(out)
}

fn path(body: &str, start: usize) -> Result<Path, Error> {
    let end = start + body.len();
    let (from_root, chain, mut offset) = if let Some(rest) = body.strip_prefix('$') {
        (true, rest, start + 1)
    } else if body.starts_with('.') {
        (false, body, start)
    } else {
        let word = body.split_whitespace().next().unwrap_or(body);
        return err(start, end, format!("`{word}` is not supported here: only `.Field` paths, `range`, `if`, `with`, `else` and `end`"));
    };
    let mut fields = Vec::new();
    if chain == "." || chain.is_empty() {
        return Ok(Path { from_root, fields });
    }
    for part in chain.split('.').skip(1) {
        let valid = !part.is_empty()
            && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !part.starts_with(|c: char| c.is_ascii_digit());
        if !valid {
            return err(start, end, format!("`{body}` is not a field path"));
        }
        offset += 1;
        fields.push((part.to_owned(), offset, offset + part.len()));
        offset += part.len();
    }
    Ok(Path { from_root, fields })
}

pub fn parse(text: &str) -> Result<Template, Error> {
    let mut iter = pieces(text)?.into_iter();
    let (nodes, stop) = parse_list(&mut iter)?;
    if let Some((word, a)) = stop {
        return err(a.start, a.end, format!("unexpected `{{{{{word}}}}}`"));
    }
    Ok(Template { nodes })
}

type Stop<'t> = Option<(&'static str, Action<'t>)>;

/// Nodes up to an `else` or `end` (returned) or the end of the template.
fn parse_list<'t>(
    iter: &mut std::vec::IntoIter<Piece<'t>>,
) -> Result<(Vec<Node>, Stop<'t>), Error> {
    let mut nodes = Vec::new();
    while let Some(piece) = iter.next() {
        let action = match piece {
            Piece::Text(t) => {
                nodes.push(Node::Text(t));
                continue;
            }
            Piece::Action(a) => a,
        };
        let body = action.body;
        if body.starts_with("/*") {
            if !body.ends_with("*/") {
                return err(action.start, action.end, "unclosed comment");
            }
            continue;
        }
        match body {
            "end" => return Ok((nodes, Some(("end", action)))),
            "else" => return Ok((nodes, Some(("else", action)))),
            _ => {}
        }
        let (keyword, rest) = body.split_once(char::is_whitespace).unwrap_or((body, ""));
        let kind = match keyword {
            "range" => Some(Block::Range),
            "if" => Some(Block::If),
            "with" => Some(Block::With),
            _ => None,
        };
        let Some(kind) = kind else {
            nodes.push(Node::Print(path(body, action.start)?));
            continue;
        };
        let rest_start = action.start + body.len() - rest.trim_start().len();
        if rest.trim().is_empty() {
            return err(
                action.start,
                action.end,
                format!("missing value for {keyword}"),
            );
        }
        let path = path(rest.trim(), rest_start)?;
        let (then, stop) = parse_list(iter)?;
        let otherwise = match stop {
            Some(("end", _)) => Vec::new(),
            Some(("else", _)) => match parse_list(iter)? {
                (otherwise, Some(("end", _))) => otherwise,
                (_, Some((word, a))) => {
                    return err(a.start, a.end, format!("unexpected `{{{{{word}}}}}`"))
                }
                (_, None) => {
                    return err(
                        action.start,
                        action.end,
                        format!("`{keyword}` has no `{{{{end}}}}`"),
                    )
                }
            },
            _ => {
                return err(
                    action.start,
                    action.end,
                    format!("`{keyword}` has no `{{{{end}}}}`"),
                )
            }
        };
        nodes.push(Node::Block {
            kind,
            path,
            then,
            otherwise,
        });
    }
    Ok((nodes, None))
}

fn eval<D: Data>(path: &Path, dot: &D, root: &D) -> Result<D, Error> {
    let mut value = if path.from_root {
        root.clone()
    } else {
        dot.clone()
    };
    for (name, start, end) in &path.fields {
        value = match value.field(name) {
            Some(v) => v,
            None => {
                return err(
                    *start,
                    *end,
                    format!("can't evaluate field {name} in type {}", value.type_name()),
                )
            }
        };
    }
    Ok(value)
}

fn run<D: Data>(nodes: &[Node], dot: &D, root: &D, out: &mut String) -> Result<(), Error> {
    for node in nodes {
        match node {
            Node::Text(t) => out.push_str(t),
            Node::Print(p) => eval(p, dot, root)?.print(out),
            Node::Block {
                kind,
                path,
                then,
                otherwise,
            } => {
                let value = eval(path, dot, root)?;
                match kind {
                    Block::If if value.truthy() => run(then, dot, root, out)?,
                    Block::With if value.truthy() => run(then, &value, root, out)?,
                    Block::If | Block::With => run(otherwise, dot, root, out)?,
                    Block::Range => {
                        let Some(items) = value.items() else {
                            let (start, end) = path.fields.last().map_or((0, 0), |f| (f.1, f.2));
                            return err(
                                start,
                                end,
                                format!("range can't iterate over {}", value.type_name()),
                            );
                        };
                        if items.is_empty() {
                            run(otherwise, dot, root, out)?;
                        }
                        for item in &items {
                            run(then, item, root, out)?;
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

pub fn execute<D: Data>(template: &Template, data: D) -> Result<String, Error> {
    let mut out = String::new();
    run(&template.nodes, &data, &data, &mut out)?;
    Ok(out)
}
