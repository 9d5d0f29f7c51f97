//! Store benchmarks, each beside a baseline from the same run:
//! SQLCipher vs plain SQLite (same library, same schema, no key) for batched writes and
//! indexed reads; opening a busy chart (p50/p99); unlock (Argon2id + open + key check).

#![allow(
    clippy::print_stdout,
    clippy::cast_precision_loss,
    clippy::cast_possible_wrap
)]

use std::{
    hint::black_box,
    path::Path,
    sync::Arc,
    time::{Duration, Instant},
};

use outpost_crypto::KdfParams;
use outpost_store::{
    Profile, Role, SystemClock, db,
    records::{EncounterKind, NewPatient, VitalKind},
};
use rusqlite::{Connection, params};

fn plain(path: &Path) -> Connection {
    let mut c = Connection::open(path).unwrap();
    c.pragma_update(None, "journal_mode", "WAL").unwrap();
    c.pragma_update(None, "synchronous", "FULL").unwrap();
    c.pragma_update(None, "foreign_keys", "ON").unwrap();
    c.pragma_update(None, "cache_size", db::CACHE_SIZE_KIB)
        .unwrap();
    db::migrate(&mut c).unwrap();
    c
}

fn encrypted(path: &Path) -> Connection {
    let mut c = db::open(path, &[7; 32], db::OpenMode::Create).unwrap();
    db::migrate(&mut c).unwrap();
    c
}

fn seed(c: &Connection) {
    c.execute(
        "INSERT INTO users (id, name, role, created_at) VALUES ('u', 'U', 'nurse', 0)",
        [],
    )
    .unwrap();
    for p in 0..100 {
        c.execute(
            "INSERT INTO patients (id, given_name, family_name, birth_date, created_at, created_by) VALUES (?1, 'G', 'F', '1990-01-01', 0, 'u')",
            [format!("p{p:03}")],
        )
        .unwrap();
    }
}

/// Inserts `n` vitals in one transaction.
fn batch_insert(c: &mut Connection, round: usize, n: usize) {
    let tx = c.transaction().unwrap();
    {
        let mut stmt = tx
            .prepare_cached("INSERT INTO vitals (id, patient_id, code, value, unit, observed_at, recorded_by) VALUES (?1, ?2, '8867-4', ?3, '/min', ?4, 'u')")
            .unwrap();
        for i in 0..n {
            stmt.execute(params![
                format!("v{round}-{i}"),
                format!("p{:03}", i % 100),
                60.0 + (i % 40) as f64,
                i as i64
            ])
            .unwrap();
        }
    }
    tx.commit().unwrap();
}

/// `n` indexed reads: a patient's pulse series.
fn indexed_reads(c: &Connection, n: usize) {
    let mut stmt = c.prepare_cached("SELECT value, observed_at FROM vitals WHERE patient_id = ?1 AND code = '8867-4' ORDER BY observed_at").unwrap();
    for i in 0..n {
        let rows: Vec<(f64, i64)> = stmt
            .query_map([format!("p{:03}", i % 100)], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        black_box(rows);
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Rows per batched-insert transaction.
const N: usize = 10_000;

fn sqlcipher_vs_plain() {
    let dir = tempfile::tempdir().unwrap();
    let mut enc = encrypted(&dir.path().join("enc.db"));
    let mut pla = plain(&dir.path().join("plain.db"));
    seed(&enc);
    seed(&pla);
    let (mut te, mut tp) = (Vec::new(), Vec::new());
    // Alternate rounds so machine noise hits both sides alike.
    for round in 0..11 {
        let s = Instant::now();
        batch_insert(&mut enc, round, N);
        te.push(s.elapsed());
        let s = Instant::now();
        batch_insert(&mut pla, round, N);
        tp.push(s.elapsed());
    }
    let (e, p) = (median(te), median(tp));
    println!(
        "batched insert 10k vitals/tx      sqlcipher {:>8.1} ms | plain sqlite {:>8.1} ms | ratio {:.2}x (target <= 1.25x)",
        e.as_secs_f64() * 1e3,
        p.as_secs_f64() * 1e3,
        e.as_secs_f64() / p.as_secs_f64()
    );
    let (mut te, mut tp) = (Vec::new(), Vec::new());
    for _ in 0..7 {
        let s = Instant::now();
        indexed_reads(&enc, 1000);
        te.push(s.elapsed());
        let s = Instant::now();
        indexed_reads(&pla, 1000);
        tp.push(s.elapsed());
    }
    let (e, p) = (median(te), median(tp));
    println!(
        "indexed read 1k series (700 rows) sqlcipher {:>8.1} ms | plain sqlite {:>8.1} ms | ratio {:.2}x (target <= 1.25x)",
        e.as_secs_f64() * 1e3,
        p.as_secs_f64() * 1e3,
        e.as_secs_f64() / p.as_secs_f64()
    );
}

fn chart_open() {
    let dir = tempfile::tempdir().unwrap();
    let fast = KdfParams::OWASP_MIN;
    let (mut store, _) = Profile::create(
        dir.path(),
        "Bench",
        Role::Physician,
        b"bench passphrase",
        fast,
        Arc::new(SystemClock),
    )
    .unwrap();
    let p = store
        .add_patient(&NewPatient {
            given_name: "B".into(),
            family_name: "C".into(),
            birth_date: "1970-01-01".into(),
            ..Default::default()
        })
        .unwrap();
    for i in 0..200 {
        let e = store.add_encounter(&p.id, EncounterKind::InPerson).unwrap();
        for k in 0..5 {
            let kind = VitalKind::ALL[(i + k) % 7 + 1];
            let v = match kind {
                VitalKind::Temperature => 37.0,
                VitalKind::Spo2 => 97.0,
                VitalKind::Weight => 70.0,
                VitalKind::Height => 170.0,
                VitalKind::Glucose => 100.0,
                _ => 60.0,
            };
            store.add_vital(&p.id, Some(&e.id), kind, v, None).unwrap();
        }
    }
    let mut times: Vec<Duration> = (0..200)
        .map(|_| {
            let s = Instant::now();
            black_box(store.chart(&p.id).unwrap());
            s.elapsed()
        })
        .collect();
    times.sort();
    println!(
        "open chart (200 encounters, 1000 vitals)  p50 {:>6.2} ms | p99 {:>6.2} ms (200 opens, each audited)",
        times[100].as_secs_f64() * 1e3,
        times[197].as_secs_f64() * 1e3
    );
}

fn unlock() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = Profile::create(
        dir.path(),
        "Bench",
        Role::Physician,
        b"bench passphrase",
        KdfParams::DEFAULT,
        Arc::new(SystemClock),
    )
    .unwrap();
    store.lock().unwrap();
    let profile = Profile::open(dir.path()).unwrap();
    let times: Vec<Duration> = (0..5)
        .map(|_| {
            let s = Instant::now();
            let store = profile
                .unlock("Bench", b"bench passphrase", Arc::new(SystemClock))
                .unwrap();
            let t = s.elapsed();
            store.lock().unwrap();
            t
        })
        .collect();
    println!(
        "unlock (argon2id 64 MiB t=3 + open + key check)  median {:>7.1} ms",
        median(times).as_secs_f64() * 1e3
    );
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("store benches: run with `make bench`");
        return;
    }
    println!("== outpost-store");
    sqlcipher_vs_plain();
    chart_open();
    unlock();
}
