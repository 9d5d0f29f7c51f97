//! Call control messages between the two media pipelines, on the same data channel as chat
//! and files: keyframe requests, and what each side is sending and why (so the far screen can
//! say "Video paused: the connection is weak" rather than show a frozen picture).
//!
//! Tags start at 0x40 so they never collide with [`crate::share::Message`]'s.

use outpost_proto::canon::DecodeError;

use crate::adapt::{Level, Reason};

/// First tag byte of a control message.
const KEYFRAME: u8 = 0x40;
const MEDIA_STATE: u8 = 0x41;

/// What this side sends, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MediaState {
    /// The level sent at.
    pub level: Level,
    /// Why it is at that level (`None`: the call started there).
    pub reason: Option<Reason>,
    /// Microphone muted.
    pub muted: bool,
    /// Camera turned off.
    pub camera_off: bool,
}

/// One control message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// The receiver lost a reference frame (or has none yet): send a keyframe.
    KeyframeRequest,
    /// The sender's media changed.
    MediaState(MediaState),
}

fn level_code(l: Level) -> u8 {
    match l {
        Level::High => 1,
        Level::Medium => 2,
        Level::Low => 3,
        Level::AudioOnly => 4,
    }
}

fn reason_code(r: Option<Reason>) -> u8 {
    match r {
        None => 0,
        Some(Reason::WeakLink) => 1,
        Some(Reason::Recovered) => 2,
        Some(Reason::Manual) => 3,
        Some(Reason::ProbeFailed) => 4,
    }
}

impl Control {
    /// Whether `bytes` is a control message (rather than chat or a file).
    pub fn is_control(bytes: &[u8]) -> bool {
        bytes.first().is_some_and(|t| *t >= KEYFRAME)
    }

    /// Encodes the message.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Self::KeyframeRequest => vec![KEYFRAME],
            Self::MediaState(m) => vec![
                MEDIA_STATE,
                level_code(m.level),
                reason_code(m.reason),
                u8::from(m.muted) | u8::from(m.camera_off) << 1,
            ],
        }
    }

    /// Decodes what [`Control::encode`] wrote.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let unknown = |field, code: u8| DecodeError::UnknownCode {
            field,
            code: u32::from(code),
        };
        match bytes {
            [KEYFRAME] => Ok(Self::KeyframeRequest),
            [MEDIA_STATE, level, reason, flags] => {
                let level = match level {
                    1 => Level::High,
                    2 => Level::Medium,
                    3 => Level::Low,
                    4 => Level::AudioOnly,
                    c => return Err(unknown("media level", *c)),
                };
                let reason = match reason {
                    0 => None,
                    1 => Some(Reason::WeakLink),
                    2 => Some(Reason::Recovered),
                    3 => Some(Reason::Manual),
                    4 => Some(Reason::ProbeFailed),
                    c => return Err(unknown("level reason", *c)),
                };
                if flags & !3 != 0 {
                    return Err(unknown("media flags", *flags));
                }
                Ok(Self::MediaState(MediaState {
                    level,
                    reason,
                    muted: flags & 1 != 0,
                    camera_off: flags & 2 != 0,
                }))
            }
            [tag, ..] if *tag == KEYFRAME || *tag == MEDIA_STATE => Err(DecodeError::Truncated),
            [tag, ..] => Err(unknown("control message", *tag)),
            [] => Err(DecodeError::Truncated),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_the_rest() {
        let state = Control::MediaState(MediaState {
            level: Level::AudioOnly,
            reason: Some(Reason::WeakLink),
            muted: false,
            camera_off: true,
        });
        for m in [Control::KeyframeRequest, state] {
            let bytes = m.encode();
            assert!(Control::is_control(&bytes));
            assert_eq!(Control::decode(&bytes).unwrap(), m);
        }
        assert!(!Control::is_control(
            &crate::share::Message::Done(crate::share::Done {
                file: [0; 16],
                ok: true
            })
            .encode()
        ));
        assert!(Control::decode(&[MEDIA_STATE, 9, 0, 0]).is_err());
        assert!(Control::decode(&[MEDIA_STATE, 1, 0, 4]).is_err());
        assert!(Control::decode(&[MEDIA_STATE, 1]).is_err());
        assert!(Control::decode(&[0x7f]).is_err());
    }
}
