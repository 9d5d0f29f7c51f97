//! The people registered in this profile's log: listing them and removing one (what was signed
//! stays theirs; they can act no more).

use outpost_proto::{Payload, RecordId, UserId, payload::UserRemoved};
use serde::Serialize;

use crate::{Store, StoreError, records::id_col};

/// A registered user, as the verified log says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Member {
    /// Their id.
    pub id: UserId,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: outpost_proto::Role,
    /// Whether they were removed.
    pub removed: bool,
    /// Whether they registered a signing key yet (users imported from before signatures
    /// register at their first unlock).
    pub registered: bool,
}

impl Store {
    /// Everyone registered, removed ones included (their records stay theirs).
    pub fn members(&self) -> Result<Vec<Member>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, name, role, removed_at IS NOT NULL, signing_key IS NOT NULL FROM users
             ORDER BY added_at, id",
        )?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let id: UserId = id_col(r, 0)?;
            // Roles and keys as the verified registrations say, not as the table does.
            let trusted = self.trusted_state(id).ok_or(StoreError::Corrupt(
                "the users table does not match the signed user registrations",
            ))?;
            out.push(Member {
                id,
                name: r.get(1)?,
                role: trusted.role,
                removed: trusted.removed,
                registered: trusted.signing_key.is_some(),
            });
        }
        Ok(out)
    }

    /// Signs `user` out of the log: as a workspace member (their devices too, and a new key
    /// epoch) when this profile is in a workspace, else as a local user.
    pub(crate) fn remove_user_in_log(&mut self, user: UserId) -> Result<(), StoreError> {
        if self.workspace()?.is_some() {
            self.remove_member(&user.to_hex()).map(|_| ())
        } else {
            self.remove_user(user)
        }
    }

    /// Every user not removed with a registered identity to seal a database key to, and those
    /// without one (imported users who have not unlocked since).
    pub(crate) fn trusted_sealing_keys(
        &self,
    ) -> (Vec<(UserId, outpost_crypto::PublicIdentity)>, Vec<UserId>) {
        self.trusted.borrow().sealing_keys()
    }

    /// Whether `identity` (hex of a 64-byte public identity) is the registered key of an admin
    /// or physician who is not removed: who may seal a new database key.
    pub(crate) fn is_manager_identity(&self, identity: &str) -> bool {
        let Some(bytes) = crate::db::unhex(identity).filter(|b| b.len() == 64) else {
            return false;
        };
        let trusted = self.trusted.borrow();
        let (keys, _) = trusted.sealing_keys();
        keys.iter().any(|(user, public)| {
            public.to_bytes().as_slice() == bytes.as_slice()
                && trusted
                    .state(*user)
                    .is_some_and(|s| !s.removed && crate::authz::MANAGERS.contains(&s.role))
        })
    }

    /// Whether this laptop's device is registered as `user`'s own (a device that joined a
    /// workspace as that person).
    pub(crate) fn device_belongs_to(&self, user: UserId) -> Result<bool, StoreError> {
        Ok(self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM devices WHERE id = ?1 AND user = ?2)",
            [self.device_id().to_hex(), user.to_hex()],
            |r| r.get(0),
        )?)
    }

    /// The shared in-use lock this session holds.
    pub(crate) fn in_use(&self) -> &crate::db::InUse {
        &self.in_use_lock
    }

    /// The database was re-keyed: the session holds the new key (the old one is zeroized).
    pub(crate) fn replace_key(&mut self, key: zeroize::Zeroizing<[u8; 32]>) {
        self.key = key;
    }

    /// Removes a user (admins and physicians): from now on nothing they sign is accepted.
    pub fn remove_user(&mut self, user: UserId) -> Result<(), StoreError> {
        if user == self.user.id {
            return Err(StoreError::Invalid {
                field: "user",
                reason: "you cannot remove yourself",
            });
        }
        self.write(
            RecordId::from(user),
            &Payload::UserRemoved(UserRemoved { user }),
        )?;
        Ok(())
    }
}
