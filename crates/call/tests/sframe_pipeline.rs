//! SFrame in the receive pipeline, attacked as a media relay or TURN server could: frames
//! under a stale key, replayed frames, tampered frames, a delta frame relabelled as a keyframe
//! and an audio frame moved onto the video stream are all counted as rejected and never
//! reach the decoder; honest frames decode with their stamps.

use std::sync::Arc;
use std::time::Instant;

use outpost_call::codec::{VideoEncoder, VideoSettings};
use outpost_call::media::pipeline::{FrameReceiver, MediaKind, Shared};
use outpost_call::packet::{RtpIn, packetize};
use outpost_call::synthetic::TestPattern;
use outpost_crypto::sframe::DEFAULT_SUITE;
use outpost_crypto::{CallKeyExchange, CallRole, DeviceIdentity};

/// The two ends of one call's keys: (caller's shared state, callee's shared state).
fn call_keys() -> (Arc<Shared>, Arc<Shared>) {
    let rng = &mut rand_core::OsRng;
    let a = DeviceIdentity::generate(rng).public();
    let b = DeviceIdentity::generate(rng).public();
    let id = [7u8; 16];
    let caller = CallKeyExchange::new(CallRole::Caller, id, rng);
    let callee = CallKeyExchange::new(CallRole::Callee, id, rng);
    let (pa, pb) = (caller.public_key(), callee.public_key());
    let ka = caller.finish(&a, &b, &pb).unwrap();
    let kb = callee.finish(&b, &a, &pa).unwrap();
    (
        Shared::new(ka.into_sframe(DEFAULT_SUITE, 1).unwrap(), Instant::now()),
        Shared::new(kb.into_sframe(DEFAULT_SUITE, 1).unwrap(), Instant::now()),
    )
}

/// An RTP stream into one receiver: numbers packets and frames as a sender would.
struct Stream {
    seq: u16,
    ts: u32,
    now: u64,
}

impl Stream {
    fn send(&mut self, rx: &mut FrameReceiver, shared: &Shared, frame: &[u8], key: bool) -> usize {
        self.ts = self.ts.wrapping_add(6000);
        self.now += 66;
        let mut decoded = 0;
        for p in packetize(frame, key) {
            let out = rx.push(
                shared,
                RtpIn {
                    seq: self.seq,
                    timestamp: self.ts,
                    payload: &p,
                },
                self.now,
            );
            decoded += out.len();
            self.seq = self.seq.wrapping_add(1);
        }
        decoded
    }
}

#[test]
fn attacks_on_frames_are_rejected_and_counted_never_decoded() {
    let (alice, bob) = call_keys();
    let mut encoder = VideoEncoder::new(VideoSettings {
        bitrate_bps: 300_000,
        fps: 15,
    })
    .unwrap();
    let mut pattern = TestPattern::new(320, 180);
    let mut rx = FrameReceiver::new(MediaKind::Video).unwrap();
    let mut wire = Stream {
        seq: 100,
        ts: 0,
        now: 0,
    };
    let mut sent = Vec::new();
    for i in 0..8u64 {
        let (pic, _) = pattern.next_frame(i);
        let enc = encoder.encode(&pic).unwrap();
        let protected = alice
            .protect(MediaKind::Video, enc.keyframe, &enc.data)
            .unwrap();
        sent.push((protected, enc.keyframe, enc.data));
    }
    // Honest frames: all decode.
    let mut decoded = 0;
    for (frame, key, _) in &sent[..4] {
        decoded += wire.send(&mut rx, &bob, frame, *key);
    }
    assert_eq!(decoded, 4);
    let honest = bob.video.snapshot();
    assert_eq!((honest.frames_decoded, honest.frames_rejected), (4, 0));

    // 1. Yesterday's frame again, in fresh RTP packets: a replay.
    assert_eq!(wire.send(&mut rx, &bob, &sent[2].0, sent[2].1), 0);
    // 2. One bit flipped in the ciphertext.
    let mut tampered = sent[4].0.clone();
    let last = tampered.len() - 20;
    tampered[last] ^= 0x01;
    assert_eq!(wire.send(&mut rx, &bob, &tampered, sent[4].1), 0);
    // 3. A delta frame relabelled as a keyframe (the K bit is authenticated metadata).
    assert!(!sent[5].1);
    assert_eq!(wire.send(&mut rx, &bob, &sent[5].0, true), 0);
    // 4. A frame from another call (a stale key the relay kept).
    let (old_call, _) = call_keys();
    let stale = old_call
        .protect(MediaKind::Video, sent[6].1, &sent[6].2)
        .unwrap();
    assert_eq!(wire.send(&mut rx, &bob, &stale, sent[6].1), 0);
    // 5. An audio frame moved onto the video stream.
    let audio = alice
        .protect(MediaKind::Audio, false, b"opus bytes")
        .unwrap();
    assert_eq!(wire.send(&mut rx, &bob, &audio, false), 0);
    // 6. Alice's own frame reflected back at her (her receive key is not her send key).
    let mut rx_alice = FrameReceiver::new(MediaKind::Video).unwrap();
    let mut back = Stream {
        seq: 1,
        ts: 0,
        now: 0,
    };
    assert_eq!(back.send(&mut rx_alice, &alice, &sent[0].0, true), 0);
    assert_eq!(alice.video.snapshot().frames_rejected, 1);

    let after = bob.video.snapshot();
    assert_eq!(after.frames_rejected, 5, "{after:?}");
    assert_eq!(after.frames_decoded, 4, "no attack reached the decoder");

    // The stream recovers at the next keyframe (rejected frames were lost references).
    let (pic, stamp) = pattern.next_frame(99);
    encoder.request_keyframe();
    let enc = encoder.encode(&pic).unwrap();
    assert!(enc.keyframe);
    let protected = alice.protect(MediaKind::Video, true, &enc.data).unwrap();
    let mut out = Vec::new();
    for p in packetize(&protected, true) {
        wire.seq = wire.seq.wrapping_add(1);
        out.extend(rx.push(
            &bob,
            RtpIn {
                seq: wire.seq,
                timestamp: wire.ts.wrapping_add(6000),
                payload: &p,
            },
            wire.now + 66,
        ));
    }
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].stamp, Some(stamp));
}
