//! `profile.json`: per user, the passphrase record and what it unwraps (the shared database key
//! and the user's own signing identity); the recovery key's wraps. Names and roles are in the
//! clear so the unlock screen can offer them; what decides what a user may do comes from the
//! signed log, never from this file.
//!
//! The file is authenticated: every write numbers it (`generation`) and seals it with a MAC
//! under a key derived from the database key, which only someone who can open the database
//! holds. The database remembers the highest generation it has seen, so at unlock an edited
//! file and an older copy put back (say, with a passphrase that was since changed) are both
//! found and recorded. Neither can be prevented by the file itself: that needs the database to
//! be re-keyed (see `docs/SECURITY.md`).

use std::path::Path;

use outpost_crypto::primitives;
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::ProfileKind;
use crate::{Role, StoreError, db::unhex};

/// The profile file's name.
pub const PROFILE_FILE: &str = "profile.json";
/// Its second copy, written after it: every key wrap is in both, so a deleted or damaged
/// `profile.json` (a disk error, a careless clean-up) loses nothing.
pub const PROFILE_COPY: &str = "profile.copy.json";
/// Held while `profile.json` is being changed.
const LOCK_FILE: &str = "profile.lock";
/// The reason given for a file from a newer build (never replaced from the copy).
const UNKNOWN_FORMAT: &str = "unknown format";
/// Format written by this build (1: before signing identities).
pub(crate) const FORMAT: u32 = 2;

#[derive(Serialize, Deserialize, Clone)]
pub(crate) struct ProfileFile {
    pub format: u32,
    pub profile_id: String,
    #[serde(default)]
    pub kind: ProfileKind,
    pub users: Vec<UserEntry>,
    pub recovery: RecoveryEntry,
    /// Bumped by every write (0 in files from before authentication).
    #[serde(default)]
    pub generation: u64,
    /// Hex of the MAC over the file with this field absent (see [`FileKey`]); absent in files
    /// from before authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
}

/// The key `profile.json` is sealed with: HKDF of the database key, so that only someone who
/// can open the database can seal the file.
pub(crate) struct FileKey(Zeroizing<[u8; 32]>);

impl FileKey {
    pub(crate) fn of(db_key: &[u8; 32]) -> Self {
        Self(primitives::derive_key(
            b"",
            db_key,
            &[b"outpost/v1/store/profile-file-mac"],
        ))
    }
}

/// What checking the file's seal found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seal {
    /// Written before files were sealed (or rebuilt from a recovery sheet): seal it now.
    Unsealed,
    /// Sealed by someone holding the database key.
    Valid,
    /// Changed by someone without the database key.
    Broken,
}

impl std::fmt::Debug for ProfileFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProfileFile")
            .field("users", &self.users.len())
            .finish_non_exhaustive()
    }
}

#[derive(Serialize, Deserialize, Clone)]
pub(crate) struct UserEntry {
    pub id: String,
    pub name: String,
    pub role: Role,
    /// Hex of the encoded passphrase record.
    pub passphrase: String,
    /// The database key under this user's key-encryption key.
    pub wrap: KeyWrap,
    /// Hex of this user's signing identity wrapped under their key-encryption key; absent in
    /// files from before signing identities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// New database keys sealed to this user's registered identity, oldest first, left by
    /// admins who re-keyed the database (after removing someone); replaced by an ordinary
    /// wrap at the user's next unlock. Kept as a list: if a second re-key is interrupted, the
    /// key sealed by the first still opens the database.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sealed: Vec<SealedKey>,
}

/// A database key sealed to a user's public identity (a direct envelope).
#[derive(Serialize, Deserialize, Clone)]
pub(crate) struct SealedKey {
    /// Hex of the envelope.
    pub envelope: String,
    /// Hex of the sealer's public identity (64 bytes), which signed the envelope.
    pub by: String,
}

#[derive(Serialize, Deserialize, Clone)]
pub(crate) struct RecoveryEntry {
    /// The database key under the recovery key.
    pub wrapped_key: String,
    /// The emergency identity under the recovery key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
}

/// A key encrypted under a key-encryption key: hex of `nonce (24) || ciphertext`.
#[derive(Serialize, Deserialize, Clone)]
pub(crate) struct KeyWrap {
    pub wrapped_key: String,
}

pub(crate) fn bad(reason: &'static str) -> StoreError {
    StoreError::ProfileFile {
        file: PROFILE_FILE,
        reason,
    }
}

/// A file that is not there or does not parse, which its copy may stand in for; not a read
/// error (the disk may come back) nor a file from a newer build (never replaced by an older
/// copy).
fn missing_or_damaged(e: &StoreError) -> bool {
    match e {
        StoreError::NoProfile => true,
        StoreError::ProfileFile { reason, .. } => *reason != UNKNOWN_FORMAT,
        _ => false,
    }
}

impl ProfileFile {
    /// The MAC over the file as it would be written with no `mac` field: HKDF-SHA256 with the
    /// file key as salt (HKDF-Extract is HMAC) over the JSON bytes.
    fn tag(&self, key: &FileKey) -> Result<Zeroizing<[u8; 32]>, StoreError> {
        let mut unsealed = self.clone();
        unsealed.mac = None;
        let bytes = serde_json::to_vec(&unsealed).map_err(|_| bad("cannot encode"))?;
        Ok(primitives::derive_key(
            key.0.as_ref(),
            &bytes,
            &[b"outpost/v1/store/profile-file"],
        ))
    }

    /// Checks the seal, in constant time.
    pub(crate) fn seal(&self, key: &FileKey) -> Result<Seal, StoreError> {
        use subtle::ConstantTimeEq;
        let Some(mac) = &self.mac else {
            return Ok(Seal::Unsealed);
        };
        let Some(mac) = unhex(mac).filter(|m| m.len() == 32) else {
            return Ok(Seal::Broken);
        };
        Ok(if bool::from(self.tag(key)?.ct_eq(&mac)) {
            Seal::Valid
        } else {
            Seal::Broken
        })
    }

    /// Reads `profile.json`; when it is missing or does not parse (never for a read error or a
    /// newer format), reads its copy instead and, under the profile lock and only if
    /// `profile.json` is still missing or damaged then, puts it back from the copy.
    pub(crate) fn read(dir: &Path) -> Result<Self, StoreError> {
        match Self::read_one(&dir.join(PROFILE_FILE)) {
            Ok(file) => Ok(file),
            Err(first) if missing_or_damaged(&first) => {
                let copy = dir.join(PROFILE_COPY);
                let Ok(file) = Self::read_one(&copy) else {
                    return Err(first);
                };
                let _ = Self::repair_from_copy(dir);
                Ok(file)
            }
            Err(other) => Err(other),
        }
    }

    /// Puts `profile.json` back from its copy, unless a writer fixed it meanwhile.
    fn repair_from_copy(dir: &Path) -> Result<(), StoreError> {
        let lock = Self::lock(dir)?;
        let still_bad = matches!(
            Self::read_one(&dir.join(PROFILE_FILE)),
            Err(e) if missing_or_damaged(&e)
        );
        if still_bad {
            write_atomic(
                &dir.join(PROFILE_FILE),
                &std::fs::read(dir.join(PROFILE_COPY))?,
            )?;
        }
        drop(lock);
        Ok(())
    }

    /// The exclusive lock every change to the file holds.
    pub(crate) fn lock(dir: &Path) -> Result<std::fs::File, StoreError> {
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(LOCK_FILE))?;
        lock.lock()?;
        Ok(lock)
    }

    fn read_one(path: &Path) -> Result<Self, StoreError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::NoProfile);
            }
            Err(e) => return Err(e.into()),
        };
        Self::parse(&bytes)
    }

    /// Reads the file's bytes (untrusted: anyone with the laptop can write them).
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self, StoreError> {
        let file: Self =
            serde_json::from_slice(bytes).map_err(|_| bad("not valid JSON for this version"))?;
        if !(1..=FORMAT).contains(&file.format) {
            return Err(bad(UNKNOWN_FORMAT));
        }
        Ok(file)
    }

    /// Changes the file under an exclusive lock: re-read, change, write, so that two processes
    /// (the desktop app and the command line) changing it at once never lose each other's
    /// change. Returns the file as written.
    pub(crate) fn update(
        dir: &Path,
        key: &FileKey,
        change: impl FnOnce(&mut Self) -> Result<(), StoreError>,
    ) -> Result<Self, StoreError> {
        let lock = Self::lock(dir)?;
        // Under the lock: a missing or damaged file is read from its copy (the write below puts
        // it back), never repaired through `read`, which would take the lock again.
        let mut file = match Self::read_one(&dir.join(PROFILE_FILE)) {
            Ok(f) => f,
            Err(first) if missing_or_damaged(&first) => {
                Self::read_one(&dir.join(PROFILE_COPY)).map_err(|_| first)?
            }
            Err(e) => return Err(e),
        };
        change(&mut file)?;
        file.write(dir, key)?;
        // Dropping the handle releases the lock.
        drop(lock);
        Ok(file)
    }

    /// Writes the file, numbered and sealed, then its copy (each atomically). Once
    /// `profile.json` is written the change is made: a copy that could not be written is not a
    /// failure of the change (the caller must not say it failed, nor hide a new key), and the
    /// copy is brought up to date at the next write.
    pub(crate) fn write(&mut self, dir: &Path, key: &FileKey) -> Result<(), StoreError> {
        self.format = FORMAT;
        self.generation = self.generation.saturating_add(1);
        self.mac = None;
        self.mac = Some(crate::db::hex(self.tag(key)?.as_ref()));
        let file = self.clone();
        let bytes = serde_json::to_vec_pretty(&file).map_err(|_| bad("cannot encode"))?;
        write_atomic(&dir.join(PROFILE_FILE), &bytes)?;
        let _ = write_atomic(&dir.join(PROFILE_COPY), &bytes);
        Ok(())
    }

    /// The profile id as bytes.
    pub(crate) fn id_bytes(&self) -> Result<[u8; 16], StoreError> {
        outpost_proto::ids::from_hex::<16>(&self.profile_id).ok_or(bad("bad profile id"))
    }
}

pub(crate) fn wrap_key(
    kek: &[u8; 32],
    db_key: &[u8; 32],
    profile_id: &str,
    holder: &str,
) -> Result<KeyWrap, StoreError> {
    let mut nonce = [0u8; 24];
    OsRng.fill_bytes(&mut nonce);
    let ct = primitives::xchacha_seal(kek, &nonce, &wrap_aad(profile_id, holder), db_key)?;
    Ok(KeyWrap {
        wrapped_key: crate::db::hex(&[&nonce[..], &ct].concat()),
    })
}

pub(crate) fn unwrap_key(
    kek: &[u8; 32],
    wrapped: &str,
    profile_id: &str,
    holder: &str,
) -> Result<Zeroizing<[u8; 32]>, StoreError> {
    let bytes = unhex(wrapped).ok_or(bad("bad key wrap"))?;
    if bytes.len() != 24 + 32 + 16 {
        return Err(bad("bad key wrap length"));
    }
    let nonce: [u8; 24] = bytes[..24].try_into().map_err(|_| bad("bad key wrap"))?;
    let pt = primitives::xchacha_open(kek, &nonce, &wrap_aad(profile_id, holder), &bytes[24..])?;
    let mut key = Zeroizing::new([0u8; 32]);
    if pt.len() != 32 {
        return Err(bad("bad key wrap length"));
    }
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

/// Writes `bytes` to `path` so that a crash leaves either the old file or the new one, never
/// a torn mix: write a sibling temp file (named uniquely, so two writers never share one),
/// fsync it, rename over, fsync the directory.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    use std::io::Write;
    let mut suffix = [0u8; 8];
    OsRng.fill_bytes(&mut suffix);
    let tmp = path.with_extension(format!("{}.tmp", crate::db::hex(&suffix)));
    let written = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e.into());
    }
    if let Some(parent) = path.parent() {
        std::fs::File::open(parent)?.sync_all()?;
    }
    Ok(())
}
