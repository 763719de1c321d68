//! Signing a package or an index that already exists: its signature member,
//! if any, is replaced by one made with the given key.

use super::key::Key;
use super::{read, Error};

/// `bytes` with any signature member replaced by one made by `key`. A
/// package's signature covers its control member; an index's, the whole
/// unsigned file.
pub fn resign(bytes: &[u8], key: &Key, epoch: u64) -> Result<Vec<u8>, Error> {
    let mut unsigned = Vec::new();
    let mut is_index = false;
    // Only the first members' names are needed; a package's data member is
    // streamed past, however large.
    for compressed in read::spans(bytes)? {
        if unsigned.is_empty() {
            let files = read::names(compressed)?;
            if files.first().is_some_and(|n| n.starts_with(".SIGN.")) {
                continue;
            }
            is_index = files.iter().any(|n| n == "APKINDEX" || n == "DESCRIPTION");
        }
        unsigned.push(compressed);
    }
    let first = *unsigned.first().ok_or(Error::NothingToSign)?;
    let signed: Vec<u8> = if is_index {
        unsigned.concat()
    } else {
        // A signature vouches for the data through the control member's
        // datahash: a gzip that is not a whole, intact package (no
        // .PKGINFO, or data not matching it) is refused.
        read::verified(bytes)?;
        first.to_vec()
    };
    let mut out = key.signature_member(&signed, epoch);
    for part in unsigned {
        out.extend_from_slice(part);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apk::{index, key, package};
    use crate::scratch::Scratch;

    #[test]
    fn a_package_signs_its_control_member_and_an_index_all_of_itself() {
        let dir = Scratch::new(
            std::env::temp_dir().join(format!("melangec-sign-{}", std::process::id())),
        );
        std::fs::create_dir_all(dir.path()).unwrap();
        let (private, _) = key::generate(&dir.path().join("a.rsa"), 2048).unwrap();
        let key = Key::load(&private).unwrap();
        let apk = package::for_test(&dir.path().join("none"), "empty", 7, None);
        let unsigned = apk.bytes().unwrap();

        let signed = resign(&unsigned, &key, 7).unwrap();
        let members = read::members(&signed).unwrap();
        assert_eq!(members.len(), 3);
        let (name, signature) = read::tar_files(&members[0].1).unwrap().remove(0);
        assert_eq!(name, ".SIGN.RSA256.a.rsa.pub");
        assert_eq!(signature, key.sign(members[1].0));
        assert_eq!(&signed[members[0].0.len()..], &unsigned[..]);
        // Signing again replaces the signature rather than adding one.
        assert_eq!(resign(&signed, &key, 7).unwrap(), signed);

        let unsigned = index::build(std::slice::from_ref(&apk.info), 7, None);
        let signed = resign(&unsigned, &key, 7).unwrap();
        let (first, _) = read::first_member(&signed).unwrap();
        assert_eq!(&signed[first.len()..], &unsigned[..]);
        assert_eq!(signed, index::build(&[apk.info], 7, Some(&key)));
    }

    #[test]
    fn only_a_whole_package_or_an_index_is_signed() {
        let dir = Scratch::new(
            std::env::temp_dir().join(format!("melangec-sign-whole-{}", std::process::id())),
        );
        std::fs::create_dir_all(dir.path().join("tree")).unwrap();
        std::fs::write(dir.path().join("tree/file"), vec![7u8; 64 << 10]).unwrap();
        let (private, _) = key::generate(&dir.path().join("a.rsa"), 2048).unwrap();
        let key = Key::load(&private).unwrap();
        let whole = package::for_test(&dir.path().join("tree"), "full", 7, None)
            .bytes()
            .unwrap();
        let truncated = &whole[..whole.len() - 100];
        assert!(matches!(
            resign(truncated, &key, 7),
            Err(Error::DataHash { .. }) | Err(Error::NotGzip { .. })
        ));

        let mut tar = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(3);
        header.set_cksum();
        tar.append_data(&mut header, "notes.txt", &b"hi\n"[..])
            .unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &tar.into_inner().unwrap()).unwrap();
        let plain = gz.finish().unwrap();
        assert!(matches!(resign(&plain, &key, 7), Err(Error::NoPkgInfo)));
    }
}
