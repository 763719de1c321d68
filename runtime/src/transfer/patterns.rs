//! `.dockerignore`-style patterns, as the daemon passes them for a local
//! source: `*`, `?`, `[…]`, `**`, `\` escapes, `!` exceptions; the last
//! pattern that matches a path decides, and a path matches when it or one of
//! its parent directories does.

use regex::Regex;

#[derive(Debug)]
struct Rule {
    re: Regex,
    exception: bool,
}

#[derive(Debug, Default)]
pub struct Patterns {
    rules: Vec<Rule>,
}

#[derive(Debug, thiserror::Error)]
pub enum PatternError {
    #[error("illegal pattern {0:?}: `!` needs a pattern")]
    Empty(String),
    #[error("bad pattern {pattern:?}: {source}")]
    Bad {
        pattern: String,
        source: regex::Error,
    },
}

impl Patterns {
    pub fn new(patterns: &[String]) -> Result<Patterns, PatternError> {
        let mut rules = Vec::new();
        for p in patterns {
            let p = p.trim();
            if p.is_empty() {
                continue;
            }
            let (exception, body) = match p.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, p),
            };
            if body.is_empty() {
                return Err(PatternError::Empty(p.to_owned()));
            }
            let body = clean(body);
            let re = Regex::new(&to_regex(&body)).map_err(|source| PatternError::Bad {
                pattern: p.to_owned(),
                source,
            })?;
            rules.push(Rule { re, exception });
        }
        Ok(Patterns { rules })
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub fn has_exceptions(&self) -> bool {
        self.rules.iter().any(|r| r.exception)
    }

    /// Whether the last rule matching `path` (or one of its parents) is a
    /// plain pattern rather than an exception.
    pub fn matches(&self, path: &str) -> bool {
        let mut matched = false;
        for rule in &self.rules {
            if self_or_parent(path, |p| rule.re.is_match(p)) {
                matched = !rule.exception;
            }
        }
        matched
    }
}

fn self_or_parent(path: &str, mut f: impl FnMut(&str) -> bool) -> bool {
    if f(path) {
        return true;
    }
    let mut p = path;
    while let Some(i) = p.rfind('/') {
        p = &p[..i];
        if f(p) {
            return true;
        }
    }
    false
}

/// Drops `./`, a leading `/`, doubled and trailing slashes.
fn clean(p: &str) -> String {
    let parts: Vec<&str> = p
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    parts.join("/")
}

fn to_regex(p: &str) -> String {
    let mut out = String::from("^");
    let chars: Vec<char> = p.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '*' if chars.get(i + 1) == Some(&'*') => {
                i += 1;
                if chars.get(i + 1) == Some(&'/') {
                    // `**/` also matches nothing at all.
                    out.push_str("(.*/)?");
                    i += 1;
                } else {
                    out.push_str(".*");
                }
            }
            '*' => out.push_str("[^/]*"),
            '?' => out.push_str("[^/]"),
            '[' => {
                let mut j = i + 1;
                let mut class = String::from("[");
                if chars.get(j) == Some(&'^') || chars.get(j) == Some(&'!') {
                    class.push('^');
                    j += 1;
                }
                while j < chars.len() && chars[j] != ']' {
                    if chars[j] == '\\' || chars[j] == '[' {
                        class.push('\\');
                    }
                    class.push(chars[j]);
                    j += 1;
                }
                if j < chars.len() {
                    class.push(']');
                    out.push_str(&class);
                    i = j;
                } else {
                    out.push_str(&regex::escape("["));
                }
            }
            '\\' if i + 1 < chars.len() => {
                i += 1;
                out.push_str(&regex::escape(&chars[i].to_string()));
            }
            c => out.push_str(&regex::escape(&c.to_string())),
        }
        i += 1;
    }
    out.push('$');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(list: &[&str]) -> Patterns {
        Patterns::new(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn dockerignore_semantics() {
        let pats = p(&["*.log", "build", "!build/keep", "docs/**/*.tmp", "/rooted"]);
        assert!(pats.matches("x.log"));
        assert!(!pats.matches("dir/x.log"), "`*` does not cross directories");
        assert!(pats.matches("build"));
        assert!(
            pats.matches("build/out.o"),
            "a parent matching excludes the child"
        );
        assert!(!pats.matches("build/keep"), "the last matching rule wins");
        assert!(pats.matches("docs/a.tmp"));
        assert!(pats.matches("docs/a/b/c.tmp"));
        assert!(pats.matches("rooted"));
        assert!(!pats.matches("src/main.c"));
        assert!(pats.has_exceptions());
    }

    #[test]
    fn classes_and_escapes() {
        let pats = p(&["file[0-9].txt", "a\\*b", "?.md"]);
        assert!(pats.matches("file3.txt"));
        assert!(!pats.matches("fileX.txt"));
        assert!(pats.matches("a*b"));
        assert!(!pats.matches("axb"));
        assert!(pats.matches("x.md"));
        assert!(!pats.matches("xy.md"));
        assert!(Patterns::new(&["!".into()]).is_err());
    }
}
