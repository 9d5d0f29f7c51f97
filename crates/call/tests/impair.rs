//! Calls over an impaired link: two real call sessions whose media runs through a UDP
//! impairment proxy on loopback (this kernel has no `netem`, so delay, loss, a rate cap and an
//! outage are made in user space). Each side is told, in its signaling, that the other is at
//! the proxy; the proxy delays, drops and rate-limits what it forwards.
//!
//! - 300 ms round trip with 5% loss each way: audio and video keep flowing.
//! - A 64 kbit/s cap: the call steps down to audio only within 10 s, and back to video within
//!   30 s after the cap is lifted.
//! - A 10 s outage: the call reconnects (ICE restart) and media flows again.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use outpost_call::adapt::Level;
use outpost_call::session::{CallEvent, CallHandle, Command, Inbound};
use outpost_call::signal::Signal;
use outpost_call::stats::CallStats;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};

mod loopback;
use tokio::time::Instant;

/// What the link does to packets, changed while the call runs.
#[derive(Debug, Clone, Copy, Default)]
struct Impairment {
    /// One-way delay.
    delay: Duration,
    /// Probability a packet is dropped.
    loss: f64,
    /// Rate cap in bits per second (a FIFO with 300 ms of queue, then tail drop, like tbf).
    rate_bps: Option<u64>,
    /// Drop everything.
    down: bool,
}

/// One impaired call at a time: two sessions already keep both cores of a CI machine busy, and
/// the timings asserted here are about the link, not about CPU contention.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Longest a packet may wait in the rate-capped queue before it is dropped.
const QUEUE_LIMIT: Duration = Duration::from_millis(300);

/// The proxy: `at_a` stands for Alice as Bob sees her, `at_b` for Bob as Alice sees him.
struct Proxy {
    at_a: SocketAddr,
    at_b: SocketAddr,
    link: Arc<Mutex<Impairment>>,
}

impl Proxy {
    async fn start() -> Self {
        let sa = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let sb = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let link = Arc::new(Mutex::new(Impairment::default()));
        let proxy = Self {
            at_a: sa.local_addr().unwrap(),
            at_b: sb.local_addr().unwrap(),
            link: Arc::clone(&link),
        };
        // Alice's real address is learned from what she sends to `at_b`, Bob's likewise.
        let alice = Arc::new(Mutex::new(None::<SocketAddr>));
        let bob = Arc::new(Mutex::new(None::<SocketAddr>));
        tokio::spawn(forward(
            Arc::clone(&sb),
            Arc::clone(&sa),
            Arc::clone(&alice),
            Arc::clone(&bob),
            Arc::clone(&link),
        ));
        tokio::spawn(forward(sa, sb, bob, alice, link));
        proxy
    }

    fn set(&self, f: impl FnOnce(&mut Impairment)) {
        f(&mut self.link.lock().unwrap());
    }
}

/// Packets arriving on `inbound` (from the device whose address goes into `from`) leave from
/// `outbound` towards the other device (`to`), impaired.
async fn forward(
    inbound: Arc<UdpSocket>,
    outbound: Arc<UdpSocket>,
    from: Arc<Mutex<Option<SocketAddr>>>,
    to: Arc<Mutex<Option<SocketAddr>>>,
    link: Arc<Mutex<Impairment>>,
) {
    let (tx, mut rx) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let out = Arc::clone(&outbound);
    tokio::spawn(async move {
        while let Some((at, bytes)) = rx.recv().await {
            tokio::time::sleep_until(at).await;
            let dest = *to.lock().unwrap();
            if let Some(dest) = dest {
                let _ = out.send_to(&bytes, dest).await;
            }
        }
    });
    let mut buf = vec![0u8; 2048];
    let mut queue_free = Instant::now();
    let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
    while let Ok((n, src)) = inbound.recv_from(&mut buf).await {
        *from.lock().unwrap() = Some(src);
        let imp = *link.lock().unwrap();
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        #[allow(clippy::cast_precision_loss)]
        let roll = (rng >> 11) as f64 / (1u64 << 53) as f64;
        if imp.down || roll < imp.loss {
            continue;
        }
        let now = Instant::now();
        let mut at = now;
        if let Some(rate) = imp.rate_bps {
            let start = queue_free.max(now);
            if start - now > QUEUE_LIMIT {
                continue;
            }
            let send_time = Duration::from_micros(n as u64 * 8 * 1_000_000 / rate);
            queue_free = start + send_time;
            at = queue_free;
        }
        let _ = tx.send((at + imp.delay, buf[..n].to_vec()));
    }
}

/// Rewrites the address in a candidate line to `to`.
fn rewrite_candidate(line: &str, to: SocketAddr) -> String {
    let mut parts: Vec<String> = line.split(' ').map(str::to_owned).collect();
    if parts.len() > 5 {
        parts[4] = to.ip().to_string();
        parts[5] = to.port().to_string();
    }
    parts.join(" ")
}

/// Rewrites the candidate lines of an SDP to `to`.
fn rewrite_sdp(sdp: &str, to: SocketAddr) -> String {
    sdp.split("\r\n")
        .map(|l| match l.strip_prefix("a=") {
            Some(c) if c.starts_with("candidate:") => format!("a={}", rewrite_candidate(c, to)),
            _ => l.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\r\n")
}

/// Tells the peer that the sender is at the proxy (`me_at`).
fn via_proxy(me_at: SocketAddr) -> loopback::Rewrite {
    Arc::new(move |signal| {
        Inbound::Signal(match signal {
            Signal::Candidate(mut c) => {
                c.candidate = rewrite_candidate(&c.candidate, me_at);
                Signal::Candidate(c)
            }
            Signal::Offer(mut s) => {
                s.sdp = rewrite_sdp(&s.sdp, me_at);
                Signal::Offer(s)
            }
            Signal::Answer(mut s) => {
                s.sdp = rewrite_sdp(&s.sdp, me_at);
                Signal::Answer(s)
            }
            other => other,
        })
    })
}

async fn call_through(proxy: &Proxy) -> (CallHandle, CallHandle) {
    loopback::call_pair(Some(via_proxy(proxy.at_a)), Some(via_proxy(proxy.at_b))).await
}

/// Reads a side's events and video in the background: its state changes and level changes
/// with when they happened, so the test can ask about them later.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<(Instant, String)>>>);

impl Log {
    fn watch(mut h: CallHandle) -> (Self, mpsc::UnboundedSender<Command>) {
        let log = Self::default();
        let l = log.clone();
        let commands = h.commands.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    e = h.events.recv() => {
                        let Some(e) = e else { break };
                        let entry = match e {
                            CallEvent::State(s) => format!("state {s:?}"),
                            CallEvent::Level(c) => format!("level {:?}", c.to),
                            CallEvent::Ended { reason, .. } => format!("ended {reason:?}"),
                            _ => continue,
                        };
                        l.0.lock().unwrap().push((Instant::now(), entry));
                    }
                    f = h.video.recv() => if f.is_none() { break },
                }
            }
        });
        (log, commands)
    }

    fn first_after(&self, since: Instant, what: &str) -> Option<Duration> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .find(|(t, e)| *t >= since && e == what)
            .map(|(t, _)| *t - since)
    }

    fn has(&self, what: &str) -> bool {
        self.0
            .lock()
            .unwrap()
            .iter()
            .any(|(_, e)| e.starts_with(what))
    }

    fn entries(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|(_, e)| e.clone())
            .collect()
    }
}

async fn stats_of(commands: &mpsc::UnboundedSender<Command>) -> CallStats {
    let (tx, rx) = oneshot::channel();
    commands.send(Command::Stats(tx)).unwrap();
    rx.await.unwrap()
}

async fn until(log: &Log, since: Instant, what: &str, within: Duration) -> Duration {
    let deadline = since + within;
    loop {
        if let Some(d) = log.first_after(since, what) {
            return d;
        }
        assert!(
            Instant::now() < deadline,
            "no {what:?} within {within:?}; saw {:?}",
            log.entries()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_300ms_round_trip_with_5_percent_loss_keeps_audio_flowing() {
    lossy_link(false).await;
}

/// Video keeps moving too: frames wait two round trips for their NACK repairs (keyframes
/// three), and the ladder reads the loss the receiver reports, not GCC's inflated figure.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_300ms_round_trip_with_5_percent_loss_keeps_video_flowing() {
    lossy_link(true).await;
}

async fn lossy_link(check_video: bool) {
    let _one = SERIAL.lock().await;
    let proxy = Proxy::start().await;
    proxy.set(|l| {
        l.delay = Duration::from_millis(150);
        l.loss = 0.05;
    });
    let start = Instant::now();
    let (a, b) = call_through(&proxy).await;
    let (log_a, cmd_a) = Log::watch(a);
    let (log_b, cmd_b) = Log::watch(b);
    until(&log_a, start, "state Connected", Duration::from_secs(20)).await;
    until(&log_b, start, "state Connected", Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    let before = (stats_of(&cmd_a).await, stats_of(&cmd_b).await);
    tokio::time::sleep(Duration::from_secs(6)).await;
    let after = (stats_of(&cmd_a).await, stats_of(&cmd_b).await);
    for (side, b, a) in [("Alice", &before.0, &after.0), ("Bob", &before.1, &after.1)] {
        let video = a.video.frames_decoded - b.video.frames_decoded;
        let audio = a.audio.frames_decoded - b.audio.frames_decoded;
        eprintln!(
            "{side}: in 6 s decoded {video} video frames, {audio} audio frames; rtt {:?} ms, loss {:?}, level {:?}; audio {:?} -> {:?}",
            a.rtt_ms, a.loss, a.level, b.audio, a.audio
        );
        // 6 s is 300 Opus frames; 5% are lost and FEC recovers some of them.
        assert!(audio >= 240, "{side}: audio stalled: {audio} frames in 6 s");
        // Video may step down to 7.5 fps on this link but must keep moving: at least 2 fps
        // over the 6 s. A stall (a lost keyframe never repaired, a frozen decoder) gives next
        // to nothing; a loaded 2-core CI run was seen at 24 frames (4 fps) while moving.
        if check_video {
            assert!(video >= 12, "{side}: video stalled: {video} frames in 6 s");
        }
        assert_eq!(a.video.frames_rejected, 0, "{side}");
        assert!(
            a.rtt_ms.is_some_and(|r| r >= 250.0),
            "{side}: rtt {:?}",
            a.rtt_ms
        );
    }
    assert!(!log_a.has("ended") && !log_b.has("ended"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_64_kbit_cap_steps_down_to_audio_only_within_10s_and_back_within_30s() {
    let _one = SERIAL.lock().await;
    let proxy = Proxy::start().await;
    let start = Instant::now();
    let (a, b) = call_through(&proxy).await;
    let (log_a, cmd_a) = Log::watch(a);
    let (log_b, _cmd_b) = Log::watch(b);
    until(&log_a, start, "state Connected", Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let capped = Instant::now();
    proxy.set(|l| l.rate_bps = Some(64_000));
    let down_a = until(&log_a, capped, "level AudioOnly", Duration::from_secs(10)).await;
    let down_b = until(&log_b, capped, "level AudioOnly", Duration::from_secs(10)).await;
    eprintln!("audio only after {down_a:?} (Alice), {down_b:?} (Bob)");
    // Audio continues on the capped link once what video queued has drained.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let s1 = stats_of(&cmd_a).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let s2 = stats_of(&cmd_a).await;
    let audio = s2.audio.frames_decoded - s1.audio.frames_decoded;
    eprintln!("under the cap: {audio} of 150 audio frames in 3 s");
    assert!(
        audio >= 100,
        "audio stalled under the cap: {audio} frames in 3 s; Alice saw {:?}; {s2:?}",
        log_a.entries()
    );
    let lifted = Instant::now();
    proxy.set(|l| l.rate_bps = None);
    let deadline = lifted + Duration::from_secs(30);
    let back = loop {
        let entries = log_a.0.lock().unwrap().clone();
        if let Some((t, _)) = entries
            .iter()
            .find(|(t, e)| *t >= lifted && e.starts_with("level ") && e != "level AudioOnly")
        {
            break *t - lifted;
        }
        assert!(
            Instant::now() < deadline,
            "video did not come back within 30 s: {:?}",
            log_a.entries()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    eprintln!("video back after {back:?}");
    let s = stats_of(&cmd_a).await;
    assert!(
        s.audio_only_periods.iter().any(|p| p.end_ms.is_some()),
        "the audio-only period is recorded with its end: {:?}",
        s.audio_only_periods
    );
    assert_ne!(s.level, Some(Level::AudioOnly));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_10_second_outage_is_survived_and_media_flows_again() {
    let _one = SERIAL.lock().await;
    let proxy = Proxy::start().await;
    let start = Instant::now();
    let (a, b) = call_through(&proxy).await;
    let (log_a, cmd_a) = Log::watch(a);
    let (log_b, cmd_b) = Log::watch(b);
    until(&log_a, start, "state Connected", Duration::from_secs(20)).await;
    until(&log_b, start, "state Connected", Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let cut = Instant::now();
    proxy.set(|l| l.down = true);
    tokio::time::sleep(Duration::from_secs(10)).await;
    proxy.set(|l| l.down = false);
    let restored = Instant::now();
    let before = stats_of(&cmd_b).await;
    // Media flows again: Bob decodes new video within 20 s of the link's return.
    let deadline = restored + Duration::from_secs(20);
    loop {
        let now = stats_of(&cmd_b).await;
        if now.video.frames_decoded >= before.video.frames_decoded + 15 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no media after the outage; Alice saw {:?}, Bob saw {:?}",
            log_a.entries(),
            log_b.entries()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!(
        "media back {:?} after the link returned; Alice saw {:?}",
        restored.elapsed(),
        log_a.entries()
    );
    assert!(
        log_a.first_after(cut, "state Reconnecting").is_some(),
        "the outage was noticed: {:?}",
        log_a.entries()
    );
    assert!(!log_a.has("ended") && !log_b.has("ended"));
    let s = stats_of(&cmd_a).await;
    assert!(s.connected);
}
