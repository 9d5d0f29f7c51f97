//! The relay's endpoints (the protocol is in `outpost_proto::relay`): thin handlers that check
//! who is asking and what they send, then call [`Storage`].
//!
//! The relay verifies every envelope's author signature against the identity the device
//! registered, so nobody can write into another device's log through it; it never sees a key
//! that opens one.

use std::{net::SocketAddr, sync::Arc, time::Instant};

use axum::{
    Router,
    body::Body,
    extract::{ConnectInfo, Path, Query, State, WebSocketUpgrade, ws},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Limited};
use outpost_crypto::{Addressing, PublicIdentity, SealedEnvelope};
use outpost_proto::{
    DeviceId, WorkspaceId,
    canon::{Bytes, Canon},
    relay::{
        self, AckDirect, Batch, BlobStatus, Challenge, CreateInvite, CreateVisit, CreateWorkspace,
        DirectBatch, Empty, ErrorBody, ErrorCode, Join, OpenGuest, OpenSession, Pull, Push,
        PushAck, RemoveDevice, SendDirect, Session, SetDevice, SignalFrame, SignalIn, TurnServers,
    },
};
use tokio::sync::{broadcast, watch};

use crate::{
    Limits,
    auth::{Auth, SessionInfo},
    limits::RateLimiter,
    live::Hub,
    now_ms,
    signal::SignalHub,
    storage::{DeviceRecord, DeviceStatus, NewEnvelope, Storage, StorageError},
    turn::TurnConfig,
};

/// Longest sealed join request.
const MAX_JOIN_REQUEST: usize = 8 * 1024;
/// Longest direct envelope.
const MAX_DIRECT: usize = 64 * 1024;
/// Longest an invite may live.
const MAX_INVITE_MS: i64 = 90 * 24 * 3600 * 1000;
/// Most mailbox messages per fetch.
const MAILBOX_BATCH: usize = 256;
/// Most envelopes per pull.
const PULL_COUNT: usize = 4000;
/// Longest a visit code may live.
const MAX_VISIT_MS: i64 = 7 * 24 * 3600 * 1000;
/// Longest signaling frame (an SDP offer with its candidates is a few kB).
const MAX_SIGNAL: usize = 64 * 1024;

/// Shared state of the endpoints.
pub struct AppState<S> {
    storage: S,
    limits: Limits,
    auth: Auth,
    by_device: RateLimiter<(WorkspaceId, DeviceId)>,
    by_address: RateLimiter<std::net::IpAddr>,
    hub: Hub,
    signals: SignalHub,
    turn: Option<TurnConfig>,
    shutdown: watch::Receiver<bool>,
}

impl<S> std::fmt::Debug for AppState<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

impl<S: Storage> AppState<S> {
    /// State over `storage`; live sockets close when `shutdown` turns true.
    pub fn new(storage: S, limits: Limits, shutdown: watch::Receiver<bool>) -> Self {
        Self {
            by_device: RateLimiter::new(limits.rate, limits.burst),
            by_address: RateLimiter::new(limits.rate, limits.burst),
            storage,
            limits,
            auth: Auth::default(),
            hub: Hub::default(),
            signals: SignalHub::default(),
            turn: None,
            shutdown,
        }
    }

    /// Hands out credentials for this TURN server (none: calls use direct paths only).
    #[must_use]
    pub fn with_turn(mut self, turn: Option<TurnConfig>) -> Self {
        self.turn = turn;
        self
    }
}

/// The router of every endpoint.
pub fn router<S: Storage>(state: Arc<AppState<S>>) -> Router {
    Router::new()
        .route("/v1/challenge", get(challenge::<S>))
        .route("/v1/workspaces", post(create_workspace::<S>))
        .route("/v1/session", post(open_session::<S>))
        .route("/v1/join", post(join::<S>))
        .route("/v1/invites", post(create_invite::<S>))
        .route("/v1/devices", post(set_device::<S>))
        .route("/v1/devices/remove", post(remove_device::<S>))
        .route("/v1/push", post(push::<S>))
        .route("/v1/pull", post(pull::<S>))
        .route("/v1/direct", post(send_direct::<S>))
        .route("/v1/direct/fetch", post(fetch_direct::<S>))
        .route("/v1/direct/ack", post(ack_direct::<S>))
        .route("/v1/blobs/{id}", get(blob_read::<S>).put(blob_put::<S>))
        .route("/v1/blobs/{id}/status", post(blob_status::<S>))
        .route("/v1/blobs/{id}/complete", post(blob_complete::<S>))
        .route("/v1/live", get(live::<S>))
        .route("/v1/visits", post(create_visit::<S>))
        .route("/v1/guest", post(open_guest::<S>))
        .route("/v1/signal", get(signal::<S>))
        .route("/v1/turn", post(turn_servers::<S>))
        .with_state(state)
}

/// A refusal: an HTTP status and an [`ErrorBody`].
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
}

impl ApiError {
    fn new(status: StatusCode, code: u16, message: impl Into<String>) -> Self {
        Self {
            status,
            body: ErrorBody {
                code,
                message: message.into(),
                expected: None,
            },
        }
    }
    fn bad(message: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorCode::BAD_REQUEST, message)
    }
    fn unauthenticated(message: &str) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::UNAUTHENTICATED,
            message,
        )
    }
    fn forbidden(message: &str) -> Self {
        Self::new(StatusCode::FORBIDDEN, ErrorCode::FORBIDDEN, message)
    }
    fn too_large(message: &str) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::TOO_LARGE, message)
    }
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::Exists => {
                Self::new(StatusCode::CONFLICT, ErrorCode::EXISTS, "it exists already")
            }
            StorageError::NotFound(what) => Self::new(
                StatusCode::NOT_FOUND,
                ErrorCode::NOT_FOUND,
                format!("no such {what}"),
            ),
            StorageError::InviteUsed => Self::new(
                StatusCode::CONFLICT,
                ErrorCode::INVITE_USED,
                "this invite was already used; ask an admin for a new one",
            ),
            StorageError::InviteExpired => Self::new(
                StatusCode::GONE,
                ErrorCode::INVITE_EXPIRED,
                "this invite expired; ask an admin for a new one",
            ),
            StorageError::VisitUsed => Self::new(
                StatusCode::CONFLICT,
                ErrorCode::VISIT_USED,
                "this visit code was already used; ask the clinic for a new one",
            ),
            StorageError::VisitExpired => Self::new(
                StatusCode::GONE,
                ErrorCode::VISIT_EXPIRED,
                "this visit code expired; ask the clinic for a new one",
            ),
            StorageError::Sequence { expected } => {
                let mut e = Self::new(
                    StatusCode::CONFLICT,
                    ErrorCode::SEQUENCE,
                    format!("the relay expects sequence number {expected} next"),
                );
                e.body.expected = Some(expected);
                e
            }
            StorageError::SequenceReused { seq } => Self::new(
                StatusCode::CONFLICT,
                ErrorCode::SEQUENCE_REUSED,
                format!("the relay holds a different operation at sequence number {seq}"),
            ),
            StorageError::Quota => Self::new(
                StatusCode::INSUFFICIENT_STORAGE,
                ErrorCode::QUOTA,
                "this device's storage quota on the relay is used up",
            ),
            StorageError::BlobOffset { received } => {
                let mut e = Self::new(
                    StatusCode::CONFLICT,
                    ErrorCode::SEQUENCE,
                    format!("the upload must continue at byte {received}"),
                );
                e.body.expected = Some(received);
                e
            }
            StorageError::BlobMismatch => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::BLOB_MISMATCH,
                "the uploaded content does not match its name; upload it again",
            ),
            // The detail stays in the relay: it may name paths or SQL.
            _ => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::INTERNAL,
                "the relay failed to store or read; retry later",
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.body.to_canonical()).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(relay::CONTENT_TYPE),
        );
        if self.body.code == ErrorCode::RATE_LIMITED {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

type ApiResult = Result<Response, ApiError>;

#[allow(clippy::unnecessary_wraps)] // every handler ends with it
fn ok<T: Canon>(value: &T) -> ApiResult {
    let mut response = value.to_canonical().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(relay::CONTENT_TYPE),
    );
    Ok(response)
}

/// Reads a body of at most `limit` bytes within the body timeout.
async fn read_bytes(limits: &Limits, body: Body, limit: usize) -> Result<Vec<u8>, ApiError> {
    let collected = tokio::time::timeout(limits.body_timeout, Limited::new(body, limit).collect())
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                ErrorCode::BAD_REQUEST,
                "the request body arrived too slowly",
            )
        })?
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                ApiError::too_large("the request is larger than the relay accepts")
            } else {
                ApiError::bad("the request body could not be read")
            }
        })?;
    Ok(collected.to_bytes().to_vec())
}

async fn read<T: Canon, S>(state: &AppState<S>, body: Body) -> Result<T, ApiError> {
    let bytes = read_bytes(&state.limits, body, state.limits.max_body).await?;
    T::from_canonical(&bytes).map_err(|e| match e {
        outpost_proto::canon::DecodeError::TooLong => {
            ApiError::too_large("a part of the request is larger than the relay accepts")
        }
        _ => ApiError::bad("the request does not decode"),
    })
}

fn rate_limited() -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::RATE_LIMITED,
        "too many requests; slow down",
    )
}

fn limit_address<S>(state: &AppState<S>, addr: SocketAddr) -> Result<(), ApiError> {
    state
        .by_address
        .check(&addr.ip(), Instant::now())
        .map_err(|_| rate_limited())
}

/// An authenticated device: its session and its record as stored now.
struct Caller {
    session: SessionInfo,
    record: DeviceRecord,
}

impl Caller {
    fn member(self) -> Result<Self, ApiError> {
        if self.record.status == DeviceStatus::Member {
            Ok(self)
        } else {
            Err(ApiError::forbidden(
                "this device has not been admitted yet; an admin device admits it at its next sync",
            ))
        }
    }
    fn admin(self) -> Result<Self, ApiError> {
        let caller = self.member()?;
        if caller.record.admin {
            Ok(caller)
        } else {
            Err(ApiError::forbidden("only an admin device may do this"))
        }
    }
}

async fn caller<S: Storage>(state: &AppState<S>, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|t| hex::decode(t.trim()).ok())
        .ok_or_else(|| ApiError::unauthenticated("no session; sign a challenge first"))?;
    let session = state
        .auth
        .session(&token, now_ms())
        .ok_or_else(|| ApiError::unauthenticated("the session expired; sign a new challenge"))?;
    state
        .by_device
        .check(&(session.workspace, session.device), Instant::now())
        .map_err(|_| rate_limited())?;
    let record = state
        .storage
        .device(session.workspace, session.device)
        .await?
        .ok_or_else(|| ApiError::forbidden("this device is not in the workspace"))?;
    if record.status == DeviceStatus::Removed {
        state.auth.end_device(session.workspace, session.device);
        return Err(removed());
    }
    Ok(Caller { session, record })
}

fn removed() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        ErrorCode::REMOVED,
        "this device was removed from the workspace",
    )
}

fn verify_signed(
    state: &AppState<impl Storage>,
    identity: &[u8; 64],
    nonce: &[u8; relay::NONCE_LEN],
    message: &[u8],
    signature: &[u8; 64],
) -> Result<PublicIdentity, ApiError> {
    let public = PublicIdentity::from_bytes(identity)
        .map_err(|_| ApiError::bad("the device identity is not a valid key"))?;
    if !state.auth.take_challenge(nonce, now_ms()) {
        return Err(ApiError::unauthenticated(
            "the challenge is unknown, used or expired; ask for a new one",
        ));
    }
    public
        .verify(message, signature)
        .map_err(|_| ApiError::unauthenticated("the signature does not verify"))?;
    Ok(public)
}

async fn challenge<S: Storage>(
    State(state): State<Arc<AppState<S>>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
) -> ApiResult {
    limit_address(&state, addr)?;
    let nonce = state.auth.challenge(now_ms()).ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::UNAVAILABLE,
            "the relay is busy; retry",
        )
    })?;
    ok(&Challenge { nonce })
}

async fn create_workspace<S: Storage>(
    State(state): State<Arc<AppState<S>>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    body: Body,
) -> ApiResult {
    limit_address(&state, addr)?;
    let req: CreateWorkspace = read(&state, body).await?;
    let message = relay::signed_challenge(
        relay::CREATE_CONTEXT,
        &req.workspace,
        &req.nonce,
        &req.identity,
        &[],
    );
    let public = verify_signed(&state, &req.identity, &req.nonce, &message, &req.signature)?;
    let founder = DeviceRecord {
        id: public.device_id(),
        identity: req.identity,
        admin: true,
        status: DeviceStatus::Member,
    };
    state
        .storage
        .create_workspace(req.workspace, founder, now_ms())
        .await?;
    ok(&Empty)
}

/// Opens a session for a device whose signed challenge checked out; `guest_of` is the host of
/// a patient's visit. Returns the token and when it expires.
fn issue_session<S: Storage>(
    state: &AppState<S>,
    workspace: WorkspaceId,
    public: &PublicIdentity,
    guest_of: Option<DeviceId>,
) -> Result<([u8; 32], i64), ApiError> {
    let now = now_ms();
    let expires_at = now + i64::try_from(state.limits.session_ttl.as_millis()).unwrap_or(3_600_000);
    let token = state
        .auth
        .open(
            SessionInfo {
                workspace,
                device: public.device_id(),
                identity: public.to_bytes(),
                expires_at,
                guest_of,
            },
            now,
        )
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::UNAVAILABLE,
                "the relay is busy; retry",
            )
        })?;
    Ok((token, expires_at))
}

async fn open_session<S: Storage>(
    State(state): State<Arc<AppState<S>>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    body: Body,
) -> ApiResult {
    limit_address(&state, addr)?;
    let req: OpenSession = read(&state, body).await?;
    let message = relay::signed_challenge(
        relay::SESSION_CONTEXT,
        &req.workspace,
        &req.nonce,
        &req.identity,
        &[],
    );
    let public = verify_signed(&state, &req.identity, &req.nonce, &message, &req.signature)?;
    let device = public.device_id();
    let record = state
        .storage
        .device(req.workspace, device)
        .await?
        .filter(|r| r.identity == req.identity)
        .ok_or_else(|| ApiError::forbidden("this device is not in the workspace"))?;
    if record.status == DeviceStatus::Removed {
        return Err(removed());
    }
    let (token, expires_at) = issue_session(&state, req.workspace, &public, None)?;
    let own_head = state.storage.head(req.workspace, device).await?;
    ok(&Session {
        token,
        expires_at,
        admitted: record.status == DeviceStatus::Member,
        admin: record.admin,
        own_head,
    })
}

async fn join<S: Storage>(
    State(state): State<Arc<AppState<S>>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    body: Body,
) -> ApiResult {
    limit_address(&state, addr)?;
    let req: Join = read(&state, body).await?;
    if req.sealed.0.len() > MAX_JOIN_REQUEST {
        return Err(ApiError::too_large("the join request is too large"));
    }
    let mut extra = req.invite.0.to_vec();
    extra.extend_from_slice(&req.sealed.0);
    let message = relay::signed_challenge(
        relay::JOIN_CONTEXT,
        &req.workspace,
        &req.nonce,
        &req.identity,
        &extra,
    );
    let public = verify_signed(&state, &req.identity, &req.nonce, &message, &req.signature)?;
    let joiner = DeviceRecord {
        id: public.device_id(),
        identity: req.identity,
        admin: false,
        status: DeviceStatus::Pending,
    };
    state
        .storage
        .consume_invite(
            req.workspace,
            req.invite,
            joiner,
            req.to_canonical(),
            now_ms(),
        )
        .await?;
    state.hub.nudge(req.workspace);
    ok(&Empty)
}

async fn create_invite<S: Storage>(
    State(state): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    let caller = caller(&state, &headers).await?.admin()?;
    let req: CreateInvite = read(&state, body).await?;
    let now = now_ms();
    if req.expires_at <= now || req.expires_at - now > MAX_INVITE_MS {
        return Err(ApiError::bad("an invite must expire within 90 days"));
    }
    state
        .storage
        .create_invite(caller.session.workspace, req.invite, req.expires_at, now)
        .await?;
    ok(&Empty)
}

async fn set_device<S: Storage>(
    State(state): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    let caller = caller(&state, &headers).await?.admin()?;
    let req: SetDevice = read(&state, body).await?;
    let public = PublicIdentity::from_bytes(&req.identity)
        .map_err(|_| ApiError::bad("the device identity is not a valid key"))?;
    let workspace = caller.session.workspace;
    if let Some(existing) = state.storage.device(workspace, public.device_id()).await?
        && existing.status == DeviceStatus::Removed
    {
        return Err(ApiError::forbidden(
            "a removed device cannot be admitted again; it must join as a new device",
        ));
    }
    state
        .storage
        .set_device(
            workspace,
            DeviceRecord {
                id: public.device_id(),
                identity: req.identity,
                admin: req.admin,
                status: DeviceStatus::Member,
            },
            now_ms(),
        )
        .await?;
    state.hub.nudge(workspace);
    ok(&Empty)
}

async fn remove_device<S: Storage>(
    State(state): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    let caller = caller(&state, &headers).await?.admin()?;
    let req: RemoveDevice = read(&state, body).await?;
    let workspace = caller.session.workspace;
    let record = state
        .storage
        .device(workspace, req.device)
        .await?
        .ok_or(StorageError::NotFound("device"))?;
    state
        .storage
        .set_device(
            workspace,
            DeviceRecord {
                status: DeviceStatus::Removed,
                admin: false,
                ..record
            },
            now_ms(),
        )
        .await?;
    state.auth.end_device(workspace, req.device);
    ok(&Empty)
}

async fn push<S: Storage>(
    State(state): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    let caller = caller(&state, &headers).await?.member()?;
    let req: Push = read(&state, body).await?;
    let workspace = caller.session.workspace;
    let author = PublicIdentity::from_bytes(&caller.session.identity)
        .map_err(|_| ApiError::forbidden("this device's identity is not valid"))?;
    let mut envelopes = Vec::with_capacity(req.envelopes.len());
    for Bytes(bytes) in req.envelopes {
        if bytes.len() > state.limits.max_envelope {
            return Err(ApiError::too_large(
                "an envelope is larger than the relay accepts",
            ));
        }
        let envelope = SealedEnvelope::decode(&bytes)
            .map_err(|_| ApiError::bad("an envelope does not decode"))?;
        let h = envelope.header();
        if h.addressing != Addressing::Group
            || h.group.0 != workspace.0
            || h.author != caller.session.device
        {
            return Err(ApiError::forbidden(
                "a device may push only its own envelopes for its workspace",
            ));
        }
        envelope
            .verify(&author)
            .map_err(|_| ApiError::forbidden("an envelope's signature does not verify"))?;
        envelopes.push(NewEnvelope {
            seq: h.seq,
            epoch: h.epoch,
            bytes,
        });
    }
    let announced: Vec<Vec<u8>> = envelopes.iter().map(|e| e.bytes.clone()).collect();
    let head = state
        .storage
        .append(
            workspace,
            caller.session.device,
            envelopes,
            state.limits.quota,
            now_ms(),
        )
        .await?;
    for bytes in &announced {
        state.hub.envelope(workspace, bytes);
    }
    ok(&PushAck { head })
}

async fn pull<S: Storage>(
    State(state): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    let caller = caller(&state, &headers).await?.member()?;
    let req: Pull = read(&state, body).await?;
    let max_bytes = usize::try_from(req.max_bytes)
        .unwrap_or(usize::MAX)
        .clamp(1, state.limits.max_pull_bytes);
    let pulled = state
        .storage
        .pull(caller.session.workspace, req.have, max_bytes, PULL_COUNT)
        .await?;
    ok(&Batch {
        envelopes: pulled.envelopes.into_iter().map(Bytes).collect(),
        more: pulled.more,
        heads: pulled.heads,
    })
}

async fn send_direct<S: Storage>(
    State(state): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    let caller = caller(&state, &headers).await?.member()?;
    let req: SendDirect = read(&state, body).await?;
    if req.envelope.0.len() > MAX_DIRECT {
        return Err(ApiError::too_large("the direct envelope is too large"));
    }
    let envelope = SealedEnvelope::decode(&req.envelope.0)
        .map_err(|_| ApiError::bad("the envelope does not decode"))?;
    let h = envelope.header();
    let to_recipient =
        matches!(h.addressing, Addressing::Direct { recipient, .. } if recipient == req.to);
    if !to_recipient || h.author != caller.session.device || h.group.0 != caller.session.workspace.0
    {
        return Err(ApiError::forbidden(
            "a direct envelope must be the sender's own, addressed to its recipient",
        ));
    }
    let author = PublicIdentity::from_bytes(&caller.session.identity)
        .map_err(|_| ApiError::forbidden("this device's identity is not valid"))?;
    envelope
        .verify(&author)
        .map_err(|_| ApiError::forbidden("the envelope's signature does not verify"))?;
    state
        .storage
        .send_direct(
            caller.session.workspace,
            caller.session.device,
            req.to,
            relay::DIRECT_ENVELOPE,
            req.envelope.0,
            state.limits.quota,
            now_ms(),
        )
        .await?;
    state.hub.nudge(caller.session.workspace);
    ok(&Empty)
}

async fn fetch_direct<S: Storage>(
    State(state): State<Arc<AppState<S>>>,
    headers: HeaderMap,
) -> ApiResult {
    // Pending devices read their mailbox too: that is where their admission arrives.
    let caller = caller(&state, &headers).await?;
    let messages = state
        .storage
        .fetch_direct(
            caller.session.workspace,
            caller.session.device,
            MAILBOX_BATCH,
        )
        .await?;
    ok(&DirectBatch { messages })
}

async fn ack_direct<S: Storage>(
    State(state): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    let caller = caller(&state, &headers).await?;
    let req: AckDirect = read(&state, body).await?;
    state
        .storage
        .ack_direct(caller.session.workspace, caller.session.device, req.ids)
        .await?;
    ok(&Empty)
}

fn blob_id(hex_id: &str) -> Result<[u8; 32], ApiError> {
    hex::decode(hex_id)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| ApiError::bad("a blob is named by 64 hex characters"))
}

/// `?offset=` (and `&len=` for reads).
#[derive(Debug, serde::Deserialize)]
struct Range {
    offset: u64,
    len: Option<usize>,
}

async fn blob_put<S: Storage>(
    State(state): State<Arc<AppState<S>>>,
    Path(id): Path<String>,
    Query(range): Query<Range>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    let caller = caller(&state, &headers).await?.member()?;
    let blob = blob_id(&id)?;
    let data = read_bytes(&state.limits, body, state.limits.max_blob_chunk).await?;
    let status = state
        .storage
        .blob_put(
            caller.session.workspace,
            caller.session.device,
            blob,
            range.offset,
            data,
            state.limits.quota,
            now_ms(),
        )
        .await?;
    ok(&status)
}

async fn blob_status<S: Storage>(
    State(state): State<Arc<AppState<S>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    let caller = caller(&state, &headers).await?.member()?;
    let status = state
        .storage
        .blob_status(caller.session.workspace, blob_id(&id)?)
        .await?
        .unwrap_or(BlobStatus {
            received: 0,
            complete: false,
        });
    ok(&status)
}

async fn blob_complete<S: Storage>(
    State(state): State<Arc<AppState<S>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    let caller = caller(&state, &headers).await?.member()?;
    let status = state
        .storage
        .blob_complete(caller.session.workspace, blob_id(&id)?)
        .await?;
    ok(&status)
}

async fn blob_read<S: Storage>(
    State(state): State<Arc<AppState<S>>>,
    Path(id): Path<String>,
    Query(range): Query<Range>,
    headers: HeaderMap,
) -> ApiResult {
    let caller = caller(&state, &headers).await?.member()?;
    let len = range
        .len
        .unwrap_or(state.limits.max_blob_chunk)
        .min(state.limits.max_blob_chunk);
    let data = state
        .storage
        .blob_read(caller.session.workspace, blob_id(&id)?, range.offset, len)
        .await?;
    let mut response = data.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    Ok(response)
}

async fn live<S: Storage>(
    State(state): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> ApiResult {
    let caller = caller(&state, &headers).await?.member()?;
    let workspace = caller.session.workspace;
    let device = caller.session.device;
    let receiver = state.hub.subscribe(workspace).ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::UNAVAILABLE,
            "the relay is busy; retry",
        )
    })?;
    Ok(upgrade
        .max_message_size(64 * 1024)
        .on_upgrade(move |socket| live_session(state, socket, receiver, workspace, device)))
}

/// Forwards frames until the device disconnects, is removed, or the relay shuts down.
async fn live_session<S: Storage>(
    state: Arc<AppState<S>>,
    socket: ws::WebSocket,
    mut frames: broadcast::Receiver<crate::live::Frame>,
    workspace: WorkspaceId,
    device: DeviceId,
) {
    let (mut tx, mut rx) = socket.split();
    let mut shutdown = state.shutdown.clone();
    let mut check = tokio::time::interval(std::time::Duration::from_secs(30));
    loop {
        tokio::select! {
            frame = frames.recv() => {
                let bytes = match frame {
                    Ok(frame) => frame.as_ref().clone(),
                    // Too slow: it missed frames, so it pulls instead.
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        relay::encode(&relay::Live { envelope: None })
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                };
                if tx.send(ws::Message::Binary(bytes.into())).await.is_err() {
                    break;
                }
            }
            incoming = rx.next() => match incoming {
                Some(Ok(ws::Message::Close(_)) | Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
            _ = check.tick() => {
                let still_member = matches!(
                    state.storage.device(workspace, device).await,
                    Ok(Some(r)) if r.status == DeviceStatus::Member
                );
                if !still_member || tx.send(ws::Message::Ping(Vec::new().into())).await.is_err() {
                    break;
                }
            }
            _ = shutdown.changed() => break,
        }
    }
    let _ = tx.send(ws::Message::Close(None)).await;
}

async fn create_visit<S: Storage>(
    State(state): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    let caller = caller(&state, &headers).await?.member()?;
    let req: CreateVisit = read(&state, body).await?;
    let now = now_ms();
    if req.expires_at <= now || req.expires_at - now > MAX_VISIT_MS {
        return Err(ApiError::bad("a visit must expire within 7 days"));
    }
    state
        .storage
        .create_visit(
            caller.session.workspace,
            req.visit,
            caller.session.device,
            req.expires_at,
            now,
        )
        .await?;
    ok(&Empty)
}

/// A patient's device opens a guest session with its visit: it claims the visit (the first
/// device to do so owns it) and may then signal the visit's host, and nothing else.
async fn open_guest<S: Storage>(
    State(state): State<Arc<AppState<S>>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    body: Body,
) -> ApiResult {
    limit_address(&state, addr)?;
    let req: OpenGuest = read(&state, body).await?;
    let message = relay::signed_challenge(
        relay::GUEST_CONTEXT,
        &req.workspace,
        &req.nonce,
        &req.identity,
        &req.visit.0,
    );
    let public = verify_signed(&state, &req.identity, &req.nonce, &message, &req.signature)?;
    let host = state
        .storage
        .claim_visit(req.workspace, req.visit, req.identity, now_ms())
        .await?;
    let (token, expires_at) = issue_session(&state, req.workspace, &public, Some(host))?;
    ok(&Session {
        token,
        expires_at,
        admitted: false,
        admin: false,
        own_head: 0,
    })
}

/// The session of a member device or of a patient's guest device (guests have no device
/// record, only their visit; members are checked like any request).
async fn member_or_guest<S: Storage>(
    state: &AppState<S>,
    headers: &HeaderMap,
) -> Result<SessionInfo, ApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|t| hex::decode(t.trim()).ok())
        .ok_or_else(|| ApiError::unauthenticated("no session; sign a challenge first"))?;
    let session = state
        .auth
        .session(&token, now_ms())
        .ok_or_else(|| ApiError::unauthenticated("the session expired; sign a new challenge"))?;
    if session.guest_of.is_none() {
        caller(state, headers).await?.member()?;
    }
    Ok(session)
}

/// TURN credentials for a call (an empty list when no TURN server is configured). The tag
/// the TURN server logs is random per request, so its logs do not name devices.
async fn turn_servers<S: Storage>(
    State(state): State<Arc<AppState<S>>>,
    headers: HeaderMap,
) -> ApiResult {
    member_or_guest(&state, &headers).await?;
    let Some(turn) = &state.turn else {
        return ok(&TurnServers {
            urls: Vec::new(),
            username: String::new(),
            credential: String::new(),
            expires_at: 0,
        });
    };
    let mut tag = [0u8; 8];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut tag);
    ok(&crate::turn::credentials(turn, &hex::encode(tag), now_ms()))
}

async fn signal<S: Storage>(
    State(state): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> ApiResult {
    let session = member_or_guest(&state, &headers).await?;
    Ok(upgrade
        .max_message_size(MAX_SIGNAL)
        .on_upgrade(move |socket| signal_session(state, socket, session)))
}

/// Whether `from` may signal `to`.
async fn may_signal<S: Storage>(state: &AppState<S>, from: &SessionInfo, to: DeviceId) -> bool {
    if let Some(host) = from.guest_of {
        return to == host;
    }
    if state.signals.guest_host(from.workspace, to) == Some(from.device) {
        return true;
    }
    matches!(
        state.storage.device(from.workspace, to).await,
        Ok(Some(r)) if r.status == DeviceStatus::Member
    )
}

/// Routes signals for one connection until it closes, its session ends, or (for a member)
/// the device is removed.
async fn signal_session<S: Storage>(
    state: Arc<AppState<S>>,
    socket: ws::WebSocket,
    session: SessionInfo,
) {
    let (mut tx, mut rx) = socket.split();
    let (_registration, mut inbox) =
        state
            .signals
            .register(session.workspace, session.device, session.guest_of);
    let mut shutdown = state.shutdown.clone();
    let mut check = tokio::time::interval(std::time::Duration::from_secs(30));
    loop {
        tokio::select! {
            frame = inbox.recv() => match frame {
                Some(bytes) => {
                    if tx.send(ws::Message::Binary(bytes.into())).await.is_err() {
                        break;
                    }
                }
                None => break,
            },
            incoming = rx.next() => match incoming {
                Some(Ok(ws::Message::Binary(bytes))) => {
                    if state
                        .by_device
                        .check(&(session.workspace, session.device), Instant::now())
                        .is_err()
                    {
                        continue; // over its rate: dropped, like a lost packet
                    }
                    let Ok(SignalFrame::Out(out)) = SignalFrame::decode(&bytes) else {
                        break; // not our protocol: close
                    };
                    let delivered = may_signal(&state, &session, out.to).await
                        && state.signals.deliver(
                            session.workspace,
                            out.to,
                            &SignalFrame::In(SignalIn {
                                from: session.device,
                                sender: session.identity,
                                envelope: out.envelope,
                            })
                            .encode(),
                        );
                    if !delivered {
                        let reply = SignalFrame::Undeliverable { to: out.to }.encode();
                        if tx.send(ws::Message::Binary(reply.into())).await.is_err() {
                            break;
                        }
                    }
                }
                Some(Ok(ws::Message::Close(_)) | Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
            _ = check.tick() => {
                let alive = session.expires_at > now_ms()
                    && (session.guest_of.is_some()
                        || matches!(
                            state.storage.device(session.workspace, session.device).await,
                            Ok(Some(r)) if r.status == DeviceStatus::Member
                        ));
                if !alive || tx.send(ws::Message::Ping(Vec::new().into())).await.is_err() {
                    break;
                }
            }
            _ = shutdown.changed() => break,
        }
    }
    let _ = tx.send(ws::Message::Close(None)).await;
}
