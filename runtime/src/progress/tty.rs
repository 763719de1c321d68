//! The live `--progress tty` view, like buildctl's: a `[+] Building` header
//! and one line per running step, redrawn in place, while finished steps are
//! printed once above them so the scrollback keeps the history.

use std::collections::BTreeMap;
use std::io;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use super::{exit_code, Verdict};

/// How often running steps redraw, so their elapsed times move between
/// status updates.
pub const TICK: Duration = Duration::from_millis(100);

/// The most redraws a second the terminal gets, however fast BuildKit sends
/// log lines.
pub const REFRESH_HZ: u8 = 20;

const HEADER: &str = "[+] Building {took} ({pos}/{len})";
const RUNNING: &str = "=> {prefix}  {took}";
const RUNNING_WITH_LOG: &str = "=> {prefix}  {took}\n   | {wide_msg:.dim}";

pub struct TtyView {
    multi: MultiProgress,
    header: ProgressBar,
    /// Running steps by their `#N`.
    live: BTreeMap<usize, Live>,
    tick: Option<Duration>,
}

struct Live {
    bar: ProgressBar,
    name: String,
    has_log: bool,
}

impl TtyView {
    /// A view drawing to `target`. `tick` is the steady redraw interval;
    /// `None` redraws only on updates (tests, where time must not move the
    /// screen).
    pub fn new(target: ProgressDrawTarget, tick: Option<Duration>) -> TtyView {
        let multi = MultiProgress::with_draw_target(target);
        // The live area is erased before each redraw (indicatif's default):
        // drawing over it instead (`set_move_cursor`) leaves its bottom lines
        // behind when it shrinks.
        let header = multi.add(ProgressBar::hidden());
        // Styles are set once a bar draws to the terminal, so that their
        // colours follow stderr's support, not stdout's.
        header.set_style(style(HEADER));
        if let Some(every) = tick {
            header.enable_steady_tick(every);
        }
        header.tick();
        TtyView {
            multi,
            header,
            live: BTreeMap::new(),
            tick,
        }
    }

    /// Step `number` started: it gets a live line.
    pub fn started(&mut self, number: usize, name: &str) {
        let name = printable(name);
        let bar = self
            .multi
            .add(ProgressBar::hidden().with_prefix(format!("#{number} {name}")));
        bar.set_style(style(RUNNING));
        if let Some(every) = self.tick {
            bar.enable_steady_tick(every);
        }
        bar.tick();
        self.live.insert(
            number,
            Live {
                bar,
                name,
                has_log: false,
            },
        );
    }

    /// The latest line of step `number`'s output (a complete one, or a
    /// progress meter's current text): it shows, dimmed and cut to the
    /// terminal's width, under the step's live line until the next one.
    pub fn log(&mut self, number: usize, line: &str) {
        let Some(live) = self.live.get_mut(&number) else {
            return;
        };
        let line = printable(line);
        if line.trim().is_empty() {
            return;
        }
        if !live.has_log {
            // The line under the step appears with its first output.
            live.has_log = true;
            live.bar.set_style(style(RUNNING_WITH_LOG));
        }
        live.bar.set_message(line);
    }

    /// Step `number` finished: its live line goes, and its outcome is
    /// printed for good above the live area.
    pub fn finished(&mut self, number: usize, name: &str, verdict: &Verdict) -> io::Result<()> {
        let name = match self.live.remove(&number) {
            Some(live) => {
                self.multi.remove(&live.bar);
                live.name
            }
            None => printable(name),
        };
        self.multi
            .println(format!("=> #{number} {name}  {}", verdict_text(verdict)))
    }

    /// The header's counts: steps finished of steps seen.
    pub fn counts(&mut self, finished: usize, seen: usize) {
        self.header.set_length(seen as u64);
        self.header.set_position(finished as u64);
    }

    /// Clears the live area, noting steps still running when the stream
    /// ended (an interrupt, a lost connection), and prints `summary`.
    pub fn finish(&mut self, summary: &str) -> io::Result<()> {
        for (number, live) in std::mem::take(&mut self.live) {
            self.multi.remove(&live.bar);
            self.multi
                .println(format!("=> #{number} {}  UNFINISHED", live.name))?;
        }
        self.multi.remove(&self.header);
        self.multi.clear()?;
        self.multi.println(summary)
    }
}

/// How a finished step reads: short, since the failure report after the
/// build quotes the whole message.
fn verdict_text(verdict: &Verdict) -> String {
    match verdict {
        Verdict::Cached => "CACHED".to_owned(),
        Verdict::Canceled => "CANCELED".to_owned(),
        Verdict::Failed(message) => match exit_code(message) {
            Some(code) => format!("ERROR: exit code: {code}"),
            None => {
                let last = message.lines().rev().find(|l| !l.trim().is_empty());
                format!("ERROR: {}", printable(last.unwrap_or_default()))
            }
        },
        Verdict::Done(took) => format!("DONE {took:.1}s"),
    }
}

/// The templates are constants, checked by the tests, so parsing cannot fail
/// on anything a build sends.
fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .expect("a constant template")
        .with_key(
            "took",
            |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.1}s", state.elapsed().as_secs_f64());
            },
        )
}

/// What a terminal would leave of a line of build output, minus anything
/// that would move the cursor under the view: the text after the last
/// carriage return (progress meters redraw with `\r`), without escape
/// sequences or other control characters.
fn printable(line: &str) -> String {
    let line = line
        .rsplit('\r')
        .find(|part| !part.is_empty())
        .unwrap_or_default();
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => {
                // CSI (`ESC [ … final`) runs to a byte in @..~; any other
                // escape is two characters.
                if chars.next_if_eq(&'[').is_some() {
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                } else {
                    chars.next();
                }
            }
            '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_keeps_what_a_terminal_would_show() {
        assert_eq!(printable("plain"), "plain");
        assert_eq!(printable(" 10%\r 50%\r100%"), "100%");
        assert_eq!(printable("done\r"), "done");
        assert_eq!(printable("\x1b[1;31merror\x1b[0m: x"), "error: x");
        assert_eq!(printable("a\tb\x07c"), "a bc");
        assert_eq!(printable("\x1b]"), "");
    }

    #[test]
    fn every_template_parses() {
        for t in [HEADER, RUNNING, RUNNING_WITH_LOG] {
            assert!(ProgressStyle::with_template(t).is_ok(), "{t}");
        }
    }

    #[test]
    fn verdicts_are_one_short_line() {
        let script =
            "process \"/bin/sh -c set -e\nmake\" did not complete successfully: exit code: 2";
        assert_eq!(
            verdict_text(&Verdict::Failed(script)),
            "ERROR: exit code: 2"
        );
        assert_eq!(
            verdict_text(&Verdict::Failed("failed to fetch\nnot found\n")),
            "ERROR: not found"
        );
        assert_eq!(verdict_text(&Verdict::Done(1.24)), "DONE 1.2s");
        assert_eq!(verdict_text(&Verdict::Cached), "CACHED");
        assert_eq!(verdict_text(&Verdict::Canceled), "CANCELED");
    }
}
