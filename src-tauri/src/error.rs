//! The typed error every command returns across IPC.
//!
//! An error reaches the UI as what to do about it (`kind`), which error it is (`code`) and its
//! parameters, so the UI can say it in the person's language; `message` is the same in English,
//! for the command line's parity and for support. None of them carries patient data or key
//! material: the store's errors name fields, roles and catalogue drugs, never typed values.

use std::collections::BTreeMap;

use outpost_core::{CoreError, StoreError};
use serde::Serialize;

/// What the UI should do about a failed command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum ErrorKind {
    /// The data directory could not be used (missing permission, full or read-only disk).
    DataDir,
    /// The profile is locked (or auto-locked when idle): show the unlock screen.
    Locked,
    /// No profile exists yet: show onboarding.
    NoProfile,
    /// The passphrase or recovery key is wrong.
    WrongSecret,
    /// Too many failed attempts; the parameters say how long to wait.
    RateLimited,
    /// The input is invalid; the parameters name the field.
    Invalid,
    /// A signed note cannot change; add an addendum.
    Immutable,
    /// The record does not exist.
    NotFound,
    /// The signed-in user's role does not allow this.
    NotPermitted,
    /// The drug conflicts with the patient's allergies (or cannot be checked against them):
    /// ask the prescriber for an override reason, or for another drug.
    AllergyConflict,
    /// Someone else saved first; nothing was lost: reload and review.
    Conflict,
    /// Another writer (the command line) holds the profile; try again.
    Busy,
    /// A signature does not hold, or the profile was tampered with.
    Integrity,
    /// The store is damaged, or its files are unusable; nothing was overwritten.
    Storage,
    /// Sync did not complete (the relay unreachable, this device removed); nothing is lost.
    Sync,
    /// A call or visit could not go ahead (the peer offline, a used or expired visit code).
    Call,
}

/// Why a command failed, as the UI receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type, thiserror::Error)]
#[error("{message}")]
pub struct CommandError {
    /// What the UI should do about it.
    pub kind: ErrorKind,
    /// Which error it is, stable across versions (`wrongPassphrase`, `invalid`,
    /// `allergyConflict`…): the UI's catalogue key.
    pub code: String,
    /// The error's parameters by name (`field`, `reason`, `seconds`, `drug`…): identifiers,
    /// catalogue names and counts, never patient data.
    pub params: BTreeMap<String, String>,
    /// The error in English.
    pub message: String,
}

impl CommandError {
    /// An error whose only parameter is its English text, `detail` (for failures the shell finds
    /// itself, and for sync and call errors, which are written as sentences).
    pub fn new(kind: ErrorKind, code: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        let code = code.to_owned();
        let params = BTreeMap::from([("detail".to_owned(), message.clone())]);
        Self {
            kind,
            code,
            params,
            message,
        }
    }

    /// Invalid input found by the shell (a header missing, a file unreadable).
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Invalid, "invalidDetail", message)
    }

    fn coded<const N: usize>(
        kind: ErrorKind,
        code: &str,
        params: [(&str, String); N],
        message: String,
    ) -> Self {
        Self {
            kind,
            code: code.to_owned(),
            params: params.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
            message,
        }
    }
}

impl From<CoreError> for CommandError {
    fn from(err: CoreError) -> Self {
        let message = err.to_string();
        match err {
            CoreError::DataDir { source, .. } => Self::coded(
                ErrorKind::DataDir,
                "dataDir",
                [("reason", source.kind().to_string())],
                format!("data directory unavailable: {}", source.kind()),
            ),
            CoreError::Locked => Self::coded(ErrorKind::Locked, "locked", [], message),
            CoreError::Store(e) => e.into(),
            CoreError::NoWorkspace => Self::coded(ErrorKind::NotFound, "noWorkspace", [], message),
            // Sync failures are written to be shown: the relay unreachable, this device removed.
            CoreError::Sync(_) | CoreError::Relay(_) => Self::new(ErrorKind::Sync, "sync", message),
            // Call errors are written to be shown: a used visit code, the relay unreachable.
            CoreError::Call(_) => Self::new(ErrorKind::Call, "call", message),
            // Core adds variants over time; until one is mapped it surfaces as a storage
            // failure: visible, typed, and without internals.
            _ => Self::coded(
                ErrorKind::Storage,
                "internal",
                [],
                "unexpected internal error".to_owned(),
            ),
        }
    }
}

impl From<outpost_update::UpdateError> for CommandError {
    fn from(err: outpost_update::UpdateError) -> Self {
        use ErrorKind as K;
        use outpost_update::UpdateError as U;
        let message = err.to_string();
        match err {
            U::NoUpdateKey => Self::coded(K::Integrity, "updateNoKey", [], message),
            U::Unsigned => Self::coded(K::Integrity, "updateUnsigned", [], message),
            U::WrongKey => Self::coded(K::Integrity, "updateWrongKey", [], message),
            U::Tampered => Self::coded(K::Integrity, "updateTampered", [], message),
            U::Unnamed => Self::coded(K::Integrity, "updateUnnamed", [], message),
            U::OtherFile { signed, .. } => Self::coded(
                K::Integrity,
                "updateOtherFile",
                [("signed", signed)],
                message,
            ),
            U::NotNewer { found, installed } => Self::coded(
                K::Invalid,
                "updateNotNewer",
                [
                    ("found", found.to_string()),
                    ("installed", installed.to_string()),
                ],
                message,
            ),
            U::NotForThisMachine(file) => Self::coded(
                K::Invalid,
                "updateNotForThisMachine",
                [("file", file)],
                message,
            ),
            U::Io(kind) => Self::coded(K::Storage, "updateIo", [("io", kind)], message),
            U::NoServer => Self::coded(K::Invalid, "updateNoServer", [], message),
            U::Unreachable(detail) => {
                Self::coded(K::Busy, "updateUnreachable", [("detail", detail)], message)
            }
            U::NotPublished => Self::coded(K::NotFound, "updateNotPublished", [], message),
            U::BadManifest => Self::coded(K::Integrity, "updateBadManifest", [], message),
            U::ReleaseList => Self::coded(K::Invalid, "updateReleaseList", [], message),
            U::NotListedVersion { found, listed } => Self::coded(
                K::Integrity,
                "updateNotListedVersion",
                [("found", found.to_string()), ("listed", listed.to_string())],
                message,
            ),
            _ => Self::coded(K::Storage, "storage", [], message),
        }
    }
}

impl From<StoreError> for CommandError {
    #[allow(clippy::too_many_lines)] // one arm per store error, each naming its parameters
    fn from(err: StoreError) -> Self {
        use ErrorKind as K;
        // Store messages are written to be shown and carry no patient data.
        let message = err.to_string();
        let s = |v: &str| v.to_owned();
        match err {
            StoreError::NoProfile => Self::coded(K::NoProfile, "noProfile", [], message),
            StoreError::WrongPassphrase => {
                Self::coded(K::WrongSecret, "wrongPassphrase", [], message)
            }
            StoreError::WrongRecoveryKey => {
                Self::coded(K::WrongSecret, "wrongRecoveryKey", [], message)
            }
            StoreError::UnknownUser => Self::coded(K::WrongSecret, "unknownUser", [], message),
            StoreError::RateLimited { retry_after_secs } => Self::coded(
                K::RateLimited,
                "rateLimited",
                [("seconds", retry_after_secs.to_string())],
                message,
            ),
            StoreError::Invalid { field, reason } => Self::coded(
                K::Invalid,
                "invalid",
                [("field", s(field)), ("reason", s(reason))],
                message,
            ),
            StoreError::ProfileExists => Self::coded(K::Invalid, "profileExists", [], message),
            StoreError::PatientUserRefused => {
                Self::coded(K::Invalid, "patientUserRefused", [], message)
            }
            StoreError::Immutable => Self::coded(K::Immutable, "immutable", [], message),
            StoreError::NotFound(thing) => {
                Self::coded(K::NotFound, "notFound", [("thing", s(thing))], message)
            }
            StoreError::NotPermitted {
                action,
                needs,
                role,
            } => Self::coded(
                K::NotPermitted,
                "notPermitted",
                [
                    ("action", s(action)),
                    ("needs", s(needs)),
                    ("role", role.as_str().to_owned()),
                ],
                message,
            ),
            StoreError::AllergyConflict {
                drug,
                relation,
                allergy,
                severity,
            } => Self::coded(
                K::AllergyConflict,
                "allergyConflict",
                [
                    ("drug", s(drug)),
                    ("relation", s(relation)),
                    ("allergy", s(allergy)),
                    ("severity", s(severity)),
                ],
                message,
            ),
            StoreError::UncheckedDrug => {
                Self::coded(K::AllergyConflict, "uncheckedDrug", [], message)
            }
            StoreError::Conflict { what, hint } => Self::coded(
                K::Conflict,
                "conflict",
                [("what", s(what)), ("hint", s(hint))],
                message,
            ),
            StoreError::Busy => Self::coded(K::Busy, "busy", [], message),
            StoreError::InUseElsewhere => Self::coded(K::Busy, "inUseElsewhere", [], message),
            StoreError::SignatureInvalid(reason) => Self::coded(
                K::Integrity,
                "signatureInvalid",
                [("reason", s(reason))],
                message,
            ),
            StoreError::IdentityMismatch => {
                Self::coded(K::Integrity, "identityMismatch", [], message)
            }
            StoreError::LogBroken { seq, reason, .. } => Self::coded(
                K::Integrity,
                "logBroken",
                [("seq", seq.to_string()), ("reason", s(reason))],
                message,
            ),
            StoreError::AuditBroken { seq, reason } => Self::coded(
                K::Integrity,
                "auditBroken",
                [("seq", seq.to_string()), ("reason", s(reason))],
                message,
            ),
            StoreError::NotADatabase => Self::coded(K::Storage, "notADatabase", [], message),
            StoreError::Corrupt(reason) => {
                Self::coded(K::Storage, "corrupt", [("reason", s(reason))], message)
            }
            StoreError::NewerSchema { found, supported } => Self::coded(
                K::Storage,
                "newerSchema",
                [
                    ("found", found.to_string()),
                    ("supported", supported.to_string()),
                ],
                message,
            ),
            StoreError::NoSpaceForUpgrade { needed_mib } => Self::coded(
                K::Storage,
                "noSpaceForUpgrade",
                [("mib", needed_mib.to_string())],
                message,
            ),
            StoreError::ProfileFile { file, reason } => Self::coded(
                K::Storage,
                "profileFile",
                [("file", s(file)), ("reason", s(reason))],
                message,
            ),
            StoreError::UnknownCode { field, .. } => {
                let field = s(field);
                Self::coded(K::Storage, "unknownCode", [("field", field)], message)
            }
            StoreError::BadBackup(reason) => {
                Self::coded(K::Storage, "badBackup", [("reason", s(reason))], message)
            }
            StoreError::Io(ref e) => {
                let kind = format!("{:?}", e.kind());
                Self::coded(K::Storage, "io", [("io", kind)], message)
            }
            _ => Self::coded(K::Storage, "storage", [], message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_error_keeps_its_code_and_parameters() {
        let err = CommandError::from(StoreError::Invalid {
            field: "systolic",
            reason: "must be greater than the diastolic",
        });
        assert_eq!(err.kind, ErrorKind::Invalid);
        assert_eq!(err.code, "invalid");
        assert_eq!(err.params["field"], "systolic");
        assert_eq!(err.params["reason"], "must be greater than the diastolic");
        assert_eq!(
            err.message,
            "invalid systolic: must be greater than the diastolic"
        );
        let wire = serde_json::to_value(&err).unwrap();
        assert_eq!(wire["kind"], "invalid");
        assert_eq!(wire["params"]["field"], "systolic");
    }

    #[test]
    fn errors_that_share_a_kind_keep_their_own_codes() {
        let passphrase = CommandError::from(StoreError::WrongPassphrase);
        let recovery = CommandError::from(StoreError::WrongRecoveryKey);
        assert_eq!(passphrase.kind, recovery.kind);
        assert_ne!(passphrase.code, recovery.code);
        let wait = CommandError::from(StoreError::RateLimited {
            retry_after_secs: 30,
        });
        assert_eq!(wait.params["seconds"], "30");
    }

    #[test]
    fn a_shell_error_carries_its_english_text_as_its_detail() {
        let err = CommandError::invalid("the file could not be read");
        assert_eq!(err.code, "invalidDetail");
        assert_eq!(err.params["detail"], "the file could not be read");
        assert_eq!(err.to_string(), "the file could not be read");
    }
}
