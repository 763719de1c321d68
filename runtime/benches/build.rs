//! `make bench` (needs a daemon: MELANGEC_BENCH_BUILDKIT, default Docker's
//! socket, and `make rootfs`): a cached rebuild of testdata/simple.yaml
//! through the melangec binary against the floor, the same definition solved
//! all cached on an open connection; and a cold build against running its
//! script with the environment's shell on the host.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use melangec::buildkit::addr::Addr;
use melangec::buildkit::daemon;
use melangec::buildkit::session::Offer;
use melangec::buildkit::solve::{self, new_id, Solve};

const RUNS: usize = 7;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn best(mut f: impl FnMut() -> Duration) -> Duration {
    (0..RUNS).map(|_| f()).min().unwrap_or_default()
}

fn melangec() -> PathBuf {
    root().join("target/release/melangec")
}

fn build(addr: &str, recipe: &Path, ws: &Path, epoch: &str) -> Duration {
    let t = Instant::now();
    let out = Command::new(melangec())
        .arg("build")
        .arg(recipe)
        .arg("--environment-dir")
        .arg(root().join("target/rootfs"))
        .arg("--workspace-dir")
        .arg(ws)
        .arg("--out-dir")
        .arg(ws.join("packages"))
        .args(["--buildkit-addr", addr, "--progress", "plain"])
        .env("SOURCE_DATE_EPOCH", epoch)
        .output()
        .expect("run melangec");
    let took = t.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

fn main() {
    let addr = std::env::var("MELANGEC_BENCH_BUILDKIT")
        .unwrap_or_else(|_| "docker:///var/run/docker.sock".into());
    assert!(
        melangec().exists() && root().join("target/rootfs/bin/sh").exists(),
        "run `make build rootfs` first"
    );
    let rt = tokio::runtime::Runtime::new().unwrap();

    // The floor: the same definition solved on an open connection, all
    // cached, with the same local sources and export, as `buildctl build`
    // would; what melangec adds is starting, compiling, connecting and
    // putting the result in place.
    let recipe = root().join("testdata/simple.yaml");
    let text = std::fs::read_to_string(&recipe).unwrap();
    let file = melangec_compiler::SourceFile::new("simple.yaml", text);
    let lib = melangec_compiler::PipelineLibrary::builtin();
    let d = rt
        .block_on(daemon::connect(&daemon::Candidates {
            addrs: vec![Addr::parse(&addr).unwrap()],
            explicit: true,
        }))
        .expect("daemon");
    let export = root().join("target/bench-build/floor-export");
    let noop = best(|| {
        rt.block_on(async {
            let session_id = new_id();
            let mut options = melangec_compiler::Options::new(melangec_compiler::Arch::X86_64);
            options.local_session = Some(session_id.clone());
            let compiled = melangec_compiler::compile(&file, &options, &lib).unwrap();
            let mut offer = Offer::default();
            offer.dirs.insert(
                "environment".into(),
                std::fs::canonicalize(root().join("target/rootfs")).unwrap(),
            );
            offer.dirs.insert(
                "source".into(),
                std::fs::canonicalize(root().join("testdata")).unwrap(),
            );
            let _ = std::fs::remove_dir_all(&export);
            offer.export_to = Some(export.clone());
            let (tx, mut rx) = tokio::sync::mpsc::channel(64);
            let drain = tokio::spawn(async move { while rx.recv().await.is_some() {} });
            let t = Instant::now();
            solve::run(
                d.channel.clone(),
                Solve {
                    session_id,
                    definition: compiled.definition,
                    offer,
                    name: "bench".into(),
                },
                tx,
                &melangec::cancel::Cancel::new(),
            )
            .await
            .expect("solve");
            let took = t.elapsed();
            let _ = drain.await;
            took
        })
    });

    let ws = root().join("target/bench-build");
    build(&addr, &recipe, &ws, "0");
    let cached = best(|| build(&addr, &recipe, &ws, "0"));

    // Cold: a new SOURCE_DATE_EPOCH changes every step's environment.
    let base = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut n = 0;
    let cold = best(|| {
        n += 1;
        build(&addr, &recipe, &ws, &(base + n).to_string())
    });
    let script = "set -e\nset -o pipefail\ncd /tmp\necho hello\nexit 0\n";
    let host = best(|| {
        let t = Instant::now();
        // The environment's own shell, as the step runs it.
        let ok = Command::new(root().join("target/rootfs/bin/busybox"))
            .args(["sh", "-c", script])
            .output()
            .unwrap()
            .status
            .success();
        assert!(ok);
        t.elapsed()
    });

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!("daemon: {addr}, best of {RUNS} runs");
    println!("floor  same .llb, cached solve      {:>8.1} ms", ms(noop));
    println!(
        "build  simple.yaml, all cached     {:>8.1} ms  ({:.2}x the floor)",
        ms(cached),
        cached.as_secs_f64() / noop.as_secs_f64()
    );
    println!("build  simple.yaml, cold           {:>8.1} ms", ms(cold));
    println!(
        "floor  its script with sh          {:>8.1} ms  (cold build overhead {:.0} ms)",
        ms(host),
        ms(cold) - ms(host)
    );
}
