//! Ctrl-C and SIGTERM: each cancels the job. The listeners are installed
//! once, before any work starts, so a signal that arrives while nothing is
//! waiting for it is still seen rather than lost.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use melangec::cancel::Cancel;
use tokio::signal::unix::{signal, SignalKind};

use super::Failure;

/// What a command prints when a signal stops it.
pub const CANCELLED: &str = "interrupted: the build was cancelled and nothing was written";

pub struct Interrupts {
    /// The exit code a shell gives a process the signal killed (128 + its
    /// number), once one came.
    code: Arc<AtomicU8>,
}

impl Interrupts {
    /// Starts listening; a signal cancels `cancel`. Must run inside the
    /// async runtime.
    pub fn listen(cancel: &Cancel) -> Result<Interrupts, Failure> {
        let fail = |e: std::io::Error| Failure::Message(format!("cannot listen for Ctrl-C: {e}"));
        let mut interrupt = signal(SignalKind::interrupt()).map_err(fail)?;
        let mut terminate = signal(SignalKind::terminate()).map_err(fail)?;
        let code = Arc::new(AtomicU8::new(0));
        let (seen, cancel) = (code.clone(), cancel.clone());
        tokio::spawn(async move {
            let code = tokio::select! {
                _ = interrupt.recv() => 130,
                _ = terminate.recv() => 143,
            };
            seen.store(code, Ordering::SeqCst);
            cancel.cancel();
        });
        Ok(Interrupts { code })
    }

    /// How the command ends when the work was cancelled.
    pub fn failure(&self) -> Failure {
        match self.code.load(Ordering::SeqCst) {
            0 => Failure::Cancelled(1),
            code => Failure::Cancelled(code),
        }
    }
}
