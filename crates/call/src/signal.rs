//! Call signaling messages, in canonical encoding. They travel only inside direct envelopes
//! sealed to the receiving device and signed by the sender's identity (content type
//! `CALL_SIGNAL`), so an SDP's DTLS fingerprint is authenticated by identity keys end to end:
//! the relay carries them and can read none.

use outpost_proto::{
    canon::{Canon, DecodeError},
    canon_struct, coded_enum,
};

/// A call's id: random, chosen by the caller (or by the physician admitting a visit).
pub type CallId = [u8; 16];

coded_enum! {
    /// What kind of call.
    pub enum CallKind ("call kind") {
        /// Video and audio.
        Video = 1 => "video",
        /// Audio only.
        Audio = 2 => "audio",
    }
}

coded_enum! {
    /// Why a call ended, as the other side is told.
    pub enum EndReason ("end reason") {
        /// Someone hung up.
        HungUp = 1 => "hung_up",
        /// The callee declined.
        Declined = 2 => "declined",
        /// The callee is in another call.
        Busy = 3 => "busy",
        /// Nobody answered in time.
        NoAnswer = 4 => "no_answer",
        /// The media never connected, or could not reconnect.
        ConnectionFailed = 5 => "connection_failed",
        /// A security check failed (the DTLS fingerprint did not match the signed SDP).
        Security = 6 => "security",
    }
}

canon_struct! {
    /// Starts a call.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Ring {
        /// The call.
        pub call: CallId,
        /// Video or audio.
        pub kind: CallKind,
        /// The caller's ephemeral X25519 key for the call keys.
        pub key_share: [u8; 32],
    }
}

canon_struct! {
    /// A patient knocks on a physician's waiting room with a visit code.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Knock {
        /// The visit (from the code).
        pub visit: [u8; 16],
        /// Proof of the visit code's secret: HMAC over the knocking device's identity.
        pub proof: [u8; 32],
        /// The name the patient gives.
        pub name: String,
    }
}

canon_struct! {
    /// The callee accepts (or the physician admits a knocking patient, who then rings back
    /// with this call id).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Accept {
        /// The call.
        pub call: CallId,
        /// The callee's ephemeral X25519 key for the call keys.
        pub key_share: [u8; 32],
    }
}

canon_struct! {
    /// An SDP offer or answer (an ICE restart is a new offer).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Sdp {
        /// The call.
        pub call: CallId,
        /// The SDP text.
        pub sdp: String,
    }
}

canon_struct! {
    /// A trickled ICE candidate.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Candidate {
        /// The call.
        pub call: CallId,
        /// The candidate line.
        pub candidate: String,
        /// Its media section id.
        pub mid: Option<String>,
    }
}

canon_struct! {
    /// The call ends.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Hangup {
        /// The call.
        pub call: CallId,
        /// Why.
        pub reason: EndReason,
    }
}

/// One signaling message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signal {
    /// Starts a call.
    Ring(Ring),
    /// Knocks on a waiting room.
    Knock(Knock),
    /// Accepts a call.
    Accept(Accept),
    /// An SDP offer.
    Offer(Sdp),
    /// An SDP answer.
    Answer(Sdp),
    /// An ICE candidate.
    Candidate(Candidate),
    /// Ends a call.
    Hangup(Hangup),
}

impl Signal {
    fn tag(&self) -> u8 {
        match self {
            Self::Ring(_) => 1,
            Self::Knock(_) => 2,
            Self::Accept(_) => 3,
            Self::Offer(_) => 4,
            Self::Answer(_) => 5,
            Self::Candidate(_) => 6,
            Self::Hangup(_) => 7,
        }
    }

    /// The call it is about (a knock names a visit, not a call).
    pub fn call(&self) -> Option<CallId> {
        Some(match self {
            Self::Ring(m) => m.call,
            Self::Accept(m) => m.call,
            Self::Offer(m) | Self::Answer(m) => m.call,
            Self::Candidate(m) => m.call,
            Self::Hangup(m) => m.call,
            Self::Knock(_) => return None,
        })
    }

    /// The canonical bytes: a tag, then the message.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![self.tag()];
        out.extend(match self {
            Self::Ring(m) => m.to_canonical(),
            Self::Knock(m) => m.to_canonical(),
            Self::Accept(m) => m.to_canonical(),
            Self::Offer(m) | Self::Answer(m) => m.to_canonical(),
            Self::Candidate(m) => m.to_canonical(),
            Self::Hangup(m) => m.to_canonical(),
        });
        out
    }

    /// Decodes what [`Signal::encode`] wrote; anything else is an error.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let (&tag, rest) = bytes.split_first().ok_or(DecodeError::Truncated)?;
        Ok(match tag {
            1 => Self::Ring(Ring::from_canonical(rest)?),
            2 => Self::Knock(Knock::from_canonical(rest)?),
            3 => Self::Accept(Accept::from_canonical(rest)?),
            4 => Self::Offer(Sdp::from_canonical(rest)?),
            5 => Self::Answer(Sdp::from_canonical(rest)?),
            6 => Self::Candidate(Candidate::from_canonical(rest)?),
            7 => Self::Hangup(Hangup::from_canonical(rest)?),
            code => {
                return Err(DecodeError::UnknownCode {
                    field: "signal",
                    code: u32::from(code),
                });
            }
        })
    }
}
