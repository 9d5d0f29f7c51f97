//! Outpost's encrypted local store: everything a clinic writes, on its own disk, encrypted, as
//! a log of signed operations.
//!
//! # Layout
//!
//! - [`profile`]: the profile directory: its users (each with a passphrase that wraps both the
//!   shared database key and their own signing identity), the recovery key, unlock back-off.
//! - [`db`]: opening SQLCipher with a raw key and checking it; schema migrations
//!   (`migrations/*.sql`).
//! - `oplog`: writing an operation (sign, hash-link, insert, apply) in one `IMMEDIATE`
//!   transaction; reading the log.
//! - `apply`: the one path that turns an operation into rows of the projection tables, and
//!   refuses operations whose author's role does not allow them.
//! - `authz`: what each role may do, as pure rules shared by writing, applying and verifying.
//! - [`verify`]: checking the whole log (links, signatures, roles) and rebuilding projections.
//! - `trust`: the signing keys of this profile's users, verified from their registrations at
//!   unlock.
//! - [`anchor`]: the signed log head kept outside the database, to notice a rollback.
//! - [`receive`]: taking in an operation written elsewhere (sync): once, verified, or
//!   quarantined with its reason.
//! - `legacy`: importing a schema 2 (unsigned) profile's records as legacy operations.
//! - [`records`]: patients, encounters, SOAP notes (revisions, signing, addenda), vitals.
//! - [`users`]: the registered people; removing one.
//! - [`attachments`]: photos and documents, stored by content hash in chunks.
//! - [`audit`]: the audit view of the log.
//! - [`alerts`]: unusual-access alerts over the audit trail (rules in `outpost-alerts`), and
//!   their acknowledgements.
//! - [`backup`]: single-file encrypted backups with a manifest; verify and restore.
//! - [`publish`]: a finished file given its name without replacing another (FAT sticks too).
//!
//! Fail closed: a wrong key, a damaged file, a bad signature or a newer schema is a typed
//! [`StoreError`], and no failure path creates, rekeys or overwrites a file.
//!
//! # Formats
//!
//! Operations are `outpost_proto`'s (its crate docs give the bytes). This crate adds:
//!
//! ## Log head anchor, version 1
//!
//! `"OUTPOST-HEAD\n" (13) || 0x01 || profile id (16) || device id (16) || seq (8) ||
//! operation hash (32) || written at ms (8) || Ed25519 signature (64)` by the device identity
//! over `"outpost/v1/log-anchor" || bytes 0..94`. 158 bytes. See [`anchor`].
//!
//! ## Device identity at rest
//!
//! The device's identity is `outpost_crypto`'s wrapped identity under
//! `HKDF-SHA256(salt = "", ikm = database key, info = "outpost/v1/store/device-kek")`, in the
//! `local_device` table of the encrypted database.

pub mod alerts;
pub mod anchor;
mod apply;
pub mod attachments;
pub mod audit;
mod authz;
pub mod backup;
pub mod db;
mod device;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod legacy;
mod membership;
mod oplog;
pub mod profile;
pub mod publish;
pub mod receive;
pub mod records;
pub mod thumbnails;
mod trust;
pub mod users;
pub mod verify;
pub mod workspace;

use std::{path::PathBuf, sync::Arc};

use outpost_crypto::DeviceIdentity;
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

pub use authz::{Capabilities, MAX_APP_ATTACHMENT_BYTES, capabilities};
pub use error::StoreError;
pub use outpost_proto::{
    self as proto, AddendumId, AllergyId, AttachmentId, EncounterId, MedicationId, NoteId, OpHash,
    PatientId, ProblemId, Role, Severity, UserId, VitalId,
};
pub use profile::{Profile, ProfileKind, RecoveryKey, RecoverySheet};

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

    /// Setting the wall clock back must not keep an idle session open, so intervals use a
    /// clock that never goes back; and a chart left open when the lid closes must be locked
    /// when it opens hours later, so on Linux it is `CLOCK_BOOTTIME`, which keeps counting
    /// through suspend (`Instant` does not). Elsewhere: `Instant`, from the first call.
    fn monotonic_ms(&self) -> i64 {
        #[cfg(target_os = "linux")]
        {
            let t = rustix::time::clock_gettime(rustix::time::ClockId::Boottime);
            t.tv_sec
                .saturating_mul(1000)
                .saturating_add(t.tv_nsec / 1_000_000)
        }
        #[cfg(not(target_os = "linux"))]
        {
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
}

/// A user of this device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct User {
    /// Stable id.
    pub id: UserId,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
}

/// Something the person unlocking must be told before they trust what they see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum UnlockWarning {
    /// The database is older than the head this device last showed: it was restored to an
    /// earlier state (or operations were removed). Recorded in the audit trail.
    RolledBack {
        /// Operations of this device missing since the last known head.
        #[cfg_attr(feature = "specta", specta(type = f64))]
        missing: u64,
    },
    /// The database is not the one whose head this device last recorded (another profile's
    /// database, or the log was rewritten). Recorded in the audit trail.
    ForeignHead,
    /// The head file could not be checked (missing on a profile that should have one, or
    /// unreadable); what was not checked is named.
    HeadUnchecked {
        /// Why.
        reason: String,
    },
    /// `profile.json` was changed by someone who cannot open the database, or an older copy
    /// of it was put back (which may hold a passphrase or recovery key since replaced).
    /// Recorded in the audit trail; the file is sealed again as it is now.
    ProfileFileAltered {
        /// Which of the two.
        reason: String,
    },
}

/// An unlocked profile: the open database, its key, the person using it and their signing
/// identity. Dropping it (lock) closes the database and zeroizes the keys.
pub struct Store {
    conn: Connection,
    key: Zeroizing<[u8; 32]>,
    user: User,
    signer: DeviceIdentity,
    device: DeviceIdentity,
    /// Users' keys from their verified registrations; reloaded (and verified again) when an
    /// author is not in it, since another process or sync may have added a user.
    trusted: std::cell::RefCell<trust::TrustedKeys>,
    kind: ProfileKind,
    profile_id: [u8; 16],
    dir: PathBuf,
    anchor_dir: Option<PathBuf>,
    clock: Arc<dyn Clock>,
    warnings: Vec<UnlockWarning>,
    /// Operations whose signatures were verified this session (by hash of their bytes).
    verified: std::cell::RefCell<std::collections::HashSet<OpHash>>,
    /// Whether received operations are being taken in one transaction (see
    /// [`Store::begin_receiving`]).
    batching: std::cell::Cell<bool>,
    /// The shared in-use lock on the profile's database (see [`db::IN_USE_FILE`]).
    in_use_lock: db::InUse,
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
    /// Who unlocked this store; every write is attributed to and signed by them.
    pub fn user(&self) -> &User {
        &self.user
    }

    /// What the signed-in user may do (the same rules every write is judged by).
    pub fn capabilities(&self) -> Capabilities {
        authz::capabilities(self.user.role)
    }

    /// The profile directory.
    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    /// Whether this is a clinic profile or a patient's own.
    pub fn profile_kind(&self) -> ProfileKind {
        self.kind
    }

    /// What the unlock found that the person must be shown (a rollback, an unchecked head).
    pub fn warnings(&self) -> &[UnlockWarning] {
        &self.warnings
    }

    /// This installation's device id.
    pub fn device_id(&self) -> outpost_proto::DeviceId {
        self.device.device_id()
    }

    pub(crate) fn key(&self) -> &[u8; 32] {
        &self.key
    }

    pub(crate) fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Records the lock in the log, refreshes the head anchor, then closes the database and
    /// zeroizes the keys. The anchor is written after the lock operation commits, so it names
    /// the newest operation.
    pub fn lock(mut self) -> Result<(), StoreError> {
        if !self.is_admitted()? {
            // A device waiting to be admitted has written nothing and anchors nothing.
            return self.conn.close().map_err(|(_, e)| StoreError::from(e));
        }
        self.audit_event(outpost_proto::AuditAction::Lock, None, None)?;
        let anchored = self.write_anchor();
        let closed = self.conn.close().map_err(|(_, e)| StoreError::from(e));
        anchored.and(closed)
    }

    /// Runs SQLite's full integrity check; `Ok` only when it reports `ok`.
    pub fn integrity_check(&self) -> Result<(), StoreError> {
        let result: String = self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        if result == "ok" {
            Ok(())
        } else {
            Err(StoreError::Corrupt("integrity check failed"))
        }
    }

    /// Direct access for tests that tamper with rows as an attacker holding the key would.
    #[doc(hidden)]
    pub fn raw_connection(&self) -> &Connection {
        &self.conn
    }
}

#[cfg(all(test, target_os = "linux"))]
mod clock_tests {
    use super::{Clock, SystemClock};

    /// Idle time is measured on the kernel's boot-time clock, which keeps counting while the
    /// laptop sleeps: the same clock `/proc/uptime` reports. (A clock that started at this
    /// process's first call, as `Instant` did, is hours behind it.)
    #[test]
    fn idle_time_is_measured_on_the_clock_that_counts_sleep() {
        let uptime = std::fs::read_to_string("/proc/uptime").unwrap();
        let secs: f64 = uptime.split_whitespace().next().unwrap().parse().unwrap();
        #[allow(clippy::cast_possible_truncation)] // seconds since boot, far below i64::MAX
        let uptime_ms = (secs * 1000.0) as i64;
        let ours = SystemClock.monotonic_ms();
        assert!(
            (ours - uptime_ms).abs() < 2_000,
            "idle clock {ours} ms vs boot time {uptime_ms} ms"
        );
    }
}
