//! SFrame (RFC 9605): end-to-end encryption of media frames, on top of whatever the transport
//! (DTLS-SRTP) already does, so that a media relay or SFU sees only ciphertext.
//!
//! A frame on the wire is `header || AEAD(key, nonce, header || metadata, payload)` where the
//! header carries the key id (KID) and the frame counter (CTR), and
//! `nonce = salt XOR CTR` (CTR big-endian, left-padded to the nonce length). Keys and salts come
//! from a base key through the RFC's HKDF schedule. A [`SframeSender`] never reuses a counter
//! under a key; a [`SframeReceiver`] holds keys by KID (so keys rotate mid-call without a gap)
//! and rejects replays with a sliding window.

pub mod header;
pub mod suite;

use std::collections::BTreeMap;

pub use header::SframeHeader;
pub use suite::{CipherSuite, DEFAULT_SUITE};

use crate::CryptoError;
use suite::SuiteCipher;

/// How far behind the newest counter a frame may arrive and still be accepted.
pub const REPLAY_WINDOW: u64 = 1024;
/// How many keys a receiver keeps at once (current, next, and a few for late frames).
pub const MAX_RECEIVER_KEYS: usize = 16;

/// A derived SFrame key: the keyed AEAD and its salt.
struct SframeKey {
    suite: CipherSuite,
    cipher: SuiteCipher,
    salt: [u8; 12],
}

impl SframeKey {
    fn derive(suite: CipherSuite, kid: u64, base_key: &[u8]) -> Result<Self, CryptoError> {
        let (key, salt) = suite::key_schedule(suite, kid, base_key)?;
        Ok(Self {
            suite,
            cipher: SuiteCipher::new(suite, &key)?,
            salt,
        })
    }

    fn nonce(&self, ctr: u64) -> [u8; 12] {
        let mut nonce = self.salt;
        for (n, c) in nonce[4..].iter_mut().zip(ctr.to_be_bytes()) {
            *n ^= c;
        }
        nonce
    }
}

/// The sending side for one media stream.
pub struct SframeSender {
    kid: u64,
    key: SframeKey,
    next_ctr: u64,
    /// Every key id this sender has used: returning to one would restart its counter at 0
    /// under the same key, reusing nonces.
    used_kids: std::collections::BTreeSet<u64>,
}

impl std::fmt::Debug for SframeSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SframeSender")
            .field("kid", &self.kid)
            .field("suite", &self.key.suite)
            .field("next_ctr", &self.next_ctr)
            .finish_non_exhaustive()
    }
}

impl SframeSender {
    /// A sender using `base_key` under key id `kid`, counting from 0.
    pub fn new(suite: CipherSuite, kid: u64, base_key: &[u8]) -> Result<Self, CryptoError> {
        Ok(Self {
            kid,
            key: SframeKey::derive(suite, kid, base_key)?,
            next_ctr: 0,
            used_kids: std::collections::BTreeSet::from([kid]),
        })
    }

    /// Switches to a new key (new key id), e.g. after a participant leaves. The counter restarts
    /// at 0, which is safe because the key id (part of the key schedule) is new. Any key id this
    /// sender used before is refused: it would reuse (key, nonce) pairs.
    ///
    /// Two senders must never share a base key and key id (derive one base key per stream).
    pub fn rotate(&mut self, kid: u64, base_key: &[u8]) -> Result<(), CryptoError> {
        if !self.used_kids.insert(kid) {
            return Err(CryptoError::Malformed("rotation must use a new key id"));
        }
        self.key = SframeKey::derive(self.key.suite, kid, base_key)?;
        self.kid = kid;
        self.next_ctr = 0;
        Ok(())
    }

    /// The key id frames are currently sent under.
    pub fn kid(&self) -> u64 {
        self.kid
    }

    /// Encrypts one frame. `metadata` is authenticated but not sent (e.g. RTP header fields
    /// both sides know).
    pub fn protect(&mut self, metadata: &[u8], payload: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let ctr = self.next_ctr;
        // The counter is consumed before encrypting, so no failure path can reuse it.
        self.next_ctr = ctr.checked_add(1).ok_or(CryptoError::CounterExhausted)?;
        let mut out =
            Vec::with_capacity(header::MAX_HEADER_LEN + payload.len() + self.key.suite.tag_len());
        let header_len = SframeHeader { kid: self.kid, ctr }.encode_into(&mut out);
        let mut aad = Vec::with_capacity(header_len + metadata.len());
        aad.extend_from_slice(&out[..header_len]);
        aad.extend_from_slice(metadata);
        out.extend_from_slice(payload);
        self.key
            .cipher
            .seal_in_place(&self.key.nonce(ctr), &aad, &mut out, header_len)?;
        Ok(out)
    }
}

/// A sliding window over recently accepted counters.
#[derive(Debug, Default, Clone)]
struct ReplayWindow {
    /// Highest counter accepted so far.
    top: Option<u64>,
    /// Bit `c % REPLAY_WINDOW` is set when counter `c` (within the window) was accepted.
    bits: [u64; (REPLAY_WINDOW / 64) as usize],
}

impl ReplayWindow {
    fn slot(ctr: u64) -> (usize, u64) {
        let i = ctr % REPLAY_WINDOW;
        ((i / 64) as usize, 1u64 << (i % 64))
    }

    fn check(&self, ctr: u64) -> Result<(), CryptoError> {
        let Some(top) = self.top else { return Ok(()) };
        if ctr > top {
            return Ok(());
        }
        if top - ctr >= REPLAY_WINDOW {
            return Err(CryptoError::Replay);
        }
        let (word, bit) = Self::slot(ctr);
        if self.bits[word] & bit != 0 {
            Err(CryptoError::Replay)
        } else {
            Ok(())
        }
    }

    /// Records `ctr`; call only after [`Self::check`] passed and the frame authenticated.
    fn accept(&mut self, ctr: u64) {
        match self.top {
            Some(top) if ctr <= top => {}
            Some(top) if ctr - top < REPLAY_WINDOW => {
                for c in top + 1..ctr {
                    let (word, bit) = Self::slot(c);
                    self.bits[word] &= !bit;
                }
                self.top = Some(ctr);
            }
            _ => {
                self.bits = Default::default();
                self.top = Some(ctr);
            }
        }
        let (word, bit) = Self::slot(ctr);
        self.bits[word] |= bit;
    }
}

/// The receiving side: keys by key id, each with its own replay window.
#[derive(Default)]
pub struct SframeReceiver {
    keys: BTreeMap<u64, (SframeKey, ReplayWindow)>,
}

impl std::fmt::Debug for SframeReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SframeReceiver")
            .field("kids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl SframeReceiver {
    /// A receiver with no keys.
    pub fn new() -> Self {
        Self::default()
    }

    /// Installs the key for `kid`. When more than [`MAX_RECEIVER_KEYS`] are held, the lowest key
    /// id is dropped (key ids increase as keys rotate).
    pub fn add_key(
        &mut self,
        suite: CipherSuite,
        kid: u64,
        base_key: &[u8],
    ) -> Result<(), CryptoError> {
        let key = SframeKey::derive(suite, kid, base_key)?;
        // Re-adding a key id keeps its replay window: a fresh window would accept every frame
        // already seen under it again.
        let window = self.keys.remove(&kid).map(|(_, w)| w).unwrap_or_default();
        self.keys.insert(kid, (key, window));
        while self.keys.len() > MAX_RECEIVER_KEYS {
            self.keys.pop_first();
        }
        Ok(())
    }

    /// Forgets the key for `kid` (after a rotation has settled).
    pub fn remove_key(&mut self, kid: u64) {
        self.keys.remove(&kid);
    }

    /// Decrypts one frame. Rejects unknown key ids, tampering and replays; a rejected frame
    /// leaves the replay window untouched.
    pub fn unprotect(&mut self, metadata: &[u8], frame: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let (header, header_len) = SframeHeader::decode(frame)?;
        let (key, window) = self
            .keys
            .get_mut(&header.kid)
            .ok_or(CryptoError::UnknownKeyId(header.kid))?;
        window.check(header.ctr)?;
        let (header_bytes, ciphertext) = frame.split_at(header_len);
        let mut aad = Vec::with_capacity(header_len + metadata.len());
        aad.extend_from_slice(header_bytes);
        aad.extend_from_slice(metadata);
        let payload = key.cipher.open(&key.nonce(header.ctr), &aad, ciphertext)?;
        window.accept(header.ctr);
        Ok(payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUITES: [CipherSuite; 6] = [
        CipherSuite::Aes128CtrHmacSha256_80,
        CipherSuite::Aes128CtrHmacSha256_64,
        CipherSuite::Aes128CtrHmacSha256_32,
        CipherSuite::Aes128GcmSha256_128,
        CipherSuite::Aes256GcmSha512_128,
        CipherSuite::OutpostChaCha20Poly1305Sha256_128,
    ];

    #[test]
    fn every_suite_round_trips_and_rejects_tampering_and_replay() {
        for suite in SUITES {
            let mut tx = SframeSender::new(suite, 7, b"base key for the test").unwrap();
            let mut rx = SframeReceiver::new();
            rx.add_key(suite, 7, b"base key for the test").unwrap();
            let frame = tx.protect(b"meta", b"a video frame").unwrap();
            // kid 7 and counter 0 both fit in the one config byte.
            assert_eq!(frame.len(), 1 + 13 + suite.tag_len(), "{suite:?}");
            let mut bad = frame.clone();
            *bad.last_mut().unwrap() ^= 1;
            assert_eq!(
                rx.unprotect(b"meta", &bad).unwrap_err(),
                CryptoError::DecryptionFailed
            );
            assert_eq!(
                rx.unprotect(b"other", &frame).unwrap_err(),
                CryptoError::DecryptionFailed
            );
            assert_eq!(rx.unprotect(b"meta", &frame).unwrap(), b"a video frame");
            assert_eq!(
                rx.unprotect(b"meta", &frame).unwrap_err(),
                CryptoError::Replay
            );
            assert_eq!(
                SuiteCipher::new(suite, &[0u8; 3]).err(),
                Some(CryptoError::InvalidKeyLength)
            );
            assert_eq!(CipherSuite::from_id(suite.id()).unwrap(), suite);
        }
        assert_eq!(
            CipherSuite::from_id(0x0006).unwrap_err(),
            CryptoError::UnsupportedSuite(6)
        );
    }

    #[test]
    fn counters_never_repeat_and_nonces_differ() {
        let mut tx = SframeSender::new(DEFAULT_SUITE, 1, b"k").unwrap();
        let mut seen = std::collections::HashSet::new();
        let mut nonces = std::collections::HashSet::new();
        let mut ciphertexts = std::collections::HashSet::new();
        for _ in 0..2000 {
            let frame = tx.protect(b"", b"x").unwrap();
            let (h, header_len) = SframeHeader::decode(&frame).unwrap();
            assert!(seen.insert(h.ctr));
            // The nonce each frame was sealed under: unique, as AES-GCM needs.
            assert!(
                nonces.insert(tx.key.nonce(h.ctr)),
                "nonce reused at {}",
                h.ctr
            );
            // The same plaintext never seals to the same bytes.
            assert!(ciphertexts.insert(frame[header_len..].to_vec()));
        }
        assert_eq!(nonces.len(), 2000);
        tx.next_ctr = u64::MAX;
        assert_eq!(
            tx.protect(b"", b"x").unwrap_err(),
            CryptoError::CounterExhausted
        );
        assert_eq!(
            tx.protect(b"", b"x").unwrap_err(),
            CryptoError::CounterExhausted
        );
    }

    #[test]
    fn rotation_mid_call_keeps_late_frames_readable() {
        let mut tx = SframeSender::new(DEFAULT_SUITE, 1, b"old").unwrap();
        let mut rx = SframeReceiver::new();
        rx.add_key(DEFAULT_SUITE, 1, b"old").unwrap();
        let late = tx.protect(b"", b"before").unwrap();
        assert!(tx.rotate(1, b"new").is_err(), "same kid must be refused");
        tx.rotate(2, b"new").unwrap();
        assert!(
            tx.rotate(1, b"old").is_err(),
            "an earlier kid must be refused too"
        );
        let fresh = tx.protect(b"", b"after").unwrap();
        assert_eq!(
            rx.unprotect(b"", &fresh).unwrap_err(),
            CryptoError::UnknownKeyId(2)
        );
        rx.add_key(DEFAULT_SUITE, 2, b"new").unwrap();
        assert_eq!(rx.unprotect(b"", &fresh).unwrap(), b"after");
        assert_eq!(rx.unprotect(b"", &late).unwrap(), b"before");
        rx.remove_key(1);
        assert_eq!(
            rx.unprotect(b"", &late).unwrap_err(),
            CryptoError::UnknownKeyId(1)
        );
    }

    #[test]
    fn replay_window_accepts_reordering_and_rejects_old_frames() {
        let mut tx = SframeSender::new(DEFAULT_SUITE, 0, b"k").unwrap();
        let mut rx = SframeReceiver::new();
        rx.add_key(DEFAULT_SUITE, 0, b"k").unwrap();
        let frames: Vec<Vec<u8>> = (0..REPLAY_WINDOW + 10)
            .map(|_| tx.protect(b"", b"f").unwrap())
            .collect();
        // Out of order within the window: fine.
        rx.unprotect(b"", &frames[5]).unwrap();
        rx.unprotect(b"", &frames[3]).unwrap();
        rx.unprotect(b"", &frames[4]).unwrap();
        assert_eq!(
            rx.unprotect(b"", &frames[3]).unwrap_err(),
            CryptoError::Replay
        );
        // Jump ahead; frame 6 is now more than a window behind.
        let last = frames.len() - 1;
        rx.unprotect(b"", &frames[last]).unwrap();
        assert_eq!(
            rx.unprotect(b"", &frames[6]).unwrap_err(),
            CryptoError::Replay
        );
        // But one inside the window, never seen, is accepted once.
        rx.unprotect(b"", &frames[last - 100]).unwrap();
        assert_eq!(
            rx.unprotect(b"", &frames[last - 100]).unwrap_err(),
            CryptoError::Replay
        );
    }

    #[test]
    fn a_forged_frame_does_not_move_the_window() {
        let mut tx = SframeSender::new(DEFAULT_SUITE, 0, b"k").unwrap();
        let mut rx = SframeReceiver::new();
        rx.add_key(DEFAULT_SUITE, 0, b"k").unwrap();
        let first = tx.protect(b"", b"f").unwrap();
        // An attacker sends garbage with a huge counter; if it moved the window, real frames
        // would then be dropped as too old.
        let mut forged = SframeHeader {
            kid: 0,
            ctr: 1_000_000,
        }
        .encode();
        forged.extend_from_slice(&[0u8; 32]);
        assert_eq!(
            rx.unprotect(b"", &forged).unwrap_err(),
            CryptoError::DecryptionFailed
        );
        assert_eq!(rx.unprotect(b"", &first).unwrap(), b"f");
    }
}

#[cfg(test)]
mod rfc_vectors;
