//! Ctrl-C and SIGTERM during a build. The listeners are installed once, before
//! any work starts, so a signal that arrives while no future is waiting for it
//! is still seen at the next wait rather than lost.

use std::future::Future;

use tokio::signal::unix::{signal, Signal, SignalKind};

use crate::Failure;

pub struct Interrupts {
    interrupt: Signal,
    terminate: Signal,
}

/// What a build prints when a signal stops it.
pub const CANCELLED: &str = "interrupted: the build was cancelled and nothing was written";

impl Interrupts {
    pub fn listen() -> Result<Interrupts, Failure> {
        let fail = |e: std::io::Error| format!("cannot listen for Ctrl-C: {e}");
        Ok(Interrupts {
            interrupt: signal(SignalKind::interrupt()).map_err(fail)?,
            terminate: signal(SignalKind::terminate()).map_err(fail)?,
        })
    }

    /// Waits for the next signal and returns the exit code a shell gives a
    /// process it killed (128 + the signal's number).
    pub async fn next(&mut self) -> u8 {
        tokio::select! {
            _ = self.interrupt.recv() => 130,
            _ = self.terminate.recv() => 143,
        }
    }

    /// Runs `work` unless a signal comes first; then `work` is dropped (which
    /// cancels whatever it was waiting on) and the build ends.
    pub async fn race<T>(&mut self, work: impl Future<Output = T>) -> Result<T, Failure> {
        tokio::select! {
            done = work => Ok(done),
            code = self.next() => {
                eprintln!("{CANCELLED}");
                Err(Failure::Reported(code))
            }
        }
    }
}
