//! What the engine asks the transport to send, and what comes back. The transport (HTTP in
//! `outpost-core`, an in-memory relay in tests) maps these onto the relay protocol of
//! `outpost_proto::relay`.

use outpost_proto::relay::{
    AckDirect, Batch, Challenge, CreateInvite, CreateWorkspace, DirectBatch, ErrorBody, Join,
    OpenSession, Pull, Push, PushAck, RemoveDevice, SendDirect, Session, SetDevice,
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
    /// `POST /v1/devices`.
    SetDevice(SetDevice),
    /// `POST /v1/devices/remove`.
    RemoveDevice(RemoveDevice),
    /// `POST /v1/direct`.
    SendDirect(SendDirect),
    /// `POST /v1/direct/fetch`.
    FetchDirect,
    /// `POST /v1/direct/ack`.
    AckDirect(AckDirect),
    /// `POST /v1/push`.
    Push(Push),
    /// `POST /v1/pull`.
    Pull(Pull),
}

impl Request {
    /// The path it is sent to.
    pub fn path(&self) -> &'static str {
        match self {
            Self::Challenge => "/v1/challenge",
            Self::CreateWorkspace(_) => "/v1/workspaces",
            Self::Join(_) => "/v1/join",
            Self::OpenSession(_) => "/v1/session",
            Self::CreateInvite(_) => "/v1/invites",
            Self::SetDevice(_) => "/v1/devices",
            Self::RemoveDevice(_) => "/v1/devices/remove",
            Self::SendDirect(_) => "/v1/direct",
            Self::FetchDirect => "/v1/direct/fetch",
            Self::AckDirect(_) => "/v1/direct/ack",
            Self::Push(_) => "/v1/push",
            Self::Pull(_) => "/v1/pull",
        }
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
