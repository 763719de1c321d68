//! Cancelling a job from outside it: a signal, a scheduler giving up. A job
//! races each wait against `cancelled()`, and code that cannot wait (the
//! packaging threads) polls `is_cancelled()` between files.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

#[derive(Clone, Default)]
pub struct Cancel {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    flag: AtomicBool,
    notify: Notify,
}

impl Cancel {
    pub fn new() -> Cancel {
        Cancel::default()
    }

    pub fn cancel(&self) {
        self.inner.flag.store(true, Ordering::SeqCst);
        self.inner.notify.notify_waiters();
    }

    pub fn is_cancelled(&self) -> bool {
        self.inner.flag.load(Ordering::SeqCst)
    }

    /// The flag itself, for code off the async threads.
    pub fn flag(&self) -> &AtomicBool {
        &self.inner.flag
    }

    /// Resolves once `cancel` has been called, even if it was called before.
    pub async fn cancelled(&self) {
        loop {
            let notified = self.inner.notify.notified();
            tokio::pin!(notified);
            // Registered before the flag is read, so a cancel between the
            // two is not missed.
            notified.as_mut().enable();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }

    /// Runs `work` unless cancelled first; then `work` is dropped, which
    /// cancels whatever it was waiting on.
    pub async fn race<T>(&self, work: impl std::future::Future<Output = T>) -> Option<T> {
        tokio::select! {
            done = work => Some(done),
            () = self.cancelled() => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_cancel_before_or_during_the_wait_is_seen() {
        let c = Cancel::new();
        c.cancel();
        c.cancelled().await;
        let c = Cancel::new();
        let other = c.clone();
        let waiting = tokio::spawn(async move { other.race(std::future::pending::<()>()).await });
        tokio::task::yield_now().await;
        c.cancel();
        assert_eq!(waiting.await.unwrap(), None);
        assert_eq!(Cancel::new().race(async { 7 }).await, Some(7));
    }
}
