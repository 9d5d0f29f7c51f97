//! One call, run: the sans-IO [`Call`] machine driven by signals, the person's commands, the
//! WebRTC connection's events and a clock, with the media pipeline started and stopped as the
//! machine says.
//!
//! Signaling is the caller's business (through the relay in the app, in memory in tests): the
//! session hands outgoing [`Signal`]s to a [`SignalSender`] and takes incoming ones as
//! [`Inbound`], where a message that failed its envelope check arrives as
//! [`Inbound::Tampered`] and ends the call as a security failure.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use outpost_crypto::sframe::DEFAULT_SUITE;
use outpost_crypto::{CallKeyExchange, CallRole, CipherSuite, PublicIdentity, SafetyNumber};
use tokio::sync::{mpsc, watch};
use webrtc::peer_connection::RTCPeerConnectionState;

use crate::adapt::{Adapter, Change, Feedback, Level, Plan, Reason};
use crate::control::{Control, MediaState};
use crate::machine::{Action, Call, Event, State};
use crate::media::peer::{Peer, PeerEvent, PeerOptions};
use crate::media::pipeline::{self, PipelineEvent, RemoteFrame, Shared};
use crate::share::{FileId, ShareEvent};
use crate::signal::{CallId, CallKind, EndReason, Ring, Signal};
use crate::source::{AudioSource, MediaInput, VideoSource};
use crate::stats::{AudioOnlyPeriod, CallStats};
use crate::synthetic::{TestPattern, Tone};

/// Sends signals to the peer (sealed and signed by whoever implements it).
#[async_trait::async_trait]
pub trait SignalSender: Send + Sync + 'static {
    /// Sends one signal; an error means it did not leave (the session retries later steps,
    /// and the call's timeouts end it if signaling stays down).
    async fn send(&self, signal: Signal) -> Result<(), SignalError>;
}

/// A signal could not be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the call signal could not be sent: {0}")]
pub struct SignalError(pub String);

/// A signal from the peer, after its envelope was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    /// A verified signal.
    Signal(Signal),
    /// A signaling message for this call failed its signature or decryption: someone between
    /// the devices changed it.
    Tampered,
    /// The peer rang this device while this device was ringing it (glare): one of the two
    /// calls gives way (see [`Call::glare`]).
    Glare(Ring),
}

/// What the person does.
#[derive(Debug)]
pub enum Command {
    /// Accept the incoming call.
    Accept,
    /// Decline it.
    Decline,
    /// Hang up.
    HangUp,
    /// Mute or unmute the microphone.
    Mute(bool),
    /// Turn the camera off or on.
    CameraOff(bool),
    /// Choose audio only (or go back).
    AudioOnly(bool),
    /// Send a chat line.
    Chat(String),
    /// Share a file.
    ShareFile {
        /// Its name.
        name: String,
        /// Its media type.
        mime: String,
        /// Its bytes.
        bytes: Vec<u8>,
    },
    /// Report the call's numbers now.
    Stats(tokio::sync::oneshot::Sender<CallStats>),
}

/// What the session reports.
#[derive(Debug)]
pub enum CallEvent {
    /// The call's state changed.
    State(State),
    /// What this side sends changed, and why.
    Level(Change),
    /// What the peer sends changed.
    PeerMedia(MediaState),
    /// Chat and files.
    Share(ShareEvent),
    /// The data channel is open.
    ChannelOpen,
    /// The camera or microphone could not be used (the call goes on without it).
    Device(String),
    /// The call ended.
    Ended {
        /// Why.
        reason: EndReason,
        /// Its numbers.
        stats: Box<CallStats>,
    },
}

/// How calls are set up.
#[derive(Debug, Clone)]
pub struct CallConfig {
    /// The WebRTC connection's options.
    pub peer: PeerOptions,
    /// SFrame suite (short-tag suites are refused).
    pub suite: CipherSuite,
    /// The level a video call starts at.
    pub start_level: Level,
    /// Synthetic media, or the camera and microphone.
    pub media: MediaInput,
}

impl Default for CallConfig {
    fn default() -> Self {
        Self {
            peer: PeerOptions::default(),
            suite: DEFAULT_SUITE,
            start_level: Level::High,
            media: MediaInput::Synthetic,
        }
    }
}

/// Who is on the call.
#[derive(Debug, Clone, Copy)]
pub struct Parties {
    /// This device.
    pub me: PublicIdentity,
    /// The peer device.
    pub peer: PublicIdentity,
}

impl Parties {
    /// The number both people read aloud to check nobody is in between.
    pub fn safety_number(&self) -> String {
        SafetyNumber::new(&self.me, &self.peer).digits()
    }
}

/// The app's handle on a running call.
#[derive(Debug)]
pub struct CallHandle {
    /// The call.
    pub id: CallId,
    /// Video or audio.
    pub kind: CallKind,
    /// Commands to the call.
    pub commands: mpsc::UnboundedSender<Command>,
    /// Its events, ending with [`CallEvent::Ended`].
    pub events: mpsc::UnboundedReceiver<CallEvent>,
    /// Decoded remote pictures (the newest few; older ones are dropped when nobody reads).
    pub video: mpsc::Receiver<RemoteFrame>,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A fresh random call id.
pub fn random_call_id() -> CallId {
    use rand_core::RngCore as _;
    let mut id = [0u8; 16];
    rand_core::OsRng.fill_bytes(&mut id);
    id
}

/// Places a call to `parties.peer`.
pub fn place(
    config: CallConfig,
    parties: Parties,
    kind: CallKind,
    signaling: Arc<dyn SignalSender>,
    inbound: mpsc::UnboundedReceiver<Inbound>,
) -> CallHandle {
    place_with_id(config, parties, kind, random_call_id(), signaling, inbound)
}

/// Places a call with a chosen id (a visit's call: the physician picked it when admitting).
pub fn place_with_id(
    config: CallConfig,
    parties: Parties,
    kind: CallKind,
    id: CallId,
    signaling: Arc<dyn SignalSender>,
    inbound: mpsc::UnboundedReceiver<Inbound>,
) -> CallHandle {
    let exchange = CallKeyExchange::new(CallRole::Caller, id, &mut rand_core::OsRng);
    let (call, actions) = Call::outgoing(id, kind, exchange.public_key(), now_ms());
    start(config, parties, call, actions, exchange, signaling, inbound)
}

/// Takes an incoming call (it rings until [`Command::Accept`] or [`Command::Decline`]).
pub fn answer(
    config: CallConfig,
    parties: Parties,
    ring: &Ring,
    signaling: Arc<dyn SignalSender>,
    inbound: mpsc::UnboundedReceiver<Inbound>,
) -> CallHandle {
    let exchange = CallKeyExchange::new(CallRole::Callee, ring.call, &mut rand_core::OsRng);
    let (call, actions) = Call::incoming(ring, now_ms());
    start(config, parties, call, actions, exchange, signaling, inbound)
}

fn start(
    config: CallConfig,
    parties: Parties,
    call: Call,
    actions: Vec<Action>,
    exchange: CallKeyExchange,
    signaling: Arc<dyn SignalSender>,
    inbound: mpsc::UnboundedReceiver<Inbound>,
) -> CallHandle {
    let (commands, command_rx) = mpsc::unbounded_channel();
    let (event_tx, events) = mpsc::unbounded_channel();
    let (video_tx, video) = mpsc::channel(4);
    let (id, kind) = (call.id(), call.kind());
    // Signals leave in order on their own task, so a slow relay never stalls the media.
    let (signal_tx, mut signal_rx) = mpsc::unbounded_channel::<Signal>();
    tokio::spawn(async move {
        while let Some(signal) = signal_rx.recv().await {
            let _ = signaling.send(signal).await;
        }
    });
    let level = if kind == CallKind::Audio {
        Level::AudioOnly
    } else {
        config.start_level
    };
    let (plan_tx, _) = watch::channel(level.plan());
    let session = Session {
        config,
        parties,
        call,
        exchange: Some(exchange),
        signals: signal_tx,
        events: event_tx,
        video_sink: video_tx,
        peer: None,
        peer_events: None,
        shared: None,
        pipeline_tx: None,
        pipeline_rx: None,
        plan: plan_tx,
        adapter: Adapter::new(level),
        camera_off: false,
        accepted_at: None,
        ice_connected_at: None,
        connected_at: None,
        media_started: false,
        fingerprint_verified: false,
        audio_only: Vec::new(),
        last_sent_bytes: (0, Instant::now()),
        sent_bps: 0,
        loss: 0.0,
        pending: actions.into(),
    };
    tokio::spawn(session.run(command_rx, inbound));
    CallHandle {
        id,
        kind,
        commands,
        events,
        video,
    }
}

struct Session {
    config: CallConfig,
    parties: Parties,
    call: Call,
    exchange: Option<CallKeyExchange>,
    signals: mpsc::UnboundedSender<Signal>,
    events: mpsc::UnboundedSender<CallEvent>,
    video_sink: mpsc::Sender<RemoteFrame>,
    peer: Option<Peer>,
    peer_events: Option<mpsc::UnboundedReceiver<PeerEvent>>,
    shared: Option<Arc<Shared>>,
    pipeline_tx: Option<mpsc::UnboundedSender<PipelineEvent>>,
    pipeline_rx: Option<mpsc::UnboundedReceiver<PipelineEvent>>,
    plan: watch::Sender<Plan>,
    adapter: Adapter,
    camera_off: bool,
    accepted_at: Option<Instant>,
    ice_connected_at: Option<Instant>,
    connected_at: Option<Instant>,
    media_started: bool,
    fingerprint_verified: bool,
    audio_only: Vec<AudioOnlyPeriod>,
    last_sent_bytes: (u64, Instant),
    sent_bps: u32,
    /// Loss of what this side sends, as the other side reports it (0 to 1).
    loss: f32,
    pending: VecDeque<Action>,
}

/// How often the session ticks (timeouts, quality adaptation).
const TICK: Duration = Duration::from_millis(250);
/// How long DTLS may take once ICE connects (retransmissions on a lossy 300 ms link included).
const DTLS_GRACE: Duration = Duration::from_secs(6);

async fn recv_opt<T>(rx: &mut Option<mpsc::UnboundedReceiver<T>>) -> Option<T> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

impl Session {
    async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<Command>,
        mut inbound: mpsc::UnboundedReceiver<Inbound>,
    ) {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            if let Some(reason) = self.drain().await {
                self.finish(reason).await;
                return;
            }
            tokio::select! {
                command = commands.recv() => match command {
                    Some(c) => self.command(c).await,
                    // The app dropped its handle: hang up rather than leave the peer waiting.
                    None => self.feed(Event::HangUp),
                },
                signal = inbound.recv() => match signal {
                    Some(Inbound::Signal(s)) => self.feed(Event::Received(s)),
                    Some(Inbound::Tampered) => self.feed(Event::FingerprintMismatch),
                    Some(Inbound::Glare(ring)) => self.glare(&ring),
                    None => {}
                },
                event = recv_opt(&mut self.peer_events) => {
                    if let Some(e) = event {
                        self.peer_event(e).await;
                    }
                }
                event = recv_opt(&mut self.pipeline_rx) => {
                    if let Some(e) = event {
                        self.pipeline_event(e);
                    }
                }
                _ = tick.tick() => {
                    self.check_dtls().await;
                    self.feed(Event::Tick);
                    self.adapt().await;
                }
            }
        }
    }

    /// Both sides rang at once. When this call gives way it becomes the callee of theirs (with
    /// a fresh key exchange for that call id) and accepts it: both people wanted to talk. When
    /// theirs gives way, their device does the same with this call, and their ring is ignored.
    fn glare(&mut self, ring: &Ring) {
        let exchange = CallKeyExchange::new(CallRole::Callee, ring.call, &mut rand_core::OsRng);
        if let Some(actions) = self.call.glare(ring, exchange.public_key(), now_ms()) {
            self.exchange = Some(exchange);
            self.pending.extend(actions);
        }
    }

    fn feed(&mut self, event: Event) {
        let actions = self.call.handle(event, now_ms());
        self.pending.extend(actions);
    }

    fn emit(&self, event: CallEvent) {
        let _ = self.events.send(event);
    }

    /// Carries out queued actions; returns the end reason once the call is over.
    async fn drain(&mut self) -> Option<EndReason> {
        while let Some(action) = self.pending.pop_front() {
            match action {
                Action::Send(signal) => {
                    let _ = self.signals.send(signal);
                }
                Action::DeriveKeys {
                    role: _,
                    peer_key_share,
                } => {
                    if let Err(reason) = self.derive_keys(&peer_key_share).await {
                        self.hang_up_with(reason);
                    }
                }
                Action::CreateOffer { ice_restart } => {
                    let result = match &self.peer {
                        Some(p) => p.create_offer(ice_restart).await,
                        None => continue,
                    };
                    match result {
                        Ok(sdp) => self.feed(Event::OfferReady(sdp)),
                        Err(_) => self.hang_up_with(EndReason::ConnectionFailed),
                    }
                }
                Action::ApplyOffer(sdp) => {
                    let result = match &self.peer {
                        Some(p) => p.apply_offer(sdp).await,
                        None => continue,
                    };
                    match result {
                        Ok(answer) => self.feed(Event::AnswerReady(answer)),
                        Err(_) => self.hang_up_with(EndReason::ConnectionFailed),
                    }
                }
                Action::ApplyAnswer(sdp) => {
                    if let Some(p) = &self.peer
                        && p.apply_answer(sdp).await.is_err()
                    {
                        self.hang_up_with(EndReason::ConnectionFailed);
                    }
                }
                Action::AddCandidate { candidate, mid } => {
                    if let Some(p) = &self.peer {
                        // A bad candidate is one path fewer, not a failed call.
                        let _ = p.add_candidate(candidate, mid).await;
                    }
                }
                Action::Changed(state) => {
                    if state == State::Connected {
                        self.connected_at.get_or_insert_with(Instant::now);
                        self.start_media();
                    }
                    self.emit(CallEvent::State(state));
                }
                Action::Ended(reason) => return Some(reason),
            }
        }
        None
    }

    fn hang_up_with(&mut self, reason: EndReason) {
        if reason == EndReason::Security {
            self.feed(Event::FingerprintMismatch);
        } else {
            let _ = self.signals.send(Signal::Hangup(crate::signal::Hangup {
                call: self.call.id(),
                reason,
            }));
            self.feed(Event::HangUp);
        }
    }

    async fn derive_keys(&mut self, peer_key_share: &[u8; 32]) -> Result<(), EndReason> {
        let exchange = self.exchange.take().ok_or(EndReason::ConnectionFailed)?;
        let keys = exchange
            .finish(&self.parties.me, &self.parties.peer, peer_key_share)
            .map_err(|_| EndReason::Security)?;
        let sframe = keys
            .into_sframe(self.config.suite, 1)
            .map_err(|_| EndReason::Security)?;
        self.accepted_at = Some(Instant::now());
        self.shared = Some(Shared::new(sframe, Instant::now()));
        // Boxed: the WebRTC stack's setup future is large.
        let caller = self.call.role() == CallRole::Caller;
        let (peer, events) = Box::pin(Peer::new(&self.config.peer, caller))
            .await
            .map_err(|_| EndReason::ConnectionFailed)?;
        let (tx, rx) = mpsc::unbounded_channel();
        if let (Some(channel), Some(shared)) = (&peer.channel, &self.shared) {
            tokio::spawn(pipeline::run_channel(
                channel.clone(),
                shared.clone(),
                tx.clone(),
            ));
        }
        self.pipeline_tx = Some(tx);
        self.pipeline_rx = Some(rx);
        self.peer = Some(peer);
        self.peer_events = Some(events);
        Ok(())
    }

    fn start_media(&mut self) {
        if self.media_started {
            return;
        }
        let (Some(peer), Some(shared)) = (&mut self.peer, &self.shared) else {
            return;
        };
        // The tracks move into their tasks; the peer keeps the connection.
        let (Some(video), Some(audio)) = (peer.video.take(), peer.audio.take()) else {
            return;
        };
        self.media_started = true;
        let plan = self.plan.subscribe();
        let (w, h) = plan
            .borrow()
            .video
            .map_or((640, 360), |v| (v.width, v.height));
        let (pictures, sound) = self.open_sources(w, h);
        tokio::spawn(pipeline::send_video(
            video,
            shared.clone(),
            plan.clone(),
            pictures,
        ));
        tokio::spawn(pipeline::send_audio(audio, shared.clone(), plan, sound));
        self.announce(None);
    }

    /// The call's picture and sound sources. A device that cannot be opened is reported in
    /// words and replaced by nothing (no picture, silence), never by the test pattern.
    fn open_sources(&self, w: usize, h: usize) -> (Box<dyn VideoSource>, Box<dyn AudioSource>) {
        match self.config.media {
            MediaInput::Synthetic => (Box::new(TestPattern::new(w, h)), Box::new(Tone::default())),
            #[cfg(feature = "devices")]
            MediaInput::Devices => {
                // An audio call never turns the camera (or its light) on.
                let pictures: Box<dyn VideoSource> = if self.call.kind() == CallKind::Audio {
                    Box::new(crate::source::NoPictures)
                } else {
                    match crate::devices::Camera::open(0) {
                        Ok(c) => Box::new(c),
                        Err(e) => {
                            self.emit(CallEvent::Device(e.to_string()));
                            Box::new(crate::source::NoPictures)
                        }
                    }
                };
                let sound: Box<dyn AudioSource> = match crate::devices::Microphone::open() {
                    Ok(m) => Box::new(m),
                    Err(e) => {
                        self.emit(CallEvent::Device(e.to_string()));
                        Box::new(crate::source::Silence)
                    }
                };
                (pictures, sound)
            }
        }
    }

    /// Tells the peer what this side sends now.
    fn announce(&self, reason: Option<Reason>) {
        if let Some(shared) = &self.shared {
            shared.control(Control::MediaState(MediaState {
                level: self.adapter.level(),
                reason,
                muted: shared.muted.load(Ordering::Relaxed),
                camera_off: self.camera_off,
            }));
        }
    }

    fn publish_plan(&mut self) {
        let mut plan = self.adapter.level().plan();
        if self.camera_off || self.call.kind() == CallKind::Audio {
            plan.video = None;
        }
        self.plan.send_replace(plan);
    }

    async fn peer_event(&mut self, event: PeerEvent) {
        match event {
            PeerEvent::Candidate { candidate, mid } => {
                self.feed(Event::LocalCandidate { candidate, mid });
            }
            PeerEvent::IceConnected => {
                self.ice_connected_at.get_or_insert_with(Instant::now);
            }
            PeerEvent::State(state) => match state {
                RTCPeerConnectionState::Connected => {
                    self.ice_connected_at = None;
                    let verified = match &self.peer {
                        Some(p) => p.verify_fingerprint().await,
                        None => return,
                    };
                    match verified {
                        Err(_) => self.feed(Event::FingerprintMismatch),
                        Ok(ok) => {
                            self.fingerprint_verified |= ok;
                            self.feed(Event::MediaConnected);
                        }
                    }
                }
                RTCPeerConnectionState::Disconnected | RTCPeerConnectionState::Failed => {
                    self.ice_connected_at = None;
                    self.feed(Event::MediaDisconnected);
                }
                _ => {}
            },
            PeerEvent::Track(track) => {
                if let Some(shared) = &self.shared {
                    tokio::spawn(pipeline::receive(
                        track,
                        shared.clone(),
                        self.video_sink.clone(),
                    ));
                }
            }
            PeerEvent::DataChannel(channel) => {
                if let (Some(shared), Some(tx)) = (&self.shared, &self.pipeline_tx) {
                    tokio::spawn(pipeline::run_channel(channel, shared.clone(), tx.clone()));
                }
            }
        }
    }

    /// The WebRTC stack refuses a DTLS handshake whose certificate does not match the signed
    /// fingerprint, but only logs it: the connection just never gets past "connecting" while
    /// ICE is fine. A path that carries ICE checks but no DTLS handshake for this long is
    /// treated as what it almost surely is, someone in the middle, and the call fails closed.
    async fn check_dtls(&mut self) {
        let Some(since) = self.ice_connected_at else {
            return;
        };
        if since.elapsed() < DTLS_GRACE {
            return;
        }
        self.ice_connected_at = None;
        let connected = match &self.peer {
            Some(p) => p.dtls_connected().await,
            None => return,
        };
        if !connected {
            self.feed(Event::FingerprintMismatch);
        }
    }

    fn pipeline_event(&mut self, event: PipelineEvent) {
        match event {
            PipelineEvent::Share(e) => self.emit(CallEvent::Share(e)),
            PipelineEvent::PeerMedia(m) => self.emit(CallEvent::PeerMedia(m)),
            PipelineEvent::ChannelOpen => {
                self.announce(None);
                self.emit(CallEvent::ChannelOpen);
            }
            // A peer that breaks the channel protocol loses the channel's features, not the
            // call; the message itself is dropped.
            PipelineEvent::ChannelError => {}
        }
    }

    async fn command(&mut self, command: Command) {
        match command {
            Command::Accept => {
                let key_share = self
                    .exchange
                    .as_ref()
                    .map(CallKeyExchange::public_key)
                    .unwrap_or_default();
                self.feed(Event::Accept { key_share });
            }
            Command::Decline => self.feed(Event::Decline),
            Command::HangUp => self.feed(Event::HangUp),
            Command::Mute(on) => {
                if let Some(shared) = &self.shared {
                    shared.muted.store(on, Ordering::Relaxed);
                }
                self.announce(None);
            }
            Command::CameraOff(on) => {
                self.camera_off = on;
                self.publish_plan();
                self.announce(None);
            }
            Command::AudioOnly(on) => {
                if let Some(change) = self.adapter.set_manual_audio_only(on) {
                    self.level_changed(change);
                }
            }
            Command::Chat(text) => {
                if let Some(shared) = &self.shared {
                    let now = u64::try_from(now_ms()).unwrap_or(0);
                    let _ = shared.with_share(|s| s.chat(&text, now));
                }
            }
            Command::ShareFile { name, mime, bytes } => {
                if let Some(shared) = &self.shared {
                    let file: FileId = random_call_id();
                    let _ = shared.with_share(|s| s.offer(file, &name, &mime, bytes));
                }
            }
            Command::Stats(reply) => {
                let _ = reply.send(self.stats().await);
            }
        }
    }

    fn ms_since_connected(&self) -> u64 {
        self.connected_at.map_or(0, |t| {
            u64::try_from(t.elapsed().as_millis()).unwrap_or(u64::MAX)
        })
    }

    fn level_changed(&mut self, change: Change) {
        let at = self.ms_since_connected();
        if change.to == Level::AudioOnly {
            self.audio_only.push(AudioOnlyPeriod {
                start_ms: at,
                end_ms: None,
                reason: change.reason,
            });
        } else if change.from == Level::AudioOnly
            && let Some(p) = self.audio_only.last_mut()
        {
            p.end_ms.get_or_insert(at);
        }
        self.publish_plan();
        self.announce(Some(change.reason));
        self.emit(CallEvent::Level(change));
    }

    async fn adapt(&mut self) {
        if self.call.state() != State::Connected || self.call.kind() == CallKind::Audio {
            return;
        }
        let Some(shared) = &self.shared else {
            return;
        };
        let Some(peer) = &self.peer else {
            return;
        };
        let sent = shared.video.bytes_sent.load(Ordering::Relaxed)
            + shared.audio.bytes_sent.load(Ordering::Relaxed);
        let (before, at) = self.last_sent_bytes;
        let ms = u64::try_from(at.elapsed().as_millis()).unwrap_or(u64::MAX);
        if ms >= 1000 {
            if let Some(rtt) = peer.rtt_ms().await {
                shared.set_rtt_ms(rtt);
            }
            let bps = sent.saturating_sub(before).saturating_mul(8_000) / ms;
            self.sent_bps = u32::try_from(bps).unwrap_or(u32::MAX);
            self.last_sent_bytes = (sent, Instant::now());
        }
        let loss = match peer.reported_loss().await {
            Some(l) => l,
            None => peer.estimate.loss(),
        };
        self.loss = loss;
        let feedback = Feedback {
            estimate_bps: u32::try_from(peer.estimate.bps()).unwrap_or(u32::MAX),
            loss,
            sent_bps: self.sent_bps,
        };
        let now = self.ms_since_connected();
        if let Some(change) = self.adapter.on_feedback(now, feedback) {
            self.level_changed(change);
        }
    }

    async fn stats(&self) -> CallStats {
        let (video, audio, ttff, size) = match &self.shared {
            Some(s) => (
                s.video.snapshot(),
                s.audio.snapshot(),
                s.time_to_first_frame_ms(),
                s.remote_size.lock().ok().and_then(|g| *g),
            ),
            None => Default::default(),
        };
        let (rtt_ms, path, estimate, loss) = match &self.peer {
            Some(p) => (
                p.rtt_ms().await,
                p.path().await,
                Some(p.estimate.bps()),
                Some(f64::from(self.loss)),
            ),
            None => (None, None, None, None),
        };
        CallStats {
            connected: self.connected_at.is_some(),
            time_to_first_frame_ms: ttff,
            rtt_ms,
            path,
            video,
            audio,
            sframe_suite: self
                .shared
                .as_ref()
                .map(|_| format!("{:?}", self.config.suite)),
            fingerprint_verified: self.fingerprint_verified,
            audio_only_periods: self.audio_only.clone(),
            level: Some(self.adapter.level()),
            estimate_bps: estimate,
            loss,
            remote_resolution: size,
            codecs: vec!["H264".to_owned(), "opus".to_owned()],
        }
    }

    async fn finish(&mut self, reason: EndReason) {
        if let Some(p) = self.audio_only.last_mut() {
            p.end_ms.get_or_insert(
                self.connected_at
                    .map_or(0, |t| u64::try_from(t.elapsed().as_millis()).unwrap_or(0)),
            );
        }
        let stats = self.stats().await;
        if let Some(p) = &self.peer {
            p.close().await;
        }
        // Let queued signals (the hangup) leave before the session's task ends.
        tokio::time::sleep(Duration::from_millis(50)).await;
        self.emit(CallEvent::Ended {
            reason,
            stats: Box::new(stats),
        });
    }
}
