//! Pass 5, fold `if:`: steps whose condition is false vanish with everything
//! nested under them; `assertions.required-steps` is checked on what is left.

use crate::cond::evaluate;
use crate::diag::{Diagnostic, Diagnostics, SourceFile};
use crate::recipe::Text;
use crate::substitute::ResolvedStep;

/// Keeps the steps whose `if` holds; appends the needs of kept steps.
pub fn fold(
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
            Err(message) => {
                diags.push(condition_error(
                    &step.file,
                    &step.if_text,
                    message,
                    recipe_file,
                    &step,
                ));
                continue;
            }
        }
        needs.extend(step.needs.iter().cloned());
        let children = std::mem::take(&mut step.children);
        let total = children.len();
        step.children = fold(children, needs, recipe_file, diags);
        if let Some((want, span)) = step.required_steps {
            let ran = step.children.len() as i64;
            if ran != want {
                diags.push(
                    Diagnostic::new(
                        &step.file,
                        span,
                        format!("assertion failed: {want} required steps, {ran} of {total} ran"),
                    )
                    .with_code("melangec::assertions"),
                );
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
    Diagnostic::new(file, span, message)
        .with_code("melangec::if")
        .with_label("this condition")
}

/// A subpackage `if`, read as melange does: on its parse-time text, with any
/// placeholder left in it reading as the empty string.
pub fn subpackage_holds(if_: &Text, file: &SourceFile) -> Result<bool, Diagnostic> {
    evaluate(&if_.value).map_err(|m| {
        Diagnostic::new(file, if_.span, m)
            .with_code("melangec::if")
            .with_label("this condition")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::Span;

    fn step(if_: &str, needs: &[&str], children: Vec<ResolvedStep>) -> ResolvedStep {
        ResolvedStep {
            label: String::new(),
            runs: "x".into(),
            if_: if_.into(),
            if_text: Text::new(if_, Span::default()),
            workdir: "/home/build".into(),
            environment: Vec::new(),
            needs: needs.iter().map(|s| s.to_string()).collect(),
            children,
            file: SourceFile::new("r.yaml", ""),
            origin: Span::default(),
            required_steps: None,
            call: None,
            native: None,
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
        let kept = fold(steps, &mut needs, &file, &mut diags);
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
        fold(vec![parent], &mut Vec::new(), &file, &mut diags);
        assert!(diags.0[0].message.contains("2 required steps, 1 of 2 ran"));
    }

    #[test]
    fn bad_condition_is_a_diagnostic() {
        let file = SourceFile::new("r.yaml", "");
        let mut diags = Diagnostics::default();
        fold(
            vec![step("x == y", &[], vec![])],
            &mut Vec::new(),
            &file,
            &mut diags,
        );
        assert!(diags.0[0].message.starts_with("cannot parse condition"));
    }
}
