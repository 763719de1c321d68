//! Native sources: a built-in `fetch` pinned by SHA-256 and a
//! built-in `git-checkout` pinned to a commit become sources BuildKit fetches
//! and caches itself, when the target daemon can. The step's own script still
//! runs and keeps melange's observable result: it finds the file already in
//! place (and still verifies it), or copies the checkout instead of cloning.
//! Anything the daemon cannot do the same way stays an in-container download.

use crate::ir::guest::WORKSPACE;
use crate::ir::{Call, Folded, NativeSource, ResolvedStep};
use crate::options::Options;

const HTTP_CAPS: &[&str] = &["source.http", "source.http.checksum", "source.http.perm"];
const GIT_CAPS: &[&str] = &["source.git", "source.git.fullurl", "source.git.keepgitdir"];

/// Marks every kept step list of a recipe; `user` is the account steps run
/// as (empty: root).
pub fn native(folded: &mut Folded, options: &Options, user: &str) {
    for steps in folded.lists_mut() {
        mark(steps, options, user);
    }
}

/// Marks the script step of every eligible `fetch` / `git-checkout` call.
/// `user` is the account steps run as (empty: root).
pub fn mark(steps: &mut [ResolvedStep], options: &Options, user: &str) {
    for step in steps.iter_mut() {
        let native = match &step.call {
            Some(call) if call.builtin => match call.name.as_str() {
                "fetch" if user.is_empty() && options.has_caps(HTTP_CAPS) => {
                    fetch(call, &step.workdir)
                }
                "git-checkout" if options.has_caps(GIT_CAPS) => git(call),
                _ => None,
            },
            _ => None,
        };
        match native {
            Some(n) => {
                if let Some(script) = step.children.iter_mut().find(|c| !c.runs.trim().is_empty()) {
                    script.native = Some(n);
                }
            }
            None => mark(&mut step.children, options, user),
        }
    }
}

fn input<'a>(call: &'a Call, name: &str) -> &'a str {
    call.inputs.get(name).map_or("", |v| v.trim())
}

/// Whether `s` is `len` hexadecimal digits.
pub(crate) fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn fetch(call: &Call, workdir: &str) -> Option<NativeSource> {
    let url = input(call, "uri");
    let sha256 = input(call, "expected-sha256");
    if !input(call, "expected-none").is_empty() || !is_hex(sha256, 64) {
        return None;
    }
    if !(url.starts_with("https://") || url.starts_with("http://"))
        || url.contains(char::is_whitespace)
    {
        return None;
    }
    let filename = url.rsplit('/').next().unwrap_or("");
    if filename.is_empty() || filename == "." || filename == ".." {
        return None;
    }
    // The file must land in the workspace, which is what a FileOp can write.
    let dir = if workdir == WORKSPACE {
        String::new()
    } else {
        workdir
            .strip_prefix(WORKSPACE)?
            .strip_prefix('/')?
            .to_owned()
    };
    if dir.split('/').any(|c| c == "..") {
        return None;
    }
    Some(NativeSource::Http {
        url: url.to_owned(),
        checksum: format!("sha256:{}", sha256.to_ascii_lowercase()),
        filename: filename.to_owned(),
        dir,
    })
}

fn git(call: &Call) -> Option<NativeSource> {
    let remote = input(call, "repository");
    let commit = input(call, "expected-commit");
    let branch = input(call, "branch");
    let tag = input(call, "tag");
    if !is_hex(commit, 40) || remote.is_empty() || remote.contains(char::is_whitespace) {
        return None;
    }
    if !(remote.starts_with("https://")
        || remote.starts_with("http://")
        || remote.starts_with("git://"))
    {
        return None;
    }
    // Submodules, sparse checkouts, cherry-picks and history beyond the
    // pinned commit need git itself.
    let plain = input(call, "recurse-submodules") == "false"
        && input(call, "expected-commit-is-branch-tip") == "false"
        && input(call, "sparse-paths").is_empty()
        && input(call, "cherry-picks")
            .lines()
            .all(|l| l.trim().is_empty() || l.trim().starts_with('#'));
    let shallow = match input(call, "depth") {
        "1" => true,
        "unset" => branch.is_empty() || !tag.is_empty(),
        _ => false,
    };
    if !plain || !shallow || (!branch.is_empty() && !tag.is_empty()) {
        return None;
    }
    // A tag is checked out by name so that the script can tell a tag object
    // from its commit; otherwise the commit itself is fetched.
    let reference = if tag.is_empty() { commit } else { tag };
    Some(NativeSource::Git {
        remote: remote.to_owned(),
        reference: reference.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::Arch;
    use crate::source::SourceFile;
    use std::collections::BTreeMap;

    fn call(name: &str, inputs: &[(&str, &str)]) -> Call {
        Call {
            name: name.into(),
            builtin: true,
            inputs: inputs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
        }
    }

    const SHA: &str = "4d8a1a5e4b1c0f0d2e53f3a86b1c3c0f8a58e0b6d7b5d7c1a0c6e1c9b5e2f3a4";

    #[test]
    fn fetch_with_sha256_becomes_an_http_source() {
        let c = call(
            "fetch",
            &[("uri", "https://h/x/a-1.tar.gz"), ("expected-sha256", SHA)],
        );
        assert_eq!(
            fetch(&c, "/home/build/src"),
            Some(NativeSource::Http {
                url: "https://h/x/a-1.tar.gz".into(),
                checksum: format!("sha256:{SHA}"),
                filename: "a-1.tar.gz".into(),
                dir: "src".into(),
            })
        );
    }

    #[test]
    fn fetch_falls_back_without_sha256_or_outside_the_workspace() {
        let sha512 = "a".repeat(128);
        let c = call(
            "fetch",
            &[("uri", "https://h/a.tgz"), ("expected-sha512", &sha512)],
        );
        assert_eq!(fetch(&c, "/home/build"), None);
        let c = call(
            "fetch",
            &[("uri", "https://h/a.tgz"), ("expected-sha256", SHA)],
        );
        assert_eq!(fetch(&c, "/tmp"), None);
        let c = call(
            "fetch",
            &[("uri", "ftp://h/a.tgz"), ("expected-sha256", SHA)],
        );
        assert_eq!(fetch(&c, "/home/build"), None);
        let c = call(
            "fetch",
            &[
                ("uri", "https://h/a.tgz"),
                ("expected-sha256", SHA),
                ("expected-none", "x"),
            ],
        );
        assert_eq!(fetch(&c, "/home/build"), None);
    }

    fn git_inputs<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let mut v = vec![
            ("repository", "https://h/r.git"),
            (
                "expected-commit",
                "0123456789abcdef0123456789abcdef01234567",
            ),
            ("recurse-submodules", "false"),
            ("expected-commit-is-branch-tip", "false"),
            ("depth", "unset"),
        ];
        for (k, val) in extra {
            v.retain(|(key, _)| key != k);
            v.push((k, val));
        }
        v
    }

    #[test]
    fn pinned_git_checkout_becomes_a_git_source() {
        let c = call("git-checkout", &git_inputs(&[("tag", "v1")]));
        assert_eq!(
            git(&c),
            Some(NativeSource::Git {
                remote: "https://h/r.git".into(),
                reference: "v1".into()
            })
        );
        let c = call("git-checkout", &git_inputs(&[]));
        assert!(
            matches!(git(&c), Some(NativeSource::Git { reference, .. }) if reference.starts_with("0123"))
        );
    }

    #[test]
    fn git_checkout_falls_back_when_git_itself_is_needed() {
        for extra in [
            ("recurse-submodules", "true"),
            ("cherry-picks", "abc: fix"),
            ("sparse-paths", "docs"),
            ("depth", "-1"),
            ("branch", "main"),
            ("expected-commit", ""),
            ("repository", "git@h:r.git"),
        ] {
            let c = call("git-checkout", &git_inputs(&[extra]));
            assert_eq!(git(&c), None, "{extra:?}");
        }
    }

    #[test]
    fn only_builtins_and_supported_daemons_go_native() {
        let c = call(
            "fetch",
            &[("uri", "https://h/a.tgz"), ("expected-sha256", SHA)],
        );
        let mk = |c: Call| ResolvedStep {
            label: "fetch".into(),
            children: vec![ResolvedStep {
                runs: "wget".into(),
                ..ResolvedStep::empty(SourceFile::new("t.yaml", ""))
            }],
            call: Some(c),
            ..ResolvedStep::empty(SourceFile::new("t.yaml", ""))
        };
        let mut options = Options::new(Arch::X86_64);
        let mut steps = vec![mk(c.clone())];
        mark(&mut steps, &options, "");
        assert!(steps[0].children[0].native.is_some());

        let mut shadowed = c.clone();
        shadowed.builtin = false;
        let mut steps = vec![mk(shadowed)];
        mark(&mut steps, &options, "");
        assert!(steps[0].children[0].native.is_none());

        options.caps.remove("source.http.checksum");
        let mut steps = vec![mk(c)];
        mark(&mut steps, &options, "");
        assert!(steps[0].children[0].native.is_none());
    }
}
