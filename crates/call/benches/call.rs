//! Call benchmarks, each figure beside a baseline measured in the same run.
//!
//! - SFrame on the wire: the same 640x360@15 H.264 frames packetized with and without SFrame;
//!   bytes per second and CPU per frame of the whole send path (encode, protect, packetize).
//! - Admit to first decoded remote frame: 20 real calls between two sessions over loopback UDP
//!   (ICE, DTLS, SRTP, SFrame), p50/p95, beside the time to "connected" in the same calls.
//! - Glass-to-glass: the synthetic pattern's send stamp to the decoded picture on the far
//!   side, p50/p95, beside the codec alone (encode then decode one frame) in the same run.

// A benchmark's job is to print its report; its figures are far below f64's precision limits.
#![allow(
    clippy::print_stdout,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

use std::time::{Duration, Instant};

use outpost_call::State;
use outpost_call::codec::{VideoDecoder, VideoEncoder, VideoSettings};
use outpost_call::packet::packetize;
use outpost_call::session::{CallEvent, CallHandle, Command};
use outpost_call::synthetic::TestPattern;
use outpost_crypto::{SframeSender, sframe::DEFAULT_SUITE};
#[path = "../tests/loopback/mod.rs"]
mod loopback;

/// RTP fixed header and SRTP auth tag per packet: both paths pay them.
const PER_PACKET: usize = 12 + 10;

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn sframe_overhead() {
    const FRAMES: usize = 150; // ten seconds at 15 fps
    let mut pattern = TestPattern::new(640, 360);
    let mut encoder = VideoEncoder::new(VideoSettings {
        bitrate_bps: 500_000,
        fps: 15,
    })
    .expect("encoder");
    let mut sframe = SframeSender::new(DEFAULT_SUITE, 1, &[7u8; 16]).expect("sframe");
    let (mut plain_bytes, mut sframe_bytes) = (0usize, 0usize);
    let (mut plain_cpu, mut sframe_cpu) = (Duration::ZERO, Duration::ZERO);
    let mut protect_cpu = Duration::ZERO;
    let mut frames = Vec::with_capacity(FRAMES);
    for i in 0..FRAMES {
        let (pic, _) = pattern.next_frame(i as u64 * 66);
        let t = Instant::now();
        let encoded = encoder.encode(&pic).expect("encode");
        let encode_time = t.elapsed();
        frames.push((encoded, encode_time));
    }
    // Alternate the two paths frame by frame so a noisy moment hits both.
    for (encoded, encode_time) in &frames {
        if encoded.data.is_empty() {
            continue;
        }
        let t = Instant::now();
        let packets = packetize(&encoded.data, encoded.keyframe);
        plain_cpu += *encode_time + t.elapsed();
        plain_bytes += packets.iter().map(|p| p.len() + PER_PACKET).sum::<usize>();

        let t = Instant::now();
        let protected = sframe
            .protect(&[b'v', u8::from(encoded.keyframe)], &encoded.data)
            .expect("protect");
        protect_cpu += t.elapsed();
        let packets = packetize(&protected, encoded.keyframe);
        sframe_cpu += *encode_time + t.elapsed();
        sframe_bytes += packets.iter().map(|p| p.len() + PER_PACKET).sum::<usize>();
    }
    let seconds = FRAMES as f64 / 15.0;
    let overhead = (sframe_bytes as f64 / plain_bytes as f64 - 1.0) * 100.0;
    println!("video 640x360@15, 500 kbit/s target, {FRAMES} frames:");
    println!(
        "  bytes on the wire (RTP + SRTP tag): {:.1} kB/s with SFrame vs {:.1} kB/s without: +{overhead:.2}% (goal < 3%)",
        sframe_bytes as f64 / seconds / 1000.0,
        plain_bytes as f64 / seconds / 1000.0,
    );
    let per_frame = |d: Duration| d.as_secs_f64() * 1000.0 / FRAMES as f64;
    println!(
        "  send path CPU per frame (encode, protect, packetize): {:.3} ms with SFrame vs {:.3} ms without ({:.1}% of one core at 15 fps); SFrame itself {:.1} us per frame",
        per_frame(sframe_cpu),
        per_frame(plain_cpu),
        per_frame(sframe_cpu) * 15.0 / 10.0,
        per_frame(protect_cpu) * 1000.0,
    );
}

/// Places a call and accepts it at once (the admit); returns both handles.
async fn pair() -> (CallHandle, CallHandle) {
    loopback::call_pair(None, None).await
}

async fn hang_up(mut a: CallHandle, b: CallHandle) {
    let _ = a.commands.send(Command::HangUp);
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(e) = a.events.recv().await {
            if matches!(e, CallEvent::Ended { .. }) {
                break;
            }
        }
    })
    .await;
    drop(b);
}

async fn admit_to_first_frame() {
    const CALLS: usize = 20;
    let (mut first, mut connected) = (Vec::new(), Vec::new());
    for _ in 0..CALLS {
        let start = Instant::now();
        let (mut a, b) = pair().await;
        let mut connected_at = None;
        let got = tokio::time::timeout(Duration::from_secs(15), async {
            loop {
                tokio::select! {
                    e = a.events.recv() => {
                        if matches!(e, Some(CallEvent::State(State::Connected))) {
                            connected_at.get_or_insert_with(|| start.elapsed());
                        }
                        if e.is_none() { return false; }
                    }
                    f = a.video.recv() => return f.is_some(),
                }
            }
        })
        .await;
        if got == Ok(true) {
            first.push(start.elapsed().as_secs_f64() * 1000.0);
            if let Some(c) = connected_at {
                connected.push(c.as_secs_f64() * 1000.0);
            }
        }
        hang_up(a, b).await;
    }
    assert!(!first.is_empty(), "no call delivered a frame");
    println!(
        "admit -> first decoded remote video frame, loopback, {} of {CALLS} calls: p50 {:.0} ms, p95 {:.0} ms (goal < 500 ms); ICE+DTLS connected at p50 {:.0} ms",
        first.len(),
        percentile(&mut first, 0.5),
        percentile(&mut first, 0.95),
        if connected.is_empty() {
            f64::NAN
        } else {
            percentile(&mut connected, 0.5)
        },
    );
}

async fn glass_to_glass() {
    let (a, mut b) = pair().await;
    let mut delays = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(12);
    while let Ok(Some(frame)) = tokio::time::timeout_at(deadline, b.video.recv()).await {
        if let Some(stamp) = frame.stamp {
            delays.push(frame.decoded_ms.saturating_sub(stamp.sent_ms) as f64);
        }
    }
    hang_up(a, b).await;
    // The codec alone, in the same run: encode then decode one 640x360 frame.
    let mut pattern = TestPattern::new(640, 360);
    let mut encoder = VideoEncoder::new(VideoSettings {
        bitrate_bps: 500_000,
        fps: 15,
    })
    .expect("encoder");
    let mut decoder = VideoDecoder::new().expect("decoder");
    let mut codec = Vec::new();
    for i in 0..60u64 {
        let (pic, _) = pattern.next_frame(i * 66);
        let t = Instant::now();
        let encoded = encoder.encode(&pic).expect("encode");
        if !encoded.data.is_empty() {
            let _ = decoder.decode(&encoded.data).expect("decode");
            codec.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    assert!(
        delays.len() > 20,
        "too few frames arrived: {}",
        delays.len()
    );
    println!(
        "glass-to-glass 640x360@15, loopback, {} frames: p50 {:.0} ms, p95 {:.0} ms (goal < 100 ms); codec alone (encode + decode): p50 {:.1} ms, p95 {:.1} ms",
        delays.len(),
        percentile(&mut delays, 0.5),
        percentile(&mut delays, 0.95),
        percentile(&mut codec, 0.5),
        percentile(&mut codec, 0.95),
    );
}

fn main() {
    // `cargo test --benches` runs this with `--bench` absent: keep that quick.
    if !std::env::args().any(|a| a == "--bench") {
        println!("call benches: run with `make bench`");
        return;
    }
    println!("== outpost-call");
    sframe_overhead();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(admit_to_first_frame());
    rt.block_on(glass_to_glass());
}
