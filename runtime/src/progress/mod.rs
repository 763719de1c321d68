//! What the user sees of a build: BuildKit's Status stream as
//! `buildctl --progress=plain` shows it (`plain`: `#N name`, timed log
//! lines, `#N CACHED` / `DONE` / `ERROR`), as a live terminal view (`tty`),
//! or as JSON lines (`json`). Vertex names are the recipe's step names (the
//! compiler's `llb.customname`). Every view keeps the same record of steps
//! and their output, from which `failure` works out which step failed,
//! where it is in the recipe, its exit code and its last lines. Notes and
//! results go through a `Console`.

mod console;
mod failure;
mod json;
mod plain;
mod tty;

pub use console::Console;
pub use failure::{exit_code, Failure};

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::{self, Write};

use indicatif::ProgressDrawTarget;
use melangec_proto::moby::buildkit::v1::StatusResponse;
use melangec_proto::pb;

use tty::TtyView;

/// How much of a step's output a failure report quotes.
const LAST_LINES: usize = 20;

/// Which view (`--progress`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// tty on a terminal that can show it, plain otherwise.
    Auto,
    Tty,
    Plain,
    Json,
}

#[derive(Default)]
struct Vertex {
    name: String,
    number: Option<usize>,
    started: Option<f64>,
    completed: Option<f64>,
    cached: bool,
    error: String,
    /// The unfinished line of each stream (other, stdout, stderr): a
    /// step's output and its `set -x` trace arrive apart, and one line of
    /// one must not be cut by the other.
    partial: [Vec<u8>; 3],
    last: VecDeque<String>,
    finished_printed: bool,
    /// Ran to success in some solve, rather than coming from the cache.
    ran: bool,
    /// The solve its error came in.
    failed_in: usize,
}

/// How one op fared, over every solve this progress saw.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum StepState {
    /// Never reported: the daemon did not need it.
    Unseen,
    /// Its result came from the cache.
    Cached,
    /// Ran, for this many seconds.
    Ran(f64),
    Failed,
    /// Stopped by another step's failure or an interrupt, or unfinished.
    Stopped,
}

/// Where updates go: lines written to the caller's stream (plain, json), or
/// a live view that owns the terminal.
enum View {
    Plain,
    Json,
    Tty(TtyView),
}

impl View {
    /// The view for `mode`: the live one only where `target` shows it.
    fn choose(mode: Mode, target: impl FnOnce() -> ProgressDrawTarget) -> View {
        match mode {
            Mode::Plain => View::Plain,
            Mode::Json => View::Json,
            Mode::Auto | Mode::Tty => {
                let target = target();
                if target.is_hidden() {
                    View::Plain
                } else {
                    View::Tty(TtyView::new(target, Some(tty::TICK)))
                }
            }
        }
    }
}

/// How a finished step ended.
pub(crate) enum Verdict<'a> {
    Cached,
    /// Stopped because another step failed or the build was interrupted.
    Canceled,
    Failed(&'a str),
    /// Ran for this many seconds.
    Done(f64),
}

impl Verdict<'_> {
    fn of(v: &Vertex, completed: f64) -> Verdict<'_> {
        if v.cached {
            Verdict::Cached
        } else if v.error.ends_with("context canceled") {
            Verdict::Canceled
        } else if !v.error.is_empty() {
            Verdict::Failed(&v.error)
        } else {
            Verdict::Done(completed - v.started.unwrap_or(completed))
        }
    }
}

pub struct Progress {
    view: View,
    vertices: HashMap<String, Vertex>,
    next_number: usize,
    /// Op digest -> (file, 1-based line) from the definition's source map.
    locations: BTreeMap<String, (String, u32)>,
    ran: usize,
    cached: usize,
    /// Steps finished in any way, for the tty header.
    finished: usize,
    /// Solves begun with this progress: a test run may solve again.
    solves: usize,
}

pub(crate) fn seconds(t: &Option<prost_types::Timestamp>) -> Option<f64> {
    t.as_ref()
        .map(|t| t.seconds as f64 + f64::from(t.nanos) / 1e9)
}

impl Progress {
    /// Progress in `mode`. Tty (and auto) draw live on stderr when it is a
    /// terminal that can show it; otherwise (a pipe, a file, `TERM=dumb`)
    /// the output is plain, since indicatif would show nothing at all.
    /// In tty mode the `out` of `update` and `finish` is not written to.
    pub fn new(mode: Mode, definition: &pb::Definition) -> Progress {
        let stderr = || ProgressDrawTarget::stderr_with_hz(tty::REFRESH_HZ);
        Progress::with_view(View::choose(mode, stderr), definition)
    }

    fn with_view(view: View, definition: &pb::Definition) -> Progress {
        let mut locations = BTreeMap::new();
        if let Some(source) = &definition.source {
            for (digest, locs) in &source.locations {
                let Some(loc) = locs.locations.first() else {
                    continue;
                };
                let file = source
                    .infos
                    .get(loc.source_index as usize)
                    .map(|i| i.filename.clone())
                    .unwrap_or_default();
                let line = loc
                    .ranges
                    .first()
                    .and_then(|r| r.start.as_ref())
                    .map_or(0, |p| p.line as u32);
                locations.insert(digest.clone(), (file, line));
            }
        }
        Progress {
            view,
            vertices: HashMap::new(),
            next_number: 1,
            locations,
            ran: 0,
            cached: 0,
            finished: 0,
            solves: 0,
        }
    }

    /// Marks the start of another solve: `failure` then reports only what
    /// fails in it.
    pub fn begin(&mut self) {
        self.solves += 1;
    }

    pub fn update(&mut self, status: &StatusResponse, out: &mut dyn Write) -> io::Result<()> {
        if let View::Json = self.view {
            writeln!(out, "{}", json::line(status))?;
        }
        for v in &status.vertexes {
            let entry = self.vertices.entry(v.digest.clone()).or_default();
            entry.name = v.name.clone();
            entry.cached = v.cached;
            if entry.error != v.error {
                entry.error = v.error.clone();
                entry.failed_in = self.solves;
            }
            entry.started = seconds(&v.started).or(entry.started);
            entry.completed = seconds(&v.completed);
            // Running again, in a later solve of the same steps.
            if entry.completed.is_none() {
                entry.finished_printed = false;
            }
            if let View::Json = self.view {
                continue;
            }
            let started = entry.started.is_some() || entry.completed.is_some();
            if started && entry.number.is_none() {
                let n = self.next_number;
                entry.number = Some(n);
                self.next_number += 1;
                match &mut self.view {
                    View::Plain => writeln!(out, "#{n} {}", entry.name)?,
                    // A step that is already over never goes live.
                    View::Tty(view) if entry.completed.is_none() => view.started(n, &entry.name),
                    _ => {}
                }
            }
            if let (Some(done), false) = (entry.completed, entry.finished_printed) {
                entry.finished_printed = true;
                self.finished += 1;
                let n = entry.number.unwrap_or(0);
                if !entry.cached && entry.error.is_empty() {
                    entry.ran = true;
                }
                let verdict = Verdict::of(entry, done);
                match verdict {
                    Verdict::Cached => self.cached += 1,
                    Verdict::Done(_) => self.ran += 1,
                    _ => {}
                }

                match &mut self.view {
                    View::Plain => writeln!(out, "#{n} {}", plain::verdict(&verdict))?,
                    View::Tty(view) => view.finished(n, &entry.name, &verdict)?,
                    View::Json => {}
                }
            }
        }
        for log in &status.logs {
            let entry = self.vertices.entry(log.vertex.clone()).or_default();
            let stream = usize::try_from(log.stream).unwrap_or(0).min(2);
            entry.partial[stream].extend_from_slice(&log.msg);
            while let Some(nl) = entry.partial[stream].iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = entry.partial[stream].drain(..=nl).collect();
                let text = String::from_utf8_lossy(&line[..line.len() - 1]).into_owned();
                let n = entry.number.unwrap_or(0);
                match &mut self.view {
                    View::Plain => {
                        let at =
                            seconds(&log.timestamp).unwrap_or(0.0) - entry.started.unwrap_or(0.0);
                        writeln!(out, "#{n} {} {text}", plain::elapsed(at))?;
                    }
                    View::Tty(view) => view.log(n, &text),
                    View::Json => {}
                }
                entry.last.push_back(text);
                if entry.last.len() > LAST_LINES {
                    entry.last.pop_front();
                }
            }
            // A progress meter redraws one line with `\r` and ends it only
            // when done; the live view shows it as it goes. Other partial
            // lines are only where BuildKit cut the stream, so they wait.
            let partial = &entry.partial[stream];
            if let (View::Tty(view), true) = (&mut self.view, partial.contains(&b'\r')) {
                view.log(entry.number.unwrap_or(0), &String::from_utf8_lossy(partial));
            }
        }
        if let View::Tty(view) = &mut self.view {
            view.counts(self.finished, self.vertices.len());
        }
        Ok(())
    }

    /// Flushes partial lines and prints a one-line summary.
    pub fn finish(&mut self, out: &mut dyn Write) -> io::Result<()> {
        for entry in self.vertices.values_mut() {
            for partial in &mut entry.partial {
                if partial.is_empty() {
                    continue;
                }
                let text = String::from_utf8_lossy(partial).into_owned();
                partial.clear();
                if let View::Plain = self.view {
                    writeln!(out, "#{} {text}", entry.number.unwrap_or(0))?;
                }
                entry.last.push_back(text);
            }
        }
        let summary = format!("{} steps run, {} cached", self.ran, self.cached);
        match &mut self.view {
            View::Plain => writeln!(out, "{summary}"),
            View::Tty(view) => view.finish(&summary),
            View::Json => Ok(()),
        }
    }

    /// How the op `digest` fared.
    pub fn step(&self, digest: &str) -> StepState {
        let Some(v) = self.vertices.get(digest) else {
            return StepState::Unseen;
        };
        match (v.completed, v.ran) {
            (_, true) => StepState::Ran(
                v.completed.unwrap_or(0.0) - v.started.or(v.completed).unwrap_or(0.0),
            ),
            (Some(done), false) => match Verdict::of(v, done) {
                Verdict::Cached => StepState::Cached,
                Verdict::Failed(_) => StepState::Failed,
                Verdict::Canceled => StepState::Stopped,
                Verdict::Done(_) => StepState::Cached,
            },
            (None, false) if v.cached => StepState::Cached,
            (None, false) => StepState::Stopped,
        }
    }

    /// Where the op `digest` is in the recipe.
    pub fn location(&self, digest: &str) -> Option<(String, u32)> {
        self.locations.get(digest).cloned()
    }

    /// The failed step, from the vertex that completed with an error.
    pub fn failure(&self, solve_error: &str) -> Option<Failure> {
        let (digest, vertex) = self
            .vertices
            .iter()
            .filter(|(_, v)| {
                v.failed_in == self.solves
                    && !v.error.is_empty()
                    && !v.error.ends_with("context canceled")
            })
            .min_by(|a, b| {
                let key = |v: &Vertex| v.completed.unwrap_or(f64::MAX);
                key(a.1).total_cmp(&key(b.1))
            })?;
        let mut last_lines: Vec<String> = vertex.last.iter().cloned().collect();
        // A last line without its newline is output too.
        for partial in &vertex.partial {
            if !partial.is_empty() && partial != b"\r" {
                last_lines.push(String::from_utf8_lossy(partial).into_owned());
            }
        }
        Some(Failure {
            step: vertex.name.clone(),
            vertex: digest.clone(),
            location: self.locations.get(digest).cloned(),
            exit_code: exit_code(&vertex.error).or_else(|| exit_code(solve_error)),
            last_lines,
            error: vertex.error.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use melangec_proto::moby::buildkit::v1::{Vertex as V, VertexLog};

    fn t(s: i64) -> Option<prost_types::Timestamp> {
        Some(prost_types::Timestamp {
            seconds: s,
            nanos: 0,
        })
    }

    fn update(vertexes: Vec<V>, logs: Vec<VertexLog>) -> StatusResponse {
        StatusResponse {
            vertexes,
            logs,
            ..Default::default()
        }
    }

    fn v(
        d: &str,
        name: &str,
        started: Option<prost_types::Timestamp>,
        completed: Option<prost_types::Timestamp>,
        cached: bool,
        error: &str,
    ) -> V {
        V {
            digest: d.into(),
            name: name.into(),
            started,
            completed,
            cached,
            error: error.into(),
            ..Default::default()
        }
    }

    fn definition() -> pb::Definition {
        let mut locations = BTreeMap::new();
        locations.insert(
            "sha256:b".to_owned(),
            pb::Locations {
                locations: vec![pb::Location {
                    source_index: 0,
                    ranges: vec![pb::Range {
                        start: Some(pb::Position {
                            line: 17,
                            character: 0,
                        }),
                        end: Some(pb::Position {
                            line: 19,
                            character: 0,
                        }),
                    }],
                }],
            },
        );
        pb::Definition {
            source: Some(pb::Source {
                locations,
                infos: vec![pb::SourceInfo {
                    filename: "hello.yaml".into(),
                    ..Default::default()
                }],
            }),
            ..Default::default()
        }
    }

    /// A script's output and its `set -x` trace come as two streams; a
    /// line of one is never cut by the other.
    #[test]
    fn streams_keep_their_own_lines() {
        let mut p = Progress::new(Mode::Plain, &definition());
        let mut out = Vec::new();
        p.update(
            &update(
                vec![v("sha256:b", "hello: make", t(11), None, false, "")],
                vec![],
            ),
            &mut out,
        )
        .unwrap();
        let log = |stream, msg: &str| VertexLog {
            vertex: "sha256:b".into(),
            timestamp: t(12),
            stream,
            msg: msg.as_bytes().to_vec(),
        };
        let logs = vec![log(2, "+ exit"), log(1, "about to fail\n"), log(2, " 3\n")];
        p.update(&update(vec![], logs), &mut out).unwrap();
        let err = "exit code: 3";
        p.update(
            &update(
                vec![v("sha256:b", "hello: make", t(11), t(13), false, err)],
                vec![],
            ),
            &mut out,
        )
        .unwrap();
        let f = p.failure(err).unwrap();
        assert_eq!(f.last_lines, ["about to fail", "+ exit 3"]);
    }

    #[test]
    fn renders_like_buildctl_and_reports_the_failure() {
        let mut p = Progress::new(Mode::Plain, &definition());
        let mut out = Vec::new();
        p.update(
            &update(
                vec![v("sha256:a", "hello: fetch", t(10), t(10), true, "")],
                vec![],
            ),
            &mut out,
        )
        .unwrap();
        p.update(
            &update(
                vec![v("sha256:b", "hello: make", t(11), None, false, "")],
                vec![],
            ),
            &mut out,
        )
        .unwrap();
        let log = |msg: &str, at| VertexLog {
            vertex: "sha256:b".into(),
            timestamp: t(at),
            stream: 1,
            msg: msg.as_bytes().to_vec(),
        };
        p.update(
            &update(
                vec![],
                vec![log("compiling\npart", 12), log("ial line\n", 13)],
            ),
            &mut out,
        )
        .unwrap();
        let err = "process \"/bin/sh -c make\" did not complete successfully: exit code: 2";
        p.update(
            &update(
                vec![v("sha256:b", "hello: make", t(11), t(14), false, err)],
                vec![],
            ),
            &mut out,
        )
        .unwrap();
        p.finish(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "#1 hello: fetch\n#1 CACHED\n#2 hello: make\n#2 1.000 compiling\n#2 2.000 partial line\n#2 ERROR: process \"/bin/sh -c make\" did not complete successfully: exit code: 2\n0 steps run, 1 cached\n"
        );
        let f = p.failure(err).unwrap();
        assert_eq!(f.step, "hello: make");
        assert_eq!(f.location, Some(("hello.yaml".into(), 17)));
        assert_eq!(f.exit_code, Some(2));
        assert_eq!(f.last_lines, ["compiling", "partial line"]);
        let shown = f.to_string();
        assert!(
            shown.starts_with("step `hello: make` failed with exit code 2 (hello.yaml:17)"),
            "{shown}"
        );
    }

    /// The screen with the live elapsed times (header, running steps) masked:
    /// they come from the wall clock.
    fn screen(term: &indicatif::InMemoryTerm) -> String {
        let clock = regex::Regex::new(r"(?m)^(\[\+\] Building |=> .*  )\d+\.\ds").unwrap();
        clock.replace_all(&term.contents(), "${1}T").into_owned()
    }

    #[test]
    fn tty_shows_running_steps_live_and_keeps_finished_ones() {
        let term = indicatif::InMemoryTerm::new(30, 60);
        let target = ProgressDrawTarget::term_like(Box::new(term.clone()));
        let view = View::Tty(TtyView::new(target, None));
        let mut p = Progress::with_view(view, &definition());
        // The tty view draws on its own terminal, never on `out`.
        let mut out = Vec::new();
        let log = |d: &str, msg: &str, at| VertexLog {
            vertex: d.into(),
            timestamp: t(at),
            stream: 1,
            msg: msg.as_bytes().to_vec(),
        };

        p.update(
            &update(
                vec![
                    v("sha256:a", "hello: fetch", t(10), t(10), true, ""),
                    v("sha256:b", "hello: make", t(11), None, false, ""),
                    v("sha256:c", "hello: test", None, None, false, ""),
                ],
                vec![log("sha256:b", "compiling\npart", 12)],
            ),
            &mut out,
        )
        .unwrap();
        assert_eq!(
            screen(&term),
            "=> #1 hello: fetch  CACHED\n\
             [+] Building T (1/3)\n\
             => #2 hello: make  T\n   \
             | compiling"
        );

        // The live line follows the latest complete line of output.
        p.update(
            &update(vec![], vec![log("sha256:b", "ial line\n", 13)]),
            &mut out,
        )
        .unwrap();
        assert_eq!(
            screen(&term),
            "=> #1 hello: fetch  CACHED\n\
             [+] Building T (1/3)\n\
             => #2 hello: make  T\n   \
             | partial line"
        );

        p.update(
            &update(
                vec![
                    v("sha256:b", "hello: make", t(11), t(14), false, ""),
                    v("sha256:c", "hello: test", t(14), None, false, ""),
                ],
                vec![],
            ),
            &mut out,
        )
        .unwrap();
        assert_eq!(
            screen(&term),
            "=> #1 hello: fetch  CACHED\n\
             => #2 hello: make  DONE 3.0s\n\
             [+] Building T (2/3)\n\
             => #3 hello: test  T"
        );

        let err =
            "process \"/bin/sh -c set -e\nmake check\" did not complete successfully: exit code: 2";
        p.update(
            &update(
                vec![
                    v("sha256:c", "hello: test", t(14), t(16), false, err),
                    v(
                        "sha256:d",
                        "hello: strip",
                        t(16),
                        t(16),
                        false,
                        "context canceled",
                    ),
                ],
                vec![log("sha256:c", "FAIL: one\nFAIL: two", 15)],
            ),
            &mut out,
        )
        .unwrap();
        p.finish(&mut out).unwrap();
        assert_eq!(
            screen(&term),
            "=> #1 hello: fetch  CACHED\n\
             => #2 hello: make  DONE 3.0s\n\
             => #3 hello: test  ERROR: exit code: 2\n\
             => #4 hello: strip  CANCELED\n\
             1 steps run, 1 cached"
        );
        assert!(out.is_empty());

        // The failure report reads the same record as in plain mode.
        let f = p.failure(err).unwrap();
        assert_eq!(f.step, "hello: test");
        assert_eq!(f.exit_code, Some(2));
        assert_eq!(f.last_lines, ["FAIL: one", "FAIL: two"]);
    }

    #[test]
    fn tty_notes_steps_still_running_at_the_end() {
        let term = indicatif::InMemoryTerm::new(10, 60);
        let target = ProgressDrawTarget::term_like(Box::new(term.clone()));
        let mut p = Progress::with_view(View::Tty(TtyView::new(target, None)), &definition());
        let running = StatusResponse {
            vertexes: vec![V {
                digest: "sha256:b".into(),
                name: "hello: make".into(),
                started: t(11),
                ..Default::default()
            }],
            ..Default::default()
        };
        let mut out = Vec::new();
        p.update(&running, &mut out).unwrap();
        assert_eq!(screen(&term), "[+] Building T (0/1)\n=> #1 hello: make  T");
        // A progress meter shows before its line ends.
        let meter = |msg: &[u8]| StatusResponse {
            logs: vec![VertexLog {
                vertex: "sha256:b".into(),
                msg: msg.to_vec(),
                ..Default::default()
            }],
            ..Default::default()
        };
        p.update(&meter(b"\r10%\r50%"), &mut out).unwrap();
        assert_eq!(
            screen(&term),
            "[+] Building T (0/1)\n=> #1 hello: make  T\n   | 50%"
        );
        p.update(&meter(b"\r100%\n"), &mut out).unwrap();
        assert_eq!(
            screen(&term),
            "[+] Building T (0/1)\n=> #1 hello: make  T\n   | 100%"
        );
        // Output wider than the terminal is cut, not wrapped.
        let long = VertexLog {
            vertex: "sha256:b".into(),
            msg: format!("{}\n", "x".repeat(100)).into_bytes(),
            ..Default::default()
        };
        let logs = StatusResponse {
            logs: vec![long],
            ..Default::default()
        };
        p.update(&logs, &mut out).unwrap();
        assert_eq!(
            screen(&term),
            format!(
                "[+] Building T (0/1)\n=> #1 hello: make  T\n   | {}",
                "x".repeat(55)
            )
        );
        p.finish(&mut out).unwrap();
        assert_eq!(
            screen(&term),
            "=> #1 hello: make  UNFINISHED\n0 steps run, 0 cached"
        );
    }

    #[test]
    fn forced_tty_without_a_terminal_is_plain() {
        // A pipe, a file or `TERM=dumb`: indicatif would hide everything.
        for mode in [Mode::Tty, Mode::Auto] {
            let view = View::choose(mode, ProgressDrawTarget::hidden);
            assert!(matches!(view, View::Plain));
        }
        let term = indicatif::InMemoryTerm::new(10, 40);
        let view = View::choose(Mode::Auto, || ProgressDrawTarget::term_like(Box::new(term)));
        assert!(matches!(view, View::Tty(_)));
        assert!(matches!(
            View::choose(Mode::Plain, ProgressDrawTarget::hidden),
            View::Plain
        ));
    }

    #[test]
    fn json_is_one_object_per_line() {
        let mut p = Progress::new(Mode::Json, &pb::Definition::default());
        let mut out = Vec::new();
        let s = StatusResponse {
            vertexes: vec![V {
                digest: "sha256:a".into(),
                name: "say \"hi\"\n".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        p.update(&s, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 1);
        assert!(text.contains("\"name\":\"say \\\"hi\\\"\\n\""), "{text}");
    }
}
