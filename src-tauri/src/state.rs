//! What the shell keeps in Tauri's managed state, and where the data directory is.

use std::path::PathBuf;

use tauri::{Manager, Runtime};

/// Environment variable that overrides the data directory (tests, portable installs, and
/// clinics that keep profiles on an encrypted volume).
pub const DATA_DIR_ENV: &str = "OUTPOST_DATA_DIR";

/// The shell's managed state: the one core runtime for this app.
#[derive(Debug)]
pub struct AppState {
    /// The client runtime every command calls into.
    pub core: outpost_core::Core,
    /// Calls and video visits.
    pub desk: outpost_core::desk::CallDesk,
}

impl AppState {
    /// Wraps a core runtime for Tauri's state.
    pub fn new(core: outpost_core::Core) -> Self {
        let desk = outpost_core::desk::CallDesk::new(core.clone(), call_config());
        Self { core, desk }
    }
}

/// Calls use the camera and microphone in a build with the `devices` feature (unless
/// `OUTPOST_SYNTHETIC_MEDIA` is set, for demos and tests); otherwise the synthetic sources.
fn call_config() -> outpost_core::call::session::CallConfig {
    #[allow(unused_mut)] // changed only with the `devices` feature
    let mut config = outpost_core::call::session::CallConfig::default();
    #[cfg(feature = "devices")]
    if std::env::var_os("OUTPOST_SYNTHETIC_MEDIA").is_none() {
        config.media = outpost_core::call::source::MediaInput::Devices;
    }
    config
}

/// The data directory: `$OUTPOST_DATA_DIR` when set, otherwise the platform's app data dir.
pub fn resolve_data_dir<R: Runtime>(app: &tauri::AppHandle<R>) -> tauri::Result<PathBuf> {
    match std::env::var_os(DATA_DIR_ENV) {
        Some(dir) if !dir.is_empty() => Ok(PathBuf::from(dir)),
        _ => app.path().app_data_dir(),
    }
}

/// Environment variable a clinic sets to change how long an unattended session stays open
/// (seconds; the default is the core's five minutes).
pub const IDLE_LOCK_ENV: &str = "OUTPOST_IDLE_LOCK_SECS";

/// The idle time from [`IDLE_LOCK_ENV`], when set to a whole number of seconds (at least 1).
pub fn idle_lock_secs() -> Option<u32> {
    std::env::var(IDLE_LOCK_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u32>().ok())
        .map(|s| s.max(1))
}

/// How often the idle auto-lock is checked.
const IDLE_CHECK: std::time::Duration = std::time::Duration::from_secs(2);

/// The event the window hears when the core locked itself: it clears the screen at once.
pub const LOCKED_EVENT: &str = "locked";

/// Locks the profile when it has been idle too long (the core decides; this only ticks), and
/// tells the window at once, so no chart stays on screen after the lock.
pub fn spawn_idle_lock<R: Runtime>(core: outpost_core::Core, app: tauri::AppHandle<R>) {
    tauri::async_runtime::spawn(async move {
        loop {
            tokio::time::sleep(IDLE_CHECK).await;
            if core.tick().await {
                let _ = tauri::Emitter::emit(&app, LOCKED_EVENT, ());
            }
        }
    });
}

/// How often the background sync runs while the profile is unlocked and in a workspace.
const SYNC_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// Syncs in the background while unlocked and in a workspace. Failures (the relay unreachable)
/// are recorded by the core and shown by the sync indicator; the loop simply tries again.
pub fn spawn_sync_loop(core: outpost_core::Core) {
    tauri::async_runtime::spawn(async move {
        loop {
            tokio::time::sleep(SYNC_EVERY).await;
            if core.is_unlocked().await
                && matches!(core.in_background(core.workspace()).await, Ok(Some(_)))
            {
                let _ = core.in_background(core.sync_now()).await;
            }
        }
    });
}
