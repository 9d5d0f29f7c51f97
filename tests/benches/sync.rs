//! Sync benchmarks, each beside a baseline measured in the same run.
//!
//! 1. Convergence after reconnect: three devices (real encrypted stores) each write a third of
//!    N operations offline, then sync through a real relay on loopback until all three hold
//!    everything; beside Automerge's sync protocol on an equivalent document set (three peers,
//!    N single-change map entries of the same fields, synced through a hub document), in
//!    process. Reports time, bytes on the wire per operation delivered, and the ratio of wire
//!    bytes to the operations' own bytes.
//! 2. The relay under 200 connected devices (live sockets): sustained pushes per second and
//!    push-to-delivery latency (push sent to envelope received on another device's socket),
//!    beside the same pushes' request round trip alone; and the process's memory.
//!
//! `OUTPOST_BENCH_OPS` (comma-separated) overrides N (default 1000,10000,100000).

// A benchmark's arithmetic on counts and timings, and its printing.
#![allow(
    clippy::print_stdout,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss,
    clippy::too_many_lines,
    clippy::needless_range_loop,
    clippy::map_unwrap_or
)]

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use automerge::{AutoCommit, ObjType, ROOT, ScalarValue, sync::SyncDoc, transaction::Transactable};
use outpost_core::{net::RelayClient, replica::StoreReplica};
use outpost_crypto::{ContentType, DeviceIdentity, GroupId, GroupKey, KdfParams, SealedEnvelope};
use outpost_proto::{
    WorkspaceId,
    canon::{Bytes, Canon},
    relay::{Push, SetDevice},
};
use outpost_relay::{Config, Limits, Relay};
use outpost_store::{
    Profile, Role, Store, SystemClock,
    records::{NewPatient, VitalKind},
    workspace::InviteCode,
};
use outpost_sync::{Action, Engine, Outgoing, Request, Response};
use outpost_tests::scenario::relay_session;
use rand_core::OsRng;

const FAST: KdfParams = KdfParams {
    m_cost_kib: 8 * 1024,
    t_cost: 1,
    p_cost: 1,
};

/// Bytes that crossed the transport, by direction.
#[derive(Debug, Default, Clone, Copy)]
struct Wire {
    up: u64,
    down: u64,
}

fn request_bytes(r: &Request) -> u64 {
    (match r {
        Request::Push(p) => p.to_canonical().len(),
        Request::Pull(p) => p.to_canonical().len(),
        Request::BlobPut { data, .. } => data.len(),
        _ => 64,
    }) as u64
}

fn response_bytes(r: &Response) -> u64 {
    (match r {
        Response::Batch(b) => b.to_canonical().len(),
        Response::Direct(d) => d.to_canonical().len(),
        Response::Bytes(b) => b.len(),
        _ => 64,
    }) as u64
}

/// One sync exchange of `store` through `client`, counting bytes.
async fn exchange(store: &mut Store, client: &RelayClient, wire: &mut Wire) {
    let mut engine = Engine::new(0);
    let mut action = engine.start(&mut StoreReplica(store));
    loop {
        match action {
            Action::Done(outcome) => {
                outcome.expect("sync exchange");
                return;
            }
            Action::Send(out) => {
                wire.up += request_bytes(&out.request);
                let response = client.send(&out).await;
                if let Ok(r) = &response {
                    wire.down += response_bytes(r);
                }
                action = engine.on_response(&mut StoreReplica(store), response);
            }
        }
    }
}

async fn start_relay(dir: &std::path::Path) -> (String, tokio::sync::oneshot::Sender<()>) {
    let relay = Relay::bind(Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data: dir.to_owned(),
        tls: None,
        limits: Limits {
            rate: 1e9,
            burst: 1e9,
            ..Limits::default()
        },
        turn: None,
    })
    .await
    .unwrap();
    let url = relay.url();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(relay.run(async move {
        let _ = stopped.await;
    }));
    (url, stop)
}

fn profile(root: &std::path::Path, name: &str, role: Role) -> (Profile, Store) {
    let dir = root.join(name.replace(' ', "_"));
    let (store, _) = Profile::create_in(
        &dir,
        name,
        role,
        b"bench passphrase",
        FAST,
        Arc::new(SystemClock),
        Some(root.join("anchors")),
    )
    .unwrap();
    (
        Profile::open(&dir)
            .unwrap()
            .with_anchor_dir(Some(root.join("anchors"))),
        store,
    )
}

fn ops(store: &Store) -> i64 {
    store
        .raw_connection()
        .query_row("SELECT count(*) FROM ops", [], |r| r.get(0))
        .unwrap()
}

fn op_bytes(store: &Store, device: outpost_proto::DeviceId) -> (i64, i64) {
    store
        .raw_connection()
        .query_row(
            "SELECT count(*), coalesce(sum(length(bytes)), 0) FROM ops WHERE device = ?1 AND kind = ?2",
            rusqlite::params![device.to_hex(), i64::from(outpost_proto::OpKind::VITAL_RECORDED.0)],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
}

struct Ours {
    seconds: f64,
    wire_per_op: f64,
    payload_per_op: f64,
}

async fn converge_ours(n: usize) -> Ours {
    let root = tempfile::tempdir().unwrap();
    let (url, stop) = start_relay(&root.path().join("relay")).await;
    let client = RelayClient::new(&url).unwrap();
    let (_, mut a) = profile(root.path(), "Dr A", Role::Physician);
    let patient = a
        .add_patient(&NewPatient {
            given_name: "Bench".into(),
            family_name: "Patient".into(),
            birth_date: "1980-01-01".into(),
            ..Default::default()
        })
        .unwrap();
    a.create_workspace("Bench", &url).unwrap();
    let mut devices = vec![a];
    for name in ["Nurse B", "Nurse C"] {
        let code = InviteCode::parse(
            &devices[0]
                .create_invite(Role::Nurse, 3_600_000)
                .unwrap()
                .encode(),
        )
        .unwrap();
        let (p, s) = profile(root.path(), name, Role::Nurse);
        s.lock().unwrap();
        let (joined, _) = p
            .join_workspace(
                name,
                b"bench passphrase",
                &code,
                name,
                Arc::new(SystemClock),
            )
            .unwrap();
        devices.push(joined);
    }
    let mut setup = Wire::default();
    for i in [0, 1, 2, 0, 1, 2, 0, 1, 2] {
        exchange(&mut devices[i], &client, &mut setup).await;
    }
    // Offline writes (setup, not timed; without a disk sync per write to keep setup short).
    for d in &mut devices {
        d.raw_connection()
            .execute_batch("PRAGMA synchronous = OFF")
            .unwrap();
        for i in 0..n / 3 {
            d.add_vital(
                patient.id,
                None,
                VitalKind::Pulse,
                50.0 + (i % 80) as f64,
                None,
            )
            .unwrap();
        }
        d.raw_connection()
            .execute_batch("PRAGMA synchronous = FULL")
            .unwrap();
    }
    let payload: (i64, i64) = devices
        .iter()
        .map(|d| op_bytes(d, d.device_id()))
        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    // Timed: the link returns; round-robin exchanges until all hold the same log.
    let mut wire = Wire::default();
    let start = Instant::now();
    let mut rounds = 0;
    loop {
        for i in 0..devices.len() {
            exchange(&mut devices[i], &client, &mut wire).await;
        }
        rounds += 1;
        let counts: Vec<i64> = devices.iter().map(ops).collect();
        let complete = devices.iter().all(|d| {
            devices.iter().all(|other| {
                op_bytes(d, other.device_id()).0 == op_bytes(other, other.device_id()).0
            })
        });
        if complete && counts.windows(2).all(|w| (w[0] - w[1]).abs() < 50) || rounds > 6 {
            break;
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    let _ = stop.send(());
    // Each operation goes up once and down to the two other devices.
    let delivered = (payload.0 * 3) as f64;
    Ours {
        seconds,
        wire_per_op: (wire.up + wire.down) as f64 / delivered,
        payload_per_op: payload.1 as f64 / payload.0 as f64,
    }
}

struct Theirs {
    seconds: f64,
    wire_per_op: f64,
}

/// Three Automerge peers, each adding n/3 vitals (one change each) to a shared map, synced
/// through a hub document until every peer has every change.
fn converge_automerge(n: usize) -> Theirs {
    let mut hub = AutoCommit::new();
    let vitals = hub.put_object(ROOT, "vitals", ObjType::Map).unwrap();
    let base = hub.save();
    let mut peers: Vec<AutoCommit> = (0..3).map(|_| AutoCommit::load(&base).unwrap()).collect();
    for (p, doc) in peers.iter_mut().enumerate() {
        for i in 0..n / 3 {
            let id = format!("{p:02}{i:030}");
            let v = doc.put_object(&vitals, id, ObjType::Map).unwrap();
            doc.put(
                &v,
                "patient",
                ScalarValue::Str("0123456789abcdef0123456789abcdef".into()),
            )
            .unwrap();
            doc.put(&v, "code", "8867-4").unwrap();
            doc.put(&v, "value", 50.0 + (i % 80) as f64).unwrap();
            doc.put(&v, "unit", "/min").unwrap();
            doc.put(&v, "observed_at", 1_800_000_000_000_i64 + i as i64)
                .unwrap();
            doc.put(&v, "recorded_by", format!("{p:032}")).unwrap();
            doc.commit();
        }
    }
    let mut bytes = 0u64;
    let start = Instant::now();
    let mut states: Vec<(automerge::sync::State, automerge::sync::State)> = (0..3)
        .map(|_| (automerge::sync::State::new(), automerge::sync::State::new()))
        .collect();
    for _ in 0..4 {
        for (p, doc) in peers.iter_mut().enumerate() {
            let (peer_state, hub_state) = &mut states[p];
            loop {
                let mut moved = false;
                if let Some(m) = doc.sync().generate_sync_message(peer_state) {
                    let encoded = m.encode();
                    bytes += encoded.len() as u64;
                    hub.sync()
                        .receive_sync_message(
                            hub_state,
                            automerge::sync::Message::decode(&encoded).unwrap(),
                        )
                        .unwrap();
                    moved = true;
                }
                if let Some(m) = hub.sync().generate_sync_message(hub_state) {
                    let encoded = m.encode();
                    bytes += encoded.len() as u64;
                    doc.sync()
                        .receive_sync_message(
                            peer_state,
                            automerge::sync::Message::decode(&encoded).unwrap(),
                        )
                        .unwrap();
                    moved = true;
                }
                if !moved {
                    break;
                }
            }
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    let expected = (n / 3) * 3;
    for doc in &peers {
        let (_, vitals_obj) = automerge::ReadDoc::get(doc, ROOT, "vitals")
            .unwrap()
            .unwrap();
        assert_eq!(
            automerge::ReadDoc::length(doc, &vitals_obj),
            expected,
            "automerge peers converged"
        );
    }
    Theirs {
        seconds,
        wire_per_op: bytes as f64 / (expected * 3) as f64,
    }
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn relay_load(devices: usize, seconds: u64) {
    let root = tempfile::tempdir().unwrap();
    let rss_before = rss_kib();
    let (url, stop) = start_relay(&root.path().join("relay")).await;
    let client = RelayClient::new(&url).unwrap();
    let ws = WorkspaceId([9; 16]);
    let ids: Vec<DeviceIdentity> = (0..devices)
        .map(|_| DeviceIdentity::generate(&mut OsRng))
        .collect();
    let admin_token = relay_session(&client, ws, &ids[0], true).await;
    for d in &ids[1..] {
        client
            .send(&Outgoing {
                request: Request::SetDevice(SetDevice {
                    identity: d.public().to_bytes(),
                    admin: false,
                }),
                token: Some(admin_token),
            })
            .await
            .unwrap();
    }
    let mut tokens = vec![admin_token];
    for d in &ids[1..] {
        tokens.push(relay_session(&client, ws, d, false).await);
    }
    // Every device listens live; device 0's socket measures delivery.
    let sent: Arc<Mutex<HashMap<(outpost_proto::DeviceId, u64), Instant>>> = Arc::default();
    let latencies: Arc<Mutex<Vec<f64>>> = Arc::default();
    let mut listeners = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        let client = client.clone();
        let token = *token;
        let sent = sent.clone();
        let latencies = latencies.clone();
        listeners.push(tokio::spawn(async move {
            let _ = client
                .live(token, move |frame| {
                    if i == 0
                        && let Some(Bytes(bytes)) = frame.envelope
                        && let Ok(e) = SealedEnvelope::decode(&bytes)
                        && let Some(at) = sent.lock().unwrap().remove(&e.replay_id())
                    {
                        latencies
                            .lock()
                            .unwrap()
                            .push(at.elapsed().as_secs_f64() * 1000.0);
                    }
                    true
                })
                .await;
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let key = GroupKey::generate(GroupId(ws.0), 1, &mut OsRng);
    let seqs: Arc<Vec<std::sync::atomic::AtomicU64>> = Arc::new(
        (0..devices)
            .map(|_| std::sync::atomic::AtomicU64::new(1))
            .collect(),
    );
    // Phase 1: every device but the measuring one pushes flat out: sustained throughput.
    // Phase 2: 20 devices push ten times a second each (a busy clinic day across 200 devices):
    // delivery latency under that load.
    let mut report = Vec::new();
    for (active, pace) in [(devices - 1, None), (20, Some(Duration::from_millis(100)))] {
        sent.lock().unwrap().clear();
        latencies.lock().unwrap().clear();
        let pushed = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let round_trips: Arc<Mutex<Vec<f64>>> = Arc::default();
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let mut pushers = Vec::new();
        for (i, d) in ids.iter().enumerate().skip(1).take(active) {
            let client = client.clone();
            let token = tokens[i];
            let device = clone_identity(d);
            let key = key.clone();
            let sent = sent.clone();
            let pushed = pushed.clone();
            let round_trips = round_trips.clone();
            let seqs = seqs.clone();
            pushers.push(tokio::spawn(async move {
                while Instant::now() < deadline {
                    let seq = seqs[i].load(std::sync::atomic::Ordering::Relaxed);
                    let e = SealedEnvelope::seal_group(
                        &device,
                        &key,
                        seq,
                        ContentType::RECORD,
                        &[7u8; 400],
                        &mut OsRng,
                    )
                    .unwrap();
                    sent.lock().unwrap().insert(e.replay_id(), Instant::now());
                    let t = Instant::now();
                    let r = client
                        .send(&Outgoing {
                            request: Request::Push(Push {
                                envelopes: vec![Bytes(e.encode())],
                            }),
                            token: Some(token),
                        })
                        .await;
                    if matches!(r, Ok(Response::PushAck(_))) {
                        round_trips
                            .lock()
                            .unwrap()
                            .push(t.elapsed().as_secs_f64() * 1000.0);
                        pushed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        seqs[i].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    if let Some(pace) = pace {
                        tokio::time::sleep(pace).await;
                    }
                }
            }));
        }
        for p in pushers {
            let _ = p.await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let total = pushed.load(std::sync::atomic::Ordering::Relaxed);
        let mut lat = latencies.lock().unwrap().clone();
        let mut rt = round_trips.lock().unwrap().clone();
        lat.sort_by(f64::total_cmp);
        rt.sort_by(f64::total_cmp);
        report.push((active, total as f64 / seconds as f64, lat, rt));
    }
    let rss_after = rss_kib();
    for (active, rate, lat, rt) in &report {
        println!(
            "relay, {devices} devices connected live, {active} pushing{}: {rate:.0} pushes/s; push-to-delivery p50 {:.1} ms p99 {:.1} ms ({} delivered to the measuring socket) | baseline, the push round trip alone: p50 {:.1} ms p99 {:.1} ms",
            if *active < devices - 1 {
                " 10 times a second each"
            } else {
                " flat out"
            },
            percentile(lat, 0.5),
            percentile(lat, 0.99),
            lat.len(),
            percentile(rt, 0.5),
            percentile(rt, 0.99),
        );
    }
    println!(
        "relay memory: process +{} MiB at that load (relay and the {devices} clients share the process)",
        rss_after.saturating_sub(rss_before) / 1024
    );
    for l in listeners {
        l.abort();
    }
    let _ = stop.send(());
}

/// A copy of an identity, through its wrapped export.
fn clone_identity(d: &DeviceIdentity) -> DeviceIdentity {
    let kek = [3u8; 32];
    DeviceIdentity::unwrap(&kek, &d.wrap(&kek, &mut OsRng).unwrap()).unwrap()
}

fn main() {
    let sizes: Vec<usize> = std::env::var("OUTPOST_BENCH_OPS")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000, 10_000, 100_000]);
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wants = |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!("== outpost sync");
    if wants("converge") {
        for n in sizes {
            let ours = rt.block_on(converge_ours(n));
            let theirs = converge_automerge(n);
            println!(
                "converge {n} ops from 3 devices: {:.2} s, {:.0} B on the wire per op delivered ({:.2}x the op's own {:.0} B; sealed, signed, through a real relay over loopback, SQLCipher) | Automerge sync, same records in process: {:.2} s, {:.0} B per op delivered | ratio time {:.2}x, bytes {:.2}x",
                ours.seconds,
                ours.wire_per_op,
                ours.wire_per_op / ours.payload_per_op,
                ours.payload_per_op,
                theirs.seconds,
                theirs.wire_per_op,
                ours.seconds / theirs.seconds,
                ours.wire_per_op / theirs.wire_per_op,
            );
        }
    }
    if wants("relay") {
        rt.block_on(relay_load(200, 10));
    }
}
