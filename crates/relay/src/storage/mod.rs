//! What the relay keeps, behind one trait so a PostgreSQL backend can replace the embedded
//! SQLite one. Every backend must pass [`conformance`]'s suite.
//!
//! Everything stored is ciphertext or routing metadata: workspace and device ids, device public
//! keys, whether a device is an admin device, sequence numbers, key epochs, sizes and times.
//! An append is durable when its future resolves `Ok`: the relay acknowledges nothing before.

use std::future::Future;

use outpost_proto::{
    DeviceId, InviteId, VisitId, WorkspaceId, payload::Watermark, relay::BlobStatus,
    relay::DirectMessage,
};

pub mod conformance;
pub mod sqlite;

pub use sqlite::SqliteStorage;

/// A device as the relay knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceRecord {
    /// Its id (derived from its identity).
    pub id: DeviceId,
    /// Its public identity: Ed25519 || X25519.
    pub identity: [u8; 64],
    /// Whether it may admit and remove devices and create invites.
    pub admin: bool,
    /// Where it stands.
    pub status: DeviceStatus,
}

/// Where a device stands in a workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceStatus {
    /// Joined with an invite, not yet admitted: may only read its direct mailbox.
    Pending,
    /// A member: pushes and pulls.
    Member,
    /// Removed: refused everything.
    Removed,
}

impl DeviceStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Member => "member",
            Self::Removed => "removed",
        }
    }

    /// Parses a stored name.
    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "member" => Some(Self::Member),
            "removed" => Some(Self::Removed),
            _ => None,
        }
    }
}

/// One envelope to append: its place in its author's log, its key epoch and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEnvelope {
    /// Sequence number in the author's log.
    pub seq: u64,
    /// Key epoch (routing metadata: which key a member needs).
    pub epoch: u32,
    /// The sealed envelope.
    pub bytes: Vec<u8>,
}

/// Envelopes above some watermarks.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pulled {
    /// Envelopes by author, then sequence number.
    pub envelopes: Vec<Vec<u8>>,
    /// Whether more remain.
    pub more: bool,
    /// Highest sequence number held per author.
    pub heads: Vec<Watermark>,
}

/// Why storage refused or failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// The workspace exists already.
    #[error("the workspace exists already")]
    Exists,
    /// No such workspace, invite, device or blob.
    #[error("not found: {0}")]
    NotFound(&'static str),
    /// The invite was used before.
    #[error("the invite was already used")]
    InviteUsed,
    /// The invite expired.
    #[error("the invite expired")]
    InviteExpired,
    /// The visit was claimed by another device.
    #[error("the visit code was already used")]
    VisitUsed,
    /// The visit expired.
    #[error("the visit expired")]
    VisitExpired,
    /// An appended envelope does not continue its author's log.
    #[error("expected sequence number {expected}")]
    Sequence {
        /// The next sequence number the log needs.
        expected: u64,
    },
    /// A different envelope already holds this place.
    #[error("sequence number {seq} already holds a different envelope")]
    SequenceReused {
        /// The place.
        seq: u64,
    },
    /// The device's storage quota would be exceeded.
    #[error("storage quota exceeded")]
    Quota,
    /// A blob upload does not continue where the blob ends (`received` says where).
    #[error("blob upload must continue at {received}")]
    BlobOffset {
        /// Bytes held so far.
        received: u64,
    },
    /// A blob's content does not hash to its name.
    #[error("blob content does not match its name")]
    BlobMismatch,
    /// The backend failed (disk full, I/O error, a bug).
    #[error("storage failed: {0}")]
    Backend(String),
}

/// The relay's storage (see the module docs). Methods take `now` (UTC ms) from the caller.
pub trait Storage: Send + Sync + 'static {
    /// Founds `workspace` with `founder` as its first (admin, member) device.
    fn create_workspace(
        &self,
        workspace: WorkspaceId,
        founder: DeviceRecord,
        now: i64,
    ) -> impl Future<Output = Result<(), StorageError>> + Send;

    /// A device of a workspace.
    fn device(
        &self,
        workspace: WorkspaceId,
        device: DeviceId,
    ) -> impl Future<Output = Result<Option<DeviceRecord>, StorageError>> + Send;

    /// Adds or updates a device (admission, admin flag, removal). A removed device stays
    /// removed.
    fn set_device(
        &self,
        workspace: WorkspaceId,
        record: DeviceRecord,
        now: i64,
    ) -> impl Future<Output = Result<(), StorageError>> + Send;

    /// Registers an invite id until `expires_at`.
    fn create_invite(
        &self,
        workspace: WorkspaceId,
        invite: InviteId,
        expires_at: i64,
        now: i64,
    ) -> impl Future<Output = Result<(), StorageError>> + Send;

    /// Registers a visit hosted by `host` until `expires_at`.
    fn create_visit(
        &self,
        workspace: WorkspaceId,
        visit: VisitId,
        host: DeviceId,
        expires_at: i64,
        now: i64,
    ) -> impl Future<Output = Result<(), StorageError>> + Send;

    /// Claims a visit for the guest device `guest` (its public identity): the first claim binds
    /// the visit to it; the same guest may claim again (it reconnected), any other is refused.
    /// Returns the host device.
    fn claim_visit(
        &self,
        workspace: WorkspaceId,
        visit: VisitId,
        guest: [u8; 64],
        now: i64,
    ) -> impl Future<Output = Result<DeviceId, StorageError>> + Send;

    /// Uses an invite, once: atomically marks it used, adds `joiner` as a pending device and
    /// puts `request` in every admin device's mailbox.
    fn consume_invite(
        &self,
        workspace: WorkspaceId,
        invite: InviteId,
        joiner: DeviceRecord,
        request: Vec<u8>,
        now: i64,
    ) -> impl Future<Output = Result<(), StorageError>> + Send;

    /// Appends envelopes of `author`, which must continue its log (an envelope identical to
    /// one held is accepted again, so a retried push is harmless). Durable before `Ok`.
    /// Returns the author's head.
    fn append(
        &self,
        workspace: WorkspaceId,
        author: DeviceId,
        envelopes: Vec<NewEnvelope>,
        quota: u64,
        now: i64,
    ) -> impl Future<Output = Result<u64, StorageError>> + Send;

    /// Envelopes above `have` (authors not listed: from the start), up to about `max_bytes`
    /// and at most `max_count`.
    fn pull(
        &self,
        workspace: WorkspaceId,
        have: Vec<Watermark>,
        max_bytes: usize,
        max_count: usize,
    ) -> impl Future<Output = Result<Pulled, StorageError>> + Send;

    /// The highest sequence number held of `author` (0 when none).
    fn head(
        &self,
        workspace: WorkspaceId,
        author: DeviceId,
    ) -> impl Future<Output = Result<u64, StorageError>> + Send;

    /// Puts a message in `to`'s mailbox; returns its id.
    #[allow(clippy::too_many_arguments)]
    fn send_direct(
        &self,
        workspace: WorkspaceId,
        from: DeviceId,
        to: DeviceId,
        kind: u8,
        body: Vec<u8>,
        quota: u64,
        now: i64,
    ) -> impl Future<Output = Result<u64, StorageError>> + Send;

    /// The oldest `limit` messages of `to`'s mailbox.
    fn fetch_direct(
        &self,
        workspace: WorkspaceId,
        to: DeviceId,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<DirectMessage>, StorageError>> + Send;

    /// Deletes processed messages of `to`'s mailbox (ids of other mailboxes are ignored).
    fn ack_direct(
        &self,
        workspace: WorkspaceId,
        to: DeviceId,
        ids: Vec<u64>,
    ) -> impl Future<Output = Result<(), StorageError>> + Send;

    /// Appends `data` to blob `blob` at `offset`, which must be where it ends.
    #[allow(clippy::too_many_arguments)]
    fn blob_put(
        &self,
        workspace: WorkspaceId,
        owner: DeviceId,
        blob: [u8; 32],
        offset: u64,
        data: Vec<u8>,
        quota: u64,
        now: i64,
    ) -> impl Future<Output = Result<BlobStatus, StorageError>> + Send;

    /// How much of a blob is held.
    fn blob_status(
        &self,
        workspace: WorkspaceId,
        blob: [u8; 32],
    ) -> impl Future<Output = Result<Option<BlobStatus>, StorageError>> + Send;

    /// Marks a blob complete if its content hashes (SHA-256) to its name; otherwise deletes
    /// it and fails with [`StorageError::BlobMismatch`].
    fn blob_complete(
        &self,
        workspace: WorkspaceId,
        blob: [u8; 32],
    ) -> impl Future<Output = Result<BlobStatus, StorageError>> + Send;

    /// Up to `len` bytes of a complete blob from `offset`.
    fn blob_read(
        &self,
        workspace: WorkspaceId,
        blob: [u8; 32],
        offset: u64,
        len: usize,
    ) -> impl Future<Output = Result<Vec<u8>, StorageError>> + Send;

    /// Bytes stored on behalf of `device` (envelopes, messages sent, blobs).
    fn usage(
        &self,
        workspace: WorkspaceId,
        device: DeviceId,
    ) -> impl Future<Output = Result<u64, StorageError>> + Send;
}
