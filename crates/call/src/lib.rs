//! Outpost calls: end-to-end encrypted video visits between two devices.
//!
//! - [`signal`]: the signaling messages (ring, knock, accept, SDP, candidates, hangup), which
//!   travel only inside envelopes sealed to the receiving device and signed by the sender.
//! - [`machine`]: one call as a sans-IO state machine (ringing, connecting, connected,
//!   reconnecting, ended; timeouts; glare).
//! - [`adapt`]: the quality ladder and when to step down to audio-only and back.
//! - [`codec`]: H.264 and Opus, the codecs both ends negotiate.
//! - [`packet`]: SFrame-protected frames split into RTP payloads and put back together.
//! - [`share`]: in-call chat and resumable, hashed file sharing over the data channel.
//! - [`source`]: where pictures and sound come from, and the conversions devices need;
//!   `devices` (feature): the camera and the microphone.
//! - [`synthetic`]: a test pattern that carries its frame number and send time in its pixels,
//!   and a tone: stand-ins for camera and microphone.
//! - [`media`]: the WebRTC peer connection (host, STUN and TURN paths) and the pipeline that
//!   encodes, SFrame-protects, packetizes and paces each frame, and does the reverse.
//! - [`session`]: one running call, joining the machine, the pipeline and the signaling.
//! - [`control`] and [`stats`]: what the call screen sends and what it is shown.

pub mod adapt;
pub mod codec;
pub mod control;
pub mod machine;
pub mod media;
pub mod packet;
pub mod session;
pub mod share;
pub mod signal;
pub mod source;
pub mod stats;
pub mod synthetic;

#[cfg(feature = "devices")]
pub mod devices;

pub use machine::{Action, Call, Event, State};
pub use signal::{CallId, CallKind, EndReason, Signal};
