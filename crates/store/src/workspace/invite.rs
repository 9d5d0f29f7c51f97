//! Invites and join requests.
//!
//! An invite code is one line: `outpost-invite-1:` and the base64url of the relay URL, the
//! workspace id, the invite id and a random 32-byte secret. The log records only the secret's
//! hash (in `invite_created`), the relay only the invite id. A joining device seals its request
//! (who is joining, their public keys, the secret) under a key derived from the secret's hash,
//! which only members hold; the person joining signs it with their identity and the device with
//! its own. A manager's device checks it all and admits the device at its next sync.

use base64::Engine as _;
use outpost_crypto::{DeviceIdentity, PublicIdentity, primitives};
use outpost_proto::{
    DeviceId, InviteId, Payload, RecordId, Role, UserId, WorkspaceId,
    canon::{Bytes, Canon},
    canon_struct,
    payload::{DeviceAdmitted, InviteCreated},
    relay::{self, CreateInvite, Join, SetDevice},
};
use rand_core::{OsRng, RngCore};
use rusqlite::{OptionalExtension, params};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::{Store, StoreError, authz::MANAGERS};

/// The prefix of an invite code.
pub const CODE_PREFIX: &str = "outpost-invite-1:";
/// How long an invite lasts unless told otherwise.
pub const DEFAULT_TTL_MS: i64 = 7 * 24 * 3600 * 1000;
/// The longest an invite may last.
pub const MAX_TTL_MS: i64 = 30 * 24 * 3600 * 1000;

canon_struct! {
    /// An invite code's content.
    #[derive(Clone)]
    pub struct CodeWire {
        /// The relay.
        pub relay: String,
        /// The workspace.
        pub workspace: WorkspaceId,
        /// The invite.
        pub invite: InviteId,
        /// The one-time secret.
        pub secret: [u8; 32],
    }
}

canon_struct! {
    /// What a joining device tells the managers, sealed.
    #[derive(Clone)]
    pub struct JoinPayload {
        /// The invite's secret.
        pub secret: [u8; 32],
        /// The person joining.
        pub user: UserId,
        /// Their name.
        pub user_name: String,
        /// Their public identity.
        pub user_identity: [u8; 64],
        /// The device's name.
        pub device_name: String,
        /// Their signature over the workspace, invite and device.
        pub user_signature: [u8; 64],
    }
}

/// A parsed invite code. The secret is never printed.
#[derive(Clone)]
pub struct InviteCode {
    /// The relay's URL.
    pub relay: String,
    /// The workspace.
    pub workspace: WorkspaceId,
    /// The invite.
    pub invite: InviteId,
    secret: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for InviteCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InviteCode")
            .field("relay", &self.relay)
            .field("workspace", &self.workspace)
            .field("invite", &self.invite)
            .finish_non_exhaustive()
    }
}

fn bad_code() -> StoreError {
    StoreError::Invalid {
        field: "invite",
        reason: "this is not an Outpost invite code (copy the whole line)",
    }
}

/// Checks a relay URL is one Outpost can use.
pub(crate) fn check_relay_url(url: &str) -> Result<(), StoreError> {
    let ok = (url.starts_with("http://") || url.starts_with("https://"))
        && url.len() <= 300
        && !url.contains(char::is_whitespace);
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid {
            field: "relay",
            reason: "a relay URL starts with http:// or https://",
        })
    }
}

/// SHA-256 of an invite secret, as the log records it.
fn secret_hash(secret: &[u8; 32]) -> [u8; 32] {
    Sha256::new()
        .chain_update(b"outpost/v1/invite-secret")
        .chain_update(secret)
        .finalize()
        .into()
}

fn sealing_key(hash: &[u8; 32]) -> Zeroizing<[u8; 32]> {
    primitives::derive_key(b"", hash, &[b"outpost/v1/join-request"])
}

fn join_aad(workspace: &WorkspaceId, invite: &InviteId, device: &[u8; 64]) -> Vec<u8> {
    let mut aad = b"outpost/v1/join-request".to_vec();
    aad.extend_from_slice(&workspace.0);
    aad.extend_from_slice(&invite.0);
    aad.extend_from_slice(device);
    aad
}

fn user_signed(workspace: &WorkspaceId, invite: &InviteId, device: &[u8; 64]) -> Vec<u8> {
    let mut m = b"outpost/v1/join-user".to_vec();
    m.extend_from_slice(&workspace.0);
    m.extend_from_slice(&invite.0);
    m.extend_from_slice(device);
    m
}

impl InviteCode {
    /// The one-line code.
    pub fn encode(&self) -> String {
        let wire = CodeWire {
            relay: self.relay.clone(),
            workspace: self.workspace,
            invite: self.invite,
            secret: *self.secret,
        };
        let bytes = Zeroizing::new(wire.to_canonical());
        format!(
            "{CODE_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes.as_slice())
        )
    }

    /// Parses a code (surrounding spaces are ignored).
    pub fn parse(code: &str) -> Result<Self, StoreError> {
        let body = code.trim().strip_prefix(CODE_PREFIX).ok_or_else(bad_code)?;
        let bytes = Zeroizing::new(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(body)
                .map_err(|_| bad_code())?,
        );
        let wire = CodeWire::from_canonical(&bytes).map_err(|_| bad_code())?;
        check_relay_url(&wire.relay)?;
        Ok(Self {
            relay: wire.relay,
            workspace: wire.workspace,
            invite: wire.invite,
            secret: Zeroizing::new(wire.secret),
        })
    }

    /// The request a device sends to join with this code: sealed for the managers, signed by
    /// the person joining (`user`) and, once the relay's nonce is known, by the device.
    pub fn join_request(
        &self,
        user: (UserId, &str, &DeviceIdentity),
        device: &DeviceIdentity,
        device_name: &str,
    ) -> Result<JoinRequest, StoreError> {
        let device_identity = device.public().to_bytes();
        let payload = JoinPayload {
            secret: *self.secret,
            user: user.0,
            user_name: user.1.to_owned(),
            user_identity: user.2.public().to_bytes(),
            device_name: device_name.to_owned(),
            user_signature: user.2.sign(&user_signed(
                &self.workspace,
                &self.invite,
                &device_identity,
            )),
        };
        let plaintext = Zeroizing::new(payload.to_canonical());
        let mut nonce = [0u8; primitives::XNONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        let key = sealing_key(&secret_hash(&self.secret));
        let mut sealed = nonce.to_vec();
        sealed.extend(primitives::xchacha_seal(
            &key,
            &nonce,
            &join_aad(&self.workspace, &self.invite, &device_identity),
            &plaintext,
        )?);
        Ok(JoinRequest {
            workspace: self.workspace,
            invite: self.invite,
            identity: device_identity,
            sealed,
        })
    }
}

/// A join request before the device signs the relay's nonce.
#[derive(Debug, Clone)]
pub struct JoinRequest {
    /// The workspace.
    pub workspace: WorkspaceId,
    /// The invite.
    pub invite: InviteId,
    /// The joining device's public identity.
    pub identity: [u8; 64],
    /// The sealed request.
    pub sealed: Vec<u8>,
}

impl JoinRequest {
    /// The relay request, signed by `device` over the relay's `nonce`.
    pub fn sign(&self, device: &DeviceIdentity, nonce: [u8; relay::NONCE_LEN]) -> Join {
        let mut extra = self.invite.0.to_vec();
        extra.extend_from_slice(&self.sealed);
        let message = relay::signed_challenge(
            relay::JOIN_CONTEXT,
            &self.workspace,
            &nonce,
            &self.identity,
            &extra,
        );
        Join {
            workspace: self.workspace,
            invite: self.invite,
            identity: self.identity,
            nonce,
            sealed: Bytes(self.sealed.clone()),
            signature: device.sign(&message),
        }
    }
}

/// Who was admitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admission {
    /// The device.
    pub device: DeviceId,
    /// The person on it.
    pub user: UserId,
    /// Their name.
    pub name: String,
    /// Their role.
    pub role: Role,
}

fn refused(reason: &'static str) -> StoreError {
    StoreError::Invalid {
        field: "join request",
        reason,
    }
}

impl Store {
    /// Creates an invite (admins and physicians) for `role`, valid for `ttl_ms`: recorded in
    /// the log, registered with the relay at the next sync. Returns the code to hand over.
    pub fn create_invite(&mut self, role: Role, ttl_ms: i64) -> Result<InviteCode, StoreError> {
        let info = self.workspace()?.ok_or(StoreError::NotFound("workspace"))?;
        if !(1..=MAX_TTL_MS).contains(&ttl_ms) {
            return Err(StoreError::Invalid {
                field: "expires",
                reason: "an invite lasts between a minute and 30 days",
            });
        }
        let mut secret = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(secret.as_mut());
        let invite = InviteId::random(&mut OsRng);
        let expires_at = self.now().saturating_add(ttl_ms);
        self.write(
            RecordId(invite.0),
            &Payload::InviteCreated(InviteCreated {
                invite,
                role,
                expires_at,
                secret_hash: secret_hash(&secret),
            }),
        )?;
        self.add_relay_task(
            "invite",
            &CreateInvite { invite, expires_at }.to_canonical(),
        )?;
        Ok(InviteCode {
            relay: info.relay,
            workspace: info.id,
            invite,
            secret,
        })
    }

    /// Checks a join request the relay delivered and, when everything holds (this
    /// workspace, an unused and unexpired invite, the secret, both signatures), admits the
    /// device: a signed admission in the log, the relay told, and the group keys delivered.
    pub fn admit(&mut self, join: &Join) -> Result<Admission, StoreError> {
        if !self.is_manager() {
            return Err(StoreError::NotPermitted {
                action: "admitting a device",
                needs: "an admin or physician",
                role: self.user.role,
            });
        }
        let info = self.workspace()?.ok_or(StoreError::NotFound("workspace"))?;
        if join.workspace != info.id {
            return Err(refused("it is for another workspace"));
        }
        let (payload, role, name, device) = self.open_join(join)?;
        self.write(
            RecordId::from(payload.user),
            &Payload::DeviceAdmitted(DeviceAdmitted {
                device_identity: join.identity,
                device_name: payload.device_name.chars().take(200).collect(),
                user: payload.user,
                user_name: name.clone(),
                user_identity: payload.user_identity,
                role,
                invite: join.invite,
            }),
        )?;
        self.add_relay_task(
            "set_device",
            &SetDevice {
                identity: join.identity,
                admin: MANAGERS.contains(&role),
            }
            .to_canonical(),
        )?;
        self.deliver_keys_to(&device)?;
        Ok(Admission {
            device: device.device_id(),
            user: payload.user,
            name,
            role,
        })
    }

    /// Checks a join request (see [`Store::admit`]) and opens it.
    fn open_join(
        &self,
        join: &Join,
    ) -> Result<(JoinPayload, Role, String, PublicIdentity), StoreError> {
        let device = PublicIdentity::from_bytes(&join.identity)
            .map_err(|_| refused("the device key is not valid"))?;
        let mut extra = join.invite.0.to_vec();
        extra.extend_from_slice(&join.sealed.0);
        device
            .verify(
                &relay::signed_challenge(
                    relay::JOIN_CONTEXT,
                    &join.workspace,
                    &join.nonce,
                    &join.identity,
                    &extra,
                ),
                &join.signature,
            )
            .map_err(|_| refused("the device's signature does not verify"))?;
        let invite: Option<(String, i64, Vec<u8>, Option<String>)> = self
            .conn
            .query_row(
                "SELECT role, expires_at, secret_hash, used_by FROM invites WHERE id = ?1",
                [join.invite.to_hex()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        let (role, expires_at, hash, used_by) =
            invite.ok_or_else(|| refused("its invite is not in this device's log yet"))?;
        if used_by.is_some() {
            return Err(refused("its invite was already used"));
        }
        if expires_at < self.now() {
            return Err(refused("its invite expired"));
        }
        let hash: [u8; 32] = hash
            .try_into()
            .map_err(|_| StoreError::Corrupt("invite secret hash"))?;
        let sealed = &join.sealed.0;
        if sealed.len() < primitives::XNONCE_LEN {
            return Err(refused("it is truncated"));
        }
        let (nonce, ciphertext) = sealed.split_at(primitives::XNONCE_LEN);
        let nonce: [u8; primitives::XNONCE_LEN] =
            nonce.try_into().map_err(|_| refused("it is truncated"))?;
        let plaintext = primitives::xchacha_open(
            &sealing_key(&hash),
            &nonce,
            &join_aad(&join.workspace, &join.invite, &join.identity),
            ciphertext,
        )
        .map_err(|_| refused("it was not sealed for this invite"))?;
        let mut payload =
            JoinPayload::from_canonical(&plaintext).map_err(|_| refused("it does not decode"))?;
        let holds_secret = bool::from(secret_hash(&payload.secret).ct_eq(&hash));
        zeroize::Zeroize::zeroize(&mut payload.secret);
        if !holds_secret {
            return Err(refused("it does not hold the invite's secret"));
        }
        let user_key = PublicIdentity::from_bytes(&payload.user_identity)
            .map_err(|_| refused("the person's key is not valid"))?;
        user_key
            .verify(
                &user_signed(&join.workspace, &join.invite, &join.identity),
                &payload.user_signature,
            )
            .map_err(|_| refused("the person's signature does not verify"))?;
        let role = crate::apply::parse_role(&role)?;
        let name = payload.user_name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(refused("the person's name is empty or too long"));
        }
        Ok((payload, role, name, device))
    }

    /// Queues a request for the relay, carried out at the next sync.
    pub(crate) fn add_relay_task(&self, kind: &str, body: &[u8]) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO relay_tasks (kind, body, created_at) VALUES (?1, ?2, ?3)",
            params![kind, body, self.now()],
        )?;
        Ok(())
    }

    /// Relay requests waiting for the next sync, oldest first: id, kind, body.
    pub fn relay_tasks(&self) -> Result<Vec<(i64, String, Vec<u8>)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, kind, body FROM relay_tasks ORDER BY id")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A relay request was carried out.
    pub fn relay_task_done(&self, id: i64) -> Result<(), StoreError> {
        self.conn
            .execute("DELETE FROM relay_tasks WHERE id = ?1", [id])?;
        Ok(())
    }
}
