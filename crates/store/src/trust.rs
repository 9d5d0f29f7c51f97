//! The signing keys this session trusts, verified from the signed user registrations in the
//! log when the profile is unlocked, not read from the users table.
//!
//! Someone holding the database key can edit the users table (give a nurse the physician role,
//! swap the physician's key for their own). They cannot make the registrations verify: each is
//! signed by an admin or physician already registered, back to the first user, who registered
//! themselves. So signatures are checked against these keys, and a users table that disagrees
//! with them is reported as tampering.

use std::collections::HashMap;

use outpost_proto::{OpKind, Operation, Payload, Role, UserId, WorkspaceId};
use rusqlite::Connection;

use crate::{
    StoreError,
    authz::{self, ActorState, Context},
};

/// Why a membership operation was not taken into account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rejection {
    /// Its signature does not verify (or it does not decode): the log was forged.
    Forged(&'static str),
    /// Authentic, but its author had no right to make it: it changes nothing.
    NotAllowed(&'static str),
}

/// Users' keys and roles as their verified registrations say.
#[derive(Debug, Default, Clone)]
pub(crate) struct TrustedKeys {
    users: HashMap<UserId, ActorState>,
    /// Each registered user's X25519 key, from the same verified registration as their
    /// signing key: what the database key is sealed to when it changes.
    agreement: HashMap<UserId, [u8; 32]>,
    /// The workspace this device is in or joining: its id pins the log's first registration.
    workspace: Option<WorkspaceId>,
}

impl TrustedKeys {
    /// Replays every user registration and removal (imported ones included) in log order,
    /// verifying each signature and the registration rules. The first operation that fails is
    /// an error naming it.
    pub(crate) fn load(conn: &Connection) -> Result<Self, StoreError> {
        // Imported records are read whole (they are bounded by the one-time import), so that
        // no filter on a table someone could edit decides which registrations are seen.
        let mut stmt = conn.prepare(
            "SELECT bytes FROM ops WHERE kind IN (?1, ?2, ?3, ?4, ?5)
             ORDER BY hlc_wall, hlc_counter, device, seq",
        )?;
        let mut rows = stmt.query([
            i64::from(OpKind::USER_ADDED.0),
            i64::from(OpKind::USER_REMOVED.0),
            i64::from(OpKind::LEGACY.0),
            i64::from(OpKind::USER_ROLE_CHANGED.0),
            i64::from(OpKind::DEVICE_ADMITTED.0),
        ])?;
        let mut keys = Self::empty(conn)?;
        while let Some(row) = rows.next()? {
            let op = Operation::decode(row.get(0)?).map_err(|_| tampered())?;
            if op.header().kind == OpKind::LEGACY {
                let Ok(Payload::Legacy(l)) = op.payload() else {
                    return Err(broken(&op, "does not decode"));
                };
                if l.kind != OpKind::USER_ADDED.0 {
                    continue;
                }
            }
            let importing =
                op.header().kind == OpKind::LEGACY && crate::apply::importing_before(conn, &op)?;
            // Authentic but not allowed: it registers nothing (and is listed as refused).
            if let Err(Rejection::Forged(reason)) = keys.observe(&op, importing) {
                return Err(broken(&op, reason));
            }
        }
        Ok(keys)
    }

    /// No registrations yet, for a log whose workspace (if any) is `conn`'s.
    pub(crate) fn empty(conn: &Connection) -> Result<Self, StoreError> {
        Ok(Self {
            users: HashMap::new(),
            agreement: HashMap::new(),
            workspace: crate::workspace::expected(conn)?,
        })
    }

    fn context(&self, op: &Operation, importing: bool) -> Context {
        Context {
            root_ok: self
                .workspace
                .is_none_or(|w| WorkspaceId::of_root(&op.hash()) == w),
            any_users: !self.users.is_empty(),
            emergency_active: self
                .users
                .values()
                .any(|u| u.role == Role::Emergency && !u.removed),
            importing,
        }
    }

    /// Checks one registration or removal and takes it into account.
    pub(crate) fn observe(&mut self, op: &Operation, importing: bool) -> Result<(), Rejection> {
        let payload = op
            .payload()
            .map_err(|_| Rejection::Forged("does not decode"))?;
        self.check(op, &payload, importing)?;
        let effective = match &payload {
            Payload::Legacy(l) => l
                .inner()
                .map_err(|_| Rejection::Forged("legacy record does not decode"))?,
            other => other.clone(),
        };
        match &effective {
            Payload::UserAdded(added) => {
                let signing_key = added.identity.map(|id| {
                    let mut k = [0u8; 32];
                    k.copy_from_slice(&id[..32]);
                    k
                });
                let entry = self.users.entry(added.user).or_insert(ActorState {
                    role: added.role,
                    signing_key: None,
                    removed: false,
                });
                if entry.signing_key.is_none()
                    && let Some(id) = added.identity
                {
                    let mut k = [0u8; 32];
                    k.copy_from_slice(&id[32..]);
                    self.agreement.insert(added.user, k);
                }
                entry.signing_key = entry.signing_key.or(signing_key);
            }
            Payload::UserRemoved(removed) => {
                if let Some(u) = self.users.get_mut(&removed.user) {
                    u.removed = true;
                }
            }
            Payload::UserRoleChanged(changed) => {
                if let Some(u) = self.users.get_mut(&changed.user)
                    && !u.removed
                    && u.role != Role::Emergency
                {
                    u.role = changed.role;
                }
            }
            Payload::DeviceAdmitted(admitted) => {
                let mut key = [0u8; 32];
                key.copy_from_slice(&admitted.user_identity[..32]);
                match self.users.get(&admitted.user) {
                    Some(u) if u.signing_key.is_some_and(|k| k != key) => {
                        return Err(Rejection::NotAllowed(
                            "a different key for a registered person",
                        ));
                    }
                    Some(_) => {}
                    None => {
                        let mut agreement = [0u8; 32];
                        agreement.copy_from_slice(&admitted.user_identity[32..]);
                        self.agreement.insert(admitted.user, agreement);
                        self.users.insert(
                            admitted.user,
                            ActorState {
                                role: admitted.role,
                                signing_key: Some(key),
                                removed: false,
                            },
                        );
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The key `op` must be signed with: its actor's registered key, or for a
    /// self-registration, the key it registers.
    pub(crate) fn key_for(&self, op: &Operation, payload: &Payload) -> Option<[u8; 32]> {
        let actor_id = op.header().actor;
        authz::signing_key_for(payload, actor_id, self.users.get(&actor_id).copied())
    }

    /// Verifies only `op`'s signature, under its actor's registered key.
    pub(crate) fn verify_signature(
        &self,
        op: &Operation,
        payload: &Payload,
    ) -> Result<(), &'static str> {
        let key = self
            .key_for(op, payload)
            .ok_or("the author has no registered key")?;
        op.verify(&key).map_err(|_| "signature does not verify")
    }

    /// Verifies `op`'s signature and role rules against the users known so far. `importing`:
    /// whether its device is still in its one-time import (only matters for imported records).
    pub(crate) fn check(
        &self,
        op: &Operation,
        payload: &Payload,
        importing: bool,
    ) -> Result<(), Rejection> {
        let actor_id = op.header().actor;
        let actor = self.users.get(&actor_id).copied();
        self.verify_signature(op, payload)
            .map_err(Rejection::Forged)?;
        authz::authorize(
            payload,
            actor_id,
            actor,
            &|u| self.users.get(&u).copied(),
            self.context(op, importing),
        )
        .map_err(|d| {
            Rejection::NotAllowed(match d {
                authz::Denied::Role { .. } => "the author's role does not allow it",
                authz::Denied::UnknownActor => "the author is not a current user",
                authz::Denied::BadRegistration(r) => r,
                authz::Denied::NotImporting => "a pre-signature record outside the one-time import",
            })
        })
    }

    /// Everyone not removed whose registration carries a key to seal to, with that key (their
    /// signing and agreement keys as one identity); and those who have none yet (imported
    /// users who have not unlocked since).
    pub(crate) fn sealing_keys(
        &self,
    ) -> (Vec<(UserId, outpost_crypto::PublicIdentity)>, Vec<UserId>) {
        let (mut keys, mut missing) = (Vec::new(), Vec::new());
        for (user, state) in &self.users {
            if state.removed {
                continue;
            }
            let identity = state
                .signing_key
                .zip(self.agreement.get(user))
                .and_then(|(s, a)| {
                    outpost_crypto::PublicIdentity::from_bytes(
                        &[s.as_slice(), a.as_slice()].concat(),
                    )
                    .ok()
                });
            match identity {
                Some(identity) => keys.push((*user, identity)),
                None => missing.push(*user),
            }
        }
        (keys, missing)
    }

    /// What the registrations say about `user`.
    pub(crate) fn state(&self, user: UserId) -> Option<ActorState> {
        self.users.get(&user).copied()
    }

    /// Fails when the users table says something about a key or role that the verified
    /// registrations do not (a row added, removed or changed).
    pub(crate) fn check_table(&self, conn: &Connection) -> Result<(), StoreError> {
        let mut stmt =
            conn.prepare("SELECT id, role, signing_key, removed_at IS NOT NULL FROM users")?;
        let mut rows = stmt.query([])?;
        let mut seen = 0usize;
        while let Some(row) = rows.next()? {
            seen += 1;
            let id: UserId = row.get::<_, String>(0)?.parse().map_err(|_| tampered())?;
            let role = crate::apply::parse_role(&row.get::<_, String>(1)?)?;
            let key: Option<Vec<u8>> = row.get(2)?;
            let removed: bool = row.get(3)?;
            let trusted = self.users.get(&id).ok_or_else(tampered)?;
            if trusted.role != role
                || trusted.signing_key.map(|k| k.to_vec()) != key
                || trusted.removed != removed
            {
                return Err(tampered());
            }
        }
        if seen != self.users.len() {
            return Err(tampered());
        }
        Ok(())
    }
}

fn broken(op: &Operation, reason: &'static str) -> StoreError {
    StoreError::LogBroken {
        device: op.header().device,
        seq: op.header().seq,
        reason,
    }
}

fn tampered() -> StoreError {
    StoreError::Corrupt(
        "the users table does not match the signed user registrations: the database was altered",
    )
}
