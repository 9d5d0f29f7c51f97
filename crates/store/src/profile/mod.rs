//! A profile on disk: the users of this device, each with a passphrase that unwraps the shared
//! database key and their own signing identity, and the recovery key.
//!
//! Files in the profile directory:
//! - `profile.json` (see `file`): per user the passphrase record and wraps; the recovery wraps.
//!   `profile.copy.json` is its second copy, read when it is missing or damaged.
//! - `outpost.db` (+ `-wal`, `-shm`): the SQLCipher database.
//! - `log-head`: the signed log head ([`crate::anchor`]).
//! - `outpost.creating`: present only while a profile is being created or restored (the
//!   creating process's id); left by one that died, it is cleared at the next attempt.
//! - `unlock-failures.json`: times of failed unlocks, for back-off across restarts; they are
//!   recorded in the log at the next successful unlock. The file is not authenticated (it is
//!   written before anyone is unlocked), so it is read as untrusted: at most
//!   [`MAX_FAILURES_KEPT`] entries, none dated in the future, unknown user ids dropped.
//!   Deleting it resets the back-off: the back-off slows guessing at the keyboard; against
//!   someone holding the files, the passphrase's Argon2id cost is the defence.

pub(crate) mod file;
mod recovery;
mod rekey;
mod session;
mod sheet;

use std::path::{Path, PathBuf};

use outpost_crypto::{DeviceIdentity, KdfParams, PassphraseRecord};
use outpost_proto::{AuditAction, Payload, RecordId, UserId, payload::UserAdded};
use rand_core::OsRng;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

pub use file::PROFILE_FILE;
pub(crate) use file::write_atomic;
pub use recovery::RecoveryKey;
pub use sheet::RecoverySheet;

use crate::{
    Clock, Role, Store, StoreError, User,
    db::{self, OpenMode, hex, unhex},
};
use file::{FileKey, KeyWrap, ProfileFile, RecoveryEntry, UserEntry, bad, unwrap_key, wrap_key};

/// The SQLCipher database.
pub const DATABASE_FILE: &str = "outpost.db";
const FAILURES_FILE: &str = "unlock-failures.json";
/// Failed unlocks allowed before back-off starts.
const FREE_ATTEMPTS: usize = 3;
/// Longest back-off between attempts.
pub(crate) const MAX_BACKOFF_SECS: u64 = 300;
/// How the emergency user is named in the audit trail.
pub const EMERGENCY_USER_NAME: &str = "Emergency access (recovery key)";

/// Whether a profile is a clinic's (care-team users, charts) or a patient's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum ProfileKind {
    /// A clinic's: physicians, nurses and admins; patients' charts.
    #[default]
    Clinic,
    /// A patient's own: their visit summaries and call invites, never clinic charts.
    Patient,
}

impl ProfileKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Clinic => "clinic",
            Self::Patient => "patient",
        }
    }
}

#[derive(Serialize, Deserialize, Default)]
pub(crate) struct Failures {
    /// Millisecond times of consecutive failed unlocks, and who was tried (user id, if known).
    pub(crate) failures: Vec<(i64, Option<String>)>,
}

/// Most failed unlocks kept (and carried into the audit trail): the newest.
pub const MAX_FAILURES_KEPT: usize = 100;

impl Failures {
    /// The file's bytes (untrusted: anyone can write them), sanitized; a file over 1 MiB or
    /// that does not parse counts as none.
    pub(crate) fn read(bytes: &[u8], known: &[String], now_ms: i64) -> Self {
        Some(bytes)
            .filter(|b| b.len() <= 1024 * 1024)
            .and_then(|b| serde_json::from_slice::<Self>(b).ok())
            .unwrap_or_default()
            .sanitized(known, now_ms)
    }

    /// Seconds `user` (or, for `None`, the recovery key) must wait before the next attempt.
    pub(crate) fn backoff_secs(&self, user: Option<&str>, now_ms: i64) -> u64 {
        let mine: Vec<i64> = self
            .failures
            .iter()
            .filter(|(_, who)| who.as_deref() == user)
            .map(|(at, _)| *at)
            .collect();
        let n = mine.len();
        if n < FREE_ATTEMPTS {
            return 0;
        }
        let wait = 1u64
            .checked_shl(u32::try_from(n - FREE_ATTEMPTS).unwrap_or(31))
            .unwrap_or(u64::MAX)
            .min(MAX_BACKOFF_SECS);
        let last = mine.last().copied().unwrap_or(0);
        let until = last.saturating_add(i64::try_from(wait * 1000).unwrap_or(i64::MAX));
        u64::try_from(until.saturating_sub(now_ms).max(0))
            .unwrap_or(0)
            .div_ceil(1000)
    }

    /// The file's entries as far as they can be believed: the newest [`MAX_FAILURES_KEPT`],
    /// none dated after `now_ms` (dropped: a clock set ahead, or a crafted entry, must not
    /// lock anyone out nor date the audit in the future), and user ids only of this profile's
    /// users (a crafted id must not put words in someone's mouth).
    fn sanitized(mut self, known: &[String], now_ms: i64) -> Self {
        // A failure dated in the future cannot have happened: believing it would keep backing
        // the user off for as long as it stays in the future.
        self.failures.retain(|(at, _)| (0..=now_ms).contains(at));
        let excess = self.failures.len().saturating_sub(MAX_FAILURES_KEPT);
        self.failures.drain(..excess);
        for (_, who) in &mut self.failures {
            if who.as_ref().is_some_and(|w| !known.contains(w)) {
                *who = None;
            }
        }
        self
    }
}

/// A profile directory, read but not unlocked.
#[derive(Debug)]
pub struct Profile {
    dir: PathBuf,
    file: ProfileFile,
    anchor_dir: Option<PathBuf>,
    /// Being opened for the first time right after a restore, in this process: no anchor can
    /// exist yet for the new profile id, so its absence is not news.
    just_restored: bool,
    /// Rebuilt in memory from a recovery sheet (`profile.json` lost): there is no file to check.
    from_sheet: bool,
    /// The key-derivation cost a passphrase record is raised to at its next unlock when it was
    /// made weaker (an older build's default, or a test's).
    kdf_target: KdfParams,
}

impl Profile {
    /// Creates a profile in `dir` with its first user, and returns it unlocked with the
    /// recovery key to show once. A clinic profile's first user is a physician, nurse or admin;
    /// a patient profile's is the patient. Refuses a directory that already has a profile.
    pub fn create(
        dir: &Path,
        name: &str,
        role: Role,
        passphrase: &[u8],
        params: KdfParams,
        clock: std::sync::Arc<dyn Clock>,
    ) -> Result<(Store, RecoveryKey), StoreError> {
        Self::create_in(
            dir,
            name,
            role,
            passphrase,
            params,
            clock,
            crate::anchor::default_dir(),
        )
    }

    /// [`Profile::create`] with the directory for the outside copy of the log head.
    #[allow(clippy::too_many_arguments)]
    pub fn create_in(
        dir: &Path,
        name: &str,
        role: Role,
        passphrase: &[u8],
        params: KdfParams,
        clock: std::sync::Arc<dyn Clock>,
        anchor_dir: Option<PathBuf>,
    ) -> Result<(Store, RecoveryKey), StoreError> {
        validate_name(name)?;
        validate_passphrase(passphrase)?;
        let kind = match role {
            Role::Patient => ProfileKind::Patient,
            Role::Emergency => {
                return Err(StoreError::Invalid {
                    field: "role",
                    reason: "one of physician, nurse, admin, patient",
                });
            }
            _ => ProfileKind::Clinic,
        };
        std::fs::create_dir_all(dir)?;
        if Self::exists(dir) {
            return Err(StoreError::ProfileExists);
        }
        let claim = DatabaseClaim::take(dir)?;
        let mut db_key = Zeroizing::new([0u8; 32]);
        rand_core::RngCore::fill_bytes(&mut OsRng, db_key.as_mut());
        let user = User {
            id: UserId::random(&mut OsRng),
            name: name.to_owned(),
            role,
        };
        let identity = DeviceIdentity::generate(&mut OsRng);
        let emergency = DeviceIdentity::generate(&mut OsRng);
        let recovery = RecoveryKey::generate();
        let mut profile_id = [0u8; 16];
        rand_core::RngCore::fill_bytes(&mut OsRng, &mut profile_id);
        let profile_id_hex = hex(&profile_id);
        let (record, keys) = PassphraseRecord::create(&normalized(passphrase), params, &mut OsRng)?;
        let file = ProfileFile {
            format: file::FORMAT,
            profile_id: profile_id_hex.clone(),
            kind,
            users: vec![UserEntry {
                id: user.id.to_hex(),
                name: user.name.clone(),
                role,
                passphrase: hex(&record.encode()),
                wrap: wrap_key(
                    &keys.key_encryption_key,
                    &db_key,
                    &profile_id_hex,
                    &user.id.to_hex(),
                )?,
                identity: Some(hex(&identity.wrap(&keys.key_encryption_key, &mut OsRng)?)),
                sealed: Vec::new(),
            }],
            recovery: RecoveryEntry {
                wrapped_key: wrap_key(&recovery.kek(), &db_key, &profile_id_hex, "recovery")?
                    .wrapped_key,
                identity: Some(hex(&emergency.wrap(&recovery.kek(), &mut OsRng)?)),
            },
            generation: 0,
            mac: None,
        };
        let mut conn = db::open(claim.path(), &db_key, OpenMode::Existing)?;
        db::migrate(&mut conn)?;
        let mut profile = Self {
            dir: dir.to_path_buf(),
            file,
            anchor_dir,
            just_restored: false,
            from_sheet: false,
            kdf_target: KdfParams::DEFAULT,
        };
        let file_key = FileKey::of(&db_key);
        let store = session::create(&profile, conn, db_key, user, identity, &emergency, clock)?;
        profile.file.write(dir, &file_key)?;
        store.note_profile_file(profile.file.generation)?;
        claim.keep();
        let _ = store.write_anchor();
        Ok((store, recovery))
    }

    /// Makes `dir`, which already holds a database keyed with `db_key` (a restored backup), a
    /// profile owned by `owner`, who unlocks it with `passphrase` and signs with the identity
    /// the backup carried (or registers one, for a backup from before signing identities). The
    /// restored profile is a new device with a new recovery key and emergency user.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn adopt(
        dir: &Path,
        owner: &User,
        owner_identity: Option<DeviceIdentity>,
        passphrase: &[u8],
        params: KdfParams,
        db_key: &[u8; 32],
        clock: std::sync::Arc<dyn Clock>,
        profile_id: &[u8; 16],
        anchor_dir: Option<PathBuf>,
    ) -> Result<(Store, RecoveryKey), StoreError> {
        let recovery = RecoveryKey::generate();
        let emergency = DeviceIdentity::generate(&mut OsRng);
        let profile_id_hex = hex(profile_id);
        let (record, keys) = PassphraseRecord::create(&normalized(passphrase), params, &mut OsRng)?;
        let mut file = ProfileFile {
            format: file::FORMAT,
            profile_id: profile_id_hex.clone(),
            kind: ProfileKind::Clinic,
            users: vec![UserEntry {
                id: owner.id.to_hex(),
                name: owner.name.clone(),
                role: owner.role,
                passphrase: hex(&record.encode()),
                wrap: wrap_key(
                    &keys.key_encryption_key,
                    db_key,
                    &profile_id_hex,
                    &owner.id.to_hex(),
                )?,
                identity: owner_identity
                    .map(|i| {
                        i.wrap(&keys.key_encryption_key, &mut OsRng)
                            .map(|w| hex(&w))
                    })
                    .transpose()?,
                sealed: Vec::new(),
            }],
            recovery: RecoveryEntry {
                wrapped_key: wrap_key(&recovery.kek(), db_key, &profile_id_hex, "recovery")?
                    .wrapped_key,
                identity: Some(hex(&emergency.wrap(&recovery.kek(), &mut OsRng)?)),
            },
            generation: 0,
            mac: None,
        };
        file.write(dir, &FileKey::of(db_key))?;
        let profile = Self {
            dir: dir.to_path_buf(),
            file,
            anchor_dir,
            just_restored: true,
            from_sheet: false,
            kdf_target: KdfParams::DEFAULT,
        };
        let mut store = profile.unlock(&owner.id.to_hex(), passphrase, clock)?;
        // The old recovery key stays with the original profile; this copy's is new. Only an
        // admin or physician may end the old one's access (backups are theirs to make); a
        // backup made otherwise keeps the old emergency user until an admin re-issues the key.
        if matches!(owner.role, Role::Admin | Role::Physician) {
            store.replace_emergency(&emergency)?;
        }
        store.audit_event(AuditAction::BackupRestored, None, None)?;
        Ok((store, recovery))
    }

    /// Reads the profile in `dir`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        Ok(Self {
            dir: dir.to_path_buf(),
            file: ProfileFile::read(dir)?,
            anchor_dir: crate::anchor::default_dir(),
            just_restored: false,
            from_sheet: false,
            kdf_target: KdfParams::DEFAULT,
        })
    }

    /// The recovery sheet for the current recovery key: print it with the key (it changes
    /// when the key is rotated).
    pub fn recovery_sheet(&self) -> RecoverySheet {
        RecoverySheet {
            profile_id: self.file.profile_id.clone(),
            kind: self.file.kind,
            wrapped_key: self.file.recovery.wrapped_key.clone(),
            identity: self.file.recovery.identity.clone(),
        }
    }

    /// The profile in `dir` as its recovery sheet describes it, for when `profile.json` and
    /// its copy are both lost or damaged: it knows no user, so only emergency access with the
    /// recovery key ([`Profile::unlock_with_recovery`]) opens it, enough to read the charts
    /// and make a backup to restore from. Nothing is written: a damaged `profile.json` stays
    /// as it is for someone to look at.
    pub fn from_recovery_sheet(dir: &Path, sheet: &RecoverySheet) -> Result<Self, StoreError> {
        if !dir.join(DATABASE_FILE).is_file() {
            return Err(StoreError::NoProfile);
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            file: ProfileFile {
                format: file::FORMAT,
                profile_id: sheet.profile_id.clone(),
                kind: sheet.kind,
                users: Vec::new(),
                recovery: RecoveryEntry {
                    wrapped_key: sheet.wrapped_key.clone(),
                    identity: sheet.identity.clone(),
                },
                generation: 0,
                mac: None,
            },
            anchor_dir: crate::anchor::default_dir(),
            just_restored: false,
            from_sheet: true,
            kdf_target: KdfParams::DEFAULT,
        })
    }

    /// Raises passphrase records to `params` (instead of [`KdfParams::DEFAULT`]) at unlock;
    /// tests that make cheap records keep them cheap with this.
    #[must_use]
    pub fn with_kdf_target(mut self, params: KdfParams) -> Self {
        self.kdf_target = params;
        self
    }

    /// Uses `dir` (or none) for the outside copy of the log head instead of the default.
    #[must_use]
    pub fn with_anchor_dir(mut self, dir: Option<PathBuf>) -> Self {
        self.anchor_dir = dir;
        self
    }

    /// Whether `dir` holds a profile.
    pub fn exists(dir: &Path) -> bool {
        dir.join(PROFILE_FILE).is_file() || dir.join(file::PROFILE_COPY).is_file()
    }

    /// Clinic or patient profile.
    pub fn kind(&self) -> ProfileKind {
        self.file.kind
    }

    /// The users who can unlock this profile.
    pub fn users(&self) -> Vec<User> {
        self.file
            .users
            .iter()
            .filter_map(|u| {
                Some(User {
                    id: u.id.parse().ok()?,
                    name: u.name.clone(),
                    role: u.role,
                })
            })
            .collect()
    }

    /// Seconds until `user` (a user id; `None`: the recovery key, or a name nobody has) may
    /// try again (0 when allowed now). Each user backs off alone: one person's typos do not
    /// lock the others out of a shared clinic laptop.
    pub fn backoff_secs(&self, user: Option<&str>, now_ms: i64) -> u64 {
        self.failures(now_ms).backoff_secs(user, now_ms)
    }

    /// Unlocks as `user` (a name or an id) with their passphrase.
    pub fn unlock(
        &self,
        user: &str,
        passphrase: &[u8],
        clock: std::sync::Arc<dyn Clock>,
    ) -> Result<Store, StoreError> {
        let now = clock.now_ms();
        let entry = self
            .file
            .users
            .iter()
            .find(|u| u.id == user || u.name == user);
        let retry_after_secs = self.backoff_secs(entry.map(|e| e.id.as_str()), now);
        if retry_after_secs > 0 {
            return Err(StoreError::RateLimited { retry_after_secs });
        }
        let Some(entry) = entry else {
            self.record_failure(now, None)?;
            return Err(StoreError::UnknownUser);
        };
        let record = PassphraseRecord::decode(&unhex(&entry.passphrase).unwrap_or_default())?;
        let keys = match unlock_record(&record, passphrase) {
            Ok(keys) => keys,
            Err(outpost_crypto::CryptoError::WrongPassphrase) => {
                self.record_failure(now, Some(entry.id.clone()))?;
                return Err(StoreError::WrongPassphrase);
            }
            Err(e) => return Err(e.into()),
        };
        let db_key = unwrap_key(
            &keys.key_encryption_key,
            &entry.wrap.wrapped_key,
            &self.file.profile_id,
            &entry.id,
        )?;
        let user_id: UserId = entry.id.parse().map_err(|_| bad("bad user id"))?;
        let identity = entry
            .identity
            .as_deref()
            .map(|w| {
                DeviceIdentity::unwrap(
                    &keys.key_encryption_key,
                    &unhex(w).ok_or(bad("bad identity wrap"))?,
                )
                .map_err(|_| bad("this user's identity does not unwrap"))
            })
            .transpose()?;
        let (db_key, sealed_by) = self.key_to_use(entry, identity.as_ref(), db_key);
        let kek = keys.key_encryption_key.clone();
        let file_key = FileKey::of(&db_key);
        let store = session::open(
            self,
            session::Opening {
                db_key,
                user: Some(user_id),
                name: entry.name.clone(),
                identity,
                save_identity: &|identity: &DeviceIdentity| {
                    let wrapped = hex(&identity.wrap(&kek, &mut OsRng)?);
                    ProfileFile::update(&self.dir, &file_key, |file| {
                        for u in &mut file.users {
                            if u.id == user_id.to_hex() {
                                u.identity = Some(wrapped.clone());
                            }
                        }
                        Ok(())
                    })
                    .map(|_| ())
                },
                action: AuditAction::Unlock,
                reason: None,
                role: entry.role,
            },
            clock,
        )?;
        // A key sealed by someone who may not re-key this profile (a planted profile file and
        // database) is not used, nor kept: the session is refused.
        if let Some(by) = &sealed_by
            && !store.is_manager_identity(by)
        {
            let _ = store.lock();
            return Err(StoreError::ProfileFile {
                file: file::PROFILE_FILE,
                reason: "it holds a database key from someone who may not issue one",
            });
        }
        // A record made with weaker key-derivation settings than today's is made again, now
        // that the passphrase is at hand (wrapping the key in use, sealed or not). Not getting
        // there is no reason to refuse the unlock: it is tried again next time.
        if record.needs_upgrade(self.kdf_target) {
            let _ = self.rewrap(&store, &entry.id, passphrase, self.kdf_target);
        } else if sealed_by.is_some() {
            self.unseal_entry(&store, &entry.id, &kek);
        }
        Ok(store)
    }

    /// The key that opens the database: the newest one sealed to this user that opens it (the
    /// database was re-keyed after someone was removed), else their ordinary wrap's. Returns
    /// the sealer's public identity when a sealed one was used.
    fn key_to_use(
        &self,
        entry: &UserEntry,
        identity: Option<&DeviceIdentity>,
        wrapped: Zeroizing<[u8; 32]>,
    ) -> (Zeroizing<[u8; 32]>, Option<String>) {
        let (Some(identity), Ok(profile_id)) = (identity, self.file.id_bytes()) else {
            return (wrapped, None);
        };
        for sealed in entry.sealed.iter().rev() {
            if let Some(key) = rekey::open_sealed(sealed, identity, profile_id)
                // Written before the re-key: until it is done, the ordinary wrap still opens.
                && db::open(&self.dir.join(DATABASE_FILE), &key, OpenMode::Existing).is_ok()
            {
                return (key, Some(sealed.by.clone()));
            }
        }
        (wrapped, None)
    }

    /// Makes `user`'s passphrase record afresh with `params`, wrapping the database key and
    /// their identity under the key it gives.
    fn rewrap(
        &self,
        store: &Store,
        user: &str,
        passphrase: &[u8],
        params: KdfParams,
    ) -> Result<ProfileFile, StoreError> {
        let (record, keys) = PassphraseRecord::create(&normalized(passphrase), params, &mut OsRng)?;
        let wrap = KeyWrap {
            wrapped_key: wrap_key(
                &keys.key_encryption_key,
                store.key(),
                &self.file.profile_id,
                user,
            )?
            .wrapped_key,
        };
        let identity = hex(&store.signer.wrap(&keys.key_encryption_key, &mut OsRng)?);
        let passphrase = hex(&record.encode());
        let file = ProfileFile::update(&self.dir, &FileKey::of(store.key()), |file| {
            let entry = file
                .users
                .iter_mut()
                .find(|u| u.id == user)
                .ok_or(StoreError::UnknownUser)?;
            entry.passphrase = passphrase;
            entry.wrap = wrap;
            entry.identity = Some(identity);
            // The wrap is of the key in use now: sealed newer ones are no longer needed.
            entry.sealed.clear();
            Ok(())
        })?;
        // The change is made; remembering it only sharpens the check for an older copy.
        let _ = store.note_profile_file(file.generation);
        Ok(file)
    }

    /// Emergency access with the recovery key, as the profile's emergency user (never as a
    /// person of the care team), with the reason recorded prominently in the audit trail.
    pub fn unlock_with_recovery(
        &self,
        recovery: &str,
        reason: &str,
        clock: std::sync::Arc<dyn Clock>,
    ) -> Result<Store, StoreError> {
        let reason = reason.trim();
        if reason.is_empty() || reason.len() > 500 {
            return Err(StoreError::Invalid {
                field: "reason",
                reason: "say why emergency access is needed (1 to 500 characters)",
            });
        }
        let now = clock.now_ms();
        let retry_after_secs = self.backoff_secs(None, now);
        if retry_after_secs > 0 {
            return Err(StoreError::RateLimited { retry_after_secs });
        }
        let key = match RecoveryKey::parse(recovery) {
            Ok(k) => k,
            Err(e) => {
                self.record_failure(now, None)?;
                return Err(e);
            }
        };
        let kek = key.kek();
        let Ok(db_key) = unwrap_key(
            &kek,
            &self.file.recovery.wrapped_key,
            &self.file.profile_id,
            "recovery",
        ) else {
            self.record_failure(now, None)?;
            return Err(StoreError::WrongRecoveryKey);
        };
        let identity = self
            .file
            .recovery
            .identity
            .as_deref()
            .map(|w| {
                DeviceIdentity::unwrap(&kek, &unhex(w).ok_or(bad("bad identity wrap"))?)
                    .map_err(|_| bad("the emergency identity does not unwrap"))
            })
            .transpose()?;
        let file_key = FileKey::of(&db_key);
        session::open(
            self,
            session::Opening {
                db_key,
                user: None,
                name: EMERGENCY_USER_NAME.to_owned(),
                identity,
                save_identity: &|identity: &DeviceIdentity| {
                    let wrapped = hex(&identity.wrap(&kek, &mut OsRng)?);
                    ProfileFile::update(&self.dir, &file_key, |file| {
                        file.recovery.identity = Some(wrapped.clone());
                        Ok(())
                    })
                    .map(|_| ())
                },
                action: AuditAction::EmergencyAccess,
                reason: Some(reason.to_owned()),
                role: Role::Emergency,
            },
            clock,
        )
    }

    /// Joins a workspace with an invite code, as `user`: this profile must hold no records
    /// and no other user (a device joins with a fresh profile). Its database is set aside
    /// (renamed, not deleted) and a new one started for the workspace's log, with a new device
    /// identity; the person keeps their identity and passphrase. Returns the session (waiting
    /// for an admin to admit the device) and the request to send to the relay.
    pub fn join_workspace(
        &self,
        user: &str,
        passphrase: &[u8],
        code: &crate::workspace::InviteCode,
        device_name: &str,
        clock: std::sync::Arc<dyn Clock>,
    ) -> Result<(Store, crate::workspace::JoinRequest), StoreError> {
        let store = self.unlock(user, passphrase, clock.clone())?;
        store.check_empty_for_join()?;
        let me = store.user().clone();
        let db_key = store.key().to_owned();
        store.lock()?;
        let db_path = self.dir.join(DATABASE_FILE);
        let set_aside = self
            .dir
            .join(format!("{DATABASE_FILE}.before-join-{}", clock.now_ms()));
        std::fs::rename(&db_path, &set_aside)?;
        for suffix in ["-wal", "-shm"] {
            let side = self.dir.join(format!("{DATABASE_FILE}{suffix}"));
            if side.exists() {
                std::fs::rename(
                    &side,
                    self.dir.join(format!("{}{suffix}", set_aside.display())),
                )?;
            }
        }
        let profile_id = self.file.id_bytes()?;
        crate::anchor::remove(&self.dir, self.anchor_dir.as_deref(), &profile_id)?;
        {
            let mut conn = crate::db::open(&db_path, &db_key, crate::db::OpenMode::Create)?;
            crate::db::migrate(&mut conn)?;
            let tx = rusqlite::Transaction::new_unchecked(
                &conn,
                rusqlite::TransactionBehavior::Immediate,
            )?;
            crate::legacy::discard_empty(&tx)?;
            for (key, value) in [
                ("profile_id", self.file.profile_id.clone()),
                ("profile_kind", self.file.kind.as_str().to_owned()),
                ("anchored", "joined".to_owned()),
                ("workspace", code.workspace.to_hex()),
                ("join_relay", code.relay.clone()),
            ] {
                crate::workspace::set_meta(&tx, key, &value)?;
            }
            crate::device::create(&tx, &db_key, clock.now_ms())?;
            tx.commit()?;
        }
        let store = self.unlock(&me.id.to_hex(), passphrase, clock)?;
        let request =
            code.join_request((me.id, &me.name, &store.signer), &store.device, device_name)?;
        store.set_sync_value("join_request", &hex(&request.sealed))?;
        store.set_sync_value("join_invite", &request.invite.to_hex())?;
        Ok((store, request))
    }

    /// Issues a new recovery key: a new emergency identity registers itself in the log (the
    /// previous emergency user is removed, so what the old key could sign is refused from now
    /// on), and `profile.json` wraps the database key for the new key only, so the old key no
    /// longer opens this profile. An admin or physician does it; the new key is returned to be
    /// shown once.
    ///
    /// An old copy of `profile.json` still pairs with the old key: taking that away would need
    /// the database re-keyed and re-wrapped for every user, whose passphrases this device does
    /// not hold.
    /// `confirm` is the signed-in user's passphrase, asked again: a session someone left open is not enough to change the profile's keys.
    pub fn rotate_recovery(
        &mut self,
        store: &mut Store,
        confirm: &[u8],
    ) -> Result<RecoveryKey, StoreError> {
        store.require_manager("issuing a new recovery key")?;
        self.confirm_presence(store, confirm)?;
        self.issue_recovery(store)
    }

    /// A new recovery key and emergency identity, replacing the old (see
    /// [`Profile::rotate_recovery`]); the caller has checked who asks.
    pub(crate) fn issue_recovery(&mut self, store: &mut Store) -> Result<RecoveryKey, StoreError> {
        let recovery = RecoveryKey::generate();
        let emergency = DeviceIdentity::generate(&mut OsRng);
        let entry = RecoveryEntry {
            wrapped_key: wrap_key(
                &recovery.kek(),
                &store.key,
                &self.file.profile_id,
                "recovery",
            )?
            .wrapped_key,
            identity: Some(hex(&emergency.wrap(&recovery.kek(), &mut OsRng)?)),
        };
        // The log first: should writing the file fail, the old key opens the database but its
        // emergency user is gone, and running this again finishes the change. The file is
        // changed under its lock, so a user added meanwhile (the app and the command line at
        // once) is kept.
        store.replace_emergency(&emergency)?;
        self.file = ProfileFile::update(&self.dir, &FileKey::of(store.key()), |file| {
            file.recovery = entry;
            Ok(())
        })?;
        let _ = store.note_profile_file(self.file.generation);
        // From here the new key is the only one: it is returned (to be shown) whatever else
        // happens.
        let _ = store.audit_event(AuditAction::RecoveryKeyRotated, None, None);
        Ok(recovery)
    }

    /// Changes the signed-in user's passphrase. The current one must be given again (a
    /// session someone left open is not enough); the user's wrap of the database key and
    /// their signing identity are made afresh under the new one, so the old passphrase no
    /// longer unlocks with this `profile.json`. Audited.
    ///
    /// The database key itself stays: an old copy of `profile.json` with the old passphrase
    /// would still open it (re-keying needs every user's passphrase; see the hardening notes).
    pub fn change_passphrase(
        &mut self,
        store: &mut Store,
        current: &[u8],
        new: &[u8],
        params: KdfParams,
    ) -> Result<(), StoreError> {
        validate_passphrase(new)?;
        if store.user().role == Role::Emergency {
            return Err(StoreError::Invalid {
                field: "passphrase",
                reason: "emergency access has no passphrase to change",
            });
        }
        self.confirm_presence(store, current)?;
        let me = store.user().id.to_hex();
        self.file = self.rewrap(store, &me, new, params)?;
        // The change is made: a failure to record it must not be reported as a failed change.
        let _ = store.audit_event(AuditAction::PassphraseChanged, None, None);
        Ok(())
    }

    /// Checks that the person at the unlocked laptop is the signed-in user: `secret` is their
    /// passphrase (an emergency session has none, and may change no key). Someone at a laptop left
    /// unlocked must not guess its owner's secret here faster than at the lock screen: the
    /// same back-off applies, and a wrong answer counts toward it.
    pub fn confirm_presence(&mut self, store: &Store, secret: &[u8]) -> Result<(), StoreError> {
        let now = store.now();
        let me = store.user().id.to_hex();
        let entry = self
            .file
            .users
            .iter()
            .find(|u| u.id == me)
            .ok_or(StoreError::UnknownUser)?;
        let retry_after_secs = self.backoff_secs(Some(&me), now);
        if retry_after_secs > 0 {
            return Err(StoreError::RateLimited { retry_after_secs });
        }
        let record = PassphraseRecord::decode(&unhex(&entry.passphrase).unwrap_or_default())?;
        match unlock_record(&record, secret) {
            Ok(_) => Ok(()),
            Err(outpost_crypto::CryptoError::WrongPassphrase) => {
                self.record_failure(now, Some(me))?;
                Err(StoreError::WrongPassphrase)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Adds a user who unlocks with their own passphrase and signs with their own identity,
    /// registered by the signed-in admin or physician.
    pub fn add_user(
        &mut self,
        store: &mut Store,
        name: &str,
        role: Role,
        passphrase: &[u8],
        params: KdfParams,
    ) -> Result<User, StoreError> {
        validate_name(name)?;
        validate_passphrase(passphrase)?;
        if self.file.users.iter().any(|u| u.name == name) || name == EMERGENCY_USER_NAME {
            return Err(StoreError::Invalid {
                field: "name",
                reason: "a user with this name exists",
            });
        }
        let user = User {
            id: UserId::random(&mut OsRng),
            name: name.to_owned(),
            role,
        };
        let identity = DeviceIdentity::generate(&mut OsRng);
        let payload = Payload::UserAdded(UserAdded {
            user: user.id,
            name: name.to_owned(),
            role,
            identity: Some(identity.public().to_bytes()),
        });
        // Refused before anything is written when the signed-in user may not add this user.
        store.check_allowed(&payload)?;
        let (record, keys) = PassphraseRecord::create(&normalized(passphrase), params, &mut OsRng)?;
        let entry = UserEntry {
            id: user.id.to_hex(),
            name: name.to_owned(),
            role,
            passphrase: hex(&record.encode()),
            wrap: KeyWrap {
                wrapped_key: wrap_key(
                    &keys.key_encryption_key,
                    store.key(),
                    &self.file.profile_id,
                    &user.id.to_hex(),
                )?
                .wrapped_key,
            },
            identity: Some(hex(&identity.wrap(&keys.key_encryption_key, &mut OsRng)?)),
            sealed: Vec::new(),
        };
        // The file first: a user registered in the log without a way to unlock would be locked
        // out for good; a file entry without a registration is refused at unlock.
        let file_key = FileKey::of(store.key());
        self.file = ProfileFile::update(&self.dir, &file_key, |file| {
            if file.users.iter().any(|u| u.name == name) {
                return Err(StoreError::Invalid {
                    field: "name",
                    reason: "a user with this name exists",
                });
            }
            file.users.push(entry);
            Ok(())
        })?;
        if let Err(e) = store.write(RecordId::from(user.id), &payload) {
            let id = user.id.to_hex();
            if let Ok(file) = ProfileFile::update(&self.dir, &file_key, |file| {
                file.users.retain(|u| u.id != id);
                Ok(())
            }) {
                self.file = file;
            }
            let _ = store.note_profile_file(self.file.generation);
            return Err(e);
        }
        let _ = store.note_profile_file(self.file.generation);
        Ok(user)
    }

    /// The failed unlocks on record, sanitized (see [`Failures::sanitized`]). A file that
    /// does not parse counts as none, and is replaced at the next failure.
    fn failures(&self, now_ms: i64) -> Failures {
        let known: Vec<String> = self.file.users.iter().map(|u| u.id.clone()).collect();
        Failures::read(
            &std::fs::read(self.dir.join(FAILURES_FILE)).unwrap_or_default(),
            &known,
            now_ms,
        )
    }

    fn record_failure(&self, now: i64, user: Option<String>) -> Result<(), StoreError> {
        let mut failures = self.failures(now);
        failures.failures.push((now, user));
        write_atomic(
            &self.dir.join(FAILURES_FILE),
            &serde_json::to_vec(&failures).map_err(|_| bad("cannot encode"))?,
        )
    }
}

/// The marker of a profile being created or restored: written (exclusively) before the
/// database is claimed, removed once the profile is complete. A directory holding it and no
/// `profile.json` is an attempt that died (power cut, SIGKILL) and may be cleared.
const CLAIM_MARKER: &str = "outpost.creating";

/// An exclusively created, empty `outpost.db`: the claim on a profile directory, with its
/// marker. Dropped without [`DatabaseClaim::keep`], it removes what the failed attempt wrote:
/// the database, its WAL files, the marker and the profile files.
pub(crate) struct DatabaseClaim(Option<PathBuf>);

impl DatabaseClaim {
    /// Claims `dir` for a new profile. Clearing a dead claim and taking the new one happen
    /// under the profile lock, so two processes creating in one folder at once cannot clear
    /// each other's live claim.
    pub(crate) fn take(dir: &Path) -> Result<Self, StoreError> {
        let lock = file::ProfileFile::lock(dir)?;
        if Profile::exists(dir) {
            return Err(StoreError::ProfileExists);
        }
        clear_abandoned_claim(dir)?;
        let marker = dir.join(CLAIM_MARKER);
        // The marker appears complete (with the process id) or not at all.
        let (scratch, mut f) = crate::publish::Scratch::beside(&marker)?;
        {
            use std::io::Write as _;
            writeln!(f, "{}", std::process::id())?;
        }
        match scratch.publish(f, &marker) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(StoreError::ProfileExists);
            }
            Err(e) => return Err(e.into()),
        }
        let path = dir.join(DATABASE_FILE);
        let claimed = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path);
        drop(lock);
        match claimed {
            Ok(_) => Ok(Self(Some(path))),
            Err(e) => {
                let _ = std::fs::remove_file(&marker);
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    Err(StoreError::ProfileExists)
                } else {
                    Err(e.into())
                }
            }
        }
    }

    pub(crate) fn path(&self) -> &Path {
        self.0.as_deref().unwrap_or(Path::new(""))
    }

    pub(crate) fn keep(mut self) {
        if let Some(path) = self.0.take()
            && let Some(dir) = path.parent()
        {
            let _ = std::fs::remove_file(dir.join(CLAIM_MARKER));
        }
    }
}

impl Drop for DatabaseClaim {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            remove_database(&path);
            if let Some(dir) = path.parent() {
                // No profile existed when the claim was taken under the lock, and every other
                // creator fails at the claim: a profile file here is this failed attempt's,
                // and leaving it would make the folder say "a profile exists" with no database.
                let _ = std::fs::remove_file(dir.join(PROFILE_FILE));
                let _ = std::fs::remove_file(dir.join(file::PROFILE_COPY));
                let _ = std::fs::remove_file(dir.join(CLAIM_MARKER));
            }
        }
    }
}

/// Whether process `pid` is running (on Linux; elsewhere assumed, which only means an
/// abandoned claim is cleared by hand).
fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new("/proc").join(pid.to_string()).exists()
    } else {
        true
    }
}

fn remove_database(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.to_path_buf().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
}

/// Clears what a create or restore that died left behind (its marker, and the database it
/// claimed), so the directory is neither "no profile" nor "a profile exists" forever. A
/// database without the marker, or anything beside a `profile.json`, is left alone.
fn clear_abandoned_claim(dir: &Path) -> Result<(), StoreError> {
    let marker = dir.join(CLAIM_MARKER);
    if !marker.exists() || Profile::exists(dir) {
        return Ok(());
    }
    // Another process may be creating right now: its claim is live while it runs.
    // The marker is published whole, so one that cannot be read names no one: leave it be
    // (a person can remove it) rather than risk clearing a live claim.
    let Some(owner) = std::fs::read_to_string(&marker)
        .ok()
        .and_then(|t| t.trim().parse::<u32>().ok())
    else {
        return Ok(());
    };
    if process_alive(owner) {
        return Ok(());
    }
    remove_database(&dir.join(DATABASE_FILE));
    match std::fs::remove_file(&marker) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
        _ => Ok(()),
    }
}

fn validate_name(name: &str) -> Result<(), StoreError> {
    if name.trim().is_empty() || name.len() > 200 {
        return Err(StoreError::Invalid {
            field: "name",
            reason: "must be 1 to 200 characters",
        });
    }
    Ok(())
}

/// A passphrase as it is hashed: Unicode NFC when it is text, so an "é" typed as one code point
/// on one keyboard and as "e" + accent on another is the same passphrase; other bytes as they
/// are.
pub(crate) fn normalized(passphrase: &[u8]) -> Zeroizing<Vec<u8>> {
    use unicode_normalization::UnicodeNormalization as _;
    match std::str::from_utf8(passphrase) {
        Ok(text) => Zeroizing::new(text.nfc().collect::<String>().into_bytes()),
        Err(_) => Zeroizing::new(passphrase.to_vec()),
    }
}

/// Unlocks `record` with `passphrase` in NFC, or as typed for a record made before passphrases
/// were normalized.
pub(crate) fn unlock_record(
    record: &PassphraseRecord,
    passphrase: &[u8],
) -> Result<outpost_crypto::passphrase::UnlockedKeys, outpost_crypto::CryptoError> {
    let nfc = normalized(passphrase);
    match record.unlock(&nfc) {
        Err(outpost_crypto::CryptoError::WrongPassphrase) if nfc.as_slice() != passphrase => {
            record.unlock(passphrase)
        }
        other => other,
    }
}

/// Passphrases that lists of leaked passwords put first: guessed in the first seconds of any
/// attack, whatever the key derivation costs. Compared ignoring case and spaces.
const COMMON_PASSPHRASES: &[&str] = &[
    "password",
    "password1",
    "password12",
    "password123",
    "passw0rd",
    "p@ssw0rd",
    "12345678",
    "123456789",
    "1234567890",
    "0123456789",
    "87654321",
    "qwertyui",
    "qwertyuiop",
    "asdfghjk",
    "asdfghjkl",
    "zxcvbnm1",
    "1q2w3e4r",
    "1qaz2wsx",
    "abcdefgh",
    "abcd1234",
    "abc12345",
    "iloveyou",
    "letmein1",
    "welcome1",
    "welcome123",
    "trustno1",
    "sunshine",
    "princess",
    "football",
    "baseball",
    "superman",
    "starwars",
    "whatever",
    "computer",
    "internet",
    "changeme",
    "administrator",
    "admin123",
    "doctor123",
    "hospital",
    "clinic123",
    "outpost1",
    "qwerty123",
    "michael1",
    "jennifer",
    "11111111",
    "00000000",
    "88888888",
    "66666666",
];

/// The passphrase policy, in the core (the screens may say it earlier; this decides): at least
/// 8 characters, not one character repeated, not one of [`COMMON_PASSPHRASES`].
/// The shortest passphrase accepted (for a user or a backup).
pub const MIN_PASSPHRASE_CHARS: usize = 8;

pub(crate) fn validate_passphrase(passphrase: &[u8]) -> Result<(), StoreError> {
    let invalid = |reason| {
        Err(StoreError::Invalid {
            field: "passphrase",
            reason,
        })
    };
    let text = String::from_utf8_lossy(passphrase);
    if text.chars().count() < MIN_PASSPHRASE_CHARS {
        return invalid("must be at least 8 characters");
    }
    let folded: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    let mut chars = folded.chars();
    let first = chars.next();
    if chars.all(|c| Some(c) == first) || COMMON_PASSPHRASES.contains(&folded.as_str()) {
        return invalid("is one of the passphrases tried first by anyone guessing; choose another");
    }
    Ok(())
}
