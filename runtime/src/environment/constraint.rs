//! Dependency constraints: `[!]name[@tag][op version]`.

use std::cmp::Ordering;

use super::version;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    Any,
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
    /// Version starts with the given one.
    Fuzzy,
    /// Greater, or fuzzy-equal.
    GtFuzzy,
    /// Less, or fuzzy-equal.
    LtFuzzy,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConstraintError {
    #[error("{0:?} names no package")]
    NoName(String),
    #[error("{constraint:?}: {version:?} is not a valid version")]
    Version { constraint: String, version: String },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Constraint {
    pub name: String,
    pub op: Op,
    pub version: String,
    pub conflict: bool,
    pub tag: String,
}

/// The package a constraint names, without `!`, `@tag` or version: what a
/// dependency is looked up by, even in a constraint that does not parse.
pub fn name_of(s: &str) -> &str {
    let s = s.trim();
    let rest = s.strip_prefix('!').unwrap_or(s);
    let end = rest.find(['=', '<', '>', '~', '@']).unwrap_or(rest.len());
    &rest[..end]
}

impl Constraint {
    pub fn parse(s: &str) -> Result<Constraint, ConstraintError> {
        let s = s.trim();
        let (conflict, rest) = match s.strip_prefix('!') {
            Some(r) => (true, r),
            None => (false, s),
        };
        let at = rest.find(['=', '<', '>', '~']).unwrap_or(rest.len());
        let (name_tag, rest) = rest.split_at(at);
        let (name, tag) = match name_tag.split_once('@') {
            Some((n, t)) => (n, t),
            None => (name_tag, ""),
        };
        if name.is_empty() {
            return Err(ConstraintError::NoName(s.to_owned()));
        }
        let (op, version) = [
            (">=", Op::Ge),
            ("<=", Op::Le),
            (">~", Op::GtFuzzy),
            ("<~", Op::LtFuzzy),
            ("=~", Op::Fuzzy),
            ("~", Op::Fuzzy),
            ("=", Op::Eq),
            ("<", Op::Lt),
            (">", Op::Gt),
        ]
        .into_iter()
        .find_map(|(p, op)| rest.strip_prefix(p).map(|v| (op, v)))
        .unwrap_or((Op::Any, rest));
        if op != Op::Any && !version::is_valid(version) {
            return Err(ConstraintError::Version {
                constraint: s.to_owned(),
                version: version.to_owned(),
            });
        }
        Ok(Constraint {
            name: name.to_owned(),
            op,
            version: version.to_owned(),
            conflict,
            tag: tag.to_owned(),
        })
    }

    /// Whether a package (or provided name) at `version` satisfies this.
    pub fn allows(&self, version: &str) -> bool {
        let fuzzy = || version.starts_with(&self.version);
        let o = || version::compare(version, &self.version);
        match self.op {
            Op::Any => true,
            Op::Eq => o() == Ordering::Equal,
            Op::Lt => o() == Ordering::Less,
            Op::Le => o() != Ordering::Greater,
            Op::Gt => o() == Ordering::Greater,
            Op::Ge => o() != Ordering::Less,
            Op::Fuzzy => fuzzy(),
            Op::GtFuzzy => fuzzy() || o() == Ordering::Greater,
            Op::LtFuzzy => fuzzy() || o() == Ordering::Less,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_of_strips_conflict_tag_and_version() {
        assert_eq!(name_of("!foo@edge>=1.2"), "foo");
        assert_eq!(name_of("so:libc.so.6"), "so:libc.so.6");
        assert_eq!(name_of(" bar~3 "), "bar");
    }

    #[test]
    fn parses_every_form() {
        let c = Constraint::parse("go>=1.21").unwrap();
        assert_eq!(
            (c.name.as_str(), &c.op, c.version.as_str()),
            ("go", &Op::Ge, "1.21")
        );
        assert!(c.allows("1.22.0-r1") && !c.allows("1.20"));
        let c = Constraint::parse("foo~4.5").unwrap();
        assert!(c.allows("4.5.2-r0") && !c.allows("4.6"));
        let c = Constraint::parse("foo=1.2-r0").unwrap();
        assert!(c.allows("1.2-r0") && !c.allows("1.2-r1"));
        let c = Constraint::parse("so:libc.so.6").unwrap();
        assert_eq!(c.op, Op::Any);
        let c = Constraint::parse("!busybox").unwrap();
        assert!(c.conflict);
        let c = Constraint::parse("foo@edge<2").unwrap();
        assert_eq!((c.tag.as_str(), &c.op), ("edge", &Op::Lt));
        assert!(Constraint::parse("foo>=1.0-rc1").is_err());
        assert!(Constraint::parse(">=1").is_err());
    }
}
