//! Hostile inputs on real builds: a repository serving a package whose data
//! was swapped, a cache altered behind our back, a signed package built to
//! escape its root, recipe values made to reach the host, and steps that put
//! links out, locked modes and names no package can hold into melange-out.
//! Each case asserts the refusal as the user reads it and that nothing was
//! written. (Parsers' limits are in compiler/tests/hostile.rs, downloads'
//! in environment::fetch, locks in locked.rs, concurrent and killed builds
//! in build.rs, `index` and `sign` in cli.rs.)

mod common;
use common::serve::serve;
use common::{daemon, repo, repo_key, root};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use melangec::apk::tarball::{Entry, Tar, DIRECTORY, HARDLINK, REGULAR};
use melangec::apk::{gz, index, key, read};
use sha2::{Digest, Sha256};

fn scratch(name: &str) -> PathBuf {
    let dir = root().join("target/test-hostile").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `melangec build recipe.yaml` in `dir`, with its own cache.
fn build(dir: &Path, flags: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_melangec"))
        .args(["build", "recipe.yaml", "--progress", "plain"])
        .args(["--buildkit-addr", &daemon()])
        .args(flags)
        .current_dir(dir)
        .env("MELANGEC_CACHE", dir.join("cache"))
        .output()
        .unwrap()
}

fn log(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn refused(out: &Output, says: &str) -> String {
    let log = log(out);
    assert!(!out.status.success(), "not refused:\n{log}");
    assert!(log.contains(says), "expected {says:?}:\n{log}");
    log
}

fn nothing_written(dir: &Path) {
    for made in ["packages", "workspace"] {
        assert!(!dir.join(made).exists(), "{made}/ was written");
    }
}

fn recipe(dir: &Path, packages: &[&str], steps: &str) {
    std::fs::write(
        dir.join("recipe.yaml"),
        format!(
            "package: {{name: probe, version: 1.0.0, epoch: 0, description: probe, copyright: [{{license: MIT}}]}}\n\
             environment: {{contents: {{packages: [{}]}}}}\n\
             pipeline:\n{steps}",
            packages.join(", ")
        ),
    )
    .unwrap();
}

const INSTALL: &str = "  - runs: |\n      mkdir -p ${{targets.destdir}}/usr/share\n      echo ok > ${{targets.destdir}}/usr/share/probe\n";

/// A copy of the test repository (files linked, not copied) in `dir/repo`.
fn repo_copy(dir: &Path) -> PathBuf {
    let copy = dir.join("repo");
    std::fs::create_dir_all(copy.join("x86_64")).unwrap();
    for e in std::fs::read_dir(repo().join("x86_64")).unwrap() {
        let e = e.unwrap();
        std::fs::hard_link(e.path(), copy.join("x86_64").join(e.file_name())).unwrap();
    }
    copy
}

fn busybox(repo: &Path) -> PathBuf {
    std::fs::read_dir(repo.join("x86_64"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.starts_with("busybox-")
                && n.ends_with(".apk")
                && n[8..].starts_with(|c: char| c.is_ascii_digit())
        })
        .expect("busybox in the test repository")
}

/// A data member (gzip of a tar) holding `entries`: path, kind, link.
fn data_member(entries: &[(&str, u8, &str)]) -> Vec<u8> {
    let mut tar = Tar::new(0);
    for (path, kind, link) in entries {
        let body: &[u8] = if *kind == REGULAR {
            b"#!/bin/sh\necho swapped\n"
        } else {
            b""
        };
        tar.append(
            Entry {
                path,
                kind: *kind,
                mode: 0o755,
                size: body.len() as u64,
                link,
                pax: vec![],
                owner_names: true,
            },
            body,
        )
        .unwrap();
    }
    tar.finish().unwrap();
    gz::member(tar.bytes())
}

#[test]
fn a_package_whose_data_was_swapped_is_refused_before_anything_is_written() {
    let dir = scratch("swapped");
    let repo = repo_copy(&dir);
    let path = busybox(&repo);
    let bytes = std::fs::read(&path).unwrap();
    // Signature and control member untouched, so the index's C: holds.
    let parts = read::parts(&bytes).unwrap();
    let head = bytes.len() - parts.data.len();
    let mut swapped = bytes[..head].to_vec();
    swapped.extend(data_member(&[
        ("bin", DIRECTORY, ""),
        ("bin/sh", REGULAR, ""),
    ]));
    std::fs::remove_file(&path).unwrap();
    std::fs::write(&path, &swapped).unwrap();
    assert_eq!(
        read::control_checksum(&swapped).unwrap(),
        read::control_checksum(&bytes).unwrap()
    );

    recipe(&dir, &["busybox"], INSTALL);
    let url = serve(repo);
    let key = repo_key();
    let out = build(
        &dir,
        &[
            "--repository-append",
            &url,
            "--keyring-append",
            key.to_str().unwrap(),
        ],
    );
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let log = refused(&out, "does not match the datahash");
    assert!(log.contains(&name), "the package is named:\n{log}");
    nothing_written(&dir);
    assert!(!dir.join("recipe.lock.yaml").exists(), "no lock is written");
    let kept: Vec<_> = walk(&dir.join("cache"))
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("busybox-"))
        .collect();
    assert!(kept.is_empty(), "the swapped package was cached: {kept:?}");
}

#[test]
fn an_altered_cache_entry_is_downloaded_again() {
    let dir = scratch("altered-cache");
    recipe(&dir, &["busybox"], INSTALL);
    let url = serve(repo());
    let key = repo_key();
    let flags = [
        "--repository-append",
        &url,
        "--keyring-append",
        key.to_str().unwrap(),
    ];
    let first = build(&dir, &flags);
    assert!(first.status.success(), "{}", log(&first));
    let apk = dir.join("packages/x86_64/probe-1.0.0-r0.apk");
    let built = std::fs::read(&apk).unwrap();

    let cached: Vec<PathBuf> = walk(&dir.join("cache"))
        .into_iter()
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.starts_with("busybox-") && n.ends_with(".apk")
        })
        .collect();
    assert_eq!(cached.len(), 1, "{cached:?}");
    let original = std::fs::read(&cached[0]).unwrap();
    let mut altered = original.clone();
    let at = altered.len() - 100;
    altered[at] ^= 0xff;
    std::fs::write(&cached[0], &altered).unwrap();

    // Resolved afresh (no lock), so the environment is read from the cache.
    let _ = std::fs::remove_file(dir.join("recipe.lock.yaml"));
    std::fs::remove_dir_all(dir.join("packages")).unwrap();
    let second = build(&dir, &flags);
    assert!(second.status.success(), "{}", log(&second));
    assert_eq!(
        std::fs::read(&cached[0]).unwrap(),
        original,
        "downloaded again"
    );
    assert_eq!(std::fs::read(&apk).unwrap(), built);
}

#[test]
fn a_signed_package_that_reaches_outside_its_root_is_refused() {
    let dir = scratch("escape");
    let repo = repo_copy(&dir);
    // A package signed by a key the build trusts, built to link a host
    // file into the environment.
    let host = dir.join("host-secret");
    std::fs::write(&host, "secret\n").unwrap();
    let data = data_member(&[
        ("etc", DIRECTORY, ""),
        ("etc/leak", HARDLINK, host.to_str().unwrap()),
    ]);
    let pkginfo = format!(
        "pkgname = leaky\npkgver = 1.0-r0\narch = x86_64\nsize = 1\npkgdesc = leaky\ndatahash = {}\n",
        melangec::apk::hex(&Sha256::digest(&data))
    );
    let mut apk = melangec::apk::package::control_member(&pkginfo, &[], 0);
    apk.extend(&data);
    std::fs::write(repo.join("x86_64/leaky-1.0-r0.apk"), &apk).unwrap();

    let (private, public) = key::generate(&dir.join("keys/local.rsa"), 2048).unwrap();
    let signer = key::Key::load(&private).unwrap();
    let mut infos = Vec::new();
    for e in std::fs::read_dir(repo.join("x86_64")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "apk") {
            infos.push(read::package(&std::fs::read(&p).unwrap()).unwrap());
        }
    }
    infos.sort_by(|a, b| a.name.cmp(&b.name));
    let index_path = repo.join("x86_64/APKINDEX.tar.gz");
    std::fs::remove_file(&index_path).unwrap();
    std::fs::write(&index_path, index::build(&infos, 0, Some(&signer))).unwrap();

    recipe(&dir, &["busybox", "leaky"], INSTALL);
    // A directory repository: the environment is assembled here, where the
    // host file could be reached.
    let out = build(
        &dir,
        &[
            "--repository-append",
            repo.to_str().unwrap(),
            "--keyring-append",
            public.to_str().unwrap(),
        ],
    );
    let log = refused(&out, "leaky");
    assert!(log.contains("etc/leak"), "the member is named:\n{log}");
    nothing_written(&dir);
    let meta = std::fs::metadata(&host).unwrap();
    assert_eq!(
        std::os::unix::fs::MetadataExt::nlink(&meta),
        1,
        "the host file was linked"
    );
}

#[test]
fn recipe_values_never_reach_the_host() {
    let dir = scratch("values");
    let rootfs = root().join("target/rootfs");
    let flags = ["--environment-dir", rootfs.to_str().unwrap()];
    // A version that would put the package outside --out-dir.
    std::fs::write(
        dir.join("recipe.yaml"),
        "package: {name: probe, version: 1.0/../../../x, epoch: 0, description: probe}\n\
         pipeline:\n  - runs: 'true'\n",
    )
    .unwrap();
    let out = build(&dir, &flags);
    refused(&out, "unable to parse version \"1.0/../../../x\"");
    nothing_written(&dir);

    // A dependency carrying a line of its own into .PKGINFO.
    std::fs::write(
        dir.join("recipe.yaml"),
        "package:\n  name: probe\n  version: 1.0.0\n  epoch: 0\n  description: probe\n  \
         dependencies:\n    runtime:\n      - \"busybox\\ndepend = evil\"\n\
         pipeline:\n  - runs: 'true'\n",
    )
    .unwrap();
    let out = build(&dir, &flags);
    refused(&out, "holds a space or line break");
    nothing_written(&dir);

    // Shell in a var and an input runs in the step's container, and only
    // there: the host path it names is never made.
    let mark = dir.join("pwned");
    std::fs::write(
        dir.join("recipe.yaml"),
        format!(
            "package: {{name: probe, version: 1.0.0, epoch: 0, description: probe}}\n\
             vars:\n  evil: \"$(touch {m}); `touch {m}`\"\n\
             pipeline:\n  - runs: |\n      mkdir -p ${{{{targets.destdir}}}}\n      \
             echo \"${{{{vars.evil}}}}\" > ${{{{targets.destdir}}}}/said\n",
            m = mark.display()
        ),
    )
    .unwrap();
    let out = build(&dir, &flags);
    assert!(out.status.success(), "{}", log(&out));
    assert!(!mark.exists(), "a recipe value ran on the host");
}

#[test]
fn what_a_step_puts_in_melange_out_is_carried_as_apk_would_or_refused_by_name() {
    let dir = scratch("export");
    let rootfs = root().join("target/rootfs");
    let flags = ["--environment-dir", rootfs.to_str().unwrap()];
    let long = "n".repeat(250);
    std::fs::write(
        dir.join("recipe.yaml"),
        format!(
            "package: {{name: probe, version: 1.0.0, epoch: 0, description: probe}}\n\
             pipeline:\n  - runs: |\n      d=${{{{targets.destdir}}}}\n      mkdir -p $d/usr/bin $d/locked\n      \
             ln -s /etc/passwd $d/passwd\n      ln -s ../../../../../../../etc/shadow $d/usr/bin/shadow\n      \
             echo x > $d/usr/bin/zero && chmod 0000 $d/usr/bin/zero\n      \
             echo y > $d/locked/f && chmod 0000 $d/locked\n      echo z > $d/{long}\n"
        ),
    )
    .unwrap();
    let out = build(&dir, &flags);
    assert!(out.status.success(), "{}", log(&out));
    let tree = dir.join("workspace/x86_64/melange-out/probe");
    // Links arrive as links, never followed or resolved on the host.
    assert_eq!(
        std::fs::read_link(tree.join("passwd")).unwrap(),
        Path::new("/etc/passwd")
    );
    assert!(std::fs::symlink_metadata(tree.join("usr/bin/shadow"))
        .unwrap()
        .file_type()
        .is_symlink());
    let listing = Command::new("tar")
        .arg("-tvzf")
        .arg(dir.join("packages/x86_64/probe-1.0.0-r0.apk"))
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    for (mode, path) in [
        ("lrwxrwxrwx", "passwd -> /etc/passwd"),
        (
            "lrwxrwxrwx",
            "usr/bin/shadow -> ../../../../../../../etc/shadow",
        ),
        ("----------", "usr/bin/zero"),
        ("d---------", "locked"),
        ("-rw-r--r--", long.as_str()),
    ] {
        assert!(
            listing
                .lines()
                .any(|l| l.starts_with(mode) && l.ends_with(path)),
            "{mode} {path} is not in the package:\n{listing}"
        );
    }

    // A name no package can hold: refused by name, nothing written.
    let again = scratch("export-bad-name");
    std::fs::write(
        again.join("recipe.yaml"),
        "package: {name: probe, version: 1.0.0, epoch: 0, description: probe}\n\
         pipeline:\n  - runs: |\n      mkdir -p ${{targets.destdir}}\n      \
         echo x > \"${{targets.destdir}}/$(printf 'bad\\377name')\"\n",
    )
    .unwrap();
    let out = build(&again, &flags);
    refused(&out, "is not UTF-8");
    assert!(log(&out).contains("melange-out/probe/bad"), "{}", log(&out));
    assert!(!again.join("packages").exists());
    let left: Vec<_> = std::fs::read_dir(again.join("workspace/x86_64"))
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}
