//! Typed errors of the store. Messages name the problem and never carry patient data or keys.

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
    /// The database file is not an Outpost database, or the key does not open it.
    #[error("the database cannot be opened with this key: wrong key, or not an Outpost database")]
    NotADatabase,
    /// The database file is damaged.
    #[error("the database is damaged: {0}")]
    Corrupt(String),
    /// The database was written by a newer Outpost.
    #[error("the database has schema version {found}; this build understands up to {supported}")]
    NewerSchema {
        /// Version found on disk.
        found: i64,
        /// Highest version this build knows.
        supported: i64,
    },
    /// A file of the profile is missing, unreadable or malformed.
    #[error("profile file {file} is unusable: {reason}")]
    ProfileFile {
        /// Which file.
        file: &'static str,
        /// What is wrong with it.
        reason: String,
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
    /// The audit chain does not verify at this entry.
    #[error("audit chain broken at entry {seq}: {reason}")]
    AuditBroken {
        /// Sequence number of the first bad entry.
        seq: i64,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A backup file failed verification.
    #[error("backup does not verify: {0}")]
    BadBackup(&'static str),
    /// The disk refused a write (full, read-only, permissions).
    #[error("storage error: {0}")]
    Io(#[from] std::io::Error),
    /// SQLite reported an error not covered above.
    #[error("database error: {0}")]
    Sqlite(String),
    /// A cryptographic check failed.
    #[error(transparent)]
    Crypto(#[from] outpost_crypto::CryptoError),
}

impl From<rusqlite::Error> for StoreError {
    fn from(err: rusqlite::Error) -> Self {
        match &err {
            rusqlite::Error::SqliteFailure(e, msg) => match e.code {
                rusqlite::ErrorCode::NotADatabase => Self::NotADatabase,
                rusqlite::ErrorCode::DatabaseCorrupt => Self::Corrupt("integrity".into()),
                rusqlite::ErrorCode::DiskFull => Self::Io(std::io::Error::new(
                    std::io::ErrorKind::StorageFull,
                    "disk full",
                )),
                rusqlite::ErrorCode::ConstraintViolation
                    if msg.as_deref().is_some_and(|m| m.contains("immutable")) =>
                {
                    Self::Immutable
                }
                // SQLite's own message names tables and constraints, never values.
                _ => Self::Sqlite(format!("{:?}: {}", e.code, msg.as_deref().unwrap_or(""))),
            },
            rusqlite::Error::QueryReturnedNoRows => Self::NotFound("record"),
            _ => Self::Sqlite(err.to_string()),
        }
    }
}
