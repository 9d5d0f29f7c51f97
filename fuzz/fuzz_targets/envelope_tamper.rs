//! Fuzz tampering: a valid sealed envelope XOR-ed with fuzzer bytes must never open, unless the
//! mask changes nothing. Starts from real envelopes, so the fuzzer explores past the length
//! checks that random bytes rarely get through.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use outpost_crypto::{ContentType, DeviceIdentity, GroupId, GroupKey, SealedEnvelope};
use rand_core::{CryptoRng, RngCore};

/// Deterministic randomness (a fuzz target must be reproducible); never used outside fuzzing.
struct Counter(u64);

impl RngCore for Counter {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for b in dest {
            *b = (self.next_u64() >> 56) as u8;
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for Counter {}

struct Fixture {
    alice: DeviceIdentity,
    bob: DeviceIdentity,
    key: GroupKey,
    group_wire: Vec<u8>,
    direct_wire: Vec<u8>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let mut rng = Counter(42);
        let alice = DeviceIdentity::generate(&mut rng);
        let bob = DeviceIdentity::generate(&mut rng);
        let key = GroupKey::generate(GroupId([7; 16]), 1, &mut rng);
        let group_wire = SealedEnvelope::seal_group(
            &alice,
            &key,
            9,
            ContentType::RECORD,
            b"BP 142/91",
            &mut rng,
        )
        .unwrap()
        .encode();
        let direct_wire = SealedEnvelope::seal_direct(
            &alice,
            &bob.public(),
            GroupId([7; 16]),
            10,
            ContentType::INVITE,
            b"join",
            &mut rng,
        )
        .unwrap()
        .encode();
        Fixture {
            alice,
            bob,
            key,
            group_wire,
            direct_wire,
        }
    })
}

fuzz_target!(|mask: &[u8]| {
    let f = fixture();
    let (wire, is_group) = if mask.first().is_some_and(|b| b & 1 == 1) {
        (&f.direct_wire, false)
    } else {
        (&f.group_wire, true)
    };
    let mut tampered = wire.clone();
    for (byte, m) in tampered.iter_mut().zip(mask.iter().skip(1)) {
        *byte ^= m;
    }
    // Bytes beyond the envelope are appended: an over-long input must fail too.
    if mask.len() > wire.len() + 1 {
        tampered.extend_from_slice(&mask[wire.len() + 1..]);
    }
    let opened = SealedEnvelope::decode(&tampered).and_then(|e| {
        if is_group {
            e.open_group(&f.key, &f.alice.public()).map(|_| ())
        } else {
            e.open_direct(&f.bob, &f.alice.public()).map(|_| ())
        }
    });
    if tampered != *wire {
        assert!(opened.is_err(), "a tampered envelope opened");
    } else {
        assert!(opened.is_ok(), "an untouched envelope failed to open");
    }
});
