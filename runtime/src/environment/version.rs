//! Alpine package versions: `1.2.3a_rc1_p2-r4`, compared token by token as
//! apk-tools compares them. Our own code, since resolution must choose
//! exactly what apk would: no crate implements apk's order.

use std::cmp::Ordering;

use melangec_compiler::names;

/// Whether `v` is a version apko accepts, with or without its `-r` epoch
/// (constraints may leave it out); the grammar is the compiler's.
pub fn is_valid(v: &str) -> bool {
    if v.contains("-r") {
        names::valid_full_version(v)
    } else {
        names::valid_version(v)
    }
}

/// Suffixes and their order relative to no suffix (0).
const SUFFIXES: &[(&str, i32)] = &[
    ("alpha", -4),
    ("beta", -3),
    ("pre", -2),
    ("rc", -1),
    ("cvs", 1),
    ("svn", 2),
    ("git", 3),
    ("hg", 4),
    ("p", 5),
];

#[derive(Debug, PartialEq, Eq, Clone)]
enum Token {
    /// A numeric component, with the text kept for leading-zero rules.
    Number(String),
    Letter(u8),
    Suffix(i32, u64),
    Release(u64),
    End,
}

fn tokens(v: &str) -> Vec<Token> {
    let b = v.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let number = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        v[start..*i].to_owned()
    };
    out.push(Token::Number(number(&mut i)));
    while i < b.len() {
        match b[i] {
            b'.' => {
                i += 1;
                out.push(Token::Number(number(&mut i)));
            }
            c if c.is_ascii_lowercase() => {
                out.push(Token::Letter(c));
                i += 1;
            }
            b'_' => {
                let rest = &v[i + 1..];
                let (name, rank) = SUFFIXES
                    .iter()
                    .filter(|(s, _)| rest.starts_with(*s))
                    .max_by_key(|(s, _)| s.len())
                    .copied()
                    .unwrap_or(("", 0));
                i += 1 + name.len();
                let n = number(&mut i).parse().unwrap_or(0);
                out.push(Token::Suffix(rank, n));
            }
            b'-' if v[i..].starts_with("-r") => {
                i += 2;
                out.push(Token::Release(number(&mut i).parse().unwrap_or(0)));
            }
            _ => i += 1,
        }
    }
    out.push(Token::End);
    out
}

fn compare_numbers(a: &str, b: &str, first: bool) -> Ordering {
    // After the first component, a leading zero compares as a decimal
    // fraction (apk's rule): "001" < "01".
    if !first && (a.starts_with('0') || b.starts_with('0')) {
        return a.cmp(b);
    }
    let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Rank of a token kind when kinds differ at the same position: what a
/// shorter version "has instead".
fn rank(t: &Token) -> i32 {
    match t {
        Token::Suffix(r, _) if *r < 0 => -1,
        Token::End => 0,
        Token::Release(_) => 1,
        Token::Suffix(_, _) => 2,
        Token::Letter(_) => 3,
        Token::Number(_) => 4,
    }
}

pub fn compare(a: &str, b: &str) -> Ordering {
    let (ta, tb) = (tokens(a), tokens(b));
    for (i, (x, y)) in ta.iter().zip(tb.iter()).enumerate() {
        let o = match (x, y) {
            (Token::Number(p), Token::Number(q)) => compare_numbers(p, q, i == 0),
            (Token::Letter(p), Token::Letter(q)) => p.cmp(q),
            (Token::Suffix(r1, n1), Token::Suffix(r2, n2)) => r1.cmp(r2).then(n1.cmp(n2)),
            (Token::Release(p), Token::Release(q)) => p.cmp(q),
            (Token::End, Token::End) => Ordering::Equal,
            _ => rank(x).cmp(&rank(y)),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lt(a: &str, b: &str) {
        assert_eq!(compare(a, b), Ordering::Less, "{a} < {b}");
        assert_eq!(compare(b, a), Ordering::Greater, "{b} > {a}");
    }

    #[test]
    fn ordering_as_apk_tools() {
        lt("1.2", "1.10");
        lt("0.9", "0.10");
        lt("1.0", "1.0.0");
        lt("1.001", "1.01");
        lt("1.0", "1.0a");
        lt("1.0z", "1.1");
        lt("1.0_rc1", "1.0");
        lt("1.0", "1.0_p1");
        lt("1.0-r5", "1.0_p1");
        lt("1.0_alpha", "1.0_alpha1");
        lt("1.0_rc9", "1.0_rc10");
        lt("1.0_alpha", "1.0_beta");
        lt("1.0_pre1", "1.0_rc1");
        lt("1.0_cvs", "1.0_git");
        lt("1.0", "1.0-r0");
        lt("1.0-r1", "1.0-r10");
        lt("2.12.1-r0", "2.12.1-r1");
        lt("9.9", "10.0");
        assert_eq!(compare("1.2.3-r4", "1.2.3-r4"), Ordering::Equal);
    }

    #[test]
    fn validity_as_apko() {
        for v in [
            "1",
            "1.2.3",
            "1.0a",
            "1.0_rc1",
            "1.0_p2",
            "1.0_rc1_p2",
            "1.2-r0",
            "2.12.1-r10",
        ] {
            assert!(is_valid(v), "{v}");
        }
        for v in [
            "",
            "1.0-rc1",
            "1_0",
            "1.0__p1",
            "1.0~abc",
            "a1",
            "1.",
            "1.0_p1_rc1",
            "1.0-r",
        ] {
            assert!(!is_valid(v), "{v}");
        }
    }
}
