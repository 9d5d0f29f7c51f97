//! SFrame properties: any payload, metadata and key id round-trip; headers round-trip.

use outpost_crypto::{CipherSuite, SframeHeader, SframeReceiver, SframeSender};
use proptest::prelude::*;

fn suite() -> impl Strategy<Value = CipherSuite> {
    prop_oneof![
        Just(CipherSuite::Aes128CtrHmacSha256_80),
        Just(CipherSuite::Aes128GcmSha256_128),
        Just(CipherSuite::Aes256GcmSha512_128),
        Just(CipherSuite::OutpostChaCha20Poly1305Sha256_128),
    ]
}

proptest! {
    #[test]
    fn header_round_trips(kid in any::<u64>(), ctr in any::<u64>()) {
        let h = SframeHeader { kid, ctr };
        let enc = h.encode();
        prop_assert!(enc.len() <= 17);
        prop_assert_eq!(SframeHeader::decode(&enc).unwrap(), (h, enc.len()));
    }

    #[test]
    fn header_decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..24)) {
        let _ = SframeHeader::decode(&bytes);
    }

    #[test]
    fn frames_round_trip(
        suite in suite(),
        kid in any::<u64>(),
        base_key in proptest::collection::vec(any::<u8>(), 16..64),
        metadata in proptest::collection::vec(any::<u8>(), 0..32),
        frames in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..1500), 1..8),
    ) {
        let mut tx = SframeSender::new(suite, kid, &base_key).unwrap();
        let mut rx = SframeReceiver::new();
        rx.add_key(suite, kid, &base_key).unwrap();
        let sealed: Vec<Vec<u8>> = frames.iter().map(|f| tx.protect(&metadata, f).unwrap()).collect();
        // Deliver in reverse: still within the replay window.
        for (frame, original) in sealed.iter().zip(&frames).rev() {
            prop_assert_eq!(&rx.unprotect(&metadata, frame).unwrap(), original);
        }
        for frame in &sealed {
            prop_assert!(rx.unprotect(&metadata, frame).is_err());
        }
    }
}
