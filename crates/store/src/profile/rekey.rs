//! Removing a user for good: their entry in `profile.json` is destroyed and the database is
//! given a new key, so that a copy of `profile.json` taken earlier together with their
//! passphrase (or anyone's old passphrase) no longer opens it.
//!
//! The admin doing it does not hold the other users' passphrases, so the new key cannot be
//! wrapped under theirs. It is sealed instead to each remaining user's registered identity (a
//! direct envelope to the X25519 key of their verified registration); at their next unlock
//! their identity (unwrapped with their passphrase) opens it, and an ordinary wrap replaces
//! the sealed one. The recovery key is replaced too (its wrap held the old key): the new one is
//! returned, to be shown once with its new sheet.
//!
//! Order, so that a crash never locks everyone out: the sealed keys are written first (until
//! the database is re-keyed they open nothing, and each user's old wrap still works), then the
//! database is re-keyed under the exclusive in-use lock, then the recovery key is replaced.

use outpost_crypto::{ContentType, DeviceIdentity, GroupId, PublicIdentity, SealedEnvelope};
use outpost_proto::{AuditAction, UserId};
use rand_core::{OsRng, RngCore};
use zeroize::Zeroizing;

use super::file::{FileKey, ProfileFile, SealedKey, bad, wrap_key};
use super::{Profile, RecoveryKey};
use crate::{
    Store, StoreError,
    db::{self, hex, unhex},
};

/// Sealed keys kept per user (the newest): enough for removals in a row that were interrupted.
const MAX_SEALED: usize = 4;

/// Seals `key` to `recipient`, signed by `sealer`, bound to this profile.
fn seal(
    sealer: &DeviceIdentity,
    recipient: &PublicIdentity,
    profile_id: [u8; 16],
    key: &[u8; 32],
) -> Result<SealedKey, StoreError> {
    let envelope = SealedEnvelope::seal_direct(
        sealer,
        recipient,
        GroupId(profile_id),
        0,
        ContentType::DATABASE_KEY,
        key,
        &mut OsRng,
    )?;
    Ok(SealedKey {
        envelope: hex(&envelope.encode()),
        by: hex(&sealer.public().to_bytes()),
    })
}

/// Opens a sealed key with the user's identity; `None` when it does not open (altered, or
/// sealed for another profile or person).
pub(super) fn open_sealed(
    sealed: &SealedKey,
    identity: &DeviceIdentity,
    profile_id: [u8; 16],
) -> Option<Zeroizing<[u8; 32]>> {
    let envelope = SealedEnvelope::decode(&unhex(&sealed.envelope)?).ok()?;
    let by = PublicIdentity::from_bytes(&unhex(&sealed.by)?).ok()?;
    let opened = envelope.open_direct(identity, &by).ok()?;
    if opened.header().group != GroupId(profile_id)
        || opened.header().content_type != ContentType::DATABASE_KEY
        || opened.plaintext().len() != 32
    {
        return None;
    }
    let mut key = Zeroizing::new([0u8; 32]);
    key.copy_from_slice(opened.plaintext());
    Some(key)
}

impl Profile {
    /// Removes `user` (by an admin or physician, never themselves; `confirm` is their
    /// passphrase asked again, see [`Profile::confirm_presence`]): signed out of the log, their
    /// entry destroyed, the database re-keyed. Returns the new recovery key, to be shown once
    /// (the old one opened the old key). Refused, with nothing changed, while another Outpost
    /// has this profile open, or while a remaining user has not unlocked since their profile
    /// was upgraded (there is no key of theirs to seal the new database key to).
    pub fn remove_user(
        &mut self,
        store: &mut Store,
        user: UserId,
        confirm: &[u8],
    ) -> Result<RecoveryKey, StoreError> {
        if user == store.user().id {
            return Err(StoreError::Invalid {
                field: "user",
                reason: "you cannot remove yourself",
            });
        }
        store.require_manager("removing a user")?;
        if store.device_belongs_to(user)? {
            return Err(StoreError::Invalid {
                field: "user",
                reason: "this laptop joined the team as that person: remove them from another device",
            });
        }
        let (keys, missing) = store.trusted_sealing_keys();
        let cannot = self
            .file
            .users
            .iter()
            .any(|e| e.id != user.to_hex() && missing.iter().any(|m| m.to_hex() == e.id));
        if cannot {
            return Err(StoreError::Invalid {
                field: "users",
                reason: "someone on this laptop has not unlocked since the upgrade to signed records: ask them to unlock once, then remove",
            });
        }
        // Asked last of the checks, so nobody types a passphrase only to be refused.
        self.confirm_presence(store, confirm)?;
        // Held from before the first change: another Outpost with the profile open is
        // refused with nothing changed.
        store.in_use().make_exclusive()?;
        let done = (|| {
            store.remove_user_in_log(user)?;
            let new_key = self.seal_new_key(store, user, &keys)?;
            self.rekey_database(store, new_key)
        })();
        let _ = store.in_use().make_shared();
        done?;
        // The recovery key's wrap held the old key: a new recovery key, wrapped for the new.
        self.issue_recovery(store).map_err(|_| StoreError::Invalid {
            field: "recovery key",
            reason: "the user was removed and the database re-keyed, but the new recovery key could not be written: issue one now (outpost recovery rotate)",
        })
    }

    /// Writes `profile.json` without `removed`'s entry and with a new database key sealed to
    /// every other user listed in it. Returns the new key.
    fn seal_new_key(
        &mut self,
        store: &Store,
        removed: UserId,
        keys: &[(UserId, PublicIdentity)],
    ) -> Result<Zeroizing<[u8; 32]>, StoreError> {
        let mut new_key = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(new_key.as_mut());
        let profile_id = self.file.id_bytes()?;
        let mut sealed = Vec::new();
        for (user, identity) in keys {
            sealed.push((
                user.to_hex(),
                seal(&store.signer, identity, profile_id, &new_key)?,
            ));
        }
        let removed = removed.to_hex();
        self.file = ProfileFile::update(&self.dir, &FileKey::of(store.key()), |file| {
            file.users.retain(|e| e.id != removed);
            for entry in &mut file.users {
                if let Some((_, s)) = sealed.iter().find(|(id, _)| *id == entry.id) {
                    // Added to what earlier re-keys sealed, never replacing it (a few kept).
                    entry.sealed.push(s.clone());
                    let excess = entry.sealed.len().saturating_sub(MAX_SEALED);
                    entry.sealed.drain(..excess);
                }
            }
            Ok(())
        })?;
        Ok(new_key)
    }

    /// Re-encrypts every page under `new_key` (the caller holds the exclusive in-use lock),
    /// wraps this device's identity for it, and drops what the old key still opens: the
    /// write-ahead log and the copies kept before schema upgrades.
    fn rekey_database(
        &mut self,
        store: &mut Store,
        new_key: Zeroizing<[u8; 32]>,
    ) -> Result<(), StoreError> {
        db::apply_rekey(store.raw_connection(), &new_key)?;
        // From here the database opens only with the new key: the session holds it at once.
        store.replace_key(new_key);
        let key = *store.key();
        crate::device::rewrap(store.raw_connection(), &store.device, &key)?;
        db::checkpoint(store.raw_connection());
        // Sealed again under the new key, so the next unlock does not take it for tampering.
        self.file = ProfileFile::update(&self.dir, &FileKey::of(store.key()), |_| Ok(()))?;
        let _ = store.note_profile_file(self.file.generation);
        // Copies under the old key (before a schema upgrade, before joining a workspace) go;
        // one that cannot be removed does not undo the re-key.
        for entry in std::fs::read_dir(&self.dir)?.flatten() {
            let name = entry.file_name();
            if name.to_str().is_some_and(|n| {
                n.starts_with(&format!("{}.schema-v", super::DATABASE_FILE))
                    || n.starts_with(&format!("{}.before-join-", super::DATABASE_FILE))
            }) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        store.audit_event(AuditAction::DatabaseRekeyed, None, None)?;
        Ok(())
    }

    /// After an unlock that used a sealed key: an ordinary wrap under the user's
    /// key-encryption key replaces it. A failure only means the sealed key is used again.
    pub(super) fn unseal_entry(&self, store: &Store, user: &str, kek: &[u8; 32]) {
        let Ok(wrap) = wrap_key(kek, store.key(), &self.file.profile_id, user) else {
            return;
        };
        let _ = ProfileFile::update(&self.dir, &FileKey::of(store.key()), |file| {
            let entry = file
                .users
                .iter_mut()
                .find(|u| u.id == user)
                .ok_or(bad("the user's entry is gone"))?;
            entry.wrap = wrap;
            entry.sealed.clear();
            Ok(())
        })
        .map(|f| store.note_profile_file(f.generation));
    }
}
