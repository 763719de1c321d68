//! Locks: for each architecture, the exact packages an environment
//! resolved to, where they came from and the sha256 of each file, so the
//! next build (or `compile`) needs no resolution and BuildKit can fetch each
//! package pinned by content.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::{cache, index, resolve};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Locked {
    pub name: String,
    pub version: String,
    pub arch: String,
    pub repository: String,
    /// The index's `C:`: `Q1` + base64 SHA-1 of the control member.
    pub checksum: String,
    /// Hex SHA-256 of the whole `.apk` file.
    pub sha256: String,
}

/// What to resolve for one architecture.
pub struct Request<'a> {
    pub arch: &'a str,
    pub repositories: &'a [String],
    pub keyring: &'a [PathBuf],
    pub packages: &'a [String],
}

/// One architecture's lock: what was asked for, and what it resolved to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchLock {
    pub arch: String,
    /// The requested package names, sorted, each once.
    pub requested: Vec<String>,
    pub packages: Vec<Locked>,
}

/// Sorted and deduplicated, as a lock records requests.
pub fn requested(packages: &[String]) -> Vec<String> {
    let set: std::collections::BTreeSet<&String> = packages.iter().collect();
    set.into_iter().cloned().collect()
}

/// Why locking failed.
#[derive(Debug)]
pub enum LockError {
    /// No set of packages satisfies the request.
    Unresolved(resolve::Unresolved),
    /// A repository or package could not be read or checked.
    Other(String),
}

impl std::fmt::Display for LockError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LockError::Unresolved(u) => u.fmt(f),
            LockError::Other(s) => f.write_str(s),
        }
    }
}

impl From<String> for LockError {
    fn from(s: String) -> LockError {
        LockError::Other(s)
    }
}

/// Resolves, and records each chosen package's sha256 from the package
/// cache (downloading, and checking against the index's checksum, what is
/// not there yet).
pub async fn lock(req: &Request<'_>, cache: &Path) -> Result<ArchLock, LockError> {
    let mut available = Vec::new();
    let mut origin = Vec::new();
    for repo in req.repositories {
        let bytes = index::fetch(repo, req.arch).await?;
        let idx = index::verify(repo, &bytes, req.keyring)?;
        for p in idx.packages {
            origin.push(repo.clone());
            available.push(p);
        }
    }
    let chosen = resolve::resolve(&available, req.packages).map_err(LockError::Unresolved)?;
    let mut out = Vec::new();
    for p in chosen {
        let at = available
            .iter()
            .position(|a| a.name == p.name && a.version == p.version && a.checksum == p.checksum)
            .expect("chosen from available");
        let repo = &origin[at];
        let sha256 = cache::sha256(cache, repo, req.arch, &p.name, &p.version, &p.checksum).await?;
        out.push(Locked {
            name: p.name,
            version: p.version,
            arch: req.arch.to_owned(),
            repository: repo.clone(),
            checksum: p.checksum,
            sha256,
        });
    }
    Ok(ArchLock {
        arch: req.arch.to_owned(),
        requested: requested(req.packages),
        packages: out,
    })
}

/// The lock file: YAML, one entry per architecture, sorted, so that it
/// diffs well and reads back the same.
pub fn render(locks: &[ArchLock]) -> String {
    let mut out = String::from("# Written by melangec lock; build and compile read it.\n");
    for l in locks {
        let _ = writeln!(out, "{}:", l.arch);
        let _ = writeln!(out, "  requested:");
        for r in &l.requested {
            let _ = writeln!(out, "    - {r}");
        }
        let _ = writeln!(out, "  packages:");
        for p in &l.packages {
            let _ = writeln!(out, "    - name: {}", p.name);
            let _ = writeln!(out, "      version: {}", p.version);
            let _ = writeln!(out, "      repository: {}", p.repository);
            let _ = writeln!(out, "      checksum: {}", p.checksum);
            let _ = writeln!(out, "      sha256: {}", p.sha256);
        }
    }
    out
}

/// Reads what [`render`] wrote.
pub fn parse(text: &str) -> Result<Vec<ArchLock>, String> {
    let mut out: Vec<ArchLock> = Vec::new();
    let mut section = "";
    for (n, line) in text.lines().enumerate() {
        let bad = || format!("lock line {}: {line:?}", n + 1);
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if let Some(arch) = line.strip_suffix(':').filter(|a| !a.starts_with(' ')) {
            out.push(ArchLock {
                arch: arch.to_owned(),
                requested: Vec::new(),
                packages: Vec::new(),
            });
            continue;
        }
        let l = out.last_mut().ok_or_else(bad)?;
        match line {
            "  requested:" => section = "requested",
            "  packages:" => section = "packages",
            _ if section == "requested" => {
                let name = line.strip_prefix("    - ").ok_or_else(bad)?;
                l.requested.push(name.to_owned());
            }
            _ if section == "packages" => {
                let item = line.strip_prefix("    - ");
                let (key, value) = item
                    .or_else(|| line.strip_prefix("      "))
                    .and_then(|kv| kv.split_once(": "))
                    .ok_or_else(bad)?;
                if item.is_some() {
                    l.packages.push(Locked {
                        name: String::new(),
                        version: String::new(),
                        arch: l.arch.clone(),
                        repository: String::new(),
                        checksum: String::new(),
                        sha256: String::new(),
                    });
                }
                let p = l.packages.last_mut().ok_or_else(bad)?;
                match key {
                    "name" => p.name = value.to_owned(),
                    "version" => p.version = value.to_owned(),
                    "repository" => p.repository = value.to_owned(),
                    "checksum" => p.checksum = value.to_owned(),
                    "sha256" => p.sha256 = value.to_owned(),
                    _ => return Err(bad()),
                }
            }
            _ => return Err(bad()),
        }
    }
    for l in &out {
        for p in &l.packages {
            let fields = [&p.name, &p.version, &p.repository, &p.checksum, &p.sha256];
            if fields.iter().any(|f| f.is_empty()) || p.sha256.len() != 64 {
                return Err(format!(
                    "lock entry for {} ({}) lacks a name, version, repository, checksum or sha256",
                    if p.name.is_empty() { "?" } else { &p.name },
                    l.arch
                ));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_files_read_back() {
        let p = Locked {
            name: "busybox".into(),
            version: "1.35.0-r4".into(),
            arch: "x86_64".into(),
            repository: "http://127.0.0.1:8080/repo".into(),
            checksum: "Q1abc=".into(),
            sha256: "ab".repeat(32),
        };
        let locks = vec![ArchLock {
            arch: "x86_64".into(),
            requested: vec!["build-base".into(), "busybox".into()],
            packages: vec![p.clone(), p],
        }];
        let text = render(&locks);
        assert_eq!(parse(&text).unwrap(), locks);
        assert!(parse("x86_64:\n  - bogus\n").is_err());
        assert!(parse("x86_64:\n  packages:\n    - nonsense: 1\n").is_err());
        // An entry missing its sha256 cannot pin anything.
        let cut: String = text
            .lines()
            .filter(|l| !l.contains("sha256"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert!(parse(&cut).unwrap_err().contains("busybox"));
    }
}
