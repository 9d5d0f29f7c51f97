//! Property test of the sans-IO sync engine over real encrypted stores: three devices write
//! offline and sync through an in-memory relay while the network drops requests, loses
//! acknowledgements, duplicates pushes, reorders and replays what it delivers, and devices
//! crash mid-exchange. After the link heals, every device holds the same log and the same
//! projections, every write by anyone is there (as the value, a conflict, or replaced by a
//! write that saw it), and every log verifies.

#![allow(clippy::struct_excessive_bools)] // fault switches, each named

mod common;

use std::sync::{
    Arc,
    atomic::{AtomicI64, Ordering},
};

use common::relay_model::RelayModel;
use outpost_core::replica::StoreReplica;
use outpost_crypto::KdfParams;
use outpost_proto::{OpKind, PatientField, Role};
use outpost_store::{
    Clock, Profile, Store,
    backup::content_digests,
    records::{NewPatient, Soap, VitalKind},
    verify::{PROJECTIONS, verify_log},
    workspace::InviteCode,
};
use outpost_sync::{Action, Engine, Failure, Request, Response, SyncError};
use proptest::prelude::*;
use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};

const FAST: KdfParams = KdfParams {
    m_cost_kib: 8 * 1024,
    t_cost: 1,
    p_cost: 1,
};
const PASS: &[u8] = b"property test passphrase";

#[derive(Debug)]
struct TestClock(AtomicI64);
impl Clock for TestClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

#[derive(Debug, Clone, Default)]
struct Faults {
    partitioned: bool,
    crash_after: Option<u32>,
    lose_answer: Option<u32>,
    duplicate_push: bool,
    shuffle: bool,
    replay: bool,
}

#[derive(Debug, Clone)]
enum Act {
    AddPatient(u8),
    EditContact(u8, u8),
    AddVital(u8),
    WriteNote(u8),
    ReviseNote(u8),
    Sync(Faults),
}

fn faults() -> impl Strategy<Value = Faults> {
    (
        prop::bool::weighted(0.15),
        prop::option::weighted(0.2, 1u32..14),
        prop::option::weighted(0.2, 1u32..14),
        any::<bool>(),
        any::<bool>(),
        prop::bool::weighted(0.3),
    )
        .prop_map(
            |(partitioned, crash_after, lose_answer, duplicate_push, shuffle, replay)| Faults {
                partitioned,
                crash_after,
                lose_answer,
                duplicate_push,
                shuffle,
                replay,
            },
        )
}

fn act() -> impl Strategy<Value = Act> {
    prop_oneof![
        2 => any::<u8>().prop_map(Act::AddPatient),
        3 => (any::<u8>(), any::<u8>()).prop_map(|(p, v)| Act::EditContact(p, v)),
        2 => any::<u8>().prop_map(Act::AddVital),
        2 => any::<u8>().prop_map(Act::WriteNote),
        2 => any::<u8>().prop_map(Act::ReviseNote),
        4 => faults().prop_map(Act::Sync),
    ]
}

struct Team {
    _root: tempfile::TempDir,
    clock: Arc<TestClock>,
    relay: RelayModel,
    devices: Vec<Store>,
    rng: ChaCha20Rng,
}

/// One exchange through the model relay with `faults`.
fn exchange(
    store: &mut Store,
    relay: &mut RelayModel,
    faults: &Faults,
    now: i64,
    rng: &mut ChaCha20Rng,
) -> Option<Result<outpost_sync::Summary, SyncError>> {
    let mut engine = Engine::new(now);
    let mut action = engine.start(&mut StoreReplica(store));
    let mut sent = 0u32;
    loop {
        let out = match action {
            Action::Done(outcome) => return Some(outcome),
            Action::Send(out) => out,
        };
        sent += 1;
        if faults.crash_after == Some(sent) {
            // The process dies with the request in flight (it may or may not have arrived).
            if sent.is_multiple_of(2) {
                let _ = relay.handle(&out);
            }
            return None;
        }
        let mut response = if faults.partitioned {
            Err(Failure::Unreachable("partitioned".into()))
        } else {
            relay.handle(&out)
        };
        if faults.duplicate_push && matches!(out.request, Request::Push(_)) {
            let _ = relay.handle(&out);
        }
        if let Ok(Response::Batch(batch)) = &mut response {
            if faults.replay {
                let old: Vec<_> = relay.envelopes().take(5).cloned().collect();
                batch
                    .envelopes
                    .extend(old.into_iter().map(outpost_proto::canon::Bytes));
            }
            if faults.shuffle {
                use rand_chacha::rand_core::RngCore;
                let n = batch.envelopes.len();
                for i in (1..n).rev() {
                    let j = usize::try_from(rng.next_u32()).unwrap() % (i + 1);
                    batch.envelopes.swap(i, j);
                }
            }
        }
        if faults.lose_answer == Some(sent) {
            response = Err(Failure::Unreachable("the answer was lost".into()));
        }
        action = engine.on_response(&mut StoreReplica(store), response);
    }
}

fn healthy_sync(team: &mut Team, i: usize) {
    let now = team.clock.now_ms();
    let outcome = exchange(
        &mut team.devices[i],
        &mut team.relay,
        &Faults::default(),
        now,
        &mut team.rng,
    )
    .expect("no crash was asked for");
    outcome.unwrap_or_else(|e| panic!("device {i}: {e}"));
}

fn profile(
    root: &std::path::Path,
    name: &str,
    role: Role,
    clock: &Arc<TestClock>,
) -> (Profile, Store) {
    let dir = root.join(name.replace(' ', "_"));
    let (store, _) = Profile::create_in(
        &dir,
        name,
        role,
        PASS,
        FAST,
        clock.clone(),
        Some(root.join("anchors")),
    )
    .unwrap();
    let profile = Profile::open(&dir)
        .unwrap()
        .with_anchor_dir(Some(root.join("anchors")));
    (profile, store)
}

/// A physician's workspace with a nurse's and a second physician's devices admitted.
fn team(seed: u64) -> Team {
    let root = tempfile::tempdir().unwrap();
    let clock = Arc::new(TestClock(AtomicI64::new(1_800_000_000_000)));
    let (_, mut a) = profile(root.path(), "Dr A", Role::Physician, &clock);
    a.create_workspace("Clinic", "http://relay.invalid")
        .unwrap();
    let code_b =
        InviteCode::parse(&a.create_invite(Role::Nurse, 86_400_000).unwrap().encode()).unwrap();
    let code_c = InviteCode::parse(
        &a.create_invite(Role::Physician, 86_400_000)
            .unwrap()
            .encode(),
    )
    .unwrap();
    let mut devices = vec![a];
    for (name, role, code) in [
        ("Nurse B", Role::Nurse, code_b),
        ("Dr C", Role::Physician, code_c),
    ] {
        let (p, s) = profile(root.path(), name, role, &clock);
        s.lock().unwrap();
        let (joined, _) = p
            .join_workspace(name, PASS, &code, name, clock.clone())
            .unwrap();
        devices.push(joined);
    }
    let mut team = Team {
        _root: root,
        clock,
        relay: RelayModel::default(),
        devices,
        rng: ChaCha20Rng::seed_from_u64(seed),
    };
    for i in [0, 1, 2, 0, 1, 2, 0] {
        healthy_sync(&mut team, i);
    }
    for (i, d) in team.devices.iter().enumerate() {
        assert!(d.is_admitted().unwrap(), "device {i} admitted");
    }
    team
}

fn soap(text: &str) -> Soap {
    Soap {
        subjective: text.into(),
        objective: String::new(),
        assessment: String::new(),
        plan: String::new(),
    }
}

fn run(team: &mut Team, script: &[(usize, Act)]) {
    for (n, (who, act)) in script.iter().enumerate() {
        // The clock barely moves: concurrent writes often share a clock value, so ties must
        // be broken the same way everywhere.
        team.clock
            .0
            .fetch_add(i64::from(n % 4 == 0), Ordering::SeqCst);
        let d = &mut team.devices[*who];
        let patients = d.search_patients("").unwrap();
        let pick =
            |i: u8| (!patients.is_empty()).then(|| patients[usize::from(i) % patients.len()].id);
        match act {
            Act::AddPatient(i) => {
                d.add_patient(&NewPatient {
                    given_name: format!("Given{i}"),
                    family_name: format!("Family{n}"),
                    birth_date: "1990-01-01".into(),
                    ..Default::default()
                })
                .unwrap();
            }
            Act::EditContact(p, v) => {
                if let Some(p) = pick(*p) {
                    d.edit_patient(
                        p,
                        PatientField::Contact,
                        Some(format!("phone {v} by {who}")),
                    )
                    .unwrap();
                }
            }
            Act::AddVital(p) => {
                if let Some(p) = pick(*p) {
                    d.add_vital(
                        p,
                        None,
                        VitalKind::Pulse,
                        60.0 + f64::from(u8::try_from(n % 40).unwrap()),
                        None,
                    )
                    .unwrap();
                }
            }
            Act::WriteNote(p) => {
                if let Some(p) = pick(*p) {
                    d.write_note(p, None, &soap(&format!("note {n} by {who}")))
                        .unwrap();
                }
            }
            Act::ReviseNote(p) => {
                if let Some(p) = pick(*p) {
                    let chart = d.chart(p).unwrap();
                    if let Some(note) = chart.notes.iter().find(|n| !n.signature.is_signed()) {
                        // A stale base (saved elsewhere meanwhile) is kept as a conflict.
                        let _ = d.update_draft(
                            note.id,
                            &[note.revision],
                            &soap(&format!("rev {n} by {who}")),
                        );
                    }
                }
            }
            Act::Sync(f) => {
                let now = team.clock.now_ms();
                match exchange(
                    &mut team.devices[*who],
                    &mut team.relay,
                    f,
                    now,
                    &mut team.rng,
                ) {
                    None | Some(Ok(_) | Err(SyncError::Unreachable(_))) => {}
                    Some(Err(e)) => panic!("device {who}: {e}"),
                }
            }
        }
    }
}

fn hashes(store: &Store) -> Vec<Vec<u8>> {
    let mut stmt = store
        .raw_connection()
        .prepare("SELECT hash FROM ops ORDER BY hash")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn heal_and_check(team: &mut Team, written: &[Vec<Vec<u8>>]) {
    // Sync round-robin until every device holds the same log (receipts settle too).
    let mut rounds = 0;
    loop {
        for i in 0..team.devices.len() {
            healthy_sync(team, i);
        }
        rounds += 1;
        let logs: Vec<_> = team.devices.iter().map(hashes).collect();
        if logs.windows(2).all(|w| w[0] == w[1]) {
            break;
        }
        assert!(
            rounds < 8,
            "devices do not converge after {rounds} healthy rounds"
        );
    }
    let digests: Vec<_> = team
        .devices
        .iter()
        .map(|d| content_digests(d.raw_connection(), PROJECTIONS).unwrap())
        .collect();
    for (i, d) in digests.iter().enumerate().skip(1) {
        assert_eq!(
            d, &digests[0],
            "device {i}'s projections differ from device 0's"
        );
    }
    let all = hashes(&team.devices[0]);
    for (i, mine) in written.iter().enumerate() {
        for h in mine {
            assert!(
                all.binary_search(h).is_ok(),
                "a write of device {i} was lost"
            );
        }
    }
    for (i, d) in team.devices.iter().enumerate() {
        verify_log(d.raw_connection()).unwrap_or_else(|e| panic!("device {i}: {e}"));
        // Every contact written is shown, listed in a conflict, or replaced by a write that
        // saw it: nothing anyone typed disappears silently.
        let conn = d.raw_connection();
        let unaccounted: i64 = conn
            .query_row(
                "SELECT count(*) FROM ops o WHERE o.kind = ?1
                   AND NOT EXISTS (SELECT 1 FROM patient_field_heads h WHERE h.op = o.hash)
                   AND NOT EXISTS (SELECT 1 FROM patient_field_replaced r WHERE r.op = o.hash)
                   AND NOT EXISTS (SELECT 1 FROM refused f WHERE f.hash = o.hash)",
                [i64::from(OpKind::PATIENT_FIELD_SET.0)],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(
            unaccounted, 0,
            "device {i}: a field write is neither shown, in conflict nor replaced"
        );
        assert!(
            d.refused().unwrap().is_empty(),
            "device {i} refused something: {:?}",
            d.refused()
        );
    }
}

fn own_ops(store: &Store) -> Vec<Vec<u8>> {
    let mut stmt = store
        .raw_connection()
        .prepare("SELECT hash FROM ops WHERE device = ?1")
        .unwrap();
    stmt.query_map([store.device_id().to_hex()], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(12),
        max_shrink_iters: 64,
        .. ProptestConfig::default()
    })]

    #[test]
    fn devices_converge_whatever_the_network_does(
        seed in any::<u64>(),
        script in prop::collection::vec((0usize..3, act()), 1..28),
    ) {
        let mut team = team(seed);
        run(&mut team, &script);
        let written: Vec<_> = team.devices.iter().map(own_ops).collect();
        heal_and_check(&mut team, &written);
    }
}

#[test]
fn a_tampered_envelope_is_a_hole_and_the_rest_syncs() {
    let mut team = team(7);
    let p = team.devices[0]
        .add_patient(&NewPatient {
            given_name: "Ama".into(),
            family_name: "Boateng".into(),
            birth_date: "1970-05-05".into(),
            ..Default::default()
        })
        .unwrap();
    for n in 0..3 {
        team.devices[0]
            .add_vital(p.id, None, VitalKind::Pulse, 70.0 + f64::from(n), None)
            .unwrap();
    }
    healthy_sync(&mut team, 0);
    // The relay's owner flips one byte of one stored envelope: the second of the three
    // vitals (nothing else refers to it).
    let a = team.devices[0].device_id();
    let head = team.devices[0].own_head().unwrap();
    let victim = head - 1;
    team.relay.tamper(a, victim, |e| {
        let n = e.len();
        e[n - 80] ^= 1;
    });
    healthy_sync(&mut team, 1);
    let nurse = &team.devices[1];
    let holes = nurse.holes().unwrap();
    assert_eq!(holes.len(), 1, "exactly the tampered operation: {holes:?}");
    assert_eq!((holes[0].0, holes[0].1), (a, victim));
    // Everything after it arrived, and the status counts it.
    assert_eq!(
        nurse
            .watermarks()
            .unwrap()
            .iter()
            .find(|w| w.device == a)
            .unwrap()
            .seq,
        head
    );
    assert_eq!(nurse.sync_status().unwrap().quarantined, 1);
    let vitals: i64 = nurse
        .raw_connection()
        .query_row("SELECT count(*) FROM vitals", [], |r| r.get(0))
        .unwrap();
    assert_eq!(vitals, 2, "the two untouched vitals arrived");
    outpost_store::verify::verify_log(nurse.raw_connection()).unwrap();
}
