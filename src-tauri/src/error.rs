//! The typed error every command returns across IPC.
//!
//! Messages are for people and never carry patient data or key material: core errors are mapped
//! to a kind the UI can act on plus a short, safe explanation.

use serde::Serialize;

/// Why a command failed, as the UI receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type, thiserror::Error)]
#[serde(tag = "kind", content = "message", rename_all = "camelCase")]
#[non_exhaustive]
pub enum CommandError {
    /// The data directory could not be used (missing permission, full or read-only disk).
    #[error("data directory unavailable: {0}")]
    DataDir(String),
}

impl From<outpost_core::CoreError> for CommandError {
    fn from(err: outpost_core::CoreError) -> Self {
        match err {
            outpost_core::CoreError::DataDir { source, .. } => {
                Self::DataDir(source.kind().to_string())
            }
            // Core adds variants over time; until one is mapped it surfaces as a data-dir failure
            // would: visible, typed, and without internals.
            _ => Self::DataDir("unexpected core error".to_owned()),
        }
    }
}
