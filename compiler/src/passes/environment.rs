//! Environment: composes each step's variables as melange does
//! (SOURCE_DATE_EPOCH, then `environment.environment` with env-files and
//! defaults, then the fixed PATH, then step `environment:` down the nesting;
//! later wins), sorts them, and flattens nested steps into run order.

use std::collections::BTreeMap;

use crate::ir::guest::{PATH, WORKSPACE};
use crate::ir::{ExecStep, NativeSource, ResolvedStep, GIT_SOURCE_DIR, GIT_SOURCE_ENV};

/// The variables shared by every step of a build (with its
/// SOURCE_DATE_EPOCH) or of a test (without).
pub fn base_env<'a>(
    source_date_epoch: Option<u64>,
    recipe_env: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    if let Some(epoch) = source_date_epoch {
        env.insert("SOURCE_DATE_EPOCH".to_owned(), epoch.to_string());
    }
    for (k, v) in recipe_env {
        env.insert(k.to_owned(), v.to_owned());
    }
    env.insert("PATH".to_owned(), PATH.to_owned());
    env
}

/// Flattens steps into the processes melange would start, in order: a step's
/// own fragment, then its nested steps.
pub fn flatten(
    steps: &[ResolvedStep],
    inherited: &BTreeMap<String, String>,
    out: &mut Vec<ExecStep>,
) {
    for step in steps {
        let mut env;
        let env_ref = if step.environment.is_empty() {
            inherited
        } else {
            env = inherited.clone();
            for (k, v) in &step.environment {
                env.insert(k.value.clone(), v.value.clone());
            }
            &env
        };
        // An empty step still creates its working directory; one without
        // nested steps in the workspace root does nothing at all.
        let runs = !step.runs.trim().is_empty();
        let makes_dir = step.children.is_empty() && step.workdir != WORKSPACE;
        if runs || makes_dir {
            let mut env: Vec<(String, String)> = env_ref
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            if let Some(NativeSource::Git { .. }) = &step.native {
                env.retain(|(k, _)| k != GIT_SOURCE_ENV);
                let var = (GIT_SOURCE_ENV.to_owned(), GIT_SOURCE_DIR.to_owned());
                let at = env.partition_point(|(k, _)| k.as_str() < GIT_SOURCE_ENV);
                env.insert(at, var);
            }
            out.push(ExecStep {
                label: step.label.clone(),
                script: step.runs.clone(),
                workdir: step.workdir.clone(),
                env,
                origin: step.origin,
                native: step.native.clone(),
            });
        }
        flatten(&step.children, env_ref, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::front::recipe::Text;
    use crate::source::{SourceFile, Span};

    fn step(runs: &str, env: &[(&str, &str)], children: Vec<ResolvedStep>) -> ResolvedStep {
        ResolvedStep {
            label: runs.into(),
            runs: runs.into(),
            environment: env
                .iter()
                .map(|(k, v)| {
                    (
                        Text::new(*k, Span::default()),
                        Text::new(*v, Span::default()),
                    )
                })
                .collect(),
            children,
            ..ResolvedStep::empty(SourceFile::new("r.yaml", ""))
        }
    }

    #[test]
    fn later_layers_win_and_output_is_sorted() {
        let base = base_env(
            Some(7),
            [("PATH", "/mine"), ("B", "recipe"), ("A", "recipe")],
        );
        let mut out = Vec::new();
        flatten(
            &[step(
                "outer",
                &[("B", "step"), ("PATH", "/step")],
                vec![step("inner", &[("A", "inner")], vec![])],
            )],
            &base,
            &mut out,
        );
        let names: Vec<_> = out[0].env.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["A", "B", "PATH", "SOURCE_DATE_EPOCH"]);
        assert_eq!(out[0].env[1].1, "step");
        assert_eq!(out[0].env[2].1, "/step");
        assert_eq!(out[1].env[0].1, "inner");
        assert_eq!(out[1].env[1].1, "step");
        assert_eq!(base["PATH"], PATH);
    }

    #[test]
    fn empty_steps_in_the_workspace_are_dropped() {
        let mut out = Vec::new();
        flatten(
            &[step("", &[], vec![step("make", &[], vec![])])],
            &base_env(Some(0), []),
            &mut out,
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].script, "make");
    }
}
