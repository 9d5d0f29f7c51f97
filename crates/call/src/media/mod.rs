//! The WebRTC side of a call: the peer connection ([`peer`]) and the media pipeline that runs
//! over it ([`pipeline`]).

pub mod peer;
pub mod pipeline;

/// Why the media side failed. Messages name the step, never SDP, addresses or media.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    /// The WebRTC stack refused a step.
    #[error("call transport error while {0}")]
    Transport(&'static str),
    /// The peer's SDP could not be applied.
    #[error("the other side's session description is not valid")]
    BadSdp,
    /// The peer's ICE candidate could not be added.
    #[error("the other side sent an invalid network candidate")]
    BadCandidate,
    /// The peer's DTLS certificate does not match the fingerprint in its signed SDP.
    #[error(
        "the call's encryption could not be verified: the other side's certificate does not match its signed fingerprint"
    )]
    FingerprintMismatch,
    /// A codec failed.
    #[error(transparent)]
    Codec(#[from] CodecFailure),
}

/// A codec failure, without its details (which could describe media).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the media codec failed")]
pub struct CodecFailure;
