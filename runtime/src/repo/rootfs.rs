//! Assembling an environment's root filesystem on the client from locked
//! packages: each `.apk` checked against its recorded sha256, its data
//! unpacked, and apk's own files written, as apko lays them out. The result
//! is kept by content (the lock's hash), so an unchanged environment loads
//! at once.

use std::fmt::Write as _;
use std::io::Read;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};

use flate2::bufread::GzDecoder;
use sha2::{Digest, Sha256};

use super::index;
use super::lock::Locked;
use crate::apk::read;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Where an environment is kept: `<cache>/<sha256 of its lock entries>`.
pub fn cache_path(cache: &Path, packages: &[Locked], keys: &[PathBuf]) -> PathBuf {
    let mut h = Sha256::new();
    for p in packages {
        h.update(p.sha256.as_bytes());
        h.update(b"\n");
    }
    for k in keys {
        h.update(
            k.file_name()
                .map(|n| n.as_encoded_bytes())
                .unwrap_or_default(),
        );
        h.update(b"\n");
    }
    cache.join(&hex(&h.finalize())[..32])
}

/// Assembles (once) the root filesystem of `packages` under `cache`.
pub async fn assemble(
    cache: &Path,
    packages: &[Locked],
    requested: &[String],
    repositories: &[String],
    keys: &[PathBuf],
) -> Result<PathBuf, String> {
    let dest = cache_path(cache, packages, keys);
    if dest.join("lib/apk/db/installed").exists() {
        return Ok(dest);
    }
    let partial = dest.with_extension(format!("partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&partial);
    std::fs::create_dir_all(&partial).map_err(|e| format!("{}: {e}", partial.display()))?;
    let mut installed = String::new();
    for p in packages {
        let file = format!("{}/{}-{}.apk", p.arch, p.name, p.version);
        let bytes = index::fetch_file(&p.repository, &file).await?;
        let got = hex(&Sha256::digest(&bytes));
        if got != p.sha256 {
            return Err(format!(
                "{}/{file}: sha256 {got} is not the locked {}",
                p.repository, p.sha256
            ));
        }
        let files = unpack(&bytes, &partial).map_err(|e| format!("{file}: {e}"))?;
        let info = read::package(&bytes)?;
        let _ = writeln!(
            installed,
            "C:{}\nP:{}\nV:{}\nA:{}\nS:{}\nI:{}\nT:{}\nL:{}\no:{}",
            info.checksum,
            info.name,
            info.version,
            info.arch,
            info.file_size,
            info.size,
            info.description,
            info.license,
            info.origin
        );
        if !info.depends.is_empty() {
            let _ = writeln!(installed, "D:{}", info.depends.join(" "));
        }
        if !info.provides.is_empty() {
            let _ = writeln!(installed, "p:{}", info.provides.join(" "));
        }
        let mut dir = String::new();
        for f in files {
            let (parent, name) = f.rsplit_once('/').unwrap_or(("", &f));
            if parent != dir {
                let _ = writeln!(installed, "F:{parent}");
                dir = parent.to_owned();
            }
            let _ = writeln!(installed, "R:{name}");
        }
        installed.push('\n');
    }
    let write = |rel: &str, text: &str| -> Result<(), String> {
        let path = partial.join(rel);
        std::fs::create_dir_all(path.parent().expect("has parent")).map_err(|e| e.to_string())?;
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))
    };
    write("lib/apk/db/installed", &installed)?;
    write("etc/apk/world", &(requested.join("\n") + "\n"))?;
    write("etc/apk/repositories", &(repositories.join("\n") + "\n"))?;
    for k in keys {
        let name = k
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = std::fs::read_to_string(k).map_err(|e| format!("{}: {e}", k.display()))?;
        write(&format!("etc/apk/keys/{name}"), &text)?;
    }
    // The build account melange adds, unless a package made the files.
    if !partial.join("etc/passwd").exists() {
        write(
            "etc/passwd",
            "root:x:0:0:root:/root:/bin/sh\nbuild:x:1000:1000:build:/home/build:/bin/sh\n",
        )?;
    }
    if !partial.join("etc/group").exists() {
        write("etc/group", "root:x:0:\nbuild:x:1000:\n")?;
    }
    for d in ["tmp", "home/build", "var/cache/melange"] {
        std::fs::create_dir_all(partial.join(d)).map_err(|e| e.to_string())?;
    }
    let _ = std::fs::set_permissions(partial.join("tmp"), std::fs::Permissions::from_mode(0o1777));
    match std::fs::rename(&partial, &dest) {
        Ok(()) => Ok(dest),
        // Another build assembled the same environment meanwhile.
        Err(_) if dest.join("lib/apk/db/installed").exists() => {
            let _ = std::fs::remove_dir_all(&partial);
            Ok(dest)
        }
        Err(e) => Err(format!("{}: {e}", dest.display())),
    }
}

/// Unpacks the data member of an `.apk` under `root`; returns the files.
fn unpack(bytes: &[u8], root: &Path) -> Result<Vec<String>, String> {
    let members = read::members(bytes)?;
    let data = members.last().ok_or("empty package")?;
    // Decompress again as a stream: the data member can be large.
    let mut tar = Vec::new();
    GzDecoder::new(data.0)
        .read_to_end(&mut tar)
        .map_err(|e| e.to_string())?;
    let mut files = Vec::new();
    let mut at = 0;
    let mut long_path: Option<String> = None;
    let mut long_link: Option<String> = None;
    while at + 512 <= tar.len() && tar[at] != 0 {
        let h = &tar[at..at + 512];
        let field = |r: std::ops::Range<usize>| {
            String::from_utf8_lossy(&h[r])
                .trim_end_matches('\0')
                .to_owned()
        };
        let size = usize::from_str_radix(field(124..135).trim(), 8).map_err(|e| e.to_string())?;
        let mode = u32::from_str_radix(field(100..107).trim(), 8).unwrap_or(0o644);
        let body = tar.get(at + 512..at + 512 + size).ok_or("truncated tar")?;
        let kind = h[156];
        at += 512 + size.div_ceil(512) * 512;
        if kind == b'x' {
            for rec in String::from_utf8_lossy(body).split('\n') {
                if let Some((_, kv)) = rec.split_once(' ') {
                    if let Some(v) = kv.strip_prefix("path=") {
                        long_path = Some(v.to_owned());
                    } else if let Some(v) = kv.strip_prefix("linkpath=") {
                        long_link = Some(v.to_owned());
                    }
                }
            }
            continue;
        }
        let path = long_path.take().unwrap_or_else(|| field(0..100));
        let link = long_link.take().unwrap_or_else(|| field(157..257));
        let rel = path.trim_end_matches('/');
        if rel.is_empty() || rel.starts_with('/') || rel.split('/').any(|c| c == ".." || c == ".") {
            return Err(format!("unsafe path {path:?}"));
        }
        let target = root.join(rel);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
            // Directory symlinks inside the root are followed, as apk does;
            // none may lead out of it.
            let real = parent
                .canonicalize()
                .map_err(|e| format!("{}: {e}", parent.display()))?;
            let base = root
                .canonicalize()
                .map_err(|e| format!("{}: {e}", root.display()))?;
            if !real.starts_with(&base) {
                return Err(format!("{path:?} would be written outside the root"));
            }
        }
        let io = |e: std::io::Error| format!("{}: {e}", target.display());
        match kind {
            b'5' => {
                std::fs::create_dir_all(&target).map_err(io)?;
                std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode))
                    .map_err(io)?;
            }
            b'2' => {
                let _ = std::fs::remove_file(&target);
                symlink(&link, &target).map_err(io)?;
                files.push(rel.to_owned());
            }
            b'1' => {
                let _ = std::fs::remove_file(&target);
                std::fs::hard_link(root.join(&link), &target).map_err(io)?;
                files.push(rel.to_owned());
            }
            b'0' | 0 => {
                let _ = std::fs::remove_file(&target);
                std::fs::write(&target, body).map_err(io)?;
                std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode))
                    .map_err(io)?;
                files.push(rel.to_owned());
            }
            _ => {}
        }
    }
    Ok(files)
}
