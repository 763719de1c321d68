//! APK packaging checked with independent tools: Debian's gzip and tar read
//! every member, openssl verifies the signature with the public key, and
//! the datahash and per-file SHA-1 records match what those tools extract.

use std::path::{Path, PathBuf};
use std::process::Command;

use melangec::apk::key::{self, Key};
use melangec::apk::package::{self, Options};
use melangec::apk::read;
use melangec_compiler::ir::PackageMeta;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("melangec-apk-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn meta(name: &str) -> PackageMeta {
    PackageMeta {
        name: name.into(),
        version: "1.2.3-r4".into(),
        origin: "origin-pkg".into(),
        description: "a test package".into(),
        license: "MIT".into(),
        depends: vec!["busybox".into()],
        ..Default::default()
    }
}

fn libc() -> PathBuf {
    [
        "/lib/x86_64-linux-gnu/libc.so.6",
        "/usr/lib/x86_64-linux-gnu/libc.so.6",
        "/lib/aarch64-linux-gnu/libc.so.6",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
    .expect("a libc.so.6 to package")
}

/// A tree with an ELF executable needing libc, a script, a symlink, a hard
/// link and an empty directory.
fn tree(root: &Path) {
    std::fs::create_dir_all(root.join("usr/bin")).unwrap();
    std::fs::create_dir_all(root.join("usr/share/empty")).unwrap();
    std::fs::copy("/bin/true", root.join("usr/bin/truth")).unwrap();
    std::fs::write(root.join("usr/bin/hello"), "#!/bin/sh\necho hello\n").unwrap();
    run(Command::new("chmod")
        .args(["755"])
        .arg(root.join("usr/bin/hello")));
    std::os::unix::fs::symlink("hello", root.join("usr/bin/hi")).unwrap();
    std::fs::write(root.join("usr/share/a"), "same\n").unwrap();
    std::fs::hard_link(root.join("usr/share/a"), root.join("usr/share/b")).unwrap();
}

#[test]
fn a_signed_package_passes_gzip_tar_and_openssl() {
    let dir = scratch("signed");
    let (private, public) = key::generate(&dir.join("test.rsa"), 2048).unwrap();
    let key = Key::load(&private).unwrap();
    tree(&dir.join("pkg"));
    let opts = Options {
        arch: "x86_64",
        epoch: 1_700_000_000,
        namespace: "test",
        key: Some(&key),
    };
    let mut with_script = meta("pkg");
    with_script.scripts = vec![(".post-install".into(), "#!/bin/sh\necho installed\n".into())];
    let apk = package::build(&dir.join("pkg"), &with_script, &opts).unwrap();
    let file = dir.join(&apk.file_name);
    apk.write_to(&file).unwrap();
    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(apk.file_name, "pkg-1.2.3-r4.apk");

    run(Command::new("gzip").arg("-t").arg(&file));
    let listing = run(Command::new("tar").arg("-tzf").arg(&file));
    let names: Vec<&str> = listing.lines().collect();
    assert_eq!(names[0], ".SIGN.RSA256.test.rsa.pub");
    assert_eq!(names[1], ".PKGINFO");
    assert_eq!(names[2], ".post-install");
    let verbose = run(Command::new("tar").arg("-tvzf").arg(&file));
    assert!(
        verbose
            .lines()
            .any(|l| l.starts_with("-rwxr-xr-x root/root") && l.ends_with(".post-install")),
        "{verbose}"
    );
    assert!(
        names.contains(&"usr/share/empty/") || names.contains(&"usr/share/empty"),
        "{names:?}"
    );

    // The three members: signature, control, data.
    let members = read::members(&bytes).unwrap();
    assert_eq!(members.len(), 3);
    let (control_gz, control) = (&members[1].0, &members[1].1);
    std::fs::write(dir.join("control.gz"), control_gz).unwrap();
    let sig = read::tar_files(&members[0].1).unwrap().remove(0).1;
    std::fs::write(dir.join("sig"), sig).unwrap();
    let verified = run(Command::new("openssl")
        .args(["dgst", "-sha256", "-verify"])
        .arg(&public)
        .arg("-signature")
        .arg(dir.join("sig"))
        .arg(dir.join("control.gz")));
    assert!(verified.contains("Verified OK"), "{verified}");

    // datahash: SHA-256 of the data member's compressed bytes.
    std::fs::write(dir.join("data.gz"), members[2].0).unwrap();
    let digest = run(Command::new("openssl")
        .args(["dgst", "-sha256", "-r"])
        .arg(dir.join("data.gz")));
    let digest = digest.split_whitespace().next().unwrap().to_owned();
    let pkginfo = String::from_utf8(read::tar_files(control).unwrap().remove(0).1).unwrap();
    assert!(
        pkginfo.contains(&format!("datahash = {digest}")),
        "{pkginfo}"
    );
    assert!(pkginfo.contains("depend = so:libc.so.6"), "{pkginfo}");
    assert!(pkginfo.contains("depend = busybox"), "{pkginfo}");
    assert!(
        pkginfo.contains("provides = cmd:hello=1.2.3-r4"),
        "{pkginfo}"
    );
    assert!(pkginfo.contains("builddate = 1700000000"), "{pkginfo}");

    // Per-file SHA-1 records equal sha1sum of what tar extracts.
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    run(Command::new("tar")
        .arg("-xzf")
        .arg(&file)
        .arg("-C")
        .arg(&out));
    let records = pax_sha1(&members[2].1);
    for (path, sha1) in &records {
        let full = out.join(path);
        let expected = if full.is_symlink() {
            let target = std::fs::read_link(&full).unwrap();
            run(Command::new("sh")
                .arg("-c")
                .arg(format!("printf %s '{}' | sha1sum", target.display())))
        } else {
            run(Command::new("sha1sum").arg(&full))
        };
        assert_eq!(expected.split_whitespace().next().unwrap(), sha1, "{path}");
    }
    assert!(
        records.iter().any(|(p, _)| p == "usr/bin/hi"),
        "the symlink has its record"
    );
    let a = std::fs::metadata(out.join("usr/share/a")).unwrap();
    let b = std::fs::metadata(out.join("usr/share/b")).unwrap();
    assert_eq!(
        std::os::unix::fs::MetadataExt::ino(&a),
        std::os::unix::fs::MetadataExt::ino(&b)
    );
}

/// (path, sha1) from the PAX records of a data tar.
fn pax_sha1(tar: &[u8]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut at = 0;
    let mut pending = None;
    while at + 512 <= tar.len() && tar[at] != 0 {
        let h = &tar[at..at + 512];
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&h[124..135]).trim_matches('\0'), 8)
                .unwrap();
        let body = &tar[at + 512..at + 512 + size];
        let name = String::from_utf8_lossy(&h[..100])
            .trim_end_matches('\0')
            .to_owned();
        if h[156] == b'x' {
            let text = String::from_utf8_lossy(body);
            pending = text.split('\n').find_map(|r| {
                r.split_once("APK-TOOLS.checksum.SHA1=")
                    .map(|(_, v)| v.to_owned())
            });
        } else if let Some(sha) = pending.take() {
            out.push((name, sha));
        }
        at += 512 + size.div_ceil(512) * 512;
    }
    out
}

#[test]
fn shared_libraries_provide_their_soname() {
    let dir = scratch("soname");
    std::fs::create_dir_all(dir.join("lib/usr/lib")).unwrap();
    std::fs::copy(libc(), dir.join("lib/usr/lib/libc.so.6")).unwrap();
    let opts = Options {
        arch: "x86_64",
        epoch: 0,
        namespace: "",
        key: None,
    };
    let apk = package::build(&dir.join("lib"), &meta("libthing"), &opts).unwrap();
    assert!(
        apk.info.provides.iter().any(|p| p == "so:libc.so.6=6"),
        "{:?}",
        apk.info.provides
    );
    assert!(!apk.info.depends.iter().any(|d| d == "so:libc.so.6"));
    // Unsigned: control and data only.
    assert_eq!(read::members(&apk.bytes().unwrap()).unwrap().len(), 2);
}

#[test]
fn packaging_twice_gives_the_same_bytes() {
    let dir = scratch("twice");
    let (private, _) = key::generate(&dir.join("k.rsa"), 2048).unwrap();
    let key = Key::load(&private).unwrap();
    tree(&dir.join("pkg"));
    let opts = Options {
        arch: "x86_64",
        epoch: 1234,
        namespace: "",
        key: Some(&key),
    };
    let a = package::build(&dir.join("pkg"), &meta("pkg"), &opts).unwrap();
    // Touch everything: times and the order of creation must not matter.
    run(Command::new("touch")
        .arg("-d")
        .arg("2001-01-01")
        .arg(dir.join("pkg/usr/bin/hello")));
    let b = package::build(&dir.join("pkg"), &meta("pkg"), &opts).unwrap();
    assert_eq!(a.bytes().unwrap(), b.bytes().unwrap());
    let ia = melangec::apk::index::build(std::slice::from_ref(&a.info), 1234, Some(&key));
    let ib = melangec::apk::index::build(std::slice::from_ref(&b.info), 1234, Some(&key));
    assert_eq!(ia, ib);
    // The index names the package by its control member and size.
    let records = read::index(&ia).unwrap();
    assert_eq!(records[0].checksum, a.info.checksum);
    assert_eq!(records[0].file_size, a.bytes().unwrap().len() as u64);
    assert!(records[0].checksum.starts_with("Q1") && records[0].checksum.len() == 30);
    // Every field the package was built with reads back from its bytes.
    assert_eq!(read::package(&a.bytes().unwrap()).unwrap(), a.info);
}
