//! Store benchmarks, each beside a baseline from the same run:
//! SQLCipher vs plain SQLite (same library, same schema, no key) for batched writes and
//! indexed reads; a signed note revision and a signature vs the unsigned write of schema 2;
//! opening a busy chart with every signature verified (p50/p99); replaying a 100,000-operation
//! log into empty projections; unlock (Argon2id + open + key check + log checks).

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
    Profile, Role, Store, SystemClock, db,
    records::{EncounterKind, NewPatient, Soap, VitalKind},
    verify,
};
use rusqlite::{Connection, params};
use sha2::{Digest, Sha256};

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
        "INSERT INTO users (id, name, role, added_by, added_at) VALUES ('u', 'U', 'nurse', 'u', 0)",
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

/// A profile for benchmarks: cheap KDF, anchors beside it.
fn bench_profile(dir: &Path, params: KdfParams) -> Store {
    let (store, _) = Profile::create_in(
        &dir.join("profile"),
        "Bench",
        Role::Physician,
        b"bench passphrase",
        params,
        Arc::new(SystemClock),
        Some(dir.join("anchors")),
    )
    .unwrap();
    store
}

fn patient(store: &mut Store) -> outpost_store::PatientId {
    store
        .add_patient(&NewPatient {
            given_name: "B".into(),
            family_name: "C".into(),
            birth_date: "1970-01-01".into(),
            ..Default::default()
        })
        .unwrap()
        .id
}

fn soap(i: usize) -> Soap {
    Soap {
        subjective: format!("Headache for {i} days, worse in the morning. ").repeat(4),
        objective: "BP 142/91, pulse 78, afebrile. ".repeat(4),
        assessment: "Elevated blood pressure, likely essential hypertension.".into(),
        plan: "Recheck in one week; lifestyle advice; start amlodipine 5 mg.".into(),
    }
}

fn percentiles(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    (ms(v[v.len() / 2]), ms(v[v.len() * 99 / 100]))
}

/// Schema 2's draft save, as the baseline: one transaction that checks the note is unsigned,
/// updates it in place and appends a SHA-256 hash-chained audit row, then reads the note back
/// (as `update_draft` returned it), on the same SQLCipher settings.
struct UnsignedBaseline(Connection);

impl UnsignedBaseline {
    fn new(path: &Path) -> Self {
        let c = db::open(path, &[9; 32], db::OpenMode::Create).unwrap();
        c.execute_batch(
            "CREATE TABLE notes (id TEXT PRIMARY KEY, s TEXT, o TEXT, a TEXT, p TEXT, updated_at INTEGER);
             CREATE TABLE audit (seq INTEGER PRIMARY KEY, at INTEGER, action TEXT, record TEXT, hash TEXT);
             INSERT INTO notes VALUES ('n', '', '', '', '', 0);",
        )
        .unwrap();
        Self(c)
    }

    fn save(&mut self, i: usize, soap: &Soap) {
        let tx = self.0.transaction().unwrap();
        let _signed: Option<i64> = tx
            .query_row("SELECT updated_at FROM notes WHERE id = 'n'", [], |r| {
                r.get(0)
            })
            .unwrap();
        tx.execute(
            "UPDATE notes SET s = ?1, o = ?2, a = ?3, p = ?4, updated_at = ?5 WHERE id = 'n'",
            params![
                soap.subjective,
                soap.objective,
                soap.assessment,
                soap.plan,
                i as i64
            ],
        )
        .unwrap();
        let prev: String = tx
            .query_row("SELECT coalesce(max(hash), '') FROM audit", [], |r| {
                r.get(0)
            })
            .unwrap();
        let hash = hex(&Sha256::digest(format!("{prev}|{i}|note_draft_saved|n")));
        tx.execute(
            "INSERT INTO audit (at, action, record, hash) VALUES (?1, 'note_draft_saved', 'n', ?2)",
            params![i as i64, hash],
        )
        .unwrap();
        tx.commit().unwrap();
        let back: (String, String, String, String) = self
            .0
            .query_row("SELECT s, o, a, p FROM notes WHERE id = 'n'", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .unwrap();
        black_box(back);
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        use std::fmt::Write;
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn note_writes_vs_unsigned() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = bench_profile(dir.path(), KdfParams::OWASP_MIN);
    let p = patient(&mut store);
    let mut baseline = UnsignedBaseline::new(&dir.path().join("baseline.db"));
    let (mut ours, mut theirs, mut signs) = (Vec::new(), Vec::new(), Vec::new());
    // Alternate so machine noise hits both alike; a new note every 10 saves, signed.
    let mut note = store.write_note(p, None, &soap(0)).unwrap();
    for i in 0..300 {
        let text = soap(i);
        let s = Instant::now();
        note = store
            .update_draft(note.id, &[note.revision], &text)
            .unwrap();
        ours.push(s.elapsed());
        let s = Instant::now();
        baseline.save(i, &text);
        theirs.push(s.elapsed());
        if i % 10 == 9 {
            let s = Instant::now();
            store.sign_note(note.id, &note.content_hash).unwrap();
            signs.push(s.elapsed());
            note = store.write_note(p, None, &soap(i)).unwrap();
        }
    }
    let (o50, o99) = percentiles(ours);
    let (t50, t99) = percentiles(theirs);
    let (s50, s99) = percentiles(signs);
    println!(
        "note revision (signed op)   p50 {o50:>6.2} ms p99 {o99:>6.2} ms | unsigned schema-2 save p50 {t50:>6.2} ms p99 {t99:>6.2} ms | ratio p50 {:.2}x p99 {:.2}x (goal < 1.5x)",
        o50 / t50,
        o99 / t99
    );
    println!(
        "sign a note (signed op)     p50 {s50:>6.2} ms p99 {s99:>6.2} ms | ratio to the unsigned save p50 {:.2}x",
        s50 / t50
    );
}

fn chart_open() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = bench_profile(dir.path(), KdfParams::OWASP_MIN);
    // Seeding is not what is measured: skip the fsync per write.
    store
        .raw_connection()
        .pragma_update(None, "synchronous", "OFF")
        .unwrap();
    let p = patient(&mut store);
    for i in 0..200 {
        let e = store.add_encounter(p, EncounterKind::InPerson).unwrap();
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
            store.add_vital(p, Some(e.id), kind, v, None).unwrap();
        }
    }
    for i in 0..300 {
        let n = store.write_note(p, None, &soap(i)).unwrap();
        store.sign_note(n.id, &n.content_hash).unwrap();
    }
    store
        .raw_connection()
        .pragma_update(None, "synchronous", "FULL")
        .unwrap();
    let mut cold = Vec::new();
    let mut warm = Vec::new();
    for _ in 0..100 {
        store.forget_verified_signatures();
        let s = Instant::now();
        let chart = black_box(store.chart(p).unwrap());
        cold.push(s.elapsed());
        assert_eq!(chart.notes.len(), 300);
        let s = Instant::now();
        black_box(store.chart(p).unwrap());
        warm.push(s.elapsed());
    }
    let (c50, c99) = percentiles(cold);
    let (w50, w99) = percentiles(warm);
    println!(
        "open chart (200 encounters, 1000 vitals, 300 signed notes), every signature verified: p50 {c50:>6.2} ms p99 {c99:>6.2} ms (goal p99 < 20 ms) | verified earlier this session: p50 {w50:>6.2} ms p99 {w99:>6.2} ms"
    );
}

/// Registers `n` patients with names drawn from West African and francophone name lists,
/// clinic numbers and phones (seeding is not measured: no fsync per write).
fn seed_patients(store: &mut Store, n: u32) {
    const GIVEN: [&str; 16] = [
        "Kofi", "Ama", "Kwame", "Abena", "Yaw", "Akosua", "Kojo", "Efua", "José", "Marie",
        "Amadou", "Fatou", "Ibrahim", "Aïcha", "Nana", "Esi",
    ];
    const FAMILY: [&str; 16] = [
        "Mensah",
        "Owusu",
        "Boateng",
        "Asante",
        "Osei",
        "Agyeman",
        "Diallo",
        "Traoré",
        "Ndiaye",
        "Koné",
        "Ouédraogo",
        "Sawadogo",
        "Addo",
        "Badu",
        "Amoah",
        "Ofori",
    ];
    store
        .raw_connection()
        .pragma_update(None, "synchronous", "OFF")
        .unwrap();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let pick = |shift: u32| usize::try_from((x >> shift) % 16).unwrap();
        store
            .add_patient(&NewPatient {
                given_name: format!("{}{}", GIVEN[pick(0)], i % 7),
                family_name: format!("{}{}", FAMILY[pick(8)], i / 16),
                birth_date: "1980-01-01".into(),
                clinic_id: Some(format!("KB-{i:05}")),
                contact: Some(format!("+233 20 {:07}", x % 10_000_000)),
                ..Default::default()
            })
            .unwrap();
    }
    store
        .raw_connection()
        .pragma_update(None, "synchronous", "FULL")
        .unwrap();
}

/// Patient search over 10,000 patients, keystroke by keystroke as a nurse types, through the
/// full-text index; baseline: the LIKE scan of every patient it replaced, on the same database.
fn search() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = bench_profile(dir.path(), KdfParams::OWASP_MIN);
    seed_patients(&mut store, 10_000);
    // What a person types, one keystroke at a time (the UI searches after each, debounced).
    let typed = [
        "mensah",
        "kofi owu",
        "kb-0423",
        "+233 20 5",
        "ouedr",
        "zzzz",
    ];
    let queries: Vec<String> = typed
        .iter()
        .flat_map(|t| (1..=t.chars().count()).map(|n| t.chars().take(n).collect::<String>()))
        .collect();
    let like = |q: &str| {
        let pattern = format!("%{}%", q.trim());
        let mut stmt = store
            .raw_connection()
            .prepare_cached(
                "SELECT id, given_name, family_name, birth_date, sex, clinic_id, contact FROM patients
                 WHERE given_name LIKE ?1 OR family_name LIKE ?1
                    OR (given_name || ' ' || family_name) LIKE ?1 OR clinic_id LIKE ?1
                 ORDER BY family_name COLLATE NOCASE, given_name COLLATE NOCASE",
            )
            .unwrap();
        let rows: Vec<String> = stmt
            .query_map([pattern], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        rows.len()
    };
    let (mut ours, mut base) = (Vec::new(), Vec::new());
    for _ in 0..20 {
        for q in &queries {
            let s = Instant::now();
            black_box(
                store
                    .find_patients(q, 0, outpost_store::records::SEARCH_PAGE)
                    .unwrap(),
            );
            ours.push(s.elapsed());
            let s = Instant::now();
            black_box(like(q));
            base.push(s.elapsed());
        }
    }
    assert_eq!(
        store
            .find_patients("KB-04231", 0, 50)
            .unwrap()
            .patients
            .len(),
        1
    );
    let (o50, o99) = percentiles(ours);
    let (b50, b99) = percentiles(base);
    println!(
        "search 10,000 patients, {} keystrokes typed, first page of 50: p50 {o50:>6.2} ms p99 {o99:>6.2} ms (goal p99 < 20 ms) | baseline LIKE scan of every patient, no limit: p50 {b50:>6.2} ms p99 {b99:>6.2} ms ({:.1}x at p99)",
        queries.len(),
        b99 / o99
    );
}

/// One round of work on an encrypted database: a batch of inserts, reads, and a fresh
/// connection opened and closed (what lock and unlock do).
fn memory_round(path: &Path, round: usize) -> (Duration, Duration, Duration) {
    let s = Instant::now();
    let mut c = db::open(path, &[7; 32], db::OpenMode::Existing).unwrap();
    let reopen = s.elapsed();
    let s = Instant::now();
    batch_insert(&mut c, round, N);
    let insert = s.elapsed();
    let s = Instant::now();
    indexed_reads(&c, 1000);
    (insert, s.elapsed(), reopen)
}

/// `PRAGMA cipher_memory_security = ON` (SQLCipher locks every allocation in RAM and
/// overwrites it when freed) against the default, on the same database in the same run. It
/// can only be switched on for the whole process, so this runs last: off first, then on.
fn memory_security() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("enc.db");
    seed(&encrypted(&path));
    let run = |rounds: std::ops::Range<usize>| {
        let (mut inserts, mut reads, mut opens) = (Vec::new(), Vec::new(), Vec::new());
        for round in rounds {
            let (insert, read, open) = memory_round(&path, round);
            inserts.push(insert);
            reads.push(read);
            opens.push(open);
        }
        (median(inserts), median(reads), median(opens))
    };
    let off = run(0..7);
    let c = db::open(&path, &[7; 32], db::OpenMode::Existing).unwrap();
    c.pragma_update(None, "cipher_memory_security", "ON")
        .unwrap();
    drop(c);
    let on = run(7..14);
    let c = db::open(&path, &[7; 32], db::OpenMode::Existing).unwrap();
    let state: String = c
        .pragma_query_value(None, "cipher_memory_security", |r| r.get(0))
        .unwrap();
    assert_eq!(state, "1", "memory security did not switch on");
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    for (what, a, b) in [
        ("batched insert 10k vitals/tx", on.0, off.0),
        ("indexed read 1k series", on.1, off.1),
        ("open + key check (unlock)", on.2, off.2),
    ] {
        println!(
            "cipher_memory_security ON vs off: {what:<29} {:>8.2} ms | {:>8.2} ms | ratio {:.2}x",
            ms(a),
            ms(b),
            a.as_secs_f64() / b.as_secs_f64()
        );
    }
}

fn replay() {
    const OPS: usize = 100_000;
    let dir = tempfile::tempdir().unwrap();
    let mut store = bench_profile(dir.path(), KdfParams::OWASP_MIN);
    store
        .raw_connection()
        .pragma_update(None, "synchronous", "OFF")
        .unwrap();
    let mut patients = Vec::new();
    let mut written = 0;
    while written < OPS {
        if written % 50 == 0 {
            patients.push(patient(&mut store));
            written += 1;
            continue;
        }
        let p = patients[patients.len() - 1];
        if written % 10 == 0 {
            let n = store.write_note(p, None, &soap(written)).unwrap();
            store.sign_note(n.id, &n.content_hash).unwrap();
            written += 2;
        } else {
            store
                .add_vital(
                    p,
                    None,
                    VitalKind::Pulse,
                    60.0 + (written % 40) as f64,
                    None,
                )
                .unwrap();
            written += 1;
        }
    }
    let c = store.raw_connection();
    let total: i64 = c
        .query_row("SELECT count(*) FROM ops", [], |r| r.get(0))
        .unwrap();
    let s = Instant::now();
    c.execute_batch("BEGIN IMMEDIATE").unwrap();
    let replayed = verify::rebuild_projections(c).unwrap();
    c.execute_batch("COMMIT").unwrap();
    let t = s.elapsed();
    let s = Instant::now();
    let report = verify::verify_log(c).unwrap();
    let v = s.elapsed();
    println!(
        "replay {replayed} operations into empty projections: {:>6.2} s, {:>7.0} ops/s (log holds {total})",
        t.as_secs_f64(),
        replayed as f64 / t.as_secs_f64()
    );
    println!(
        "verify the whole log (links, {} signatures, roles, replay compare): {:>6.2} s, {:>7.0} ops/s",
        report.operations,
        v.as_secs_f64(),
        report.operations as f64 / v.as_secs_f64()
    );
}

fn unlock() {
    let dir = tempfile::tempdir().unwrap();
    let store = bench_profile(dir.path(), KdfParams::DEFAULT);
    store.lock().unwrap();
    let profile = Profile::open(&dir.path().join("profile"))
        .unwrap()
        .with_anchor_dir(Some(dir.path().join("anchors")));
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
        "unlock (argon2id 64 MiB t=3 + open + key check + key and anchor checks)  median {:>7.1} ms",
        median(times).as_secs_f64() * 1e3
    );
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("store benches: run with `make bench`");
        return;
    }
    // `cargo bench -p outpost-store -- notes chart` runs only those.
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let run = |name: &str| wanted.is_empty() || wanted.iter().any(|w| w == name);
    println!("== outpost-store");
    if run("sqlcipher") {
        sqlcipher_vs_plain();
    }
    if run("notes") {
        note_writes_vs_unsigned();
    }
    if run("chart") {
        chart_open();
    }
    if run("unlock") {
        unlock();
    }
    if run("replay") {
        replay();
    }
    if run("search") {
        search();
    }
    // Last: it switches memory security on for the rest of the process.
    if run("memory") {
        memory_security();
    }
}
