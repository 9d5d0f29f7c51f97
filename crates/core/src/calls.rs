//! Calls and video visits, as the shell and the command line run them: a [`CallLine`] is this
//! device's connection to the relay's signaling socket, carrying call signals sealed to the
//! receiving device and signed by this one.
//!
//! Who is on the other end is never the relay's word. A care-team device's identity comes from
//! the verified membership log; a visit's physician comes from the visit code the patient was
//! given; a patient's device is trusted by the physician only after its knock proves it holds
//! the visit code's secret, bound to the identity it will be called on. A signal that fails its
//! envelope check during a call ends that call as a security failure. Each signal's sequence is
//! a timestamp: one older than two minutes, or not newer than the last from its device, is a
//! replay and is dropped.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use outpost_call::media::peer::IceServer;
use outpost_call::session::{self as call, CallConfig, CallHandle, Inbound, Parties};
use outpost_call::signal::{CallId, CallKind, Knock, Ring, Signal};
use outpost_crypto::{ContentType, GroupId, PublicIdentity, SealedEnvelope};
use outpost_proto::{
    DeviceId, PatientId, VisitId, WorkspaceId,
    relay::{self, CreateVisit, OpenGuest, SignalFrame, SignalIn, SignalOut},
};
use outpost_store::workspace::visits::VisitCode;
use outpost_sync::{Outgoing, Request, Response};
use tokio::sync::mpsc;

use crate::{Core, CoreError, net::RelayClient};

/// How far a signal's timestamp may be from this device's clock.
const FRESH_MS: i64 = 120_000;
/// Signals per millisecond a sequence number leaves room for.
const SEQ_PER_MS: u64 = 1000;

/// Why a call or visit could not go ahead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The member or device is not in this workspace (or was removed).
    #[error("no such member or device in this workspace: {0}")]
    UnknownPeer(String),
    /// The relay's signaling socket could not be opened or closed.
    #[error("cannot reach the relay for calls: {0}")]
    Unreachable(String),
    /// The relay refused (its reason, no patient data).
    #[error("the relay refused: {0}")]
    Refused(String),
    /// The visit code was already used by another device.
    #[error("this visit code was already used on another device; ask the clinic for a new one")]
    VisitUsed,
    /// The visit code has expired.
    #[error("this visit code has expired; ask the clinic for a new one")]
    VisitExpired,
    /// The visit is not known to the relay (not yet registered, or a wrong code).
    #[error("the relay does not know this visit; check the code with the clinic")]
    VisitNotFound,
    /// Nothing happened in time.
    #[error("timed out: {0}")]
    TimedOut(&'static str),
    /// A call is already in progress on this device.
    #[error("a call is already in progress")]
    Busy,
    /// What the action was for is gone (the call ended, the patient left the waiting room).
    #[error("there is no {0} any more")]
    Gone(&'static str),
    /// Media was to go only through a TURN server, and the relay offers none.
    #[error("calls through a TURN server only were asked for, but the relay offers no TURN server")]
    NoTurnServer,
}

/// A call coming in, or a patient knocking.
#[derive(Debug)]
pub enum Incoming {
    /// A device rings.
    Ring(IncomingRing),
    /// A patient waits to be admitted to a visit this device hosts.
    Knock(Knocking),
}

/// A ringing call, to answer with [`CallLine::answer`].
#[derive(Debug)]
pub struct IncomingRing {
    /// The calling device.
    pub from: PublicIdentity,
    /// The ring.
    pub ring: Ring,
    inbound: mpsc::UnboundedReceiver<Inbound>,
}

/// A patient in the waiting room, proven to hold the visit's code.
#[derive(Debug, Clone)]
pub struct Knocking {
    /// The patient's device.
    pub device: PublicIdentity,
    /// The visit.
    pub visit: VisitId,
    /// The chart the visit is for.
    pub patient: PatientId,
    /// The name the patient gave.
    pub name: String,
}

/// This device's signaling connection. Cheap to clone.
#[derive(Clone)]
pub struct CallLine {
    inner: Arc<Line>,
}

impl std::fmt::Debug for CallLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallLine")
            .field("me", &self.inner.me.device_id())
            .finish_non_exhaustive()
    }
}

struct Line {
    core: Core,
    me: PublicIdentity,
    group: GroupId,
    /// On a patient's profile: the visit and its physician.
    visit: Option<VisitCode>,
    out: mpsc::UnboundedSender<SignalFrame>,
    routes: Mutex<HashMap<CallId, Route>>,
    incoming: tokio::sync::Mutex<mpsc::UnboundedReceiver<Incoming>>,
    incoming_tx: mpsc::UnboundedSender<Incoming>,
    /// The last sequence number sent, and the last seen per device.
    last_sent: Mutex<u64>,
    last_seen: Mutex<HashMap<DeviceId, u64>>,
    /// Devices the relay said it could not reach, newest last.
    undeliverable: Mutex<Vec<DeviceId>>,
    config: CallConfig,
}

struct Route {
    peer: PublicIdentity,
    inbound: mpsc::UnboundedSender<Inbound>,
    /// This device placed the call (a ring from the same peer meanwhile is glare).
    outgoing: bool,
}

/// Seals signals to one peer and hands them to the relay.
struct Sender {
    line: Arc<Line>,
    peer: PublicIdentity,
}

#[async_trait::async_trait]
impl call::SignalSender for Sender {
    async fn send(&self, signal: Signal) -> Result<(), call::SignalError> {
        self.line
            .send(&self.peer, &signal)
            .await
            .map_err(|e| call::SignalError(e.to_string()))
    }
}

impl Core {
    /// Connects this care-team device to the relay's signaling socket (a sync exchange first,
    /// which opens the relay session).
    pub async fn call_line(&self, config: CallConfig) -> Result<CallLine, CoreError> {
        let token = self.relay_token().await?;
        let (relay, workspace) = self
            .with_store(|s| {
                let w = s
                    .workspace()?
                    .ok_or(outpost_store::StoreError::NotFound("workspace"))?;
                Ok((w.relay, w.id))
            })
            .await?;
        let client = RelayClient::new(&relay).map_err(CoreError::Relay)?;
        self.open_line(&client, token, workspace, None, config)
            .await
    }

    /// A session token for calls: one sync exchange (which also brings the membership up to
    /// date, so a device added since the last sync can be called).
    async fn relay_token(&self) -> Result<[u8; 32], CoreError> {
        let (_, token) = self.exchange().await?;
        token.ok_or_else(|| {
            CoreError::Call(CallError::Refused(
                "the relay gave no session (this device is not admitted yet)".into(),
            ))
        })
    }

    /// Creates a visit invite for a patient's chart and registers it with the relay; returns
    /// the one-line code to give the patient.
    pub async fn create_visit(&self, patient: PatientId, ttl_ms: i64) -> Result<String, CoreError> {
        let code = self
            .with_store(move |s| s.create_visit(patient, ttl_ms))
            .await?;
        let token = self.relay_token().await?;
        let client = RelayClient::new(&code.relay).map_err(CoreError::Relay)?;
        client
            .send(&Outgoing {
                request: Request::CreateVisit(CreateVisit {
                    visit: code.visit,
                    expires_at: code.expires_at,
                }),
                token: Some(token),
            })
            .await
            .map_err(|f| CoreError::Call(refused(f)))?;
        Ok(code.encode())
    }

    /// On a patient's profile: keeps the visit code, opens a guest session with it at the
    /// relay (claiming the visit for this device) and connects the signaling socket.
    pub async fn join_visit(&self, code: &str, config: CallConfig) -> Result<CallLine, CoreError> {
        let code = VisitCode::parse(code)?;
        let keep = code.clone();
        self.with_store(move |s| s.keep_visit_code(&keep)).await?;
        let client = RelayClient::new(&code.relay).map_err(CoreError::Relay)?;
        let nonce = match client
            .send(&Outgoing {
                request: Request::Challenge,
                token: None,
            })
            .await
        {
            Ok(Response::Challenge(c)) => c.nonce,
            Ok(_) => {
                return Err(CoreError::Call(CallError::Refused(
                    "unexpected answer".into(),
                )));
            }
            Err(f) => return Err(CoreError::Call(refused(f))),
        };
        let (workspace, visit) = (code.workspace, code.visit);
        let (identity, signature) = self
            .with_store(move |s| {
                let me = s.device_identity();
                let identity = me.public().to_bytes();
                let message = relay::signed_challenge(
                    relay::GUEST_CONTEXT,
                    &workspace,
                    &nonce,
                    &identity,
                    &visit.0,
                );
                Ok((identity, me.sign(&message)))
            })
            .await?;
        let session = client
            .send(&Outgoing {
                request: Request::OpenGuest(OpenGuest {
                    workspace,
                    visit,
                    identity,
                    nonce,
                    signature,
                }),
                token: None,
            })
            .await
            .map_err(|f| CoreError::Call(refused(f)))?;
        let Response::Session(session) = session else {
            return Err(CoreError::Call(CallError::Refused(
                "unexpected answer".into(),
            )));
        };
        self.open_line(&client, session.token, workspace, Some(code), config)
            .await
    }

    async fn open_line(
        &self,
        client: &RelayClient,
        token: [u8; 32],
        workspace: WorkspaceId,
        visit: Option<VisitCode>,
        mut config: CallConfig,
    ) -> Result<CallLine, CoreError> {
        config
            .peer
            .ice_servers
            .extend(turn_servers(client, token).await?);
        if config.peer.relay_only && !config.peer.ice_servers.iter().any(IceServer::is_turn) {
            return Err(CoreError::Call(CallError::NoTurnServer));
        }
        let me = self
            .with_store(|s| Ok(s.device_identity().public()))
            .await?;
        let (out, frames) = client
            .signal(token)
            .await
            .map_err(|e| CoreError::Call(CallError::Unreachable(e)))?;
        let (incoming_tx, incoming) = mpsc::unbounded_channel();
        let line = Arc::new(Line {
            core: self.clone(),
            me,
            group: GroupId(workspace.0),
            visit,
            out,
            routes: Mutex::new(HashMap::new()),
            incoming: tokio::sync::Mutex::new(incoming),
            incoming_tx,
            last_sent: Mutex::new(0),
            last_seen: Mutex::new(HashMap::new()),
            undeliverable: Mutex::new(Vec::new()),
            config,
        });
        // What arrives from the relay (rings, knocks, any device's signals) is not someone at
        // this laptop: it never keeps an unattended session open.
        tokio::spawn(crate::session::background(route(
            Arc::downgrade(&line),
            frames,
        )));
        Ok(CallLine { inner: line })
    }
}

/// The TURN server the relay hands credentials for, if any. A relay that predates TURN
/// refuses the request: calls then use direct paths, as before.
async fn turn_servers(
    client: &RelayClient,
    token: [u8; 32],
) -> Result<Option<IceServer>, CoreError> {
    let answer = client
        .send(&Outgoing {
            request: Request::TurnServers,
            token: Some(token),
        })
        .await;
    match answer {
        Ok(Response::Turn(t)) if !t.urls.is_empty() => Ok(Some(IceServer {
            urls: t.urls,
            username: t.username,
            credential: t.credential,
        })),
        Ok(_) | Err(outpost_sync::Failure::Refused { .. }) => Ok(None),
        Err(f) => Err(CoreError::Call(refused(f))),
    }
}

fn refused(f: outpost_sync::Failure) -> CallError {
    match f {
        outpost_sync::Failure::Unreachable(e) => CallError::Unreachable(e),
        outpost_sync::Failure::Refused { body, .. } => match body.code {
            relay::ErrorCode::VISIT_USED => CallError::VisitUsed,
            relay::ErrorCode::VISIT_EXPIRED => CallError::VisitExpired,
            relay::ErrorCode::NOT_FOUND => CallError::VisitNotFound,
            _ => CallError::Refused(body.message),
        },
    }
}

impl Line {
    /// The next sequence number: the time in microsecond-sized steps, always increasing.
    fn next_seq(&self) -> u64 {
        let now = u64::try_from(self.core.clock().now_ms()).unwrap_or(0) * SEQ_PER_MS;
        let mut last = self
            .last_sent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *last = now.max(*last + 1);
        *last
    }

    async fn send(&self, peer: &PublicIdentity, signal: &Signal) -> Result<(), CoreError> {
        let (peer_owned, group, seq, plaintext) =
            (*peer, self.group, self.next_seq(), signal.encode());
        let envelope = self
            .core
            .with_store(move |s| {
                Ok(SealedEnvelope::seal_direct(
                    s.device_identity(),
                    &peer_owned,
                    group,
                    seq,
                    ContentType::CALL_SIGNAL,
                    &plaintext,
                    &mut rand_core::OsRng,
                )?
                .encode())
            })
            .await?;
        self.out
            .send(SignalFrame::Out(SignalOut {
                to: peer.device_id(),
                envelope: outpost_proto::canon::Bytes(envelope),
            }))
            .map_err(|_| {
                CoreError::Call(CallError::Unreachable("the signaling socket closed".into()))
            })
    }

    /// Who `from` is, as far as this device can tell without the relay's word: a member device
    /// from the log, or this patient's physician from the visit code.
    async fn known(&self, from: DeviceId) -> Result<Option<PublicIdentity>, CoreError> {
        if let Some(v) = &self.visit {
            return Ok((v.host.device_id() == from).then_some(v.host));
        }
        let found = self.core.with_store(move |s| s.device_public(from)).await?;
        Ok(found.and_then(|(identity, removed)| (!removed).then_some(identity)))
    }

    /// Opens a signal envelope from `author`; `None` when it fails any check.
    async fn open(&self, author: PublicIdentity, bytes: Vec<u8>) -> Option<Signal> {
        let group = self.group;
        let opened = self
            .core
            .with_store(move |s| {
                let envelope = SealedEnvelope::decode(&bytes)?;
                Ok(envelope.open_direct(s.device_identity(), &author).map(|o| {
                    let h = *o.header();
                    (h, o.plaintext().to_vec())
                }))
            })
            .await
            .ok()?
            .ok()?;
        let (header, plaintext) = opened;
        if header.content_type != ContentType::CALL_SIGNAL
            || header.group != group
            || header.author != author.device_id()
        {
            return None;
        }
        // Fresh and newer than anything seen from this device: otherwise a replay.
        let at = i64::try_from(header.seq / SEQ_PER_MS).unwrap_or(i64::MAX);
        if (self.core.clock().now_ms() - at).abs() > FRESH_MS {
            return None;
        }
        {
            let mut seen = self
                .last_seen
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let last = seen.entry(author.device_id()).or_insert(0);
            if header.seq <= *last {
                return None;
            }
            *last = header.seq;
        }
        Signal::decode(&plaintext).ok()
    }

    fn route_for(&self, call: CallId) -> Option<(PublicIdentity, mpsc::UnboundedSender<Inbound>)> {
        self.routes
            .lock()
            .ok()?
            .get(&call)
            .map(|r| (r.peer, r.inbound.clone()))
    }

    fn add_route(
        &self,
        call: CallId,
        peer: PublicIdentity,
        outgoing: bool,
    ) -> mpsc::UnboundedReceiver<Inbound> {
        let (tx, rx) = mpsc::unbounded_channel();
        if let Ok(mut routes) = self.routes.lock() {
            routes.retain(|_, r| !r.inbound.is_closed());
            routes.insert(
                call,
                Route {
                    peer,
                    inbound: tx,
                    outgoing,
                },
            );
        }
        rx
    }

    /// When this device is ringing `peer` and `peer` rings back (glare): routes the peer's
    /// call to the same session as this device's call and hands that session their ring.
    /// Returns whether it did.
    fn glare(&self, ring: &Ring, peer: PublicIdentity) -> bool {
        let Ok(mut routes) = self.routes.lock() else {
            return false;
        };
        let Some(session) = routes
            .values()
            .find(|r| r.outgoing && r.peer == peer && !r.inbound.is_closed())
            .map(|r| r.inbound.clone())
        else {
            return false;
        };
        routes.insert(
            ring.call,
            Route {
                peer,
                inbound: session.clone(),
                outgoing: false,
            },
        );
        session.send(Inbound::Glare(ring.clone())).is_ok()
    }

    /// A signal that failed its checks, from a device in a call: that call is under attack.
    fn tampered(&self, from: DeviceId) {
        if let Ok(routes) = self.routes.lock() {
            for r in routes.values().filter(|r| r.peer.device_id() == from) {
                let _ = r.inbound.send(Inbound::Tampered);
            }
        }
    }

    async fn on_signal(&self, frame: SignalIn) -> Result<(), CoreError> {
        let SignalIn {
            from,
            sender,
            envelope,
        } = frame;
        let known = self.known(from).await?;
        // A device the log does not know can only be a patient knocking on a visit this device
        // hosts, or the patient of a call already placed: the relay's word for its identity is
        // checked by the knock's proof, or against the call's peer.
        let claimed = PublicIdentity::from_bytes(&sender).ok();
        let identity = match (known, claimed) {
            (Some(k), _) => k,
            (None, Some(c)) if c.device_id() == from && self.visit.is_none() => c,
            _ => return Ok(()),
        };
        let Some(signal) = self.open(identity, envelope.0).await else {
            self.tampered(from);
            return Ok(());
        };
        match signal {
            Signal::Knock(Knock { visit, proof, name }) => {
                if self.visit.is_some() {
                    return Ok(());
                }
                let visit = VisitId(visit);
                let checked = self
                    .core
                    .with_store(move |s| s.check_knock(visit, &identity, &proof))
                    .await;
                if let Ok(patient) = checked {
                    let _ = self.incoming_tx.send(Incoming::Knock(Knocking {
                        device: identity,
                        visit,
                        patient,
                        name,
                    }));
                }
            }
            Signal::Ring(ring) => {
                // Only the log's members ring a member; only the physician rings a patient.
                if known.is_none() || self.route_for(ring.call).is_some() {
                    return Ok(());
                }
                if self.glare(&ring, identity) {
                    return Ok(());
                }
                let inbound = self.add_route(ring.call, identity, false);
                let _ = self.incoming_tx.send(Incoming::Ring(IncomingRing {
                    from: identity,
                    ring,
                    inbound,
                }));
            }
            other => {
                if let Some(call) = other.call()
                    && let Some((peer, tx)) = self.route_for(call)
                    && peer.device_id() == from
                {
                    let _ = tx.send(Inbound::Signal(other));
                }
            }
        }
        Ok(())
    }
}

/// Reads the relay's frames until the socket closes or the line is dropped.
async fn route(line: std::sync::Weak<Line>, mut frames: mpsc::UnboundedReceiver<SignalFrame>) {
    while let Some(frame) = frames.recv().await {
        let Some(line) = line.upgrade() else { break };
        match frame {
            SignalFrame::In(signal) => {
                let _ = line.on_signal(signal).await;
            }
            SignalFrame::Undeliverable { to } => {
                if let Ok(mut u) = line.undeliverable.lock() {
                    u.push(to);
                }
            }
            SignalFrame::Out(_) => {}
        }
    }
}

impl CallLine {
    /// This device's identity.
    pub fn me(&self) -> PublicIdentity {
        self.inner.me
    }

    /// Resolves a member (user id: their first active device other than this one) or a device
    /// id to the device to call.
    pub async fn resolve(&self, id: &str) -> Result<PublicIdentity, CoreError> {
        let me = self.inner.me.device_id();
        let wanted = id.trim().to_ascii_lowercase();
        let members = self.inner.core.workspace_members().await?;
        let device = members
            .iter()
            .filter(|m| m.status != "removed")
            .filter_map(|m| {
                let d = m.device.as_deref()?;
                (m.user.to_hex() == wanted || d == wanted).then_some(d.to_owned())
            })
            .find(|d| *d != me.to_hex())
            .ok_or_else(|| CoreError::Call(CallError::UnknownPeer(wanted.clone())))?;
        let device = outpost_proto::ids::from_hex::<16>(&device)
            .map(DeviceId)
            .ok_or_else(|| CoreError::Call(CallError::UnknownPeer(wanted.clone())))?;
        self.inner
            .known(device)
            .await?
            .ok_or(CoreError::Call(CallError::UnknownPeer(wanted)))
    }

    /// Places a call to `peer`.
    pub fn call(&self, peer: PublicIdentity, kind: CallKind) -> CallHandle {
        self.place(peer, kind, call::random_call_id())
    }

    fn place(&self, peer: PublicIdentity, kind: CallKind, id: CallId) -> CallHandle {
        let inbound = self.inner.add_route(id, peer, true);
        call::place_with_id(
            self.inner.config.clone(),
            Parties {
                me: self.inner.me,
                peer,
            },
            kind,
            id,
            Arc::new(Sender {
                line: Arc::clone(&self.inner),
                peer,
            }),
            inbound,
        )
    }

    /// A ring that came in from a device this line is itself ringing (glare that the line
    /// could not see because the ring arrived first): hands it to the outgoing call, which
    /// resolves it as [`CallLine::call`]'s glare does. Returns the ring when there is no such
    /// call.
    pub fn resolve_glare(&self, ring: IncomingRing) -> Option<IncomingRing> {
        if self.inner.glare(&ring.ring, ring.from) {
            None
        } else {
            Some(ring)
        }
    }

    /// Waits for the next ring or knock.
    pub async fn next_incoming(&self) -> Option<Incoming> {
        self.inner.incoming.lock().await.recv().await
    }

    /// Takes a ringing call (it rings until [`call::Command::Accept`]).
    pub fn answer(&self, ring: IncomingRing) -> CallHandle {
        let IncomingRing {
            from,
            ring,
            inbound,
        } = ring;
        call::answer(
            self.inner.config.clone(),
            Parties {
                me: self.inner.me,
                peer: from,
            },
            &ring,
            Arc::new(Sender {
                line: Arc::clone(&self.inner),
                peer: from,
            }),
            inbound,
        )
    }

    /// Admits a patient from the waiting room: the visit code is spent on their device, and
    /// this device rings it.
    pub async fn admit(&self, knock: &Knocking, kind: CallKind) -> Result<CallHandle, CoreError> {
        let (visit, device) = (knock.visit, knock.device);
        self.inner
            .core
            .with_store(move |s| s.mark_visit_admitted(visit, &device))
            .await?;
        Ok(self.call(knock.device, kind))
    }

    /// On a patient's profile: knocks on the visit every few seconds until the physician rings,
    /// then returns the ring (from the visit's physician only).
    pub async fn knock_until_rung(
        &self,
        name: &str,
        wait: std::time::Duration,
    ) -> Result<IncomingRing, CoreError> {
        let code = self
            .inner
            .visit
            .clone()
            .ok_or(CoreError::Call(CallError::Refused(
                "this line holds no visit".into(),
            )))?;
        let knock = Signal::Knock(Knock {
            visit: code.visit.0,
            proof: code.proof(&self.inner.me),
            name: name.to_owned(),
        });
        let deadline = tokio::time::Instant::now() + wait;
        let mut incoming = self.inner.incoming.lock().await;
        loop {
            self.inner.send(&code.host, &knock).await?;
            let next = tokio::time::Instant::now() + std::time::Duration::from_secs(2);
            loop {
                match tokio::time::timeout_at(next.min(deadline), incoming.recv()).await {
                    Ok(Some(Incoming::Ring(ring)))
                        if ring.from.device_id() == code.host.device_id() =>
                    {
                        return Ok(ring);
                    }
                    Ok(Some(_)) => {}
                    Ok(None) => {
                        return Err(CoreError::Call(CallError::Unreachable(
                            "the signaling socket closed".into(),
                        )));
                    }
                    Err(_) => break,
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(CoreError::Call(CallError::TimedOut(
                    "the physician has not admitted you yet",
                )));
            }
        }
    }

    /// Whether the relay said `device` was not connected since the last call of this.
    pub fn take_undeliverable(&self, device: DeviceId) -> bool {
        self.inner.undeliverable.lock().is_ok_and(|mut u| {
            let had = u.contains(&device);
            u.clear();
            had
        })
    }
}
