//! Calls and video visits between separate `outpost` processes through a real relay process on
//! loopback: synthetic audio and video both ways with every frame through SFrame, in-call chat
//! and a 5 MB file; the patient flow from visit code to admitted call; a used visit code; a
//! patient profile that cannot read charts.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use outpost_tests::scenario::{Device, Relay, Turn, physicians_in_workspace};
use serde_json::Value;

/// Two physicians' devices in one workspace.
fn pair(root: &Path, relay_url: &str) -> (Device, Device) {
    physicians_in_workspace(root, relay_url, ("a", "Dr Adjei"), ("b", "Dr Bello"))
}

fn my_user_id(d: &Device) -> String {
    let members = d.json(&["workspace", "members"]);
    members
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["status"] == "you")
        .map(|m| m["user"].as_str().unwrap().to_owned())
        .expect("this device's own member row")
}

/// Starts a command in the background; returns once its stderr printed `ready` (the line it
/// prints when it is connected to the relay and listening), forwarding the rest of stderr.
fn spawn_ready(d: &Device, args: &[&str], ready: &str) -> Child {
    let mut child = d
        .command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start outpost");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let wanted = ready.to_owned();
    std::thread::spawn(move || {
        let mut said = false;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("  [{}] {line}", if said { "call" } else { "setup" });
            if !said && line.contains(&wanted) {
                said = true;
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(Duration::from_mins(1))
        .unwrap_or_else(|_| panic!("{args:?} never said {ready:?}"));
    child
}

fn finish(child: Child, what: &str) -> String {
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{what} failed ({:?}); stdout: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn stats(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("the stats file")).unwrap()
}

/// What a connected call's numbers must say on each side.
fn assert_media_flowed(s: &Value, side: &str) {
    assert_eq!(s["connected"], true, "{side}: {s}");
    assert_eq!(s["fingerprint_verified"], true, "{side}: {s}");
    // AES-GCM with the full 128-bit tag (the short-tag suites are refused).
    assert_eq!(s["sframe_suite"], "Aes128GcmSha256_128", "{side}: {s}");
    for kind in ["video", "audio"] {
        let m = &s[kind];
        assert!(
            m["frames_sent"].as_u64().unwrap() > 20,
            "{side} {kind}: {m}"
        );
        assert!(
            m["frames_decoded"].as_u64().unwrap() > 20,
            "{side} {kind}: {m}"
        );
        // Every frame received went through SFrame: what was not rejected was decrypted.
        assert_eq!(m["frames_rejected"], 0, "{side} {kind}: {m}");
    }
    let frames = &s["remote_frames"];
    assert!(
        frames["frames_checked"].as_u64().unwrap() > 20,
        "{side}: decoded pictures carried the sender's stamps: {frames}"
    );
    assert_eq!(
        frames["out_of_order"], 0,
        "{side}: frames in order: {frames}"
    );
    assert!(
        s["time_to_first_frame_ms"].as_u64().is_some(),
        "{side}: {s}"
    );
}

#[test]
fn two_devices_call_through_the_relay_with_video_audio_chat_and_a_5mb_file() {
    let root = tempfile::tempdir().unwrap();
    let relay = Relay::start(&root.path().join("relay"));
    let (a, b) = pair(root.path(), &relay.url);
    // A photo-sized file with no structure a codec could help with.
    let mut bytes = vec![0u8; 5 * 1024 * 1024];
    let mut x = 0x1234_5678_u32;
    for b in &mut bytes {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = x.to_le_bytes()[0];
    }
    let photo = root.path().join("wound-photo.jpg");
    std::fs::write(&photo, &bytes).unwrap();
    let b_stats = root.path().join("b.json");
    let a_stats = root.path().join("a.json");
    let inbox = root.path().join("inbox");
    let started = Instant::now();
    let answer = spawn_ready(
        &b,
        &[
            "call",
            "answer",
            "--synthetic",
            "--duration",
            "8s",
            "--stats-json",
            b_stats.to_str().unwrap(),
            "--chat",
            "Hello from Dr Bello",
            "--receive-dir",
            inbox.to_str().unwrap(),
        ],
        "Waiting for a call",
    );
    let call = a
        .command(&[
            "call",
            "start",
            "--to",
            &my_user_id(&b),
            "--synthetic",
            "--duration",
            "8s",
            "--stats-json",
            a_stats.to_str().unwrap(),
            "--chat",
            "Hello from Dr Adjei",
            "--send-file",
            photo.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let a_out = finish(call, "call start");
    let b_out = finish(answer, "call answer");
    eprintln!("call took {:?}", started.elapsed());
    assert_media_flowed(&stats(&a_stats), "caller");
    assert_media_flowed(&stats(&b_stats), "callee");
    assert!(b_out.contains("chat: Hello from Dr Adjei"), "{b_out}");
    assert!(a_out.contains("chat: Hello from Dr Bello"), "{a_out}");
    assert!(
        a_out.contains("delivered"),
        "the sender heard the file arrived: {a_out}"
    );
    let received = std::fs::read(inbox.join("wound-photo.jpg")).expect("the file was saved");
    assert!(received == bytes, "the 5 MB file arrived intact");
}

/// Media through a real TURN server (coturn) with credentials the relay issued in coturn's
/// REST format: both sides refuse direct paths, so the call connects only if coturn accepted
/// the relay's credentials and relayed every packet.
#[test]
fn a_relay_only_call_goes_through_coturn_with_credentials_the_relay_issued() {
    let root = tempfile::tempdir().unwrap();
    let turn = Turn::start(&root.path().join("turn"));
    let relay = Relay::start_with(
        &root.path().join("relay"),
        &[
            "--turn-url",
            &turn.url,
            "--turn-secret-file",
            turn.secret_file.to_str().unwrap(),
        ],
    );
    let (a, b) = pair(root.path(), &relay.url);
    let (a_stats, b_stats) = (root.path().join("a.json"), root.path().join("b.json"));
    let answer = spawn_ready(
        &b,
        &[
            "call",
            "answer",
            "--synthetic",
            "--relay-only",
            "--duration",
            "4s",
            "--stats-json",
            b_stats.to_str().unwrap(),
        ],
        "Waiting for a call",
    );
    let call = a
        .command(&[
            "call",
            "start",
            "--to",
            &my_user_id(&b),
            "--synthetic",
            "--relay-only",
            "--duration",
            "4s",
            "--stats-json",
            a_stats.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    finish(call, "call start");
    finish(answer, "call answer");
    for (path, side) in [(&a_stats, "caller"), (&b_stats, "callee")] {
        let s = stats(path);
        assert_media_flowed(&s, side);
        assert_eq!(s["path"], "relay", "{side} sent through TURN: {s}");
    }
    let log = turn.log().join("\n");
    assert!(
        log.contains("ALLOCATE processed, success"),
        "coturn accepted the relay's credentials: {log}"
    );

    // A relay without a TURN server: a relay-only call is refused at once, in words.
    let plain = Relay::start(&root.path().join("plain-relay"));
    let (c, _d) = physicians_in_workspace(
        &root.path().join("plain"),
        &plain.url,
        ("c", "Dr Chukwu"),
        ("d", "Dr Diallo"),
    );
    let out = c.try_run(&[
        "call",
        "answer",
        "--synthetic",
        "--relay-only",
        "--wait",
        "5s",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("offers no TURN server"), "{err}");
}

#[test]
fn a_patient_knocks_with_a_visit_code_is_admitted_and_the_code_works_once() {
    let root = tempfile::tempdir().unwrap();
    let relay = Relay::start(&root.path().join("relay"));
    let a = Device::new(root.path(), "a", "passphrase of dr a");
    a.run(&["init", "--name", "Dr Adjei", "--role", "physician"]);
    a.run(&[
        "workspace",
        "create",
        "--name",
        "Riverside",
        "--relay",
        &relay.url,
    ]);
    let patient = a.json(&[
        "patient",
        "add",
        "--given",
        "Ama",
        "--family",
        "Mensah",
        "--birth-date",
        "1980-02-03",
    ])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let code = a.run(&["visit", "invite", "--patient", &patient]);
    let code = code.trim();
    assert!(code.starts_with("outpost-visit-1:"), "{code}");
    assert!(!code.contains("Ama"), "the code carries no patient data");

    let p = Device::new(root.path(), "ama", "ama's own passphrase");
    p.run(&["init", "--name", "Ama", "--role", "patient"]);
    let p_stats = root.path().join("p.json");
    let a_stats = root.path().join("a.json");
    let admit = spawn_ready(
        &a,
        &[
            "visit",
            "admit",
            "--first",
            "--synthetic",
            "--duration",
            "4s",
            "--stats-json",
            a_stats.to_str().unwrap(),
        ],
        "Waiting room open",
    );
    let join = p
        .command(&[
            "visit",
            "join",
            code,
            "--synthetic",
            "--duration",
            "4s",
            "--stats-json",
            p_stats.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    finish(join, "visit join");
    finish(admit, "visit admit");
    assert_media_flowed(&stats(&a_stats), "physician");
    assert_media_flowed(&stats(&p_stats), "patient");

    // The call is on the chart as a video encounter, started and finished.
    let chart = a.json(&["patient", "show", &patient]);
    let encounters = &chart["encounters"];
    let video: Vec<&Value> = encounters
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "video")
        .collect();
    assert_eq!(video.len(), 1, "{encounters}");
    assert!(!video[0]["ended_at"].is_null(), "{encounters}");

    // The code was spent on Ama's device: another device cannot use it.
    let q = Device::new(root.path(), "someone-else", "another passphrase");
    q.run(&["init", "--name", "Someone", "--role", "patient"]);
    let reused = q.try_run(&["visit", "join", code, "--synthetic", "--wait", "5s"]);
    assert!(!reused.status.success());
    let err = String::from_utf8_lossy(&reused.stderr);
    assert!(err.contains("already used"), "{err}");

    // A patient's profile holds no charts and cannot read any.
    let charts = p.try_run(&["patient", "list"]);
    let err = String::from_utf8_lossy(&charts.stderr);
    assert!(!charts.status.success(), "a patient profile listed charts");
    assert!(err.contains("not permitted"), "{err}");
}

/// Opens a device's profile in this process, unlocked, as the desktop app does.
async fn open_core(d: &Device) -> outpost_core::Core {
    let core = outpost_core::Core::open_with(
        &d.dir,
        std::sync::Arc::new(outpost_core::SystemClock),
        Some(d.anchors.clone()),
    )
    .unwrap();
    let user = core.users().await.unwrap()[0].id.to_hex();
    core.unlock(user, zeroize::Zeroizing::new(d.passphrase.clone()))
        .await
        .unwrap();
    core
}

async fn until_view(
    desk: &outpost_core::desk::CallDesk,
    what: &str,
    ok: impl Fn(&outpost_core::desk::CallView) -> bool,
) -> outpost_core::desk::CallView {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let v = desk.view();
        if ok(&v) {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: the view stayed {v:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_call_desk_rings_answers_shows_pictures_chat_and_audio_only_and_ends() {
    use outpost_core::call::{session::Command, signal::CallKind};
    use outpost_core::desk::CallDesk;
    let root = tempfile::tempdir().unwrap();
    let relay = Relay::start(&root.path().join("relay"));
    let (a, b) = pair(root.path(), &relay.url);
    let b_user = my_user_id(&b);
    let desk_a = CallDesk::new(open_core(&a).await, Default::default());
    let desk_b = CallDesk::new(open_core(&b).await, Default::default());
    desk_b.go_online().await.unwrap();
    desk_a.go_online().await.unwrap();
    desk_a.call(&b_user, CallKind::Video).await.unwrap();
    until_view(&desk_b, "ringing", |v| v.ringing.is_some()).await;
    desk_b.accept().await.unwrap();
    for desk in [&desk_a, &desk_b] {
        let v = until_view(desk, "connected", |v| {
            v.state.as_deref() == Some("connected")
        })
        .await;
        let digits = v.safety_number.as_deref().unwrap_or_default();
        assert_eq!(
            digits.chars().filter(char::is_ascii_digit).count(),
            60,
            "{digits}"
        );
    }
    assert_eq!(
        desk_a.view().safety_number,
        desk_b.view().safety_number,
        "both sides read the same number"
    );
    // Pictures arrive for the screen, newest only.
    until_view(&desk_a, "pictures", |v| v.frames >= 10).await;
    let (n, picture) = desk_a.frame(0).expect("a picture");
    assert!(n >= 10);
    assert_eq!((picture.width, picture.height), (640, 360));
    assert!(desk_a.frame(n).is_none() || desk_a.frame(n).unwrap().0 > n);
    // Chat both ways, and audio only on one side shows on the other.
    desk_a
        .command(Command::Chat("Can you see me?".into()))
        .unwrap();
    until_view(&desk_b, "chat", |v| {
        v.chat
            .iter()
            .any(|c| !c.mine && c.text == "Can you see me?")
    })
    .await;
    desk_b.command(Command::AudioOnly(true)).unwrap();
    until_view(&desk_a, "peer audio only", |v| {
        v.peer_notice
            .as_deref()
            .is_some_and(|n| n.contains("audio only"))
    })
    .await;
    desk_a.command(Command::HangUp).unwrap();
    let v = until_view(&desk_b, "ended", |v| v.ended.is_some()).await;
    assert_eq!(v.ended.as_deref(), Some("hung_up"));
    let stats: Value = serde_json::from_str(v.stats.as_deref().unwrap()).unwrap();
    assert_eq!(stats["connected"], true);
    assert_eq!(stats["fingerprint_verified"], true);
}

/// Two physicians ring each other at the same moment (glare): instead of two calls ringing
/// unanswered, the call with the smaller id goes on and the other side accepts it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_physicians_ringing_each_other_at_once_end_up_in_one_call() {
    use outpost_core::call::{session::Command, signal::CallKind};
    use outpost_core::desk::CallDesk;
    let root = tempfile::tempdir().unwrap();
    let relay = Relay::start(&root.path().join("relay"));
    let (a, b) = pair(root.path(), &relay.url);
    let (a_user, b_user) = (my_user_id(&a), my_user_id(&b));
    let desk_a = CallDesk::new(open_core(&a).await, Default::default());
    let desk_b = CallDesk::new(open_core(&b).await, Default::default());
    desk_a.go_online().await.unwrap();
    desk_b.go_online().await.unwrap();
    let (placed_a, placed_b) = tokio::join!(
        desk_a.call(&b_user, CallKind::Video),
        desk_b.call(&a_user, CallKind::Video)
    );
    placed_a.unwrap();
    placed_b.unwrap();
    for desk in [&desk_a, &desk_b] {
        until_view(desk, "connected after glare", |v| {
            v.state.as_deref() == Some("connected")
        })
        .await;
    }
    assert_eq!(desk_a.view().safety_number, desk_b.view().safety_number);
    until_view(&desk_a, "pictures", |v| v.frames >= 5).await;
    until_view(&desk_b, "pictures", |v| v.frames >= 5).await;
    desk_b.command(Command::HangUp).unwrap();
    let v = until_view(&desk_a, "ended", |v| v.ended.is_some()).await;
    assert_eq!(v.ended.as_deref(), Some("hung_up"));
}

/// A relay owned by an attacker: a TCP proxy in front of the real relay that passes HTTP
/// through and, on `/v1/signal` sockets, flips one bit in the first large signal it delivers
/// (an SDP-bearing envelope). Returns its URL and how many signals it altered.
fn hostile_relay(upstream: &str) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let upstream = upstream.trim_start_matches("http://").to_owned();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let altered = std::sync::Arc::new(AtomicUsize::new(0));
    let count = std::sync::Arc::clone(&altered);
    std::thread::spawn(move || {
        for client in listener.incoming().map_while(Result::ok) {
            let upstream = upstream.clone();
            let count = std::sync::Arc::clone(&count);
            std::thread::spawn(move || {
                let Ok(server) = TcpStream::connect(&upstream) else {
                    return;
                };
                let mut first = [0u8; 16];
                let n = client.peek(&mut first).unwrap_or(0);
                let signal = first[..n].starts_with(b"GET /v1/signal");
                let (mut c_read, mut s_write) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut c_read, &mut s_write);
                    let _ = s_write.shutdown(std::net::Shutdown::Write);
                });
                let (mut s_read, mut c_write) = (server, client);
                if !signal {
                    let _ = std::io::copy(&mut s_read, &mut c_write);
                    return;
                }
                // The handshake answer, byte by byte up to its blank line.
                let mut head = Vec::new();
                let mut b = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if s_read.read_exact(&mut b).is_err() {
                        return;
                    }
                    head.push(b[0]);
                }
                if c_write.write_all(&head).is_err() {
                    return;
                }
                // Server-to-client WebSocket frames are not masked: header, then payload.
                loop {
                    let mut h = [0u8; 2];
                    if s_read.read_exact(&mut h).is_err() {
                        return;
                    }
                    let mut header = h.to_vec();
                    let len = match h[1] & 0x7f {
                        126 => {
                            let mut l = [0u8; 2];
                            if s_read.read_exact(&mut l).is_err() {
                                return;
                            }
                            header.extend_from_slice(&l);
                            usize::from(u16::from_be_bytes(l))
                        }
                        127 => {
                            let mut l = [0u8; 8];
                            if s_read.read_exact(&mut l).is_err() {
                                return;
                            }
                            header.extend_from_slice(&l);
                            usize::try_from(u64::from_be_bytes(l)).unwrap()
                        }
                        l => usize::from(l),
                    };
                    let mut payload = vec![0u8; len];
                    if s_read.read_exact(&mut payload).is_err() {
                        return;
                    }
                    let binary = h[0] & 0x0f == 2;
                    if binary && len > 400 && count.fetch_add(1, Ordering::SeqCst) == 0 {
                        payload[len - 1] ^= 1;
                    }
                    if c_write.write_all(&header).is_err() || c_write.write_all(&payload).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url, altered)
}

#[test]
fn a_relay_that_alters_a_signal_ends_the_call_as_a_security_failure_with_no_media() {
    let root = tempfile::tempdir().unwrap();
    let relay = Relay::start(&root.path().join("relay"));
    let (mitm, altered) = hostile_relay(&relay.url);
    let (a, b) = pair(root.path(), &mitm);
    let b_stats = root.path().join("b.json");
    let a_stats = root.path().join("a.json");
    let answer = spawn_ready(
        &b,
        &[
            "call",
            "answer",
            "--synthetic",
            "--duration",
            "5s",
            "--stats-json",
            b_stats.to_str().unwrap(),
        ],
        "Waiting for a call",
    );
    let started = a.try_run(&[
        "call",
        "start",
        "--to",
        &my_user_id(&b),
        "--synthetic",
        "--duration",
        "5s",
        "--wait",
        "30s",
        "--stats-json",
        a_stats.to_str().unwrap(),
    ]);
    let answered = answer.wait_with_output().unwrap();
    assert!(
        altered.load(std::sync::atomic::Ordering::SeqCst) >= 1,
        "the relay altered a signal"
    );
    for (who, out, stats_path) in [
        ("caller", &started, &a_stats),
        ("callee", &answered, &b_stats),
    ] {
        assert!(!out.status.success(), "{who} reported success");
        // (The callee's stderr went to the test log through `spawn_ready`.)
        if who == "caller" {
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.contains("security"), "{who}: {err}");
        }
        let s = stats(stats_path);
        assert_eq!(s["end_reason"], "security", "{who}: {s}");
        assert_eq!(s["video"]["frames_decoded"], 0, "{who}: no media: {s}");
        assert_eq!(s["audio"]["frames_decoded"], 0, "{who}: no media: {s}");
    }
}
