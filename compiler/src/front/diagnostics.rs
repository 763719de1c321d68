//! Diagnostics that quote the YAML they are about, each with a code from
//! one list, so every kind of error has a name and a pinned rendering
//! (`golden/errors/`).

use std::fmt;

use miette::{LabeledSpan, SourceCode};

pub use crate::source::{SourceFile, Span};

/// What kind of error a diagnostic is: its miette code, `melangec::<name>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Code {
    /// The recipe's text or structure: YAML syntax, documents, anchors,
    /// ranges and var-transforms.
    Recipe,
    /// Decoding into melange's types: unknown fields, wrong types.
    Load,
    /// The architecture is not in `target-architecture`.
    Arch,
    /// A `${{…}}` placeholder that is malformed or names nothing in scope.
    Template,
    /// `environment.accounts.run-as` names no user.
    Accounts,
    /// A `uses:` step: unknown pipeline, inputs, nesting.
    Uses,
    /// An `--env-file` line.
    EnvFile,
    /// A `--build-option` the recipe does not define.
    Options,
    /// A recipe value melange refuses: names, priorities, step shapes.
    Invalid,
    /// An `if:` condition that does not parse.
    If,
    /// `assertions.required-steps` does not hold.
    Assertions,
    /// The build environment cannot be resolved from its repositories.
    Environment,
    /// The compiler produced something its own validator refuses: a bug.
    Internal,
}

impl Code {
    pub const ALL: [Code; 13] = [
        Code::Recipe,
        Code::Load,
        Code::Arch,
        Code::Template,
        Code::Accounts,
        Code::Uses,
        Code::EnvFile,
        Code::Options,
        Code::Invalid,
        Code::If,
        Code::Assertions,
        Code::Environment,
        Code::Internal,
    ];

    /// The name after `melangec::`.
    pub fn name(self) -> &'static str {
        match self {
            Code::Recipe => "recipe",
            Code::Load => "load",
            Code::Arch => "arch",
            Code::Template => "template",
            Code::Accounts => "accounts",
            Code::Uses => "uses",
            Code::EnvFile => "env-file",
            Code::Options => "options",
            Code::Invalid => "invalid",
            Code::If => "if",
            Code::Assertions => "assertions",
            Code::Environment => "environment",
            Code::Internal => "internal",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "melangec::{}", self.name())
    }
}

/// At most `max` bytes of `text` (cut at a character), marked when cut: what
/// a message quotes of an input that may be any size.
pub fn excerpt(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// A place in a file with something to say about it.
#[derive(Clone, Debug)]
pub struct Note {
    pub file: SourceFile,
    pub span: Span,
    pub message: String,
}

/// One error, located in a source file.
#[derive(Clone, Debug)]
pub struct Diagnostic {
    pub code: Code,
    pub message: String,
    pub file: SourceFile,
    pub span: Span,
    pub label: Option<String>,
    pub help: Option<String>,
    pub notes: Vec<Note>,
}

impl Diagnostic {
    pub fn new(
        code: Code,
        file: &SourceFile,
        span: Span,
        message: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic {
            code,
            message: message.into(),
            file: file.clone(),
            span,
            label: None,
            help: None,
            notes: Vec::new(),
        }
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Diagnostic {
        self.label = Some(label.into());
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    pub fn with_note(mut self, note: Note) -> Diagnostic {
        self.notes.push(note);
        self
    }

    /// A diagnostic about a pipeline definition, pointed at the recipe step
    /// that uses it: the recipe's line first, the definition's as a note.
    pub fn from_pipeline(self, recipe: &SourceFile, step: Span) -> Diagnostic {
        let note = Note {
            message: format!("in pipeline definition {}", self.file.name()),
            file: self.file,
            span: self.span,
        };
        Diagnostic::new(self.code, recipe, step, self.message)
            .with_label("in the pipeline this step uses")
            .with_note(note)
    }

    /// 1-based line the diagnostic points at.
    pub fn line(&self) -> u32 {
        self.file.line_of(self.span.start)
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Diagnostic {}

fn labeled(span: Span, label: Option<String>) -> LabeledSpan {
    LabeledSpan::new(label, span.start as usize, span.len())
}

impl miette::Diagnostic for Diagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(self)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(std::iter::once(labeled(
            self.span,
            self.label.clone(),
        ))))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        if self.notes.is_empty() {
            return None;
        }
        Some(Box::new(
            self.notes.iter().map(|n| n as &dyn miette::Diagnostic),
        ))
    }
}

// A diagnostic quotes its own file; miette reads the text through this.
impl SourceCode for Diagnostic {
    fn read_span<'a>(
        &'a self,
        span: &miette::SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        read_named(&self.file, span, before, after)
    }
}

fn read_named<'a>(
    file: &'a SourceFile,
    span: &miette::SourceSpan,
    before: usize,
    after: usize,
) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
    let contents = file.text().read_span(span, before, after)?;
    Ok(Box::new(miette::MietteSpanContents::new_named(
        file.name().to_owned(),
        contents.data(),
        *contents.span(),
        contents.line(),
        contents.column(),
        contents.line_count(),
    )))
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Note {}

impl miette::Diagnostic for Note {
    fn severity(&self) -> Option<miette::Severity> {
        Some(miette::Severity::Advice)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(self)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(std::iter::once(labeled(self.span, None))))
    }
}

impl SourceCode for Note {
    fn read_span<'a>(
        &'a self,
        span: &miette::SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        read_named(&self.file, span, before, after)
    }
}

/// Every error one pass found, in the order found.
#[derive(Clone, Debug, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value)` when nothing was reported.
    pub fn finish<T>(self, value: T) -> Result<T, Diagnostics> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }

    pub fn first_line(&self) -> String {
        self.0
            .first()
            .map(|d| format!("{}:{}: {}", d.file.name(), d.line(), d.message))
            .unwrap_or_default()
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Diagnostics {
        Diagnostics(vec![d])
    }
}
