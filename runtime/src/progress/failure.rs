//! Which step failed, where it is in the recipe, its exit code and its last
//! lines of output: what a user needs to fix it, in one report.

use std::fmt;

/// `exit code: N` at the end of BuildKit's message, in both its wordings
/// (`process "…" did not complete successfully: exit code: N` and v0.8's
/// `executor failed running […]: exit code: N`).
pub fn exit_code(message: &str) -> Option<i32> {
    let at = message.rfind("exit code: ")?;
    let digits: String = message[at + "exit code: ".len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[derive(Debug, Clone)]
pub struct Failure {
    pub step: String,
    /// The digest of the failed op.
    pub vertex: String,
    pub location: Option<(String, u32)>,
    pub exit_code: Option<i32>,
    pub last_lines: Vec<String>,
    pub error: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "step `{}` failed", self.step)?;
        if let Some(code) = self.exit_code {
            write!(f, " with exit code {code}")?;
        }
        if let Some((file, line)) = &self.location {
            write!(f, " ({file}:{line})")?;
        }
        if !self.last_lines.is_empty() {
            writeln!(f, "; its last output:")?;
            for l in &self.last_lines {
                writeln!(f, "  | {l}")?;
            }
        } else if self.exit_code.is_none() && !self.error.is_empty() {
            // No process ran (a fetch, a copy): the daemon's reason is all
            // there is.
            writeln!(f, ": {}", self.error.lines().last().unwrap_or_default())?;
        } else {
            writeln!(f)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_in_both_wordings() {
        assert_eq!(
            exit_code("process \"/bin/sh -c x\" did not complete successfully: exit code: 3"),
            Some(3)
        );
        assert_eq!(
            exit_code("executor failed running [/bin/sh -c x]: exit code: 127"),
            Some(127)
        );
        assert_eq!(exit_code("something else"), None);
    }
}
