//! Schema migrations: real profiles written by earlier builds (with data, `fixtures/`) upgrade to
//! the signed operation log at their first unlock and keep every record, attributed to the
//! users who wrote it and marked as recorded before signatures; a database from a newer build
//! is refused, not downgraded.

mod common;

use std::path::{Path, PathBuf};

use common::{FAST, TestClock};
use outpost_store::{
    Profile, Role, StoreError,
    audit::AuditFilter,
    db,
    records::{Signature, VitalKind},
};

fn fixture(version: u32) -> (tempfile::TempDir, PathBuf) {
    let src =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/schema-v{version}"));
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("profile");
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(&src).unwrap() {
        let name = entry.unwrap().file_name();
        if name != "RECOVERY.txt" {
            std::fs::copy(src.join(&name), dir.join(&name)).unwrap();
        }
    }
    (tmp, dir)
}

fn open(tmp: &tempfile::TempDir, dir: &Path) -> Profile {
    Profile::open(dir)
        .unwrap()
        .with_anchor_dir(Some(tmp.path().join("anchors")))
}

/// The schema version of the fixture's database as it is on disk.
fn schema_version(dir: &Path, physician: &str) -> i64 {
    let key = common::database_key(dir, physician, b"physician passphrase");
    let conn = db::open(&dir.join("outpost.db"), &key, db::OpenMode::Existing).unwrap();
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap()
}

#[test]
#[allow(clippy::too_many_lines)] // one scenario per fixture, read top to bottom
fn every_shipped_schema_upgrades_with_every_record_kept_and_attributed() {
    for version in [1, 2] {
        let (tmp, dir) = fixture(version);
        let clock = TestClock::at(1_800_000_000_000);
        let users = open(&tmp, &dir).users();
        let doctor = users
            .iter()
            .find(|u| u.role == Role::Physician)
            .unwrap()
            .clone();
        let nurse = users
            .iter()
            .find(|u| u.role == Role::Nurse)
            .unwrap()
            .clone();
        assert_eq!(
            schema_version(&dir, "Dr. Legacy Physician"),
            i64::from(version),
            "the fixture is what it says"
        );

        let mut doc = open(&tmp, &dir)
            .unlock(
                "Dr. Legacy Physician",
                b"physician passphrase",
                clock.clone(),
            )
            .unwrap();
        let patients = doc.search_patients("Legacy").unwrap();
        assert_eq!(patients.len(), 2, "v{version}");
        assert!(patients.iter().all(|p| p.legacy));
        let one = patients
            .iter()
            .find(|p| p.family_name == "PatientOne")
            .unwrap();
        assert_eq!(one.created_by, doctor.id);
        assert_eq!(one.clinic_id.as_deref(), Some("L-1"));
        let chart = doc.chart(one.id).unwrap();
        assert_eq!(chart.encounters.len(), 1);
        assert!(chart.encounters[0].legacy);
        let note = &chart.notes[0];
        assert_eq!(
            note.soap.subjective, "LEGACY-S2",
            "the last saved text survives"
        );
        assert!(
            matches!(note.signature, Signature::Unverified { by, .. } if by == doctor.id),
            "v{version}: {:?}",
            note.signature
        );
        assert!(note.legacy);
        assert_eq!(note.addenda.len(), 1);
        assert_eq!(note.addenda[0].text, "LEGACY-ADDENDUM");
        assert!(matches!(
            note.addenda[0].signature,
            Signature::Unverified { .. }
        ));
        assert_eq!(chart.vitals.len(), 1);
        assert_eq!(chart.vitals[0].kind, VitalKind::BloodPressure);
        assert_eq!(
            (chart.vitals[0].value, chart.vitals[0].value2),
            (142.0, Some(91.0))
        );
        assert_eq!(chart.attachments.len(), 1);
        let mut bytes = Vec::new();
        doc.read_attachment(chart.attachments[0].id, &mut bytes)
            .unwrap();
        assert_eq!(bytes, b"LEGACY-ATTACHMENT-BYTES");
        // A signed legacy note is still immutable.
        assert!(matches!(
            doc.update_draft(note.id, &[note.revision], &common::soap("x")),
            Err(StoreError::Immutable)
        ));

        let two = patients
            .iter()
            .find(|p| p.family_name == "PatientTwo")
            .unwrap();
        let chart = doc.chart(two.id).unwrap();
        assert_eq!(
            chart.notes[0].author, nurse.id,
            "the nurse's draft stays hers"
        );
        assert_eq!(chart.notes[0].soap.subjective, "NURSE-DRAFT");
        assert_eq!(chart.notes[0].signature, Signature::Unsigned);
        assert_eq!(chart.vitals[0].recorded_by, nurse.id);

        // The old audit trail is kept, sealed, and shown after the new entries.
        let entries = doc.audit_entries(&AuditFilter::default()).unwrap();
        assert!(
            entries
                .iter()
                .any(|e| e.device == "legacy" && e.action == "note_signed")
        );
        assert!(entries.iter().any(|e| e.action == "legacy_audit_sealed"));
        let report = doc.verify_audit().unwrap();
        assert!(report.legacy_entries > 5, "v{version}: {report:?}");
        doc.lock().unwrap();

        // The nurse registers her own key at her first unlock, then works as before, and
        // still cannot sign.
        let mut as_nurse = open(&tmp, &dir)
            .unlock("Nurse Legacy", b"nurse passphrase", clock.clone())
            .unwrap();
        assert_eq!(as_nurse.user().id, nurse.id);
        let v = as_nurse
            .add_vital(two.id, None, VitalKind::Pulse, 88.0, None)
            .unwrap();
        assert_eq!(v.recorded_by, nurse.id);
        let draft = &as_nurse.chart(two.id).unwrap().notes[0];
        assert!(matches!(
            as_nurse.sign_note(draft.id, &draft.content_hash),
            Err(StoreError::NotPermitted { .. })
        ));
        as_nurse.verify_audit().unwrap();
        as_nurse.lock().unwrap();

        // Unlocking again changes nothing: the import ran once.
        let doc = open(&tmp, &dir)
            .unlock(
                "Dr. Legacy Physician",
                b"physician passphrase",
                clock.clone(),
            )
            .unwrap();
        assert_eq!(doc.search_patients("Legacy").unwrap().len(), 2);
    }
}

/// Profiles written by the builds that shipped schemas 5 (signed operations, workspaces,
/// visits) and 6 (the patient search index) open in this build with every record, every
/// signature verified and every author kept.
#[test]
fn the_signed_schema_fixtures_upgrade_with_every_record_and_signature() {
    for version in [5, 6, 7, 8, 9, 10, 11, 12, 13] {
        signed_fixture_upgrades(version);
    }
}

fn signed_fixture_upgrades(version: u32) {
    let (tmp, dir) = fixture(version);
    let clock = TestClock::at(1_800_000_000_000);
    let users = open(&tmp, &dir).users();
    let nurse = users
        .iter()
        .find(|u| u.role == Role::Nurse)
        .unwrap()
        .clone();
    let mut doc = open(&tmp, &dir)
        .unlock(
            "Dr. Current Physician",
            b"physician passphrase",
            clock.clone(),
        )
        .unwrap();
    assert!(doc.warnings().is_empty(), "{:?}", doc.warnings());
    let patients = doc.search_patients("Patient").unwrap();
    assert_eq!(patients.len(), 2);
    let one = patients
        .iter()
        .find(|p| p.family_name == "PatientOne")
        .unwrap();
    let chart = doc.chart(one.id).unwrap();
    assert_eq!(chart.encounters.len(), 1);
    let note = &chart.notes[0];
    assert_eq!(note.soap.subjective, "CURRENT-S2");
    assert!(
        matches!(note.signature, Signature::Valid { by, .. } if by == doc.user().id),
        "{:?}",
        note.signature
    );
    assert_eq!(note.addenda[0].text, "CURRENT-ADDENDUM");
    assert_eq!(
        (chart.vitals[0].value, chart.vitals[0].value2),
        (142.0, Some(91.0))
    );
    let mut bytes = Vec::new();
    doc.read_attachment(chart.attachments[0].id, &mut bytes)
        .unwrap();
    assert_eq!(bytes, b"CURRENT-ATTACHMENT-BYTES");
    let two = patients
        .iter()
        .find(|p| p.family_name == "PatientTwo")
        .unwrap();
    let chart = doc.chart(two.id).unwrap();
    assert_eq!(chart.notes[0].author, nurse.id);
    assert_eq!(chart.notes[0].soap.subjective, "NURSE-DRAFT");
    assert_eq!(chart.vitals[0].recorded_by, nurse.id);
    doc.verify_audit().unwrap();
    doc.lock().unwrap();
    assert_eq!(
        schema_version(&dir, "Dr. Current Physician"),
        db::latest_version()
    );
}

/// Before a database with data is upgraded, a copy of it as it was is kept beside it: the
/// same bytes, still encrypted, still openable by an older build.
#[test]
fn an_upgrade_keeps_an_encrypted_copy_of_the_database_as_it_was() {
    let (tmp, dir) = fixture(2);
    let before = std::fs::read(dir.join("outpost.db")).unwrap();
    let doc = open(&tmp, &dir)
        .unlock(
            "Dr. Legacy Physician",
            b"physician passphrase",
            TestClock::at(1_800_000_000_000),
        )
        .unwrap();
    doc.lock().unwrap();
    let copy_path = db::snapshot_path(&dir.join("outpost.db"), 2);
    let copy = std::fs::read(&copy_path).expect("a copy was kept");
    assert_eq!(copy, before, "the copy is the database as it was");
    assert!(!copy.starts_with(b"SQLite format 3"), "and it is encrypted");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&copy_path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "owner only");
    }
    assert_eq!(
        schema_version(&dir, "Dr. Legacy Physician"),
        db::latest_version()
    );
}

/// An older Outpost (or the command line) that has the profile open holds the in-use lock: a
/// newer build refuses to change the schema under it, changes nothing, and upgrades once it
/// is closed.
#[test]
fn no_upgrade_runs_while_another_outpost_has_the_profile_open() {
    let (tmp, dir) = fixture(2);
    let before = std::fs::read(dir.join("outpost.db")).unwrap();
    let other = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(db::IN_USE_FILE))
        .unwrap();
    other.lock_shared().unwrap();
    let clock = TestClock::at(1_800_000_000_000);
    let err = open(&tmp, &dir)
        .unlock(
            "Dr. Legacy Physician",
            b"physician passphrase",
            clock.clone(),
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::InUseElsewhere), "{err:?}");
    assert!(err.to_string().contains("nothing was changed"));
    assert_eq!(std::fs::read(dir.join("outpost.db")).unwrap(), before);
    assert!(!db::snapshot_path(&dir.join("outpost.db"), 2).exists());
    drop(other);
    let doc = open(&tmp, &dir)
        .unlock(
            "Dr. Legacy Physician",
            b"physician passphrase",
            clock.clone(),
        )
        .unwrap();
    // Two sessions of the same schema (the app and the command line) share the profile.
    let nurse = open(&tmp, &dir)
        .unlock("Nurse Legacy", b"nurse passphrase", clock)
        .unwrap();
    assert_eq!(nurse.search_patients("Legacy").unwrap().len(), 2);
    drop(doc);
}

#[test]
fn a_patient_user_of_an_old_clinic_profile_is_refused_and_nothing_is_deleted() {
    let (tmp, dir) = fixture(2);
    let clock = TestClock::at(1_800_000_000_000);
    let before = std::fs::read(dir.join("outpost.db")).unwrap();
    let err = open(&tmp, &dir)
        .unlock("Patient Legacy", b"patient passphrase", clock.clone())
        .unwrap_err();
    assert!(matches!(err, StoreError::PatientUserRefused), "{err:?}");
    assert!(err.to_string().contains("nothing was deleted"));
    // Refused before anything was imported: the physician's import still finds every record.
    let _ = before;
    let doc = open(&tmp, &dir)
        .unlock(
            "Dr. Legacy Physician",
            b"physician passphrase",
            clock.clone(),
        )
        .unwrap();
    assert_eq!(doc.search_patients("Legacy").unwrap().len(), 2);
    doc.lock().unwrap();
    // And after the import, too.
    assert!(matches!(
        open(&tmp, &dir).unlock("Patient Legacy", b"patient passphrase", clock),
        Err(StoreError::PatientUserRefused)
    ));
    assert_eq!(
        open(&tmp, &dir).users().len(),
        3,
        "the account is still listed"
    );
}

#[test]
fn emergency_access_works_on_an_upgraded_profile() {
    let (tmp, dir) = fixture(2);
    let recovery = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schema-v2/RECOVERY.txt"),
    )
    .unwrap();
    let clock = TestClock::at(1_800_000_000_000);
    // First unlock ever after the upgrade is the emergency one: it imports, as the emergency
    // user, who registers their key.
    let store = open(&tmp, &dir)
        .unlock_with_recovery(
            &recovery,
            "all passphrases lost after staff change",
            clock.clone(),
        )
        .unwrap();
    assert_eq!(store.user().role, Role::Emergency);
    assert_eq!(store.search_patients("Legacy").unwrap().len(), 2);
    let entries = store.audit_entries(&AuditFilter::default()).unwrap();
    let access = entries
        .iter()
        .find(|e| e.action == "emergency_access")
        .unwrap();
    assert_eq!(
        access.detail.as_deref(),
        Some("all passphrases lost after staff change")
    );
    store.lock().unwrap();
    // The same recovery key opens it again as the same emergency user.
    let again = open(&tmp, &dir)
        .unlock_with_recovery(&recovery, "second look", clock)
        .unwrap();
    assert_eq!(again.user().role, Role::Emergency);
    let _ = FAST;
}

#[test]
fn migrates_from_every_earlier_version_of_an_empty_database() {
    for start in 0..db::latest_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let mut conn = db::open(&path, &[9; 32], db::OpenMode::Create).unwrap();
        for sql in &db::MIGRATIONS[..usize::try_from(start).unwrap()] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", start).unwrap();
        db::migrate(&mut conn).unwrap();
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, db::latest_version());
        let tables: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('ops','patients','notes','note_revisions','vitals','attachments','blobs')", [], |r| r.get(0))
            .unwrap();
        assert_eq!(tables, 7, "from version {start}");
        db::migrate(&mut conn).unwrap();
    }
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let mut conn = db::open(&path, &[9; 32], db::OpenMode::Create).unwrap();
    conn.pragma_update(None, "user_version", db::latest_version() + 1)
        .unwrap();
    let err = db::migrate(&mut conn).unwrap_err();
    assert!(
        matches!(err, StoreError::NewerSchema { found, supported } if found == db::latest_version() + 1 && supported == db::latest_version())
    );
}

/// The audit trail from before signatures keeps its own hash chain, sealed at the import.
/// Someone holding the database key erases who did something: the actor set to nothing
/// (NULL) or to an empty name (which a careless encoding would hash alike), first without
/// touching the hashes, then recomputing the whole chain as the attacker would. Each is found.
#[test]
fn an_erased_actor_in_the_old_audit_trail_is_found_even_with_the_chain_recomputed() {
    for (erased, recompute) in [("NULL", false), ("''", false), ("NULL", true), ("''", true)] {
        let (tmp, dir) = fixture(2);
        let clock = TestClock::at(1_800_000_000_000);
        let mut store = open(&tmp, &dir)
            .unlock(
                "Dr. Legacy Physician",
                b"physician passphrase",
                clock.clone(),
            )
            .unwrap();
        store.verify_audit().unwrap();
        store.lock().unwrap();

        let key = common::database_key(&dir, "Dr. Legacy Physician", b"physician passphrase");
        let conn = db::open(&dir.join("outpost.db"), &key, db::OpenMode::Existing).unwrap();
        if recompute {
            // The recomputation itself is faithful: on an untouched trail it changes nothing
            // the checks can see, so what catches the edit below is the seal, not a slip here.
            conn.execute_batch("DROP TRIGGER IF EXISTS audit_no_update;")
                .unwrap();
            recompute_legacy_chain(&conn);
            let mut again = open(&tmp, &dir)
                .unlock(
                    "Dr. Legacy Physician",
                    b"physician passphrase",
                    clock.clone(),
                )
                .unwrap();
            again
                .verify_audit()
                .expect("a faithful recomputation verifies");
            again.lock().unwrap();
        }
        let changed = conn
            .execute_batch(&format!(
                "DROP TRIGGER IF EXISTS audit_no_update;
                 UPDATE legacy_audit SET actor = {erased} WHERE rowid =
                   (SELECT min(rowid) FROM legacy_audit WHERE actor IS NOT NULL AND actor != '');"
            ))
            .map(|()| conn.changes());
        assert_eq!(changed.unwrap(), 1, "one entry's actor erased");
        if recompute {
            recompute_legacy_chain(&conn);
        }
        drop(conn);
        let mut store = open(&tmp, &dir)
            .unlock("Dr. Legacy Physician", b"physician passphrase", clock)
            .unwrap();
        assert!(
            store.verify_audit().is_err(),
            "actor set to {erased}, chain recomputed: {recompute}: the edit went unnoticed"
        );
    }
}

/// Schema 2's documented audit entry hash, recomputed over every entry in order (what an
/// attacker with the database key would do to hide an edit).
fn recompute_legacy_chain(conn: &rusqlite::Connection) {
    use sha2::{Digest, Sha256};
    type Row = (
        i64,
        i64,
        i64,
        Option<String>,
        String,
        Option<String>,
        Option<String>,
    );
    let rows: Vec<Row> = conn
        .prepare(
            "SELECT rowid, seq, at, actor, action, record_kind, record_id FROM legacy_audit ORDER BY rowid",
        )
        .unwrap()
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let optional = |v: &Option<String>| {
        v.as_ref()
            .map_or_else(|| vec![0u8], |s| [&[1u8][..], s.as_bytes()].concat())
    };
    // The chain starts from 64 zeros.
    let mut prev = "0".repeat(64);
    for (rowid, seq, at, actor, action, kind, record) in rows {
        let mut h = Sha256::new();
        h.update(b"outpost/v1/audit");
        for bytes in [
            seq.to_be_bytes().to_vec(),
            at.to_be_bytes().to_vec(),
            optional(&actor),
            action.into_bytes(),
            optional(&kind),
            optional(&record),
            prev.clone().into_bytes(),
        ] {
            h.update((bytes.len() as u64).to_be_bytes());
            h.update(&bytes);
        }
        let hash = outpost_proto::ids::to_hex(&h.finalize());
        conn.execute(
            "UPDATE legacy_audit SET prev_hash = ?1, hash = ?2 WHERE rowid = ?3",
            rusqlite::params![prev, hash, rowid],
        )
        .unwrap();
        prev = hash;
    }
}

/// Writes the fixture for the schema this build ships into `$OUTPOST_WRITE_FIXTURE` (a new
/// folder). Run by hand, once per shipped schema, before the next migration lands:
/// `OUTPOST_WRITE_FIXTURE=crates/store/tests/fixtures/schema-vN cargo test -p outpost-store
/// --test migrations -- --ignored write_the_current_schema_fixture`.
#[test]
#[ignore = "writes a fixture; run by hand before adding a migration"]
fn write_the_current_schema_fixture() {
    use outpost_store::records::{EncounterKind, NewPatient, Soap};
    let dir = PathBuf::from(std::env::var("OUTPOST_WRITE_FIXTURE").unwrap());
    let clock = TestClock::at(1_790_000_000_000);
    let (mut doc, recovery) = Profile::create_in(
        &dir,
        "Dr. Current Physician",
        Role::Physician,
        b"physician passphrase",
        FAST,
        clock.clone(),
        None,
    )
    .unwrap();
    std::fs::write(dir.join("RECOVERY.txt"), recovery.display().as_bytes()).unwrap();
    let profile = || Profile::open(&dir).unwrap().with_kdf_target(FAST);
    profile()
        .add_user(
            &mut doc,
            "Nurse Current",
            Role::Nurse,
            b"nurse passphrase",
            FAST,
        )
        .unwrap();
    let one = doc
        .add_patient(&NewPatient {
            given_name: "Ama".into(),
            family_name: "PatientOne".into(),
            birth_date: "1980-01-02".into(),
            sex: Some("female".into()),
            clinic_id: Some("C-1".into()),
            contact: None,
            ..Default::default()
        })
        .unwrap();
    let enc = doc.add_encounter(one.id, EncounterKind::InPerson).unwrap();
    let text = |s: &str| Soap {
        subjective: s.into(),
        ..Soap::default()
    };
    let draft = doc
        .write_note(one.id, Some(enc.id), &text("CURRENT-S1"))
        .unwrap();
    let draft = doc
        .update_draft(draft.id, &[draft.revision], &text("CURRENT-S2"))
        .unwrap();
    doc.sign_note(draft.id, &draft.content_hash).unwrap();
    doc.add_addendum(draft.id, "CURRENT-ADDENDUM").unwrap();
    doc.add_vital(
        one.id,
        Some(enc.id),
        VitalKind::BloodPressure,
        142.0,
        Some(91.0),
    )
    .unwrap();
    doc.add_attachment(
        one.id,
        Some(enc.id),
        "photo.txt",
        "text/plain",
        std::io::Cursor::new(b"CURRENT-ATTACHMENT-BYTES".to_vec()),
    )
    .unwrap();
    doc.add_patient(&NewPatient {
        given_name: "Yaw".into(),
        family_name: "PatientTwo".into(),
        birth_date: "2021-06-30".into(),
        sex: Some("male".into()),
        clinic_id: Some("C-2".into()),
        contact: None,
        ..Default::default()
    })
    .unwrap();
    doc.lock().unwrap();
    let mut nurse = profile()
        .unlock("Nurse Current", b"nurse passphrase", clock.clone())
        .unwrap();
    let two = nurse.search_patients("PatientTwo").unwrap()[0].clone();
    nurse
        .write_note(two.id, None, &text("NURSE-DRAFT"))
        .unwrap();
    nurse
        .add_vital(two.id, None, VitalKind::Pulse, 120.0, None)
        .unwrap();
    nurse.lock().unwrap();
    for name in [
        "profile.lock",
        "database.lock",
        "outpost.db-wal",
        "outpost.db-shm",
    ] {
        let _ = std::fs::remove_file(dir.join(name));
    }
}
