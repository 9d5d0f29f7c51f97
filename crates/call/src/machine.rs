//! One call as a sans-IO state machine: events in (what the local person did, what the peer
//! signalled, what the media layer reported, the time), actions out (signals to send, media
//! steps to take, the end). It reads no clock and opens no socket, so ringing timeouts, glare
//! and reconnection are ordinary unit tests.
//!
//! ```text
//! caller: Outgoing --Accept--> Connecting --media up--> Connected <--> Reconnecting
//! callee: Incoming --accept--> Connecting --media up--> Connected <--> Reconnecting
//! any:    --Hangup / decline / timeout / security failure--> Ended
//! ```

use outpost_crypto::CallRole;

use crate::signal::{Accept, CallId, CallKind, Candidate, EndReason, Hangup, Ring, Sdp, Signal};

/// How long a call may ring unanswered.
pub const RING_TIMEOUT_MS: i64 = 45_000;
/// How long media may take to connect after the call is accepted.
pub const CONNECT_TIMEOUT_MS: i64 = 20_000;
/// How often a reconnecting caller tries another ICE restart.
pub const RESTART_EVERY_MS: i64 = 5_000;
/// How long a dropped call may try to reconnect (ICE restart) before it ends.
pub const RECONNECT_TIMEOUT_MS: i64 = 30_000;

/// Where a call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Ringing the peer.
    Outgoing,
    /// The peer is ringing this device.
    Incoming,
    /// Accepted; media connecting.
    Connecting,
    /// Media flowing.
    Connected,
    /// Media dropped; trying to reconnect.
    Reconnecting,
    /// Over.
    Ended(EndReason),
}

/// Something that happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A signal from the peer (its envelope already verified).
    Received(Signal),
    /// The local person accepts an incoming call, with this device's key share.
    Accept {
        /// This device's ephemeral X25519 public key.
        key_share: [u8; 32],
    },
    /// The local person declines an incoming call.
    Decline,
    /// The local person hangs up.
    HangUp,
    /// The media layer made an offer (after [`Action::CreateOffer`]).
    OfferReady(String),
    /// The media layer made an answer (after [`Action::ApplyOffer`]).
    AnswerReady(String),
    /// The media layer found a local ICE candidate.
    LocalCandidate {
        /// The candidate line.
        candidate: String,
        /// Its media section.
        mid: Option<String>,
    },
    /// Media is flowing (ICE and DTLS connected, fingerprint checked).
    MediaConnected,
    /// Media dropped (ICE disconnected or failed).
    MediaDisconnected,
    /// The peer's DTLS fingerprint does not match its signed SDP.
    FingerprintMismatch,
    /// Time passed.
    Tick,
}

/// What to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send this signal to the peer (sealed to its device).
    Send(Signal),
    /// Derive the call's SFrame keys from the peer's key share, in this role.
    DeriveKeys {
        /// This device's role.
        role: CallRole,
        /// The peer's ephemeral X25519 public key.
        peer_key_share: [u8; 32],
    },
    /// Create an SDP offer (caller), restarting ICE when asked.
    CreateOffer {
        /// Whether this is an ICE restart.
        ice_restart: bool,
    },
    /// Apply the peer's offer and create an answer (callee).
    ApplyOffer(String),
    /// Apply the peer's answer (caller).
    ApplyAnswer(String),
    /// Add the peer's ICE candidate.
    AddCandidate {
        /// The candidate line.
        candidate: String,
        /// Its media section.
        mid: Option<String>,
    },
    /// The state changed (for the screen).
    Changed(State),
    /// Tear the media down; the call is over.
    Ended(EndReason),
}

/// One call (see the module docs).
#[derive(Debug, Clone)]
pub struct Call {
    id: CallId,
    kind: CallKind,
    role: CallRole,
    state: State,
    /// When the current state began (UTC ms).
    since: i64,
    /// The peer's key share when it rang (callee).
    ring_key_share: Option<[u8; 32]>,
    /// Whether the remote description is set (candidates before it wait).
    remote_description: bool,
    /// When the caller last restarted ICE.
    last_restart: i64,
    early_candidates: Vec<(String, Option<String>)>,
}

fn hangup(call: CallId, reason: EndReason) -> Action {
    Action::Send(Signal::Hangup(Hangup { call, reason }))
}

impl Call {
    /// Places a call: rings the peer with this device's key share.
    pub fn outgoing(
        id: CallId,
        kind: CallKind,
        key_share: [u8; 32],
        now: i64,
    ) -> (Self, Vec<Action>) {
        let call = Self {
            id,
            kind,
            role: CallRole::Caller,
            state: State::Outgoing,
            since: now,
            ring_key_share: None,
            remote_description: false,
            last_restart: now,
            early_candidates: Vec::new(),
        };
        let actions = vec![
            Action::Send(Signal::Ring(Ring {
                call: id,
                kind,
                key_share,
            })),
            Action::Changed(State::Outgoing),
        ];
        (call, actions)
    }

    /// A call that rang this device.
    pub fn incoming(ring: &Ring, now: i64) -> (Self, Vec<Action>) {
        let call = Self {
            id: ring.call,
            kind: ring.kind,
            role: CallRole::Callee,
            state: State::Incoming,
            since: now,
            ring_key_share: Some(ring.key_share),
            remote_description: false,
            last_restart: now,
            early_candidates: Vec::new(),
        };
        (call, vec![Action::Changed(State::Incoming)])
    }

    /// The call's id.
    pub fn id(&self) -> CallId {
        self.id
    }

    /// Video or audio.
    pub fn kind(&self) -> CallKind {
        self.kind
    }

    /// This device's role.
    pub fn role(&self) -> CallRole {
        self.role
    }

    /// Where it is.
    pub fn state(&self) -> State {
        self.state
    }

    fn go(&mut self, state: State, now: i64, actions: &mut Vec<Action>) {
        if self.state != state {
            self.state = state;
            self.since = now;
            actions.push(Action::Changed(state));
            if let State::Ended(reason) = state {
                actions.push(Action::Ended(reason));
            }
        }
    }

    /// Both devices rang each other at once (glare): the call with the smaller id goes on, on
    /// both sides. Returns the actions when this outgoing call gives way to `theirs` (it
    /// becomes the callee of theirs and accepts it: both wanted to talk), or `None` when
    /// theirs gives way to this one (ignore their ring).
    pub fn glare(&mut self, theirs: &Ring, key_share: [u8; 32], now: i64) -> Option<Vec<Action>> {
        if self.state != State::Outgoing || theirs.call >= self.id {
            return None;
        }
        let (mut call, mut actions) = Self::incoming(theirs, now);
        actions.extend(call.handle(Event::Accept { key_share }, now));
        *self = call;
        Some(actions)
    }

    /// Takes one event.
    pub fn handle(&mut self, event: Event, now: i64) -> Vec<Action> {
        let mut actions = Vec::new();
        if matches!(self.state, State::Ended(_)) {
            return actions;
        }
        // Signals about another call are not this call's business.
        if let Event::Received(signal) = &event
            && signal.call().is_some_and(|c| c != self.id)
        {
            return actions;
        }
        match (self.state, event) {
            (_, Event::Received(Signal::Hangup(h))) => {
                self.go(State::Ended(h.reason), now, &mut actions);
            }
            (_, Event::HangUp) => {
                actions.push(hangup(self.id, EndReason::HungUp));
                self.go(State::Ended(EndReason::HungUp), now, &mut actions);
            }
            (_, Event::FingerprintMismatch) => {
                actions.push(hangup(self.id, EndReason::Security));
                self.go(State::Ended(EndReason::Security), now, &mut actions);
            }
            (State::Outgoing, Event::Received(Signal::Accept(a))) => {
                actions.push(Action::DeriveKeys {
                    role: CallRole::Caller,
                    peer_key_share: a.key_share,
                });
                actions.push(Action::CreateOffer { ice_restart: false });
                self.go(State::Connecting, now, &mut actions);
            }
            (State::Incoming, Event::Accept { key_share }) => {
                actions.push(Action::Send(Signal::Accept(Accept {
                    call: self.id,
                    key_share,
                })));
                if let Some(peer) = self.ring_key_share {
                    actions.push(Action::DeriveKeys {
                        role: CallRole::Callee,
                        peer_key_share: peer,
                    });
                }
                self.go(State::Connecting, now, &mut actions);
            }
            (State::Incoming, Event::Decline) => {
                actions.push(hangup(self.id, EndReason::Declined));
                self.go(State::Ended(EndReason::Declined), now, &mut actions);
            }
            (
                State::Connecting | State::Connected | State::Reconnecting,
                Event::OfferReady(sdp),
            ) if self.role == CallRole::Caller => {
                actions.push(Action::Send(Signal::Offer(Sdp { call: self.id, sdp })));
            }
            (
                State::Connecting | State::Connected | State::Reconnecting,
                Event::Received(Signal::Offer(o)),
            ) if self.role == CallRole::Callee => {
                actions.push(Action::ApplyOffer(o.sdp));
                self.remote_description_set(&mut actions);
            }
            (_, Event::AnswerReady(sdp)) if self.role == CallRole::Callee => {
                actions.push(Action::Send(Signal::Answer(Sdp { call: self.id, sdp })));
            }
            (
                State::Connecting | State::Connected | State::Reconnecting,
                Event::Received(Signal::Answer(a)),
            ) if self.role == CallRole::Caller => {
                actions.push(Action::ApplyAnswer(a.sdp));
                self.remote_description_set(&mut actions);
            }
            (_, Event::LocalCandidate { candidate, mid }) => {
                actions.push(Action::Send(Signal::Candidate(Candidate {
                    call: self.id,
                    candidate,
                    mid,
                })));
            }
            (_, Event::Received(Signal::Candidate(c))) => {
                if self.remote_description {
                    actions.push(Action::AddCandidate {
                        candidate: c.candidate,
                        mid: c.mid,
                    });
                } else {
                    self.early_candidates.push((c.candidate, c.mid));
                }
            }
            (State::Connecting | State::Reconnecting, Event::MediaConnected) => {
                self.go(State::Connected, now, &mut actions);
            }
            (State::Connected, Event::MediaDisconnected) => {
                self.go(State::Reconnecting, now, &mut actions);
                if self.role == CallRole::Caller {
                    // The caller restarts ICE; the callee answers the new offer.
                    self.restart_ice(now, &mut actions);
                }
            }
            (_, Event::Tick) => self.tick(now, &mut actions),
            // Anything else in this state (a duplicate, a late message) changes nothing.
            _ => {}
        }
        actions
    }

    fn remote_description_set(&mut self, actions: &mut Vec<Action>) {
        self.remote_description = true;
        for (candidate, mid) in self.early_candidates.drain(..) {
            actions.push(Action::AddCandidate { candidate, mid });
        }
    }

    fn restart_ice(&mut self, now: i64, actions: &mut Vec<Action>) {
        self.remote_description = false;
        self.last_restart = now;
        actions.push(Action::CreateOffer { ice_restart: true });
    }

    fn tick(&mut self, now: i64, actions: &mut Vec<Action>) {
        // A restart made while the link was still down finds no path and is not retried by
        // ICE itself: try again every few seconds once the last one was answered.
        if self.state == State::Reconnecting
            && self.role == CallRole::Caller
            && self.remote_description
            && now - self.last_restart >= RESTART_EVERY_MS
            && now - self.since < RECONNECT_TIMEOUT_MS
        {
            self.restart_ice(now, actions);
        }
        let waited = now - self.since;
        let (limit, reason, tell) = match self.state {
            State::Outgoing => (RING_TIMEOUT_MS, EndReason::NoAnswer, true),
            // The caller times out and says so; the callee just stops ringing.
            State::Incoming => (RING_TIMEOUT_MS, EndReason::NoAnswer, false),
            State::Connecting => (CONNECT_TIMEOUT_MS, EndReason::ConnectionFailed, true),
            State::Reconnecting => (RECONNECT_TIMEOUT_MS, EndReason::ConnectionFailed, true),
            State::Connected | State::Ended(_) => return,
        };
        if waited >= limit {
            if tell {
                actions.push(hangup(self.id, reason));
            }
            self.go(State::Ended(reason), now, actions);
        }
    }
}
