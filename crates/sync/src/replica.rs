//! What the engine needs from the device's store. `outpost-core` implements it over the
//! encrypted store; tests implement it over anything.

use outpost_crypto::{DeviceIdentity, GroupKey, PublicIdentity};
use outpost_proto::{DeviceId, InviteId, Operation, WorkspaceId, payload::Watermark, relay::Join};

/// What became of an operation offered to the replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offered {
    /// Stored and applied.
    Applied,
    /// Already held.
    Duplicate,
    /// Stored, but its author had no right to make it: it changes nothing.
    Refused,
    /// Set aside with a reason (the replica keeps it for review).
    Quarantined,
    /// Earlier operations of its device are missing.
    Gap,
    /// It refers to something not here yet (its author's registration, a record).
    Waiting,
}

/// The workspace as the replica knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// The workspace.
    pub workspace: WorkspaceId,
    /// Whether this device's person is registered in the log (false while joining).
    pub admitted: bool,
    /// Whether this device founded the workspace and has not registered it with the relay.
    pub must_found: bool,
    /// A join request not yet sent: the invite and the sealed request.
    pub join: Option<(InviteId, Vec<u8>)>,
}

/// An attachment's content to upload or download, as a blob of sealed chunks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// The attachment (its id).
    pub attachment: [u8; 16],
    /// The blob's name on the relay.
    pub blob: [u8; 32],
    /// Sealed chunks in the blob.
    pub chunks: u64,
    /// Bytes of each sealed chunk but the last.
    pub chunk_size: u64,
    /// For a download: chunks already held.
    pub have: u64,
}

/// A relay request queued while offline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    /// Its id, for [`Replica::task_done`].
    pub id: i64,
    /// `invite`, `set_device`, `remove_device` or `direct`.
    pub kind: String,
    /// The canonical request body.
    pub body: Vec<u8>,
}

/// The device's store, as sync sees it. Errors are shown to people: they carry no patient
/// data (the store's errors are written that way).
pub trait Replica {
    /// The store's error.
    type Error: std::fmt::Display;

    /// The workspace, if this device is in (or joining) one.
    fn membership(&mut self) -> Result<Option<Membership>, Self::Error>;
    /// The founding was registered with the relay.
    fn founded(&mut self) -> Result<(), Self::Error>;
    /// The join request was delivered to the relay.
    fn join_sent(&mut self) -> Result<(), Self::Error>;
    /// This device's identity (signs sessions and envelopes).
    fn device(&self) -> &DeviceIdentity;

    /// Relay requests queued while offline, oldest first.
    fn tasks(&mut self) -> Result<Vec<Task>, Self::Error>;
    /// A queued request was carried out (or can never be).
    fn task_done(&mut self, id: i64) -> Result<(), Self::Error>;

    /// A join request from the mailbox: admit the device if it holds up.
    fn admit(&mut self, join: &Join) -> Result<(), Self::Error>;
    /// A key delivery from the mailbox.
    fn accept_delivery(&mut self, body: &[u8]) -> Result<(), Self::Error>;

    /// How far the relay holds this device's log.
    fn relay_head(&mut self) -> Result<u64, Self::Error>;
    /// The relay acknowledged this device's log up to `head`.
    fn set_relay_head(&mut self, head: u64) -> Result<(), Self::Error>;
    /// This device's own newest sequence number.
    fn own_head(&mut self) -> Result<u64, Self::Error>;
    /// This device's operations after `after`, oldest first, at most `limit`.
    fn outbox(&mut self, after: u64, limit: usize) -> Result<Vec<Operation>, Self::Error>;

    /// The key to seal with (the newest confirmed epoch's), if any.
    fn sealing_key(&mut self) -> Result<Option<GroupKey>, Self::Error>;
    /// Every key held for `epoch`.
    fn opening_keys(&mut self, epoch: u32) -> Result<Vec<GroupKey>, Self::Error>;
    /// Whether `epoch`'s key was held and deleted (as opposed to not delivered yet).
    fn epoch_expired(&mut self, epoch: u32) -> Result<bool, Self::Error>;

    /// How far this device holds each device's log.
    fn watermarks(&mut self) -> Result<Vec<Watermark>, Self::Error>;
    /// A device's registered identity (`None`: not registered here yet).
    fn device_identity(&mut self, device: DeviceId) -> Result<Option<PublicIdentity>, Self::Error>;
    /// Offers an operation written elsewhere.
    fn offer(&mut self, op: &[u8]) -> Result<Offered, Self::Error>;
    /// Everything offered from now until [`Replica::end_batch`] may be kept in one
    /// transaction (what is not committed is simply pulled again).
    fn begin_batch(&mut self) -> Result<(), Self::Error>;
    /// Commits what was offered since [`Replica::begin_batch`].
    fn end_batch(&mut self) -> Result<(), Self::Error>;
    /// Records that `device`'s operation `seq` arrived unreadable (tampered, or sealed under a
    /// key no longer held): a hole, reported.
    fn hole(&mut self, device: DeviceId, seq: u64, reason: &'static str)
    -> Result<(), Self::Error>;

    /// The next attachment whose content this device should upload (none in `skip`).
    fn next_upload(&mut self, skip: &[[u8; 16]]) -> Result<Option<Transfer>, Self::Error>;
    /// Sealed chunk `i` of an upload.
    fn upload_chunk(&mut self, t: &Transfer, i: u64) -> Result<Vec<u8>, Self::Error>;
    /// The relay holds the whole blob: record it for the team.
    fn upload_done(&mut self, t: &Transfer) -> Result<(), Self::Error>;
    /// The relay refused the blob: start afresh next time.
    fn upload_failed(&mut self, t: &Transfer) -> Result<(), Self::Error>;
    /// The next attachment whose content this device should download (none in `skip`).
    fn next_download(&mut self, skip: &[[u8; 16]]) -> Result<Option<Transfer>, Self::Error>;
    /// Sealed chunk `i` of a download; returns whether the content is complete (and checked).
    fn download_chunk(&mut self, t: &Transfer, i: u64, sealed: &[u8]) -> Result<bool, Self::Error>;

    /// After pulling: confirm keys whose commits arrived, take in what changed about this
    /// device's person, write a receipt, rotate an old epoch, delete expired keys. Returns
    /// whether it wrote anything to push.
    fn settle(&mut self) -> Result<bool, Self::Error>;

    /// Records a finished sync (`Ok`) or why it failed, at `now_ms`.
    fn record_outcome(&mut self, now_ms: i64, error: Option<&str>) -> Result<(), Self::Error>;
}
