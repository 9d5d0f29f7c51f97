//! The typed error every command returns across IPC.
//!
//! Messages are for people and never carry patient data or key material: core errors are mapped
//! to a kind the UI can act on plus a short, safe explanation.

use outpost_core::{CoreError, StoreError};
use serde::Serialize;

/// Why a command failed, as the UI receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type, thiserror::Error)]
#[serde(tag = "kind", content = "message", rename_all = "camelCase")]
#[non_exhaustive]
pub enum CommandError {
    /// The data directory could not be used (missing permission, full or read-only disk).
    #[error("data directory unavailable: {0}")]
    DataDir(String),
    /// The profile is locked (or auto-locked when idle): show the unlock screen.
    #[error("locked")]
    Locked,
    /// No profile exists yet: show onboarding.
    #[error("no profile")]
    NoProfile,
    /// The passphrase or recovery key is wrong.
    #[error("{0}")]
    WrongSecret(String),
    /// Too many failed attempts; the message says how long to wait.
    #[error("{0}")]
    RateLimited(String),
    /// The input is invalid; the message names the field.
    #[error("{0}")]
    Invalid(String),
    /// A signed note cannot change; add an addendum.
    #[error("{0}")]
    Immutable(String),
    /// The record does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The signed-in user's role does not allow this.
    #[error("{0}")]
    NotPermitted(String),
    /// The drug conflicts with the patient's allergies (or cannot be checked against them):
    /// ask the prescriber for an override reason, or for another drug.
    #[error("{0}")]
    AllergyConflict(String),
    /// Someone else saved first; nothing was lost: reload and review.
    #[error("{0}")]
    Conflict(String),
    /// Another writer (the command line) holds the profile; try again.
    #[error("{0}")]
    Busy(String),
    /// A signature does not hold, or the profile was tampered with.
    #[error("{0}")]
    Integrity(String),
    /// The store is damaged, or its files are unusable; nothing was overwritten.
    #[error("{0}")]
    Storage(String),
    /// Sync did not complete (the relay unreachable, this device removed); nothing is lost.
    #[error("{0}")]
    Sync(String),
    /// A call or visit could not go ahead (the peer offline, a used or expired visit code).
    #[error("{0}")]
    Call(String),
}

impl From<CoreError> for CommandError {
    fn from(err: CoreError) -> Self {
        match err {
            CoreError::DataDir { source, .. } => Self::DataDir(source.kind().to_string()),
            CoreError::Locked => Self::Locked,
            CoreError::Store(e) => e.into(),
            CoreError::NoWorkspace => Self::NotFound(err.to_string()),
            // Sync failures are written to be shown: the relay unreachable, this device removed.
            CoreError::Sync(_) | CoreError::Relay(_) => Self::Sync(err.to_string()),
            // Call errors are written to be shown: a used visit code, the relay unreachable.
            CoreError::Call(_) => Self::Call(err.to_string()),
            // Core adds variants over time; until one is mapped it surfaces as a storage
            // failure: visible, typed, and without internals.
            _ => Self::Storage("unexpected internal error".to_owned()),
        }
    }
}

impl From<StoreError> for CommandError {
    fn from(err: StoreError) -> Self {
        // Store messages are written to be shown and carry no patient data.
        let message = err.to_string();
        match err {
            StoreError::NoProfile => Self::NoProfile,
            StoreError::WrongPassphrase
            | StoreError::WrongRecoveryKey
            | StoreError::UnknownUser => Self::WrongSecret(message),
            StoreError::RateLimited { .. } => Self::RateLimited(message),
            StoreError::Invalid { .. }
            | StoreError::ProfileExists
            | StoreError::PatientUserRefused => Self::Invalid(message),
            StoreError::Immutable => Self::Immutable(message),
            StoreError::NotFound(_) => Self::NotFound(message),
            StoreError::NotPermitted { .. } => Self::NotPermitted(message),
            StoreError::AllergyConflict { .. } | StoreError::UncheckedDrug => {
                Self::AllergyConflict(message)
            }
            StoreError::Conflict { .. } => Self::Conflict(message),
            StoreError::Busy | StoreError::InUseElsewhere => Self::Busy(message),
            StoreError::SignatureInvalid(_)
            | StoreError::IdentityMismatch
            | StoreError::LogBroken { .. }
            | StoreError::AuditBroken { .. } => Self::Integrity(message),
            _ => Self::Storage(message),
        }
    }
}
