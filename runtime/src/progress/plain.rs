//! The plain view's wording, as buildctl's: what follows `#N ` when a step
//! ends, and a log line's time since its step started.

use super::failure::exit_code;
use super::Verdict;

/// A finished step's outcome as buildctl's plain view writes it after `#N `.
pub fn verdict(verdict: &Verdict) -> String {
    match verdict {
        Verdict::Cached => "CACHED".to_owned(),
        Verdict::Canceled => "CANCELED".to_owned(),
        // The message quotes the whole script; the exit code says what
        // matters.
        Verdict::Failed(message) => match exit_code(message) {
            Some(code) if message.contains('\n') => format!("ERROR: exit code: {code}"),
            _ => format!("ERROR: {message}"),
        },
        Verdict::Done(took) => format!("DONE {took:.1}s"),
    }
}

/// Seconds since a vertex started, with buildctl's precision.
pub fn elapsed(s: f64) -> String {
    let s = s.max(0.0);
    if s < 10.0 {
        format!("{s:.3}")
    } else if s < 100.0 {
        format!("{s:.2}")
    } else {
        format!("{s:.1}")
    }
}
