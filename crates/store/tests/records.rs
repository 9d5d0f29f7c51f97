//! Round trips of every record type, roles enforced where a change is made, bad input as typed
//! errors, and patients kept out of clinic profiles.

mod common;

use common::{DOCTOR, Fixture, NURSE, NURSE_PASSPHRASE, PASSPHRASE, TestClock, patient, soap};
use outpost_store::{
    PatientId, Profile, Role, StoreError,
    audit::AuditFilter,
    records::{EncounterKind, EncounterStatus, NewPatient, Signature, VitalKind},
};

#[test]
fn every_record_type_round_trips_through_a_lock_and_unlock() {
    let (fx, mut store, _) = Fixture::new();
    let p = store.add_patient(&patient()).unwrap();
    let enc = store.add_encounter(p.id, EncounterKind::Video).unwrap();
    let note = store.write_note(p.id, Some(enc.id), &soap("")).unwrap();
    let bp = store
        .add_vital(
            p.id,
            Some(enc.id),
            VitalKind::BloodPressure,
            128.0,
            Some(84.0),
        )
        .unwrap();
    fx.clock.advance(1000);
    let t = store
        .add_vital(p.id, None, VitalKind::Temperature, 38.1, None)
        .unwrap();
    let photo: Vec<u8> = (0..700_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let att = store
        .add_attachment(
            p.id,
            Some(enc.id),
            "rash.jpg",
            "image/jpeg",
            std::io::Cursor::new(&photo),
        )
        .unwrap();
    store.lock().unwrap();

    let mut store = fx.unlock();
    let chart = store.chart(p.id).unwrap();
    assert_eq!(chart.patient, p);
    assert_eq!(chart.encounters, vec![enc.clone()]);
    assert_eq!(chart.notes, vec![note.clone()]);
    assert_eq!(chart.notes[0].signature, Signature::Unsigned);
    assert_eq!(chart.vitals, vec![bp.clone(), t]);
    assert_eq!(bp.unit, "mm[Hg]");
    assert_eq!(VitalKind::BloodPressure.loinc(), "85354-9");
    assert_eq!(chart.attachments, vec![att.clone()]);
    let mut back = Vec::new();
    store.read_attachment(att.id, &mut back).unwrap();
    assert_eq!(back, photo);
    assert_eq!(att.size, 700_000);

    let finished = store.finish_encounter(enc.id).unwrap();
    assert_eq!(finished.status, EncounterStatus::Finished);
    assert!(finished.ended_at.is_some());
    assert!(matches!(
        store.finish_encounter(enc.id),
        Err(StoreError::Invalid {
            field: "encounter",
            ..
        })
    ));

    assert_eq!(store.search_patients("mens").unwrap().len(), 1);
    assert_eq!(store.search_patients("KB-0042").unwrap().len(), 1);
    assert_eq!(store.search_patients("kofi mensah").unwrap().len(), 1);
    assert!(store.search_patients("nobody").unwrap().is_empty());
    assert!(
        store.search_patients("%").unwrap().is_empty(),
        "LIKE wildcards are escaped"
    );
}

#[test]
fn a_signed_note_cannot_be_changed_only_amended() {
    let (_fx, mut store, _) = Fixture::new();
    let p = store.add_patient(&patient()).unwrap();
    let note = store.write_note(p.id, None, &soap("v1")).unwrap();
    let draft = store
        .update_draft(note.id, &[note.revision], &soap("v2"))
        .unwrap();
    assert!(draft.soap.subjective.ends_with("v2"));
    let signed = store.sign_note(note.id, &draft.content_hash).unwrap();
    assert!(matches!(signed.signature, Signature::Valid { by, .. } if by == store.user().id));
    assert_eq!(signed.soap, draft.soap);

    assert!(matches!(
        store.update_draft(note.id, &[signed.revision], &soap("v3")),
        Err(StoreError::Immutable)
    ));
    assert!(matches!(
        store.sign_note(note.id, &signed.content_hash),
        Err(StoreError::Immutable)
    ));

    let add = store
        .add_addendum(note.id, "Correction: temperature was 37.8")
        .unwrap();
    let after = store.note(note.id).unwrap();
    assert_eq!(after.soap, signed.soap);
    assert_eq!(after.addenda, vec![add.clone()]);
    assert!(matches!(
        after.addenda[0].signature,
        Signature::Valid { .. }
    ));

    let draft2 = store.write_note(p.id, None, &soap("d")).unwrap();
    assert!(matches!(
        store.add_addendum(draft2.id, "x"),
        Err(StoreError::Invalid { field: "note", .. })
    ));
}

#[test]
fn nurses_cannot_sign_and_every_action_is_attributed() {
    let (fx, mut store, _) = Fixture::new();
    let nurse = fx.add_nurse(&mut store);
    let doctor_id = store.user().id;
    let p = store.add_patient(&patient()).unwrap();
    store.lock().unwrap();

    let mut as_nurse = fx.unlock_as(NURSE, NURSE_PASSPHRASE);
    let v = as_nurse
        .add_vital(p.id, None, VitalKind::Spo2, 91.0, None)
        .unwrap();
    assert_eq!(v.recorded_by, nurse.id);
    let note = as_nurse.write_note(p.id, None, &soap("triage")).unwrap();
    assert_eq!(note.author, nurse.id);
    let refused = as_nurse.sign_note(note.id, &note.content_hash).unwrap_err();
    assert!(
        matches!(
            refused,
            StoreError::NotPermitted {
                role: Role::Nurse,
                ..
            }
        ),
        "{refused:?}"
    );
    assert_eq!(
        as_nurse.note(note.id).unwrap().signature,
        Signature::Unsigned
    );
    // The nurse may not add users either.
    assert!(matches!(
        fx.profile().add_user(
            &mut as_nurse,
            "Dr. Impostor",
            Role::Physician,
            b"impostor passphrase",
            common::FAST
        ),
        Err(StoreError::NotPermitted { .. })
    ));
    // Every entry the log attributes to a user is that user's; the filter is by actor, so the
    // check is on entries the nurse did not filter out: all of the log, by kind.
    let all = as_nurse.audit_entries(&AuditFilter::default()).unwrap();
    let vital_entry = all.iter().find(|e| e.action == "vital_recorded").unwrap();
    assert_eq!(vital_entry.actor, Some(nurse.id));
    assert_eq!(vital_entry.patient_id, Some(p.id));
    let patient_entry = all
        .iter()
        .find(|e| e.action == "patient_registered")
        .unwrap();
    assert_eq!(patient_entry.actor, Some(doctor_id));
    as_nurse.lock().unwrap();

    // The nurse's passphrase does not open the doctor's account, and vice versa.
    let profile = fx.profile();
    assert!(matches!(
        profile.unlock(DOCTOR, NURSE_PASSPHRASE, fx.clock.clone()),
        Err(StoreError::WrongPassphrase)
    ));
    let doc = profile
        .unlock(&doctor_id.to_hex(), PASSPHRASE, fx.clock.clone())
        .unwrap();
    assert_eq!(doc.user().role, Role::Physician);
}

#[test]
fn bad_input_is_a_typed_error_naming_the_field() {
    let (_fx, mut store, _) = Fixture::new();
    for (date, ok) in [
        ("12/04/1987", false),
        ("2023-02-31", false),
        ("2023-02-29", false),
        ("2024-02-29", true),
        ("1987-13-01", false),
        ("1987-04-1a", false),
    ] {
        let mut p = patient();
        p.clinic_id = None;
        p.birth_date = date.into();
        let r = store.add_patient(&p);
        if ok {
            r.unwrap();
        } else {
            assert!(
                matches!(
                    r,
                    Err(StoreError::Invalid {
                        field: "birth_date",
                        ..
                    })
                ),
                "{date} accepted"
            );
        }
    }
    let mut odd = patient();
    odd.sex = Some("M".into());
    assert!(matches!(
        store.add_patient(&odd),
        Err(StoreError::Invalid { field: "sex", .. })
    ));
    let p = store.add_patient(&patient()).unwrap();
    assert!(matches!(
        store.add_patient(&patient()),
        Err(StoreError::Invalid {
            field: "clinic_id",
            ..
        })
    ));
    assert!(matches!(
        store.add_vital(p.id, None, VitalKind::Temperature, 375.0, None),
        Err(StoreError::Invalid { field: "value", .. })
    ));
    assert!(matches!(
        store.add_vital(p.id, None, VitalKind::BloodPressure, 120.0, None),
        Err(StoreError::Invalid {
            field: "value2",
            ..
        })
    ));
    assert!(matches!(
        store.add_vital(p.id, None, VitalKind::BloodPressure, 80.0, Some(120.0)),
        Err(StoreError::Invalid {
            field: "value2",
            ..
        })
    ));
    let nobody = PatientId([7; 16]);
    assert!(matches!(
        store.add_vital(nobody, None, VitalKind::Pulse, 70.0, None),
        Err(StoreError::NotFound("patient"))
    ));
    assert!(matches!(
        store.note(outpost_store::NoteId([7; 16])),
        Err(StoreError::NotFound("note"))
    ));
    // An encounter belongs to one patient: another patient's note or vital cannot use it.
    let mut other = patient();
    other.clinic_id = Some("KB-0043".into());
    let q = store.add_patient(&other).unwrap();
    let enc = store.add_encounter(p.id, EncounterKind::InPerson).unwrap();
    assert!(matches!(
        store.write_note(q.id, Some(enc.id), &soap("x")),
        Err(StoreError::Invalid {
            field: "encounter",
            ..
        })
    ));
    assert!(matches!(
        store.add_vital(q.id, Some(enc.id), VitalKind::Pulse, 70.0, None),
        Err(StoreError::Invalid {
            field: "encounter",
            ..
        })
    ));
    // Nothing of the refused writes reached the chart.
    let chart = store.chart(q.id).unwrap();
    assert!(chart.notes.is_empty() && chart.vitals.is_empty());
}

#[test]
fn patients_are_not_users_of_a_clinic_profile() {
    let (fx, mut store, _) = Fixture::new();
    assert!(matches!(
        fx.profile().add_user(
            &mut store,
            "Kofi (patient)",
            Role::Patient,
            b"patient passphrase",
            common::FAST
        ),
        Err(StoreError::Invalid { field: "user", .. })
    ));
    assert_eq!(fx.profile().users().len(), 1, "nothing was written");
}

#[test]
fn a_patient_profile_holds_no_charts() {
    let root = tempfile::tempdir().unwrap();
    let (mut own, _) = Profile::create_in(
        &root.path().join("me"),
        "Kofi Mensah",
        Role::Patient,
        PASSPHRASE,
        common::FAST,
        TestClock::at(1_700_000_000_000),
        Some(root.path().join("anchors")),
    )
    .unwrap();
    assert_eq!(own.profile_kind(), outpost_store::ProfileKind::Patient);
    assert!(matches!(
        own.search_patients(""),
        Err(StoreError::NotPermitted { .. })
    ));
    assert!(matches!(
        own.add_patient(&patient()),
        Err(StoreError::NotPermitted { .. })
    ));
    assert!(matches!(
        own.audit_entries(&AuditFilter::default()),
        Err(StoreError::NotPermitted { .. })
    ));
    assert!(matches!(
        own.create_backup(&root.path().join("b"), PASSPHRASE, common::FAST),
        Err(StoreError::NotPermitted { .. })
    ));
    // Nor any clinical read by id, even with an id learned elsewhere.
    let some_id = outpost_proto::AttachmentId([7; 16]);
    assert!(matches!(
        own.attachment_info(some_id),
        Err(StoreError::NotPermitted { .. })
    ));
    assert!(matches!(
        own.read_attachment(some_id, &mut std::io::sink()),
        Err(StoreError::NotPermitted { .. })
    ));
    assert!(matches!(
        own.chart(outpost_proto::PatientId([7; 16])),
        Err(StoreError::NotPermitted { .. })
    ));
    assert!(
        !root.path().join("b").exists(),
        "no backup file was written"
    );
}

#[test]
fn the_role_comes_from_the_signed_log_not_the_profile_file() {
    let (fx, mut store, _) = Fixture::new();
    fx.add_nurse(&mut store);
    let p = store.add_patient(&patient()).unwrap();
    let note = store.write_note(p.id, None, &soap("x")).unwrap();
    store.lock().unwrap();
    // Someone with file access promotes the nurse in profile.json.
    let path = fx.dir().join("profile.json");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("\"nurse\"", "\"physician\"")).unwrap();
    let mut nurse = fx.unlock_as(NURSE, NURSE_PASSPHRASE);
    assert_eq!(nurse.user().role, Role::Nurse);
    assert!(matches!(
        nurse.sign_note(note.id, &note.content_hash),
        Err(StoreError::NotPermitted { .. })
    ));
}

#[test]
fn a_new_patient_is_visible_in_search_with_its_legacy_flag_off() {
    let (_fx, mut store, _) = Fixture::new();
    let p = store
        .add_patient(&NewPatient {
            given_name: "  Ama ".into(),
            family_name: "Owusu".into(),
            birth_date: "2020-06-01".into(),
            sex: Some(String::new()),
            clinic_id: Some("  ".into()),
            contact: None,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(p.given_name, "Ama");
    assert_eq!(p.sex, None, "an empty choice is no value");
    assert_eq!(p.clinic_id, None);
    assert!(!p.legacy);
    assert_eq!(store.search_patients("ama").unwrap(), vec![p]);
}

#[test]
fn a_user_added_by_another_process_is_trusted_once_their_registration_verifies() {
    let (fx, mut first, _) = Fixture::new();
    let p = first.add_patient(&patient()).unwrap();
    // While the first session stays open, another process adds a physician, who signs a note.
    let mut admin = fx.unlock();
    fx.profile()
        .add_user(
            &mut admin,
            "Dr. Two",
            Role::Physician,
            b"second doctor pass",
            common::FAST,
        )
        .unwrap();
    admin.lock().unwrap();
    let mut two = fx.unlock_as("Dr. Two", b"second doctor pass");
    let n = two.write_note(p.id, None, &soap("two")).unwrap();
    let signed = two.sign_note(n.id, &n.content_hash).unwrap();
    two.lock().unwrap();
    // The first session, which unlocked before Dr. Two existed, verifies the signature.
    let seen = first.note(n.id).unwrap();
    assert_eq!(seen.signature, signed.signature);
    assert!(matches!(seen.signature, Signature::Valid { .. }));
}

#[test]
fn two_processes_adding_users_at_once_lose_none() {
    let (fx, first, _) = Fixture::new();
    first.lock().unwrap();
    let fx = std::sync::Arc::new(fx);
    let workers: Vec<_> = (0..2)
        .map(|w| {
            let fx = std::sync::Arc::clone(&fx);
            std::thread::spawn(move || {
                let mut admin = fx.unlock();
                for i in 0..4 {
                    fx.profile()
                        .add_user(
                            &mut admin,
                            &format!("Nurse {w}-{i}"),
                            Role::Nurse,
                            b"a nurse passphrase",
                            common::FAST,
                        )
                        .unwrap();
                }
                admin.lock().unwrap();
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let users = fx.profile().users();
    assert_eq!(users.len(), 9, "{users:?}");
    // Every one of them can unlock: their entry in the file matches their registration.
    for u in users.iter().filter(|u| u.role == Role::Nurse) {
        fx.unlock_as(&u.name, b"a nurse passphrase").lock().unwrap();
    }
}

/// A backup holds every chart: only an admin or physician (or emergency access) makes one, and
/// a refused backup leaves no file.
#[test]
fn a_nurse_cannot_make_a_backup() {
    let (fx, mut store, _) = Fixture::new();
    fx.add_nurse(&mut store);
    store.lock().unwrap();
    let mut nurse = fx.unlock_as(NURSE, NURSE_PASSPHRASE);
    let file = fx.dir().join("nurse.backup");
    assert!(matches!(
        nurse.create_backup(&file, b"a backup passphrase", common::FAST),
        Err(StoreError::NotPermitted { .. })
    ));
    assert!(!file.exists());
}
