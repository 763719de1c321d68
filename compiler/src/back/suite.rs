//! Lower a test suite: each test's steps over an environment of its own,
//! in a workspace that starts as the source directory (or empty), and one
//! last op that waits for every test, so that one solve runs them all and
//! BuildKit runs independent tests at once.

use petgraph::graph::NodeIndex;

use super::llb::{FileAction, LlbGraph, State};
use super::lower::{environment_local, exec, install, source_local, ROOT};
use crate::ir::guest::{ENVIRONMENT_LOCAL, WORKSPACE};
use crate::ir::Suite;

/// The graph, its result, and each test's step ops in run order.
pub struct Lowered {
    pub graph: LlbGraph,
    pub result: State,
    pub steps: Vec<Vec<NodeIndex>>,
}

/// The name of test `i`'s environment local, when it is not pinned.
pub fn environment_name(i: usize) -> String {
    format!("{ENVIRONMENT_LOCAL}-{i}")
}

pub fn lower_suite(suite: &Suite) -> Lowered {
    let mut g = LlbGraph::new(suite.arch);
    let timestamp = Some(suite.source_date_epoch as i64 * 1_000_000_000);
    let source = suite.with_source.then(|| {
        let local = source_local(&mut g, &suite.source_excludes, &suite.local_session);
        g.file(
            None,
            vec![FileAction::Copy {
                from: local,
                src: "/".into(),
                dest: "/".into(),
                contents_only: true,
                create_dest_path: true,
            }],
            &format!("populate {WORKSPACE}"),
            None,
        )
    });
    let mut ends = Vec::new();
    let mut steps = Vec::new();
    for test in &suite.tests {
        let mut rootfs = match &test.pinned_environment {
            Some(pinned) => install(&mut g, pinned, suite.merge, timestamp),
            None => environment_local(
                &mut g,
                &environment_name(test.id),
                &test.environment.packages,
                &suite.local_session,
                &format!("{} test environment", test.package),
            ),
        };
        let mut workspace = source;
        let mut nodes = Vec::with_capacity(test.steps.len());
        for step in &test.steps {
            let outputs = g.run(
                exec(step, &test.user, suite.debug, rootfs, workspace, None),
                &format!("{} test: {}", test.package, step.label),
                Some(step.origin),
            );
            rootfs = outputs[ROOT];
            workspace = Some(outputs[WORKSPACE]);
            if suite.rerun {
                g.ignore_cache(rootfs.op);
            }
            nodes.push(rootfs.op);
        }
        ends.extend(workspace);
        steps.push(nodes);
    }
    let waits = ends
        .into_iter()
        .map(|from| FileAction::Await { from })
        .collect();
    let result = g.file(None, waits, "tests", None);
    Lowered {
        graph: g,
        result,
        steps,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::back::llb::{Mount, OpKind};
    use crate::ir::{Environment, ExecStep, Test};
    use crate::options::Arch;
    use crate::source::Span;

    fn test(package: &str, scripts: &[&str]) -> Test {
        Test {
            id: 0,
            package: package.into(),
            span: Span::default(),
            environment: Environment {
                arch: Arch::X86_64,
                purpose: format!("{package} test"),
                packages: vec![package.into()],
                spans: vec![],
                repositories: vec![],
                keyring: vec![],
                passwd: vec![],
                group: vec![],
            },
            user: String::new(),
            steps: scripts
                .iter()
                .map(|s| ExecStep {
                    label: (*s).into(),
                    script: (*s).into(),
                    workdir: WORKSPACE.into(),
                    env: vec![],
                    origin: Span::default(),
                    native: None,
                })
                .collect(),
            pinned_environment: None,
        }
    }

    fn suite(with_source: bool) -> Suite {
        Suite {
            arch: Arch::X86_64,
            package: "p".into(),
            tests: vec![
                test("p", &["a", "b"]),
                Test {
                    id: 1,
                    ..test("p-doc", &["c"])
                },
            ],
            with_source,
            source_excludes: vec![],
            source_date_epoch: 0,
            local_session: None,
            merge: false,
            debug: true,
            rerun: false,
        }
    }

    #[test]
    fn each_test_chains_over_its_own_environment_and_the_result_waits_for_all() {
        let l = lower_suite(&suite(false));
        assert_eq!(l.steps.iter().map(Vec::len).collect::<Vec<_>>(), [2, 1]);
        let OpKind::File {
            base: None,
            actions,
        } = &l.graph.op(l.result.op).kind
        else {
            panic!("the result is a file op on scratch");
        };
        assert_eq!(actions.len(), 2);
        for (action, test) in actions.iter().zip(&l.steps) {
            let FileAction::Await { from } = action else {
                panic!("{action:?}")
            };
            assert_eq!(from.op, *test.last().unwrap());
        }
        // p's second step runs on the first one's root and workspace.
        let OpKind::Exec(second) = &l.graph.op(l.steps[0][1]).kind else {
            panic!()
        };
        for m in &second.mounts {
            if let Mount::Bind { input, .. } = m {
                assert_eq!(input.unwrap().op, l.steps[0][0]);
            }
        }
        assert!(
            second.args[2].contains("set -x\nb\n"),
            "{:?}",
            second.args[2]
        );
        // Without --source-dir the workspace starts empty.
        let OpKind::Exec(first) = &l.graph.op(l.steps[1][0]).kind else {
            panic!()
        };
        assert!(first.mounts.iter().any(|m| matches!(m,
            Mount::Bind { dest, input: None, .. } if dest == WORKSPACE)));
        let names: Vec<&str> = l
            .graph
            .graph
            .node_indices()
            .map(|n| l.graph.op(n).name.as_str())
            .collect();
        assert!(names.contains(&"p-doc test: c"), "{names:?}");
        assert!(names.contains(&"p-doc test environment"), "{names:?}");
        assert!(!names.iter().any(|n| n.contains("populate")));
    }

    #[test]
    fn with_a_source_dir_every_test_starts_from_it() {
        let l = lower_suite(&suite(true));
        let populate: Vec<NodeIndex> = l
            .graph
            .graph
            .node_indices()
            .filter(|n| l.graph.op(*n).name.starts_with("populate"))
            .collect();
        assert_eq!(populate.len(), 1);
        for test in &l.steps {
            let OpKind::Exec(first) = &l.graph.op(test[0]).kind else {
                panic!()
            };
            assert!(first.mounts.iter().any(|m| matches!(m,
                Mount::Bind { dest, input: Some(s), .. } if dest == WORKSPACE && s.op == populate[0])));
        }
    }
}
