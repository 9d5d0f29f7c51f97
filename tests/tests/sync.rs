//! Sync scenarios with a real relay process on loopback and devices driven through the
//! `outpost` command line: three devices edit offline and converge, the relay and a client
//! are killed mid-sync, a removed member gets nothing new, an invite works once, a rolled-back
//! device is told, the relay's files hold no plaintext, a tampered envelope is set aside
//! alone, an allergy recorded offline flags a prescription written offline elsewhere, and an
//! unusual-access alert raised by one device's reads is seen, and its acknowledgement, by the
//! team's other physician.

use outpost_tests::scenario::{Device, Relay, signal};
use serde_json::Value;

/// A relay and three devices in one workspace: Dr A founded it; Nurse B and Dr C joined.
struct Team {
    root: tempfile::TempDir,
    relay: Relay,
    a: Device,
    b: Device,
    c: Device,
}

fn team() -> Team {
    let root = tempfile::tempdir().unwrap();
    let relay = Relay::start(&root.path().join("relay"));
    let a = Device::new(root.path(), "a", "passphrase of dr a");
    let b = Device::new(root.path(), "b", "passphrase of nurse b");
    let c = Device::new(root.path(), "c", "passphrase of dr c");
    a.run(&["init", "--name", "Dr Adjei", "--role", "physician"]);
    b.run(&["init", "--name", "Nurse Boateng", "--role", "nurse"]);
    c.run(&["init", "--name", "Dr Cole", "--role", "physician"]);
    let ws = a.run(&[
        "workspace",
        "create",
        "--name",
        "Riverside",
        "--relay",
        &relay.url,
    ]);
    assert_eq!(ws.trim().len(), 32, "prints the workspace id: {ws:?}");
    let code_b = a.run(&["workspace", "invite", "--role", "nurse"]);
    let code_c = a.run(&[
        "workspace",
        "invite",
        "--role",
        "physician",
        "--expires",
        "2d",
    ]);
    assert_eq!(code_b.trim().lines().count(), 1, "one line");
    a.run(&["sync"]);
    b.run(&["workspace", "join", code_b.trim()]);
    c.run(&["workspace", "join", code_c.trim()]);
    // Not admitted yet: sync returns, waiting.
    assert!(b.run(&["sync"]).contains("Waiting"));
    a.run(&["sync"]);
    for d in [&b, &c, &a, &b, &c] {
        d.run(&["sync"]);
    }
    Team {
        root,
        relay,
        a,
        b,
        c,
    }
}

fn patients(d: &Device) -> Vec<Value> {
    let mut list = d.json(&["patient", "list"])["patients"]
        .as_array()
        .unwrap()
        .clone();
    list.sort_by_key(|p| p["id"].as_str().unwrap().to_owned());
    list
}

fn sync_all(t: &Team, rounds: usize) {
    for _ in 0..rounds {
        for d in [&t.a, &t.b, &t.c] {
            d.run(&["sync"]);
        }
    }
}

#[test]
fn three_devices_edit_offline_and_converge_when_the_relay_returns() {
    let mut t = team();
    let shared = t.a.run(&[
        "patient",
        "add",
        "--given",
        "Kwame",
        "--family",
        "Mensah",
        "--birth-date",
        "1961-04-12",
    ]);
    let shared = shared.trim().to_owned();
    sync_all(&t, 1);
    // The relay goes away for days; everyone keeps working.
    assert!(t.relay.terminate().success(), "SIGTERM is a clean shutdown");
    let pa = t.a.run(&[
        "patient",
        "add",
        "--given",
        "Ama",
        "--family",
        "Owusu",
        "--birth-date",
        "1990-01-01",
    ]);
    t.b.run(&[
        "vitals",
        "add",
        "--patient",
        &shared,
        "--kind",
        "pulse",
        "--value",
        "88",
    ]);
    t.c.run(&[
        "note",
        "write",
        "--patient",
        &shared,
        "--subjective",
        "cough for two weeks",
    ]);
    t.a.run(&["patient", "edit", &shared, "--contact", "+233 20 111 1111"]);
    t.b.run(&["patient", "edit", &shared, "--contact", "+233 24 222 2222"]);
    // Offline, sync says so in one line and fails.
    let out = t.a.try_run(&["sync"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(err.contains("unreachable"), "{err}");
    let status = t.a.json(&["status"]);
    assert!(status["pending"].as_u64().unwrap() > 0);
    assert!(status["oldest_pending_seconds"].is_number());
    // It comes back; everyone converges.
    t.relay.restart();
    sync_all(&t, 3);
    let (la, lb, lc) = (patients(&t.a), patients(&t.b), patients(&t.c));
    assert_eq!(la, lb);
    assert_eq!(lb, lc);
    assert!(la.iter().any(|p| p["id"] == pa.trim()));
    let chart = t.c.json(&["patient", "show", &shared]);
    assert_eq!(chart["vitals"].as_array().unwrap().len(), 1);
    assert_eq!(chart["notes"].as_array().unwrap().len(), 1);
    // The two contact edits conflict: both kept, the same on every device.
    let conflicts = t.c.json(&["conflicts", "list"]);
    assert_eq!(conflicts, t.a.json(&["conflicts", "list"]));
    let list = conflicts.as_array().unwrap();
    assert_eq!(list.len(), 1, "{conflicts}");
    assert_eq!(list[0]["field"], "contact");
    let values: Vec<&str> = list[0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["value"].as_str().unwrap())
        .collect();
    assert!(values.contains(&"+233 20 111 1111") && values.contains(&"+233 24 222 2222"));
    // A person resolves it; the resolution syncs.
    let chosen = list[0]["values"][1]["id"].as_str().unwrap().to_owned();
    t.c.run(&[
        "conflicts",
        "resolve",
        list[0]["id"].as_str().unwrap(),
        "--choose",
        &chosen,
    ]);
    sync_all(&t, 2);
    for d in [&t.a, &t.b, &t.c] {
        assert_eq!(d.json(&["conflicts", "list"]), serde_json::json!([]));
        d.run(&["audit", "verify"]);
    }
    let shown = t.a.json(&["patient", "show", &shared])["patient"]["contact"].clone();
    assert_eq!(shown, list[0]["values"][1]["value"]);
    let _ = &t.root;
}

/// The nurse records a penicillin allergy while the physician, offline elsewhere, prescribes
/// amoxicillin (his device knew of no allergy, so nothing refused it). After sync, every device
/// shows the prescription as conflicting with the allergy, and the next one is refused.
#[test]
fn an_allergy_recorded_offline_flags_a_prescription_written_offline_elsewhere() {
    let mut t = team();
    let p = t.a.run(&[
        "patient",
        "add",
        "--given",
        "Esi",
        "--family",
        "Owusu",
        "--birth-date",
        "1984-05-05",
    ]);
    let p = p.trim().to_owned();
    sync_all(&t, 1);
    assert!(t.relay.terminate().success());
    t.b.run(&[
        "allergy",
        "add",
        "--patient",
        &p,
        "--substance",
        "penicillin",
        "--reaction",
        "anaphylaxis",
        "--severity",
        "severe",
    ]);
    let amoxicillin = [
        "med",
        "prescribe",
        "--patient",
        &p,
        "--drug",
        "amoxicillin",
        "--dose",
        "500 mg",
        "--route",
        "oral",
        "--frequency",
        "three times a day",
        "--duration",
        "5 days",
    ];
    let med = t.c.run(&amoxicillin);
    t.relay.restart();
    sync_all(&t, 3);
    for d in [&t.a, &t.b, &t.c] {
        let chart = d.json(&["patient", "show", &p]);
        assert_eq!(chart["allergy_status"], "allergies");
        assert_eq!(chart["medications"][0]["id"], med.trim());
        let flagged = chart["medications"][0]["conflicts_with"]
            .as_array()
            .unwrap();
        assert_eq!(flagged.len(), 1, "{chart}");
        assert_eq!(flagged[0], chart["allergies"][0]["id"]);
    }
    let again = t.c.try_run(&amoxicillin);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("penicillins"));
}

#[test]
fn a_relay_killed_mid_sync_loses_no_acknowledged_write() {
    let mut t = team();
    let p = t.a.run(&[
        "patient",
        "add",
        "--given",
        "Efua",
        "--family",
        "Asante",
        "--birth-date",
        "1985-03-03",
    ]);
    for i in 0..300 {
        t.a.run(&[
            "vitals",
            "add",
            "--patient",
            p.trim(),
            "--kind",
            "pulse",
            "--value",
            &(60 + i % 40).to_string(),
        ]);
    }
    let mut sync = t.a.command(&["sync"]).spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(150));
    t.relay.kill9();
    let _ = sync.wait();
    t.relay.restart();
    t.a.run(&["sync"]);
    t.b.run(&["sync"]);
    let chart = t.b.json(&["patient", "show", p.trim()]);
    assert_eq!(chart["vitals"].as_array().unwrap().len(), 300);
}

#[test]
fn a_client_killed_mid_sync_repeats_nothing_harmful() {
    let t = team();
    let p = t.a.run(&[
        "patient",
        "add",
        "--given",
        "Yaw",
        "--family",
        "Darko",
        "--birth-date",
        "1975-07-07",
    ]);
    for i in 0..200 {
        t.a.run(&[
            "vitals",
            "add",
            "--patient",
            p.trim(),
            "--kind",
            "pulse",
            "--value",
            &(60 + i % 40).to_string(),
        ]);
    }
    t.a.run(&["sync"]);
    let mut pulling = t.b.command(&["sync"]).spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(120));
    signal(pulling.id(), "KILL");
    let _ = pulling.wait();
    t.b.run(&["sync"]);
    let chart = t.b.json(&["patient", "show", p.trim()]);
    assert_eq!(chart["vitals"].as_array().unwrap().len(), 200);
    t.b.run(&["audit", "verify"]);
}

#[test]
fn a_removed_member_gets_nothing_new() {
    let t = team();
    let members = t.a.json(&["workspace", "members"]);
    let cole = members
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "Dr Cole")
        .unwrap()
        .clone();
    for key in ["user", "name", "device", "role", "safety_number", "status"] {
        assert!(cole.get(key).is_some(), "members JSON has {key}");
    }
    t.a.run(&["workspace", "remove", cole["device"].as_str().unwrap()]);
    t.a.run(&["sync"]);
    t.a.run(&[
        "patient",
        "add",
        "--given",
        "Secret",
        "--family",
        "AfterRemoval",
        "--birth-date",
        "2000-02-02",
    ]);
    t.a.run(&["sync"]);
    t.b.run(&["sync"]);
    assert!(
        patients(&t.b)
            .iter()
            .any(|p| p["family_name"] == "AfterRemoval")
    );
    let out = t.c.try_run(&["sync"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("removed"));
    assert!(
        !patients(&t.c)
            .iter()
            .any(|p| p["family_name"] == "AfterRemoval")
    );
}

#[test]
fn an_invite_used_twice_fails_the_second_time() {
    let t = team();
    let code = t.a.run(&["workspace", "invite", "--role", "nurse"]);
    t.a.run(&["sync"]);
    let d = Device::new(t.root.path(), "d", "passphrase of d");
    let e = Device::new(t.root.path(), "e", "passphrase of e");
    d.run(&["init", "--name", "Nurse D", "--role", "nurse"]);
    e.run(&["init", "--name", "Nurse E", "--role", "nurse"]);
    d.run(&["workspace", "join", code.trim()]);
    let out = e.try_run(&["workspace", "join", code.trim()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already used"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

#[test]
fn a_rolled_back_device_is_told_at_sync_and_nothing_it_wrote_is_lost() {
    let t = team();
    // An old copy of Nurse B's whole profile (and its outside anchors): a restored image, so
    // the device itself cannot tell.
    let old = t.root.path().join("b-old");
    let old_anchors = t.root.path().join("b-old.anchors");
    copy_dir(&t.b.dir, &old);
    copy_dir(&t.b.anchors, &old_anchors);
    let p = t.b.run(&[
        "patient",
        "add",
        "--given",
        "Abena",
        "--family",
        "Laterthan",
        "--birth-date",
        "1999-09-09",
    ]);
    t.b.run(&["sync"]);
    std::fs::remove_dir_all(&t.b.dir).unwrap();
    std::fs::remove_dir_all(&t.b.anchors).unwrap();
    copy_dir(&old, &t.b.dir);
    copy_dir(&old_anchors, &t.b.anchors);
    // The relay holds more of its log than it does: sync says so, in one line, and stops
    // before pushing anything that would fork the log.
    let out = t.b.try_run(&["sync"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("restored from an older copy"), "{err}");
    assert_eq!(err.trim().lines().count(), 1);
    let status = t.b.json(&["status"]);
    assert!(
        status["last_error"]
            .as_str()
            .unwrap()
            .contains("older copy"),
        "{status}"
    );
    // What it wrote before the restore is not lost: the relay and the team have it.
    t.a.run(&["sync"]);
    assert!(patients(&t.a).iter().any(|x| x["id"] == p.trim()));
}

/// Every file under the relay's data directory, raw bytes (the database, its WAL).
fn relay_bytes(relay: &Relay) -> Vec<(String, Vec<u8>)> {
    std::fs::read_dir(&relay.data)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn the_relay_learns_nothing_but_sizes_and_timing() {
    let t = team();
    let marker_name = "Zyxwvutsrq";
    let marker_note = "MARKER-NOTE-7b1f";
    let marker_file = b"MARKER-ATTACHMENT-c93e";
    let p = t.a.run(&[
        "patient",
        "add",
        "--given",
        marker_name,
        "--family",
        "Quxbaz",
        "--birth-date",
        "1950-01-01",
    ]);
    t.a.run(&[
        "note",
        "write",
        "--patient",
        p.trim(),
        "--subjective",
        marker_note,
    ]);
    let file = t.root.path().join("scan.txt");
    let mut content = marker_file.to_vec();
    content.extend(std::iter::repeat_n(b'x', 10_000));
    std::fs::write(&file, &content).unwrap();
    let attachment = t.a.run(&[
        "attach",
        "add",
        "--patient",
        p.trim(),
        file.to_str().unwrap(),
    ]);
    sync_all(&t, 2);
    assert!(
        patients(&t.b)
            .iter()
            .any(|x| x["given_name"] == marker_name)
    );
    // The attachment's content crossed the relay, encrypted, and arrived whole.
    let copy = t.root.path().join("copy.txt");
    t.b.run(&[
        "attach",
        "get",
        attachment.trim(),
        "--out",
        copy.to_str().unwrap(),
    ]);
    assert_eq!(std::fs::read(&copy).unwrap(), content);
    let files = relay_bytes(&t.relay);
    assert!(files.iter().any(|(n, _)| n.starts_with("relay.sqlite")));
    for (name, bytes) in files {
        for marker in [
            marker_name.as_bytes(),
            marker_note.as_bytes(),
            marker_file,
            b"Quxbaz",
        ] {
            assert!(
                !bytes.windows(marker.len()).any(|w| w == marker),
                "{name} holds {:?} in the clear",
                String::from_utf8_lossy(marker)
            );
        }
    }
}

#[test]
fn a_tampered_envelope_at_the_relay_is_set_aside_alone() {
    let t = team();
    let p = t.a.run(&[
        "patient",
        "add",
        "--given",
        "Kofi",
        "--family",
        "Tamper",
        "--birth-date",
        "1980-08-08",
    ]);
    for v in ["61", "62", "63"] {
        t.a.run(&[
            "vitals",
            "add",
            "--patient",
            p.trim(),
            "--kind",
            "pulse",
            "--value",
            v,
        ]);
    }
    t.a.run(&["sync"]);
    // The relay's owner flips one byte of the envelope holding the second vital.
    let audit =
        t.a.json(&["audit", "list", "--record", p.trim(), "--limit", "50"]);
    let mut vitals: Vec<(String, i64)> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "vital_recorded")
        .map(|e| {
            (
                e["device"].as_str().unwrap().to_owned(),
                e["seq"].as_i64().unwrap(),
            )
        })
        .collect();
    vitals.sort_by_key(|v| v.1);
    assert_eq!(vitals.len(), 3);
    let (device, seq) = vitals[1].clone();
    let db = rusqlite::Connection::open(t.relay.data.join("relay.sqlite")).unwrap();
    let (rowid, mut bytes): (i64, Vec<u8>) = db
        .query_row(
            "SELECT rowid, bytes FROM envelopes WHERE author = ?1 AND seq = ?2",
            rusqlite::params![hex_to_bytes(&device), seq],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let n = bytes.len();
    bytes[n - 70] ^= 0x01;
    db.execute(
        "UPDATE envelopes SET bytes = ?1 WHERE rowid = ?2",
        rusqlite::params![bytes, rowid],
    )
    .unwrap();
    drop(db);
    t.b.run(&["sync"]);
    let status = t.b.json(&["status"]);
    assert_eq!(status["quarantined"], 1, "exactly that one: {status}");
    let chart = t.b.json(&["patient", "show", p.trim()]);
    assert_eq!(
        chart["vitals"].as_array().unwrap().len(),
        2,
        "the rest synced"
    );
    t.b.run(&["audit", "verify"]);
}

fn hex_to_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

/// Dr A sets the clinic's threshold at three charts; Nurse B opens three charts in a minute;
/// Dr A's device raises the alert from B's synced reads and acknowledges it, and Dr C's device,
/// with the rules it received, shows the same alert (the same id) acknowledged with A's note.
#[test]
fn an_alert_raised_at_the_clinic_and_its_acknowledgement_reach_the_remote_physician() {
    let t = team();
    t.a.run(&["alerts", "rules", "--bulk-charts", "3"]);
    let mut ids = Vec::new();
    for name in ["Ama", "Kofi", "Esi"] {
        ids.push(t.b.run(&[
            "patient",
            "add",
            "--given",
            name,
            "--family",
            "Owusu",
            "--birth-date",
            "1990-01-01",
        ]));
    }
    for id in &ids {
        t.b.run(&["patient", "show", id.trim()]);
    }
    // A nurse is not shown alerts.
    let refused = t.b.try_run(&["alerts", "list"]);
    assert_eq!(refused.status.code(), Some(1));
    sync_all(&t, 2);

    let bulk = |d: &Device| -> Vec<Value> {
        d.json(&["alerts", "list"])
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["alert"]["rule"] == "bulk_access")
            .cloned()
            .collect()
    };
    let at_a = bulk(&t.a);
    assert_eq!(at_a.len(), 1, "{at_a:#?}");
    assert_eq!(at_a[0]["actor_name"], "Nurse Boateng");
    assert_eq!(at_a[0]["alert"]["count"], 3);
    let id = at_a[0]["alert"]["id"].as_str().unwrap().to_owned();
    t.a.run(&[
        "alerts",
        "ack",
        &id,
        "--note",
        "registration day: the nurse was checking the new charts",
    ]);
    sync_all(&t, 2);

    assert!(
        t.c.run(&["alerts", "rules"]).contains("3 charts"),
        "the clinic's rules reached C"
    );
    let at_c = bulk(&t.c);
    assert_eq!(at_c.len(), 1, "{at_c:#?}");
    assert_eq!(
        at_c[0]["alert"]["id"],
        id.as_str(),
        "the same alert on every device"
    );
    assert_eq!(
        at_c[0]["acknowledged"]["note"],
        "registration day: the nurse was checking the new charts"
    );
    assert_eq!(at_c[0]["acknowledged"]["by_name"], "Dr Adjei");
}
