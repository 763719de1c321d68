//! Fold `if:`: steps whose condition is false vanish with everything
//! nested under them; `assertions.required-steps` is checked on what is left.

use crate::front::diagnostics::{Code, Diagnostic, Diagnostics};
use crate::front::recipe::{Recipe, Text};
use crate::ir::{Folded, Resolved, ResolvedStep};
use crate::lang::cond::evaluate;
use crate::source::SourceFile;

/// Folds the package's steps and every subpackage's, then keeps the
/// subpackages whose `if` holds. The needs of every kept step count, a
/// dropped subpackage's included, as melange gathers them before it skips
/// the subpackage.
pub fn fold(
    recipe_file: &SourceFile,
    recipe: &Recipe,
    resolved: Resolved,
    diags: &mut Diagnostics,
) -> Folded {
    let mut needs = Vec::new();
    let main = fold_steps(resolved.main, &mut needs, recipe_file, diags);
    let folded: Vec<_> = resolved
        .subpackages
        .into_iter()
        .map(|steps| fold_steps(steps, &mut needs, recipe_file, diags))
        .collect();
    let mut subpackages = Vec::new();
    for (i, (s, steps)) in recipe.subpackages.iter().zip(folded).enumerate() {
        match subpackage_holds(&s.if_, recipe_file) {
            Ok(true) => subpackages.push((i, steps)),
            Ok(false) => {}
            Err(d) => diags.push(d),
        }
    }
    Folded {
        main,
        subpackages,
        needs,
    }
}

/// Keeps the steps whose `if` holds; appends the needs of kept steps.
pub fn fold_steps(
    steps: Vec<ResolvedStep>,
    needs: &mut Vec<String>,
    recipe_file: &SourceFile,
    diags: &mut Diagnostics,
) -> Vec<ResolvedStep> {
    let mut kept = Vec::with_capacity(steps.len());
    for mut step in steps {
        match evaluate(&step.if_) {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => {
                diags.push(condition_error(
                    &step.file,
                    &step.if_text,
                    e.to_string(),
                    recipe_file,
                    &step,
                ));
                continue;
            }
        }
        needs.extend(step.needs.iter().cloned());
        let children = std::mem::take(&mut step.children);
        let total = children.len();
        step.children = fold_steps(children, needs, recipe_file, diags);
        if let Some((want, span)) = step.required_steps {
            let ran = step.children.len() as i64;
            if ran != want {
                diags.push(Diagnostic::new(
                    Code::Assertions,
                    &step.file,
                    span,
                    format!("assertion failed: {want} required steps, {ran} of {total} ran"),
                ));
            }
        }
        kept.push(step);
    }
    kept
}

fn condition_error(
    file: &SourceFile,
    text: &Text,
    message: String,
    recipe_file: &SourceFile,
    step: &ResolvedStep,
) -> Diagnostic {
    let span = if file.name() == recipe_file.name() {
        text.span
    } else {
        step.origin
    };
    let file = if file.name() == recipe_file.name() {
        file
    } else {
        recipe_file
    };
    Diagnostic::new(Code::If, file, span, message).with_label("this condition")
}

/// A subpackage `if`, read as melange does: on its parse-time text, with any
/// placeholder left in it reading as the empty string.
pub fn subpackage_holds(if_: &Text, file: &SourceFile) -> Result<bool, Diagnostic> {
    evaluate(&if_.value).map_err(|e| {
        Diagnostic::new(Code::If, file, if_.span, e.to_string()).with_label("this condition")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Span;

    fn step(if_: &str, needs: &[&str], children: Vec<ResolvedStep>) -> ResolvedStep {
        ResolvedStep {
            runs: "x".into(),
            if_: if_.into(),
            if_text: Text::new(if_, Span::default()),
            needs: needs.iter().map(|s| s.to_string()).collect(),
            children,
            ..ResolvedStep::empty(SourceFile::new("r.yaml", ""))
        }
    }

    #[test]
    fn false_steps_and_their_needs_vanish() {
        let file = SourceFile::new("r.yaml", "");
        let mut diags = Diagnostics::default();
        let mut needs = Vec::new();
        let steps = vec![
            step(
                "'a' == 'a'",
                &["yes"],
                vec![step("'a' == 'b'", &["nested-no"], vec![])],
            ),
            step("'a' == 'b'", &["no"], vec![]),
        ];
        let kept = fold_steps(steps, &mut needs, &file, &mut diags);
        assert_eq!(kept.len(), 1);
        assert!(kept[0].children.is_empty());
        assert_eq!(needs, ["yes"]);
    }

    #[test]
    fn required_steps_counts_what_ran() {
        let file = SourceFile::new("r.yaml", "");
        let mut diags = Diagnostics::default();
        let mut parent = step(
            "",
            &[],
            vec![step("'a' == 'b'", &[], vec![]), step("", &[], vec![])],
        );
        parent.required_steps = Some((2, Span::default()));
        fold_steps(vec![parent], &mut Vec::new(), &file, &mut diags);
        assert!(diags.0[0].message.contains("2 required steps, 1 of 2 ran"));
    }

    #[test]
    fn bad_condition_is_a_diagnostic() {
        let file = SourceFile::new("r.yaml", "");
        let mut diags = Diagnostics::default();
        fold_steps(
            vec![step("x == y", &[], vec![])],
            &mut Vec::new(),
            &file,
            &mut diags,
        );
        assert!(diags.0[0].message.starts_with("cannot parse condition"));
    }
}
