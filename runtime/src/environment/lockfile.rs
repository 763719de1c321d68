//! The lock file, `<recipe>.lock.yaml`: YAML, one entry per architecture,
//! sorted, so that it diffs well and reads back the same. Written by
//! yaml-rust2's emitter and read by the compiler's span-keeping YAML tree,
//! so a hand-edited lock that is wrong says which line.

use std::path::{Path, PathBuf};

use melangec_compiler::front::yaml::{self, Node, NodeKind};
use melangec_compiler::names::valid_name;
use melangec_compiler::{Arch, SourceFile};
use yaml_rust2::yaml::Hash;
use yaml_rust2::{Yaml, YamlEmitter};

use super::lock::{ArchLock, Locked};
use super::{version, Error};
use crate::file_error::ReadError;

const HEADER: &str = "# Written by melangec lock; build and compile read it.\n";

/// The lock a build or compile uses: `--lock`, or the one beside the recipe
/// when it exists.
#[derive(Clone, Debug)]
pub struct LockFile {
    pub path: PathBuf,
    /// Named on the command line: then it must exist.
    pub explicit: bool,
}

impl LockFile {
    pub fn new(recipe: &Path, given: Option<&Path>) -> LockFile {
        match given {
            Some(p) => LockFile {
                path: p.to_path_buf(),
                explicit: true,
            },
            None => LockFile {
                path: default_path(recipe),
                explicit: false,
            },
        }
    }

    /// Whether there is a lock to use.
    pub fn in_use(&self) -> bool {
        self.explicit || self.path.exists()
    }

    /// Its entries, or `None` when the default lock is absent.
    pub fn read(&self) -> Result<Option<Vec<ArchLock>>, Error> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => parse(&self.path, &text).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !self.explicit => Ok(None),
            Err(source) => Err(Error::Read(ReadError {
                path: self.path.clone(),
                source,
            })),
        }
    }
}

/// `<recipe>.lock.yaml`, where `melangec lock` writes and the others look.
pub fn default_path(recipe: &Path) -> PathBuf {
    recipe.with_extension("lock.yaml")
}

fn string(s: &str) -> Yaml {
    Yaml::String(s.to_owned())
}

pub fn render(locks: &[ArchLock]) -> String {
    let mut root = Hash::new();
    for l in locks {
        let mut entry = Hash::new();
        entry.insert(
            string("requested"),
            Yaml::Array(l.requested.iter().map(|r| string(r)).collect()),
        );
        let packages = l
            .packages
            .iter()
            .map(|p| {
                let mut h = Hash::new();
                for (k, v) in [
                    ("name", &p.name),
                    ("version", &p.version),
                    ("repository", &p.repository),
                    ("checksum", &p.checksum),
                    ("sha256", &p.sha256),
                ] {
                    h.insert(string(k), string(v));
                }
                Yaml::Hash(h)
            })
            .collect();
        entry.insert(string("packages"), Yaml::Array(packages));
        root.insert(string(&l.arch), Yaml::Hash(entry));
    }
    let mut body = String::new();
    // Writing to a String cannot fail.
    let _ = YamlEmitter::new(&mut body).dump(&Yaml::Hash(root));
    let body = body.strip_prefix("---\n").unwrap_or(&body);
    format!("{HEADER}{body}\n")
}

/// Reads a lock; `name` is the file's path, for messages.
pub fn parse(name: &Path, text: &str) -> Result<Vec<ArchLock>, Error> {
    let file = SourceFile::new(name.display().to_string(), text);
    let fail = |node: Option<&Node>, reason: String| Error::LockFile {
        path: name.to_path_buf(),
        reason: match node {
            Some(n) => format!("line {}: {reason}", file.line_of(n.span.start)),
            None => reason,
        },
    };
    let root = yaml::parse(&file).map_err(|d| fail(None, d.message.clone()))?;
    let mut out = Vec::new();
    let arches =
        map(&root).ok_or_else(|| fail(Some(&root), "expected a map of architectures".into()))?;
    once_each(arches, &fail)?;
    for (arch, entry) in arches {
        let arch_node = arch;
        let arch = arch
            .as_scalar()
            .ok_or_else(|| fail(Some(arch), "an architecture is a name".into()))?;
        if Arch::parse(arch).map(Arch::apk) != Some(arch) {
            return Err(fail(
                Some(arch_node),
                format!("{arch:?} is not an architecture melangec builds for"),
            ));
        }
        let mut lock = ArchLock {
            arch: arch.to_owned(),
            requested: Vec::new(),
            packages: Vec::new(),
        };
        let fields = map(entry).ok_or_else(|| {
            fail(
                Some(entry),
                format!("{arch}: expected `requested` and `packages`"),
            )
        })?;
        once_each(fields, &fail)?;
        for (key, value) in fields {
            match key.as_scalar() {
                Some("requested") => {
                    for item in seq(value)
                        .ok_or_else(|| fail(Some(value), "`requested` is a list".into()))?
                    {
                        let name = item.as_scalar().ok_or_else(|| {
                            fail(Some(item), "a requested package is a name".into())
                        })?;
                        lock.requested.push(name.to_owned());
                    }
                }
                Some("packages") => {
                    for item in seq(value)
                        .ok_or_else(|| fail(Some(value), "`packages` is a list".into()))?
                    {
                        lock.packages.push(package(arch, item, &fail)?);
                    }
                }
                _ => return Err(fail(Some(key), "expected `requested` or `packages`".into())),
            }
        }
        out.push(lock);
    }
    Ok(out)
}

fn package(
    arch: &str,
    node: &Node,
    fail: &dyn Fn(Option<&Node>, String) -> Error,
) -> Result<Locked, Error> {
    let mut p = Locked {
        name: String::new(),
        version: String::new(),
        arch: arch.to_owned(),
        repository: String::new(),
        checksum: String::new(),
        sha256: String::new(),
    };
    let fields = map(node).ok_or_else(|| fail(Some(node), "a package is a map".into()))?;
    once_each(fields, fail)?;
    for (key, value) in fields {
        let text = value
            .as_scalar()
            .ok_or_else(|| fail(Some(value), "a package field is a string".into()))?
            .to_owned();
        match key.as_scalar() {
            Some("name") => p.name = text,
            Some("version") => p.version = text,
            Some("repository") => p.repository = text,
            Some("checksum") => p.checksum = text,
            Some("sha256") => p.sha256 = text,
            _ => return Err(fail(Some(key), "not a package field".into())),
        }
    }
    // Names become paths in the package cache and lines of apk's database:
    // only what an index may hold is taken.
    let label = if p.name.is_empty() { "?" } else { &p.name };
    if !p.name.is_empty() && !valid_name(&p.name) {
        return Err(fail(
            Some(node),
            format!("{:?} is not a package name", p.name),
        ));
    }
    if !p.version.is_empty() && !version::is_valid(&p.version) {
        return Err(fail(
            Some(node),
            format!("{label}: {:?} is not a package version", p.version),
        ));
    }
    if !p.checksum.is_empty() && !is_control_checksum(&p.checksum) {
        return Err(fail(
            Some(node),
            format!(
                "{label}: {:?} is not an index checksum (Q1 and base64 SHA-1)",
                p.checksum
            ),
        ));
    }
    if p.repository.chars().any(char::is_control) {
        return Err(fail(
            Some(node),
            format!("{label}: the repository holds a control character"),
        ));
    }
    let fields = [&p.name, &p.version, &p.repository, &p.checksum, &p.sha256];
    if fields.iter().any(|f| f.is_empty())
        || p.sha256.len() != 64
        || !p.sha256.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return Err(fail(
            Some(node),
            format!(
                "the entry for {} ({arch}) lacks a name, version, repository, checksum or sha256",
                if p.name.is_empty() { "?" } else { &p.name },
            ),
        ));
    }
    Ok(p)
}

/// `Q1` and the base64 of a SHA-1: what an index's `C:` holds.
fn is_control_checksum(s: &str) -> bool {
    s.strip_prefix("Q1").is_some_and(|b64| {
        b64.len() == 28
            && b64.ends_with('=')
            && b64[..27]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
    })
}

/// Refuses a key given twice in one map: YAML leaves it to the reader, and
/// a lock read two ways (two entries for one architecture, or a field that
/// says two things) would not be the lock `melangec lock` writes back.
fn once_each(
    entries: &[(Node, Node)],
    fail: &dyn Fn(Option<&Node>, String) -> Error,
) -> Result<(), Error> {
    let mut seen = std::collections::HashSet::new();
    for (key, _) in entries {
        if let Some(name) = key.as_scalar() {
            if !seen.insert(name) {
                return Err(fail(Some(key), format!("{name:?} is given twice")));
            }
        }
    }
    Ok(())
}

fn map(node: &Node) -> Option<&[(Node, Node)]> {
    match &node.kind {
        NodeKind::Map(entries) => Some(entries),
        _ if node.is_null() => Some(&[]),
        _ => None,
    }
}

fn seq(node: &Node) -> Option<&[Node]> {
    match &node.kind {
        NodeKind::Seq(items) => Some(items),
        _ if node.is_null() => Some(&[]),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn locks() -> Vec<ArchLock> {
        let p = Locked {
            name: "busybox".into(),
            version: "1.35.0-r4".into(),
            arch: "x86_64".into(),
            repository: "http://127.0.0.1:8080/repo".into(),
            checksum: "Q1abcdefghijklmnopqrstuvwxy+/=".into(),
            sha256: "ab".repeat(32),
        };
        vec![ArchLock {
            arch: "x86_64".into(),
            requested: vec!["build-base".into(), "busybox".into()],
            packages: vec![p.clone(), p],
        }]
    }

    #[test]
    fn lock_files_read_back() {
        let text = render(&locks());
        assert_eq!(parse(Path::new("l.yaml"), &text).unwrap(), locks());
        // The format the line-by-line writer made reads as well.
        let old = "# Written by melangec lock; build and compile read it.\nx86_64:\n  requested:\n    - build-base\n    - busybox\n  packages:\n    - name: busybox\n      version: 1.35.0-r4\n      repository: http://127.0.0.1:8080/repo\n      checksum: Q1abcdefghijklmnopqrstuvwxy+/=\n      sha256: ".to_owned()
            + &"ab".repeat(32)
            + "\n";
        assert_eq!(
            parse(Path::new("l.yaml"), &old).unwrap()[0].packages[0],
            locks()[0].packages[0]
        );
    }

    #[test]
    fn values_that_need_quotes_survive() {
        let mut l = locks();
        l[0].packages[0].version = "1.0".into();
        l[0].packages[0].repository = "http://h/a: b #c".into();
        l[0].requested = vec!["true".into(), "so:libc.so.6".into()];
        let text = render(&l);
        assert_eq!(parse(Path::new("l.yaml"), &text).unwrap(), l);
    }

    /// A lock is read by anyone's checkout: what it names reaches paths in
    /// the package cache, so only what an index may hold is taken.
    #[test]
    fn names_that_could_reach_outside_the_cache_are_refused() {
        for (field, value, says) in [
            ("name", "../../evil", "not a package name"),
            ("name", "a/b", "not a package name"),
            ("version", "1.0/../../x-r0", "not a package version"),
            ("version", "1.0\npkgname = x", "not a package version"),
            ("checksum", "Q1../..", "not an index checksum"),
        ] {
            let mut l = locks();
            match field {
                "name" => l[0].packages[0].name = value.into(),
                "version" => l[0].packages[0].version = value.into(),
                _ => l[0].packages[0].checksum = value.into(),
            }
            let e = parse(Path::new("l.yaml"), &render(&l))
                .unwrap_err()
                .to_string();
            assert!(e.contains(says) && e.contains("line 7"), "{field}: {e}");
        }
        let e = parse(
            Path::new("l.yaml"),
            &render(&locks()).replace("x86_64:", "../x86_64:"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("not an architecture"), "{e}");
    }

    #[test]
    fn mistakes_name_their_line() {
        let e = parse(Path::new("l.yaml"), "x86_64:\n  - bogus\n").unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
        let e = parse(
            Path::new("l.yaml"),
            "x86_64:\n  packages:\n    - nonsense: 1\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("line 3: not a package field"), "{e}");
        // An entry missing its sha256 cannot pin anything.
        let cut: String = render(&locks())
            .lines()
            .filter(|l| !l.contains("sha256"))
            .map(|l| format!("{l}\n"))
            .collect();
        let e = parse(Path::new("l.yaml"), &cut).unwrap_err().to_string();
        assert!(e.contains("busybox") && e.contains("l.yaml"), "{e}");
    }

    /// A key given twice would make two locks of one text: the first read
    /// by one stage, the second by another, and only one written back.
    #[test]
    fn a_key_given_twice_is_refused() {
        // As the fuzzer found it: two entries for one architecture.
        let e = parse(Path::new("l.yaml"), "\naarch64:\naarch64:\n").unwrap_err();
        assert!(
            e.to_string().contains("line 3: \"aarch64\" is given twice"),
            "{e}"
        );
        let text = render(&locks());
        for (twice, line) in [
            (
                text.replace("  packages:", "  requested: []\n  packages:"),
                6,
            ),
            (
                text.replacen("      sha256:", "      name: other\n      sha256:", 1),
                11,
            ),
        ] {
            let e = parse(Path::new("l.yaml"), &twice).unwrap_err().to_string();
            assert!(
                e.contains(&format!("line {line}:")) && e.contains("given twice"),
                "{e}"
            );
        }
    }
}
