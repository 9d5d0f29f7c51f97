//! Outpost's encrypted local store: everything a clinic writes, on its own disk, encrypted.
//!
//! # Layout
//!
//! - [`profile`]: the profile directory, its users (each with their own passphrase wrapping the
//!   one database key), the recovery key, unlock back-off.
//! - [`db`]: opening SQLCipher with a raw key and checking it; schema migrations
//!   (`migrations/*.sql`).
//! - [`records`]: the clinical records: patients, encounters, SOAP notes with signing and
//!   addenda, vitals with LOINC codes.
//! - [`attachments`]: photos and documents, hashed and stored in chunks.
//! - [`audit`]: the hash-chained audit trail and its verification.
//! - [`backup`]: single-file encrypted backups with a manifest; verify and restore.
//!
//! Fail closed: a wrong key, a damaged file or a newer schema is a typed [`StoreError`], and
//! no failure path creates, rekeys or overwrites a file.

pub mod attachments;
pub mod audit;
pub mod backup;
pub mod db;
mod error;
pub mod profile;
pub mod records;

use std::{path::PathBuf, sync::Arc};

use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

pub use error::StoreError;
pub use profile::{Profile, RecoveryKey};

/// Milliseconds since the Unix epoch, from a clock the caller chooses (tests inject one).
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current time in UTC milliseconds.
    fn now_ms(&self) -> i64;

    /// Milliseconds on a clock that never goes back, for measuring intervals (idle time).
    /// Defaults to [`Clock::now_ms`], which is what an injected test clock wants.
    fn monotonic_ms(&self) -> i64 {
        self.now_ms()
    }
}

/// The operating system's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }

    /// Setting the wall clock back must not keep an idle session open, so intervals use the
    /// monotonic clock (measured from the first call in this process).
    fn monotonic_ms(&self) -> i64 {
        static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        i64::try_from(
            START
                .get_or_init(std::time::Instant::now)
                .elapsed()
                .as_millis(),
        )
        .unwrap_or(i64::MAX)
    }
}

/// What a user of this device does, which decides what they may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Writes and signs notes.
    Physician,
    /// Records vitals, photos and consult questions; writes draft notes.
    Nurse,
    /// Manages users and backups.
    Admin,
    /// A patient using the app for their own visits.
    Patient,
}

impl Role {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Physician => "physician",
            Self::Nurse => "nurse",
            Self::Admin => "admin",
            Self::Patient => "patient",
        }
    }

    /// Parses a stored or typed name.
    pub fn parse(s: &str) -> Result<Self, StoreError> {
        Ok(match s {
            "physician" => Self::Physician,
            "nurse" => Self::Nurse,
            "admin" => Self::Admin,
            "patient" => Self::Patient,
            _ => {
                return Err(StoreError::Invalid {
                    field: "role",
                    reason: "one of physician, nurse, admin, patient",
                });
            }
        })
    }
}

/// A user of this device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct User {
    /// Stable id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
}

/// An unlocked profile: the open database, its key, and who is using it. Dropping it (lock)
/// closes the database and zeroizes the key.
pub struct Store {
    conn: Connection,
    key: Zeroizing<[u8; 32]>,
    user: User,
    dir: PathBuf,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("user", &self.user.id)
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl Store {
    pub(crate) fn new(
        conn: Connection,
        key: Zeroizing<[u8; 32]>,
        user: User,
        dir: PathBuf,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            conn,
            key,
            user,
            dir,
            clock,
        }
    }

    /// Who unlocked this store; every write is attributed to them.
    pub fn user(&self) -> &User {
        &self.user
    }

    /// The profile directory.
    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    pub(crate) fn key(&self) -> &[u8; 32] {
        &self.key
    }

    pub(crate) fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    pub(crate) fn insert_user(&mut self, user: &User) -> Result<(), StoreError> {
        let now = self.now();
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO users (id, name, role, created_at) VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![user.id, user.name, user.role.as_str(), now],
        )?;
        audit::append(
            &tx,
            now,
            Some(&self.user.id),
            "user_added",
            Some("user"),
            Some(&user.id),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Appends an audit entry by the current user, now.
    pub(crate) fn audit_now(
        &mut self,
        action: &str,
        kind: Option<&str>,
        id: Option<&str>,
    ) -> Result<(), StoreError> {
        let now = self.now();
        let actor = self.user.id.clone();
        audit::append(&self.conn, now, Some(&actor), action, kind, id)
    }

    /// Appends an audit entry with an explicit time and actor (failed unlocks replayed later).
    pub(crate) fn audit_at(
        &mut self,
        at: i64,
        actor: Option<&str>,
        action: &str,
        kind: Option<&str>,
        id: Option<&str>,
    ) -> Result<(), StoreError> {
        audit::append(&self.conn, at, actor, action, kind, id)
    }

    /// Closes the database and zeroizes the key, recording the lock in the audit trail.
    pub fn lock(mut self) -> Result<(), StoreError> {
        self.audit_now("lock", None, None)?;
        self.conn.close().map_err(|(_, e)| StoreError::from(e))
    }

    /// Runs SQLite's full integrity check; `Ok` only when it reports `ok`.
    pub fn integrity_check(&self) -> Result<(), StoreError> {
        let result: String = self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        if result == "ok" {
            Ok(())
        } else {
            Err(StoreError::Corrupt("integrity check failed".into()))
        }
    }

    /// Direct access for tests that tamper with rows (the audit tests).
    #[doc(hidden)]
    pub fn raw_connection(&self) -> &Connection {
        &self.conn
    }
}
