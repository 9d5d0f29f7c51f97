//! The media pipeline: source → encoder → SFrame → RTP on one side, RTP → reassembly → SFrame
//! → decoder → sink on the other, plus the data channel carrying chat, files and control.
//!
//! Every frame is SFrame-protected before packetization, with the frame's kind and keyframe
//! flag as authenticated metadata, so a frame moved from the video to the audio stream, or a
//! delta frame relabelled as a keyframe, fails like any tampered frame: counted as rejected,
//! never decoded.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::BytesMut;
use outpost_crypto::{SframeReceiver, SframeSender};
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use tokio::sync::{Notify, mpsc, watch};
use webrtc::data_channel::{DataChannel, DataChannelEvent};
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};

use super::peer::{AUDIO_CLOCK, Outbound, VIDEO_CLOCK};
use crate::adapt::Plan;
use crate::codec::{
    AudioDecoder, AudioEncoder, CodecError, VideoDecoder, VideoEncoder, VideoSettings,
};
use crate::control::{Control, MediaState};
use crate::packet::{Reassembler, RtpIn, packetize};
use crate::share::{Share, ShareEvent};
use crate::source::{AudioSource, VideoSource};
use crate::stats::Counters;
use crate::synthetic::{I420, Stamp, read_stamp};

/// Which stream a frame belongs to (bound into its SFrame metadata).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    /// The video stream.
    Video,
    /// The audio stream.
    Audio,
}

fn metadata(kind: MediaKind, keyframe: bool) -> [u8; 2] {
    let k = match kind {
        MediaKind::Video => b'v',
        MediaKind::Audio => b'a',
    };
    [k, u8::from(keyframe)]
}

fn utc_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A decoded remote picture.
#[derive(Debug, Clone)]
pub struct RemoteFrame {
    /// The picture.
    pub picture: Arc<I420>,
    /// The synthetic stamp it carries, when it came from a test pattern.
    pub stamp: Option<Stamp>,
    /// When it was decoded (UTC ms).
    pub decoded_ms: u64,
}

/// What the pipeline tells the session.
#[derive(Debug)]
pub enum PipelineEvent {
    /// A chat, file or transfer event.
    Share(ShareEvent),
    /// The peer's media changed (level, mute, camera).
    PeerMedia(MediaState),
    /// The data channel is open (chat and files can go).
    ChannelOpen,
    /// The peer broke the data channel protocol.
    ChannelError,
}

/// State both directions share.
pub struct Shared {
    /// Video counters.
    pub video: Counters,
    /// Audio counters.
    pub audio: Counters,
    sframe_tx: Mutex<SframeSender>,
    sframe_rx: Mutex<SframeReceiver>,
    keyframe_wanted: AtomicBool,
    /// The latest round trip (ms; 0 until known): how long video waits for repairs.
    rtt_ms: AtomicU64,
    /// Microphone muted.
    pub muted: AtomicBool,
    /// When the first remote video frame decoded (ms since `started`).
    first_frame_ms: AtomicU64,
    started: Instant,
    /// Width and height of the last decoded picture.
    pub remote_size: Mutex<Option<(usize, usize)>>,
    channel: Mutex<ChannelQueue>,
    channel_wake: Notify,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").finish_non_exhaustive()
    }
}

/// Outgoing data channel traffic: control first, then chat and files.
#[derive(Default)]
struct ChannelQueue {
    controls: VecDeque<Control>,
    share: Share,
}

const NOT_YET: u64 = u64::MAX;

impl Shared {
    /// State for a call whose keys are `sframe`; `started` is when it was accepted.
    pub fn new(sframe: (SframeSender, SframeReceiver), started: Instant) -> Arc<Self> {
        Arc::new(Self {
            video: Counters::default(),
            audio: Counters::default(),
            sframe_tx: Mutex::new(sframe.0),
            sframe_rx: Mutex::new(sframe.1),
            keyframe_wanted: AtomicBool::new(false),
            rtt_ms: AtomicU64::new(0),
            muted: AtomicBool::new(false),
            first_frame_ms: AtomicU64::new(NOT_YET),
            started,
            remote_size: Mutex::new(None),
            channel: Mutex::new(ChannelQueue::default()),
            channel_wake: Notify::new(),
        })
    }

    /// Tells the receivers the link's round trip.
    pub fn set_rtt_ms(&self, rtt_ms: f64) {
        // Saturating float-to-int conversion; a round trip is far below u64::MAX ms.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        self.rtt_ms.store(rtt_ms.max(0.0) as u64, Ordering::Relaxed);
    }

    /// From acceptance to the first decoded remote video frame.
    pub fn time_to_first_frame_ms(&self) -> Option<u64> {
        Some(self.first_frame_ms.load(Ordering::Relaxed)).filter(|v| *v != NOT_YET)
    }

    /// Queues a control message for the peer.
    pub fn control(&self, control: Control) {
        if let Ok(mut q) = self.channel.lock() {
            q.controls.push_back(control);
        }
        self.channel_wake.notify_one();
    }

    /// Works on the outgoing chat and files (then wakes the channel writer).
    pub fn with_share<T>(&self, f: impl FnOnce(&mut Share) -> T) -> Option<T> {
        let out = self.channel.lock().ok().map(|mut q| f(&mut q.share));
        self.channel_wake.notify_one();
        out
    }

    fn counters(&self, kind: MediaKind) -> &Counters {
        match kind {
            MediaKind::Video => &self.video,
            MediaKind::Audio => &self.audio,
        }
    }

    fn first_frame(&self) {
        let elapsed = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
        let _ = self.first_frame_ms.compare_exchange(
            NOT_YET,
            elapsed,
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
    }

    /// SFrame-protects one encoded frame of `kind`.
    pub fn protect(&self, kind: MediaKind, keyframe: bool, frame: &[u8]) -> Option<Vec<u8>> {
        self.sframe_tx
            .lock()
            .ok()?
            .protect(&metadata(kind, keyframe), frame)
            .ok()
    }

    fn unprotect(&self, kind: MediaKind, keyframe: bool, frame: &[u8]) -> Option<Vec<u8>> {
        self.sframe_rx
            .lock()
            .ok()?
            .unprotect(&metadata(kind, keyframe), frame)
            .ok()
    }
}

/// Sends video at the plan's size and rate until the plan sender goes away.
///
/// `plan` says what to send (`None` video: paused); the source gives pictures at the plan's
/// size (the test pattern keeps counting frames across size changes so the far side can check
/// order end to end; a camera is scaled).
pub async fn send_video(
    mut out: Outbound,
    shared: Arc<Shared>,
    mut plan: watch::Receiver<Plan>,
    mut source: Box<dyn VideoSource>,
) {
    let mut encoder: Option<VideoEncoder> = None;
    let mut size = (0, 0);
    loop {
        let current = *plan.borrow_and_update();
        let Some(video) = current.video else {
            encoder = None;
            if plan.changed().await.is_err() {
                return;
            }
            continue;
        };
        if size != (video.width, video.height) {
            size = (video.width, video.height);
            encoder = None;
        }
        let settings = VideoSettings {
            bitrate_bps: video.bitrate_bps,
            fps: u32::try_from(1000 / video.frame_ms.max(1)).unwrap_or(15),
        };
        let enc = match &mut encoder {
            Some(e) => {
                if e.set_bitrate(settings.bitrate_bps).is_err() {
                    return;
                }
                e
            }
            None => match VideoEncoder::new(settings) {
                Ok(e) => encoder.insert(e),
                Err(_) => return,
            },
        };
        if shared.keyframe_wanted.swap(false, Ordering::Relaxed) {
            enc.request_keyframe();
        }
        let picture = source.next_picture(video.width, video.height, utc_ms());
        let encoded = match picture.map(|p| enc.encode(&p)) {
            Some(Ok(e)) => Some(e),
            Some(Err(_)) => return,
            // No new picture yet (a camera slower than the plan): try again next tick.
            None => None,
        };
        if let Some(encoded) = encoded
            && !encoded.data.is_empty()
            && let Some(protected) =
                shared.protect(MediaKind::Video, encoded.keyframe, &encoded.data)
        {
            let elapsed = shared.started.elapsed();
            // RTP timestamps wrap at 2^32 by design.
            let ticks = elapsed.as_micros() * u128::from(VIDEO_CLOCK) / 1_000_000;
            let ts = u32::try_from(ticks & 0xffff_ffff).unwrap_or(0);
            Counters::bump(&shared.video.frames_sent);
            shared
                .video
                .bytes_sent
                .fetch_add(protected.len() as u64, Ordering::Relaxed);
            shared
                .video
                .plain_bytes_sent
                .fetch_add(encoded.data.len() as u64, Ordering::Relaxed);
            // A send that fails (the link is down, ICE restarting) loses the frame; the
            // receiver asks for a keyframe when it comes back.
            let _ = out
                .send_frame(packetize(&protected, encoded.keyframe), ts)
                .await;
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(video.frame_ms)) => {}
            changed = plan.changed() => if changed.is_err() { return },
        }
    }
}

/// Sends audio in 20 ms frames until the plan sender goes away.
pub async fn send_audio(
    mut out: Outbound,
    shared: Arc<Shared>,
    plan: watch::Receiver<Plan>,
    mut source: Box<dyn AudioSource>,
) {
    let Ok(mut encoder) = AudioEncoder::new(plan.borrow().audio_bps) else {
        return;
    };
    let mut bitrate = plan.borrow().audio_bps;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut ts: u32 = 0;
    loop {
        tick.tick().await;
        if plan.has_changed().is_err() {
            return;
        }
        let want = plan.borrow().audio_bps;
        if want != bitrate && encoder.set_bitrate(want).is_ok() {
            bitrate = want;
        }
        let pcm = source.next_samples();
        ts = ts.wrapping_add(AUDIO_CLOCK / 50);
        if shared.muted.load(Ordering::Relaxed) {
            continue; // muted: nothing leaves the device
        }
        let Ok(packet) = encoder.encode(&pcm) else {
            return;
        };
        let Some(protected) = shared.protect(MediaKind::Audio, false, &packet) else {
            continue;
        };
        Counters::bump(&shared.audio.frames_sent);
        shared
            .audio
            .bytes_sent
            .fetch_add(protected.len() as u64, Ordering::Relaxed);
        shared
            .audio
            .plain_bytes_sent
            .fetch_add(packet.len() as u64, Ordering::Relaxed);
        let _ = out.send_frame(packetize(&protected, false), ts).await;
    }
}

/// The receiving half of one stream, without IO: RTP payloads in, decoded pictures out, with
/// every frame through SFrame first. Counters and keyframe requests go to [`Shared`].
pub struct FrameReceiver {
    kind: MediaKind,
    reassembler: Reassembler,
    video: Option<VideoDecoder>,
    audio: Option<AudioDecoder>,
    need_keyframe: bool,
    last_request_ms: Option<u64>,
}

impl std::fmt::Debug for FrameReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameReceiver")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// The shortest time video waits for a missing packet (a LAN's NACK round trip and then some).
const VIDEO_HOLD_MS: u64 = 150;

impl FrameReceiver {
    /// A receiver for one kind of media.
    pub fn new(kind: MediaKind) -> Result<Self, CodecError> {
        let video = kind == MediaKind::Video;
        Ok(Self {
            kind,
            // Video waits about a round trip for NACK repairs; audio cannot wait (its FEC
            // covers one lost packet).
            reassembler: Reassembler::new(if video { VIDEO_HOLD_MS } else { 40 }),
            video: if video {
                Some(VideoDecoder::new()?)
            } else {
                None
            },
            audio: if video {
                None
            } else {
                Some(AudioDecoder::new()?)
            },
            need_keyframe: true,
            last_request_ms: None,
        })
    }

    /// Takes one RTP packet at `now_ms` (any monotonic ms).
    pub fn push(&mut self, shared: &Shared, packet: RtpIn<'_>, now_ms: u64) -> Vec<RemoteFrame> {
        let frames = self.reassembler.push(packet, now_ms);
        self.handle(shared, frames, now_ms)
    }

    /// Lets held frames go on a timer.
    pub fn poll(&mut self, shared: &Shared, now_ms: u64) -> Vec<RemoteFrame> {
        let frames = self.reassembler.poll(now_ms);
        self.handle(shared, frames, now_ms)
    }

    fn handle(
        &mut self,
        shared: &Shared,
        frames: Vec<crate::packet::Reassembled>,
        now_ms: u64,
    ) -> Vec<RemoteFrame> {
        let counters = shared.counters(self.kind);
        let rtt = shared.rtt_ms.load(Ordering::Relaxed);
        if self.video.is_some() {
            // A lost packet's NACK repair arrives a round trip later, and a lost repair is
            // asked for again: wait two round trips before giving up on a frame, or every loss
            // on a long link costs a keyframe, and keyframe requests on a lossy link feed on
            // themselves. (A frame waits only while it is incomplete.)
            // A keyframe waits for a second round of repairs (and for the pacer to send its
            // burst): losing it freezes the picture until the next one.
            self.reassembler.set_hold_ms(
                (rtt * 2 + 100).clamp(VIDEO_HOLD_MS, 1000),
                (rtt * 3 + 200).clamp(VIDEO_HOLD_MS, 2000),
            );
        }
        let request_every = (rtt * 2).max(500);
        let mut out = Vec::new();
        for frame in frames {
            Counters::bump(&counters.frames_received);
            let Some(plain) = shared.unprotect(self.kind, frame.keyframe, &frame.frame) else {
                Counters::bump(&counters.frames_rejected);
                continue;
            };
            if let Some(decoder) = &mut self.audio {
                if frame.lost_before == 1 {
                    let _ = decoder.recover(Some(&plain));
                }
                if decoder.decode(&plain).is_ok() {
                    Counters::bump(&counters.frames_decoded);
                }
                continue;
            }
            let Some(decoder) = &mut self.video else {
                continue;
            };
            if frame.lost_before > 0 {
                self.need_keyframe = true;
            }
            if self.need_keyframe && !frame.keyframe {
                Counters::bump(&counters.frames_lost);
                // Ask again at most twice a second: the keyframe may itself be in flight.
                if self
                    .last_request_ms
                    .is_none_or(|t| now_ms.saturating_sub(t) > request_every)
                {
                    shared.control(Control::KeyframeRequest);
                    self.last_request_ms = Some(now_ms);
                }
                continue;
            }
            match decoder.decode(&plain) {
                Ok(Some(picture)) => {
                    self.need_keyframe = false;
                    Counters::bump(&counters.frames_decoded);
                    shared.first_frame();
                    if let Ok(mut size) = shared.remote_size.lock() {
                        *size = Some((picture.width, picture.height));
                    }
                    let stamp = read_stamp(&picture);
                    out.push(RemoteFrame {
                        picture: Arc::new(picture),
                        stamp,
                        decoded_ms: utc_ms(),
                    });
                }
                Ok(None) => {}
                Err(_) => {
                    self.need_keyframe = true;
                    Counters::bump(&counters.frames_lost);
                }
            }
        }
        out
    }
}

/// Receives one remote track until it ends, handing video pictures to `sink` (dropping them
/// when the sink is behind: a late picture is worth nothing).
pub async fn receive(
    track: Arc<dyn TrackRemote>,
    shared: Arc<Shared>,
    sink: mpsc::Sender<RemoteFrame>,
) {
    let kind = if track.kind().await == RtpCodecKind::Video {
        MediaKind::Video
    } else {
        MediaKind::Audio
    };
    let Ok(mut receiver) = FrameReceiver::new(kind) else {
        return;
    };
    let started = Instant::now();
    let mut poll = tokio::time::interval(Duration::from_millis(20));
    loop {
        let now_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let frames = tokio::select! {
            event = track.poll() => match event {
                Some(TrackRemoteEvent::OnRtpPacket(packet)) => receiver.push(
                    &shared,
                    RtpIn {
                        seq: packet.header.sequence_number,
                        timestamp: packet.header.timestamp,
                        payload: &packet.payload,
                    },
                    now_ms,
                ),
                Some(TrackRemoteEvent::OnEnded) | None => return,
                Some(_) => continue,
            },
            _ = poll.tick() => receiver.poll(&shared, now_ms),
        };
        for frame in frames {
            let _ = sink.try_send(frame);
        }
    }
}

/// Runs the data channel: reads chat, files and control from the peer, and writes what is
/// queued (control first, then chat, then file chunks, as the channel's buffer allows).
pub async fn run_channel(
    channel: Arc<dyn DataChannel>,
    shared: Arc<Shared>,
    events: mpsc::UnboundedSender<PipelineEvent>,
) {
    // The writer starts once the channel is open: a send before that fails.
    let start_writer = || {
        let channel = channel.clone();
        let shared = shared.clone();
        let events = events.clone();
        tokio::spawn(async move {
            loop {
                let next = shared.channel.lock().ok().and_then(|mut q| {
                    q.controls
                        .pop_front()
                        .map(|c| (c.encode(), None))
                        .or_else(|| {
                            q.share
                                .next_chunk()
                                .map(|(m, progress)| (m.encode(), progress))
                        })
                });
                match next {
                    Some((bytes, progress)) => {
                        // `send` waits while the channel's buffer is full: the back-pressure
                        // that keeps a big file from queueing whole on a slow link.
                        if channel.send(BytesMut::from(&bytes[..])).await.is_err() {
                            return;
                        }
                        if let Some(p) = progress {
                            let _ = events.send(PipelineEvent::Share(p));
                        }
                    }
                    None => shared.channel_wake.notified().await,
                }
            }
        })
    };
    let mut writer = None;
    while let Some(event) = channel.poll().await {
        match event {
            DataChannelEvent::OnOpen => {
                if writer.is_none() {
                    writer = Some(start_writer());
                }
                let _ = events.send(PipelineEvent::ChannelOpen);
                shared.channel_wake.notify_one();
            }
            DataChannelEvent::OnMessage(message) => {
                let bytes = &message.data[..];
                if Control::is_control(bytes) {
                    match Control::decode(bytes) {
                        Ok(Control::KeyframeRequest) => {
                            shared.keyframe_wanted.store(true, Ordering::Relaxed);
                        }
                        Ok(Control::MediaState(state)) => {
                            let _ = events.send(PipelineEvent::PeerMedia(state));
                        }
                        Err(_) => {
                            let _ = events.send(PipelineEvent::ChannelError);
                        }
                    }
                    continue;
                }
                let result = shared
                    .channel
                    .lock()
                    .ok()
                    .map(|mut q| q.share.on_message(bytes));
                shared.channel_wake.notify_one();
                match result {
                    Some(Ok(list)) => {
                        for e in list {
                            let _ = events.send(PipelineEvent::Share(e));
                        }
                    }
                    _ => {
                        let _ = events.send(PipelineEvent::ChannelError);
                    }
                }
            }
            DataChannelEvent::OnClose => break,
            _ => {}
        }
    }
    if let Some(w) = writer {
        w.abort();
    }
}
