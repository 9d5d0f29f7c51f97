//! Typed errors of the store. Messages name the problem and never carry patient data or keys.

use outpost_proto::{DeviceId, Role};

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// There is no profile in this directory yet.
    #[error("no profile here: create one first")]
    NoProfile,
    /// A profile already exists in this directory; creating another would overwrite it.
    #[error("a profile already exists here")]
    ProfileExists,
    /// The passphrase does not unlock this user's key.
    #[error("wrong passphrase")]
    WrongPassphrase,
    /// The recovery key does not unlock this profile.
    #[error("wrong recovery key")]
    WrongRecoveryKey,
    /// Too many failed unlocks: wait before trying again.
    #[error("too many failed attempts: try again in {retry_after_secs} s")]
    RateLimited {
        /// Seconds until the next attempt is allowed.
        retry_after_secs: u64,
    },
    /// No user of this profile has that name or id.
    #[error("no such user on this device")]
    UnknownUser,
    /// A patient's record is in a clinic profile; patients use their own patient-mode profile.
    #[error(
        "patient accounts are no longer part of clinic profiles: create a patient profile (outpost init --role patient); nothing was deleted"
    )]
    PatientUserRefused,
    /// The signing identity this user unlocked does not match the one registered for them:
    /// the profile file or the database was altered.
    #[error(
        "this user's signing key does not match the one the care team registered; the profile may have been tampered with"
    )]
    IdentityMismatch,
    /// The database file is not an Outpost database, or the key does not open it.
    #[error("the database cannot be opened with this key: wrong key, or not an Outpost database")]
    NotADatabase,
    /// The database file is damaged.
    #[error("the database is damaged: {0}")]
    Corrupt(&'static str),
    /// The database was written by a newer Outpost.
    #[error("the database has schema version {found}; this build understands up to {supported}")]
    NewerSchema {
        /// Version found on disk.
        found: i64,
        /// Highest version this build knows.
        supported: i64,
    },
    /// The database needs a schema upgrade while another Outpost (an older version, or the
    /// command line) has this profile open: upgrading under it would corrupt what it writes.
    #[error(
        "this profile is open in another Outpost window or command on this computer: close it, then unlock again (nothing was changed)"
    )]
    InUseElsewhere,
    /// There is not room beside the database for the copy kept before a schema upgrade.
    #[error(
        "Outpost must keep a copy of the database before upgrading it and needs {needed_mib} MiB free beside it; free some space, then unlock again (nothing was changed)"
    )]
    NoSpaceForUpgrade {
        /// How much must be free, in MiB.
        needed_mib: u64,
    },
    /// A file of the profile is missing, unreadable or malformed.
    #[error("profile file {file} is unusable: {reason}")]
    ProfileFile {
        /// Which file.
        file: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The record does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A signed note or addendum cannot be changed; write an addendum instead.
    #[error("a signed note cannot be changed: add a signed addendum instead")]
    Immutable,
    /// Input failed validation; names the field.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The field that is wrong.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The drug conflicts with one of the patient's recorded allergies, and no override reason
    /// was given. Names the drug and the allergy as the catalogue does (never free text).
    #[error(
        "allergy conflict: {drug} {relation} {allergy}, and the patient has a {severity} allergy recorded; to prescribe it anyway, give an override reason"
    )]
    AllergyConflict {
        /// The drug asked for.
        drug: &'static str,
        /// "is", "is one of the", "cross-reacts with".
        relation: &'static str,
        /// The drug or group the allergy is to.
        allergy: &'static str,
        /// The recorded severity.
        severity: &'static str,
    },
    /// The drug is not in the catalogue, so it cannot be checked against the allergies the
    /// patient has recorded; an override reason goes ahead.
    #[error(
        "unchecked drug: it is not in Outpost's drug catalogue, so it cannot be checked against the patient's recorded allergies; choose the catalogue drug, or give an override reason"
    )]
    UncheckedDrug,
    /// The acting user's role does not allow this.
    #[error("not permitted: {action} needs {needs}; you are signed in as {role}")]
    NotPermitted {
        /// What was attempted.
        action: &'static str,
        /// Which roles may do it.
        needs: &'static str,
        /// The actor's role.
        role: Role,
    },
    /// Another writer holds the database (the desktop app and the command line at once) for
    /// longer than the busy timeout. Nothing was written; try again.
    #[error("the profile is busy with another writer; try again")]
    Busy,
    /// The record changed since the caller last saw it; nothing they saw was lost.
    #[error("{what} changed since you last saw it: {hint}")]
    Conflict {
        /// What changed.
        what: &'static str,
        /// What to do.
        hint: &'static str,
    },
    /// A stored signature does not verify, or does not cover what is shown.
    #[error("signature invalid: {0}")]
    SignatureInvalid(&'static str),
    /// The operation log does not verify at this operation.
    #[error("operation log broken at device {device} sequence {seq}: {reason}")]
    LogBroken {
        /// The device whose log breaks.
        device: DeviceId,
        /// The first bad operation's sequence number.
        seq: u64,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The old (schema 2) audit chain does not verify at this entry.
    #[error("pre-signature audit chain broken at entry {seq}: {reason}")]
    AuditBroken {
        /// Sequence number of the first bad entry.
        seq: i64,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A stored code (a vital's LOINC code, an encounter kind) is not one this build knows.
    /// Nothing is substituted for it.
    #[error("unknown {field} code stored: {code}")]
    UnknownCode {
        /// Which field.
        field: &'static str,
        /// The code found (a code, never patient data).
        code: String,
    },
    /// A backup file failed verification.
    #[error("backup does not verify: {0}")]
    BadBackup(&'static str),
    /// The disk refused a write (full, read-only, permissions).
    #[error("storage error: {0}")]
    Io(#[from] std::io::Error),
    /// SQLite reported an error not covered above; `code` is SQLite's extended result code.
    #[error("database error {code}: {message}")]
    Sqlite {
        /// SQLite's extended result code.
        code: i32,
        /// SQLite's message (names tables and constraints, never values).
        message: String,
    },
    /// A cryptographic check failed.
    #[error(transparent)]
    Crypto(#[from] outpost_crypto::CryptoError),
}

impl StoreError {
    /// Whether trying the same call again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Busy | Self::RateLimited { .. })
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(err: rusqlite::Error) -> Self {
        match &err {
            rusqlite::Error::SqliteFailure(e, msg) => match e.code {
                rusqlite::ErrorCode::NotADatabase => Self::NotADatabase,
                rusqlite::ErrorCode::DatabaseCorrupt => Self::Corrupt("integrity"),
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked => {
                    Self::Busy
                }
                rusqlite::ErrorCode::DiskFull => Self::Io(std::io::Error::new(
                    std::io::ErrorKind::StorageFull,
                    "disk full",
                )),
                rusqlite::ErrorCode::ConstraintViolation
                    if msg
                        .as_deref()
                        .is_some_and(|m| m.contains("immutable") || m.contains("append-only")) =>
                {
                    Self::Immutable
                }
                // SQLite's own message names tables and constraints, never values.
                _ => Self::Sqlite {
                    code: e.extended_code,
                    message: msg.clone().unwrap_or_default(),
                },
            },
            rusqlite::Error::QueryReturnedNoRows => Self::NotFound("record"),
            _ => Self::Sqlite {
                code: -1,
                message: err.to_string(),
            },
        }
    }
}

impl From<outpost_proto::BadId> for StoreError {
    fn from(err: outpost_proto::BadId) -> Self {
        Self::Invalid {
            field: err.kind,
            reason: "not a valid id (32 hex characters)",
        }
    }
}
