//! The members of a workspace as people see them: one row per person and device, with the
//! safety number to compare in person or by phone, and whether someone here verified it.
//! Removing a member or a device, and changing a role, start a new key epoch.

use outpost_crypto::{PublicIdentity, SafetyNumber};
use outpost_proto::{
    DeviceId, Payload, RecordId, Role, UserId,
    canon::Canon,
    payload::{DeviceRemoved, UserRemoved, UserRoleChanged},
    relay::{RemoveDevice, SetDevice},
};
use rusqlite::params;
use serde::Serialize;

use crate::{Store, StoreError, authz::MANAGERS};

/// One person on one device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct WorkspaceMember {
    /// The person.
    pub user: UserId,
    /// Their name.
    pub name: String,
    /// The device (none for a person registered on no device of their own yet).
    pub device: Option<String>,
    /// The device's name.
    pub device_name: Option<String>,
    /// Their role.
    pub role: Role,
    /// The 60-digit safety number of your identity and theirs (yours: your own).
    pub safety_number: String,
    /// `you`, `verified`, `unverified`, `key_changed` or `removed`.
    pub status: String,
}

fn hex_id(s: &str) -> Result<[u8; 16], StoreError> {
    outpost_proto::ids::from_hex::<16>(s).ok_or(StoreError::Corrupt("an id column"))
}

impl Store {
    /// Every person and device of the workspace (or of this profile, outside one).
    pub fn workspace_members(&self) -> Result<Vec<WorkspaceMember>, StoreError> {
        let me = self.user_identity();
        let mut stmt = self.conn.prepare(
            "SELECT u.id, u.name, u.signing_key, u.agreement_key, u.removed_at IS NOT NULL,
                    d.id, d.name, d.removed_after IS NOT NULL, v.identity
             FROM users u
             LEFT JOIN devices d ON coalesce(d.user, d.registered_by) = u.id
             LEFT JOIN verified_members v ON v.user_id = u.id
             WHERE u.role != 'emergency'
             ORDER BY u.added_at, u.id, d.registered_at, d.id",
        )?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let user = UserId(hex_id(&r.get::<_, String>(0)?)?);
            let trusted = self.trusted_state(user);
            let (Some(sign), Some(agree)) = (
                r.get::<_, Option<Vec<u8>>>(2)?,
                r.get::<_, Option<Vec<u8>>>(3)?,
            ) else {
                continue;
            };
            let mut identity = sign.clone();
            identity.extend_from_slice(&agree);
            let theirs = PublicIdentity::from_bytes(&identity)?;
            let verified: Option<Vec<u8>> = r.get(8)?;
            let removed = r.get::<_, bool>(4)? || r.get::<_, Option<bool>>(7)?.unwrap_or(false);
            let status = if user == self.user.id {
                "you"
            } else if removed || trusted.is_some_and(|t| t.removed) {
                "removed"
            } else {
                match verified {
                    Some(v) if v == identity => "verified",
                    // Verified once, under a key the log no longer has for them.
                    Some(_) => "key_changed",
                    None => "unverified",
                }
            };
            out.push(WorkspaceMember {
                user,
                name: r.get(1)?,
                device: r.get(5)?,
                device_name: r.get(6)?,
                role: trusted.map_or(Role::Nurse, |t| t.role),
                safety_number: SafetyNumber::new(&me, &theirs).digits(),
                status: status.to_owned(),
            });
        }
        Ok(out)
    }

    /// Records that someone here compared `user`'s safety number with them (in person or by
    /// phone) and it matched. A later key change shows as `key_changed`.
    pub fn mark_verified(&mut self, user: UserId) -> Result<(), StoreError> {
        let identity: (Option<Vec<u8>>, Option<Vec<u8>>) = self.conn.query_row(
            "SELECT signing_key, agreement_key FROM users WHERE id = ?1",
            [user.to_hex()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let (Some(mut key), Some(agree)) = identity else {
            return Err(StoreError::NotFound("user"));
        };
        key.extend_from_slice(&agree);
        self.conn.execute(
            "INSERT INTO verified_members (user_id, identity, verified_by, verified_at)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (user_id) DO UPDATE SET identity = excluded.identity,
                verified_by = excluded.verified_by, verified_at = excluded.verified_at",
            params![user.to_hex(), key, self.user.id.to_hex(), self.now()],
        )?;
        Ok(())
    }

    pub(crate) fn require_manager(&self, action: &'static str) -> Result<(), StoreError> {
        if self.is_manager() {
            Ok(())
        } else {
            Err(StoreError::NotPermitted {
                action,
                needs: "an admin or physician",
                role: self.user.role,
            })
        }
    }

    /// The newest sequence number of `device` this device holds.
    fn head_of(&self, device: DeviceId) -> Result<u64, StoreError> {
        Ok(crate::oplog::device_head(&self.conn, device)?.map_or(0, |(s, _)| s))
    }

    /// Removes a person (and their own devices) or one device (a lost laptop), given a user
    /// or device id: signed removals in the log, the relay told, and a new key epoch so they
    /// can read nothing written from now on. Returns the devices removed.
    pub fn remove_member(&mut self, id: &str) -> Result<Vec<DeviceId>, StoreError> {
        self.require_manager("removing a member")?;
        let id = hex_id(id.trim()).map_err(|_| StoreError::Invalid {
            field: "member",
            reason: "give a user id or a device id (32 hex characters)",
        })?;
        let is_user: bool = self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM users WHERE id = ?1)",
            [outpost_proto::ids::to_hex(&id)],
            |r| r.get(0),
        )?;
        let devices: Vec<DeviceId> = if is_user {
            let user = UserId(id);
            if user == self.user.id {
                return Err(StoreError::Invalid {
                    field: "member",
                    reason: "you cannot remove yourself",
                });
            }
            self.write(
                RecordId::from(user),
                &Payload::UserRemoved(UserRemoved { user }),
            )?;
            let mut stmt = self
                .conn
                .prepare("SELECT id FROM devices WHERE user = ?1 AND removed_after IS NULL")?;
            stmt.query_map([user.to_hex()], |r| r.get::<_, String>(0))?
                .map(|d| Ok(DeviceId(hex_id(&d?)?)))
                .collect::<Result<_, StoreError>>()?
        } else {
            let known: bool = self.conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM devices WHERE id = ?1 AND removed_after IS NULL)",
                [outpost_proto::ids::to_hex(&id)],
                |r| r.get(0),
            )?;
            if !known {
                return Err(StoreError::NotFound("member or device"));
            }
            vec![DeviceId(id)]
        };
        for device in &devices {
            if *device == self.device_id() {
                return Err(StoreError::Invalid {
                    field: "member",
                    reason: "you cannot remove the device you are using",
                });
            }
            let after_seq = self.head_of(*device)?;
            self.write(
                RecordId(device.0),
                &Payload::DeviceRemoved(DeviceRemoved {
                    device: *device,
                    after_seq,
                }),
            )?;
            self.add_relay_task(
                "remove_device",
                &RemoveDevice { device: *device }.to_canonical(),
            )?;
        }
        self.start_epoch()?;
        Ok(devices)
    }

    /// Changes a member's role (managers); the relay learns whether their devices manage too.
    pub fn change_role(&mut self, user: UserId, role: Role) -> Result<(), StoreError> {
        self.require_manager("changing a role")?;
        if user == self.user.id {
            return Err(StoreError::Invalid {
                field: "member",
                reason: "ask another admin or physician to change your own role",
            });
        }
        self.write(
            RecordId::from(user),
            &Payload::UserRoleChanged(UserRoleChanged { user, role }),
        )?;
        let mut stmt = self
            .conn
            .prepare("SELECT identity FROM devices WHERE user = ?1 AND removed_after IS NULL")?;
        let identities: Vec<Vec<u8>> = stmt
            .query_map([user.to_hex()], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        drop(stmt);
        for identity in identities {
            let identity: [u8; 64] = identity
                .try_into()
                .map_err(|_| StoreError::Corrupt("device identity"))?;
            self.add_relay_task(
                "set_device",
                &SetDevice {
                    identity,
                    admin: MANAGERS.contains(&role),
                }
                .to_canonical(),
            )?;
        }
        Ok(())
    }
}
