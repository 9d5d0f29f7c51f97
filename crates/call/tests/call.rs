//! Two real call sessions in one process, WebRTC over loopback UDP, signaling through an
//! in-memory wire that a test can tamper with: synthetic video and audio flow both ways,
//! every frame through SFrame; chat and files cross the data channel; a rewritten fingerprint
//! or a tampered signal ends the call as a security failure with no media decoded.

use std::sync::Arc;
use std::time::Duration;

use outpost_call::State;
use outpost_call::session::{CallEvent, CallHandle, Command, Inbound};
use outpost_call::share::ShareEvent;
use outpost_call::signal::{EndReason, Signal};
use tokio::sync::{mpsc, oneshot};

mod loopback;

use loopback::{Rewrite as Tamper, call_pair as pair};

/// Places a call from Alice to Bob and has Bob accept; `tamper` applies to what Bob sends.
async fn call_pair(tamper_bob: Option<Tamper>) -> (CallHandle, CallHandle) {
    pair(None, tamper_bob).await
}

async fn wait_state(h: &mut CallHandle, want: State) -> Vec<CallEvent> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let event = tokio::time::timeout_at(deadline, h.events.recv())
            .await
            .unwrap_or_else(|_| panic!("no {want:?} in time; saw {seen:?}"))
            .expect("events end with Ended");
        let done = matches!(&event, CallEvent::State(s) if *s == want)
            || matches!(&event, CallEvent::Ended { .. });
        seen.push(event);
        if done {
            return seen;
        }
    }
}

async fn stats(h: &CallHandle) -> outpost_call::stats::CallStats {
    let (tx, rx) = oneshot::channel();
    h.commands.send(Command::Stats(tx)).unwrap();
    rx.await.unwrap()
}

async fn ended(h: &mut CallHandle) -> (EndReason, outpost_call::stats::CallStats) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    loop {
        match tokio::time::timeout_at(deadline, h.events.recv()).await {
            Ok(Some(CallEvent::Ended { reason, stats })) => return (reason, *stats),
            Ok(Some(_)) => {}
            other => panic!("call did not end: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_video_call_carries_stamped_frames_both_ways_and_ends_cleanly() {
    let (mut a, mut b) = call_pair(None).await;
    wait_state(&mut a, State::Connected).await;
    wait_state(&mut b, State::Connected).await;

    // Four seconds of media: collect what each side decodes.
    let collect = |mut video: mpsc::Receiver<outpost_call::media::pipeline::RemoteFrame>| {
        tokio::spawn(async move {
            let mut frames = Vec::new();
            let end = tokio::time::Instant::now() + Duration::from_secs(4);
            while let Ok(Some(f)) = tokio::time::timeout_at(end, video.recv()).await {
                frames.push(f);
            }
            (frames, video)
        })
    };
    let at_b = collect(std::mem::replace(&mut b.video, mpsc::channel(1).1));
    let at_a = collect(std::mem::replace(&mut a.video, mpsc::channel(1).1));
    a.commands
        .send(Command::Chat("Can you hear me?".into()))
        .unwrap();
    let photo: Vec<u8> = (0..1_000_000u32).map(|i| (i * 13 % 251) as u8).collect();
    b.commands
        .send(Command::ShareFile {
            name: "rash.jpg".into(),
            mime: "image/jpeg".into(),
            bytes: photo.clone(),
        })
        .unwrap();
    let (frames_b, _) = at_b.await.unwrap();
    let (frames_a, _) = at_a.await.unwrap();
    for (side, frames) in [("Bob", &frames_b), ("Alice", &frames_a)] {
        assert!(frames.len() >= 30, "{side} decoded {} frames", frames.len());
        let numbers: Vec<u32> = frames
            .iter()
            .map(|f| {
                f.stamp
                    .expect("every decoded frame carries its stamp")
                    .frame
            })
            .collect();
        assert!(
            numbers.windows(2).all(|w| w[1] > w[0]),
            "{side}: frames out of order: {numbers:?}"
        );
        assert_eq!(
            (frames[0].picture.width, frames[0].picture.height),
            (640, 360)
        );
    }

    let sa = stats(&a).await;
    let sb = stats(&b).await;
    for s in [&sa, &sb] {
        assert!(s.connected && s.fingerprint_verified, "{s:?}");
        assert_eq!(s.video.frames_rejected, 0);
        assert_eq!(s.audio.frames_rejected, 0);
        assert!(s.audio.frames_decoded >= 100, "{s:?}");
        assert!(s.time_to_first_frame_ms.is_some());
        assert_eq!(s.sframe_suite.as_deref(), Some("Aes128GcmSha256_128"));
    }
    // What one side sent, the other decoded (allowing frames in flight).
    assert!(sb.video.frames_decoded + 5 >= sa.video.frames_sent.min(sb.video.frames_received));

    // Chat reached Bob; the photo reached Alice intact.
    let mut chat = false;
    let mut photo_ok = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !(chat && photo_ok) {
        tokio::select! {
            Some(e) = b.events.recv() => {
                if let CallEvent::Share(ShareEvent::Chat(c)) = e {
                    chat |= c.text == "Can you hear me?";
                }
            }
            Some(e) = a.events.recv() => {
                if let CallEvent::Share(ShareEvent::Received(f)) = e {
                    photo_ok = f.bytes == photo && f.name == "rash.jpg";
                }
            }
            () = tokio::time::sleep_until(deadline) => panic!("chat {chat}, photo {photo_ok}"),
        }
    }

    a.commands.send(Command::HangUp).unwrap();
    assert_eq!(ended(&mut a).await.0, EndReason::HungUp);
    assert_eq!(ended(&mut b).await.0, EndReason::HungUp);
}

/// Rewrites the DTLS fingerprint in Bob's answer: what a man in the middle who could change
/// signaling would do to put his own DTLS endpoint between the two.
fn rewrite_fingerprint(signal: Signal) -> Inbound {
    Inbound::Signal(match signal {
        Signal::Answer(mut sdp) => {
            sdp.sdp = sdp
                .sdp
                .lines()
                .map(|l| {
                    if let Some(fp) = l.strip_prefix("a=fingerprint:sha-256 ") {
                        let flipped: String = fp
                            .chars()
                            .map(|c| {
                                if c == 'A' {
                                    'B'
                                } else if c == 'B' {
                                    'A'
                                } else {
                                    c
                                }
                            })
                            .collect();
                        format!("a=fingerprint:sha-256 {flipped}")
                    } else {
                        l.to_owned()
                    }
                })
                .collect::<Vec<_>>()
                .join("\r\n")
                + "\r\n";
            Signal::Answer(sdp)
        }
        other => other,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rewritten_fingerprint_fails_closed_with_no_media() {
    let (mut a, mut b) = call_pair(Some(Arc::new(rewrite_fingerprint))).await;
    let (reason, stats) = ended(&mut a).await;
    assert_eq!(reason, EndReason::Security);
    assert!(!stats.fingerprint_verified);
    assert_eq!(stats.video.frames_decoded, 0);
    assert_eq!(stats.audio.frames_decoded, 0);
    // Bob is told, or times out: either way no media.
    let (_, stats_b) = ended(&mut b).await;
    assert_eq!(stats_b.video.frames_decoded, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_tampered_signal_ends_the_call_as_a_security_failure() {
    let tamper: Tamper = Arc::new(|signal| match signal {
        Signal::Answer(_) => Inbound::Tampered,
        other => Inbound::Signal(other),
    });
    let (mut a, _b) = call_pair(Some(tamper)).await;
    let (reason, stats) = ended(&mut a).await;
    assert_eq!(reason, EndReason::Security);
    assert!(!stats.connected);
    assert_eq!(stats.video.frames_decoded, 0);
}
