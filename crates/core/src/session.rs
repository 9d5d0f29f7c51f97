//! The unlocked session: the open store, and the idle timer that locks it.
//!
//! Every chart call goes through [`Core::with_store`], which runs the store work on a blocking
//! thread (SQLite and Argon2id are blocking) and refreshes the idle timer. [`Core::tick`], called
//! periodically by the shell (and by tests with an injected clock), locks an idle session: the
//! store is closed and its key zeroized.

use std::sync::Arc;

use outpost_store::{Clock, Store, StoreError};

use crate::{Core, CoreError};

/// Default idle time before auto-lock.
pub const DEFAULT_IDLE_LOCK_MS: i64 = 5 * 60 * 1000;

tokio::task_local! {
    /// Set while the core works on its own account (the background sync, the screen's status
    /// poll): that is not someone using the app, so it never keeps a session from locking.
    static BACKGROUND: ();
}

/// An unlocked store and when it was last used.
#[derive(Debug)]
pub(crate) struct Session {
    pub(crate) store: Store,
    pub(crate) last_activity: i64,
}

/// Runs `work` as background work (see [`Core::in_background`]); for tasks that hold no
/// `Core` handle, such as the call line's signal router.
pub(crate) async fn background<T>(work: impl std::future::Future<Output = T>) -> T {
    BACKGROUND.scope((), work).await
}

impl Core {
    /// Counts as someone using the app without touching the store: a video visit in progress,
    /// where the person is there though the chart is untouched. A session already past its
    /// idle time is not revived.
    pub async fn touch(&self) {
        let mut guard = self.inner.session.lock().await;
        let now = self.inner.clock.monotonic_ms();
        if let Some(s) = guard.as_mut()
            && now - s.last_activity < self.inner.idle_lock_ms()
        {
            s.last_activity = now;
        }
    }

    /// Runs `work` as background work: the store calls it makes do not count as activity, so a
    /// laptop left with the app open still locks when its idle time is up.
    pub async fn in_background<T>(&self, work: impl std::future::Future<Output = T>) -> T {
        background(work).await
    }

    /// Runs `f` on the unlocked store on a blocking thread, refreshing the idle timer (unless
    /// called [`Core::in_background`]).
    pub async fn with_store<T, F>(&self, f: F) -> Result<T, CoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        let by_a_person = BACKGROUND.try_with(|()| ()).is_err();
        tokio::task::spawn_blocking(move || {
            let mut guard = inner.session.blocking_lock();
            let now = inner.clock.monotonic_ms();
            let session = guard.as_mut().ok_or(CoreError::Locked)?;
            if now - session.last_activity >= inner.idle_lock_ms() {
                // Idle too long: lock now rather than serve the call.
                if let Some(s) = guard.take() {
                    let _ = s.store.lock();
                }
                return Err(CoreError::Locked);
            }
            if by_a_person {
                session.last_activity = now;
            }
            Ok(f(&mut session.store)?)
        })
        .await
        .map_err(|_| CoreError::Task)?
    }

    /// Locks when the session has been idle for the configured time. Returns whether it locked.
    pub async fn tick(&self) -> bool {
        let mut guard = self.inner.session.lock().await;
        let idle = guard.as_ref().is_some_and(|s| {
            self.inner.clock.monotonic_ms() - s.last_activity >= self.inner.idle_lock_ms()
        });
        if idle && let Some(s) = guard.take() {
            let _ = tokio::task::spawn_blocking(move || s.store.lock()).await;
        }
        idle
    }

    /// Locks now: closes the store and zeroizes its key.
    pub async fn lock(&self) -> Result<(), CoreError> {
        let session = self.inner.session.lock().await.take();
        if let Some(s) = session {
            tokio::task::spawn_blocking(move || s.store.lock())
                .await
                .map_err(|_| CoreError::Task)??;
        }
        Ok(())
    }

    /// Whether a store is unlocked right now.
    pub async fn is_unlocked(&self) -> bool {
        self.inner.session.lock().await.is_some()
    }

    pub(crate) async fn install(&self, store: Store) {
        let now = self.inner.clock.monotonic_ms();
        let old = self.inner.session.lock().await.replace(Session {
            store,
            last_activity: now,
        });
        if let Some(s) = old {
            let _ = tokio::task::spawn_blocking(move || s.store.lock()).await;
        }
    }

    /// The clock this runtime uses.
    pub fn clock(&self) -> Arc<dyn Clock> {
        Arc::clone(&self.inner.clock)
    }
}
