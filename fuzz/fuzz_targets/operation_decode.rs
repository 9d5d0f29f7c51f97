//! Fuzz the operation decoder (bytes from the log on disk, and from other devices through
//! sync): never a panic; what decodes re-encodes to the same bytes; a payload that decodes
//! re-encodes canonically; a flipped byte never leaves a valid signature.
#![no_main]

use libfuzzer_sys::fuzz_target;
use outpost_proto::{Operation, Payload, canon::Canon};

fuzz_target!(|data: &[u8]| {
    let Ok(op) = Operation::decode(data.to_vec()) else {
        return;
    };
    assert_eq!(op.as_bytes(), data);
    let _ = op.hash();
    if let Ok(payload) = op.payload() {
        // One canonical encoding: the bytes that were signed are the bytes re-encoded.
        assert_eq!(payload.body(), op.payload_bytes());
        assert_eq!(
            Payload::decode(payload.kind(), &payload.body()).ok(),
            Some(payload.clone())
        );
        if let Payload::Legacy(l) = &payload {
            let _ = l.inner();
        }
        let _ = payload.patient(op.header().target);
        let _ = payload.action();
    }
    // Any key: a random operation is not signed by it.
    assert!(op.verify(&[9u8; 32]).is_err());
    let _ = outpost_proto::Hlc::decode(&mut outpost_proto::canon::Reader::new(data));
});
