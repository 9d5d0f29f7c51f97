//! Fuzz SFrame receive: arbitrary frames against a keyed receiver never panic and never decrypt.
#![no_main]

use libfuzzer_sys::fuzz_target;
use outpost_crypto::{CipherSuite, SframeReceiver};

fuzz_target!(|data: &[u8]| {
    let mut rx = SframeReceiver::new();
    for (kid, suite) in [
        (0, CipherSuite::OutpostChaCha20Poly1305Sha256_128),
        (1, CipherSuite::Aes128CtrHmacSha256_80),
        (300, CipherSuite::Aes128GcmSha256_128),
    ] {
        rx.add_key(suite, kid, b"fuzz base key").unwrap();
    }
    // Without the keys' sender, no input may authenticate (80- and 128-bit tags: forging one
    // by chance is out of reach for any fuzzing run).
    assert!(rx.unprotect(b"", data).is_err(), "forged frame accepted");
});
