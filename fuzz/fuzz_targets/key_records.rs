//! Fuzz the stored key formats: passphrase records and wrapped identities never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use outpost_crypto::{DeviceIdentity, PassphraseRecord};

fuzz_target!(|data: &[u8]| {
    if let Ok(record) = PassphraseRecord::decode(data) {
        assert_eq!(record.encode(), data);
    }
    let _ = DeviceIdentity::unwrap(&[0u8; 32], data);
});
