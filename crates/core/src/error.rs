//! Typed errors returned by the client runtime.

use std::path::PathBuf;

pub use outpost_store::StoreError;

/// Why a runtime operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CoreError {
    /// The data directory could not be created or used.
    #[error("cannot use data directory {path}: {source}")]
    DataDir {
        /// The directory that was asked for.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The profile is locked (never unlocked, locked by the user, or auto-locked when idle).
    #[error("the profile is locked: unlock it first")]
    Locked,
    /// The store refused or failed; see the inner error.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A background task died (a bug, reported rather than hidden).
    #[error("internal task failed")]
    Task,
    /// The profile is in no workspace (create or join one first).
    #[error("this profile is in no workspace: create one or join one with an invite")]
    NoWorkspace,
    /// The relay's address or TLS setup is unusable.
    #[error("relay: {0}")]
    Relay(String),
    /// Sync did not complete; see the inner error (nothing written is lost).
    #[error(transparent)]
    Sync(#[from] outpost_sync::SyncError),
    /// A call or visit could not go ahead; see the inner error.
    #[error(transparent)]
    Call(#[from] crate::calls::CallError),
}
