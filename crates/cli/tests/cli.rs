//! The `outpost` binary as a clinic's script uses it: real processes, real profile on disk.

use std::{os::unix::fs::PermissionsExt, path::Path, process::Command};

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
        .env("OUTPOST_ANCHOR_DIR", anchors(profile))
        .env_remove("OUTPOST_USER")
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// Log-head anchors beside the test's profiles, never in the user's own state directory.
fn anchors(profile: &Path) -> std::path::PathBuf {
    profile.parent().unwrap_or(profile).join("anchors")
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

/// Asserts that `r` failed as a refusal (exit code 1) whose one line says `says`.
fn fails_saying(r: &Run, says: &str) {
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains(says), "{}", r.stderr);
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
    assert_eq!(list["more"], false);
    let names: Vec<&str> = list["patients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["family_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Kamau", "Odhiambo"]);
    assert_eq!(list["patients"][0]["id"], pid.as_str());
    // One page at a time, and the text output says when more remain.
    let page = json(outpost(
        &profile,
        &["patient", "list", "--limit", "1", "--offset", "1", "--json"],
    ));
    assert_eq!(page["patients"][0]["family_name"], "Odhiambo");
    assert_eq!(page["more"], false);
    let first = ok(outpost(&profile, &["patient", "list", "--limit", "1"]));
    assert!(
        first.contains("Kamau") && first.ends_with("(more: --offset 1)"),
        "{first}"
    );

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
    assert_eq!(note["signature"]["state"], "valid");
    assert_eq!(note["addenda"][0]["signature"]["state"], "valid");
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
    // Saving again never replaces the file there, nor truncates another program's scratch
    // file beside it, and leaves nothing of its own behind.
    std::fs::write(&back, b"the clinician's edited copy").unwrap();
    let theirs = tmp.path().join("back.partial");
    std::fs::write(&theirs, b"someone else's download").unwrap();
    let again = outpost(
        &profile,
        &["attach", "get", &aid, "--out", back.to_str().unwrap()],
    );
    assert_ne!(again.code, 0);
    assert!(
        again.stderr.contains("a file exists there"),
        "{}",
        again.stderr
    );
    assert_eq!(
        std::fs::read(&back).unwrap(),
        b"the clinician's edited copy"
    );
    assert_eq!(std::fs::read(&theirs).unwrap(), b"someone else's download");
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.ends_with(".partial").then_some(name)
        })
        .collect();
    assert_eq!(leftovers, ["back.partial"], "only the other program's file");

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
    let made = outpost(&profile, &["backup", "create", backup.to_str().unwrap()]);
    assert!(
        made.stderr.contains("same disk as the chart"),
        "a backup beside the data is flagged: {}",
        made.stderr
    );
    ok(made);
    // On another file system (shared memory is its own), no warning.
    let elsewhere = tempfile::tempdir_in("/dev/shm").unwrap();
    let away = outpost(
        &profile,
        &[
            "backup",
            "create",
            elsewhere.path().join("b").to_str().unwrap(),
        ],
    );
    assert!(!away.stderr.contains("same disk"), "{}", away.stderr);
    ok(away);
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
    fails_saying(&bad, "birth_date");
    assert!(!bad.stderr.contains("14/03/1991") || bad.stderr.lines().count() == 1);

    let usage = outpost(&profile, &["patient", "add", "--given", "A"]);
    assert_eq!(usage.code, 2, "{}", usage.stderr);

    // A mistyped --profile is an error, and leaves no empty folder behind to confuse the next
    // run (nor the sync or call commands).
    for args in [
        &["patient", "list"][..],
        &["sync"][..],
        &["call", "answer", "--synthetic"][..],
    ] {
        let typo = tmp.path().join("clinc");
        let no_profile = outpost(&typo, args);
        assert_eq!(no_profile.code, 1, "{args:?}");
        assert!(
            no_profile.stderr.contains("no Outpost profile at"),
            "{args:?}: {}",
            no_profile.stderr
        );
        assert!(!typo.exists(), "{args:?} created {}", typo.display());
    }

    let exists = outpost(&profile, &["init", "--name", "Again"]);
    fails_saying(&exists, "already exists");
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
        .env("OUTPOST_ANCHOR_DIR", anchors(&profile))
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

#[test]
fn a_stale_draft_edit_is_a_conflict_and_both_texts_are_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let profile = tmp.path().join("p");
    ok(outpost(&profile, &["init", "--name", "Dr. Achieng"]));
    let pid = ok(outpost(
        &profile,
        &[
            "patient",
            "add",
            "--given",
            "A",
            "--family",
            "B",
            "--birth-date",
            "1991-03-14",
        ],
    ));
    let nid = ok(outpost(
        &profile,
        &["note", "write", "--patient", &pid, "--subjective", "first"],
    ));
    let shown = json(outpost(&profile, &["note", "show", &nid, "--json"]));
    let base = shown["revision"].as_str().unwrap().to_owned();
    ok(outpost(
        &profile,
        &[
            "note",
            "update",
            &nid,
            "--base",
            &base,
            "--subjective",
            "desk",
        ],
    ));
    // A second edit from the same (now stale) revision: kept, and reported as a conflict.
    let stale = outpost(
        &profile,
        &[
            "note", "update", &nid, "--base", &base, "--plan", "cli plan",
        ],
    );
    assert_eq!(stale.code, 1, "{}", stale.stdout);
    assert!(
        stale.stderr.contains("changed since you last saw it"),
        "{}",
        stale.stderr
    );
    let note = json(outpost(&profile, &["note", "show", &nid, "--json"]));
    let conflicts = note["conflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 1);
    let texts = [
        note["soap"]["subjective"].as_str().unwrap(),
        conflicts[0]["soap"]["subjective"].as_str().unwrap(),
    ];
    assert!(texts.contains(&"desk"), "{texts:?}");
    assert!(
        texts.contains(&"first"),
        "the stale edit kept its base text: {texts:?}"
    );
    // Signing waits for a merge; a merge naming both revisions clears it.
    assert_eq!(outpost(&profile, &["note", "sign", &nid]).code, 1);
    ok(outpost(
        &profile,
        &[
            "note",
            "update",
            &nid,
            "--base",
            note["revision"].as_str().unwrap(),
            "--base",
            conflicts[0]["revision"].as_str().unwrap(),
            "--subjective",
            "merged",
            "--plan",
            "cli plan",
        ],
    ));
    ok(outpost(&profile, &["note", "sign", &nid]));
    ok(outpost(&profile, &["audit", "verify"]));
}

#[test]
fn a_patient_profile_is_its_own_kind() {
    let tmp = tempfile::tempdir().unwrap();
    let profile = tmp.path().join("me");
    ok(outpost(
        &profile,
        &["init", "--name", "Kofi", "--role", "patient"],
    ));
    let refused = outpost(&profile, &["patient", "list"]);
    fails_saying(&refused, "not permitted");
    let emergency = outpost(
        &tmp.path().join("x"),
        &["init", "--name", "E", "--role", "emergency"],
    );
    assert_eq!(emergency.code, 1);
}

/// A physician adds a nurse from the command line; the nurse unlocks with her own passphrase
/// and changes it; the old one stops working. Passphrases come from files, never arguments.
#[test]
fn users_are_added_and_change_their_passphrase_from_the_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    let profile = tmp.path().join("p");
    ok(outpost(
        &profile,
        &["init", "--name", "Dr Amina", "--role", "physician"],
    ));
    let nurse_pass = tmp.path().join("nurse.txt");
    std::fs::write(&nurse_pass, "nurse esi passphrase\n").unwrap();
    let id = ok(outpost(
        &profile,
        &[
            "user",
            "add",
            "--name",
            "Nurse Esi",
            "--role",
            "nurse",
            "--new-passphrase-file",
            nurse_pass.to_str().unwrap(),
        ],
    ));
    assert!(id.contains("Nurse Esi (nurse)"), "{id}");
    let as_nurse = |pass: &str, args: &[&str]| {
        let mut all = vec!["--user", "Nurse Esi"];
        all.extend_from_slice(args);
        outpost_with(&profile, pass, &all)
    };
    ok(as_nurse("nurse esi passphrase", &["patient", "list"]));
    // A nurse may not add users.
    let refused = as_nurse(
        "nurse esi passphrase",
        &[
            "user",
            "add",
            "--name",
            "Dr Fake",
            "--role",
            "physician",
            "--new-passphrase-file",
            nurse_pass.to_str().unwrap(),
        ],
    );
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    let changed = tmp.path().join("changed.txt");
    std::fs::write(&changed, "esi's new longer passphrase\n").unwrap();
    ok(as_nurse(
        "nurse esi passphrase",
        &[
            "user",
            "passphrase",
            "--new-passphrase-file",
            changed.to_str().unwrap(),
        ],
    ));
    let old = as_nurse("nurse esi passphrase", &["patient", "list"]);
    fails_saying(&old, "wrong passphrase");
    ok(as_nurse(
        "esi's new longer passphrase",
        &["patient", "list"],
    ));
}

/// `profile.json` and its copy deleted: the recovery key and the printed recovery sheet still
/// get every chart out, as a backup that restores on a new laptop.
#[test]
#[allow(clippy::too_many_lines)] // one scenario, read top to bottom
fn the_recovery_key_and_sheet_rescue_the_charts_when_profile_json_is_lost() {
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
    let key_file = tmp.path().join("recovery.txt");
    std::fs::write(&key_file, init["recovery_key"].as_str().unwrap()).unwrap();
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
            "--json",
        ],
    ))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let sheet = tmp.path().join("sheet.txt");
    ok(outpost(
        &profile,
        &["recovery", "sheet", "--out", sheet.to_str().unwrap()],
    ));
    let printed = std::fs::read_to_string(&sheet).unwrap();
    assert!(
        printed.starts_with("OUTPOST RECOVERY SHEET v1"),
        "{printed}"
    );
    assert!(
        printed.contains('█') || printed.contains('▀'),
        "with a QR code"
    );
    // Written once: printing again to the same file is refused, not overwritten.
    assert_eq!(
        outpost(
            &profile,
            &["recovery", "sheet", "--out", sheet.to_str().unwrap()]
        )
        .code,
        1
    );
    std::fs::remove_file(profile.join("profile.json")).unwrap();
    std::fs::remove_file(profile.join("profile.copy.json")).unwrap();
    assert_eq!(outpost(&profile, &["patient", "list"]).code, 1);

    let rescue = tmp.path().join("rescue.backup");
    let backup_args = |sheet_arg: Option<&Path>| {
        let mut a = vec![
            "recovery".to_owned(),
            "backup".into(),
            "--key-file".into(),
            key_file.to_str().unwrap().into(),
            "--reason".into(),
            "profile file deleted by a clean-up tool".into(),
        ];
        if let Some(s) = sheet_arg {
            a.extend(["--sheet".into(), s.to_str().unwrap().into()]);
        }
        a.push(rescue.to_str().unwrap().into());
        a
    };
    let without = backup_args(None);
    let without: Vec<&str> = without.iter().map(String::as_str).collect();
    let refused = outpost_with(&profile, "rescue backup passphrase", &without);
    assert_eq!(
        refused.code, 1,
        "without the sheet there is nothing to open"
    );
    let with = backup_args(Some(&sheet));
    let with: Vec<&str> = with.iter().map(String::as_str).collect();
    ok(outpost_with(&profile, "rescue backup passphrase", &with));

    let restored = tmp.path().join("new-laptop");
    ok(outpost_with(
        &restored,
        "rescue backup passphrase",
        &[
            "backup",
            "restore",
            rescue.to_str().unwrap(),
            "--profile",
            restored.to_str().unwrap(),
        ],
    ));
    let chart = json(outpost_with(
        &restored,
        "rescue backup passphrase",
        &["patient", "show", &pid, "--json"],
    ));
    assert_eq!(chart["patient"]["family_name"], "Kamau");
}

/// `outpost user remove`: the removed nurse's copy of the profile taken earlier, with her
/// passphrase, opens nothing afterwards; the doctor carries on, with a new recovery key.
#[test]
fn a_removed_user_cannot_open_an_earlier_copy_of_the_profile() {
    let tmp = tempfile::tempdir().unwrap();
    let profile = tmp.path().join("clinic");
    ok(outpost(
        &profile,
        &["init", "--name", "Dr. Achieng", "--role", "physician"],
    ));
    let nurse_pass = tmp.path().join("nurse.txt");
    std::fs::write(&nurse_pass, "nurse esi passphrase\n").unwrap();
    ok(outpost(
        &profile,
        &[
            "user",
            "add",
            "--name",
            "Nurse Esi",
            "--role",
            "nurse",
            "--new-passphrase-file",
            nurse_pass.to_str().unwrap(),
        ],
    ));
    let members = json(outpost(&profile, &["user", "list", "--json"]));
    let nurse_id = members
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "Nurse Esi")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let stolen = tmp.path().join("usb-stick");
    std::fs::create_dir_all(&stolen).unwrap();
    std::fs::copy(profile.join("profile.json"), stolen.join("profile.json")).unwrap();

    let removed = json(outpost(&profile, &["user", "remove", &nurse_id, "--json"]));
    assert_eq!(
        removed["recovery_key"]
            .as_str()
            .unwrap()
            .replace('-', "")
            .len(),
        52
    );
    let list = json(outpost(&profile, &["user", "list", "--json"]));
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == nurse_id.as_str() && m["removed"] == true)
    );
    // Her old profile file beside today's database: refused, and the database is unchanged.
    std::fs::copy(profile.join("outpost.db"), stolen.join("outpost.db")).unwrap();
    let before = std::fs::read(stolen.join("outpost.db")).unwrap();
    let attempt = outpost_with(
        &stolen,
        "nurse esi passphrase",
        &["--user", "Nurse Esi", "patient", "list"],
    );
    assert_eq!(attempt.code, 1, "{}", attempt.stdout);
    assert!(
        attempt.stderr.contains("cannot be opened"),
        "{}",
        attempt.stderr
    );
    assert_eq!(std::fs::read(stolen.join("outpost.db")).unwrap(), before);
    ok(outpost(&profile, &["patient", "list"]));
}

/// A nurse records the allergy; the physician's prescription of a penicillin is refused in one
/// line naming it, then given with a reason; the chart shows age, allergies and medications.
#[test]
#[allow(clippy::too_many_lines)] // one scenario, read top to bottom
fn allergies_and_prescriptions_from_the_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    let profile = tmp.path().join("clinic");
    ok(outpost(
        &profile,
        &["init", "--name", "Dr. Achieng", "--role", "physician"],
    ));
    let pid = ok(outpost(
        &profile,
        &[
            "patient",
            "add",
            "--given",
            "Amani",
            "--family",
            "Otieno",
            "--birth-date",
            "2024-08-20",
        ],
    ));
    let chart = json(outpost(&profile, &["patient", "show", &pid, "--json"]));
    assert_eq!(chart["allergy_status"], "not_asked");
    // Born 2024-08-20: at least two years old whenever this runs (the CLI reads the real clock).
    assert!(chart["age"]["years"].as_u64().unwrap() >= 2, "{chart}");
    assert!(
        chart["age"]["text"].as_str().unwrap().contains(" y"),
        "{chart}"
    );
    let shown = ok(outpost(&profile, &["patient", "show", &pid]));
    assert!(shown.contains("allergies: NOT ASKED YET"), "{shown}");

    let added = ok(outpost(
        &profile,
        &[
            "allergy",
            "add",
            "--patient",
            &pid,
            "--substance",
            "Penicillin",
            "--reaction",
            "anaphylaxis",
            "--severity",
            "severe",
        ],
    ));
    assert!(
        added.ends_with("(checked against prescriptions)"),
        "{added}"
    );
    let peanuts = ok(outpost(
        &profile,
        &[
            "allergy",
            "add",
            "--patient",
            &pid,
            "--substance",
            "peanuts",
            "--reaction",
            "hives",
            "--severity",
            "moderate",
        ],
    ));
    assert!(peanuts.contains("NOT checked"), "{peanuts}");
    let none = outpost(&profile, &["allergy", "none", "--patient", &pid]);
    assert_eq!(none.code, 1, "no 'no known allergies' over recorded ones");
    assert!(
        none.stderr.contains("an allergy is recorded as active"),
        "{}",
        none.stderr
    );

    let prescribe = |extra: &[&str]| {
        let mut args = vec![
            "med",
            "prescribe",
            "--patient",
            &pid,
            "--drug",
            "amoxicillin",
            "--dose",
            "250 mg",
            "--route",
            "oral",
            "--frequency",
            "three times a day",
            "--duration",
            "5 days",
        ];
        args.extend_from_slice(extra);
        outpost(&profile, &args)
    };
    let refused = prescribe(&[]);
    assert_eq!(refused.code, 1);
    assert_eq!(
        refused.stderr.trim().lines().count(),
        1,
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("amoxicillin") && refused.stderr.contains("penicillins"),
        "{}",
        refused.stderr
    );
    assert!(
        json(outpost(
            &profile,
            &["med", "list", "--patient", &pid, "--json"]
        ))
        .as_array()
        .unwrap()
        .is_empty()
    );
    let given = ok(prescribe(&[
        "--override-reason",
        "tolerated amoxicillin in 2025",
    ]));
    let meds = json(outpost(
        &profile,
        &["med", "list", "--patient", &pid, "--json"],
    ));
    assert_eq!(meds[0]["id"], given.as_str());
    assert_eq!(meds[0]["atc"], "J01CA04");
    assert_eq!(meds[0]["override_reason"], "tolerated amoxicillin in 2025");
    ok(outpost(
        &profile,
        &["med", "stop", &given, "--reason", "course finished"],
    ));
    let chart = json(outpost(&profile, &["patient", "show", &pid, "--json"]));
    assert_eq!(chart["allergy_status"], "allergies");
    assert_eq!(chart["allergies"].as_array().unwrap().len(), 2);
    assert_eq!(chart["medications"][0]["stopped_reason"], "course finished");
    // An encounter with the reason for the visit.
    let eid = ok(outpost(
        &profile,
        &[
            "encounter",
            "add",
            "--patient",
            &pid,
            "--reason",
            "wheeze at night",
        ],
    ));
    // The problem list: a code, or words when no code fits.
    ok(outpost(
        &profile,
        &[
            "problem",
            "add",
            "--patient",
            &pid,
            "--code",
            "J45.909",
            "--onset",
            "2025-01-10",
        ],
    ));
    let uncoded = outpost(
        &profile,
        &["problem", "add", "--patient", &pid, "--code", "Snake bite"],
    );
    assert!(uncoded.stderr.contains("uncoded"), "{}", uncoded.stderr);
    ok(uncoded);
    let bad = outpost(
        &profile,
        &[
            "problem",
            "add",
            "--patient",
            &pid,
            "--code",
            "I10",
            "--onset",
            "2999-01-01",
        ],
    );
    assert_eq!(bad.code, 1, "{}", bad.stderr);
    let chart = json(outpost(&profile, &["patient", "show", &pid, "--json"]));
    assert_eq!(chart["problems"].as_array().unwrap().len(), 2);
    assert_eq!(chart["encounters"][0]["id"], eid.as_str());
    assert_eq!(chart["encounters"][0]["reason"], "wheeze at night");
    assert!(ok(outpost(&profile, &["problem", "codes", "htn"])).starts_with("I10"));
    // Registering someone who may already have a chart warns, by chart id only.
    let again = outpost(
        &profile,
        &[
            "patient",
            "add",
            "--given",
            "Amani",
            "--family",
            "Otieno",
            "--birth-date",
            "2024-01-02",
        ],
    );
    assert!(
        again
            .stderr
            .contains(&format!("possibly the same person as chart {pid}")),
        "{}",
        again.stderr
    );
    assert!(
        !again.stderr.contains("Otieno"),
        "no names on stderr: {}",
        again.stderr
    );
    ok(again);
    // The audit trail for a privacy officer: a new owner-only CSV, never over a file.
    let csv_path = tmp.path().join("audit.csv");
    let csv_arg = csv_path.to_str().unwrap();
    ok(outpost(
        &profile,
        &["audit", "export", "--out", csv_arg, "--record", &pid],
    ));
    let csv = std::fs::read_to_string(&csv_path).unwrap();
    assert!(
        csv.starts_with("time_utc,user,role,action,patient,"),
        "{csv}"
    );
    assert!(
        csv.contains(",Dr. Achieng,physician,medication_prescribed,\"Otieno, Amani\","),
        "{csv}"
    );
    assert_eq!(
        std::fs::metadata(&csv_path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let twice = outpost(&profile, &["audit", "export", "--out", csv_arg]);
    assert_eq!(twice.code, 1, "never over an existing file");
    assert_eq!(std::fs::read_to_string(&csv_path).unwrap(), csv);
    let found = ok(outpost(&profile, &["med", "drugs", "cotrim"]));
    assert!(
        found.starts_with("J01EE01"),
        "found by another name: {found}"
    );
    ok(outpost(&profile, &["audit", "verify"]));
}

#[test]
fn registration_with_an_estimated_age_an_identity_number_and_a_guardian() {
    let tmp = tempfile::tempdir().unwrap();
    let profile = tmp.path().join("clinic");
    ok(outpost(
        &profile,
        &["init", "--name", "Nurse Esi", "--role", "nurse"],
    ));
    let add = |extra: &[&str]| {
        let mut args = vec!["patient", "add", "--given", "Abla", "--family", "Mensah"];
        args.extend_from_slice(extra);
        outpost(&profile, &args)
    };
    let pid = ok(add(&[
        "--estimated-age",
        "40",
        "--national-id",
        "GHA-123456789-0",
        "--guardian",
        "none (adult)",
    ]));
    let chart = json(outpost(&profile, &["patient", "show", &pid, "--json"]));
    assert_eq!(chart["patient"]["birth_date_estimated"], true);
    assert_eq!(chart["age"]["years"], 40);
    assert_eq!(chart["patient"]["national_id"], "GHA-123456789-0");
    let shown = ok(outpost(&profile, &["patient", "show", &pid]));
    assert!(
        shown.contains("(about 40 y, born") && shown.contains("estimated)"),
        "{shown}"
    );
    // Found by the identity number; a second chart with it is refused.
    let found = json(outpost(
        &profile,
        &["patient", "list", "--search", "123456789", "--json"],
    ));
    assert_eq!(found["patients"][0]["id"], pid.as_str());
    let again = add(&[
        "--birth-date",
        "1985-01-01",
        "--national-id",
        "GHA-123456789-0",
    ]);
    assert_eq!(again.code, 1, "{}", again.stderr);
    assert!(again.stderr.contains("identity number"), "{}", again.stderr);
    // A birth date and an estimated age together are refused before anything is written.
    let both = add(&["--birth-date", "1985-01-01", "--estimated-age", "40"]);
    assert_ne!(both.code, 0);
    // The real date, found later, replaces the estimate.
    ok(outpost(
        &profile,
        &["patient", "edit", &pid, "--birth-date", "1984-06-01"],
    ));
    let chart = json(outpost(&profile, &["patient", "show", &pid, "--json"]));
    assert_eq!(chart["patient"]["birth_date_estimated"], false);
    assert_eq!(chart["patient"]["birth_date"], "1984-06-01");
}

#[test]
fn a_visit_template_fills_the_sections_not_given() {
    let tmp = tempfile::tempdir().unwrap();
    let profile = tmp.path().join("clinic");
    // Listed without a profile: the templates ship with the program.
    let listed = ok(outpost(&profile, &["note", "templates"]));
    assert!(
        listed.contains("sick_child\tSick child under 5 (IMCI)"),
        "{listed}"
    );
    ok(outpost(&profile, &["init", "--name", "Dr. Achieng"]));
    let pid = ok(outpost(
        &profile,
        &[
            "patient",
            "add",
            "--given",
            "Kwame",
            "--family",
            "Asare",
            "--birth-date",
            "1960-01-01",
        ],
    ));
    let id = ok(outpost(
        &profile,
        &[
            "note",
            "write",
            "--patient",
            &pid,
            "--template",
            "hypertension",
            "--assessment",
            "Hypertension, controlled",
        ],
    ));
    let note = json(outpost(&profile, &["note", "show", &id, "--json"]));
    assert!(
        note["soap"]["subjective"]
            .as_str()
            .unwrap()
            .starts_with("Taking medicines as prescribed"),
        "{note}"
    );
    assert_eq!(note["soap"]["assessment"], "Hypertension, controlled");
    let unknown = outpost(
        &profile,
        &["note", "write", "--patient", &pid, "--template", "nope"],
    );
    fails_saying(&unknown, "outpost note templates");
}

#[test]
fn alerts_from_the_command_line_list_acknowledge_and_set_the_rules() {
    let tmp = tempfile::tempdir().unwrap();
    let profile = tmp.path().join("clinic");
    ok(outpost(&profile, &["init", "--name", "Dr. Achieng"]));
    let rules = ok(outpost(
        &profile,
        &[
            "alerts",
            "rules",
            "--bulk-charts",
            "3",
            "--hours",
            "00:00-23:59",
            "--utc-offset",
            "+01:00",
        ],
    ));
    assert!(
        rules.contains("3 charts in 10 min") && rules.contains("UTC+01:00"),
        "{rules}"
    );
    assert_eq!(
        outpost(&profile, &["alerts", "rules", "--hours", "7-18"]).code,
        1
    );
    let mut ids = Vec::new();
    for name in ["Ama", "Kofi", "Esi"] {
        ids.push(ok(outpost(
            &profile,
            &[
                "patient",
                "add",
                "--given",
                name,
                "--family",
                "Mensah",
                "--birth-date",
                "1990-01-01",
            ],
        )));
    }
    for id in &ids {
        ok(outpost(&profile, &["patient", "show", id]));
    }
    let alerts = json(outpost(&profile, &["alerts", "list", "--json"]));
    let bulk: Vec<&Value> = alerts
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["alert"]["rule"] == "bulk_access")
        .collect();
    assert_eq!(bulk.len(), 1, "{alerts}");
    assert_eq!(bulk[0]["alert"]["count"], 3);
    let id = bulk[0]["alert"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        outpost(&profile, &["alerts", "ack", &id, "--note", " "]).code,
        1
    );
    ok(outpost(
        &profile,
        &["alerts", "ack", &id, "--note", "checking the registrations"],
    ));
    let listed = ok(outpost(&profile, &["alerts", "list"]));
    assert!(
        listed.contains("acknowledged: checking the registrations"),
        "{listed}"
    );
}

#[test]
fn an_update_from_a_file_is_refused_with_one_clear_line_while_this_build_has_no_update_key() {
    let tmp = tempfile::tempdir().unwrap();
    let profile = tmp.path().join("clinic");
    let file = tmp.path().join("outpost_0.2.0_amd64.AppImage");
    std::fs::write(&file, b"not really an AppImage").unwrap();
    let installed = tmp.path().join("Outpost.AppImage");
    std::fs::write(&installed, b"the working one").unwrap();
    for args in [
        vec!["update", "verify", file.to_str().unwrap()],
        vec![
            "update",
            "apply",
            file.to_str().unwrap(),
            "--installed",
            installed.to_str().unwrap(),
        ],
    ] {
        let r = outpost(&profile, &args);
        assert_eq!(r.code, 1, "{}", r.stderr);
        assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
        assert!(r.stderr.contains("no update key"), "{}", r.stderr);
    }
    assert_eq!(std::fs::read(&installed).unwrap(), b"the working one");
}
