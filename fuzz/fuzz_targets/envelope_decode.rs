//! Fuzz the envelope decoder: never panic, and whatever decodes re-encodes to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use outpost_crypto::SealedEnvelope;

fuzz_target!(|data: &[u8]| {
    if let Ok(envelope) = SealedEnvelope::decode(data) {
        assert_eq!(envelope.encode(), data, "decode/encode is not a bijection");
    }
});
