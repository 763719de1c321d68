//! The spellings a package's fields must keep: names and versions become
//! file names, and every field becomes a `.PKGINFO` line or a word of the
//! index. Defined here once, for the recipe's checks, the IR validator and
//! the command line.

/// A package name melange accepts: `^[a-zA-Z\d][a-zA-Z\d+_.-]*$`.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || "+_.-".contains(c))
}

/// Suffixes apk orders versions by, in its order; the first four come
/// before a release, the rest after it.
const SUFFIXES: [&str; 9] = ["alpha", "beta", "pre", "rc", "cvs", "svn", "git", "hg", "p"];
const PRE_RELEASE: usize = 4;

/// An upstream version in apk's grammar, without the `-r` epoch: digits
/// separated by dots, one optional lowercase letter, then `_suffix` words
/// each with optional digits (`1.2.3`, `2.0b`, `1.0_rc2`, `6.4_p20240101`):
/// at most one pre-release suffix, then at most one post-release one, as
/// apko reads them.
pub fn valid_version(version: &str) -> bool {
    let bytes = version.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < bytes.len() && bytes[*i].is_ascii_digit() {
            *i += 1;
        }
        *i > start
    };
    if !digits(&mut i) {
        return false;
    }
    while i < bytes.len() && bytes[i] == b'.' {
        i += 1;
        if !digits(&mut i) {
            return false;
        }
    }
    if i < bytes.len() && bytes[i].is_ascii_lowercase() {
        i += 1;
    }
    // 0: no suffix yet, 1: after a pre-release one, 2: after a post-release one.
    let mut stage = 0;
    while i < bytes.len() && bytes[i] == b'_' {
        i += 1;
        // `pre` is tried before `p`.
        let Some(at) = SUFFIXES.iter().position(|s| version[i..].starts_with(*s)) else {
            return false;
        };
        let next = if at < PRE_RELEASE { 1 } else { 2 };
        if stage >= next || (next == 1 && stage != 0) {
            return false;
        }
        stage = next;
        i += SUFFIXES[at].len();
        digits(&mut i);
    }
    i == bytes.len()
}

/// A full version, `<version>-r<epoch>`, as `.PKGINFO` and file names carry it.
pub fn valid_full_version(full: &str) -> bool {
    match full.rsplit_once("-r") {
        Some((version, epoch)) => {
            valid_version(version)
                && !epoch.is_empty()
                && epoch.bytes().all(|b| b.is_ascii_digit())
                && epoch.parse::<u64>().is_ok()
        }
        None => false,
    }
}

/// Why a value cannot be one word of a list field (a dependency, a
/// provide, a trigger path): the index writes such lists on one line,
/// separated by spaces.
pub fn word_problem(value: &str) -> Option<&'static str> {
    if value.chars().any(char::is_whitespace) {
        Some("a space or line break")
    } else {
        text_problem(value)
    }
}

/// Why a value cannot be written as a `.PKGINFO` value at all: line breaks
/// are folded to spaces, but other control characters would stay.
pub fn text_problem(value: &str) -> Option<&'static str> {
    if value.contains('\0') {
        Some("a NUL character")
    } else if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        Some("a control character")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_in_apk_grammar() {
        for ok in [
            "1",
            "1.2.3",
            "2.0b",
            "1.0_rc2",
            "6.4_p20240101",
            "1.0_alpha_p3",
            "0.0_git",
            "1.2_pre1",
            "10.0.0_beta",
        ] {
            assert!(valid_version(ok), "{ok}");
        }
        for bad in [
            "",
            "1.",
            ".1",
            "1..2",
            "1.0/../../x",
            "1.0-r3",
            "v1.0",
            "1.0_foo",
            "1.0ab",
            "1.0\n",
            "1.0 ",
            "1.0_",
            "1.0_pz",
            // A pre-release after a post-release one, or two of a kind.
            "1.0_p1_rc1",
            "1.0_rc1_beta2",
            "1.0_p1_git2",
        ] {
            assert!(!valid_version(bad), "{bad:?}");
        }
    }

    #[test]
    fn full_versions_need_an_epoch() {
        assert!(valid_full_version("1.2.3-r0"));
        assert!(valid_full_version("1.0_rc1-r12"));
        for bad in [
            "1.2.3", "1.2.3-r", "1.2.3-rx", "1.2/3-r0", "-r0", "1.0-r0\n",
        ] {
            assert!(!valid_full_version(bad), "{bad:?}");
        }
    }

    #[test]
    fn names_and_words() {
        assert!(valid_name("py3.12-foo+bar_baz"));
        assert!(!valid_name("-x") && !valid_name("a/b") && !valid_name("a\nb") && !valid_name(""));
        assert_eq!(word_problem("so:libc.so.6"), None);
        assert_eq!(word_problem("a>=1.0"), None);
        assert!(word_problem("a\npkgname = evil").is_some());
        assert!(word_problem("a b").is_some());
        assert_eq!(text_problem("two\nlines"), None);
        assert!(text_problem("a\0b").is_some());
        assert!(text_problem("a\u{1b}[31m").is_some());
    }
}
