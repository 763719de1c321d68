//! `make bench`: packaging a large tree (BENCH_TREE, default: 500 MB copied
//! from this machine's /usr into target/bench-package/tree) into a signed
//! APK, against its floor, `tar -c | gzip -6` of the same tree; throughput
//! ratio and the process's peak memory.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use melangec::apk::key::{self, Key};
use melangec::apk::package::{self, Options};
use melangec_compiler::ir::PackageMeta;

const TARGET_BYTES: u64 = 500 << 20;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn du(p: &Path) -> u64 {
    let out = Command::new("du").args(["-sb"]).arg(p).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Fills `tree` with about 500 MB of real files (libraries, binaries,
/// text) from /usr, a directory at a time, once.
fn make_tree(tree: &Path) {
    if du(tree) >= TARGET_BYTES {
        return;
    }
    let _ = std::fs::remove_dir_all(tree);
    std::fs::create_dir_all(tree).unwrap();
    let mut total = 0;
    for src in [
        "/usr/lib",
        "/usr/share",
        "/usr/bin",
        "/usr/libexec",
        "/usr/include",
    ] {
        let Ok(entries) = std::fs::read_dir(src) else {
            continue;
        };
        let mut entries: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
        entries.sort();
        for entry in entries {
            if total >= TARGET_BYTES {
                return;
            }
            let size = du(&entry);
            if size > TARGET_BYTES / 2 {
                continue;
            }
            let dest = tree.join(entry.strip_prefix("/").unwrap());
            std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
            if Command::new("cp")
                .args(["-a"])
                .arg(&entry)
                .arg(&dest)
                .status()
                .is_ok_and(|s| s.success())
            {
                total += size;
            }
        }
    }
}

fn peak_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn main() {
    let work = root().join("target/bench-package");
    let tree = std::env::var_os("BENCH_TREE").map_or_else(|| work.join("tree"), PathBuf::from);
    make_tree(&tree);
    let bytes = du(&tree);
    let out = work.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let keyfile = work.join("bench.rsa");
    if !keyfile.exists() {
        key::generate(&keyfile, 2048).unwrap();
    }
    let key = Key::load(&keyfile).unwrap();
    let meta = PackageMeta {
        name: "bench".into(),
        version: "1-r0".into(),
        origin: "bench".into(),
        ..Default::default()
    };
    let opts = Options {
        arch: "x86_64",
        epoch: 0,
        namespace: "",
        key: Some(&key),
    };

    // Warm the page cache so both sides read from memory.
    let _ = Command::new("tar")
        .arg("-C")
        .arg(&tree)
        .args(["-cf", "/dev/null", "."])
        .status();

    let before = peak_kib();
    let t = Instant::now();
    let apk = package::build(&tree, &meta, &opts).unwrap();
    apk.write_to(&out.join("bench-1-r0.apk")).unwrap();
    let ours = t.elapsed().as_secs_f64();
    let peak = peak_kib();

    let t = Instant::now();
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "tar -C '{}' -cf - . | gzip -6 > '{}'",
            tree.display(),
            out.join("floor.tar.gz").display()
        ))
        .status()
        .unwrap();
    assert!(status.success());
    let floor = t.elapsed().as_secs_f64();

    let mb = bytes as f64 / 1e6;
    println!("tree: {mb:.0} MB ({})", tree.display());
    println!(
        "floor  tar -c | gzip -6        {floor:>7.2} s  {:>6.1} MB/s",
        mb / floor
    );
    println!(
        "package signed .apk            {ours:>7.2} s  {:>6.1} MB/s  ({:.2}x the floor's throughput)",
        mb / ours,
        floor / ours
    );
    println!(
        "peak memory                    {:>7.1} MB (process, {:.1} MB before packaging)",
        peak as f64 / 1024.0,
        before as f64 / 1024.0
    );
}
