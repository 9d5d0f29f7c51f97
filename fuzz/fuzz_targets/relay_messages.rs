//! Fuzz every relay protocol message decoder (the relay decodes what any client sends; clients
//! decode what a possibly hostile relay answers): never a panic, and what decodes re-encodes to
//! exactly the same bytes (one canonical encoding). The first byte picks the message type.
#![no_main]

use libfuzzer_sys::fuzz_target;
use outpost_proto::{canon::Canon, relay::*};

fn roundtrip<T: Canon + PartialEq + std::fmt::Debug>(data: &[u8]) {
    if let Ok(v) = T::from_canonical(data) {
        assert_eq!(v.to_canonical(), data);
        assert_eq!(T::from_canonical(&v.to_canonical()).ok(), Some(v));
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which % 16 {
        0 => roundtrip::<Challenge>(rest),
        1 => roundtrip::<CreateWorkspace>(rest),
        2 => roundtrip::<OpenSession>(rest),
        3 => roundtrip::<Session>(rest),
        4 => roundtrip::<Join>(rest),
        5 => roundtrip::<CreateInvite>(rest),
        6 => roundtrip::<SetDevice>(rest),
        7 => roundtrip::<Push>(rest),
        8 => roundtrip::<PushAck>(rest),
        9 => roundtrip::<Pull>(rest),
        10 => roundtrip::<Batch>(rest),
        11 => roundtrip::<SendDirect>(rest),
        12 => roundtrip::<DirectBatch>(rest),
        13 => roundtrip::<Delivery>(rest),
        14 => roundtrip::<ErrorBody>(rest),
        _ => roundtrip::<Live>(rest),
    }
});
