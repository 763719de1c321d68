//! `melangec build` on a real BuildKit: the daemon named by
//! `MELANGEC_TEST_BUILDKIT` (the Makefile points it at Docker Engine's), and
//! also the one `BUILDKIT_HOST` names when it is set, with the busybox root
//! filesystem `make rootfs` makes.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn daemon() -> String {
    std::env::var("MELANGEC_TEST_BUILDKIT")
        .expect("MELANGEC_TEST_BUILDKIT names the BuildKit to test against (make test sets it)")
}

/// Every daemon to test: the main one, and a standalone buildkitd if
/// `BUILDKIT_HOST` names one.
fn daemons() -> Vec<String> {
    let mut all = vec![daemon()];
    if let Ok(host) = std::env::var("BUILDKIT_HOST") {
        if !host.is_empty() && !all.contains(&host) {
            all.push(host);
        }
    }
    all
}

/// Builds run one at a time: BuildKit shares work between builds running
/// at once, which would blur what each test observes about caching.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn rootfs() -> PathBuf {
    let dir = root().join("target/rootfs");
    assert!(
        dir.join("bin/sh").exists(),
        "{} is missing: run `make rootfs`",
        dir.display()
    );
    dir
}

fn workspace(name: &str) -> PathBuf {
    let dir = root().join("target/test-builds").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn build_at(addr: &str, recipe: &str, ws: &Path, extra: &[&str]) -> Output {
    build_on(addr, &root().join("testdata").join(recipe), ws, extra)
}

fn build_on(addr: &str, recipe: &Path, ws: &Path, extra: &[&str]) -> Output {
    build_command(addr, recipe, ws)
        .args(extra)
        .output()
        .unwrap()
}

/// `melangec build` of `recipe` into `ws` and `ws/packages`, in the busybox
/// root filesystem, with plain progress.
fn build_command(addr: &str, recipe: &Path, ws: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_melangec"));
    cmd.arg("build")
        .arg(recipe)
        .arg("--environment-dir")
        .arg(rootfs())
        .arg("--workspace-dir")
        .arg(ws)
        .arg("--out-dir")
        .arg(ws.join("packages"))
        .args(["--buildkit-addr", addr, "--progress", "plain"]);
    cmd
}

/// The recipe steps of a plain progress log (vertex names starting with
/// `<package>: `), each with how it ended: CACHED, DONE or ERROR.
fn step_outcomes(log: &str, package: &str) -> Vec<(String, String)> {
    let mut names = std::collections::BTreeMap::new();
    let mut out = Vec::new();
    for line in log.lines() {
        let Some((num, rest)) = line.strip_prefix('#').and_then(|l| l.split_once(' ')) else {
            continue;
        };
        if rest.starts_with(&format!("{package}: ")) && !names.contains_key(num) {
            names.insert(num.to_owned(), rest.to_owned());
        } else if let Some(name) = names.get(num) {
            for end in ["CACHED", "DONE", "ERROR"] {
                if rest.starts_with(end) {
                    out.push((name.clone(), end.to_owned()));
                }
            }
        }
    }
    out
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "build failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn simple_builds_an_empty_package_tree() {
    let _serial = serial();
    for addr in daemons() {
        let ws = workspace(&format!("{}-simple", addr.len()));
        let out = build_at(&addr, "simple.yaml", &ws, &[]);
        ok(&out);
        let tree = ws.join("x86_64/melange-out");
        assert!(tree.join("simple").is_dir());
        assert_eq!(std::fs::read_dir(tree.join("simple")).unwrap().count(), 0);
        let log = String::from_utf8_lossy(&out.stderr);
        assert!(log.contains("simple: echo hello"), "{log}");
    }
}

#[test]
fn subpackages_get_their_own_trees() {
    let _serial = serial();
    for addr in daemons() {
        let ws = workspace(&format!("{}-subpackage", addr.len()));
        ok(&build_at(&addr, "with-subpackage.yaml", &ws, &[]));
        let tree = ws.join("x86_64/melange-out");
        let tool = tree.join("hello-tool/usr/bin/hello-tool");
        assert!(tool.is_file());
        assert_eq!(tool.metadata().unwrap().permissions().mode() & 0o777, 0o755);
        assert!(!tree.join("hello-tool/usr/share/doc").exists());
        assert_eq!(
            std::fs::read_to_string(tree.join("hello-tool-doc/usr/share/doc/hello-tool/README"))
                .unwrap(),
            "read me\n"
        );
    }
}

#[test]
fn templating_reaches_the_steps() {
    let _serial = serial();
    for addr in daemons() {
        let ws = workspace(&format!("{}-templating", addr.len()));
        ok(&build_at(&addr, "with-templating.yaml", &ws, &[]));
        let tree = ws.join("x86_64/melange-out");
        assert!(std::fs::read_dir(&tree).unwrap().count() >= 1);
        let mut files = Vec::new();
        walk(&tree, &mut files);
        assert!(!files.is_empty(), "with-templating wrote nothing");
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() && !p.is_symlink() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
fn every_kind_of_file_round_trips() {
    let _serial = serial();
    for addr in daemons() {
        let ws = workspace(&format!("{}-file-kinds", addr.len()));
        ok(&build_at(&addr, "file-kinds.yaml", &ws, &[]));
        let pkg = ws.join("x86_64/melange-out/file-kinds");
        let mode = |p: &str| pkg.join(p).symlink_metadata().unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode("usr/bin/kinds"), 0o755);
        assert_eq!(mode("etc/file-kinds.conf"), 0o640);
        assert_eq!(
            std::fs::read_link(pkg.join("usr/bin/kinds-link")).unwrap(),
            Path::new("kinds")
        );
        assert_eq!(
            std::fs::read_link(pkg.join("usr/bin/dangling")).unwrap(),
            Path::new("../../share/missing")
        );
        let empty = pkg.join("usr/share/file-kinds/empty");
        assert!(empty.is_dir());
        assert_eq!(std::fs::read_dir(&empty).unwrap().count(), 0);
        let first = pkg.join("usr/share/file-kinds/first").metadata().unwrap();
        let second = pkg.join("usr/share/file-kinds/second").metadata().unwrap();
        assert_eq!(first.ino(), second.ino(), "the hard link is kept");
        assert_eq!(first.nlink(), 2);
        assert_eq!(
            std::fs::read(pkg.join("usr/share/file-kinds/beside.yaml")).unwrap(),
            std::fs::read(root().join("testdata/simple.yaml")).unwrap(),
            "the source directory reaches /home/build"
        );
    }
}

#[test]
fn a_failing_step_names_itself_and_writes_nothing() {
    let _serial = serial();
    for addr in daemons() {
        let ws = workspace(&format!("{}-failing", addr.len()));
        ok(&build_at(&addr, "simple.yaml", &ws, &[]));
        let before = ws.join("x86_64/melange-out");
        assert!(before.is_dir());
        let out = build_at(&addr, "failing-step.yaml", &ws, &[]);
        assert!(!out.status.success());
        let log = String::from_utf8_lossy(&out.stderr);
        assert!(log.contains("this step fails"), "{log}");
        assert!(
            log.contains("failing-step.yaml:"),
            "the YAML line is named: {log}"
        );
        assert!(
            log.contains("exit code 3") || log.contains("exit code: 3"),
            "{log}"
        );
        assert!(
            log.contains("about to fail"),
            "the last log lines are shown: {log}"
        );
        // The previous export is untouched and no partial one is left.
        assert!(before.join("simple").is_dir());
        let leftovers: Vec<_> = std::fs::read_dir(ws.join("x86_64"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n.to_string_lossy().starts_with(".melange-out"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}

#[test]
fn an_unreachable_daemon_is_one_sentence() {
    let _serial = serial();
    let started = std::time::Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_melangec"))
        .arg("build")
        .arg(root().join("testdata/simple.yaml"))
        .arg("--environment-dir")
        .arg(rootfs())
        .args(["--buildkit-addr", "unix:///nonexistent/buildkitd.sock"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    // Fails at once rather than retrying; the bound is loose so that a
    // loaded machine does not fail it.
    assert!(
        started.elapsed().as_secs_f64() < 10.0,
        "took {:?}",
        started.elapsed()
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("unix:///nonexistent/buildkitd.sock"), "{err}");
}

#[test]
fn ctrl_c_cancels_and_leaves_nothing() {
    signal_during_step("ctrl-c", libc::SIGINT, 130);
}

#[test]
fn sigterm_cancels_and_leaves_nothing() {
    signal_during_step("sigterm", libc::SIGTERM, 143);
}

/// Sends `signal` once, while a step sleeps, and expects the build to stop
/// at once with `code`, cancelled on the daemon, with nothing exported.
fn signal_during_step(name: &str, signal: i32, code: i32) {
    let _serial = serial();
    let dir = root().join(format!("target/test-builds/{name}-source"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("slow.yaml"), slow_recipe()).unwrap();
    let ws = workspace(name);
    let mut child = build_command(&daemon(), &dir.join("slow.yaml"), &ws)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    let started = std::time::Instant::now();
    // Wait until the step is running, then signal once, as a terminal or a
    // CI runner would.
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        use std::io::Read;
        let mut all = Vec::new();
        let mut buf = [0u8; 256];
        let mut signalled = None;
        loop {
            match stderr.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    all.extend_from_slice(&buf[..n]);
                    if signalled.is_none()
                        && String::from_utf8_lossy(&all).contains(" sleeping-now")
                    {
                        // SAFETY: signalling our own child by its pid.
                        unsafe { libc::kill(pid, signal) };
                        signalled = Some(std::time::Instant::now());
                    }
                }
            }
        }
        (String::from_utf8_lossy(&all).into_owned(), signalled)
    });
    let status = child.wait().unwrap();
    let exited = std::time::Instant::now();
    let (log, signalled) = reader.join().unwrap();
    let signalled = signalled.unwrap_or_else(|| panic!("the step never started:\n{log}"));
    assert_eq!(status.code(), Some(code), "{log}");
    // The step sleeps 120 s; the time before it starts (environment upload on
    // a cold daemon) is not part of cancelling.
    let took = exited.duration_since(signalled);
    assert!(
        took.as_secs() < 30,
        "the build took {took:?} to stop (signalled {:?} after start):\n{log}",
        signalled.duration_since(started)
    );
    assert!(log.contains("cancelled"), "{log}");
    let left: Vec<_> = std::fs::read_dir(ws.join("x86_64"))
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
}

/// SIGKILL leaves a partial export (nothing can clean up after it); the next
/// build into the workspace removes it, and a stale temporary file of an
/// interrupted write in the package directory, but never a live build's.
#[test]
fn a_killed_builds_leftovers_are_removed_by_the_next_build() {
    let _serial = serial();
    let ws = workspace("killed");
    let recipe = ws.join("slow.yaml");
    std::fs::write(&recipe, slow_recipe()).unwrap();
    let mut child = build_command(&daemon(), &recipe, &ws)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut log = String::new();
    loop {
        let mut line = String::new();
        let n = std::io::BufRead::read_line(&mut stderr, &mut line).unwrap();
        assert!(n > 0, "the step never started:\n{log}");
        log.push_str(&line);
        if line.contains(" sleeping-now") {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let partials = |ws: &Path| -> Vec<String> {
        std::fs::read_dir(ws.join("x86_64"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".melange-out.partial-"))
            .collect()
    };
    assert_eq!(partials(&ws).len(), 1, "SIGKILL leaves its partial export");
    let stale = ws.join("packages/x86_64/.hello-tool-2.1.0-r3.apk.tmp-4000000");
    std::fs::create_dir_all(stale.parent().unwrap()).unwrap();
    std::fs::write(&stale, b"half a package").unwrap();

    ok(&build_at(&daemon(), "with-subpackage.yaml", &ws, &[]));
    assert_eq!(partials(&ws), Vec::<String>::new());
    assert!(!stale.exists(), "the stale temporary file is removed");
    assert!(ws.join("packages/x86_64/hello-tool-2.1.0-r3.apk").is_file());
}

/// A recipe new to the daemon whose one step prints `sleeping-now`, then
/// sleeps two minutes: a build to signal or kill mid-step.
fn slow_recipe() -> String {
    "package: {name: slow, version: 1.0.0, epoch: 0, description: slow, copyright: [{license: MIT}]}\n\
     environment: {contents: {packages: [busybox]}}\n\
     pipeline:\n  - name: wait\n    runs: |\n      echo NONCE >/dev/null\n      echo sleeping-now\n      sleep 120\n      mkdir -p ${{targets.destdir}}/never\n"
        .replace("NONCE", &nonce().to_string())
}

/// Makes a recipe new to the daemon's cache.
fn nonce() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

#[test]
fn an_unchanged_rebuild_is_all_cached_and_an_edit_reruns_only_itself() {
    let _serial = serial();
    for addr in daemons() {
        let dir = root().join("target/test-builds/cache-recipe");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::write(dir.join("src/input.txt"), "input\n").unwrap();
        // A fresh first step, so that the daemon's cache from earlier runs
        // does not answer for this one.
        let nonce = nonce();
        let recipe = |last: &str| {
            format!(
                "package: {{name: cachetest, version: 1.0.0, epoch: 0, description: cache, copyright: [{{license: MIT}}]}}\n\
                 environment: {{contents: {{packages: [busybox]}}}}\n\
                 pipeline:\n\
                 \x20 - name: first\n    runs: echo {nonce} >/dev/null; cp input.txt first.txt\n\
                 \x20 - name: second\n    runs: cat first.txt first.txt > second.txt\n\
                 \x20 - name: last\n    runs: |\n      mkdir -p ${{{{targets.destdir}}}}\n      {last} > ${{{{targets.destdir}}}}/out\n"
            )
        };
        let path = dir.join("cachetest.yaml");
        let ws = workspace(&format!("cache-{}", addr.len()));
        let src = dir.join("src");
        let extra = ["--source-dir", src.to_str().unwrap()];
        std::fs::write(&path, recipe("cat second.txt")).unwrap();
        ok(&build_on(&addr, &path, &ws, &extra));

        let again = build_on(&addr, &path, &ws, &extra);
        ok(&again);
        let log = String::from_utf8_lossy(&again.stderr);
        let steps = step_outcomes(&log, "cachetest");
        assert!(steps.len() >= 4, "{addr}: {log}");
        assert!(
            steps.iter().all(|(_, end)| end == "CACHED"),
            "{addr}: {steps:?}\n{log}"
        );

        std::fs::write(&path, recipe("cat second.txt second.txt")).unwrap();
        let edited = build_on(&addr, &path, &ws, &extra);
        ok(&edited);
        let log = String::from_utf8_lossy(&edited.stderr);
        let steps = step_outcomes(&log, "cachetest");
        let ran: Vec<&str> = steps
            .iter()
            .filter(|(_, end)| end != "CACHED")
            .map(|(name, _)| name.as_str())
            .collect();
        assert_eq!(ran, ["cachetest: last"], "{addr}: {log}");
        assert_eq!(
            std::fs::read_to_string(ws.join("x86_64/melange-out/cachetest/out")).unwrap(),
            "input\ninput\ninput\ninput\n"
        );
    }
}

/// The layout melange users have: `melangec build foo.yaml` in the recipe's
/// own directory, which is then the source directory and gets the default
/// workspace/ and packages/. The recipe, its lock and those outputs are not
/// sources: an unchanged rebuild runs nothing, an edit of the last step
/// runs that step alone, and an edit of a file a step reads runs it again.
#[test]
fn in_the_recipes_own_directory_only_real_sources_invalidate_steps() {
    let _serial = serial();
    for addr in daemons() {
        let dir = workspace(&format!("default-layout-{}", addr.len()));
        std::fs::write(dir.join("input.txt"), "input\n").unwrap();
        let nonce = nonce();
        let recipe = |last: &str| {
            format!(
                "package: {{name: layout, version: 1.0.0, epoch: 0, description: layout, copyright: [{{license: MIT}}]}}\n\
                 environment: {{contents: {{packages: [busybox]}}}}\n\
                 pipeline:\n\
                 \x20 - name: first\n    runs: echo {nonce} >/dev/null; cp input.txt first.txt\n\
                 \x20 - name: second\n    runs: cat first.txt first.txt > second.txt\n\
                 \x20 - name: last\n    runs: |\n      mkdir -p ${{{{targets.destdir}}}}\n      {last} > ${{{{targets.destdir}}}}/out\n"
            )
        };
        let build = || {
            let out = Command::new(env!("CARGO_BIN_EXE_melangec"))
                .current_dir(&dir)
                .args(["build", "layout.yaml", "--environment-dir"])
                .arg(rootfs())
                .args(["--buildkit-addr", &addr, "--progress", "plain"])
                .output()
                .unwrap();
            ok(&out);
            let log = String::from_utf8_lossy(&out.stderr).into_owned();
            (step_outcomes(&log, "layout"), log)
        };
        let ran = |steps: &[(String, String)]| -> Vec<String> {
            steps
                .iter()
                .filter(|(_, end)| end != "CACHED")
                .map(|(name, _)| name.trim_start_matches("layout: ").to_owned())
                .collect()
        };
        std::fs::write(dir.join("layout.yaml"), recipe("cat second.txt")).unwrap();
        build();
        assert!(dir
            .join("workspace/x86_64/melange-out/layout/out")
            .is_file());
        assert!(dir.join("packages/x86_64").is_dir());

        let (again, log) = build();
        assert!(again.len() >= 4, "{addr}: {log}");
        assert_eq!(ran(&again), Vec::<String>::new(), "{addr}: {log}");

        std::fs::write(dir.join("layout.yaml"), recipe("cat second.txt second.txt")).unwrap();
        let (edited, log) = build();
        assert_eq!(ran(&edited).len(), 1, "{addr}: {log}");
        assert!(ran(&edited)[0].starts_with("last"), "{addr}: {log}");

        // New to the daemon too: the same content from an earlier run
        // would come from the cache, wherever it was read.
        let changed = format!("changed {nonce}\n");
        std::fs::write(dir.join("input.txt"), &changed).unwrap();
        let (input, log) = build();
        let ran_now = ran(&input);
        assert!(
            ran_now.iter().any(|n| n.contains("populate")),
            "{addr}: {log}"
        );
        assert!(
            ran_now.iter().any(|n| n.starts_with("first")),
            "{addr}: {log}"
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("workspace/x86_64/melange-out/layout/out")).unwrap(),
            changed.repeat(4)
        );
    }
}

#[test]
fn subpackages_become_signed_reproducible_apks_and_an_index() {
    let _serial = serial();
    let keys = workspace("apk-keys");
    let key = keys.join("test.rsa");
    let out = Command::new(env!("CARGO_BIN_EXE_melangec"))
        .args(["keygen", "--key-size", "2048"])
        .arg(&key)
        .output()
        .unwrap();
    ok(&out);
    let mut first: Option<Vec<Vec<u8>>> = None;
    for round in 0..2 {
        let ws = workspace(&format!("apk-{round}"));
        let packages = ws.join("packages");
        let out = build_at(
            &daemon(),
            "with-subpackage.yaml",
            &ws,
            &["--signing-key", key.to_str().unwrap()],
        );
        ok(&out);
        let dir = packages.join("x86_64");
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "APKINDEX.tar.gz",
                "hello-tool-2.1.0-r3.apk",
                "hello-tool-doc-2.1.0-r3.apk"
            ]
        );
        for n in &names {
            let listing = Command::new("tar")
                .arg("-tzf")
                .arg(dir.join(n))
                .output()
                .unwrap();
            assert!(listing.status.success());
            let first_entry = String::from_utf8_lossy(&listing.stdout)
                .lines()
                .next()
                .unwrap_or("")
                .to_owned();
            assert_eq!(first_entry, ".SIGN.RSA256.test.rsa.pub", "{n} is signed");
        }
        let index = std::fs::read(dir.join("APKINDEX.tar.gz")).unwrap();
        let records = melangec::apk::read::index(&index).unwrap();
        let mut indexed: Vec<&str> = records.iter().map(|r| r.name.as_str()).collect();
        indexed.sort();
        assert_eq!(indexed, ["hello-tool", "hello-tool-doc"]);
        let doc = melangec::apk::read::package(
            &std::fs::read(dir.join("hello-tool-doc-2.1.0-r3.apk")).unwrap(),
        )
        .unwrap();
        assert_eq!(doc.origin, "hello-tool");
        let bytes: Vec<Vec<u8>> = names
            .iter()
            .map(|n| std::fs::read(dir.join(n)).unwrap())
            .collect();
        match &first {
            None => first = Some(bytes),
            Some(prev) => assert_eq!(
                prev, &bytes,
                "two builds give byte-identical packages and index"
            ),
        }
    }
}

#[test]
fn the_environment_comes_from_an_apk_repository() {
    let _serial = serial();
    let repo = root().join("target/test-repo");
    assert!(
        repo.join("x86_64/APKINDEX.tar.gz").exists(),
        "run `make test-repo`"
    );
    let ws = workspace("from-repo");
    let out = Command::new(env!("CARGO_BIN_EXE_melangec"))
        .arg("build")
        .arg(root().join("testdata/with-subpackage.yaml"))
        .arg("--repository-append")
        .arg(&repo)
        .arg("--keyring-append")
        .arg(repo.join("wolfi-signing.rsa.pub"))
        .arg("--workspace-dir")
        .arg(&ws)
        .arg("--out-dir")
        .arg(ws.join("packages"))
        .args(["--buildkit-addr", &daemon(), "--progress", "plain"])
        .env("MELANGEC_CACHE", ws.join("cache"))
        .output()
        .unwrap();
    ok(&out);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("environment: "), "{log}");
    let env_root = std::fs::read_dir(ws.join("cache/environments"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.join("lib/apk/db/installed").exists())
        .expect("an assembled environment");
    let installed = std::fs::read_to_string(env_root.join("lib/apk/db/installed")).unwrap();
    // busybox and what it depends on, base-files' /bin link among them.
    for p in ["P:busybox", "P:base-files", "P:coreutils", "P:libc6"] {
        assert!(installed.lines().any(|l| l == p), "{p}: {installed}");
    }
    // /bin/sh, resolved inside the environment (not through the host's
    // /usr): base-files links /bin to usr/bin, busybox links sh to itself.
    assert_eq!(
        std::fs::read_link(env_root.join("bin")).unwrap(),
        Path::new("usr/bin")
    );
    let sh = std::fs::read_link(env_root.join("usr/bin/sh")).unwrap();
    let sh = sh.strip_prefix("/").unwrap_or(&sh);
    assert!(env_root.join(sh).is_file(), "{}", sh.display());
    assert!(ws
        .join("x86_64/melange-out/hello-tool/usr/bin/hello-tool")
        .is_file());
}

/// Builds writing one workspace and one package directory at once take
/// turns where they write: each package holds its own files only, the
/// export left is one build's whole tree, and the index lists them all.
#[test]
fn concurrent_builds_into_one_workspace_take_turns() {
    let _serial = serial();
    let ws = workspace("concurrent");
    let nonce = nonce();
    let recipe = |name: &str| {
        let path = ws.join(format!("{name}.yaml"));
        std::fs::write(
            &path,
            format!(
                "package: {{name: {name}, version: 1.0.0, epoch: 0, description: {name}, copyright: [{{license: MIT}}]}}\n\
                 environment: {{contents: {{packages: [busybox]}}}}\n\
                 pipeline:\n\
                 \x20 - runs: |\n      echo {nonce} >/dev/null\n      mkdir -p ${{{{targets.destdir}}}}/files\n      \
                 for i in $(seq 1 3000); do echo {name} > ${{{{targets.destdir}}}}/files/$i; done\n"
            ),
        )
        .unwrap();
        path
    };
    let (a, b) = (recipe("alpha"), recipe("beta"));
    let spawn = |recipe: &Path| {
        build_command(&daemon(), recipe, &ws)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    // Two recipes, then one recipe twice.
    for pair in [[&a, &b], [&a, &a]] {
        let children: Vec<_> = pair.iter().map(|r| spawn(r)).collect();
        for child in children {
            ok(&child.wait_with_output().unwrap());
        }
    }

    let dir = ws.join("packages/x86_64");
    let index = std::fs::read(dir.join("APKINDEX.tar.gz")).unwrap();
    let mut indexed: Vec<String> = melangec::apk::read::index(&index)
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    indexed.sort();
    assert_eq!(indexed, ["alpha", "beta"]);
    for name in ["alpha", "beta"] {
        let apk = dir.join(format!("{name}-1.0.0-r0.apk"));
        let listing = Command::new("tar").arg("-tzf").arg(&apk).output().unwrap();
        assert!(listing.status.success());
        let files = String::from_utf8_lossy(&listing.stdout)
            .lines()
            .filter(|l| l.starts_with("files/") && l.len() > "files/".len())
            .count();
        assert_eq!(files, 3000, "{name}");
        let contents = Command::new("tar")
            .arg("-xzOf")
            .arg(&apk)
            .arg("--wildcards")
            .arg("files/*")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&contents.stdout);
        assert!(
            text.lines().all(|l| l == name),
            "{name} holds another build's files"
        );
    }
    let out_tree = ws.join("x86_64/melange-out/alpha/files");
    assert_eq!(std::fs::read_dir(&out_tree).unwrap().count(), 3000);
    let left: Vec<_> = std::fs::read_dir(ws.join("x86_64"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["melange-out"], "nothing partial is left");
}

/// A tree of many small files is thousands of small messages on one
/// connection: all of it arrives, and its package holds every file.
#[test]
fn thirty_thousand_small_files_are_exported_whole() {
    let _serial = serial();
    let ws = workspace("many-files");
    let recipe = ws.join("many.yaml");
    std::fs::write(
        &recipe,
        format!(
            "package: {{name: many, version: 1.0.0, epoch: 0, description: many, copyright: [{{license: MIT}}]}}\n\
             environment: {{contents: {{packages: [busybox]}}}}\n\
             pipeline:\n\
             \x20 - runs: |\n      echo {} >/dev/null\n      mkdir -p ${{{{targets.destdir}}}}/f\n      \
             cd ${{{{targets.destdir}}}}/f && for i in $(seq 1 30000); do echo $i > $i; done\n",
            nonce()
        ),
    )
    .unwrap();
    let out = build_on(&daemon(), &recipe, &ws, &[]);
    ok(&out);
    let tree = ws.join("x86_64/melange-out/many/f");
    assert_eq!(std::fs::read_dir(&tree).unwrap().count(), 30000);
    assert_eq!(
        std::fs::read_to_string(tree.join("29999")).unwrap(),
        "29999\n"
    );
    let apk = ws.join("packages/x86_64/many-1.0.0-r0.apk");
    let listing = Command::new("tar").arg("-tzf").arg(&apk).output().unwrap();
    let files = String::from_utf8_lossy(&listing.stdout)
        .lines()
        .filter(|l| l.starts_with("f/") && l.len() > 2)
        .count();
    assert_eq!(files, 30000);
}
