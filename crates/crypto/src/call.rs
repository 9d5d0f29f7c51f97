//! Per-call media keys: an ephemeral X25519 exchange bound to both devices' identity keys.
//!
//! Each side makes a fresh ephemeral key per call and sends its public half inside a signed,
//! sealed signaling envelope. Both then derive, with HKDF-SHA256 over the ephemeral shared
//! secret, one SFrame base key per direction; the HKDF info names the call and both identities
//! in role order (caller first), as RingRTC does, so the keys only agree when both sides agree
//! on who is talking to whom. Forward secrecy: the ephemeral secrets are dropped (zeroized)
//! once the keys are derived.

use std::fmt;

use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroizing;

use crate::{CryptoError, PublicIdentity, primitives};

/// Which end of the call this device is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum CallRole {
    /// Placed the call.
    Caller,
    /// Answered it.
    Callee,
}

/// One side's half of a call key exchange.
pub struct CallKeyExchange {
    role: CallRole,
    call_id: [u8; 16],
    secret: x25519_dalek::StaticSecret,
    public: [u8; 32],
}

impl fmt::Debug for CallKeyExchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallKeyExchange")
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// The two SFrame base keys of a call, from this device's point of view. Zeroized on drop;
/// neither copied nor readable: they are used once, by [`CallKeys::into_sframe`].
pub struct CallKeys {
    send: Zeroizing<[u8; 32]>,
    receive: Zeroizing<[u8; 32]>,
}

impl CallKeys {
    /// Consumes the keys into this call's SFrame sender and receiver, both under key id
    /// `kid` and `suite`. Suites with short tags (64 or 32 bits) are refused: a media frame
    /// forged with probability 2^-32 per try is not acceptable for a clinical call.
    pub fn into_sframe(
        self,
        suite: crate::sframe::CipherSuite,
        kid: u64,
    ) -> Result<(crate::sframe::SframeSender, crate::sframe::SframeReceiver), CryptoError> {
        if suite.tag_len() < 10 {
            return Err(CryptoError::Malformed("an SFrame suite with a short tag"));
        }
        let sender = crate::sframe::SframeSender::new(suite, kid, self.send.as_ref())?;
        let mut receiver = crate::sframe::SframeReceiver::new();
        receiver.add_key(suite, kid, self.receive.as_ref())?;
        Ok((sender, receiver))
    }
}

impl fmt::Debug for CallKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CallKeys { .. }")
    }
}

impl CallKeyExchange {
    /// Starts an exchange for `call_id` with a fresh ephemeral key.
    pub fn new<R: RngCore + CryptoRng>(role: CallRole, call_id: [u8; 16], rng: &mut R) -> Self {
        let secret = x25519_dalek::StaticSecret::random_from_rng(rng);
        let public = x25519_dalek::PublicKey::from(&secret).to_bytes();
        Self {
            role,
            call_id,
            secret,
            public,
        }
    }

    /// The ephemeral public key to send to the peer (inside a sealed signaling envelope).
    pub fn public_key(&self) -> [u8; 32] {
        self.public
    }

    /// Derives the call keys from the peer's ephemeral key. `me` and `peer` are the two devices'
    /// identities. Consumes the exchange so the ephemeral secret is erased.
    pub fn finish(
        self,
        me: &PublicIdentity,
        peer: &PublicIdentity,
        peer_ephemeral: &[u8; 32],
    ) -> Result<CallKeys, CryptoError> {
        let shared = primitives::x25519_agree(&self.secret, peer_ephemeral)?;
        // Role order, so both sides feed HKDF the same bytes.
        let (initiator, responder, initiator_ephemeral, responder_ephemeral) = match self.role {
            CallRole::Caller => (me, peer, &self.public, peer_ephemeral),
            CallRole::Callee => (peer, me, peer_ephemeral, &self.public),
        };
        let mut okm = Zeroizing::new([0u8; 64]);
        primitives::hkdf_sha256(
            &self.call_id,
            shared.as_ref(),
            &[
                b"outpost/v1/call-keys",
                &self.call_id,
                &initiator.to_bytes(),
                &responder.to_bytes(),
                initiator_ephemeral,
                responder_ephemeral,
            ],
            okm.as_mut(),
        )?;
        let mut caller_to_callee = Zeroizing::new([0u8; 32]);
        let mut callee_to_caller = Zeroizing::new([0u8; 32]);
        caller_to_callee.copy_from_slice(&okm[..32]);
        callee_to_caller.copy_from_slice(&okm[32..]);
        Ok(match self.role {
            CallRole::Caller => CallKeys {
                send: caller_to_callee,
                receive: callee_to_caller,
            },
            CallRole::Callee => CallKeys {
                send: callee_to_caller,
                receive: caller_to_callee,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DeviceIdentity;
    use rand_core::OsRng;

    fn exchange(call_id: [u8; 16]) -> (CallKeyExchange, CallKeyExchange) {
        (
            CallKeyExchange::new(CallRole::Caller, call_id, &mut OsRng),
            CallKeyExchange::new(CallRole::Callee, call_id, &mut OsRng),
        )
    }

    #[test]
    fn both_sides_agree_and_directions_differ() {
        let alice = DeviceIdentity::generate(&mut OsRng).public();
        let bob = DeviceIdentity::generate(&mut OsRng).public();
        let (a, b) = exchange([1; 16]);
        let (a_pub, b_pub) = (a.public_key(), b.public_key());
        let ka = a.finish(&alice, &bob, &b_pub).unwrap();
        let kb = b.finish(&bob, &alice, &a_pub).unwrap();
        assert_eq!(*ka.send, *kb.receive);
        assert_eq!(*ka.receive, *kb.send);
        assert_ne!(*ka.send, *ka.receive);
        // And as SFrame: what one side protects, the other opens; its own receiver does not.
        let (mut a_tx, _) = ka.into_sframe(crate::sframe::DEFAULT_SUITE, 1).unwrap();
        let (_, mut b_rx) = kb.into_sframe(crate::sframe::DEFAULT_SUITE, 1).unwrap();
        let frame = a_tx.protect(b"meta", b"frame").unwrap();
        assert_eq!(b_rx.unprotect(b"meta", &frame).unwrap(), b"frame");
    }

    #[test]
    fn keys_are_bound_to_identities_and_call() {
        let alice = DeviceIdentity::generate(&mut OsRng).public();
        let bob = DeviceIdentity::generate(&mut OsRng).public();
        let mallory = DeviceIdentity::generate(&mut OsRng).public();
        let (a, b) = exchange([2; 16]);
        let (a_pub, b_pub) = (a.public_key(), b.public_key());
        let ka = a.finish(&alice, &bob, &b_pub).unwrap();
        // Bob believes he is talking to Mallory: keys must not match.
        let kb = b.finish(&bob, &mallory, &a_pub).unwrap();
        assert_ne!(*ka.send, *kb.receive);

        let (a, b) = exchange([3; 16]);
        let b_pub = b.public_key();
        let a_other_call = CallKeyExchange {
            call_id: [4; 16],
            ..a
        };
        let a_pub = a_other_call.public_key();
        let ka = a_other_call.finish(&alice, &bob, &b_pub).unwrap();
        let kb = b.finish(&bob, &alice, &a_pub).unwrap();
        assert_ne!(*ka.send, *kb.receive);
    }

    #[test]
    fn low_order_ephemeral_is_refused() {
        let alice = DeviceIdentity::generate(&mut OsRng).public();
        let (a, _) = exchange([5; 16]);
        assert_eq!(
            a.finish(&alice, &alice, &[0u8; 32]).unwrap_err(),
            CryptoError::NonContributory
        );
    }

    #[test]
    fn short_tag_suites_are_refused_for_calls() {
        let alice = DeviceIdentity::generate(&mut OsRng).public();
        let bob = DeviceIdentity::generate(&mut OsRng).public();
        for suite in [
            crate::sframe::CipherSuite::Aes128CtrHmacSha256_64,
            crate::sframe::CipherSuite::Aes128CtrHmacSha256_32,
        ] {
            let (a, b) = exchange([6; 16]);
            let b_pub = b.public_key();
            let keys = a.finish(&alice, &bob, &b_pub).unwrap();
            assert!(keys.into_sframe(suite, 1).is_err(), "{suite:?}");
        }
    }
}
