//! `make bench`: build environments from the test repository (`make
//! test-repo`) served on loopback, for the packages dns-root-hints asks for
//! (about 110 with their dependencies) and for a smaller set.
//!
//! - lock: resolve and record sha256s, with an empty package cache (cold,
//!   which downloads every package) and a full one (warm);
//! - assemble: the client-side root filesystem, cold (download and unpack)
//!   against its floor (`curl` of every package from the same server, then
//!   `tar -xzf` of each), and warm (found by its hash);
//! - datahash: the sha256 over every data member that unpacking checks
//!   first, as a share of the cold unpack;
//! - pin: what a locked build adds before solving, cold (package cache full,
//!   database not yet kept) and warm.

#[path = "../tests/common/serve.rs"]
mod serve;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use melangec::environment::database::Setup;
use melangec::environment::lock::{self, Request};
use melangec::environment::{pinned, rootfs, Network};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn secs(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

fn best<F: FnMut() -> Duration>(n: usize, mut f: F) -> Duration {
    (0..n).map(|_| f()).min().unwrap()
}

fn main() {
    let repo = root().join("target/test-repo");
    if !repo.join("x86_64/APKINDEX.tar.gz").exists() {
        eprintln!("environment bench: run `make test-repo` first");
        return;
    }
    let url = serve::serve(repo.clone());
    let keys = vec![repo.join("wolfi-signing.rsa.pub")];
    let work = root().join("target/bench-environment");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    for (label, packages) in [
        ("gpgv + busybox", vec!["busybox", "gpgv"]),
        (
            "dns-root-hints",
            vec![
                "build-base",
                "busybox",
                "ca-certificates-bundle",
                "curl",
                "gpg",
                "gpgv",
            ],
        ),
    ] {
        let packages: Vec<String> = packages.into_iter().map(str::to_owned).collect();
        let repositories = vec![url.clone()];
        let request = Request {
            arch: "x86_64",
            repositories: &repositories,
            keyring: &keys,
            packages: &packages,
        };
        let cache = work.join(label.replace(' ', "-"));
        let setup = Setup {
            requested: &packages,
            repositories: &repositories,
            keys: &keys,
            passwd: &[],
            group: &[],
        };
        let _ = std::fs::remove_dir_all(&cache);

        let started = Instant::now();
        let locked = rt.block_on(lock::lock(&request, &cache)).unwrap().packages;
        let lock_cold = started.elapsed();
        let lock_warm = best(5, || {
            let t = Instant::now();
            rt.block_on(lock::lock(&request, &cache)).unwrap();
            t.elapsed()
        });

        let started = Instant::now();
        let dir = rt
            .block_on(rootfs::assemble(&cache, &locked, &setup))
            .unwrap();
        let assemble_cold = started.elapsed();
        let assemble_warm = best(5, || {
            let t = Instant::now();
            rt.block_on(rootfs::assemble(&cache, &locked, &setup))
                .unwrap();
            t.elapsed()
        });
        let size = Command::new("du").arg("-sm").arg(&dir).output().unwrap();
        let size = String::from_utf8_lossy(&size.stdout)
            .split_whitespace()
            .next()
            .unwrap_or("?")
            .to_owned();

        // The floor: download every file and let tar unpack it.
        let floor_dir = work.join("floor");
        let _ = std::fs::remove_dir_all(&floor_dir);
        std::fs::create_dir_all(floor_dir.join("root")).unwrap();
        let started = Instant::now();
        for p in &locked {
            let file = format!("{}-{}.apk", p.name, p.version);
            let got = Command::new("curl")
                .args(["-sf", "-o"])
                .arg(floor_dir.join(&file))
                .arg(format!("{url}/x86_64/{file}"))
                .status()
                .unwrap();
            assert!(got.success());
            Command::new("tar")
                .arg("-xzf")
                .arg(floor_dir.join(&file))
                .arg("-C")
                .arg(floor_dir.join("root"))
                .stderr(std::process::Stdio::null())
                .status()
                .unwrap();
        }
        let floor = started.elapsed();

        // What checking each package's data against its datahash costs:
        // sha256 over every data member, as unpacking does before writing.
        let kept: Vec<Vec<u8>> = std::fs::read_dir(cache.join("apk/x86_64"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "apk"))
            .map(|p| std::fs::read(p).unwrap())
            .collect();
        let datahash = best(5, || {
            let t = Instant::now();
            for bytes in &kept {
                let parts = melangec::apk::read::parts(bytes).unwrap();
                std::hint::black_box(melangec::apk::read::verified_data(&parts).unwrap());
            }
            t.elapsed()
        });

        let pin = || {
            rt.block_on(pinned::pin(&cache, &locked, &setup, Network::Allowed))
                .unwrap()
        };
        let started = Instant::now();
        pin();
        let pin_cold = started.elapsed();
        let pin_warm = best(5, || {
            let t = Instant::now();
            pin();
            t.elapsed()
        });

        println!("environment {label}: {} packages, {size} MB", locked.len());
        println!(
            "  lock      cold {} (downloads every package), warm {}",
            secs(lock_cold),
            secs(lock_warm)
        );
        // Cold lock downloads the packages; assembling then unpacks them.
        let cold = lock_cold + assemble_cold;
        println!(
            "  assemble  cold {} (lock {} + unpack {}), floor (curl + tar -xzf) {}, ratio {:.2}x; warm {}",
            secs(cold),
            secs(lock_cold),
            secs(assemble_cold),
            secs(floor),
            cold.as_secs_f64() / floor.as_secs_f64(),
            secs(assemble_warm)
        );
        println!(
            "  datahash  {} for {} packages, {:.1}% of the cold unpack",
            secs(datahash),
            kept.len(),
            100.0 * datahash.as_secs_f64() / assemble_cold.as_secs_f64()
        );
        println!(
            "  pin       cold {}, warm {}",
            secs(pin_cold),
            secs(pin_warm)
        );
        let _ = std::fs::remove_dir_all(&floor_dir);
    }
}
