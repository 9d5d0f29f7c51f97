//! Crypto benchmarks: each figure beside a baseline measured in the same run, as a ratio.
//!
//! Baselines: ring's ChaCha20-Poly1305 for envelopes; the bare AEAD of the same suite for SFrame
//! (framing must add under 10%). Batches of ours and the baseline alternate, and the median batch
//! is reported, so a noisy machine moves both sides alike.

// A benchmark's job is to print its report; its figures are far below f64's precision limits.
#![allow(clippy::print_stdout, clippy::cast_precision_loss)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use outpost_crypto::{
    CipherSuite, ContentType, DeviceIdentity, GroupId, GroupKey, KdfParams, PassphraseRecord,
    SealedEnvelope, SframeReceiver, SframeSender,
};
use rand_core::OsRng;

const BATCHES: usize = 9;
const BATCH_TIME: Duration = Duration::from_millis(120);

/// Median time per call of `ours` and `base`, measured in alternating batches.
fn compare(mut ours: impl FnMut(), mut base: impl FnMut()) -> (Duration, Duration) {
    let iters_ours = calibrate(&mut ours);
    let iters_base = calibrate(&mut base);
    let mut a = Vec::with_capacity(BATCHES);
    let mut b = Vec::with_capacity(BATCHES);
    for _ in 0..BATCHES {
        a.push(batch(&mut ours, iters_ours));
        b.push(batch(&mut base, iters_base));
    }
    (median(a), median(b))
}

fn calibrate(f: &mut impl FnMut()) -> u32 {
    let mut iters = 1u32;
    loop {
        let start = Instant::now();
        for _ in 0..iters {
            f();
        }
        if start.elapsed() >= BATCH_TIME / 4 || iters >= 1 << 24 {
            return (iters * 4).max(1);
        }
        iters *= 2;
    }
}

fn batch(f: &mut impl FnMut(), iters: u32) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        f();
    }
    start.elapsed() / iters
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn mbps(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / d.as_secs_f64() / 1e6
}

fn report(name: &str, bytes: usize, ours: Duration, base_name: &str, base: Duration) {
    println!(
        "{name:<44} ours {:>10.0} ns ({:>7.1} MB/s) | {base_name} {:>10.0} ns ({:>7.1} MB/s) | ratio {:.2}x",
        ours.as_nanos() as f64,
        mbps(bytes, ours),
        base.as_nanos() as f64,
        mbps(bytes, base),
        ours.as_secs_f64() / base.as_secs_f64()
    );
}

fn ring_seal_open(key: &ring::aead::LessSafeKey, data: &[u8]) {
    let nonce = ring::aead::Nonce::assume_unique_for_key([7u8; 12]);
    let mut buf = data.to_vec();
    key.seal_in_place_append_tag(nonce, ring::aead::Aad::from(&[0u8; 48]), &mut buf)
        .unwrap();
    let nonce = ring::aead::Nonce::assume_unique_for_key([7u8; 12]);
    let pt = key
        .open_in_place(nonce, ring::aead::Aad::from(&[0u8; 48]), &mut buf)
        .unwrap();
    black_box(pt);
}

fn envelopes() {
    let alice = DeviceIdentity::generate(&mut OsRng);
    let group_key = GroupKey::generate(GroupId([1; 16]), 0, &mut OsRng);
    let ring_key = ring::aead::LessSafeKey::new(
        ring::aead::UnboundKey::new(&ring::aead::CHACHA20_POLY1305, &[9u8; 32]).unwrap(),
    );
    let public = alice.public();
    for size in [1024usize, 64 * 1024] {
        let data = vec![0x5au8; size];
        let (ours, base) = compare(
            || {
                let env = SealedEnvelope::seal_group(
                    &alice,
                    &group_key,
                    1,
                    ContentType::RECORD,
                    &data,
                    &mut OsRng,
                )
                .unwrap();
                let wire = env.encode();
                let opened = SealedEnvelope::decode(&wire)
                    .unwrap()
                    .open_group(&group_key, &public)
                    .unwrap();
                black_box(opened);
            },
            || ring_seal_open(&ring_key, &data),
        );
        report(
            &format!("envelope seal+open (signed) {} KiB", size / 1024),
            size,
            ours,
            "ring chacha20poly1305",
            base,
        );
    }
}

fn sframe() {
    let suites = [
        (
            CipherSuite::OutpostChaCha20Poly1305Sha256_128,
            "bare chacha20poly1305",
        ),
        (CipherSuite::Aes128GcmSha256_128, "bare aes-128-gcm"),
    ];
    for (suite, base_name) in suites {
        for size in [1200usize, 30 * 1024] {
            let payload = vec![0xa5u8; size];
            let mut tx = SframeSender::new(suite, 3, b"benchmark base key").unwrap();
            let mut rx = SframeReceiver::new();
            rx.add_key(suite, 3, b"benchmark base key").unwrap();
            let bare = BareAead::new(suite);
            let (ours, base) = compare(
                || {
                    let frame = tx.protect(b"", &payload).unwrap();
                    black_box(rx.unprotect(b"", &frame).unwrap());
                },
                || bare.seal_open(&payload),
            );
            report(
                &format!("sframe {suite:?} protect+unprotect {size} B"),
                size,
                ours,
                base_name,
                base,
            );
        }
    }
}

/// The bare AEAD of a suite, keyed once (as SFrame keys once per key id).
enum BareAead {
    Aes(Box<aes_gcm::Aes128Gcm>),
    ChaCha(Box<chacha20poly1305::ChaCha20Poly1305>),
}

impl BareAead {
    fn new(suite: CipherSuite) -> Self {
        use aes_gcm::KeyInit;
        if suite == CipherSuite::Aes128GcmSha256_128 {
            Self::Aes(Box::new(
                aes_gcm::Aes128Gcm::new_from_slice(&[3u8; 16]).unwrap(),
            ))
        } else {
            Self::ChaCha(Box::new(
                chacha20poly1305::ChaCha20Poly1305::new_from_slice(&[3u8; 32]).unwrap(),
            ))
        }
    }

    /// Seal into a fresh buffer and open into another: the same allocations SFrame makes, with
    /// a fixed nonce and no header.
    fn seal_open(&self, payload: &[u8]) {
        match self {
            Self::Aes(c) => seal_open_with(c.as_ref(), payload),
            Self::ChaCha(c) => seal_open_with(c.as_ref(), payload),
        }
    }
}

fn seal_open_with<A>(cipher: &A, payload: &[u8])
where
    A: aes_gcm::AeadInPlace<
            NonceSize = aes_gcm::aead::consts::U12,
            TagSize = aes_gcm::aead::consts::U16,
        >,
{
    let nonce = [1u8; 12];
    let mut buf = Vec::with_capacity(payload.len() + 16);
    buf.extend_from_slice(payload);
    let tag = cipher
        .encrypt_in_place_detached(&nonce.into(), b"", &mut buf)
        .unwrap();
    buf.extend_from_slice(&tag);
    let mut pt = buf[..buf.len() - 16].to_vec();
    cipher
        .decrypt_in_place_detached(&nonce.into(), b"", &mut pt, &tag)
        .unwrap();
    black_box(pt);
}

fn argon2() {
    for (name, params) in [
        ("default (64 MiB, t=3)", KdfParams::DEFAULT),
        ("OWASP minimum (19 MiB, t=2)", KdfParams::OWASP_MIN),
    ] {
        let (record, _) =
            PassphraseRecord::create(b"benchmark passphrase", params, &mut OsRng).unwrap();
        let mut times: Vec<Duration> = (0..5)
            .map(|_| {
                let start = Instant::now();
                black_box(record.unlock(b"benchmark passphrase").unwrap());
                start.elapsed()
            })
            .collect();
        times.sort();
        println!(
            "argon2id unlock {name:<32} median {:>7.1} ms (min {:.1}, max {:.1})",
            ms(times[2]),
            ms(times[0]),
            ms(times[4])
        );
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    // `cargo test --benches` runs this with --bench absent; keep that quick.
    if !std::env::args().any(|a| a == "--bench") {
        println!("crypto benches: run with `make bench`");
        return;
    }
    println!("== outpost-crypto");
    envelopes();
    sframe();
    argon2();
}
