//! Lines for the person running melangec, beside the progress view: notes,
//! what was written, how long it took. Jobs write through a `Console`, so a
//! caller that runs several can give each its own.

use std::collections::HashSet;
use std::fmt::Display;
use std::io::Write;
use std::sync::{Arc, Mutex};

#[derive(Clone)]
pub struct Console {
    out: Arc<Mutex<dyn Write + Send>>,
    /// Notes said so far: each is said once, however many environments
    /// or solves of one run come to it.
    noted: Arc<Mutex<HashSet<String>>>,
}

impl Console {
    pub fn stderr() -> Console {
        Console::to(std::io::stderr())
    }

    pub fn to(out: impl Write + Send + 'static) -> Console {
        Console {
            out: Arc::new(Mutex::new(out)),
            noted: Arc::default(),
        }
    }

    /// One line. A console that cannot be written to loses it: nothing a
    /// build does depends on being heard.
    pub fn line(&self, text: impl Display) {
        self.put(format!("{text}\n").as_bytes());
    }

    pub fn note(&self, text: impl Display) {
        let text = text.to_string();
        let new = self
            .noted
            .lock()
            .map_or(true, |mut n| n.insert(text.clone()));
        if new {
            self.line(format_args!("note: {text}"));
        }
    }

    /// The console as a stream, for views that write lines themselves;
    /// whole lines reach the console, so two writers never mix one.
    pub fn writer(&self) -> ConsoleWriter<'_> {
        ConsoleWriter {
            console: self,
            pending: Vec::new(),
        }
    }

    fn put(&self, bytes: &[u8]) {
        if let Ok(mut out) = self.out.lock() {
            let _ = out.write_all(bytes);
            let _ = out.flush();
        }
    }
}

pub struct ConsoleWriter<'a> {
    console: &'a Console,
    pending: Vec<u8>,
}

impl Write for ConsoleWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        if let Some(end) = self.pending.iter().rposition(|b| *b == b'\n') {
            let lines: Vec<u8> = self.pending.drain(..=end).collect();
            self.console.put(&lines);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for ConsoleWriter<'_> {
    fn drop(&mut self) {
        if !self.pending.is_empty() {
            self.console.put(&self.pending);
        }
    }
}

impl std::fmt::Debug for Console {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Console")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn whole_lines_in_order() {
        let seen = Shared::default();
        let console = Console::to(seen.clone());
        console.note("first");
        {
            let mut w = console.writer();
            write!(w, "#1 ").unwrap();
            writeln!(w, "step").unwrap();
            write!(w, "tail").unwrap();
        }
        console.line("last");
        assert_eq!(
            String::from_utf8(seen.0.lock().unwrap().clone()).unwrap(),
            "note: first\n#1 step\ntaillast\n"
        );
    }

    #[test]
    fn a_note_is_said_once() {
        let seen = Shared::default();
        let console = Console::to(seen.clone());
        let other = console.clone();
        console.note("repository ./packages has no index yet");
        other.note("repository ./packages has no index yet");
        console.note("another");
        assert_eq!(
            String::from_utf8(seen.0.lock().unwrap().clone()).unwrap(),
            "note: repository ./packages has no index yet\nnote: another\n"
        );
    }
}
