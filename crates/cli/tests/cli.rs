//! The `outpost` binary as a clinic's script uses it: real processes, real profile on disk.

use std::{path::Path, process::Command};

use serde_json::Value;

const PASS: &str = "clinic laptop passphrase";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn outpost(profile: &Path, args: &[&str]) -> Run {
    outpost_with(profile, PASS, args)
}

fn outpost_with(profile: &Path, pass: &str, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_outpost"))
        .args(args)
        .env("OUTPOST_PROFILE", profile)
        .env("OUTPOST_PASSPHRASE", pass)
        .env_remove("OUTPOST_USER")
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn ok(r: Run) -> String {
    let Run {
        code,
        stdout,
        stderr,
    } = r;
    assert_eq!(code, 0, "stderr: {stderr}");
    stdout.trim().to_owned()
}

fn json(r: Run) -> Value {
    serde_json::from_str(&ok(r)).unwrap()
}

#[test]
#[allow(clippy::too_many_lines)] // one scenario, read top to bottom
fn a_clinic_day_from_the_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    let profile = tmp.path().join("clinic");
    let init = json(outpost(
        &profile,
        &[
            "init",
            "--name",
            "Dr. Achieng",
            "--role",
            "physician",
            "--json",
        ],
    ));
    assert_eq!(
        init["recovery_key"]
            .as_str()
            .unwrap()
            .replace('-', "")
            .len(),
        52
    );

    let pid = json(outpost(
        &profile,
        &[
            "patient",
            "add",
            "--given",
            "Wanjiru",
            "--family",
            "Kamau",
            "--birth-date",
            "1991-03-14",
            "--clinic-id",
            "NK-7",
            "--json",
        ],
    ));
    let pid = pid["id"].as_str().unwrap().to_owned();
    let plain_id = ok(outpost(
        &profile,
        &[
            "patient",
            "add",
            "--given",
            "Otieno",
            "--family",
            "Odhiambo",
            "--birth-date",
            "1975-11-02",
        ],
    ));
    assert_eq!(plain_id.len(), 32);

    let list = json(outpost(&profile, &["patient", "list", "--json"]));
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["family_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Kamau", "Odhiambo"]);
    assert_eq!(list[0]["id"], pid.as_str());

    let eid = ok(outpost(
        &profile,
        &["encounter", "add", "--patient", &pid, "--kind", "in_person"],
    ));
    ok(outpost(
        &profile,
        &[
            "vitals",
            "add",
            "--patient",
            &pid,
            "--kind",
            "bp",
            "--value",
            "142",
            "--value2",
            "91",
        ],
    ));
    let nid = ok(outpost(
        &profile,
        &[
            "note",
            "write",
            "--patient",
            &pid,
            "--encounter",
            &eid,
            "--subjective",
            "Headache 2 days",
            "--objective",
            "BP 142/91",
            "--assessment",
            "Elevated BP",
            "--plan",
            "Recheck in 1 week",
        ],
    ));
    ok(outpost(&profile, &["note", "sign", &nid]));
    ok(outpost(
        &profile,
        &[
            "note",
            "addendum",
            &nid,
            "--text",
            "Repeat BP 128/84 after rest",
        ],
    ));
    let note = json(outpost(&profile, &["note", "show", &nid, "--json"]));
    assert_eq!(note["soap"]["plan"], "Recheck in 1 week");
    assert!(note["signed_at"].is_i64());
    assert_eq!(note["addenda"][0]["text"], "Repeat BP 128/84 after rest");

    // A signed note cannot be signed again: user error, one line, exit 1.
    let again = outpost(&profile, &["note", "sign", &nid]);
    assert_eq!(again.code, 1);
    assert_eq!(again.stderr.trim().lines().count(), 1, "{}", again.stderr);

    let photo = tmp.path().join("rash.jpg");
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(&photo, &bytes).unwrap();
    let aid = ok(outpost(
        &profile,
        &[
            "attach",
            "add",
            "--patient",
            &pid,
            "--media-type",
            "image/jpeg",
            photo.to_str().unwrap(),
        ],
    ));
    let back = tmp.path().join("back.jpg");
    ok(outpost(
        &profile,
        &["attach", "get", &aid, "--out", back.to_str().unwrap()],
    ));
    assert_eq!(std::fs::read(&back).unwrap(), bytes);

    let chart = json(outpost(&profile, &["patient", "show", &pid, "--json"]));
    assert_eq!(chart["notes"].as_array().unwrap().len(), 1);
    assert_eq!(chart["vitals"][0]["unit"], "mm[Hg]");

    let audit = json(outpost(
        &profile,
        &["audit", "list", "--record", &pid, "--json"],
    ));
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "chart_read")
    );
    ok(outpost(&profile, &["audit", "verify"]));

    // Backup, verify, restore into a new profile: same chart.
    let backup = tmp.path().join("clinic.backup");
    ok(outpost(
        &profile,
        &["backup", "create", backup.to_str().unwrap()],
    ));
    ok(outpost(
        &profile,
        &["backup", "verify", backup.to_str().unwrap()],
    ));
    let restored = tmp.path().join("restored");
    let r = outpost(
        &restored,
        &[
            "backup",
            "restore",
            backup.to_str().unwrap(),
            "--profile",
            restored.to_str().unwrap(),
        ],
    );
    ok(r);
    let chart2 = json(outpost(&restored, &["patient", "show", &pid, "--json"]));
    assert_eq!(chart2["notes"], chart["notes"]);
    assert_eq!(chart2["vitals"], chart["vitals"]);
    assert_eq!(chart2["attachments"], chart["attachments"]);
    ok(outpost(&restored, &["audit", "verify"]));
}

#[test]
fn errors_are_one_line_with_the_right_exit_code() {
    let tmp = tempfile::tempdir().unwrap();
    let profile = tmp.path().join("p");
    ok(outpost(
        &profile,
        &["init", "--name", "Nurse Ama", "--role", "nurse"],
    ));

    let wrong = outpost_with(&profile, "not the passphrase", &["patient", "list"]);
    assert_eq!(wrong.code, 1);
    assert_eq!(wrong.stderr.trim(), "outpost: wrong passphrase");

    let bad = outpost(
        &profile,
        &[
            "patient",
            "add",
            "--given",
            "A",
            "--family",
            "B",
            "--birth-date",
            "14/03/1991",
        ],
    );
    assert_eq!(bad.code, 1);
    assert!(bad.stderr.contains("birth_date"), "{}", bad.stderr);
    assert!(!bad.stderr.contains("14/03/1991") || bad.stderr.lines().count() == 1);

    let usage = outpost(&profile, &["patient", "add", "--given", "A"]);
    assert_eq!(usage.code, 2, "{}", usage.stderr);

    let no_profile = outpost(&tmp.path().join("none"), &["patient", "list"]);
    assert_eq!(no_profile.code, 1);
    assert!(
        no_profile.stderr.contains("no profile"),
        "{}",
        no_profile.stderr
    );

    let exists = outpost(&profile, &["init", "--name", "Again"]);
    assert_eq!(exists.code, 1);
    assert!(
        exists.stderr.contains("already exists"),
        "{}",
        exists.stderr
    );
}

#[test]
fn passphrase_file_works_and_wins_over_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let profile = tmp.path().join("p");
    let pf = tmp.path().join("pass.txt");
    std::fs::write(&pf, format!("{PASS}\n")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_outpost"))
        .args([
            "init",
            "--name",
            "Admin",
            "--role",
            "admin",
            "--passphrase-file",
            pf.to_str().unwrap(),
            "--profile",
            profile.to_str().unwrap(),
        ])
        .env_remove("OUTPOST_PASSPHRASE")
        .env_remove("OUTPOST_PROFILE")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The same passphrase from the environment now unlocks it.
    ok(outpost(&profile, &["patient", "list"]));
}
