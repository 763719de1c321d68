//! Locks: for each architecture, the exact packages an environment
//! resolved to, where they came from and the sha256 of each file, so the
//! next build (or `compile`) needs no resolution and BuildKit can fetch each
//! package pinned by content.

use std::fmt::Write as _;
use std::path::PathBuf;

use sha1::{Digest as _, Sha1};
use sha2::Sha256;

use super::{index, resolve};
use crate::apk::read;

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

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Resolves and downloads every package once to record its sha256, checking
/// each against the index's checksum.
pub async fn lock(req: &Request<'_>) -> Result<Vec<Locked>, String> {
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
    let chosen = resolve::resolve(&available, req.packages).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for p in chosen {
        let at = available
            .iter()
            .position(|a| a.name == p.name && a.version == p.version && a.checksum == p.checksum)
            .expect("chosen from available");
        let repo = &origin[at];
        let file = format!("{}/{}-{}.apk", req.arch, p.name, p.version);
        let bytes = index::fetch_file(repo, &file).await?;
        let members = read::members(&bytes).map_err(|e| format!("{repo}/{file}: {e}"))?;
        let control = members
            .iter()
            .find(|(_, content)| {
                read::tar_files(content)
                    .iter()
                    .any(|(n, _)| n == ".PKGINFO")
            })
            .ok_or_else(|| format!("{repo}/{file}: no control segment"))?;
        let checksum = format!(
            "Q1{}",
            base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                Sha1::digest(control.0)
            )
        );
        if checksum != p.checksum {
            return Err(format!(
                "{repo}/{file}: checksum {checksum} does not match the index's {}",
                p.checksum
            ));
        }
        out.push(Locked {
            name: p.name,
            version: p.version,
            arch: req.arch.to_owned(),
            repository: repo.clone(),
            checksum,
            sha256: hex(&Sha256::digest(&bytes)),
        });
    }
    Ok(out)
}

/// The lock file: YAML, one list per architecture, sorted, so that it
/// diffs well and reads back the same.
pub fn render(locks: &[(String, Vec<Locked>)]) -> String {
    let mut out = String::from("# Written by melangec lock; build and compile read it.\n");
    for (arch, packages) in locks {
        let _ = writeln!(out, "{arch}:");
        for p in packages {
            let _ = writeln!(out, "  - name: {}", p.name);
            let _ = writeln!(out, "    version: {}", p.version);
            let _ = writeln!(out, "    repository: {}", p.repository);
            let _ = writeln!(out, "    checksum: {}", p.checksum);
            let _ = writeln!(out, "    sha256: {}", p.sha256);
        }
    }
    out
}

/// Reads what [`render`] wrote.
pub fn parse(text: &str) -> Result<Vec<(String, Vec<Locked>)>, String> {
    let mut out: Vec<(String, Vec<Locked>)> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let bad = || format!("lock line {}: {line:?}", n + 1);
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if let Some(arch) = line.strip_suffix(':').filter(|a| !a.starts_with(' ')) {
            out.push((arch.to_owned(), Vec::new()));
            continue;
        }
        let (arch, list) = out.last_mut().ok_or_else(bad)?;
        let (key, value) = line
            .trim_start_matches(' ')
            .trim_start_matches("- ")
            .split_once(": ")
            .ok_or_else(bad)?;
        if line.trim_start().starts_with("- ") {
            list.push(Locked {
                name: String::new(),
                version: String::new(),
                arch: arch.clone(),
                repository: String::new(),
                checksum: String::new(),
                sha256: String::new(),
            });
        }
        let p = list.last_mut().ok_or_else(bad)?;
        match key {
            "name" => p.name = value.to_owned(),
            "version" => p.version = value.to_owned(),
            "repository" => p.repository = value.to_owned(),
            "checksum" => p.checksum = value.to_owned(),
            "sha256" => p.sha256 = value.to_owned(),
            _ => return Err(bad()),
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
        let locks = vec![("x86_64".to_owned(), vec![p.clone()])];
        let text = render(&locks);
        assert_eq!(parse(&text).unwrap(), locks);
        assert!(parse("x86_64:\n  - bogus\n").is_err());
    }
}
