//! A ustar writer with every header byte fixed: ownership root, one mtime,
//! 7/11-digit octal fields, PAX records for checksums and long names. It is
//! hand-written (reading uses the `tar` crate) because packages must be
//! byte-exact: the crate's Builder chooses header layouts and long-name
//! entries itself and always ends with an end-of-archive, which the
//! signature and control segments of an APK must not carry.

use std::fmt::Write as _;
use std::io::{self, Write};

pub const REGULAR: u8 = b'0';
pub const HARDLINK: u8 = b'1';
pub const SYMLINK: u8 = b'2';
pub const DIRECTORY: u8 = b'5';
const PAX: u8 = b'x';

pub struct Entry<'a> {
    pub path: &'a str,
    pub kind: u8,
    pub mode: u32,
    pub size: u64,
    pub link: &'a str,
    /// PAX records, any order; written sorted by key.
    pub pax: Vec<(String, Vec<u8>)>,
    /// uname/gname: `root` for package entries, empty for index entries.
    pub owner_names: bool,
}

/// A tar stream into `W` (memory by default).
pub struct Tar<W: Write = Vec<u8>> {
    pub out: W,
    pub mtime: u64,
    /// Whether the entry being written names its owner `root`.
    names: bool,
    /// Bytes written so far, for padding to whole records.
    len: u64,
}

fn octal(field: &mut [u8], value: u64) {
    let digits = field.len() - 1;
    let s = format!("{value:0digits$o}");
    field[..digits].copy_from_slice(&s.as_bytes()[s.len() - digits..]);
    field[digits] = 0;
}

fn put(field: &mut [u8], s: &[u8]) {
    let n = s.len().min(field.len());
    field[..n].copy_from_slice(&s[..n]);
}

impl Tar {
    pub fn new(mtime: u64) -> Tar {
        Tar::into_writer(Vec::new(), mtime)
    }

    /// The archive so far.
    pub fn bytes(&self) -> &[u8] {
        &self.out
    }
}

impl<W: Write> Tar<W> {
    pub fn into_writer(out: W, mtime: u64) -> Tar<W> {
        Tar {
            out,
            mtime,
            names: true,
            len: 0,
        }
    }

    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.len += bytes.len() as u64;
        self.out.write_all(bytes)
    }

    fn header(
        &mut self,
        name: &[u8],
        kind: u8,
        mode: u32,
        size: u64,
        link: &[u8],
        pax: bool,
    ) -> io::Result<()> {
        // PAX blocks carry zero times and no owner names, as Go writes them.
        let (mtime, names) = if pax {
            (0, false)
        } else {
            (self.mtime, self.names)
        };
        let mut h = [0u8; 512];
        put(&mut h[0..100], name);
        octal(&mut h[100..108], u64::from(mode & 0o7777));
        octal(&mut h[108..116], 0);
        octal(&mut h[116..124], 0);
        octal(&mut h[124..136], size);
        octal(&mut h[136..148], mtime);
        h[156] = kind;
        put(&mut h[157..257], link);
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        if names {
            put(&mut h[265..297], b"root");
            put(&mut h[297..329], b"root");
        }
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
        let s = format!("{sum:06o}\0 ");
        h[148..156].copy_from_slice(s.as_bytes());
        self.write(&h)
    }

    fn pad(&mut self) -> io::Result<()> {
        let rem = (self.len % 512) as usize;
        if rem != 0 {
            self.write(&[0u8; 512][..512 - rem])?;
        }
        Ok(())
    }

    /// Appends an entry; `data` is its content (regular files only).
    pub fn append(&mut self, mut e: Entry<'_>, data: &[u8]) -> io::Result<()> {
        if e.path.len() > 100 {
            e.pax.push(("path".into(), e.path.as_bytes().to_vec()));
        }
        if e.link.len() > 100 {
            e.pax.push(("linkpath".into(), e.link.as_bytes().to_vec()));
        }
        if !e.pax.is_empty() {
            e.pax.sort();
            let mut records = Vec::new();
            for (key, value) in &e.pax {
                // "<len> key=value\n", where len counts its own digits.
                let body = key.len() + value.len() + 3;
                let mut len = body + 1;
                while len != body + len.to_string().len() {
                    len = body + len.to_string().len();
                }
                let mut head = String::new();
                let _ = write!(head, "{len} {key}=");
                records.extend_from_slice(head.as_bytes());
                records.extend_from_slice(value);
                records.push(b'\n');
            }
            let (dir, base) = match e.path.rsplit_once('/') {
                Some((d, b)) => (format!("{d}/"), b),
                None => (String::new(), e.path),
            };
            let name = format!("{dir}PaxHeaders.0/{base}");
            self.header(name.as_bytes(), PAX, 0, records.len() as u64, b"", true)?;
            self.write(&records)?;
            self.pad()?;
        }
        self.names = e.owner_names;
        self.header(
            e.path.as_bytes(),
            e.kind,
            e.mode,
            e.size,
            e.link.as_bytes(),
            false,
        )?;
        self.write(data)?;
        self.pad()
    }

    /// The two zero records that end a complete archive.
    pub fn finish(&mut self) -> io::Result<()> {
        self.write(&[0u8; 1024])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_lengths_count_themselves() {
        let mut t = Tar::new(0);
        t.append(
            Entry {
                path: "usr/bin/hello",
                kind: REGULAR,
                mode: 0o755,
                size: 2,
                link: "",
                pax: vec![(
                    "APK-TOOLS.checksum.SHA1".into(),
                    b"5445a8546f7818d0d624f62328bee1c4ffdf0c2d".to_vec(),
                )],
                owner_names: true,
            },
            b"hi",
        )
        .unwrap();
        let records = &t.bytes()[512..512 + 68];
        assert_eq!(&records[..3], b"68 ");
        assert_eq!(records[67], b'\n');
        assert_eq!(&t.bytes()[0..27], b"usr/bin/PaxHeaders.0/hello\0");
        assert_eq!(t.bytes().len(), 512 * 4);
    }
}
