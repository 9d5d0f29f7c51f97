//! What a call measured: counters the pipeline keeps while it runs, and the summary written
//! when it ends (`--stats-json`) or shown on demand in the call-quality panel.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::adapt::{Level, Reason};

/// Live counters for one kind of media (atomics: the send and receive tasks bump them).
#[derive(Debug, Default)]
pub struct Counters {
    /// Frames encoded, protected and handed to the transport.
    pub frames_sent: AtomicU64,
    /// Frames reassembled from RTP (whole, before SFrame).
    pub frames_received: AtomicU64,
    /// Frames that passed SFrame and decoded.
    pub frames_decoded: AtomicU64,
    /// Frames SFrame refused (unknown key, replay, tampering): dropped, never decoded.
    pub frames_rejected: AtomicU64,
    /// Frames that passed SFrame but were lost before (or not decodable) and skipped.
    pub frames_lost: AtomicU64,
    /// Media bytes sent (protected frames, before RTP headers).
    pub bytes_sent: AtomicU64,
    /// Media bytes of the same frames before SFrame (for the overhead figure).
    pub plain_bytes_sent: AtomicU64,
}

impl Counters {
    /// Adds one to a counter.
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A snapshot.
    pub fn snapshot(&self) -> MediaStats {
        MediaStats {
            frames_sent: self.frames_sent.load(Ordering::Relaxed),
            frames_received: self.frames_received.load(Ordering::Relaxed),
            frames_decoded: self.frames_decoded.load(Ordering::Relaxed),
            frames_rejected: self.frames_rejected.load(Ordering::Relaxed),
        }
    }
}

/// Counters for one kind of media, as reported.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MediaStats {
    /// Frames sent.
    pub frames_sent: u64,
    /// Frames received whole.
    pub frames_received: u64,
    /// Frames decoded (each passed SFrame).
    pub frames_decoded: u64,
    /// Frames SFrame refused.
    pub frames_rejected: u64,
}

/// A stretch of the call without video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AudioOnlyPeriod {
    /// From (ms since the call connected).
    pub start_ms: u64,
    /// To (ms since the call connected); `None` while it lasts.
    pub end_ms: Option<u64>,
    /// Why video paused.
    pub reason: Reason,
}

/// The call summary (the `--stats-json` file).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CallStats {
    /// Whether media ever connected.
    pub connected: bool,
    /// From accepting the call to the first decoded remote video frame.
    pub time_to_first_frame_ms: Option<u64>,
    /// Round-trip time on the selected ICE candidate pair.
    pub rtt_ms: Option<f64>,
    /// How media travels: `host` (directly), `srflx` (through a NAT) or `relay` (through the
    /// TURN server), from the selected pair's local candidate.
    pub path: Option<String>,
    /// Video counters.
    pub video: MediaStats,
    /// Audio counters.
    pub audio: MediaStats,
    /// The SFrame cipher suite protecting media.
    pub sframe_suite: Option<String>,
    /// Whether the peer's DTLS certificate matched the fingerprint in its signed SDP.
    pub fingerprint_verified: bool,
    /// When video was paused.
    pub audio_only_periods: Vec<AudioOnlyPeriod>,
    /// The level sent at when the summary was taken.
    pub level: Option<Level>,
    /// Outgoing bandwidth estimate (bits per second).
    pub estimate_bps: Option<u64>,
    /// Loss of what this side sends, as the other side last reported it (0 to 1).
    pub loss: Option<f64>,
    /// Width and height of the last decoded remote picture.
    pub remote_resolution: Option<(usize, usize)>,
    /// Codecs in use.
    pub codecs: Vec<String>,
}
