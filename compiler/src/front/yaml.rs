//! A YAML document as a tree of nodes that remember where they were written,
//! so every later pass can point a diagnostic at the exact line.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::front::diagnostics::{Code, Diagnostic};
use crate::source::{SourceFile, Span};

#[derive(Clone, Debug, PartialEq)]
pub enum NodeKind {
    Scalar { value: String, plain: bool },
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub kind: NodeKind,
    pub span: Span,
}

impl Node {
    /// The YAML type name the Go decoder uses in its messages.
    pub fn type_name(&self) -> &'static str {
        match &self.kind {
            NodeKind::Scalar { .. } if self.is_null() => "!!null",
            NodeKind::Scalar { .. } => "!!str",
            NodeKind::Seq(_) => "!!seq",
            NodeKind::Map(_) => "!!map",
        }
    }

    /// A plain `~`, `null` or empty scalar.
    pub fn is_null(&self) -> bool {
        matches!(&self.kind, NodeKind::Scalar { value, plain: true }
            if value.is_empty() || value == "~" || value == "null" || value == "Null" || value == "NULL")
    }

    pub fn as_scalar(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar { value, .. } => Some(value),
            _ => None,
        }
    }
}

/// How deep collections may nest: real recipes stay under ten levels; the
/// passes after this one walk the tree recursively. Each level of nested
/// `pipeline:` takes two, and steps may nest 32 deep.
pub const MAX_DEPTH: usize = 100;

/// How many nodes aliases may copy in all: an alias repeats its anchor's
/// whole tree, so a few hundred bytes of nested aliases would otherwise
/// build billions of nodes.
pub const MAX_ALIAS_NODES: usize = 100_000;

const BOM: char = '\u{FEFF}';

/// Parses one YAML document. An empty document is an empty mapping. A
/// leading byte-order mark is skipped; a NUL byte, a second document, too
/// deep a nesting or too many aliased nodes is an error.
pub fn parse(file: &SourceFile) -> Result<Node, Diagnostic> {
    let text = file.text();
    let error = |at: usize, message: String| {
        Diagnostic::new(Code::Recipe, file, Span::new(at, at), message).with_label("here")
    };
    if let Some(at) = text.find('\0') {
        let line = file.line_of(at as u32);
        let line_start = text[..at].rfind('\n').map_or(0, |n| n + 1);
        let column = text[line_start..at].chars().count() + 1;
        return Err(Diagnostic::new(
            Code::Recipe,
            file,
            Span::new(at, at + 1),
            format!("the file has a NUL byte at {line}:{column}"),
        )
        .with_label("NUL byte")
        .with_help("a recipe is UTF-8 text; is this a binary file?"));
    }
    let skip = if text.starts_with(BOM) {
        BOM.len_utf8()
    } else {
        0
    };
    let body = &text[skip..];
    let mut builder = TreeBuilder {
        text,
        offsets: Offsets::new(body, skip),
        stack: Vec::new(),
        anchors: HashMap::new(),
        root: None,
        documents: 0,
        aliased: 0,
        error: None,
        pending: None,
    };
    // Events are pulled one at a time: the parser's own loader recurses once
    // per nesting level, which a deep document turns into a stack overflow.
    let mut parser = Parser::new_from_str(body);
    loop {
        let (event, mark) = match parser.next_token() {
            Ok(next) => next,
            Err(err) => {
                let at = builder.offsets.byte(err.marker().index());
                return Err(error(at, format!("invalid YAML: {}", err.info())));
            }
        };
        let end = event == Event::StreamEnd;
        builder.on_event(event, mark);
        if end || builder.error.is_some() {
            break;
        }
    }
    if let Some((span, message)) = builder.error {
        return Err(Diagnostic::new(Code::Recipe, file, span, message).with_label("here"));
    }
    Ok(builder.root.unwrap_or(Node {
        kind: NodeKind::Map(Vec::new()),
        span: Span::new(0, 0),
    }))
}

/// Turns the parser's character counts into byte offsets in the file.
/// Positions arrive almost in order, so each lookup walks on from the last.
struct Offsets<'a> {
    body: &'a str,
    skip: usize,
    ascii: bool,
    chars: usize,
    bytes: usize,
}

impl<'a> Offsets<'a> {
    fn new(body: &'a str, skip: usize) -> Offsets<'a> {
        Offsets {
            body,
            skip,
            ascii: body.is_ascii(),
            chars: 0,
            bytes: 0,
        }
    }

    fn byte(&mut self, chars: usize) -> usize {
        if self.ascii {
            return self.skip + chars.min(self.body.len());
        }
        if chars < self.chars {
            self.chars = 0;
            self.bytes = 0;
        }
        for c in self.body[self.bytes..].chars() {
            if self.chars == chars {
                break;
            }
            self.chars += 1;
            self.bytes += c.len_utf8();
        }
        self.skip + self.bytes
    }
}

enum Frame {
    Seq {
        start: usize,
        anchor: usize,
        items: Vec<Node>,
        size: usize,
    },
    Map {
        start: usize,
        anchor: usize,
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
        size: usize,
    },
}

struct TreeBuilder<'a> {
    text: &'a str,
    offsets: Offsets<'a>,
    stack: Vec<Frame>,
    /// Each anchored node with its size in nodes.
    anchors: HashMap<usize, (Node, usize)>,
    root: Option<Node>,
    documents: usize,
    /// Nodes copied by aliases so far.
    aliased: usize,
    error: Option<(Span, String)>,
    pending: Option<(Node, usize, TScalarStyle)>,
}

impl TreeBuilder<'_> {
    /// Adds a node of `size` nodes to the collection being built.
    fn push_node(&mut self, node: Node, anchor: usize, size: usize) {
        if anchor != 0 {
            self.anchors.insert(anchor, (node.clone(), size));
        }
        match self.stack.last_mut() {
            Some(Frame::Seq { items, size: s, .. }) => {
                *s += size;
                items.push(node)
            }
            Some(Frame::Map {
                entries,
                key,
                size: s,
                ..
            }) => {
                *s += size;
                match key.take() {
                    Some(k) => entries.push((k, node)),
                    None => *key = Some(node),
                }
            }
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
        }
    }

    /// End of a scalar written at `start`: the closing quote of a quoted
    /// scalar, the end of the line (less any comment) of a plain one, the
    /// last non-blank character before the next token for a block scalar.
    fn scalar_end(&self, start: usize, style: TScalarStyle, value: &str, next: usize) -> usize {
        let mut end = self.scalar_bytes_end(start, style, value, next);
        while !self.text.is_char_boundary(end) {
            end -= 1;
        }
        end
    }

    fn scalar_bytes_end(
        &self,
        start: usize,
        style: TScalarStyle,
        value: &str,
        next: usize,
    ) -> usize {
        let bytes = self.text.as_bytes();
        let next = next.clamp(start, bytes.len());
        match style {
            TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted => {
                let quote = bytes.get(start).copied().unwrap_or(b'"');
                let mut i = start + 1;
                while i < bytes.len() {
                    let c = bytes[i];
                    if quote == b'"' && c == b'\\' {
                        i += 2;
                        continue;
                    }
                    if c == quote {
                        if quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') {
                            i += 2;
                            continue;
                        }
                        return i + 1;
                    }
                    i += 1;
                }
                bytes.len()
            }
            TScalarStyle::Plain if !value.contains('\n') => {
                let line_end = self.text[start..]
                    .find('\n')
                    .map_or(bytes.len(), |n| start + n);
                let limit = line_end.min(next.max(start + 1)).min(bytes.len());
                let mut end = (start + value.len()).min(limit);
                if end < start {
                    end = start;
                }
                end
            }
            _ => {
                let mut end = next;
                while end > start && bytes[end - 1].is_ascii_whitespace() {
                    end -= 1;
                }
                end
            }
        }
    }
}

impl MarkedEventReceiver for TreeBuilder<'_> {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        let at = self.offsets.byte(mark.index()).min(self.text.len());
        // A pending scalar ends before the next event begins.
        self.close_pending(at);
        match ev {
            Event::DocumentStart => {
                self.documents += 1;
                if self.documents > 1 {
                    self.error = Some((
                        Span::new(at, at),
                        "a recipe holds exactly one YAML document; this starts another".into(),
                    ));
                }
            }
            Event::Scalar(value, style, anchor, _tag) => {
                let plain = style == TScalarStyle::Plain;
                let node = Node {
                    kind: NodeKind::Scalar { value, plain },
                    span: Span::new(at, at),
                };
                self.pending = Some((node, anchor, style));
            }
            Event::Alias(id) => match self.anchors.get(&id) {
                Some((_, size)) if self.aliased + size > MAX_ALIAS_NODES => {
                    self.error = Some((
                        Span::new(at, at),
                        format!(
                            "aliases expand to more than {MAX_ALIAS_NODES} nodes; \
                             is this an alias bomb?"
                        ),
                    ));
                }
                Some((node, size)) => {
                    let (node, size) = (node.clone(), *size);
                    self.aliased += size;
                    self.push_node(node, 0, size);
                }
                None => {
                    self.error = Some((Span::new(at, at), "unknown anchor".into()));
                }
            },
            Event::SequenceStart(..) | Event::MappingStart(..) if self.stack.len() >= MAX_DEPTH => {
                self.error = Some((
                    Span::new(at, at),
                    format!("collections nest more than {MAX_DEPTH} deep"),
                ));
            }
            Event::SequenceStart(anchor, _) => self.stack.push(Frame::Seq {
                start: at,
                anchor,
                items: Vec::new(),
                size: 1,
            }),
            Event::MappingStart(anchor, _) => self.stack.push(Frame::Map {
                start: at,
                anchor,
                entries: Vec::new(),
                key: None,
                size: 1,
            }),
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = self.stack.pop() else {
                    return;
                };
                let (kind, start, anchor, size) = match frame {
                    Frame::Seq {
                        start,
                        anchor,
                        items,
                        size,
                    } => (NodeKind::Seq(items), start, anchor, size),
                    Frame::Map {
                        start,
                        anchor,
                        entries,
                        size,
                        ..
                    } => (NodeKind::Map(entries), start, anchor, size),
                };
                let end = match &kind {
                    NodeKind::Seq(items) => items.iter().map(|n| n.span.end as usize).max(),
                    NodeKind::Map(entries) => {
                        entries.iter().map(|(_, v)| v.span.end as usize).max()
                    }
                    NodeKind::Scalar { .. } => None,
                }
                .unwrap_or(start + 1)
                .max(start);
                // Flow collections end at their closing bracket.
                let end = match self.text.as_bytes().get(at) {
                    Some(b']' | b'}') if at >= end => at + 1,
                    _ => end,
                };
                self.push_node(
                    Node {
                        kind,
                        span: Span::new(start, end.min(self.text.len())),
                    },
                    anchor,
                    size,
                );
            }
            _ => {}
        }
    }
}

// The pending scalar lives beside the builder so its end can be found once the
// next event's position is known.
impl TreeBuilder<'_> {
    fn close_pending(&mut self, next: usize) {
        if let Some((mut node, anchor, style)) = self.pending.take() {
            let start = node.span.start as usize;
            let value = node.as_scalar().unwrap_or_default().to_owned();
            let end = self.scalar_end(start, style, &value, next);
            node.span = Span::new(start, end);
            self.push_node(node, anchor, 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<Node, Diagnostic> {
        parse(&SourceFile::new("t.yaml", text))
    }

    /// `levels` anchors, each a list of `width` aliases of the one before.
    fn alias_bomb(levels: usize, width: usize) -> String {
        let mut text = format!("a0: &a0 [{}]\n", vec!["x"; width].join(","));
        for i in 1..levels {
            let items = vec![format!("*a{}", i - 1); width].join(",");
            text.push_str(&format!("a{i}: &a{i} [{items}]\n"));
        }
        text
    }

    #[test]
    fn an_alias_bomb_is_refused_before_it_grows() {
        let text = alias_bomb(9, 9);
        assert!(text.len() < 700);
        let err = parse_str(&text).unwrap_err();
        assert!(err.message.contains("alias bomb"), "{}", err.message);
        assert_eq!(err.line(), 6, "the alias that crosses the limit");
    }

    #[test]
    fn aliases_within_the_limit_are_copied() {
        let root = parse_str("a: &x [1, 2]\nb: *x\n").unwrap();
        let NodeKind::Map(entries) = &root.kind else {
            panic!("a map")
        };
        assert_eq!(entries[0].1.kind, entries[1].1.kind);
    }

    #[test]
    fn deep_nesting_is_an_error_not_an_overflow() {
        let small_stack = |text: String| {
            std::thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn(move || parse_str(&text).unwrap_err())
                .unwrap()
                .join()
                .unwrap()
        };
        let err = small_stack(format!("{}x\n", "- ".repeat(3000)));
        assert_eq!(err.message, "collections nest more than 100 deep");
        assert_eq!(err.span.start, 200);
        // The scanner stops deep flow collections itself.
        let err = small_stack(format!("{}{}", "[".repeat(3000), "]".repeat(3000)));
        assert!(err.message.starts_with("invalid YAML"), "{}", err.message);
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse_str(&ok).is_ok());
    }

    #[test]
    fn a_byte_order_mark_is_skipped() {
        let root = parse_str("\u{FEFF}package: {name: a}\n").unwrap();
        let NodeKind::Map(entries) = &root.kind else {
            panic!("a map")
        };
        assert_eq!(entries[0].0.as_scalar(), Some("package"));
        assert_eq!(entries[0].0.span, Span::new(3, 10), "spans count the mark");
    }

    #[test]
    fn a_nul_byte_is_located() {
        let err = parse_str("package:\n  name: a\0b\n").unwrap_err();
        assert_eq!(err.message, "the file has a NUL byte at 2:10");
        assert_eq!(err.span, Span::new(18, 19));
    }

    #[test]
    fn a_second_document_is_an_error() {
        let err = parse_str("a: 1\n---\nb: 2\n").unwrap_err();
        assert!(err.message.contains("exactly one YAML document"));
        assert_eq!(err.line(), 2);
    }

    #[test]
    fn spans_are_byte_offsets_after_wide_characters() {
        let text = "a: \"é—ü\"\nb: x\n";
        let root = parse_str(text).unwrap();
        let NodeKind::Map(entries) = &root.kind else {
            panic!("a map")
        };
        let b = &entries[1].1;
        assert_eq!(&text[b.span.start as usize..b.span.end as usize], "x");
    }
}
