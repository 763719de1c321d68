//! Writes the seed corpora under `seeds/<target>/` with melangec's own
//! writers, and the public key the `index` target's keyring holds: run from
//! `fuzz/` with `cargo run --example seeds`. Each seed is small, so the
//! fuzzers start from real layouts rather than from nothing.

use std::os::unix::fs::symlink;
use std::path::Path;

use melangec::apk::key::{self, Key};
use melangec::apk::package::{self, Info};
use melangec::apk::tarball::{Entry, Tar, DIRECTORY, HARDLINK, REGULAR, SYMLINK};
use melangec::apk::{index, read};
use melangec::environment::lock::{ArchLock, Locked};
use melangec::environment::lockfile;
use melangec_compiler::ir::PackageMeta;
use melangec_compiler::{compile, Arch, Options, PipelineLibrary, SourceFile};

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new("seeds").join(target);
    std::fs::create_dir_all(&dir).expect("making the seeds directory");
    assert!(
        bytes.len() < 50 << 10,
        "{target}/{name} is too large a seed"
    );
    std::fs::write(dir.join(name), bytes).expect("writing a seed");
}

fn main() {
    let scratch = tempfile::tempdir().expect("a temporary directory");

    // Recipes, and what they compile to.
    let lib = PipelineLibrary::builtin();
    for recipe in ["simple.yaml", "with-subpackage.yaml", "with-if.yaml"] {
        let text = std::fs::read_to_string(Path::new("../testdata").join(recipe))
            .expect("reading a recipe");
        write("compile", recipe, text.as_bytes());
        let compiled = compile(
            &SourceFile::new(recipe, &text),
            &Options::new(Arch::X86_64),
            &lib,
        )
        .unwrap_or_else(|d| panic!("{recipe}: {}", d.first_line()));
        let stem = recipe.trim_end_matches(".yaml");
        write("render", &format!("{stem}.llb"), &compiled.bytes);
    }

    // A package of each entry kind, signed; and its data tar alone, which
    // the `apk` target also wraps into a package.
    let tree = scratch.path().join("tree");
    std::fs::create_dir_all(tree.join("usr/bin")).expect("making the tree");
    std::fs::write(tree.join("usr/bin/hello"), "#!/bin/sh\necho hello\n").expect("writing");
    std::fs::hard_link(tree.join("usr/bin/hello"), tree.join("usr/bin/hi")).expect("linking");
    symlink("hello", tree.join("usr/bin/hey")).expect("linking");
    let (private, public) =
        key::generate(&scratch.path().join("fuzz.rsa"), 2048).expect("generating a key");
    let key = Key::load(&private).expect("loading the key");
    let meta = PackageMeta {
        name: "hello".into(),
        version: "1.0-r0".into(),
        depends: vec!["busybox".into()],
        scripts: vec![(".post-install".into(), "#!/bin/sh\n".into())],
        ..Default::default()
    };
    let opts = package::Options {
        arch: "x86_64",
        epoch: 0,
        namespace: "fuzz",
        key: Some(&key),
    };
    let apk = package::build(&tree, &meta, &opts).expect("building the package");
    let bytes = apk.bytes().expect("reading the package");
    write("apk", "hello-1.0-r0.apk", &bytes);
    let data = read::parts(&bytes).expect("reading the package").data;
    let mut tar = Vec::new();
    std::io::Read::read_to_end(&mut read::data_reader(data), &mut tar).expect("inflating");
    write("apk", "hello.data.tar", &tar);
    let mut kinds = Tar::new(0);
    for (path, kind, link, content) in [
        ("etc", DIRECTORY, "", &b""[..]),
        ("etc/motd", REGULAR, "", &b"hi\n"[..]),
        ("etc/issue", HARDLINK, "etc/motd", &b""[..]),
        ("lib", SYMLINK, "usr/lib", &b""[..]),
        ("lib/libx.so", REGULAR, "", &b"x"[..]),
    ] {
        kinds
            .append(
                Entry {
                    path,
                    kind,
                    mode: 0o755,
                    size: content.len() as u64,
                    link,
                    pax: vec![("APK-TOOLS.checksum.SHA1".into(), b"00".to_vec())],
                    owner_names: true,
                },
                content,
            )
            .expect("writing to memory");
    }
    kinds.finish().expect("writing to memory");
    write("apk", "kinds.data.tar", kinds.bytes());

    // Indexes: signed by the key the target's keyring holds, and unsigned,
    // and the text inside them.
    let other = Info {
        name: "busybox".into(),
        version: "1.37.0-r0".into(),
        arch: "x86_64".into(),
        provides: vec!["cmd:sh=1.37.0-r0".into(), "cmd:ls=1.37.0-r0".into()],
        ..apk.info.clone()
    };
    let packages = [apk.info.clone(), other];
    write(
        "index",
        "signed.APKINDEX.tar.gz",
        &index::build(&packages, 0, Some(&key)),
    );
    write(
        "index",
        "unsigned.APKINDEX.tar.gz",
        &index::build(&packages, 0, None),
    );
    write("index", "APKINDEX", index::render(&packages).as_bytes());
    std::fs::create_dir_all("keys").expect("making the keys directory");
    std::fs::copy(&public, "keys/fuzz.rsa.pub").expect("copying the public key");

    // A lock of two architectures.
    let locked = |arch: &str, info: &Info| Locked {
        name: info.name.clone(),
        version: info.version.clone(),
        arch: arch.into(),
        repository: "https://packages.example.org/os".into(),
        checksum: info.checksum.clone(),
        sha256: "0".repeat(64),
    };
    let locks: Vec<ArchLock> = ["aarch64", "x86_64"]
        .into_iter()
        .map(|arch| ArchLock {
            arch: arch.into(),
            requested: vec!["busybox".into(), "hello".into()],
            packages: packages.iter().map(|p| locked(arch, p)).collect(),
        })
        .collect();
    write(
        "lock",
        "two-arches.lock.yaml",
        lockfile::render(&locks).as_bytes(),
    );
}
