//! Fuzz the SFrame header decoder: never panic; a decoded header re-encodes no longer than read.
#![no_main]

use libfuzzer_sys::fuzz_target;
use outpost_crypto::SframeHeader;

fuzz_target!(|data: &[u8]| {
    if let Ok((header, len)) = SframeHeader::decode(data) {
        assert!(len <= data.len());
        let minimal = header.encode();
        assert!(minimal.len() <= len);
        assert_eq!(
            SframeHeader::decode(&minimal).ok(),
            Some((header, minimal.len()))
        );
    }
});
