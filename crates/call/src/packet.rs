//! Carrying SFrame-protected frames in RTP: split on send, reassemble on receive (sans IO).
//!
//! SFrame encrypts whole encoded frames, so the codec's own RTP payload format (which reads NAL
//! units or VP8 partitions) cannot be used: it would need to see inside the ciphertext. Like the
//! IETF's SFrame-over-RTP draft, we packetize the protected frame as opaque bytes, with a
//! one-byte payload header:
//!
//! ```text
//!  bit 7  S  first packet of a frame
//!  bit 6  E  last packet of a frame
//!  bit 5  K  the frame is a keyframe (also bound into the SFrame AAD, so it cannot be flipped)
//! ```
//!
//! All packets of a frame share its RTP timestamp and have consecutive sequence numbers. The
//! [`Reassembler`] keeps a few frames open so NACK retransmissions can fill holes, hands frames
//! out in order, and reports frames it had to give up on so video can ask for a keyframe.

use std::collections::BTreeMap;

/// Largest RTP payload we make: under a 1200-byte packet with RTP header, extensions and
/// SRTP tag, which fits every path MTU seen on mobile links and tunnels.
pub const MAX_PAYLOAD: usize = 1100;

const S: u8 = 0x80;
const E: u8 = 0x40;
const K: u8 = 0x20;

/// Splits one protected frame into RTP payloads.
pub fn packetize(frame: &[u8], keyframe: bool) -> Vec<Vec<u8>> {
    let chunk = MAX_PAYLOAD - 1;
    let count = frame.len().div_ceil(chunk).max(1);
    (0..count)
        .map(|i| {
            let part = &frame[(i * chunk).min(frame.len())..((i + 1) * chunk).min(frame.len())];
            let mut flags = 0;
            if i == 0 {
                flags |= S;
            }
            if i + 1 == count {
                flags |= E;
            }
            if keyframe {
                flags |= K;
            }
            let mut p = Vec::with_capacity(1 + part.len());
            p.push(flags);
            p.extend_from_slice(part);
            p
        })
        .collect()
}

/// A frame put back together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reassembled {
    /// The RTP timestamp the frame was sent with.
    pub timestamp: u32,
    /// The protected frame, as it was given to [`packetize`].
    pub frame: Vec<u8>,
    /// The K flag.
    pub keyframe: bool,
    /// Frames given up on between the previous frame handed out and this one.
    pub lost_before: u32,
}

/// An RTP packet's fields the reassembler needs.
#[derive(Debug, Clone, Copy)]
pub struct RtpIn<'a> {
    /// Sequence number.
    pub seq: u16,
    /// RTP timestamp.
    pub timestamp: u32,
    /// Payload (our one-byte header, then frame bytes).
    pub payload: &'a [u8],
}

#[derive(Debug, Default)]
struct Pending {
    /// Packets by extended sequence number.
    parts: BTreeMap<u64, Vec<u8>>,
    first: Option<u64>,
    last: Option<u64>,
    keyframe: bool,
    opened_ms: u64,
}

impl Pending {
    fn complete(&self) -> bool {
        match (self.first, self.last) {
            (Some(f), Some(l)) if l >= f => {
                usize::try_from(l - f + 1).is_ok_and(|n| n == self.parts.len())
            }
            _ => false,
        }
    }
}

/// Reassembles frames from RTP packets arriving in any order, with duplicates and losses.
#[derive(Debug)]
pub struct Reassembler {
    /// How long an incomplete frame may wait for retransmissions once a later frame is
    /// complete (ms).
    hold_ms: u64,
    /// The same for a keyframe: longer, since giving up on one freezes the picture until the
    /// next, which a lossy link may lose too.
    keyframe_hold_ms: u64,
    /// Open frames by extended timestamp.
    open: BTreeMap<u64, Pending>,
    /// Extended timestamp of the last frame handed out (or given up on).
    done_ts: Option<u64>,
    highest_seq: Option<u64>,
    highest_ts: Option<u64>,
    lost: u32,
    /// Packets that were malformed, duplicated or too late.
    pub discarded: u64,
}

/// Extends a wrapping counter to 64 bits next to a reference value.
fn extend(reference: Option<u64>, value: u64, bits: u32) -> u64 {
    let Some(r) = reference else {
        return value + (1u64 << bits); // room to go backwards from the first value
    };
    let span = 1u64 << bits;
    let base = r & !(span - 1);
    let candidates = [base.wrapping_sub(span), base, base + span].map(|b| b.wrapping_add(value));
    candidates
        .into_iter()
        .min_by_key(|c| c.abs_diff(r))
        .unwrap_or(value)
}

impl Reassembler {
    /// A reassembler that holds incomplete frames for up to `hold_ms` after a later frame is
    /// complete (about one round trip lets a NACK retransmission arrive).
    pub fn new(hold_ms: u64) -> Self {
        Self {
            hold_ms,
            keyframe_hold_ms: hold_ms,
            open: BTreeMap::new(),
            done_ts: None,
            highest_seq: None,
            highest_ts: None,
            lost: 0,
            discarded: 0,
        }
    }

    /// Changes how long incomplete frames wait (the link's round trip changed): delta frames
    /// and keyframes.
    pub fn set_hold_ms(&mut self, hold_ms: u64, keyframe_hold_ms: u64) {
        self.hold_ms = hold_ms;
        self.keyframe_hold_ms = keyframe_hold_ms.max(hold_ms);
    }

    /// Takes one packet at time `now_ms`; returns the frames now ready, oldest first.
    pub fn push(&mut self, packet: RtpIn<'_>, now_ms: u64) -> Vec<Reassembled> {
        let Some((&flags, body)) = packet.payload.split_first() else {
            self.discarded += 1;
            return self.drain(now_ms);
        };
        let seq = extend(self.highest_seq, u64::from(packet.seq), 16);
        let ts = extend(self.highest_ts, u64::from(packet.timestamp), 32);
        if self.done_ts.is_some_and(|d| ts <= d) {
            self.discarded += 1; // a retransmission after we gave up, or a duplicate
            return self.drain(now_ms);
        }
        self.highest_seq = Some(self.highest_seq.map_or(seq, |h| h.max(seq)));
        self.highest_ts = Some(self.highest_ts.map_or(ts, |h| h.max(ts)));
        let pending = self.open.entry(ts).or_insert_with(|| Pending {
            opened_ms: now_ms,
            ..Pending::default()
        });
        if pending.parts.insert(seq, body.to_vec()).is_some() {
            self.discarded += 1;
        }
        if flags & S != 0 {
            pending.first = Some(seq);
        }
        if flags & E != 0 {
            pending.last = Some(seq);
        }
        pending.keyframe |= flags & K != 0;
        self.drain(now_ms)
    }

    /// Gives up on frames that have waited too long; call on a timer too, so a frame is not
    /// held forever when nothing else arrives.
    pub fn poll(&mut self, now_ms: u64) -> Vec<Reassembled> {
        self.drain(now_ms)
    }

    fn drain(&mut self, now_ms: u64) -> Vec<Reassembled> {
        let mut out = Vec::new();
        while let Some(mut entry) = self.open.first_entry() {
            if entry.get().complete() {
                let ts = *entry.key();
                let p = entry.get_mut();
                let keyframe = p.keyframe;
                let frame = std::mem::take(&mut p.parts)
                    .into_values()
                    .flatten()
                    .collect();
                entry.remove();
                out.push(Reassembled {
                    timestamp: (ts & 0xffff_ffff) as u32,
                    frame,
                    keyframe,
                    lost_before: std::mem::take(&mut self.lost),
                });
                self.done_ts = Some(ts);
                continue;
            }
            // The oldest frame is incomplete: wait for repairs while a newer frame has not
            // been waiting long, otherwise give up on it.
            let hold = if entry.get().keyframe {
                self.keyframe_hold_ms
            } else {
                self.hold_ms
            };
            let oldest_opened = entry.get().opened_ms;
            let newest_waiting = self.open.values().skip(1).map(|p| p.opened_ms).min();
            let expired = newest_waiting.is_some_and(|t| now_ms.saturating_sub(t) >= hold)
                || now_ms.saturating_sub(oldest_opened) >= 4 * hold;
            if !expired {
                break;
            }
            let (ts, _) = self.open.pop_first().unwrap_or_default();
            self.lost += 1;
            self.done_ts = Some(ts);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packets(frame: &[u8], key: bool, seq0: u16, ts: u32) -> Vec<(u16, u32, Vec<u8>)> {
        packetize(frame, key)
            .into_iter()
            .enumerate()
            .map(|(i, p)| (seq0.wrapping_add(u16::try_from(i).unwrap()), ts, p))
            .collect()
    }

    fn feed(r: &mut Reassembler, pk: &[(u16, u32, Vec<u8>)], now: u64) -> Vec<Reassembled> {
        pk.iter()
            .flat_map(|(s, t, p)| {
                r.push(
                    RtpIn {
                        seq: *s,
                        timestamp: *t,
                        payload: p,
                    },
                    now,
                )
            })
            .collect()
    }

    #[test]
    fn splits_and_joins_across_sequence_wrap_in_any_order() {
        let frame: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
        let mut pk = packets(&frame, true, 65533, 4_294_967_000);
        assert_eq!(pk.len(), 5);
        assert!(pk.iter().all(|(_, _, p)| p.len() <= MAX_PAYLOAD));
        pk.reverse();
        let mut r = Reassembler::new(100);
        let out = feed(&mut r, &pk, 0);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].frame, frame);
        assert!(out[0].keyframe);
        // The next frame, across the timestamp wrap, follows.
        let next = packets(b"small", false, 2, 1000);
        let out = feed(&mut r, &next, 10);
        assert_eq!(out[0].frame, b"small");
        assert!(!out[0].keyframe);
        assert_eq!(out[0].lost_before, 0);
    }

    #[test]
    fn a_hole_is_held_for_repair_then_given_up() {
        let mut r = Reassembler::new(100);
        let first = packets(&[1u8; 3000], false, 10, 0);
        let second = packets(b"b", false, 13, 3000);
        // Frame a's middle packet is late.
        assert!(feed(&mut r, &[first[0].clone(), first[2].clone()], 0).is_empty());
        assert!(feed(&mut r, &second, 20).is_empty(), "b waits behind a");
        // The retransmission arrives in time: both come out, in order.
        let out = feed(&mut r, &[first[1].clone()], 50);
        assert_eq!(
            out.iter().map(|f| f.timestamp).collect::<Vec<_>>(),
            [0, 3000]
        );

        let third = packets(&[2u8; 3000], false, 14, 6000);
        let fourth = packets(b"d", true, 17, 9000);
        feed(&mut r, &[third[0].clone()], 100);
        assert!(feed(&mut r, &fourth, 110).is_empty());
        let out = r.poll(215);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].timestamp, 9000);
        assert_eq!(out[0].lost_before, 1, "frame third was given up");
        // c's late packets are discarded, not turned into first frame.
        assert!(feed(&mut r, &third[1..], 220).is_empty());
        assert_eq!(r.discarded, 2);
    }

    #[test]
    fn duplicates_and_empty_payloads_are_discarded() {
        let mut r = Reassembler::new(100);
        let a = packets(b"abc", false, 1, 90);
        assert_eq!(feed(&mut r, &a, 0).len(), 1);
        assert!(feed(&mut r, &a, 1).is_empty());
        assert!(
            r.push(
                RtpIn {
                    seq: 3,
                    timestamp: 200,
                    payload: &[]
                },
                2
            )
            .is_empty()
        );
        assert_eq!(r.discarded, 2);
    }

    #[test]
    fn an_incomplete_keyframe_waits_longer_for_repairs_than_a_delta_frame() {
        for (key, given_up_at) in [(false, 100), (true, 400)] {
            let mut r = Reassembler::new(100);
            r.set_hold_ms(100, 400);
            let a = packets(&[0u8; 2500], key, 1, 0);
            feed(&mut r, &[a[0].clone(), a[2].clone()], 0);
            let b = packets(b"next", false, 9, 3000);
            assert!(
                feed(&mut r, &b, 0).is_empty(),
                "the next frame waits in order"
            );
            assert!(
                r.poll(given_up_at - 1).is_empty(),
                "key {key}: still waiting"
            );
            let out = r.poll(given_up_at);
            assert_eq!(out.len(), 1, "key {key}: given up at {given_up_at} ms");
            assert_eq!(out[0].lost_before, 1);
        }
        // Repaired in time, the keyframe comes out whole, then the frame behind it.
        let mut r = Reassembler::new(100);
        r.set_hold_ms(100, 400);
        let a = packets(&[7u8; 2500], true, 1, 0);
        feed(&mut r, &[a[0].clone(), a[2].clone()], 0);
        feed(&mut r, &packets(b"next", false, 9, 3000), 0);
        let out = feed(&mut r, &a[1..2], 350);
        assert_eq!(out.len(), 2);
        assert!(out[0].keyframe && out[0].frame == vec![7u8; 2500]);
        assert_eq!(out[1].lost_before, 0);
    }

    #[test]
    fn a_lone_stuck_frame_is_dropped_after_a_while() {
        let mut r = Reassembler::new(50);
        let a = packets(&[0u8; 2500], false, 1, 0);
        feed(&mut r, &a[..1], 0);
        assert!(r.poll(100).is_empty());
        assert!(r.poll(200).is_empty());
        let b = packets(b"b", true, 9, 100);
        let out = feed(&mut r, &b, 201);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].lost_before, 1);
    }
}
