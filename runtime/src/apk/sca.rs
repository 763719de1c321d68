//! What a package provides and needs, read from its files as melange's
//! analysis does: `so:` from ELF SONAMEs and DT_NEEDED entries, `cmd:` for
//! executables in the bin directories, `pc:` for pkg-config files, and the
//! interpreter of scripts.

use std::collections::BTreeSet;
use std::path::Path;

use object::read::elf::{Dyn, ElfFile64, FileHeader};
use object::{elf, Endianness};

const BIN_DIRS: &[&str] = &["usr/bin/", "bin/", "usr/sbin/", "sbin/", "usr/local/bin/"];
const PC_DIRS: &[&str] = &[
    "usr/lib/pkgconfig/",
    "usr/share/pkgconfig/",
    "lib/pkgconfig/",
];

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Found {
    pub provides: BTreeSet<String>,
    pub depends: BTreeSet<String>,
}

/// One file of the package, as the walk sees it.
pub struct File<'a> {
    pub path: &'a str,
    pub mode: u32,
    pub is_symlink: bool,
    pub data: &'a [u8],
}

pub fn analyse(files: &[File<'_>], version: &str, no_commands: bool) -> Found {
    let mut a = Analysis::new(version, no_commands);
    for f in files {
        a.add(f);
    }
    a.finish()
}

/// Files added one at a time, so their contents need not all be in memory.
pub struct Analysis {
    version: String,
    no_commands: bool,
    found: Found,
    needed: BTreeSet<String>,
}

impl Analysis {
    pub fn new(version: &str, no_commands: bool) -> Analysis {
        Analysis {
            version: version.to_owned(),
            no_commands,
            found: Found::default(),
            needed: BTreeSet::new(),
        }
    }

    pub fn add(&mut self, f: &File<'_>) {
        let (found, needed, version) = (&mut self.found, &mut self.needed, &self.version);
        let in_bin = BIN_DIRS.iter().find(|d| f.path.starts_with(**d));
        if let Some(dir) = in_bin {
            let name = &f.path[dir.len()..];
            if !self.no_commands && !name.contains('/') && (f.is_symlink || f.mode & 0o111 != 0) {
                found.provides.insert(format!("cmd:{name}={version}"));
            }
        }
        if f.is_symlink {
            return;
        }
        if let Some(dir) = PC_DIRS.iter().find(|d| f.path.starts_with(**d)) {
            let name = &f.path[dir.len()..];
            if let Some(stem) = name.strip_suffix(".pc").filter(|s| !s.contains('/')) {
                let text = String::from_utf8_lossy(f.data);
                let pc_version = text
                    .lines()
                    .find_map(|l| l.strip_prefix("Version:"))
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .unwrap_or("0");
                found.provides.insert(format!("pc:{stem}={pc_version}"));
                for line in text.lines() {
                    if let Some(reqs) = line.strip_prefix("Requires:") {
                        for req in reqs.split([',', ' ']).filter(|r| !r.is_empty()) {
                            if req
                                .chars()
                                .next()
                                .is_some_and(|c| c.is_ascii_alphanumeric())
                            {
                                needed.insert(format!("pc:{req}"));
                            }
                        }
                    }
                }
            }
        }
        if f.data.starts_with(b"\x7fELF") {
            elf_deps(f.data, found, needed);
        } else if in_bin.is_some() && f.mode & 0o111 != 0 && f.data.starts_with(b"#!") {
            if let Some(interp) = shebang(f.data) {
                needed.insert(format!("cmd:{interp}"));
            }
        }
    }

    /// What the package provides itself is not a dependency.
    pub fn finish(self) -> Found {
        let mut found = self.found;
        for n in self.needed {
            let name = n.split('=').next().unwrap_or(&n).to_owned();
            let own = found
                .provides
                .iter()
                .any(|p| p.split('=').next() == Some(name.as_str()));
            if !own {
                found.depends.insert(n);
            }
        }
        found
    }
}

/// The interpreter named by `#!`, through `env`.
fn shebang(data: &[u8]) -> Option<String> {
    let line = data.split(|b| *b == b'\n').next()?;
    let line = String::from_utf8_lossy(&line[2..]).into_owned();
    let mut words = line.split_whitespace();
    let first = words.next()?;
    let base = Path::new(first).file_name()?.to_string_lossy().into_owned();
    if base == "env" {
        return words.find(|w| !w.starts_with('-')).map(str::to_owned);
    }
    Some(base)
}

fn elf_deps(data: &[u8], found: &mut Found, needed: &mut BTreeSet<String>) {
    let Ok(file) = ElfFile64::<Endianness>::parse(data) else {
        return;
    };
    let endian = file.endian();
    let header = file.elf_header();
    let Ok(sections) = header.sections(endian, data) else {
        return;
    };
    // The entries of `.dynamic`, and the string table they index.
    let Ok(Some((dynamic, strtab))) = sections.dynamic(endian, data) else {
        return;
    };
    let Ok(strings) = sections.strings(endian, data, strtab) else {
        return;
    };
    for d in dynamic {
        let tag = d.d_tag(endian) as u32;
        let value = d.d_val(endian) as u32;
        let Ok(name) = strings.get(value) else {
            continue;
        };
        let name = String::from_utf8_lossy(name).into_owned();
        match tag {
            elf::DT_SONAME => {
                let version = name.split_once(".so.").map_or("0", |(_, v)| v).to_owned();
                found.provides.insert(format!("so:{name}={version}"));
            }
            elf::DT_NEEDED => {
                needed.insert(format!("so:{name}"));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_pkgconfig_and_scripts() {
        let pc = b"Name: foo\nVersion: 1.2\nRequires: bar, baz >= 2\n";
        let files = [
            File {
                path: "usr/bin/tool",
                mode: 0o755,
                is_symlink: false,
                data: b"#!/usr/bin/env python3\nprint(1)\n",
            },
            File {
                path: "usr/bin/alias",
                mode: 0o777,
                is_symlink: true,
                data: b"",
            },
            File {
                path: "usr/bin/readme",
                mode: 0o644,
                is_symlink: false,
                data: b"text",
            },
            File {
                path: "usr/lib/pkgconfig/foo.pc",
                mode: 0o644,
                is_symlink: false,
                data: pc,
            },
        ];
        let found = analyse(&files, "1.0-r0", false);
        assert!(found.provides.contains("cmd:tool=1.0-r0"));
        assert!(found.provides.contains("cmd:alias=1.0-r0"));
        assert!(!found.provides.iter().any(|p| p.starts_with("cmd:readme")));
        assert!(found.provides.contains("pc:foo=1.2"));
        assert!(found.depends.contains("pc:bar"));
        assert!(found.depends.contains("pc:baz"));
        assert!(found.depends.contains("cmd:python3"));
        let found = analyse(&files, "1.0-r0", true);
        assert!(!found.provides.iter().any(|p| p.starts_with("cmd:")));
    }

    #[test]
    fn elf_sonames_and_needed_libraries() {
        // Any ELF shared object of the host will do: libc has a SONAME and
        // needs the dynamic loader.
        let Some(libc) = [
            "/lib/x86_64-linux-gnu/libc.so.6",
            "/usr/lib/x86_64-linux-gnu/libc.so.6",
            "/lib/aarch64-linux-gnu/libc.so.6",
        ]
        .iter()
        .find(|p| Path::new(p).exists()) else {
            panic!("no libc.so.6 to read");
        };
        let data = std::fs::read(libc).unwrap();
        let files = [File {
            path: "usr/lib/libc.so.6",
            mode: 0o755,
            is_symlink: false,
            data: &data,
        }];
        let found = analyse(&files, "1-r0", false);
        assert!(found.provides.contains("so:libc.so.6=6"), "{found:?}");
        assert!(
            found.depends.iter().any(|d| d.starts_with("so:ld-linux")),
            "{found:?}"
        );
    }
}
