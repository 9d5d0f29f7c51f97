//! One WebRTC peer connection set up the way a visit needs it: an H.264 and an Opus track
//! carrying SFrame-protected frames as opaque RTP (see [`crate::packet`]), a data channel, NACK
//! and TWCC feedback with Google Congestion Control estimating the outgoing bandwidth, and the
//! crate's DTLS fingerprint verification left on.
//!
//! Callbacks from the WebRTC driver only forward into a channel: the driver awaits them inline,
//! and anything slow there would stall the connection.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rtc::ice::mdns::MulticastDnsMode;
use rtc::ice::network_type::NetworkType;
use rtc::interceptor::{
    BandwidthEstimator, EstimatorStats, Gcc, NackGeneratorBuilder, PacketReport, Slot,
};
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::RTCOfferOptions;
use rtc::peer_connection::configuration::media_engine::{MIME_TYPE_H264, MIME_TYPE_OPUS};
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters, RTCRtpEncodingParameters,
    RtpCodecKind,
};
use tokio::sync::mpsc;
use webrtc::data_channel::DataChannel;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{
    CongestionFeedback, MediaEngine, PeerConnection, PeerConnectionBuilder,
    PeerConnectionEventHandler, RTCConfigurationBuilder, RTCIceCandidateInit,
    RTCIceConnectionState, RTCIceServer, RTCIceTransportPolicy, RTCPeerConnectionIceEvent,
    RTCPeerConnectionState, RTCSessionDescription, RTCStatsReportEntry, Registry,
    SettingEngineBuilder, StatsSelector, configure_congestion_control,
    register_default_interceptors,
};

use super::MediaError;

/// RTP payload type for video (both ends register the same, so it is what is negotiated).
pub const VIDEO_PT: u8 = 102;
/// RTP payload type for audio.
pub const AUDIO_PT: u8 = 111;
/// RTP clock of video.
pub const VIDEO_CLOCK: u32 = 90_000;
/// RTP clock of audio.
pub const AUDIO_CLOCK: u32 = 48_000;
/// Label of the call's data channel.
const CHANNEL: &str = "outpost";
/// Most bytes the data channel queues before a file sender waits (chat still goes first).
pub const CHANNEL_BUFFER: usize = 256 * 1024;

/// A STUN or TURN server.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IceServer {
    /// `stun:host:port` or `turn:host:port?transport=udp`.
    pub urls: Vec<String>,
    /// TURN user name (coturn REST: `expiry:user`).
    pub username: String,
    /// TURN credential.
    pub credential: String,
}

impl std::fmt::Debug for IceServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the TURN password.
        f.debug_struct("IceServer")
            .field("urls", &self.urls)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl IceServer {
    /// Whether this is a TURN server (media can be relayed through it).
    pub fn is_turn(&self) -> bool {
        self.urls
            .iter()
            .any(|u| u.starts_with("turn:") || u.starts_with("turns:"))
    }
}

/// How a peer connection is set up.
#[derive(Debug, Clone)]
pub struct PeerOptions {
    /// STUN and TURN servers.
    pub ice_servers: Vec<IceServer>,
    /// Local UDP addresses to gather host candidates on: `0.0.0.0:0` for every interface,
    /// `127.0.0.1:0` for loopback tests.
    pub udp_addrs: Vec<String>,
    /// ICE check pacing; shorter connects faster on a LAN (the default is 200 ms).
    pub ice_check_interval: Option<Duration>,
    /// Starting point of the bandwidth estimate (bits per second).
    pub initial_bitrate_bps: u32,
    /// Send media only through a TURN server: the other side never learns this device's
    /// addresses (and a firewall that blocks direct UDP between the two does not matter).
    pub relay_only: bool,
}

impl Default for PeerOptions {
    fn default() -> Self {
        Self {
            ice_servers: Vec::new(),
            udp_addrs: vec!["0.0.0.0:0".to_owned()],
            ice_check_interval: Some(Duration::from_millis(50)),
            initial_bitrate_bps: 600_000,
            relay_only: false,
        }
    }
}

/// What the connection reports.
pub enum PeerEvent {
    /// A local ICE candidate to send to the peer.
    Candidate {
        /// The candidate line.
        candidate: String,
        /// Its media section.
        mid: Option<String>,
    },
    /// The connection's state changed.
    State(RTCPeerConnectionState),
    /// ICE found a working path (DTLS comes next).
    IceConnected,
    /// The peer's media track arrived (on its first packet).
    Track(Arc<dyn TrackRemote>),
    /// The peer opened the data channel.
    DataChannel(Arc<dyn DataChannel>),
}

impl std::fmt::Debug for PeerEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Candidate { .. } => f.write_str("Candidate"),
            Self::State(s) => write!(f, "State({s})"),
            Self::IceConnected => f.write_str("IceConnected"),
            Self::Track(_) => f.write_str("Track"),
            Self::DataChannel(_) => f.write_str("DataChannel"),
        }
    }
}

struct Handler {
    events: mpsc::UnboundedSender<PeerEvent>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        if let Ok(init) = event.candidate.to_json() {
            let _ = self.events.send(PeerEvent::Candidate {
                candidate: init.candidate,
                mid: init.sdp_mid,
            });
        }
    }

    async fn on_ice_connection_state_change(&self, state: RTCIceConnectionState) {
        if matches!(
            state,
            RTCIceConnectionState::Connected | RTCIceConnectionState::Completed
        ) {
            let _ = self.events.send(PeerEvent::IceConnected);
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let _ = self.events.send(PeerEvent::State(state));
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let _ = self.events.send(PeerEvent::Track(track));
    }

    async fn on_data_channel(&self, channel: Arc<dyn DataChannel>) {
        let _ = self.events.send(PeerEvent::DataChannel(channel));
    }
}

/// The congestion controller's latest view, shared with the sending side.
#[derive(Debug, Default)]
pub struct Estimate {
    /// Target bitrate, bits per second.
    bps: AtomicU64,
    /// Packet loss it saw, in thousandths.
    loss_milli: AtomicU32,
}

impl Estimate {
    /// Target bitrate (bits per second).
    pub fn bps(&self) -> u64 {
        self.bps.load(Ordering::Relaxed)
    }

    /// Packet loss (0 to 1).
    pub fn loss(&self) -> f32 {
        f32::from(u16::try_from(self.loss_milli.load(Ordering::Relaxed)).unwrap_or(1000)) / 1000.0
    }
}

/// GCC, publishing its estimate where the sender can read it (the interceptor chain owns the
/// estimator and offers no callback).
///
/// Only GCC's delay-based half is used. Its loss-based half counts a packet as lost whenever
/// the transport feedback that would have acknowledged it is lost, so on a link losing 5% it
/// sees 1-20% and throttles video the link could carry (measured at 300 ms RTT). Loss is
/// handled by the quality ladder instead, from the loss the receiver reports in RTCP
/// ([`Peer::reported_loss`]).
struct Published {
    inner: Gcc,
    out: Arc<Estimate>,
}

impl Published {
    fn delay_based(&self) -> f64 {
        self.inner
            .stats()
            .delay_based_bitrate
            .unwrap_or_else(|| self.inner.target_bitrate())
            .clamp(MIN_ESTIMATE_BPS, MAX_ESTIMATE_BPS)
    }

    fn publish(&self) {
        self.out
            .bps
            .store(whole(self.delay_based(), 1e10), Ordering::Relaxed);
        let loss = self.inner.stats().packet_loss.unwrap_or(0.0);
        self.out.loss_milli.store(
            u32::try_from(whole(loss * 1000.0, 1000.0)).unwrap_or(1000),
            Ordering::Relaxed,
        );
    }
}

impl BandwidthEstimator for Published {
    fn on_reports(&mut self, now: Instant, reports: &[PacketReport]) {
        self.inner.on_reports(now, reports);
        self.publish();
    }
    fn target_bitrate(&self) -> f64 {
        // This figure sets the pacer's rate, and the pacer holds exactly that rate: were it the
        // estimate itself, any moment the encoder overshoots (a keyframe, retransmissions)
        // would queue packets, audio behind video, and on a lossy long link the queue grows
        // for good. The quality ladder keeps what is sent under the estimate (it reads the
        // estimate as published); the pacer only smooths bursts, as libwebrtc's pacing factor
        // does.
        self.delay_based() * PACING_FACTOR
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.inner.handle_timeout(now);
        self.publish();
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.inner.poll_timeout()
    }
    fn stats(&self) -> EstimatorStats {
        self.inner.stats()
    }
}

/// The interceptor chain: TWCC with GCC publishing its estimate, the defaults (NACK, RTCP
/// reports, TWCC receiver), and a NACK generator that gives up on a packet.
fn interceptors(
    media: &mut MediaEngine,
    options: &PeerOptions,
    estimate: &Arc<Estimate>,
) -> Result<Registry, MediaError> {
    let gcc = Published {
        inner: Gcc::new(
            f64::from(options.initial_bitrate_bps),
            MIN_ESTIMATE_BPS,
            MAX_ESTIMATE_BPS,
        ),
        out: estimate.clone(),
    };
    gcc.publish();
    let setup = |_| MediaError::Transport("setting up the connection");
    let registry =
        configure_congestion_control(Registry::new(), gcc, CongestionFeedback::Twcc, media)
            .map_err(setup)?;
    let registry = register_default_interceptors(registry, media).map_err(setup)?;
    // The default NACK generator asks for every missing packet every 100 ms for as long as it
    // stays in its window. When video pauses (audio only) the window stops moving, and the same
    // lost video packets are asked for and resent ten times a second, crowding out the audio on
    // the very link that made video pause. A few tries per packet.
    Ok(registry.with(
        Slot::NackGenerator,
        NackGeneratorBuilder::new()
            .with_max_nacks_per_packet(MAX_NACKS_PER_PACKET)
            .build(),
    ))
}

/// The estimate's floor and ceiling (bits per second).
const MIN_ESTIMATE_BPS: f64 = 30_000.0;
const MAX_ESTIMATE_BPS: f64 = 2_500_000.0;

/// How often one lost packet is asked for again.
const MAX_NACKS_PER_PACKET: u16 = 3;

/// How much faster than the estimate the pacer may send (libwebrtc uses 2.5).
const PACING_FACTOR: f64 = 2.5;

/// `x` rounded to a whole number in `0..=max` (NaN is 0).
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // clamped just before
fn whole(x: f64, max: f64) -> u64 {
    if x.is_nan() {
        0
    } else {
        x.clamp(0.0, max).round() as u64
    }
}

fn video_codec() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_H264.to_owned(),
        clock_rate: VIDEO_CLOCK,
        channels: 0,
        sdp_fmtp_line: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"
            .to_owned(),
        rtcp_feedback: Vec::new(),
    }
}

fn audio_codec() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_OPUS.to_owned(),
        clock_rate: AUDIO_CLOCK,
        channels: 2,
        sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
        rtcp_feedback: Vec::new(),
    }
}

/// One outgoing track: the RTP track, its SSRC, and the next sequence number.
pub struct Outbound {
    track: Arc<TrackLocalStaticRTP>,
    ssrc: u32,
    payload_type: u8,
    seq: u16,
}

impl std::fmt::Debug for Outbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbound")
            .field("ssrc", &self.ssrc)
            .finish_non_exhaustive()
    }
}

impl Outbound {
    fn new(kind: RtpCodecKind, codec: RTCRtpCodec, payload_type: u8, ssrc: u32) -> Self {
        let name = if kind == RtpCodecKind::Video {
            "video"
        } else {
            "audio"
        };
        let track = MediaStreamTrack::new(
            "outpost".to_owned(),
            name.to_owned(),
            name.to_owned(),
            kind,
            vec![RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters {
                    ssrc: Some(ssrc),
                    ..Default::default()
                },
                codec,
                ..Default::default()
            }],
        );
        Self {
            track: Arc::new(TrackLocalStaticRTP::new(track)),
            ssrc,
            payload_type,
            seq: u16::try_from(ssrc & 0x7fff).unwrap_or(0),
        }
    }

    /// Sends one frame's payloads as RTP packets with `timestamp`, the marker on the last.
    pub async fn send_frame(
        &mut self,
        payloads: Vec<Vec<u8>>,
        timestamp: u32,
    ) -> Result<(), MediaError> {
        let last = payloads.len().saturating_sub(1);
        for (i, payload) in payloads.into_iter().enumerate() {
            let packet = rtc::rtp::Packet {
                header: rtc::rtp::header::Header {
                    version: 2,
                    marker: i == last,
                    payload_type: self.payload_type,
                    sequence_number: self.seq,
                    timestamp,
                    ssrc: self.ssrc,
                    ..Default::default()
                },
                payload: bytes::Bytes::from(payload),
            };
            self.seq = self.seq.wrapping_add(1);
            self.track
                .write_rtp(packet)
                .await
                .map_err(|_| MediaError::Transport("sending media"))?;
        }
        Ok(())
    }
}

/// A peer connection with its tracks.
pub struct Peer {
    pc: Arc<dyn PeerConnection>,
    /// Outgoing video (taken by its sending task once media flows).
    pub video: Option<Outbound>,
    /// Outgoing audio (likewise).
    pub audio: Option<Outbound>,
    /// The congestion controller's view.
    pub estimate: Arc<Estimate>,
    /// The data channel this side opened (the caller opens it; the callee receives it).
    pub channel: Option<Arc<dyn DataChannel>>,
}

impl std::fmt::Debug for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peer").finish_non_exhaustive()
    }
}

/// A random SSRC (0 is avoided: some stacks treat it as unset).
fn ssrc() -> u32 {
    use rand_core::RngCore as _;
    rand_core::OsRng.next_u32().max(1)
}

impl Peer {
    /// Builds the connection; events arrive on the returned receiver. `opens_channel`: the
    /// caller opens the data channel before its first offer.
    pub async fn new(
        options: &PeerOptions,
        opens_channel: bool,
    ) -> Result<(Self, mpsc::UnboundedReceiver<PeerEvent>), MediaError> {
        let setup = |_| MediaError::Transport("setting up the connection");
        let mut media = MediaEngine::default();
        media
            .register_codec(
                RTCRtpCodecParameters {
                    rtp_codec: video_codec(),
                    payload_type: VIDEO_PT,
                },
                RtpCodecKind::Video,
            )
            .map_err(setup)?;
        media
            .register_codec(
                RTCRtpCodecParameters {
                    rtp_codec: audio_codec(),
                    payload_type: AUDIO_PT,
                },
                RtpCodecKind::Audio,
            )
            .map_err(setup)?;
        let estimate = Arc::new(Estimate::default());
        let registry = interceptors(&mut media, options, &estimate)?;

        let mut settings = SettingEngineBuilder::new()
            .with_network_types(vec![NetworkType::Udp4])
            .with_multicast_dns_mode(MulticastDnsMode::Disabled)
            // After a network change the old sockets may be dead: gather afresh on restart.
            .with_discard_local_candidates_during_ice_restart(true);
        if let Some(every) = options.ice_check_interval {
            settings = settings.with_ice_connection_attempts(Some(every), None);
        }
        let config = RTCConfigurationBuilder::new()
            .with_ice_servers(
                options
                    .ice_servers
                    .iter()
                    .map(|s| RTCIceServer {
                        urls: s.urls.clone(),
                        username: s.username.clone(),
                        credential: s.credential.clone(),
                    })
                    .collect(),
            )
            .with_ice_transport_policy(if options.relay_only {
                RTCIceTransportPolicy::Relay
            } else {
                RTCIceTransportPolicy::All
            })
            .build();
        let (tx, rx) = mpsc::unbounded_channel();
        // Boxed: the builder's future is large.
        let pc = Box::pin(
            PeerConnectionBuilder::new()
                .with_configuration(config)
                .with_media_engine(media)
                .with_interceptor_registry(registry)
                .with_setting_engine(settings.build())
                .with_handler(Arc::new(Handler { events: tx }))
                .with_udp_addrs(options.udp_addrs.clone())
                .with_data_channel_send_buffer_limit(CHANNEL_BUFFER)
                .build(),
        )
        .await
        .map_err(setup)?;
        let pc: Arc<dyn PeerConnection> = Arc::new(pc);
        let video = Outbound::new(RtpCodecKind::Video, video_codec(), VIDEO_PT, ssrc());
        let audio = Outbound::new(RtpCodecKind::Audio, audio_codec(), AUDIO_PT, ssrc());
        pc.add_track(video.track.clone() as Arc<dyn TrackLocal>)
            .await
            .map_err(setup)?;
        pc.add_track(audio.track.clone() as Arc<dyn TrackLocal>)
            .await
            .map_err(setup)?;
        let channel = if opens_channel {
            Some(pc.create_data_channel(CHANNEL, None).await.map_err(setup)?)
        } else {
            None
        };
        Ok((
            Self {
                pc,
                video: Some(video),
                audio: Some(audio),
                estimate,
                channel,
            },
            rx,
        ))
    }

    /// Handle on the connection (for tasks that outlive a borrow).
    pub fn connection(&self) -> Arc<dyn PeerConnection> {
        self.pc.clone()
    }

    /// Makes an offer (an ICE restart when asked) and sets it locally.
    pub async fn create_offer(&self, ice_restart: bool) -> Result<String, MediaError> {
        let fail = |_| MediaError::Transport("making an offer");
        let offer = self
            .pc
            .create_offer(Some(RTCOfferOptions { ice_restart }))
            .await
            .map_err(fail)?;
        let sdp = offer.sdp.clone();
        self.pc.set_local_description(offer).await.map_err(fail)?;
        Ok(sdp)
    }

    /// Applies the peer's offer and returns the answer (set locally).
    pub async fn apply_offer(&self, sdp: String) -> Result<String, MediaError> {
        let bad = |_| MediaError::BadSdp;
        self.pc
            .set_remote_description(RTCSessionDescription::offer(sdp).map_err(bad)?)
            .await
            .map_err(bad)?;
        let fail = |_| MediaError::Transport("making an answer");
        let answer = self.pc.create_answer(None).await.map_err(fail)?;
        let sdp = answer.sdp.clone();
        self.pc.set_local_description(answer).await.map_err(fail)?;
        Ok(sdp)
    }

    /// Applies the peer's answer.
    pub async fn apply_answer(&self, sdp: String) -> Result<(), MediaError> {
        let bad = |_| MediaError::BadSdp;
        self.pc
            .set_remote_description(RTCSessionDescription::answer(sdp).map_err(bad)?)
            .await
            .map_err(bad)
    }

    /// Adds the peer's candidate (after its description is set).
    pub async fn add_candidate(
        &self,
        candidate: String,
        mid: Option<String>,
    ) -> Result<(), MediaError> {
        self.pc
            .add_ice_candidate(RTCIceCandidateInit {
                candidate,
                sdp_mid: mid,
                ..Default::default()
            })
            .await
            .map_err(|_| MediaError::BadCandidate)
    }

    /// Checks, beyond what the DTLS layer already enforced, that the certificate the peer
    /// presented is the one its signed SDP named. `Ok(true)` when it matches; `Ok(false)` when
    /// DTLS is not up yet.
    pub async fn verify_fingerprint(&self) -> Result<bool, MediaError> {
        let Some(remote) = self.pc.remote_description().await else {
            return Ok(false);
        };
        let signed: Vec<String> = remote
            .sdp
            .lines()
            .filter_map(|l| l.trim().strip_prefix("a=fingerprint:sha-256 "))
            .map(|fp| fp.trim().replace(':', "").to_ascii_lowercase())
            .collect();
        let report = self.pc.get_stats(Instant::now(), StatsSelector::None).await;
        let cert_id = report.iter().find_map(|e| match e {
            RTCStatsReportEntry::Transport(t) if !t.remote_certificate_id.is_empty() => {
                Some(t.remote_certificate_id.clone())
            }
            _ => None,
        });
        let Some(cert_id) = cert_id else {
            return Ok(false);
        };
        let presented = report.iter().find_map(|e| match e {
            RTCStatsReportEntry::Certificate(c) if c.stats.id == cert_id => {
                Some(c.fingerprint.replace(':', "").to_ascii_lowercase())
            }
            _ => None,
        });
        match presented {
            Some(p) if signed.contains(&p) => Ok(true),
            Some(_) => Err(MediaError::FingerprintMismatch),
            None => Ok(false),
        }
    }

    /// Whether the DTLS handshake has completed.
    pub async fn dtls_connected(&self) -> bool {
        let report = self.pc.get_stats(Instant::now(), StatsSelector::None).await;
        report.iter().any(|e| {
            matches!(e, RTCStatsReportEntry::Transport(t)
                if t.dtls_state.to_string() == "connected")
        })
    }

    /// Round-trip time on the selected candidate pair.
    pub async fn rtt_ms(&self) -> Option<f64> {
        let report = self.pc.get_stats(Instant::now(), StatsSelector::None).await;
        report.iter().find_map(|e| match e {
            RTCStatsReportEntry::IceCandidatePair(p) if p.nominated => {
                Some(p.current_round_trip_time * 1000.0)
            }
            _ => None,
        })
    }

    /// The loss the other side reports for what this side sends (RTCP receiver reports, the
    /// latest interval), the worse of video and audio; `None` before the first report.
    ///
    /// This, not the congestion controller's own figure, is what the quality ladder reads:
    /// GCC counts a packet as lost when its transport feedback is lost, so on a link losing 5%
    /// it reports anything from 1% to 20% and would pause video on a link that carries it.
    pub async fn reported_loss(&self) -> Option<f32> {
        let report = self.pc.get_stats(Instant::now(), StatsSelector::None).await;
        report
            .iter()
            .filter_map(|e| match e {
                RTCStatsReportEntry::RemoteInboundRtp(r) if r.round_trip_time_measurements > 0 => {
                    Some(r.fraction_lost)
                }
                _ => None,
            })
            .reduce(f64::max)
            .map(|l| {
                #[allow(clippy::cast_possible_truncation)] // a fraction in 0..=1
                let l = l.clamp(0.0, 1.0) as f32;
                l
            })
    }

    /// The kind of path media takes: the local candidate type of the selected pair (`host`
    /// for a direct path, `srflx` through a NAT, `relay` through the TURN server).
    pub async fn path(&self) -> Option<String> {
        let report = self.pc.get_stats(Instant::now(), StatsSelector::None).await;
        let local = report.iter().find_map(|e| match e {
            RTCStatsReportEntry::IceCandidatePair(p) if p.nominated => {
                Some(p.local_candidate_id.clone())
            }
            _ => None,
        })?;
        report.iter().find_map(|e| match e {
            // The report names local candidates `RTCLocalIceCandidate_<id>`, pairs by `<id>`.
            RTCStatsReportEntry::LocalCandidate(c)
                if c.stats.id == local
                    || c.stats.id.strip_prefix("RTCLocalIceCandidate_") == Some(&local) =>
            {
                Some(c.candidate_type.to_string())
            }
            _ => None,
        })
    }

    /// Closes the connection.
    pub async fn close(&self) {
        let _ = self.pc.close().await;
    }
}
