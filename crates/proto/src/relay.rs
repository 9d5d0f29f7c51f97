//! The relay protocol: what clients and the relay say to each other, in canonical encoding.
//!
//! The relay sees only what routing needs: workspace and device ids, sequence numbers, key
//! epochs, sizes and times. Everything else crosses it as sealed envelopes (see
//! `outpost_crypto::SealedEnvelope`) it cannot open. Requests are `POST`ed (blobs `PUT`) to
//! the paths below with a canonical body; a success is `200` with the response's canonical
//! body, a refusal an HTTP error status with an [`ErrorBody`].
//!
//! | path | request | response | who |
//! |---|---|---|---|
//! | `/v1/challenge` | — | [`Challenge`] | anyone |
//! | `/v1/workspaces` | [`CreateWorkspace`] | [`Empty`] | a device founding a workspace |
//! | `/v1/session` | [`OpenSession`] | [`Session`] | a member or pending device |
//! | `/v1/join` | [`Join`] | [`Empty`] | a device holding an invite |
//! | `/v1/invites` | [`CreateInvite`] | [`Empty`] | an admin device |
//! | `/v1/devices` | [`SetDevice`] | [`Empty`] | an admin device |
//! | `/v1/devices/remove` | [`RemoveDevice`] | [`Empty`] | an admin device |
//! | `/v1/push` | [`Push`] | [`PushAck`] | a member device |
//! | `/v1/pull` | [`Pull`] | [`Batch`] | a member device |
//! | `/v1/direct` | [`SendDirect`] | [`Empty`] | a member device |
//! | `/v1/direct/fetch` | [`Empty`] | [`DirectBatch`] | a member or pending device |
//! | `/v1/direct/ack` | [`AckDirect`] | [`Empty`] | a member or pending device |
//! | `/v1/blobs/{id}` (`PUT`, `?offset=`) | raw bytes | [`BlobStatus`] | a member device |
//! | `/v1/blobs/{id}/status` | [`Empty`] | [`BlobStatus`] | a member device |
//! | `/v1/blobs/{id}/complete` | [`Empty`] | [`BlobStatus`] | a member device |
//! | `/v1/blobs/{id}` (`GET`, `?offset=&len=`) | — | raw bytes | a member device |
//! | `/v1/live` (WebSocket) | — | binary [`Live`] frames | a member device |
//! | `/v1/visits` | [`CreateVisit`] | [`Empty`] | a member device (the visit's host) |
//! | `/v1/guest` | [`OpenGuest`] | [`Session`] | a patient's device holding a visit code |
//! | `/v1/signal` (WebSocket) | binary [`SignalFrame`]s both ways | | a member or guest device |
//! | `/v1/turn` | [`Empty`] | [`TurnServers`] | a member or guest device |
//!
//! Authenticated requests carry `Authorization: Bearer <session token hex>`. A device opens a
//! session by signing the relay's challenge (no passwords on the relay).

use crate::{
    canon::{Bytes, Canon, DecodeError},
    canon_struct,
    ids::{InviteId, VisitId, WorkspaceId},
    payload::Watermark,
};
use outpost_crypto::DeviceId;

/// Version of this protocol, in every path (`/v1/...`).
pub const PROTOCOL: &str = "v1";
/// MIME type of canonical bodies.
pub const CONTENT_TYPE: &str = "application/x-outpost";
/// Domain separator of a session signature.
pub const SESSION_CONTEXT: &[u8] = b"outpost/v1/relay-session";
/// Domain separator of a workspace founding signature.
pub const CREATE_CONTEXT: &[u8] = b"outpost/v1/relay-create-workspace";
/// Domain separator of a join signature.
pub const JOIN_CONTEXT: &[u8] = b"outpost/v1/relay-join";
/// Domain separator of a guest (patient) session signature.
pub const GUEST_CONTEXT: &[u8] = b"outpost/v1/relay-guest";

/// Length of a challenge nonce and of a session token.
pub const NONCE_LEN: usize = 32;

/// An empty request or response body (zero bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Empty;

impl Canon for Empty {
    fn encode(&self, _: &mut crate::canon::Writer) {}
    fn decode(_: &mut crate::canon::Reader<'_>) -> Result<Self, crate::canon::DecodeError> {
        Ok(Self)
    }
}

canon_struct! {
    /// A fresh nonce to sign (valid for a minute, once).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Challenge {
        /// The nonce.
        pub nonce: [u8; NONCE_LEN],
    }
}

/// The bytes a device signs to open a session, found a workspace or join: the context, the
/// workspace, the nonce and the device's public identity.
pub fn signed_challenge(
    context: &[u8],
    workspace: &WorkspaceId,
    nonce: &[u8; NONCE_LEN],
    identity: &[u8; 64],
    extra: &[u8],
) -> Vec<u8> {
    let mut m = Vec::with_capacity(context.len() + 16 + NONCE_LEN + 64 + extra.len());
    m.extend_from_slice(context);
    m.extend_from_slice(&workspace.0);
    m.extend_from_slice(nonce);
    m.extend_from_slice(identity);
    m.extend_from_slice(extra);
    m
}

canon_struct! {
    /// Founds a workspace on the relay; the signing device is its first admin device.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct CreateWorkspace {
        /// The workspace.
        pub workspace: WorkspaceId,
        /// The founding device's public identity (Ed25519 || X25519).
        pub identity: [u8; 64],
        /// A challenge nonce.
        pub nonce: [u8; NONCE_LEN],
        /// Over [`signed_challenge`] with [`CREATE_CONTEXT`].
        pub signature: [u8; 64],
    }
}

canon_struct! {
    /// Opens a session for a device of a workspace.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct OpenSession {
        /// The workspace.
        pub workspace: WorkspaceId,
        /// The device's public identity.
        pub identity: [u8; 64],
        /// A challenge nonce.
        pub nonce: [u8; NONCE_LEN],
        /// Over [`signed_challenge`] with [`SESSION_CONTEXT`].
        pub signature: [u8; 64],
    }
}

canon_struct! {
    /// An open session.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Session {
        /// The bearer token for later requests.
        pub token: [u8; NONCE_LEN],
        /// When it expires (relay time, UTC ms).
        pub expires_at: i64,
        /// Whether an admin has admitted this device yet (a pending device may only read its
        /// direct mailbox).
        pub admitted: bool,
        /// Whether this device may admit and remove devices and create invites.
        pub admin: bool,
        /// The highest sequence number the relay holds of this device's own log (a device whose
        /// own log is shorter was rolled back).
        pub own_head: u64,
    }
}

canon_struct! {
    /// Joins a workspace with an invite: the relay consumes the invite (once) and hands the
    /// sealed request to the workspace's admin devices.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Join {
        /// The workspace.
        pub workspace: WorkspaceId,
        /// The invite.
        pub invite: InviteId,
        /// The joining device's public identity.
        pub identity: [u8; 64],
        /// A challenge nonce.
        pub nonce: [u8; NONCE_LEN],
        /// The request for the admins, sealed under a key only the invite's secret gives.
        pub sealed: Bytes,
        /// Over [`signed_challenge`] with [`JOIN_CONTEXT`] and the invite id and sealed bytes.
        pub signature: [u8; 64],
    }
}

canon_struct! {
    /// Registers an invite id (never its secret) until it expires.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct CreateInvite {
        /// The invite.
        pub invite: InviteId,
        /// When it expires (UTC ms).
        pub expires_at: i64,
    }
}

canon_struct! {
    /// Admits a device (or changes whether it is an admin device).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct SetDevice {
        /// Its public identity.
        pub identity: [u8; 64],
        /// Whether it may manage devices and invites.
        pub admin: bool,
    }
}

canon_struct! {
    /// Removes a device: its sessions end and it receives nothing more.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct RemoveDevice {
        /// The device.
        pub device: DeviceId,
    }
}

canon_struct! {
    /// Sealed group envelopes of the session's own device, in sequence order, continuing the
    /// log the relay holds for it.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Push {
        /// Encoded envelopes.
        pub envelopes: Vec<Bytes>,
    }
}

canon_struct! {
    /// The relay holds (durably) this device's log up to `head`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct PushAck {
        /// Highest sequence number held.
        pub head: u64,
    }
}

canon_struct! {
    /// Asks for every envelope above the given per-author watermarks (authors not listed: from
    /// the start), up to `max_bytes`.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Pull {
        /// What the device has, per author.
        pub have: Vec<Watermark>,
        /// A soft limit on the response size.
        pub max_bytes: u32,
    }
}

canon_struct! {
    /// Envelopes, by author then sequence number, and the relay's heads.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Batch {
        /// Encoded envelopes.
        pub envelopes: Vec<Bytes>,
        /// Whether more remain above the watermarks after these.
        pub more: bool,
        /// The highest sequence number the relay holds per author.
        pub heads: Vec<Watermark>,
    }
}

canon_struct! {
    /// A direct envelope for one device (a key delivery, a join request's answer).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct SendDirect {
        /// The recipient device.
        pub to: DeviceId,
        /// The encoded direct envelope.
        pub envelope: Bytes,
    }
}

canon_struct! {
    /// One message in a device's direct mailbox.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct DirectMessage {
        /// Its id in the mailbox, for [`AckDirect`].
        pub id: u64,
        /// Who sent it (the relay's word: the content proves it).
        pub from: DeviceId,
        /// The sender's public identity as the relay registered it (all zeros when unknown).
        /// A device with no log yet opens a key delivery with it, and trusts the key only
        /// once the log confirms the sender.
        pub sender: [u8; 64],
        /// What kind: [`DIRECT_ENVELOPE`] or [`DIRECT_JOIN`].
        pub kind: u8,
        /// The content.
        pub body: Bytes,
    }
}

/// A [`DirectMessage`] holding a direct envelope.
pub const DIRECT_ENVELOPE: u8 = 1;
/// A [`DirectMessage`] holding a join request: an encoded [`Join`].
pub const DIRECT_JOIN: u8 = 2;

canon_struct! {
    /// A key delivery as the receiving store takes it: the sender's identity (from
    /// [`DirectMessage::sender`]) and the direct envelope.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Delivery {
        /// Ed25519 || X25519 of the delivering device.
        pub sender: [u8; 64],
        /// The direct envelope (content type: key delivery).
        pub envelope: Bytes,
    }
}

canon_struct! {
    /// The oldest messages of the mailbox.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct DirectBatch {
        /// Messages, oldest first.
        pub messages: Vec<DirectMessage>,
    }
}

canon_struct! {
    /// Messages processed: the relay deletes them.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct AckDirect {
        /// Their ids.
        pub ids: Vec<u64>,
    }
}

canon_struct! {
    /// How much of a blob the relay holds.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct BlobStatus {
        /// Bytes received, from the start without holes (resume from here).
        pub received: u64,
        /// Whether it is complete (its SHA-256 matched its name).
        pub complete: bool,
    }
}

canon_struct! {
    /// A frame on the live socket: a new envelope (delivered at once), or a nudge to pull.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Live {
        /// Encoded envelope, or `None`: something arrived that did not fit; pull.
        pub envelope: Option<Bytes>,
    }
}

canon_struct! {
    /// Registers a visit (its id, never its secret) hosted by the calling device, until it
    /// expires. The first patient device to open a guest session with it claims it; no other
    /// device can use it after that.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct CreateVisit {
        /// The visit.
        pub visit: VisitId,
        /// When it expires (UTC ms).
        pub expires_at: i64,
    }
}

canon_struct! {
    /// Opens a guest session: a patient's device, outside the workspace, that may only signal
    /// the device hosting its visit.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct OpenGuest {
        /// The workspace the visit belongs to.
        pub workspace: WorkspaceId,
        /// The visit.
        pub visit: VisitId,
        /// The patient device's public identity.
        pub identity: [u8; 64],
        /// A challenge nonce.
        pub nonce: [u8; NONCE_LEN],
        /// Over [`signed_challenge`] with [`GUEST_CONTEXT`] and the visit id.
        pub signature: [u8; 64],
    }
}

canon_struct! {
    /// A signaling envelope for one device (a direct envelope with content type
    /// `CALL_SIGNAL`, sealed to it and signed by the sender).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct SignalOut {
        /// The recipient device.
        pub to: DeviceId,
        /// The encoded direct envelope.
        pub envelope: Bytes,
    }
}

canon_struct! {
    /// A signaling envelope from another device.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct SignalIn {
        /// The sender device.
        pub from: DeviceId,
        /// The sender's public identity as the relay knows it (the envelope's signature is
        /// what proves it; the recipient checks it against who it expects).
        pub sender: [u8; 64],
        /// The encoded direct envelope.
        pub envelope: Bytes,
    }
}

/// One frame on the `/v1/signal` socket. Signals are not stored: a device that is not
/// connected cannot be rung, and the sender hears so at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignalFrame {
    /// Client to relay: deliver this.
    Out(SignalOut),
    /// Relay to client: this arrived.
    In(SignalIn),
    /// Relay to client: the device is not connected (or may not be reached from here).
    Undeliverable {
        /// The device.
        to: DeviceId,
    },
}

impl SignalFrame {
    /// A tag, then the message.
    pub fn encode(&self) -> Vec<u8> {
        let (tag, body) = match self {
            Self::Out(m) => (1u8, m.to_canonical()),
            Self::In(m) => (2, m.to_canonical()),
            Self::Undeliverable { to } => (3, to.to_canonical()),
        };
        let mut out = Vec::with_capacity(1 + body.len());
        out.push(tag);
        out.extend(body);
        out
    }

    /// Decodes what [`SignalFrame::encode`] wrote.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let (&tag, rest) = bytes.split_first().ok_or(DecodeError::Truncated)?;
        match tag {
            1 => Ok(Self::Out(SignalOut::from_canonical(rest)?)),
            2 => Ok(Self::In(SignalIn::from_canonical(rest)?)),
            3 => Ok(Self::Undeliverable {
                to: DeviceId::from_canonical(rest)?,
            }),
            code => Err(DecodeError::UnknownCode {
                field: "signal frame",
                code: u32::from(code),
            }),
        }
    }
}

canon_struct! {
    /// Time-limited TURN credentials for calls, in coturn's REST format (`username` is
    /// `expiry:tag`, `credential` the base64 HMAC-SHA1 of it under the secret the relay shares
    /// with the TURN server). No TURN server configured: `urls` is empty. Its `Debug` leaves
    /// the password out.
    #[derive(Clone, PartialEq, Eq)]
    pub struct TurnServers {
        /// `turn:host:port?transport=udp` and the like.
        pub urls: Vec<String>,
        /// The user name.
        pub username: String,
        /// The password.
        pub credential: String,
        /// When the credential stops working (UTC ms).
        pub expires_at: i64,
    }
}

canon_struct! {
    /// Why a request was refused.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct ErrorBody {
        /// A stable code (see [`ErrorCode`]).
        pub code: u16,
        /// For people; never holds anything from a request's content.
        pub message: String,
        /// For [`ErrorCode::SEQUENCE`]: the sequence number the relay expects next.
        pub expected: Option<u64>,
    }
}

/// Stable error codes in [`ErrorBody`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCode;

impl ErrorCode {
    /// The body does not decode, or a field is invalid.
    pub const BAD_REQUEST: u16 = 1;
    /// No valid session, or a bad signature.
    pub const UNAUTHENTICATED: u16 = 2;
    /// The device is not a member (or not an admin) of the workspace.
    pub const FORBIDDEN: u16 = 3;
    /// The device was removed from the workspace.
    pub const REMOVED: u16 = 4;
    /// No such workspace, invite or blob.
    pub const NOT_FOUND: u16 = 5;
    /// The invite was already used.
    pub const INVITE_USED: u16 = 6;
    /// The invite expired.
    pub const INVITE_EXPIRED: u16 = 7;
    /// The workspace exists already.
    pub const EXISTS: u16 = 8;
    /// A pushed envelope does not continue the device's log (`expected` says where).
    pub const SEQUENCE: u16 = 9;
    /// A different envelope already holds this place in the device's log.
    pub const SEQUENCE_REUSED: u16 = 10;
    /// An envelope or body is over the size limit.
    pub const TOO_LARGE: u16 = 11;
    /// Too many requests: slow down.
    pub const RATE_LIMITED: u16 = 12;
    /// The device's storage quota is used up.
    pub const QUOTA: u16 = 13;
    /// A blob's content does not match its name.
    pub const BLOB_MISMATCH: u16 = 14;
    /// The relay failed; retry later.
    pub const INTERNAL: u16 = 15;
    /// The relay is shutting down or overloaded; retry later.
    pub const UNAVAILABLE: u16 = 16;
    /// The visit code was already used by another device.
    pub const VISIT_USED: u16 = 17;
    /// The visit expired.
    pub const VISIT_EXPIRED: u16 = 18;
}

/// Encodes any protocol message.
pub fn encode<T: Canon>(value: &T) -> Vec<u8> {
    value.to_canonical()
}

impl std::fmt::Debug for TurnServers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnServers")
            .field("urls", &self.urls)
            .field("username", &self.username)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}
