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

/// Parses one YAML document. An empty document is an empty mapping.
pub fn parse(file: &SourceFile) -> Result<Node, Diagnostic> {
    let text = file.text();
    let mut builder = TreeBuilder {
        text,
        stack: Vec::new(),
        anchors: HashMap::new(),
        root: None,
        documents: 0,
        error: None,
        pending: None,
    };
    let mut parser = Parser::new_from_str(text);
    if let Err(err) = parser.load(&mut builder, false) {
        let at = err.marker().index().min(text.len());
        return Err(Diagnostic::new(
            Code::Recipe,
            file,
            Span::new(at, at),
            format!("invalid YAML: {}", err.info()),
        )
        .with_label("here"));
    }
    if let Some((span, message)) = builder.error {
        return Err(Diagnostic::new(Code::Recipe, file, span, message));
    }
    Ok(builder.root.unwrap_or(Node {
        kind: NodeKind::Map(Vec::new()),
        span: Span::new(0, 0),
    }))
}

enum Frame {
    Seq {
        start: usize,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        start: usize,
        anchor: usize,
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
    },
}

struct TreeBuilder<'a> {
    text: &'a str,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    root: Option<Node>,
    documents: usize,
    error: Option<(Span, String)>,
    pending: Option<(Node, usize, TScalarStyle)>,
}

impl TreeBuilder<'_> {
    fn push_node(&mut self, node: Node, anchor: usize) {
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                Some(k) => entries.push((k, node)),
                None => *key = Some(node),
            },
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
        let at = mark.index().min(self.text.len());
        // A pending scalar ends before the next event begins.
        self.close_pending(at);
        match ev {
            Event::DocumentStart => {
                self.documents += 1;
                if self.documents > 1 {
                    self.error = Some((
                        Span::new(at, at),
                        "a recipe holds exactly one YAML document".into(),
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
                Some(node) => {
                    let node = node.clone();
                    self.push_node(node, 0);
                }
                None => {
                    self.error = Some((Span::new(at, at), "unknown anchor".into()));
                }
            },
            Event::SequenceStart(anchor, _) => self.stack.push(Frame::Seq {
                start: at,
                anchor,
                items: Vec::new(),
            }),
            Event::MappingStart(anchor, _) => self.stack.push(Frame::Map {
                start: at,
                anchor,
                entries: Vec::new(),
                key: None,
            }),
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = self.stack.pop() else {
                    return;
                };
                let (kind, start, anchor) = match frame {
                    Frame::Seq {
                        start,
                        anchor,
                        items,
                    } => (NodeKind::Seq(items), start, anchor),
                    Frame::Map {
                        start,
                        anchor,
                        entries,
                        ..
                    } => (NodeKind::Map(entries), start, anchor),
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
            self.push_node(node, anchor);
        }
    }
}
