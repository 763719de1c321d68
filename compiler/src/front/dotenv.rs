//! `--env-file`s: dotenv syntax as melange reads it.

use crate::front::diagnostics::{Code, Diagnostic, Diagnostics};
use crate::front::recipe::{Text, TextMap};
use crate::source::{SourceFile, Span};

/// `KEY=value` lines, `export` prefix, `#` comments, optional quotes.
pub fn parse_dotenv(file: &SourceFile, diags: &mut Diagnostics) -> TextMap {
    let mut out = TextMap::new();
    let mut offset = 0;
    for line in file.text().split_inclusive('\n') {
        let span = Span::new(offset, offset + line.trim_end().len());
        offset += line.len();
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let t = t.strip_prefix("export ").map(str::trim_start).unwrap_or(t);
        let Some((k, v)) = t.split_once('=') else {
            diags.push(Diagnostic::new(
                Code::EnvFile,
                file,
                span,
                "expected KEY=value",
            ));
            continue;
        };
        let k = k.trim();
        if k.is_empty()
            || !k
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        {
            diags.push(Diagnostic::new(
                Code::EnvFile,
                file,
                span,
                format!("invalid variable name {k:?}"),
            ));
            continue;
        }
        let v = v.trim();
        let v = if v.len() >= 2
            && ((v.starts_with('"') && v.ends_with('"'))
                || (v.starts_with('\'') && v.ends_with('\'')))
        {
            &v[1..v.len() - 1]
        } else {
            v.split(" #").next().unwrap_or(v).trim_end()
        };
        let key = Text::new(k, span);
        let value = Text::new(v, span);
        match out.iter_mut().find(|(existing, _)| existing.value == k) {
            Some((_, old)) => *old = value,
            None => out.push((key, value)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_quotes_comments_and_bad_lines() {
        let file = SourceFile::new(
            "a.env",
            "# comment\nexport A=1\nB='two words'\nC=3 # trailing\nnot a pair\n9x=1\n",
        );
        let mut diags = Diagnostics::default();
        let vars = parse_dotenv(&file, &mut diags);
        let got: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            got,
            [("A", "1"), ("B", "two words"), ("C", "3"), ("9x", "1")]
        );
        assert_eq!(diags.0.len(), 1);
        assert_eq!(diags.0[0].line(), 5);
        assert_eq!(diags.0[0].code, Code::EnvFile);
    }
}
