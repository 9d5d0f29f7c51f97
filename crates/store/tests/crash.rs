//! Crash consistency: a child process writes notes in a loop and is killed with SIGKILL at
//! random moments. After every kill the database opens without a rollback warning, passes
//! `PRAGMA integrity_check`, its whole signed log verifies (links, signatures, and the chart
//! tables against the log), and every note whose write had returned success is there.
//!
//! One binary, two roles: run normally it is the parent; with `OUTPOST_CRASH_CHILD` set it is
//! the writer.

// A harness-free test reports on stdout, like libtest does.
#![allow(clippy::print_stdout)]

mod common;

use std::{
    io::{BufRead, BufReader, Write},
    process::{Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use common::{FAST, PASSPHRASE};
use outpost_store::{Profile, Role, SystemClock, records::NewPatient, records::Soap, verify};
use rand_core::{OsRng, RngCore};

const KILLS: usize = 24;
const CHILD_ENV: &str = "OUTPOST_CRASH_CHILD";

fn anchors(dir: &std::path::Path) -> std::path::PathBuf {
    dir.join("anchors")
}

fn child(dir: &str) {
    let dir = std::path::Path::new(dir);
    let mut store = Profile::open(&dir.join("profile"))
        .unwrap()
        .with_anchor_dir(Some(anchors(dir)))
        .unlock("Crash Tester", PASSPHRASE, Arc::new(SystemClock))
        .unwrap();
    let patient = store.search_patients("").unwrap().remove(0);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for i in 0u64.. {
        let note = store
            .write_note(
                patient.id,
                None,
                &Soap {
                    subjective: format!("note {i}"),
                    objective: "x".repeat(500),
                    ..Default::default()
                },
            )
            .unwrap();
        // Only now has the write returned success: report it.
        writeln!(out, "{}", note.id.to_hex()).unwrap();
        out.flush().unwrap();
    }
}

fn main() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        child(&dir);
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (mut store, _) = Profile::create_in(
        &tmp.path().join("profile"),
        "Crash Tester",
        Role::Physician,
        PASSPHRASE,
        FAST,
        Arc::new(SystemClock),
        Some(anchors(tmp.path())),
    )
    .unwrap();
    let patient = store
        .add_patient(&NewPatient {
            given_name: "C".into(),
            family_name: "T".into(),
            birth_date: "1999-09-09".into(),
            ..Default::default()
        })
        .unwrap();
    store.lock().unwrap();

    let exe = std::env::current_exe().unwrap();
    let mut acknowledged: Vec<String> = Vec::new();
    let mut passed = 0;
    for round in 0..KILLS {
        let mut child = Command::new(&exe)
            .env(CHILD_ENV, tmp.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Kill at a random moment 20..220 ms after the first acknowledged write, so kills land
        // mid-transaction, mid-fsync, mid-checkpoint.
        let first = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("child wrote nothing");
        acknowledged.push(first);
        let delay = Duration::from_millis(20 + OsRng.next_u64() % 200);
        let start = Instant::now();
        while start.elapsed() < delay {
            if let Ok(id) = rx.recv_timeout(Duration::from_millis(5)) {
                acknowledged.push(id);
            }
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        reader.join().unwrap();
        acknowledged.extend(rx.try_iter());

        let mut store = Profile::open(&tmp.path().join("profile"))
            .unwrap()
            .with_anchor_dir(Some(anchors(tmp.path())))
            .unlock("Crash Tester", PASSPHRASE, Arc::new(SystemClock))
            .unwrap();
        assert!(
            store.warnings().is_empty(),
            "round {round}: a crash looked like a rollback: {:?}",
            store.warnings()
        );
        store
            .integrity_check()
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        verify::verify_log(store.raw_connection()).unwrap_or_else(|e| panic!("round {round}: {e}"));
        let chart = store.chart(patient.id).unwrap();
        let present: std::collections::HashSet<String> =
            chart.notes.iter().map(|n| n.id.to_hex()).collect();
        for id in &acknowledged {
            assert!(
                present.contains(id),
                "round {round}: acknowledged note {id} lost"
            );
        }
        store.lock().unwrap();
        passed += 1;
    }
    assert!(
        acknowledged.len() > KILLS,
        "too few writes to mean anything: {}",
        acknowledged.len()
    );
    println!(
        "crash consistency: {} kills, {} acknowledged notes all present",
        KILLS,
        acknowledged.len()
    );
    println!("crash: {passed} passed, 0 failed");
}
