//! Outpost's end-to-end scenarios live in `tests/`; this library only holds what they share.
//!
//! - `tests/core_runtime.rs`: the core runtime over a real data directory, as the shell uses it.
//! - `tests/desktop.rs`: the real desktop binary in a real window, driven over WebDriver.
//! - `tests/sync.rs`: a relay process and several devices (the command line) syncing through
//!   it: offline edits, killed processes, removal, invites, rollback, zero knowledge, tamper.
//! - [`scenario`]: the relay and device processes those scenarios drive.

pub mod scenario;

use std::path::PathBuf;

/// The workspace root, for tests that need the built UI or the app binary.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), PathBuf::from)
}
