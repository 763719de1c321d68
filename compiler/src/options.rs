//! What a compile depends on besides the recipe: target architecture, the
//! files the caller read for `--env-file` / `--vars-file`, and the clock value
//! the caller chose. The compiler reads none of these itself.

use std::collections::BTreeSet;

use crate::source::SourceFile;

/// Capabilities every daemon melangec targets has (BuildKit v0.8, as
/// embedded in Docker 20.10, and later) among those its lowering can use.
pub const BASELINE_CAPS: &[&str] = &[
    "constraints",
    "exec.meta.base",
    "exec.mount.bind",
    "exec.mount.cache",
    "exec.mount.cache.sharing",
    "file.base",
    "meta.description",
    "platform",
    "source.git",
    "source.git.fullurl",
    "source.git.keepgitdir",
    "source.http",
    "source.http.checksum",
    "source.http.perm",
    "source.local",
    "source.local.excludepatterns",
    "source.local.sessionid",
    "source.local.sharedkeyhint",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Arch {
    X86_64,
    Aarch64,
}

impl Arch {
    /// Accepts APK (`x86_64`) and OCI (`amd64`) spellings.
    pub fn parse(s: &str) -> Option<Arch> {
        match s {
            "x86_64" | "amd64" => Some(Arch::X86_64),
            "aarch64" | "arm64" => Some(Arch::Aarch64),
            _ => None,
        }
    }

    /// APK spelling.
    pub fn apk(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
        }
    }

    /// OCI / Go spelling, as BuildKit platforms use.
    pub fn goarch(self) -> &'static str {
        match self {
            Arch::X86_64 => "amd64",
            Arch::Aarch64 => "arm64",
        }
    }

    pub fn gnu_triplet(self, flavor: &str) -> String {
        match self {
            Arch::X86_64 => format!("x86_64-pc-linux-{flavor}"),
            Arch::Aarch64 => format!("aarch64-unknown-linux-{flavor}"),
        }
    }

    pub fn rust_triplet(self, flavor: &str) -> String {
        match self {
            Arch::X86_64 => format!("x86_64-unknown-linux-{flavor}"),
            Arch::Aarch64 => format!("aarch64-unknown-linux-{flavor}"),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Options {
    pub arch: Arch,
    /// `--env-file` contents, in the order given (earlier files win).
    pub env_files: Vec<SourceFile>,
    /// `--vars-file` contents.
    pub vars_file: Option<SourceFile>,
    /// `--build-option` names, in the order given.
    pub build_options: Vec<String>,
    /// Patterns from `<source-dir>/.melangeignore`.
    pub source_excludes: Vec<String>,
    /// Build timestamp in seconds (`SOURCE_DATE_EPOCH`), 0 by default as melange.
    pub source_date_epoch: u64,
    /// libc suffix for `${{host.triplet.*}}`.
    pub libc_flavor: String,
    /// Capabilities of the daemon the definition is for; features it lacks
    /// are lowered to in-container steps instead.
    pub caps: BTreeSet<String>,
    /// The session that serves the local sources, when building: BuildKit
    /// shares identical ops between builds running at once, and without
    /// it two builds of different directories could read each other's
    /// files. `None` for `compile`, whose output must not vary.
    pub local_session: Option<String>,
    /// The environment as pinned packages, from a lock: the definition
    /// then fetches and installs them itself instead of reading the
    /// `environment` local.
    pub environment: Option<PinnedEnvironment>,
    /// Scripts trace their commands (`set -x`), as melange's `--debug`.
    pub debug: bool,
}

/// A locked environment, resolved and read by the caller.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PinnedEnvironment {
    /// In install order: each after what it depends on.
    pub packages: Vec<PinnedPackage>,
    /// Written over the installed packages: apk's database, world,
    /// repositories and keys, accounts. Path, mode, contents.
    pub files: Vec<(String, i32, Vec<u8>)>,
    /// Made when missing, with their modes.
    pub dirs: Vec<(String, i32)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PinnedPackage {
    pub name: String,
    pub version: String,
    /// `http://` or `https://` URL of the `.apk`.
    pub url: String,
    /// Hex SHA-256 of the file, which the daemon checks.
    pub sha256: String,
}

impl Options {
    pub fn has_caps(&self, caps: &[&str]) -> bool {
        caps.iter().all(|c| self.caps.contains(*c))
    }

    pub fn new(arch: Arch) -> Options {
        Options {
            arch,
            env_files: Vec::new(),
            vars_file: None,
            build_options: Vec::new(),
            source_excludes: Vec::new(),
            source_date_epoch: 0,
            libc_flavor: "gnu".to_owned(),
            caps: BASELINE_CAPS.iter().map(|c| (*c).to_owned()).collect(),
            local_session: None,
            environment: None,
            debug: false,
        }
    }
}
