//! The `melangec` binary: compile and render through the real CLI.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn melangec() -> Command {
    Command::new(env!("CARGO_BIN_EXE_melangec"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("melangec-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn two_processes_write_identical_bytes() {
    let dir = scratch("twice");
    let recipe = root().join("testdata/nested-pipelines.yaml");
    for out in ["a.llb", "b.llb"] {
        let status = melangec()
            .args(["compile"])
            .arg(&recipe)
            .args(["--pipeline-dir"])
            .arg(root().join("testdata/pipelines"))
            .arg("-o")
            .arg(dir.join(out))
            .status()
            .unwrap();
        assert!(status.success());
    }
    let a = std::fs::read(dir.join("a.llb")).unwrap();
    assert!(!a.is_empty());
    assert_eq!(a, std::fs::read(dir.join("b.llb")).unwrap());

    let render = melangec()
        .arg("render")
        .arg(dir.join("a.llb"))
        .output()
        .unwrap();
    assert!(render.status.success());
    let text = String::from_utf8(render.stdout).unwrap();
    assert!(text.contains("\"nested: greet/person › say it\""), "{text}");
}

#[test]
fn a_bad_recipe_fails_quoting_the_line_and_writes_nothing() {
    let dir = scratch("bad");
    let out = dir.join("out.llb");
    let result = melangec()
        .arg("compile")
        .arg(root().join("testdata/errors/unknown-variable.yaml"))
        .arg("-o")
        .arg(&out)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(!result.status.success());
    let err = String::from_utf8_lossy(&result.stderr);
    assert!(
        err.contains("variable vars.not-declared not defined"),
        "{err}"
    );
    assert!(
        err.contains("echo ${{vars.not-declared}}"),
        "the YAML line is quoted: {err}"
    );
    assert!(!out.exists());
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        0,
        "no temporary file is left behind"
    );
}

#[test]
fn a_failed_compile_leaves_the_previous_output() {
    let dir = scratch("keep");
    let out = dir.join("out.llb");
    std::fs::write(&out, b"previous").unwrap();
    let status = melangec()
        .arg("compile")
        .arg(root().join("testdata/errors/bad-yaml.yaml"))
        .arg("-o")
        .arg(&out)
        .status()
        .unwrap();
    assert!(!status.success());
    assert_eq!(std::fs::read(&out).unwrap(), b"previous");
}

#[test]
fn source_date_epoch_reaches_the_steps() {
    let out = melangec()
        .arg("compile")
        .arg(root().join("testdata/simple.yaml"))
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .output()
        .unwrap();
    assert!(out.status.success());
    let rendered = melangec()
        .args(["render", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(&out.stdout)?;
            c.wait_with_output()
        })
        .unwrap();
    assert!(String::from_utf8_lossy(&rendered.stdout).contains("SOURCE_DATE_EPOCH=1700000000"));
}

#[test]
fn pipelines_lists_builtins_and_directories() {
    let out = melangec()
        .args(["pipelines", "--pipeline-dir"])
        .arg(root().join("testdata/pipelines"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let names: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    for name in [
        "fetch",
        "git-checkout",
        "split/dev",
        "go/build/v2",
        "greet/person",
    ] {
        assert!(names.contains(&name), "{name} missing from:\n{text}");
    }
    assert!(text
        .lines()
        .any(|l| l.starts_with("greet/person") && l.contains("pipelines")));

    let out = melangec()
        .args(["pipelines", "show", "autoconf/make-install"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("needs: make"), "{text}");
    assert!(text.contains("targets (default \"install\")"), "{text}");

    let out = melangec()
        .args(["pipelines", "show", "no/such"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no pipeline named \"no/such\""));
}

#[test]
fn caps_decide_native_sources() {
    let recipe = root().join("testdata/builtins/fetch.yaml");
    let render = |caps: Option<&str>| {
        let mut cmd = melangec();
        cmd.arg("compile").arg(&recipe);
        if let Some(caps) = caps {
            cmd.args(["--caps", caps]);
        }
        let compiled = cmd.output().unwrap();
        assert!(compiled.status.success());
        let dir = scratch(&format!("caps-{}", caps.unwrap_or("default").len()));
        std::fs::write(dir.join("x.llb"), &compiled.stdout).unwrap();
        let out = melangec()
            .arg("render")
            .arg(dir.join("x.llb"))
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let native = render(None);
    assert!(native.contains("source https://example.org/releases/fetch-1.0.0.tar.xz"));
    assert!(native.contains("http.checksum = sha256:4d8a1a5e"));
    let without = render(Some("source.local,source.http"));
    assert!(!without.contains("source https://"), "{without}");
}

/// What Wolfi's Makefile runs before every build and test: the recipe's
/// `NAME-VERSION-rEPOCH`, no newline, as melange prints it; `query` for
/// the other fields; a template error quotes the template.
#[test]
fn package_version_and_query_print_as_melange() {
    let recipe = root().join("testdata/with-subpackage.yaml");
    let run = |args: &[&str]| melangec().args(args).arg(&recipe).output().unwrap();
    let out = run(&["package-version"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.ends_with('\n'), "{text:?}");
    let (name, version, epoch) = {
        let out = melangec()
            .arg("query")
            .arg(&recipe)
            .arg("{{ .Package.Name }} {{ .Package.Version }} {{ .Package.Epoch }}")
            .output()
            .unwrap();
        assert!(out.status.success());
        let s = String::from_utf8(out.stdout).unwrap();
        let v: Vec<String> = s.split(' ').map(str::to_owned).collect();
        (v[0].clone(), v[1].clone(), v[2].clone())
    };
    assert_eq!(text, format!("{name}-{version}-r{epoch}"));
    let out = melangec()
        .arg("query")
        .arg(&recipe)
        .arg("{{ range .Subpackages }}{{ .Name }},{{ end }}")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8(out.stdout).unwrap().ends_with(','));
    let out = melangec()
        .arg("query")
        .arg(&recipe)
        .arg("{{ .Package.Versoin }}")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("can't evaluate field Versoin in type config.Package"),
        "{err}"
    );
    assert!(err.contains("{{ .Package.Versoin }}"), "{err}");
}

/// The bare `--cleanup` Wolfi's Makefile passes parses, as melange's does:
/// what fails here is the missing recipe, not the flag.
#[test]
fn a_bare_cleanup_flag_is_accepted() {
    let out = melangec()
        .args(["build", "no-such-recipe.yaml", "--cleanup"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot read recipe no-such-recipe.yaml"),
        "{err}"
    );
}

/// `index` lists only whole packages and `sign` signs only a whole package
/// or an index: a truncated `.apk` or a stray gzip is refused by name, and
/// nothing is written.
#[test]
fn index_and_sign_refuse_what_is_not_a_whole_package() {
    let dir = scratch("whole");
    std::fs::create_dir_all(dir.join("tree/usr/share")).unwrap();
    std::fs::write(dir.join("tree/usr/share/blob"), vec![3u8; 200_000]).unwrap();
    let out = melangec()
        .arg("package")
        .arg(dir.join("tree"))
        .args(["--name", "blob", "--version", "1-r0", "--out-dir"])
        .arg(dir.join("out"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let apk = dir.join("out/x86_64/blob-1-r0.apk");
    let bytes = std::fs::read(&apk).unwrap();
    let cut = dir.join("cut.apk");
    std::fs::write(&cut, &bytes[..bytes.len() - 10]).unwrap();

    let index = dir.join("APKINDEX.tar.gz");
    let out = melangec()
        .arg("index")
        .arg("-o")
        .arg(&index)
        .arg(&apk)
        .arg(&cut)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("cut.apk"), "{err}");
    assert!(!index.exists(), "no index is written");

    let key = dir.join("k.rsa");
    assert!(melangec()
        .args(["keygen", "--key-size", "2048"])
        .arg(&key)
        .status()
        .unwrap()
        .success());
    let stray = dir.join("notes.tar.gz");
    assert!(Command::new("tar")
        .arg("-czf")
        .arg(&stray)
        .arg("-C")
        .arg(&dir)
        .arg("tree")
        .status()
        .unwrap()
        .success());
    for (file, says) in [(&stray, "no .PKGINFO"), (&cut, "cut.apk")] {
        let before = std::fs::read(file).unwrap();
        let out = melangec()
            .arg("sign")
            .arg("--signing-key")
            .arg(&key)
            .arg(file)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{} was signed", file.display());
        assert!(err.contains(says), "{err}");
        assert_eq!(std::fs::read(file).unwrap(), before, "left as it was");
    }
}
