//! Lines for the person running melangec, beside the progress view: notes,
//! what was written, how long it took. Jobs write through a `Console`, so a
//! caller that runs several can give each its own.

use std::fmt::Display;
use std::io::Write;
use std::sync::{Arc, Mutex};

#[derive(Clone)]
pub struct Console {
    out: Arc<Mutex<dyn Write + Send>>,
}

impl Console {
    pub fn stderr() -> Console {
        Console::to(std::io::stderr())
    }

    pub fn to(out: impl Write + Send + 'static) -> Console {
        Console {
            out: Arc::new(Mutex::new(out)),
        }
    }

    /// One line. A console that cannot be written to loses it: nothing a
    /// build does depends on being heard.
    pub fn line(&self, text: impl Display) {
        if let Ok(mut out) = self.out.lock() {
            let _ = writeln!(out, "{text}");
            let _ = out.flush();
        }
    }

    pub fn note(&self, text: impl Display) {
        self.line(format_args!("note: {text}"));
    }
}

impl std::fmt::Debug for Console {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Console")
    }
}
