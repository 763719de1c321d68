//! Reading what we (or apk-tools) wrote: the gzip members of a package or
//! index, a package's `.PKGINFO`, an index's records. Tar entries are read
//! with the `tar` crate, since downloaded packages come from anyone; for the
//! same reason every decompression is bounded, so a small member that
//! inflates without end gives an error rather than exhausting memory.

use std::io::Read;

use flate2::bufread::{GzDecoder, MultiGzDecoder};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::fields::{self, Info};
use super::Error;

/// A gzip member: its compressed bytes and its decompressed content.
pub type Member<'a> = (&'a [u8], Vec<u8>);

/// The most a signature or control member may decompress to: both hold a
/// few small files.
pub const CONTROL_LIMIT: u64 = 64 << 20;

/// The most an index (all its members) may decompress to: Wolfi's holds
/// every version of every package, tens of MB.
pub const INDEX_LIMIT: u64 = 1 << 30;

/// The most a data member may decompress to. It is streamed to disk, never
/// held, so this only stops a bomb from filling the disk; real toolchains
/// unpack to a few GB.
pub const DATA_LIMIT: u64 = 64 << 30;

/// Decompression went past its limit.
#[derive(Debug, thiserror::Error)]
#[error("decompresses to more than {limit} bytes")]
pub struct TooLarge {
    pub limit: u64,
}

/// A reader that gives at most `limit` bytes and then fails, rather than
/// ending, if there is more.
pub struct Limited<R> {
    inner: R,
    left: u64,
    limit: u64,
}

impl<R: Read> Limited<R> {
    pub fn new(inner: R, limit: u64) -> Limited<R> {
        Limited {
            inner,
            left: limit,
            limit,
        }
    }

    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.left == 0 {
            // At the limit: the end of the input is fine, one more byte not.
            let mut probe = [0u8];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(std::io::Error::other(TooLarge { limit: self.limit })),
            };
        }
        let max = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..max])?;
        self.left -= n as u64;
        Ok(n)
    }
}

/// Whether an I/O error is a [`Limited`] reader's, and its limit.
pub fn too_large(e: &std::io::Error) -> Option<u64> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<TooLarge>())
        .map(|t| t.limit)
}

/// Each gzip member of a file, in order: an index, or a small package (the
/// data member is held too, within [`INDEX_LIMIT`]).
pub fn members(bytes: &[u8]) -> Result<Vec<Member<'_>>, Error> {
    members_until(bytes, INDEX_LIMIT, |_| Ok(false))
}

/// The first member (a signature, in a signed package or index).
pub fn first_member(bytes: &[u8]) -> Result<Member<'_>, Error> {
    members_until(bytes, CONTROL_LIMIT, |_| Ok(true))?
        .pop()
        .ok_or(Error::EmptyFile)
}

/// The members up to and including the control member (the one holding
/// `.PKGINFO`): the data member, by far the largest, is not decompressed.
pub fn control_members(bytes: &[u8]) -> Result<Vec<Member<'_>>, Error> {
    members_until(bytes, CONTROL_LIMIT, |content| {
        Ok(tar_files(content)?.iter().any(|(n, _)| n == ".PKGINFO"))
    })
}

/// The members up to and including the first for whose content `last`
/// holds, decompressing at most `limit` bytes in all.
fn members_until(
    bytes: &[u8],
    limit: u64,
    last: impl Fn(&[u8]) -> Result<bool, Error>,
) -> Result<Vec<Member<'_>>, Error> {
    let mut out = Vec::new();
    let mut rest = bytes;
    let mut left = limit;
    while !rest.is_empty() {
        let offset = bytes.len() - rest.len();
        let mut d = Limited::new(GzDecoder::new(rest), left);
        let mut content = Vec::new();
        d.read_to_end(&mut content)
            .map_err(|source| gzip_error(offset, limit, source))?;
        left -= content.len() as u64;
        let after = d.into_inner().into_inner();
        let used = rest.len() - after.len();
        let done = last(&content)?;
        out.push((&rest[..used], content));
        rest = after;
        if done {
            break;
        }
    }
    Ok(out)
}

/// A member's read error; `limit` is what all members may decompress to.
fn gzip_error(offset: usize, limit: u64, source: std::io::Error) -> Error {
    match too_large(&source) {
        Some(_) => Error::TooLarge { offset, limit },
        None => Error::NotGzip { offset, source },
    }
}

/// Each gzip member of a file, compressed, found by decompressing each into
/// nothing (within [`DATA_LIMIT`]): for files whose data member is too large
/// to hold.
pub fn spans(bytes: &[u8]) -> Result<Vec<&[u8]>, Error> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let offset = bytes.len() - rest.len();
        let mut d = Limited::new(GzDecoder::new(rest), DATA_LIMIT);
        std::io::copy(&mut d, &mut std::io::sink())
            .map_err(|source| gzip_error(offset, DATA_LIMIT, source))?;
        let after = d.into_inner().into_inner();
        out.push(&rest[..rest.len() - after.len()]);
        rest = after;
    }
    Ok(out)
}

/// The names of the regular files in one gzip member's tar (or fragment),
/// read as a stream.
pub fn names(member: &[u8]) -> Result<Vec<String>, Error> {
    let bad = |source| Error::BadTar { source };
    let mut out = Vec::new();
    let mut archive = tar::Archive::new(Limited::new(GzDecoder::new(member), DATA_LIMIT));
    for entry in archive.entries().map_err(bad)? {
        let entry = entry.map_err(bad)?;
        if entry.header().entry_type().is_file() {
            out.push(String::from_utf8_lossy(&entry.path_bytes()).into_owned());
        }
    }
    Ok(out)
}

/// A package cut where its data begins: the control member (compressed),
/// its `.PKGINFO`, and the data member(s) after it, still compressed, to
/// the end of the file, as `datahash` covers them.
pub struct Parts<'a> {
    /// The signature files (`.SIGN.*`, each with its signature) of a
    /// member before the control member, if any.
    pub signatures: Vec<(String, Vec<u8>)>,
    pub control: &'a [u8],
    pub pkginfo: Vec<u8>,
    pub data: &'a [u8],
}

/// A package's [`Parts`]; nothing of the data is decompressed.
pub fn parts(bytes: &[u8]) -> Result<Parts<'_>, Error> {
    let members = control_members(bytes)?;
    let Some((control, content)) = members.last() else {
        return Err(Error::NoPkgInfo);
    };
    let pkginfo = tar_files(content)?
        .into_iter()
        .find(|(n, _)| n == ".PKGINFO")
        .ok_or(Error::NoPkgInfo)?
        .1;
    let head: usize = members.iter().map(|(m, _)| m.len()).sum();
    let signatures = match members.first() {
        Some((_, content)) if members.len() > 1 => tar_files(content)?,
        _ => Vec::new(),
    };
    Ok(Parts {
        signatures,
        control,
        pkginfo,
        data: &bytes[head..],
    })
}

/// The data of a package, compressed, once checked against the `datahash`
/// its control member records (which the index's `C:` or a signature
/// covers): what may then be unpacked or listed.
///
/// A package without a `datahash` is refused: melange, abuild and apko have
/// always written it, apko and apk-tools 3 refuse packages without it, and
/// without it nothing ties the data to the checked control member. (Only
/// pre-2.0 apk-tools packages lack it, and no repository we read has them.)
pub fn verified_data<'a>(parts: &Parts<'a>) -> Result<&'a [u8], Error> {
    let info = fields::parse_pkginfo(&String::from_utf8_lossy(&parts.pkginfo));
    if info.datahash.is_empty() {
        return Err(Error::NoDataHash);
    }
    let found = super::hex(&Sha256::digest(parts.data));
    if !found.eq_ignore_ascii_case(&info.datahash) {
        return Err(Error::DataHash {
            recorded: info.datahash,
            found,
        });
    }
    Ok(parts.data)
}

/// A reader of a data member's tar, decompressed as it is read, within
/// [`DATA_LIMIT`]. Several data members (old apk-tools wrote them) read as
/// one stream, as `datahash` covers them as one.
pub fn data_reader(data: &[u8]) -> Limited<MultiGzDecoder<&[u8]>> {
    Limited::new(MultiGzDecoder::new(data), DATA_LIMIT)
}

/// The regular files of a tar fragment, by name, with GNU long names and
/// PAX paths applied. The signature and control members of a package end
/// without an end-of-archive: the end of the input ends the fragment.
pub fn tar_files(tar: &[u8]) -> Result<Vec<(String, Vec<u8>)>, Error> {
    let bad = |source| Error::BadTar { source };
    let mut out = Vec::new();
    let mut archive = tar::Archive::new(tar);
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let mut content = Vec::new();
        entry.read_to_end(&mut content).map_err(bad)?;
        out.push((name, content));
    }
    Ok(out)
}

/// The checksum the index records for a package (`C:`): its control
/// member's SHA-1.
pub fn control_checksum(bytes: &[u8]) -> Result<String, Error> {
    Ok(super::q1(&Sha1::digest(parts(bytes)?.control)))
}

/// A package's fields, from the `.PKGINFO` in its control member, with the
/// two an index adds.
pub fn package(bytes: &[u8]) -> Result<Info, Error> {
    let parts = parts(bytes)?;
    Ok(info_of(&parts, bytes.len()))
}

/// A package's fields, as [`package`] reads them, once its data is checked
/// against its `datahash`.
pub fn verified(bytes: &[u8]) -> Result<(Info, &[u8]), Error> {
    let parts = parts(bytes)?;
    let data = verified_data(&parts)?;
    Ok((info_of(&parts, bytes.len()), data))
}

fn info_of(parts: &Parts<'_>, file_size: usize) -> Info {
    Info {
        checksum: super::q1(&Sha1::digest(parts.control)),
        file_size: file_size as u64,
        ..fields::parse_pkginfo(&String::from_utf8_lossy(&parts.pkginfo))
    }
}

/// The records of an `APKINDEX.tar.gz`.
pub fn index(bytes: &[u8]) -> Result<Vec<Info>, Error> {
    let mut out = Vec::new();
    for (_, content) in members(bytes)? {
        for (name, text) in tar_files(&content)? {
            if name != "APKINDEX" {
                continue;
            }
            out.extend(records(&String::from_utf8_lossy(&text)));
        }
    }
    Ok(out)
}

/// The records of an `APKINDEX` file's text: blank-line separated, those
/// without a name skipped.
pub fn records(text: &str) -> impl Iterator<Item = Info> + '_ {
    text.split("\n\n")
        .map(fields::parse_record)
        .filter(|info| !info.name.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apk::key::{self, Key};
    use crate::apk::package;
    use crate::apk::tarball::{Entry, Tar, REGULAR};
    use crate::scratch::Scratch;
    use melangec_compiler::ir::PackageMeta;

    #[test]
    fn signature_and_control_fragments_read_without_an_end_of_archive() {
        let dir = Scratch::new(
            std::env::temp_dir().join(format!("melangec-read-{}", std::process::id())),
        );
        let tree = dir.path().join("tree");
        std::fs::create_dir_all(tree.join("usr/bin")).unwrap();
        std::fs::write(tree.join("usr/bin/hello"), "hi\n").unwrap();
        let (private, _) = key::generate(&dir.path().join("test.rsa"), 2048).unwrap();
        let key = Key::load(&private).unwrap();
        let meta = PackageMeta {
            name: "hello".into(),
            version: "1-r0".into(),
            scripts: vec![(".post-install".into(), "#!/bin/sh\n".into())],
            ..Default::default()
        };
        let opts = package::Options {
            arch: "x86_64",
            epoch: 0,
            namespace: "",
            key: Some(&key),
        };
        let apk = package::build(&tree, &meta, &opts).unwrap();
        let bytes = apk.bytes().unwrap();
        let members = members(&bytes).unwrap();
        assert_eq!(members.len(), 3);
        for (_, content) in &members[..2] {
            // The last record holds an entry's content: no end-of-archive.
            assert!(content[content.len() - 512..].iter().any(|b| *b != 0));
        }
        let names = |m: &Member| -> Vec<String> {
            tar_files(&m.1)
                .unwrap()
                .into_iter()
                .map(|(n, _)| n)
                .collect()
        };
        assert_eq!(names(&members[0]), [".SIGN.RSA256.test.rsa.pub"]);
        assert_eq!(names(&members[1]), [".PKGINFO", ".post-install"]);
        let (_, signature) = tar_files(&members[0].1).unwrap().remove(0);
        assert_eq!(signature, key.sign(members[1].0));
        assert_eq!(
            tar_files(&members[2].1).unwrap(),
            [("usr/bin/hello".to_owned(), b"hi\n".to_vec())]
        );
        assert_eq!(package(&bytes).unwrap(), apk.info);
    }

    #[test]
    fn long_names_gnu_and_pax() {
        let long = format!("usr/share/{}/file", "x".repeat(120));
        // GNU: a `././@LongLink` entry carries the name.
        let mut gnu = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_mode(0o644);
        header.set_size(3);
        gnu.append_data(&mut header, &long, &b"gnu"[..]).unwrap();
        let gnu = gnu.into_inner().unwrap();
        assert!(gnu.windows(13).any(|w| w == b"././@LongLink"));
        // PAX: a `path` record, as our writer makes for a long path.
        let mut pax = Tar::new(0);
        pax.append(
            Entry {
                path: &long,
                kind: REGULAR,
                mode: 0o644,
                size: 3,
                link: "",
                pax: Vec::new(),
                owner_names: true,
            },
            b"pax",
        )
        .unwrap();
        assert!(pax.bytes().windows(5).any(|w| w == b"path="));

        let file = |content: &[u8]| vec![(long.clone(), content.to_vec())];
        assert_eq!(tar_files(&gnu).unwrap(), file(b"gnu"));
        // The same entries as a fragment, without the end-of-archive.
        assert_eq!(tar_files(&gnu[..gnu.len() - 1024]).unwrap(), file(b"gnu"));
        assert_eq!(tar_files(pax.bytes()).unwrap(), file(b"pax"));
        // A header that is not one is an error, not a guess.
        assert!(tar_files(&[b'a'; 512]).is_err());
    }

    #[test]
    fn reading_names_what_is_wrong() {
        let not_gzip = members(b"\x1f\x8b garbage");
        assert!(matches!(not_gzip, Err(Error::NotGzip { offset: 0, .. })));
        let apk = package::build(
            std::path::Path::new("/nonexistent"),
            &PackageMeta {
                name: "p".into(),
                version: "1-r0".into(),
                ..Default::default()
            },
            &package::Options {
                arch: "x86_64",
                epoch: 0,
                namespace: "",
                key: None,
            },
        )
        .unwrap();
        let mut bytes = apk.bytes().unwrap();
        bytes.extend_from_slice(b"trailing");
        let offset = apk.info.file_size as usize;
        let trailing = members(&bytes);
        assert!(
            matches!(trailing, Err(Error::NotGzip { offset: o, .. }) if o == offset),
            "{trailing:?}"
        );
        let index = crate::apk::index::build(&[], 0, None);
        assert!(matches!(package(&index), Err(Error::NoPkgInfo)));
    }

    /// About 1 MB of gzip per GiB of zeros it inflates to.
    fn zeros(mib: usize) -> Vec<u8> {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let block = vec![0u8; 1 << 20];
        for _ in 0..mib {
            gz.write_all(&block).unwrap();
        }
        gz.finish().unwrap()
    }

    #[test]
    fn a_gzip_bomb_is_an_error_not_an_allocation() {
        let bomb = zeros(1024);
        assert!(bomb.len() < 2 << 20, "{}", bomb.len());
        // As a signature or control member: stopped at the control limit.
        for result in [
            first_member(&bomb).map(drop),
            control_members(&bomb).map(drop),
            parts(&bomb).map(drop),
        ] {
            assert!(
                matches!(
                    result,
                    Err(Error::TooLarge {
                        offset: 0,
                        limit: CONTROL_LIMIT
                    })
                ),
                "{result:?}"
            );
        }
        // The members of one file share the limit.
        let small = zeros(40);
        let err = control_members(&[&small[..], &small[..]].concat()).unwrap_err();
        assert!(
            matches!(err, Error::TooLarge { offset, limit: CONTROL_LIMIT } if offset == small.len()),
            "{err:?}"
        );
        assert!(
            err.to_string().contains("decompresses to more than"),
            "{err}"
        );
        // A streamed reader stops at its limit with an error; within it, it
        // reads to the end.
        let mut limited = Limited::new(GzDecoder::new(&small[..]), 1 << 20);
        let err = std::io::copy(&mut limited, &mut std::io::sink()).unwrap_err();
        assert_eq!(too_large(&err), Some(1 << 20));
        let mut exact = Limited::new(GzDecoder::new(&small[..]), 40 << 20);
        assert_eq!(
            std::io::copy(&mut exact, &mut std::io::sink()).unwrap(),
            40 << 20
        );
    }
}
