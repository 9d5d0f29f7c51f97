//! Care-team workspaces, on the store's side: founding one on this profile's log, invites,
//! join requests and admissions, removals and role changes, the members with their safety
//! numbers, and the group keys of each epoch.
//!
//! The key schedule (which key seals what, when a new epoch starts, who may deliver a key)
//! lives in [`keys`], one module, so MLS (RFC 9420) can replace it later.

pub mod blobs;
pub mod invite;
pub mod keys;
pub mod members;
pub mod sync_state;
pub mod visits;

use outpost_crypto::PublicIdentity;
use outpost_proto::{OpHash, Payload, RecordId, WorkspaceId, payload::WorkspaceCreated};
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;

use crate::{Store, StoreError, authz::MANAGERS};

pub use invite::{InviteCode, JoinRequest};
pub use members::WorkspaceMember;

/// The workspace this device is in, or is joining.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct WorkspaceInfo {
    /// Its id.
    pub id: WorkspaceId,
    /// Its name (empty while joining: the log has not arrived).
    pub name: String,
    /// The relay's URL.
    pub relay: String,
    /// Whether this device is still waiting for an admin to admit it.
    pub pending: bool,
}

/// The workspace id this device is in or joining (`meta.workspace`).
pub(crate) fn expected(conn: &Connection) -> Result<Option<WorkspaceId>, StoreError> {
    let value: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE key = 'workspace'", [], |r| {
            r.get(0)
        })
        .optional()?;
    value
        .map(|v| v.parse().map_err(StoreError::from))
        .transpose()
}

/// Whether `hash` may be the log's first registration: outside a workspace any may; inside
/// one, only the one whose hash gives the workspace id.
pub(crate) fn is_root(conn: &Connection, hash: &OpHash) -> Result<bool, StoreError> {
    Ok(expected(conn)?.is_none_or(|w| WorkspaceId::of_root(hash) == w))
}

pub(crate) fn set_meta(conn: &Connection, key: &str, value: &str) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [key, value],
    )?;
    Ok(())
}

pub(crate) fn meta(conn: &Connection, key: &str) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?)
}

impl Store {
    /// The workspace this device is in or joining, if any.
    pub fn workspace(&self) -> Result<Option<WorkspaceInfo>, StoreError> {
        let row: Option<(String, String, String)> = self
            .conn
            .query_row(
                "SELECT workspace, name, relay FROM workspace WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let admitted = self.is_admitted()?;
        if let Some((id, name, relay)) = row {
            return Ok(Some(WorkspaceInfo {
                id: id.parse()?,
                name,
                relay,
                pending: !admitted,
            }));
        }
        let Some(id) = expected(&self.conn)? else {
            return Ok(None);
        };
        Ok(Some(WorkspaceInfo {
            id,
            name: String::new(),
            relay: meta(&self.conn, "join_relay")?.unwrap_or_default(),
            pending: true,
        }))
    }

    /// Whether this device's person is registered in the log (a joining device is not until an
    /// admin admits it).
    pub fn is_admitted(&self) -> Result<bool, StoreError> {
        Ok(self.trusted_state(self.user.id).is_some())
    }

    /// Whether the person using this device may manage the workspace.
    pub fn is_manager(&self) -> bool {
        self.trusted_state(self.user.id)
            .is_some_and(|s| !s.removed && MANAGERS.contains(&s.role))
    }

    /// Founds a care-team workspace on this profile's log, synced through `relay`; the
    /// current user (an admin or physician) manages it. Starts the first key epoch.
    pub fn create_workspace(
        &mut self,
        name: &str,
        relay: &str,
    ) -> Result<WorkspaceInfo, StoreError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(StoreError::Invalid {
                field: "name",
                reason: "a workspace needs a name of at most 200 characters",
            });
        }
        invite::check_relay_url(relay)?;
        if self.workspace()?.is_some() {
            return Err(StoreError::Invalid {
                field: "workspace",
                reason: "this profile is already in a workspace",
            });
        }
        if !self.is_manager() {
            return Err(StoreError::NotPermitted {
                action: "founding a workspace",
                needs: "an admin or physician",
                role: self.user.role,
            });
        }
        let root = crate::membership::first_op(&self.conn)?.ok_or(StoreError::NotFound("log"))?;
        let id = WorkspaceId::of_root(&root);
        self.write(
            RecordId(id.0),
            &Payload::WorkspaceCreated(WorkspaceCreated {
                workspace: id,
                name: name.to_owned(),
                relay: relay.to_owned(),
            }),
        )?;
        set_meta(&self.conn, "workspace", &id.to_hex())?;
        // Registered with the relay at the next sync.
        self.set_sync_value("must_found", "1")?;
        self.trusted
            .replace(crate::trust::TrustedKeys::load(&self.conn)?);
        self.start_epoch()?;
        self.workspace()?.ok_or(StoreError::NotFound("workspace"))
    }

    /// Refuses to join a workspace from a profile that holds anything to lose: records, other
    /// users, another workspace, or a patient's profile.
    pub(crate) fn check_empty_for_join(&self) -> Result<(), StoreError> {
        if self.kind == crate::ProfileKind::Patient {
            return Err(StoreError::Invalid {
                field: "profile",
                reason: "a patient's profile does not join a care-team workspace",
            });
        }
        if self.workspace()?.is_some() {
            return Err(StoreError::Invalid {
                field: "profile",
                reason: "this profile is already in a workspace",
            });
        }
        let (records, others): (i64, i64) = self.conn.query_row(
            "SELECT (SELECT count(*) FROM patients) + (SELECT count(*) FROM encounters)
                  + (SELECT count(*) FROM notes) + (SELECT count(*) FROM vitals)
                  + (SELECT count(*) FROM attachments),
                    (SELECT count(*) FROM users WHERE role != 'emergency' AND removed_at IS NULL
                        AND id != ?1)",
            [self.user.id.to_hex()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        if records > 0 || others > 0 {
            return Err(StoreError::Invalid {
                field: "profile",
                reason: "this profile already holds records or other users; join from a new profile (outpost init), or found a workspace from this one",
            });
        }
        Ok(())
    }

    /// Takes in what sync changed about the person using this device (admitted, a new role).
    pub fn refresh_user(&mut self) -> Result<(), StoreError> {
        if let Some(state) = self.trusted_state(self.user.id) {
            self.user.role = state.role;
            if let Some(name) = self
                .conn
                .query_row(
                    "SELECT name FROM users WHERE id = ?1",
                    [self.user.id.to_hex()],
                    |r| r.get::<_, String>(0),
                )
                .optional()?
            {
                self.user.name = name;
            }
        }
        Ok(())
    }

    /// The public identity of the person using this device.
    pub fn user_identity(&self) -> PublicIdentity {
        self.signer.public()
    }

    /// This device's identity (for the relay: it signs sessions and envelopes).
    pub fn device_identity(&self) -> &outpost_crypto::DeviceIdentity {
        &self.device
    }
}
