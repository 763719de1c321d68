//! Reading what we (or apk-tools) wrote: the gzip members of a package or
//! index, a package's `.PKGINFO`, an index's records.

use std::io::Read;

use flate2::bufread::GzDecoder;
use sha1::{Digest, Sha1};

use super::fields::{self, Info};

/// A gzip member: its compressed bytes and its decompressed content.
pub type Member<'a> = (&'a [u8], Vec<u8>);

/// Each gzip member of a file, in order.
pub fn members(bytes: &[u8]) -> Result<Vec<Member<'_>>, String> {
    members_until(bytes, |_| false)
}

/// The first member (a signature, in a signed package or index).
pub fn first_member(bytes: &[u8]) -> Result<Member<'_>, String> {
    members_until(bytes, |_| true)?
        .pop()
        .ok_or_else(|| "empty file".to_owned())
}

/// The members up to and including the control member (the one holding
/// `.PKGINFO`): the data member, by far the largest, is not decompressed.
pub fn control_members(bytes: &[u8]) -> Result<Vec<Member<'_>>, String> {
    members_until(bytes, |content| {
        tar_files(content).iter().any(|(n, _)| n == ".PKGINFO")
    })
}

/// The members up to and including the first for whose content `last`
/// holds.
fn members_until(bytes: &[u8], last: impl Fn(&[u8]) -> bool) -> Result<Vec<Member<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let mut d = GzDecoder::new(rest);
        let mut content = Vec::new();
        d.read_to_end(&mut content).map_err(|e| {
            format!(
                "not a gzip member at byte {}: {e}",
                bytes.len() - rest.len()
            )
        })?;
        let after = d.into_inner();
        let used = rest.len() - after.len();
        let done = last(&content);
        out.push((&rest[..used], content));
        rest = after;
        if done {
            break;
        }
    }
    Ok(out)
}

/// The regular files of a tar fragment, by name.
pub fn tar_files(tar: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 512 <= tar.len() {
        let h = &tar[at..at + 512];
        if h[0] == 0 {
            break;
        }
        let name = String::from_utf8_lossy(&h[..100])
            .trim_end_matches('\0')
            .to_owned();
        let size_field = String::from_utf8_lossy(&h[124..136]);
        let size = u64::from_str_radix(size_field.trim_matches(|c: char| c == '\0' || c == ' '), 8)
            .unwrap_or(0) as usize;
        let start = at + 512;
        let end = (start + size).min(tar.len());
        if h[156] == b'0' || h[156] == 0 {
            out.push((name, tar[start..end].to_vec()));
        }
        at = start + size.div_ceil(512) * 512;
    }
    out
}

/// A package's control member (compressed, as its checksum covers it) and
/// its `.PKGINFO`.
fn control(bytes: &[u8]) -> Result<(&[u8], Vec<u8>), String> {
    let members = control_members(bytes)?;
    let Some((compressed, content)) = members.last() else {
        return Err("no .PKGINFO in the package".into());
    };
    let pkginfo = tar_files(content)
        .into_iter()
        .find(|(n, _)| n == ".PKGINFO")
        .ok_or("no .PKGINFO in the package")?
        .1;
    Ok((*compressed, pkginfo))
}

/// The checksum the index records for a package (`C:`): its control
/// member's SHA-1.
pub fn control_checksum(bytes: &[u8]) -> Result<String, String> {
    Ok(super::q1(&Sha1::digest(control(bytes)?.0)))
}

/// A package's fields, from the `.PKGINFO` in its control member, with the
/// two an index adds.
pub fn package(bytes: &[u8]) -> Result<Info, String> {
    let (compressed, pkginfo) = control(bytes)?;
    Ok(Info {
        checksum: super::q1(&Sha1::digest(compressed)),
        file_size: bytes.len() as u64,
        ..fields::parse_pkginfo(&String::from_utf8_lossy(&pkginfo))
    })
}

/// The records of an `APKINDEX.tar.gz`.
pub fn index(bytes: &[u8]) -> Result<Vec<Info>, String> {
    let mut out = Vec::new();
    for (_, content) in members(bytes)? {
        for (name, text) in tar_files(&content) {
            if name != "APKINDEX" {
                continue;
            }
            let text = String::from_utf8_lossy(&text).into_owned();
            for record in text.split("\n\n") {
                let info = fields::parse_record(record);
                if !info.name.is_empty() {
                    out.push(info);
                }
            }
        }
    }
    Ok(out)
}
