//! The fields of a package, defined once: for each `Info` value, its
//! `.PKGINFO` key and index letter and when each format writes it. Writing
//! and reading `.PKGINFO` and index records all go through [`FIELDS`].

use std::fmt::Write as _;

/// A package's fields: everything its `.PKGINFO` carries, and the two an
/// index adds (`checksum`, `file_size`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Info {
    pub name: String,
    pub version: String,
    pub arch: String,
    /// Installed size.
    pub size: u64,
    pub description: String,
    pub url: String,
    pub license: String,
    pub origin: String,
    pub maintainer: String,
    pub builddate: u64,
    pub commit: String,
    pub provider_priority: String,
    pub replaces_priority: String,
    pub depends: Vec<String>,
    pub provides: Vec<String>,
    pub replaces: Vec<String>,
    pub triggers: Vec<String>,
    /// SHA-256 of the data member, hex.
    pub datahash: String,
    /// `Q1` + base64 of the SHA-1 of the control member.
    pub checksum: String,
    /// Size of the `.apk` file.
    pub file_size: u64,
}

/// Which value of an [`Info`] a field is; each reads it and sets it.
#[derive(Clone, Copy)]
enum Value {
    Text(fn(&Info) -> &String, fn(&mut Info) -> &mut String),
    Number(fn(&Info) -> u64, fn(&mut Info) -> &mut u64),
    /// One line per item in `.PKGINFO`; one line of items separated by
    /// spaces in the index.
    List(fn(&Info) -> &Vec<String>, fn(&mut Info) -> &mut Vec<String>),
    /// A list that both formats write as one line, separated by spaces.
    Words(fn(&Info) -> &Vec<String>, fn(&mut Info) -> &mut Vec<String>),
}

/// When a format writes a field.
#[derive(Clone, Copy)]
enum When {
    Always,
    IfNonEmpty,
    /// Neither empty nor `0`: a number that is not zero, or a priority
    /// that is set to something other than apk's default.
    IfNonZero,
}

struct Field {
    /// The `.PKGINFO` key, if `.PKGINFO` carries the field.
    pkginfo: Option<(&'static str, When)>,
    /// The index letter, if the index carries the field.
    index: Option<(char, When)>,
    value: Value,
}

macro_rules! text {
    ($f:ident) => {
        Value::Text(|i| &i.$f, |i| &mut i.$f)
    };
}
macro_rules! number {
    ($f:ident) => {
        Value::Number(|i| i.$f, |i| &mut i.$f)
    };
}
macro_rules! list {
    ($f:ident) => {
        Value::List(|i| &i.$f, |i| &mut i.$f)
    };
}
macro_rules! words {
    ($f:ident) => {
        Value::Words(|i| &i.$f, |i| &mut i.$f)
    };
}

use When::{Always, IfNonEmpty, IfNonZero};

/// Every field, in the order `.PKGINFO` writes them (melange's order).
static FIELDS: &[Field] = &[
    Field {
        pkginfo: Some(("pkgname", Always)),
        index: Some(('P', Always)),
        value: text!(name),
    },
    Field {
        pkginfo: Some(("pkgver", Always)),
        index: Some(('V', Always)),
        value: text!(version),
    },
    Field {
        pkginfo: Some(("arch", Always)),
        index: Some(('A', Always)),
        value: text!(arch),
    },
    Field {
        pkginfo: Some(("size", Always)),
        index: Some(('I', Always)),
        value: number!(size),
    },
    Field {
        pkginfo: Some(("origin", Always)),
        index: Some(('o', Always)),
        value: text!(origin),
    },
    Field {
        pkginfo: Some(("pkgdesc", Always)),
        index: Some(('T', Always)),
        value: text!(description),
    },
    Field {
        pkginfo: Some(("url", Always)),
        index: Some(('U', Always)),
        value: text!(url),
    },
    Field {
        pkginfo: Some(("commit", Always)),
        index: Some(('c', Always)),
        value: text!(commit),
    },
    Field {
        pkginfo: Some(("maintainer", IfNonEmpty)),
        index: Some(('m', IfNonEmpty)),
        value: text!(maintainer),
    },
    Field {
        pkginfo: Some(("builddate", IfNonZero)),
        index: Some(('t', IfNonZero)),
        value: number!(builddate),
    },
    Field {
        pkginfo: Some(("license", Always)),
        index: Some(('L', Always)),
        value: text!(license),
    },
    Field {
        pkginfo: Some(("depend", IfNonEmpty)),
        index: Some(('D', IfNonEmpty)),
        value: list!(depends),
    },
    Field {
        pkginfo: Some(("provides", IfNonEmpty)),
        index: Some(('p', IfNonEmpty)),
        value: list!(provides),
    },
    Field {
        pkginfo: Some(("replaces", IfNonEmpty)),
        index: None,
        value: list!(replaces),
    },
    Field {
        // apk-tools leaves the default, 0, out of the index.
        pkginfo: Some(("provider_priority", IfNonEmpty)),
        index: Some(('k', IfNonZero)),
        value: text!(provider_priority),
    },
    Field {
        pkginfo: Some(("replaces_priority", IfNonEmpty)),
        index: None,
        value: text!(replaces_priority),
    },
    Field {
        pkginfo: Some(("triggers", IfNonEmpty)),
        index: None,
        value: words!(triggers),
    },
    Field {
        pkginfo: Some(("datahash", Always)),
        index: None,
        value: text!(datahash),
    },
    Field {
        pkginfo: None,
        index: Some(('C', Always)),
        value: text!(checksum),
    },
    Field {
        pkginfo: None,
        index: Some(('S', Always)),
        value: number!(file_size),
    },
];

/// The order of an index record's lines (`apk index`'s order).
const INDEX_ORDER: &[char] = &[
    'C', 'P', 'V', 'A', 'S', 'I', 'T', 'U', 'L', 'o', 'm', 't', 'c', 'k', 'D', 'p',
];

impl Value {
    /// The value on one line, list items separated by spaces.
    fn joined(&self, info: &Info) -> String {
        match *self {
            Value::Text(get, _) => get(info).clone(),
            Value::Number(get, _) => get(info).to_string(),
            Value::List(get, _) | Value::Words(get, _) => get(info).join(" "),
        }
    }

    fn written(&self, info: &Info, when: When) -> bool {
        match when {
            Always => true,
            IfNonEmpty => !self.joined(info).is_empty(),
            IfNonZero => !matches!(self.joined(info).as_str(), "" | "0"),
        }
    }

    /// Sets the value from one line of text; a list item is added to the
    /// items before it.
    /// Lists are words in both formats: apk-tools splits a `.PKGINFO`
    /// `depend = a b` line into two dependencies, as it does `D:a b`.
    fn set(&self, info: &mut Info, text: &str) {
        match *self {
            Value::Text(_, set) => *set(info) = text.to_owned(),
            // Lenient, as apk-tools is: a malformed number reads as 0.
            Value::Number(_, set) => *set(info) = text.parse().unwrap_or(0),
            Value::List(_, set) | Value::Words(_, set) => {
                set(info).extend(text.split(' ').filter(|w| !w.is_empty()).map(str::to_owned))
            }
        }
    }
}

/// The text of a package's `.PKGINFO`.
pub fn pkginfo(info: &Info) -> String {
    let mut out = String::from("# Generated by melangec\n");
    for f in FIELDS {
        let Some((key, when)) = f.pkginfo else {
            continue;
        };
        if !f.value.written(info, when) {
            continue;
        }
        if let Value::List(get, _) = f.value {
            for item in get(info) {
                let _ = writeln!(out, "{key} = {item}");
            }
        } else {
            let _ = writeln!(out, "{key} = {}", f.value.joined(info));
        }
    }
    out
}

/// The fields of a `.PKGINFO`; lines it does not know are skipped. Lines
/// end at `\n` alone, as apk-tools reads them: a `\r` is part of a value.
pub fn parse_pkginfo(text: &str) -> Info {
    let mut info = Info::default();
    for line in text.split('\n') {
        let Some((key, value)) = line.split_once(" = ") else {
            continue;
        };
        if let Some(f) = FIELDS
            .iter()
            .find(|f| f.pkginfo.is_some_and(|(k, _)| k == key))
        {
            f.value.set(&mut info, value);
        }
    }
    info
}

fn by_letter(letter: char) -> Option<&'static Field> {
    FIELDS
        .iter()
        .find(|f| f.index.is_some_and(|(l, _)| l == letter))
}

/// A package's lines in an index, which apk's installed database starts
/// each package with too.
pub fn record(info: &Info) -> String {
    let mut out = String::new();
    for f in INDEX_ORDER.iter().filter_map(|l| by_letter(*l)) {
        let Some((letter, when)) = f.index else {
            continue;
        };
        if f.value.written(info, when) {
            let _ = writeln!(out, "{letter}:{}", f.value.joined(info));
        }
    }
    out
}

/// The fields of one index record; lines it does not know are skipped.
/// Lines end at `\n` alone, as apk-tools reads them: `lines()` would also
/// drop a `\r` before it, but not one ending the record, so a value read
/// would not be the value written.
pub fn parse_record(text: &str) -> Info {
    let mut info = Info::default();
    for line in text.split('\n') {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let mut letters = key.chars();
        let (Some(letter), None) = (letters.next(), letters.next()) else {
            continue;
        };
        if let Some(f) = by_letter(letter) {
            f.value.set(&mut info, value);
        }
    }
    info
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Info {
        Info {
            name: "hello".into(),
            version: "2.12-r1".into(),
            arch: "x86_64".into(),
            size: 4096,
            description: "says hello".into(),
            url: "https://example.org/hello".into(),
            license: "GPL-3.0-or-later".into(),
            origin: "hello".into(),
            maintainer: "wolfi".into(),
            builddate: 1_700_000_000,
            commit: "0123abcd".into(),
            provider_priority: "10".into(),
            replaces_priority: "5".into(),
            depends: vec!["busybox".into(), "so:libc.so.6".into()],
            provides: vec!["cmd:hello=2.12-r1".into()],
            replaces: vec!["hello-old".into(), "hi".into()],
            triggers: vec!["/usr/share/hello/*".into(), "/etc/hello".into()],
            datahash: "ab".repeat(32),
            checksum: "Q1SJNXPke1lFZrbmWr/o+7di9sPwQ=".into(),
            file_size: 12345,
        }
    }

    #[test]
    fn pkginfo_and_record_read_back_what_they_were_written_from() {
        let info = sample();
        // Each format carries its own fields: .PKGINFO not the two the
        // index adds, the index not replaces, triggers or datahash.
        let from_pkginfo = Info {
            checksum: String::new(),
            file_size: 0,
            ..info.clone()
        };
        assert_eq!(parse_pkginfo(&pkginfo(&info)), from_pkginfo);
        let from_record = Info {
            replaces: Vec::new(),
            replaces_priority: String::new(),
            triggers: Vec::new(),
            datahash: String::new(),
            ..info.clone()
        };
        assert_eq!(parse_record(&record(&info)), from_record);

        // Unset optional fields stay unset.
        let bare = Info {
            name: "bare".into(),
            version: "0-r0".into(),
            ..Default::default()
        };
        assert_eq!(parse_pkginfo(&pkginfo(&bare)), bare);
        assert_eq!(parse_record(&record(&bare)), bare);
    }

    #[test]
    fn pkginfo_and_record_bytes() {
        let info = sample();
        assert_eq!(
            pkginfo(&info),
            "# Generated by melangec
pkgname = hello
pkgver = 2.12-r1
arch = x86_64
size = 4096
origin = hello
pkgdesc = says hello
url = https://example.org/hello
commit = 0123abcd
maintainer = wolfi
builddate = 1700000000
license = GPL-3.0-or-later
depend = busybox
depend = so:libc.so.6
provides = cmd:hello=2.12-r1
replaces = hello-old
replaces = hi
provider_priority = 10
replaces_priority = 5
triggers = /usr/share/hello/* /etc/hello
datahash = abababababababababababababababababababababababababababababababab
"
        );
        assert_eq!(
            record(&info),
            "C:Q1SJNXPke1lFZrbmWr/o+7di9sPwQ=
P:hello
V:2.12-r1
A:x86_64
S:12345
I:4096
T:says hello
U:https://example.org/hello
L:GPL-3.0-or-later
o:hello
m:wolfi
t:1700000000
c:0123abcd
k:10
D:busybox so:libc.so.6
p:cmd:hello=2.12-r1
"
        );
        // What is left out when unset: maintainer, builddate, priorities,
        // lists, triggers; and a provider priority of 0 in the index.
        let bare = Info {
            name: "bare".into(),
            version: "0-r0".into(),
            provider_priority: "0".into(),
            ..Default::default()
        };
        assert_eq!(
            pkginfo(&bare),
            "# Generated by melangec\n\
             pkgname = bare\npkgver = 0-r0\narch = \nsize = 0\norigin = \npkgdesc = \n\
             url = \ncommit = \nlicense = \nprovider_priority = 0\ndatahash = \n"
        );
        assert_eq!(
            record(&bare),
            "C:\nP:bare\nV:0-r0\nA:\nS:0\nI:0\nT:\nU:\nL:\no:\nc:\n"
        );
    }

    #[test]
    fn a_dependency_line_holds_words_as_apk_reads_it() {
        let info = parse_pkginfo("pkgname = a\npkgver = 1-r0\ndepend = b c\ndepend = d\n");
        assert_eq!(info.depends, ["b", "c", "d"]);
        assert_eq!(parse_record(&record(&info)).depends, info.depends);
        assert_eq!(parse_pkginfo(&pkginfo(&info)).depends, info.depends);
    }

    /// As the fuzzer found it: a name ending in `\r` at the end of a
    /// record was read with it, and written and read again without it.
    #[test]
    fn a_carriage_return_is_part_of_a_value() {
        for text in ["P:a\r", "P:a\r\nV:1-r0\n"] {
            let info = parse_record(text);
            assert_eq!(info.name, "a\r", "{text:?}");
            assert_eq!(parse_record(&record(&info)), info);
        }
        let info = parse_pkginfo("pkgname = a\r\npkgver = 1-r0\r");
        assert_eq!(
            (info.name.as_str(), info.version.as_str()),
            ("a\r", "1-r0\r")
        );
        assert_eq!(parse_pkginfo(&pkginfo(&info)), info);
    }

    #[test]
    fn every_index_letter_is_in_the_order_once() {
        let letters: Vec<char> = FIELDS.iter().filter_map(|f| f.index).map(|i| i.0).collect();
        assert_eq!(letters.len(), INDEX_ORDER.len());
        for l in INDEX_ORDER {
            assert_eq!(letters.iter().filter(|x| *x == l).count(), 1, "{l}");
        }
    }
}
