//! Re-signing: a package or index with any signature member replaced by
//! one made by a key. A package signs its control member; an index, the
//! whole unsigned file.

use super::key::Key;
use super::read;

/// Replaces any signature member with one made by `key`.
pub fn resign(bytes: &[u8], key: &Key, epoch: u64) -> Result<Vec<u8>, String> {
    let members = read::members(bytes)?;
    let unsigned: Vec<&[u8]> = members
        .iter()
        .filter(|(_, content)| {
            !read::tar_files(content)
                .first()
                .is_some_and(|(n, _)| n.starts_with(".SIGN."))
        })
        .map(|(c, _)| *c)
        .collect();
    let first = *unsigned.first().ok_or("nothing to sign")?;
    // A package signs its control member; an index, the whole unsigned file.
    let is_index = read::tar_files(
        &members
            .iter()
            .find(|(c, _)| *c == first)
            .map(|(_, t)| t.clone())
            .unwrap_or_default(),
    )
    .iter()
    .any(|(n, _)| n == "APKINDEX" || n == "DESCRIPTION");
    let signed: Vec<u8> = if is_index {
        unsigned.concat()
    } else {
        first.to_vec()
    };
    let mut out = key.signature_member(&signed, epoch);
    for part in unsigned {
        out.extend_from_slice(part);
    }
    Ok(out)
}
