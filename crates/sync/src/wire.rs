//! What the engine asks the transport to send, and what comes back. The transport (HTTP in
//! `outpost-core`, an in-memory relay in tests) maps these onto the relay protocol of
//! `outpost_proto::relay`.

use outpost_proto::relay::{
    AckDirect, Batch, BlobStatus, Challenge, CreateInvite, CreateVisit, CreateWorkspace,
    DirectBatch, ErrorBody, Join, OpenGuest, OpenSession, Pull, Push, PushAck, RemoveDevice,
    SendDirect, Session, SetDevice, TurnServers,
};

/// A request to the relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `GET /v1/challenge`.
    Challenge,
    /// `POST /v1/workspaces`.
    CreateWorkspace(CreateWorkspace),
    /// `POST /v1/join`.
    Join(Join),
    /// `POST /v1/session`.
    OpenSession(OpenSession),
    /// `POST /v1/invites`.
    CreateInvite(CreateInvite),
    /// `POST /v1/visits`.
    CreateVisit(CreateVisit),
    /// `POST /v1/guest`.
    OpenGuest(OpenGuest),
    /// `POST /v1/devices`.
    SetDevice(SetDevice),
    /// `POST /v1/devices/remove`.
    RemoveDevice(RemoveDevice),
    /// `POST /v1/direct`.
    SendDirect(SendDirect),
    /// `POST /v1/turn`: TURN credentials for a call.
    TurnServers,
    /// `POST /v1/direct/fetch`.
    FetchDirect,
    /// `POST /v1/direct/ack`.
    AckDirect(AckDirect),
    /// `POST /v1/push`.
    Push(Push),
    /// `POST /v1/pull`.
    Pull(Pull),
    /// `POST /v1/blobs/{id}/status`.
    BlobStatus([u8; 32]),
    /// `PUT /v1/blobs/{id}?offset=`: one sealed chunk.
    BlobPut {
        /// The blob.
        blob: [u8; 32],
        /// Where the chunk goes.
        offset: u64,
        /// The chunk.
        data: Vec<u8>,
    },
    /// `POST /v1/blobs/{id}/complete`.
    BlobComplete([u8; 32]),
    /// `GET /v1/blobs/{id}?offset=&len=`.
    BlobGet {
        /// The blob.
        blob: [u8; 32],
        /// From where.
        offset: u64,
        /// How many bytes.
        len: u64,
    },
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

impl Request {
    /// The path (and query) it is sent to.
    pub fn path(&self) -> String {
        match self {
            Self::BlobStatus(b) => return format!("/v1/blobs/{}/status", hex(b)),
            Self::BlobPut { blob, offset, .. } => {
                return format!("/v1/blobs/{}?offset={offset}", hex(blob));
            }
            Self::BlobComplete(b) => return format!("/v1/blobs/{}/complete", hex(b)),
            Self::BlobGet { blob, offset, len } => {
                return format!("/v1/blobs/{}?offset={offset}&len={len}", hex(blob));
            }
            _ => {}
        }
        match self {
            Self::Challenge => "/v1/challenge",
            Self::CreateWorkspace(_) => "/v1/workspaces",
            Self::Join(_) => "/v1/join",
            Self::OpenSession(_) => "/v1/session",
            Self::CreateInvite(_) => "/v1/invites",
            Self::CreateVisit(_) => "/v1/visits",
            Self::OpenGuest(_) => "/v1/guest",
            Self::SetDevice(_) => "/v1/devices",
            Self::RemoveDevice(_) => "/v1/devices/remove",
            Self::SendDirect(_) => "/v1/direct",
            Self::TurnServers => "/v1/turn",
            Self::FetchDirect => "/v1/direct/fetch",
            Self::AckDirect(_) => "/v1/direct/ack",
            Self::Push(_) => "/v1/push",
            Self::Pull(_) => "/v1/pull",
            Self::BlobStatus(_)
            | Self::BlobPut { .. }
            | Self::BlobComplete(_)
            | Self::BlobGet { .. } => "",
        }
        .to_owned()
    }
}

/// A request with the session token it needs (none before a session is open).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The request.
    pub request: Request,
    /// The bearer token.
    pub token: Option<[u8; 32]>,
}

/// The relay's answer to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// To [`Request::Challenge`].
    Challenge(Challenge),
    /// To [`Request::OpenSession`].
    Session(Session),
    /// To requests that return nothing.
    Empty,
    /// To [`Request::Push`].
    PushAck(PushAck),
    /// To [`Request::Pull`].
    Batch(Batch),
    /// To [`Request::FetchDirect`].
    Direct(DirectBatch),
    /// To the blob requests but [`Request::BlobGet`].
    Blob(BlobStatus),
    /// To [`Request::BlobGet`].
    Bytes(Vec<u8>),
    /// To [`Request::TurnServers`].
    Turn(TurnServers),
}

/// Why a request got no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The relay could not be reached (or the link dropped): try again later.
    Unreachable(String),
    /// The relay refused, with its reason.
    Refused {
        /// HTTP status.
        status: u16,
        /// The relay's error.
        body: ErrorBody,
    },
}
