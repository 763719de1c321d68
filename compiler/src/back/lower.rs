//! Lower: Build IR -> LLB graph, with melange's build semantics.
//! The environment rootfs and the `/home/build` workspace flow from each step
//! to the next (so editing step N leaves steps before it cached); the result
//! is a scratch state holding only `melange-out/`.

use std::collections::BTreeMap;

use super::llb::{Exec, FileAction, LlbGraph, Mount, State};
use crate::ir::guest::{CACHE, ENVIRONMENT_LOCAL, OUT, SOURCE_LOCAL, WORKSPACE};
use crate::ir::{Build, ExecStep, NativeSource, GIT_SOURCE_DIR};
use crate::options::PinnedEnvironment;

/// Where the environment is mounted.
pub(super) const ROOT: &str = "/";

/// Lowers a build; returns the graph and its result state.
pub fn lower(build: &Build) -> (LlbGraph, State) {
    let mut g = LlbGraph::new(build.arch);
    let timestamp = Some(build.source_date_epoch as i64 * 1_000_000_000);
    let mut rootfs = match &build.pinned_environment {
        Some(pinned) => install(&mut g, pinned, build.merge, timestamp),
        None => environment_local(
            &mut g,
            ENVIRONMENT_LOCAL,
            &build.environment.packages,
            &build.local_session,
            "build environment",
        ),
    };
    let mut workspace = populate(&mut g, build, timestamp);
    for (i, package) in build.packages.iter().enumerate() {
        if i > 0 {
            workspace = g.file(
                Some(workspace),
                vec![outdir(&package.name, timestamp)],
                &format!("{}: create {OUT}/{}", package.name, package.name),
                None,
            );
        }
        for step in &package.steps {
            let mut checkout = None;
            match &step.native {
                Some(NativeSource::Http { .. }) => {
                    workspace = download(&mut g, &package.name, step, workspace);
                }
                Some(NativeSource::Git { remote, reference }) => {
                    let (identifier, attrs) = git_source(remote, reference);
                    checkout = Some(g.source(
                        identifier,
                        attrs,
                        &format!("{}: check out {remote} at {reference}", package.name),
                        Some(step.origin),
                    ));
                }
                None => {}
            }
            let outputs = g.run(
                exec(
                    step,
                    &build.user,
                    build.debug,
                    rootfs,
                    Some(workspace),
                    checkout,
                ),
                &format!("{}: {}", package.name, step.label),
                Some(step.origin),
            );
            rootfs = outputs[ROOT];
            workspace = outputs[WORKSPACE];
        }
    }
    let result = g.file(
        None,
        vec![FileAction::Copy {
            from: workspace,
            src: format!("/{OUT}"),
            dest: format!("/{OUT}"),
            contents_only: true,
            create_dest_path: true,
        }],
        OUT,
        None,
    );
    (g, result)
}

/// Attributes of the local sources a build's session serves.
pub(super) fn local_attrs(session: &Option<String>, name: &str) -> BTreeMap<String, String> {
    let mut attrs = BTreeMap::new();
    attrs.insert("local.sharedkeyhint".to_owned(), name.to_owned());
    if let Some(id) = session {
        attrs.insert("local.session".to_owned(), id.clone());
    }
    attrs
}

/// The environment as the client serves it, copied once so that it is
/// keyed by content: a local source's cache key changes with every session,
/// and steps that run on the copy stay cached from one build to the next.
pub(super) fn environment_local(
    g: &mut LlbGraph,
    name: &str,
    packages: &[String],
    session: &Option<String>,
    title: &str,
) -> State {
    let environment = g.local(name, local_attrs(session, name), title);
    g.describe(
        environment,
        "melangec.environment.packages",
        packages.join("\n"),
    );
    g.file(
        None,
        vec![FileAction::Copy {
            from: environment,
            src: "/".into(),
            dest: "/".into(),
            contents_only: true,
            create_dest_path: true,
        }],
        &format!("copy the {title}"),
        None,
    )
}

/// The workspace: the source directory, and the main package's output
/// directory.
fn populate(g: &mut LlbGraph, build: &Build, timestamp: Option<i64>) -> State {
    let source = source_local(g, &build.source_excludes, &build.local_session);
    let main = &build.packages[0].name;
    g.file(
        None,
        vec![
            FileAction::Copy {
                from: source,
                src: "/".into(),
                dest: "/".into(),
                contents_only: true,
                create_dest_path: true,
            },
            outdir(main, timestamp),
        ],
        &format!("{main}: populate {WORKSPACE}"),
        None,
    )
}

/// The source directory as the client serves it.
pub(super) fn source_local(
    g: &mut LlbGraph,
    excludes: &[String],
    session: &Option<String>,
) -> State {
    let mut attrs = local_attrs(session, SOURCE_LOCAL);
    if !excludes.is_empty() {
        attrs.insert("local.excludepatterns".to_owned(), json_strings(excludes));
    }
    g.local(SOURCE_LOCAL, attrs, "source files")
}

/// A package's directory in the workspace's `melange-out`.
fn outdir(package: &str, timestamp: Option<i64>) -> FileAction {
    FileAction::Mkdir {
        path: format!("/{OUT}/{package}"),
        mode: 0o755,
        parents: true,
        timestamp,
    }
}

/// A step's native download: fetched and checked by the daemon, then put
/// where the step's own script would have left it.
fn download(g: &mut LlbGraph, package: &str, step: &ExecStep, workspace: State) -> State {
    let Some(NativeSource::Http {
        url,
        checksum,
        filename,
        dir,
    }) = &step.native
    else {
        return workspace;
    };
    let attrs = BTreeMap::from([
        ("http.checksum".to_owned(), checksum.clone()),
        ("http.filename".to_owned(), filename.clone()),
        // wget leaves a file readable by all; BuildKit's default is 0600.
        ("http.perm".to_owned(), "0644".to_owned()),
    ]);
    let fetched = g.source(
        url.clone(),
        attrs,
        &format!("{package}: download {filename}"),
        Some(step.origin),
    );
    let dest = if dir.is_empty() {
        format!("/{filename}")
    } else {
        format!("/{dir}/{filename}")
    };
    g.file(
        Some(workspace),
        vec![FileAction::Copy {
            from: fetched,
            src: format!("/{filename}"),
            dest,
            contents_only: false,
            create_dest_path: true,
        }],
        &format!("{package}: place {filename}"),
        Some(step.origin),
    )
}

/// The pinned environment: each package fetched by URL and checked by its
/// sha256, unpacked, and stacked in install order (merged where the daemon
/// can, else copied one over the other); then apk's files on top.
pub(super) fn install(
    g: &mut LlbGraph,
    pinned: &PinnedEnvironment,
    merge: bool,
    timestamp: Option<i64>,
) -> State {
    let mut layers = Vec::new();
    let mut chain: Option<State> = None;
    for p in &pinned.packages {
        let file = format!("{}-{}.apk", p.name, p.version);
        let mut attrs = BTreeMap::new();
        attrs.insert("http.checksum".to_owned(), format!("sha256:{}", p.sha256));
        attrs.insert("http.filename".to_owned(), file.clone());
        let apk = g.source(p.url.clone(), attrs, &format!("fetch {file}"), None);
        let unpack = FileAction::Unpack {
            from: apk,
            src: format!("/{file}"),
            dest: "/".into(),
        };
        if merge {
            layers.push(g.file(None, vec![unpack], &format!("unpack {file}"), None));
        } else {
            chain = Some(g.file(chain, vec![unpack], &format!("install {file}"), None));
        }
    }
    let base = if merge && !layers.is_empty() {
        let n = layers.len();
        Some(g.merge(layers, &format!("merge {n} packages")))
    } else {
        chain
    };
    // Each package's control segment unpacks at the root too.
    let mut actions: Vec<FileAction> = [".PKGINFO", ".SIGN.*", ".pre-*", ".post-*", ".trigger"]
        .iter()
        .map(|p| FileAction::Rm {
            path: format!("/{p}"),
        })
        .collect();
    for (path, mode) in &pinned.dirs {
        actions.push(FileAction::Mkdir {
            path: format!("/{path}"),
            mode: *mode,
            parents: true,
            timestamp,
        });
    }
    for (path, mode, data) in &pinned.files {
        actions.push(FileAction::Mkfile {
            path: format!("/{path}"),
            mode: *mode,
            data: data.clone(),
            timestamp,
        });
    }
    g.file(base, actions, "write the apk database", None)
}

/// A `git://` source as BuildKit's Go client writes it for `llb.Git(remote,
/// ref, llb.KeepGitDir())`, so that both share cache entries.
fn git_source(remote: &str, reference: &str) -> (String, BTreeMap<String, String>) {
    let bare = remote.split_once("://").map_or(remote, |(_, rest)| rest);
    let identifier = format!("git://{bare}#{reference}");
    let attrs = BTreeMap::from([
        (
            "git.authheadersecret".to_owned(),
            "GIT_AUTH_HEADER".to_owned(),
        ),
        (
            "git.authtokensecret".to_owned(),
            "GIT_AUTH_TOKEN".to_owned(),
        ),
        ("git.fullurl".to_owned(), remote.to_owned()),
        ("git.keepgitdir".to_owned(), "true".to_owned()),
    ]);
    (identifier, attrs)
}

pub(super) fn exec(
    step: &ExecStep,
    user: &str,
    debug: bool,
    rootfs: State,
    workspace: Option<State>,
    checkout: Option<State>,
) -> Exec {
    let mut mounts = vec![
        Mount::Bind {
            dest: ROOT.into(),
            input: Some(rootfs),
            readonly: false,
        },
        Mount::Bind {
            dest: WORKSPACE.into(),
            input: workspace,
            readonly: false,
        },
        Mount::Cache {
            dest: CACHE.into(),
            id: "melange-cache".into(),
        },
    ];
    if let Some(checkout) = checkout {
        mounts.push(Mount::Bind {
            dest: GIT_SOURCE_DIR.into(),
            input: Some(checkout),
            readonly: true,
        });
    }
    Exec {
        args: vec![
            "/bin/sh".into(),
            "-c".into(),
            wrap(&step.script, &step.workdir, debug),
        ],
        env: step.env.iter().map(|(k, v)| format!("{k}={v}")).collect(),
        cwd: WORKSPACE.into(),
        user: user.to_owned(),
        mounts,
    }
}

/// Wraps a fragment the way melange does: errexit and pipefail, create the
/// working directory, enter it, trace with `--debug`, run, succeed.
pub fn wrap(script: &str, workdir: &str, debug: bool) -> String {
    let dir = shell_quote(workdir);
    let mut out = format!("set -e\nset -o pipefail\n[ -d {dir} ] || mkdir -p {dir}\ncd {dir}\n");
    if debug {
        out.push_str("set -x\n");
    }
    out.push_str(script);
    if !script.ends_with('\n') && !script.is_empty() {
        out.push('\n');
    }
    out.push_str("exit 0\n");
    out
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A JSON array of strings as Go's encoder writes it (no spaces; `<`, `>`
/// and `&` escaped), since attribute bytes are part of the op digest.
pub fn json_strings(items: &[String]) -> String {
    let mut out = String::from("[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('"');
        for c in item.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '<' => out.push_str("\\u003c"),
                '>' => out.push_str("\\u003e"),
                '&' => out.push_str("\\u0026"),
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    out.push(']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::back::llb::OpKind;
    use crate::ir::PackageSteps;
    use crate::options::Arch;
    use crate::source::Span;

    fn build(steps: usize) -> Build {
        Build {
            arch: Arch::X86_64,
            package: "p".into(),
            version: "1".into(),
            epoch: 0,
            environment: crate::ir::Environment {
                arch: Arch::X86_64,
                purpose: "build".into(),
                packages: vec!["busybox".into()],
                spans: vec![],
                repositories: vec![],
                keyring: vec![],
                passwd: vec![],
                group: vec![],
            },
            user: String::new(),
            packages: vec![PackageSteps {
                name: "p".into(),
                steps: (0..steps)
                    .map(|i| ExecStep {
                        label: format!("s{i}"),
                        script: format!("echo {i}"),
                        workdir: WORKSPACE.into(),
                        env: vec![],
                        origin: Span::default(),
                        native: None,
                    })
                    .collect(),
            }],
            source_excludes: vec![],
            source_date_epoch: 0,
            local_session: None,
            pinned_environment: None,
            merge: false,
            debug: false,
            metadata: vec![],
        }
    }

    fn pinned() -> crate::options::PinnedEnvironment {
        crate::options::PinnedEnvironment {
            packages: ["base-files", "busybox"]
                .iter()
                .map(|n| crate::options::PinnedPackage {
                    name: (*n).into(),
                    version: "1-r0".into(),
                    url: format!("http://repo/x86_64/{n}-1-r0.apk"),
                    sha256: "ab".repeat(32),
                })
                .collect(),
            files: vec![("etc/apk/world".into(), 0o644, b"busybox\n".to_vec())],
            dirs: vec![("tmp".into(), 0o777)],
        }
    }

    fn kinds(g: &LlbGraph) -> Vec<String> {
        g.graph
            .node_indices()
            .map(|n| g.op(n).name.clone())
            .collect()
    }

    #[test]
    fn a_pinned_environment_is_a_copy_chain_without_mergeop() {
        let mut b = build(1);
        b.pinned_environment = Some(pinned());
        let (g, _) = lower(&b);
        let names = kinds(&g);
        assert!(!names.iter().any(|n| n == "build environment"), "{names:?}");
        for n in [
            "fetch base-files-1-r0.apk",
            "install base-files-1-r0.apk",
            "install busybox-1-r0.apk",
            "write the apk database",
        ] {
            assert!(names.iter().any(|x| x == n), "{n}: {names:?}");
        }
        // busybox is installed on top of base-files, in lock order.
        let node = g
            .graph
            .node_indices()
            .find(|n| g.op(*n).name == "install busybox-1-r0.apk")
            .unwrap();
        let OpKind::File {
            base: Some(base),
            actions,
        } = &g.op(node).kind
        else {
            panic!()
        };
        assert_eq!(g.op(base.op).name, "install base-files-1-r0.apk");
        assert!(
            matches!(&actions[0], FileAction::Unpack { src, .. } if src == "/busybox-1-r0.apk")
        );
        let OpKind::Source { attrs, identifier } = &g.op(g.op(node).reads()[1].op).kind else {
            panic!()
        };
        assert_eq!(identifier, "http://repo/x86_64/busybox-1-r0.apk");
        assert_eq!(
            attrs["http.checksum"],
            format!("sha256:{}", "ab".repeat(32))
        );
    }

    #[test]
    fn a_pinned_environment_merges_where_the_daemon_can() {
        let mut b = build(1);
        b.pinned_environment = Some(pinned());
        b.merge = true;
        let (g, _) = lower(&b);
        let merge = g
            .graph
            .node_indices()
            .find(|n| matches!(g.op(*n).kind, OpKind::Merge { .. }))
            .expect("a merge");
        let OpKind::Merge { inputs } = &g.op(merge).kind else {
            panic!()
        };
        let layers: Vec<&str> = inputs.iter().map(|s| g.op(s.op).name.as_str()).collect();
        assert_eq!(
            layers,
            ["unpack base-files-1-r0.apk", "unpack busybox-1-r0.apk"]
        );
        assert!(g.op(merge).caps().contains("mergeop"));
    }

    #[test]
    fn steps_chain_rootfs_and_workspace() {
        let (g, result) = lower(&build(2));
        // env and its copy, source, workspace, 2 steps, result
        assert_eq!(g.graph.node_count(), 7);
        let OpKind::File { actions, .. } = &g.op(result.op).kind else {
            panic!()
        };
        let FileAction::Copy { from, .. } = &actions[0] else {
            panic!()
        };
        let OpKind::Exec(last) = &g.op(from.op).kind else {
            panic!()
        };
        assert!(last.args[2].contains("echo 1"));
        assert_eq!(from.output, 1, "the /home/build mount is output 1");
    }

    #[test]
    fn wrapping_creates_and_enters_the_directory() {
        assert_eq!(wrap("make", "/home/build/it's", false), "set -e\nset -o pipefail\n[ -d '/home/build/it'\\''s' ] || mkdir -p '/home/build/it'\\''s'\ncd '/home/build/it'\\''s'\nmake\nexit 0\n");
    }

    #[test]
    fn debug_traces_the_fragment_only() {
        assert_eq!(
            wrap("make", "/home/build", true),
            "set -e\nset -o pipefail\n[ -d '/home/build' ] || mkdir -p '/home/build'\ncd '/home/build'\nset -x\nmake\nexit 0\n"
        );
    }

    #[test]
    fn json_like_go() {
        assert_eq!(
            json_strings(&["a<b".into(), "c\"".into()]),
            r#"["a\u003cb","c\""]"#
        );
    }
}
