//! A profile on disk: the users of this device, each with their own passphrase, and the
//! database key wrapped once per user and once for the recovery key.
//!
//! Files in the profile directory:
//! - `profile.json`: format version, profile id, and per user: id, display name, role, the
//!   Argon2id passphrase record and the wrapped database key. Names and roles are in the clear
//!   so the unlock screen can offer them; no patient data is ever here.
//! - `outpost.db` (+ `-wal`, `-shm`): the SQLCipher database.
//! - `unlock-failures.json`: times of failed unlocks, for back-off across restarts; they are
//!   moved into the audit trail at the next successful unlock.

use std::path::{Path, PathBuf};

use outpost_crypto::{KdfParams, PassphraseRecord, primitives};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::{
    Clock, Role, Store, StoreError, User,
    db::{self, OpenMode, hex, unhex},
};

/// File names inside a profile directory.
pub const PROFILE_FILE: &str = "profile.json";
/// The SQLCipher database.
pub const DATABASE_FILE: &str = "outpost.db";
const FAILURES_FILE: &str = "unlock-failures.json";
const FORMAT: u32 = 1;
/// Failed unlocks allowed before back-off starts.
const FREE_ATTEMPTS: usize = 3;
/// Longest back-off between attempts.
const MAX_BACKOFF_SECS: u64 = 300;

#[derive(Serialize, Deserialize, Clone)]
struct ProfileFile {
    format: u32,
    profile_id: String,
    users: Vec<UserEntry>,
    recovery: KeyWrap,
}

#[derive(Serialize, Deserialize, Clone)]
struct UserEntry {
    id: String,
    name: String,
    role: Role,
    /// Hex of the encoded [`PassphraseRecord`].
    passphrase: String,
    wrap: KeyWrap,
}

/// The database key encrypted under a key-encryption key: hex of `nonce (24) || ciphertext`.
#[derive(Serialize, Deserialize, Clone)]
struct KeyWrap {
    wrapped_key: String,
}

#[derive(Serialize, Deserialize, Default)]
struct Failures {
    /// Millisecond times of consecutive failed unlocks, and who was tried (user id, if known).
    failures: Vec<(i64, Option<String>)>,
}

/// The recovery key, shown once at profile creation: 32 random bytes as Crockford base32 in
/// groups of four.
pub struct RecoveryKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for RecoveryKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecoveryKey(..)")
    }
}

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

impl RecoveryKey {
    /// The text to show (and print) once: 52 characters in groups of four.
    pub fn display(&self) -> Zeroizing<String> {
        let mut bits = 0u32;
        let mut nbits = 0;
        let mut out = Zeroizing::new(String::with_capacity(64));
        let mut chars = 0;
        for &byte in self.0.iter() {
            bits = (bits << 8) | u32::from(byte);
            nbits += 8;
            while nbits >= 5 {
                nbits -= 5;
                push_group_char(
                    &mut out,
                    &mut chars,
                    CROCKFORD[((bits >> nbits) & 31) as usize],
                );
            }
        }
        if nbits > 0 {
            push_group_char(
                &mut out,
                &mut chars,
                CROCKFORD[((bits << (5 - nbits)) & 31) as usize],
            );
        }
        out
    }

    /// Parses what a person typed: case, spaces and dashes ignored; I/L read as 1, O as 0.
    pub fn parse(text: &str) -> Result<Self, StoreError> {
        let mut bits = 0u32;
        let mut nbits = 0;
        let mut out = Zeroizing::new([0u8; 32]);
        let mut len = 0;
        for c in text.chars().filter(|c| !c.is_whitespace() && *c != '-') {
            let c = match c.to_ascii_uppercase() {
                'I' | 'L' => '1',
                'O' => '0',
                other => other,
            };
            let value = CROCKFORD
                .iter()
                .position(|&x| char::from(x) == c)
                .ok_or(StoreError::WrongRecoveryKey)?;
            bits = (bits << 5) | u32::try_from(value).map_err(|_| StoreError::WrongRecoveryKey)?;
            nbits += 5;
            if nbits >= 8 {
                nbits -= 8;
                if len == 32 {
                    return Err(StoreError::WrongRecoveryKey);
                }
                out[len] = ((bits >> nbits) & 0xff) as u8;
                len += 1;
            }
        }
        if len != 32 {
            return Err(StoreError::WrongRecoveryKey);
        }
        Ok(Self(out))
    }

    fn kek(&self) -> Zeroizing<[u8; 32]> {
        primitives::derive_key(b"", self.0.as_ref(), &[b"outpost/v1/store/recovery-kek"])
    }
}

fn push_group_char(out: &mut String, count: &mut usize, c: u8) {
    if *count > 0 && (*count).is_multiple_of(4) {
        out.push('-');
    }
    out.push(char::from(c));
    *count += 1;
}

/// A profile directory, read but not unlocked.
#[derive(Debug)]
pub struct Profile {
    dir: PathBuf,
    file: ProfileFile,
}

impl std::fmt::Debug for ProfileFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProfileFile")
            .field("users", &self.users.len())
            .finish_non_exhaustive()
    }
}

impl Profile {
    /// Creates a profile in `dir` with its first user, and returns it unlocked with the
    /// recovery key to show once. Refuses to touch a directory that already has a profile.
    pub fn create(
        dir: &Path,
        name: &str,
        role: Role,
        passphrase: &[u8],
        params: KdfParams,
        clock: std::sync::Arc<dyn Clock>,
    ) -> Result<(Store, RecoveryKey), StoreError> {
        validate_name(name)?;
        validate_passphrase(passphrase)?;
        std::fs::create_dir_all(dir)?;
        if dir.join(PROFILE_FILE).exists() || dir.join(DATABASE_FILE).exists() {
            return Err(StoreError::ProfileExists);
        }
        let mut db_key = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(db_key.as_mut());
        let user = User {
            id: random_id(),
            name: name.to_owned(),
            role,
        };
        let (file, recovery) = new_profile_file(&user, passphrase, params, &db_key)?;
        // The database first: if creating it fails, no profile.json points at nothing.
        let mut conn = db::open(&dir.join(DATABASE_FILE), &db_key, OpenMode::Create)?;
        db::migrate(&mut conn)?;
        let now = clock.now_ms();
        conn.execute(
            "INSERT INTO users (id, name, role, created_at) VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![user.id, user.name, role.as_str(), now],
        )?;
        write_atomic(
            &dir.join(PROFILE_FILE),
            &serde_json::to_vec_pretty(&file).map_err(json_err)?,
        )?;
        let mut store = Store::new(conn, db_key, user, dir.to_path_buf(), clock);
        store.audit_now("profile_created", None, None)?;
        store.audit_now("unlock", None, None)?;
        Ok((store, recovery))
    }

    /// Makes `dir`, which already holds a database keyed with `db_key` (a restored backup), a
    /// profile owned by `owner`.
    pub(crate) fn adopt(
        dir: &Path,
        owner: &User,
        passphrase: &[u8],
        params: KdfParams,
        db_key: Zeroizing<[u8; 32]>,
        clock: std::sync::Arc<dyn Clock>,
    ) -> Result<(Store, RecoveryKey), StoreError> {
        let (file, recovery) = new_profile_file(owner, passphrase, params, &db_key)?;
        let mut conn = db::open(&dir.join(DATABASE_FILE), &db_key, OpenMode::Existing)?;
        db::migrate(&mut conn)?;
        write_atomic(
            &dir.join(PROFILE_FILE),
            &serde_json::to_vec_pretty(&file).map_err(json_err)?,
        )?;
        let mut store = Store::new(conn, db_key, owner.clone(), dir.to_path_buf(), clock);
        store.audit_now("unlock", None, None)?;
        Ok((store, recovery))
    }

    /// Reads the profile in `dir`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let path = dir.join(PROFILE_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::NoProfile);
            }
            Err(e) => return Err(e.into()),
        };
        let file: ProfileFile =
            serde_json::from_slice(&bytes).map_err(|_| StoreError::ProfileFile {
                file: PROFILE_FILE,
                reason: "not valid JSON for this version".into(),
            })?;
        if file.format != FORMAT {
            return Err(StoreError::ProfileFile {
                file: PROFILE_FILE,
                reason: format!("unknown format {}", file.format),
            });
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            file,
        })
    }

    /// Whether `dir` holds a profile.
    pub fn exists(dir: &Path) -> bool {
        dir.join(PROFILE_FILE).is_file()
    }

    /// The users who can unlock this profile.
    pub fn users(&self) -> Vec<User> {
        self.file
            .users
            .iter()
            .map(|u| User {
                id: u.id.clone(),
                name: u.name.clone(),
                role: u.role,
            })
            .collect()
    }

    /// Seconds until another unlock attempt is allowed (0 when allowed now).
    pub fn backoff_secs(&self, now_ms: i64) -> u64 {
        let failures = self.failures();
        let n = failures.failures.len();
        if n < FREE_ATTEMPTS {
            return 0;
        }
        let wait = 1u64
            .checked_shl(u32::try_from(n - FREE_ATTEMPTS).unwrap_or(31))
            .unwrap_or(u64::MAX)
            .min(MAX_BACKOFF_SECS);
        let last = failures.failures.last().map_or(0, |f| f.0);
        let until = last.saturating_add(i64::try_from(wait * 1000).unwrap_or(i64::MAX));
        u64::try_from((until - now_ms).max(0))
            .unwrap_or(0)
            .div_ceil(1000)
    }

    /// Unlocks as `user` (a name or an id) with their passphrase.
    pub fn unlock(
        &self,
        user: &str,
        passphrase: &[u8],
        clock: std::sync::Arc<dyn Clock>,
    ) -> Result<Store, StoreError> {
        let now = clock.now_ms();
        let retry_after_secs = self.backoff_secs(now);
        if retry_after_secs > 0 {
            return Err(StoreError::RateLimited { retry_after_secs });
        }
        let Some(entry) = self
            .file
            .users
            .iter()
            .find(|u| u.id == user || u.name == user)
        else {
            self.record_failure(now, None)?;
            return Err(StoreError::UnknownUser);
        };
        let record = PassphraseRecord::decode(&unhex(&entry.passphrase).unwrap_or_default())?;
        let keys = match record.unlock(passphrase) {
            Ok(keys) => keys,
            Err(outpost_crypto::CryptoError::WrongPassphrase) => {
                self.record_failure(now, Some(entry.id.clone()))?;
                return Err(StoreError::WrongPassphrase);
            }
            Err(e) => return Err(e.into()),
        };
        let db_key = unwrap_key(
            &keys.key_encryption_key,
            &entry.wrap,
            &self.file.profile_id,
            &entry.id,
        )?;
        let user = User {
            id: entry.id.clone(),
            name: entry.name.clone(),
            role: entry.role,
        };
        self.open_store(db_key, user, clock, "unlock")
    }

    /// Emergency access with the recovery key. Opens as the first admin (or, without one, the
    /// first user) and writes a loud `emergency_access` audit entry.
    pub fn unlock_with_recovery(
        &self,
        recovery: &str,
        clock: std::sync::Arc<dyn Clock>,
    ) -> Result<Store, StoreError> {
        let now = clock.now_ms();
        let retry_after_secs = self.backoff_secs(now);
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
        let Ok(db_key) = unwrap_key(
            &key.kek(),
            &self.file.recovery,
            &self.file.profile_id,
            "recovery",
        ) else {
            self.record_failure(now, None)?;
            return Err(StoreError::WrongRecoveryKey);
        };
        let entry = self
            .file
            .users
            .iter()
            .find(|u| u.role == Role::Admin)
            .or_else(|| self.file.users.first())
            .ok_or(StoreError::UnknownUser)?;
        let user = User {
            id: entry.id.clone(),
            name: entry.name.clone(),
            role: entry.role,
        };
        self.open_store(db_key, user, clock, "emergency_access")
    }

    fn open_store(
        &self,
        db_key: Zeroizing<[u8; 32]>,
        user: User,
        clock: std::sync::Arc<dyn Clock>,
        action: &str,
    ) -> Result<Store, StoreError> {
        let mut conn = db::open(&self.dir.join(DATABASE_FILE), &db_key, OpenMode::Existing)?;
        db::migrate(&mut conn)?;
        // profile.json is not authenticated beyond the key wraps: the role and name that decide
        // what this user may do come from the encrypted database.
        let (name, role): (String, String) = conn
            .query_row(
                "SELECT name, role FROM users WHERE id = ?1",
                [&user.id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(|_| StoreError::Corrupt("this user is not in the database".into()))?;
        let user = User {
            id: user.id,
            name,
            role: Role::parse(&role)?,
        };
        let mut store = Store::new(conn, db_key, user, self.dir.clone(), clock);
        // Failed attempts since the last unlock go into the audit trail now that it can be written.
        let failures = self.failures();
        for (at, who) in &failures.failures {
            store.audit_at(*at, who.as_deref(), "unlock_failed", None, None)?;
        }
        store.audit_now(action, None, None)?;
        if !failures.failures.is_empty() {
            std::fs::remove_file(self.dir.join(FAILURES_FILE))?;
        }
        Ok(store)
    }

    /// Adds a user who unlocks with their own passphrase. Needs an unlocked store (its key is
    /// wrapped for the new user) opened by an admin or physician.
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
        if !matches!(store.user().role, Role::Admin | Role::Physician) {
            return Err(StoreError::Invalid {
                field: "role",
                reason: "only an admin or physician can add users",
            });
        }
        if self.file.users.iter().any(|u| u.name == name) {
            return Err(StoreError::Invalid {
                field: "name",
                reason: "a user with this name exists",
            });
        }
        let id = random_id();
        let (record, keys) = PassphraseRecord::create(passphrase, params, &mut OsRng)?;
        let mut file = self.file.clone();
        file.users.push(UserEntry {
            id: id.clone(),
            name: name.to_owned(),
            role,
            passphrase: hex(&record.encode()),
            wrap: wrap_key(&keys.key_encryption_key, store.key(), &file.profile_id, &id)?,
        });
        let user = User {
            id,
            name: name.to_owned(),
            role,
        };
        store.insert_user(&user)?;
        write_atomic(
            &self.dir.join(PROFILE_FILE),
            &serde_json::to_vec_pretty(&file).map_err(json_err)?,
        )?;
        self.file = file;
        Ok(user)
    }

    fn failures(&self) -> Failures {
        std::fs::read(self.dir.join(FAILURES_FILE))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    fn record_failure(&self, now: i64, user: Option<String>) -> Result<(), StoreError> {
        let mut failures = self.failures();
        failures.failures.push((now, user));
        write_atomic(
            &self.dir.join(FAILURES_FILE),
            &serde_json::to_vec(&failures).map_err(json_err)?,
        )
    }
}

/// An exclusively created, empty `outpost.db`: the claim on a profile directory. Dropped without
/// [`DatabaseClaim::keep`], it removes the database and its WAL files again.
pub(crate) struct DatabaseClaim(Option<PathBuf>);

impl DatabaseClaim {
    pub(crate) fn take(dir: &Path) -> Result<Self, StoreError> {
        let path = dir.join(DATABASE_FILE);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(_) => Ok(Self(Some(path))),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                Err(StoreError::ProfileExists)
            }
            Err(e) => Err(e.into()),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        self.0.as_deref().unwrap_or(Path::new(""))
    }

    pub(crate) fn keep(mut self) {
        self.0 = None;
    }
}

impl Drop for DatabaseClaim {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            for suffix in ["", "-wal", "-shm"] {
                let mut p = path.clone().into_os_string();
                p.push(suffix);
                let _ = std::fs::remove_file(p);
            }
            // The directory had no profile when the claim was taken, and only a claim holder
            // writes one, so any profile file here is this failed attempt's.
            if let Some(dir) = path.parent() {
                let _ = std::fs::remove_file(dir.join(PROFILE_FILE));
                let _ = std::fs::remove_file(dir.join(PROFILE_FILE).with_extension("tmp"));
            }
        }
    }
}

/// A profile file with `user` as its only user, and a fresh recovery key; both wrap `db_key`.
fn new_profile_file(
    user: &User,
    passphrase: &[u8],
    params: KdfParams,
    db_key: &[u8; 32],
) -> Result<(ProfileFile, RecoveryKey), StoreError> {
    let profile_id = random_id();
    let (record, keys) = PassphraseRecord::create(passphrase, params, &mut OsRng)?;
    let mut recovery = RecoveryKey(Zeroizing::new([0u8; 32]));
    OsRng.fill_bytes(recovery.0.as_mut());
    let file = ProfileFile {
        format: FORMAT,
        profile_id: profile_id.clone(),
        users: vec![UserEntry {
            id: user.id.clone(),
            name: user.name.clone(),
            role: user.role,
            passphrase: hex(&record.encode()),
            wrap: wrap_key(&keys.key_encryption_key, db_key, &profile_id, &user.id)?,
        }],
        recovery: wrap_key(&recovery.kek(), db_key, &profile_id, "recovery")?,
    };
    Ok((file, recovery))
}

fn wrap_key(
    kek: &[u8; 32],
    db_key: &[u8; 32],
    profile_id: &str,
    holder: &str,
) -> Result<KeyWrap, StoreError> {
    let mut nonce = [0u8; 24];
    OsRng.fill_bytes(&mut nonce);
    let ct = primitives::xchacha_seal(kek, &nonce, &wrap_aad(profile_id, holder), db_key)?;
    Ok(KeyWrap {
        wrapped_key: hex(&[&nonce[..], &ct].concat()),
    })
}

fn unwrap_key(
    kek: &[u8; 32],
    wrap: &KeyWrap,
    profile_id: &str,
    holder: &str,
) -> Result<Zeroizing<[u8; 32]>, StoreError> {
    let bytes = unhex(&wrap.wrapped_key).ok_or(StoreError::ProfileFile {
        file: PROFILE_FILE,
        reason: "bad key wrap".into(),
    })?;
    if bytes.len() != 24 + 32 + 16 {
        return Err(StoreError::ProfileFile {
            file: PROFILE_FILE,
            reason: "bad key wrap length".into(),
        });
    }
    let nonce: [u8; 24] = bytes[..24]
        .try_into()
        .map_err(|_| StoreError::NotADatabase)?;
    let pt = primitives::xchacha_open(kek, &nonce, &wrap_aad(profile_id, holder), &bytes[24..])?;
    let mut key = Zeroizing::new([0u8; 32]);
    key.copy_from_slice(&pt);
    Ok(key)
}

fn wrap_aad(profile_id: &str, holder: &str) -> Vec<u8> {
    [
        b"outpost/v1/store/key-wrap\0".as_slice(),
        profile_id.as_bytes(),
        b"\0",
        holder.as_bytes(),
    ]
    .concat()
}

/// A random 128-bit id as 32 lowercase hex characters.
pub(crate) fn random_id() -> String {
    let mut id = [0u8; 16];
    OsRng.fill_bytes(&mut id);
    hex(&id)
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

fn validate_passphrase(passphrase: &[u8]) -> Result<(), StoreError> {
    if passphrase.len() < 8 {
        return Err(StoreError::Invalid {
            field: "passphrase",
            reason: "must be at least 8 characters",
        });
    }
    Ok(())
}

fn json_err(_: serde_json::Error) -> StoreError {
    StoreError::ProfileFile {
        file: PROFILE_FILE,
        reason: "cannot encode".into(),
    }
}

/// Writes `bytes` to `path` so that a crash leaves either the old file or the new one, never
/// a torn mix: write a sibling temp file, fsync it, rename over, fsync the directory.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(parent) = path.parent() {
        std::fs::File::open(parent)?.sync_all()?;
    }
    Ok(())
}
