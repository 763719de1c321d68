//! Choosing the packages of an environment: every requested constraint and
//! every dependency of a chosen package satisfied by exactly one chosen
//! provider, preferring the package of that name, then the highest
//! `provider_priority`, then the highest version. Deterministic: the same
//! indexes and requests give the same set.

use std::collections::{BTreeMap, VecDeque};

use super::constraint::Constraint;
use super::version;
use crate::apk::package::Info;

/// Why resolution failed: the unsatisfied constraint and who needed it.
#[derive(Debug, PartialEq, Eq)]
pub struct Unresolved {
    pub constraint: String,
    /// `None` when the request itself named it.
    pub required_by: Option<String>,
    pub why: String,
}

impl std::fmt::Display for Unresolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.constraint, self.why)?;
        if let Some(by) = &self.required_by {
            write!(f, " (required by {by})")?;
        }
        Ok(())
    }
}

/// What a package offers for a name: the version it offers it at, if any.
fn offers<'a>(p: &'a Info, name: &str) -> Option<Option<&'a str>> {
    if p.name == name {
        return Some(Some(&p.version));
    }
    p.provides.iter().find_map(|prov| {
        let (n, v) = match prov.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (prov.as_str(), None),
        };
        (n == name).then_some(v)
    })
}

fn satisfies(p: &Info, c: &Constraint) -> bool {
    match offers(p, &c.name) {
        Some(Some(v)) => c.allows(v),
        // An unversioned provide satisfies only an unversioned request.
        Some(None) => c.op == super::constraint::Op::Any,
        None => false,
    }
}

fn priority(p: &Info) -> i64 {
    p.provider_priority.parse().unwrap_or(0)
}

/// Resolves `requests` against `available`; returns the chosen packages,
/// sorted by name.
pub fn resolve(available: &[Info], requests: &[String]) -> Result<Vec<Info>, Unresolved> {
    // Each name (own or provided) to the packages offering it: a whole
    // distribution's index has tens of thousands of packages, and every
    // dependency would otherwise scan them all.
    let mut offering: BTreeMap<&str, Vec<&Info>> = BTreeMap::new();
    for p in available {
        let names = std::iter::once(p.name.as_str()).chain(
            p.provides
                .iter()
                .map(|prov| prov.split_once('=').map_or(prov.as_str(), |(n, _)| n)),
        );
        for name in names {
            let list = offering.entry(name).or_default();
            // Once per package, though it may offer a name twice.
            if !list.last().is_some_and(|q| std::ptr::eq(*q, p)) {
                list.push(p);
            }
        }
    }
    let mut chosen: BTreeMap<String, &Info> = BTreeMap::new();
    let mut queue: VecDeque<(String, Option<String>)> =
        requests.iter().map(|r| (r.clone(), None)).collect();
    let mut conflicts = Vec::new();
    while let Some((text, by)) = queue.pop_front() {
        let c = Constraint::parse(&text).map_err(|e| Unresolved {
            constraint: text.clone(),
            required_by: by.clone(),
            why: e.to_string(),
        })?;
        if c.conflict {
            conflicts.push((c, text, by));
            continue;
        }
        if chosen.values().any(|p| satisfies(p, &c)) {
            continue;
        }
        let offered = offering.get(c.name.as_str()).map_or(&[][..], Vec::as_slice);
        let mut candidates: Vec<&Info> = offered
            .iter()
            .copied()
            .filter(|p| satisfies(p, &c))
            .collect();
        if candidates.is_empty() {
            let why = if !offered.is_empty() {
                "no version satisfies it".to_owned()
            } else {
                "no such package".to_owned()
            };
            return Err(Unresolved {
                constraint: text,
                required_by: by,
                why,
            });
        }
        candidates.sort_by(|a, b| {
            let own = |p: &Info| p.name == c.name;
            own(b)
                .cmp(&own(a))
                .then_with(|| priority(b).cmp(&priority(a)))
                // Different packages by name; one package's versions
                // newest first.
                .then_with(|| a.name.cmp(&b.name))
                .then_with(|| version::compare(&b.version, &a.version))
        });
        let pick = candidates[0];
        if let Some(other) = chosen.get(&pick.name) {
            return Err(Unresolved {
                constraint: text,
                required_by: by,
                why: format!(
                    "needs {}-{}, but {}-{} is already chosen",
                    pick.name, pick.version, other.name, other.version
                ),
            });
        }
        chosen.insert(pick.name.clone(), pick);
        let who = format!("{}-{}", pick.name, pick.version);
        for d in &pick.depends {
            queue.push_back((d.clone(), Some(who.clone())));
        }
    }
    for (c, text, by) in conflicts {
        if let Some(p) = chosen.values().find(|p| offers(p, &c.name).is_some()) {
            return Err(Unresolved {
                constraint: text,
                required_by: by,
                why: format!("conflicts with {}-{}", p.name, p.version),
            });
        }
    }
    // A name provided with a version is exclusive, as apk holds it: two
    // packages that both provide `cmd:nc=…` cannot be installed together.
    let mut owner: BTreeMap<&str, &Info> = BTreeMap::new();
    for p in chosen.values() {
        for provided in &p.provides {
            let Some((name, _)) = provided.split_once('=') else {
                continue;
            };
            if let Some(other) = owner.insert(name, p) {
                return Err(Unresolved {
                    constraint: name.to_owned(),
                    required_by: None,
                    why: format!(
                        "provided by both {}-{} and {}-{}",
                        other.name, other.version, p.name, p.version
                    ),
                });
            }
        }
    }
    Ok(chosen.into_values().cloned().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_versioned_name_has_one_provider() {
        let repo = vec![
            pkg(
                "busybox",
                "1.37-r0",
                &[],
                &["cmd:nc=1.37-r0", "cmd:sh=1.37-r0"],
                "",
            ),
            pkg("netcat-openbsd", "1.238-r0", &[], &["cmd:nc=1.238-r0"], ""),
            pkg("tool", "1-r0", &[], &["cmd:sh"], ""),
        ];
        let e = resolve(&repo, &["busybox".into(), "netcat-openbsd".into()]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cmd:nc: provided by both busybox-1.37-r0 and netcat-openbsd-1.238-r0"
        );
        // Unversioned provides are virtual and shared.
        assert!(resolve(&repo, &["busybox".into(), "tool".into()]).is_ok());
    }

    fn pkg(name: &str, version: &str, depends: &[&str], provides: &[&str], prio: &str) -> Info {
        Info {
            name: name.into(),
            version: version.into(),
            depends: depends.iter().map(|s| s.to_string()).collect(),
            provides: provides.iter().map(|s| s.to_string()).collect(),
            provider_priority: prio.into(),
            ..Default::default()
        }
    }

    fn names(v: &[Info]) -> Vec<String> {
        v.iter()
            .map(|p| format!("{}-{}", p.name, p.version))
            .collect()
    }

    #[test]
    fn highest_version_and_dependencies() {
        let repo = [
            pkg(
                "busybox",
                "1.36-r0",
                &["so:libc.so.6"],
                &["cmd:sh=1.36-r0"],
                "",
            ),
            pkg(
                "busybox",
                "1.37-r0",
                &["so:libc.so.6"],
                &["cmd:sh=1.37-r0"],
                "",
            ),
            pkg("glibc", "2.40-r0", &[], &["so:libc.so.6=6"], ""),
            pkg("make", "4.4-r0", &["cmd:sh"], &[], ""),
        ];
        let got = resolve(&repo, &["make".into(), "busybox<1.37".into()]).unwrap();
        assert_eq!(
            names(&got),
            ["busybox-1.36-r0", "glibc-2.40-r0", "make-4.4-r0"]
        );
    }

    #[test]
    fn provider_priority_decides_among_providers() {
        let repo = [
            pkg("openssl-a", "3.0-r0", &[], &["openssl-provider"], "10"),
            pkg("openssl-b", "3.1-r0", &[], &["openssl-provider"], "20"),
        ];
        let got = resolve(&repo, &["openssl-provider".into()]).unwrap();
        assert_eq!(names(&got), ["openssl-b-3.1-r0"]);
    }

    #[test]
    fn failures_name_the_constraint_and_who_needed_it() {
        let repo = [
            pkg("app", "1-r0", &["libmissing"], &[], ""),
            pkg("old", "1-r0", &[], &[], ""),
        ];
        let e = resolve(&repo, &["app".into()]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "libmissing: no such package (required by app-1-r0)"
        );
        let e = resolve(&repo, &["old>=2".into()]).unwrap_err();
        assert_eq!(e.to_string(), "old>=2: no version satisfies it");
        let e = resolve(&repo, &["!old".into(), "old".into()]).unwrap_err();
        assert!(e.why.contains("conflicts with old-1-r0"), "{e}");
    }
}
