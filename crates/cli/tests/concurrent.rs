//! The desktop app's core and the `outpost` command writing to one profile at the same time,
//! for 20 seconds: no write fails (no "database is busy"), none is lost, and the log verifies.

use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use outpost_core::{
    Core, Role, SystemClock,
    store::records::{NewPatient, Soap, VitalKind},
};
use zeroize::Zeroizing;

const PASS: &str = "a shared clinic passphrase";
const RUN_FOR: Duration = Duration::from_secs(20);

fn cli(profile: &Path, anchors: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_outpost"))
        .args(args)
        .env("OUTPOST_PROFILE", profile)
        .env("OUTPOST_PASSPHRASE", PASS)
        .env("OUTPOST_ANCHOR_DIR", anchors)
        .env_remove("OUTPOST_USER")
        .output()
        .unwrap()
}

/// Writes notes with the command line until told to stop; the ids it was told were written.
fn spawn_cli_writer(
    profile: &Path,
    anchors: &Path,
    pid: &str,
    stop: &Arc<AtomicBool>,
) -> std::thread::JoinHandle<Vec<String>> {
    let (profile, anchors, pid, stop) = (
        profile.to_path_buf(),
        anchors.to_path_buf(),
        pid.to_owned(),
        Arc::clone(stop),
    );
    std::thread::spawn(move || {
        let mut written = Vec::new();
        let mut i = 0u32;
        while !stop.load(Ordering::SeqCst) {
            let subjective = format!("cli note {i}");
            let out = cli(
                &profile,
                &anchors,
                &[
                    "note",
                    "write",
                    "--patient",
                    &pid,
                    "--subjective",
                    &subjective,
                ],
            );
            assert!(
                out.status.success(),
                "the command line failed while the desktop wrote: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            written.push(String::from_utf8(out.stdout).unwrap().trim().to_owned());
            i += 1;
        }
        written
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn desktop_and_command_line_write_at_once_and_nothing_is_lost() {
    let tmp = tempfile::tempdir().unwrap();
    let profile: PathBuf = tmp.path().join("clinic");
    let anchors = tmp.path().join("anchors");
    let core = Core::open_with(&profile, Arc::new(SystemClock), Some(anchors.clone())).unwrap();
    core.create_profile(
        "Dr. Achieng".into(),
        Role::Physician,
        Zeroizing::new(PASS.into()),
    )
    .await
    .unwrap();
    let patient = core
        .add_patient(NewPatient {
            given_name: "Wanjiru".into(),
            family_name: "Kamau".into(),
            birth_date: "1991-03-14".into(),
            ..Default::default()
        })
        .await
        .unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let cli_writer = spawn_cli_writer(&profile, &anchors, &patient.id.to_hex(), &stop);

    let start = Instant::now();
    let mut desktop_notes = Vec::new();
    let mut desktop_vitals = 0u32;
    while start.elapsed() < RUN_FOR {
        let n = core
            .write_note(
                patient.id,
                None,
                Soap {
                    subjective: format!("desktop note {}", desktop_notes.len()),
                    ..Default::default()
                },
            )
            .await
            .unwrap_or_else(|e| panic!("the desktop failed while the command line wrote: {e}"));
        let n = core
            .update_draft(
                n.id,
                vec![n.revision],
                Soap {
                    subjective: format!("desktop note {} (saved again)", desktop_notes.len()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        desktop_notes.push(n.id.to_hex());
        core.add_vital(patient.id, None, VitalKind::Pulse, 72.0, None)
            .await
            .unwrap();
        desktop_vitals += 1;
    }
    stop.store(true, Ordering::SeqCst);
    let cli_notes = cli_writer.join().unwrap();

    let chart = core.chart(patient.id).await.unwrap();
    let present: std::collections::HashSet<String> =
        chart.notes.iter().map(|n| n.id.to_hex()).collect();
    for id in cli_notes.iter().chain(&desktop_notes) {
        assert!(
            present.contains(id),
            "note {id} was acknowledged and is missing"
        );
    }
    assert_eq!(chart.vitals.len(), usize::try_from(desktop_vitals).unwrap());
    let report = core.verify_audit().await.unwrap();
    eprintln!(
        "concurrent writers: {} desktop notes (+{} revisions, {} vitals) and {} command-line notes in {:?}; {} operations verify",
        desktop_notes.len(),
        desktop_notes.len(),
        desktop_vitals,
        cli_notes.len(),
        RUN_FOR,
        report.operations
    );
    assert!(
        cli_notes.len() >= 5,
        "the command line barely ran: {}",
        cli_notes.len()
    );
    assert!(
        desktop_notes.len() >= 20,
        "the desktop barely ran: {}",
        desktop_notes.len()
    );
}
