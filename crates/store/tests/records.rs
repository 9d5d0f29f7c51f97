//! Round trips of every record type, signing and immutability, the audit trail of each write.

mod common;

use common::{FAST, Fixture, PASSPHRASE};
use outpost_store::{
    Profile, Role, StoreError,
    audit::AuditFilter,
    records::{EncounterKind, NewPatient, Soap, VitalKind},
};

fn soap(marker: &str) -> Soap {
    Soap {
        subjective: format!("Cough for 3 days {marker}"),
        objective: "T 38.1, SpO2 96%".into(),
        assessment: "Likely viral URTI".into(),
        plan: "Fluids, paracetamol, review in 48 h".into(),
    }
}

fn patient() -> NewPatient {
    NewPatient {
        given_name: "Kofi".into(),
        family_name: "Mensah".into(),
        birth_date: "1987-04-12".into(),
        sex: Some("male".into()),
        clinic_id: Some("KB-0042".into()),
        contact: Some("+233 20 000 0000".into()),
    }
}

#[test]
fn every_record_type_round_trips_through_a_lock_and_unlock() {
    let (fx, mut store, _) = Fixture::new();
    let p = store.add_patient(&patient()).unwrap();
    let enc = store.add_encounter(&p.id, EncounterKind::Video).unwrap();
    let note = store.write_note(&p.id, Some(&enc.id), &soap("")).unwrap();
    let bp = store
        .add_vital(
            &p.id,
            Some(&enc.id),
            VitalKind::BloodPressure,
            128.0,
            Some(84.0),
        )
        .unwrap();
    fx.clock.advance(1000);
    let t = store
        .add_vital(&p.id, None, VitalKind::Temperature, 38.1, None)
        .unwrap();
    let photo: Vec<u8> = (0..700_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let att = store
        .add_attachment(&p.id, Some(&enc.id), "rash.jpg", "image/jpeg", &photo[..])
        .unwrap();
    store.lock().unwrap();

    let mut store = fx.unlock();
    let chart = store.chart(&p.id).unwrap();
    assert_eq!(chart.patient, p);
    assert_eq!(chart.encounters, vec![enc]);
    assert_eq!(chart.notes, vec![note]);
    assert_eq!(chart.vitals, vec![bp.clone(), t]);
    assert_eq!(bp.unit, "mm[Hg]");
    assert_eq!(VitalKind::BloodPressure.loinc(), "85354-9");
    assert_eq!(chart.attachments, vec![att.clone()]);
    let mut back = Vec::new();
    store.read_attachment(&att.id, &mut back).unwrap();
    assert_eq!(back, photo);
    assert_eq!(att.size, 700_000);

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
    let note = store.write_note(&p.id, None, &soap("v1")).unwrap();
    let draft = store.update_draft(&note.id, &soap("v2")).unwrap();
    assert!(draft.soap.subjective.ends_with("v2"));
    let signed = store.sign_note(&note.id).unwrap();
    assert!(signed.signed_at.is_some());
    assert_eq!(signed.content_hash.as_ref().map(String::len), Some(64));

    assert!(matches!(
        store.update_draft(&note.id, &soap("v3")),
        Err(StoreError::Immutable)
    ));
    assert!(matches!(
        store.sign_note(&note.id),
        Err(StoreError::Immutable)
    ));
    // Even raw SQL with the key cannot: the schema refuses.
    let raw = store.raw_connection().execute(
        "UPDATE notes SET plan = 'changed' WHERE id = ?1",
        [&note.id],
    );
    assert!(raw.is_err());
    assert!(
        store
            .raw_connection()
            .execute("DELETE FROM notes WHERE id = ?1", [&note.id])
            .is_err()
    );

    let add = store
        .add_addendum(&note.id, "Correction: temperature was 37.8")
        .unwrap();
    let after = store.note(&note.id).unwrap();
    assert_eq!(after.soap, signed.soap);
    assert_eq!(after.addenda, vec![add.clone()]);
    assert!(
        store
            .raw_connection()
            .execute("UPDATE addenda SET text = 'x' WHERE id = ?1", [&add.id])
            .is_err()
    );

    let draft2 = store.write_note(&p.id, None, &soap("d")).unwrap();
    assert!(matches!(
        store.add_addendum(&draft2.id, "x"),
        Err(StoreError::Invalid { field: "note", .. })
    ));
}

#[test]
fn nurses_cannot_sign_and_every_action_is_attributed() {
    let (fx, mut store, _) = Fixture::new();
    let mut profile = Profile::open(fx.dir.path()).unwrap();
    let nurse = profile
        .add_user(
            &mut store,
            "Nurse Esi",
            Role::Nurse,
            b"nurse passphrase 1",
            FAST,
        )
        .unwrap();
    let doctor_id = store.user().id.clone();
    let p = store.add_patient(&patient()).unwrap();
    store.lock().unwrap();

    let mut as_nurse = Profile::open(fx.dir.path())
        .unwrap()
        .unlock("Nurse Esi", b"nurse passphrase 1", fx.clock.clone())
        .unwrap();
    let v = as_nurse
        .add_vital(&p.id, None, VitalKind::Spo2, 91.0, None)
        .unwrap();
    assert_eq!(v.recorded_by, nurse.id);
    let note = as_nurse.write_note(&p.id, None, &soap("triage")).unwrap();
    assert!(matches!(
        as_nurse.sign_note(&note.id),
        Err(StoreError::Invalid { field: "role", .. })
    ));
    let nurse_entries = as_nurse
        .audit_entries(&AuditFilter {
            actor: Some(nurse.id.clone()),
            ..Default::default()
        })
        .unwrap();
    assert!(nurse_entries.iter().any(|e| e.action == "vital_recorded"));
    assert!(
        nurse_entries
            .iter()
            .all(|e| e.actor.as_deref() == Some(nurse.id.as_str()))
    );
    as_nurse.lock().unwrap();

    // The nurse's passphrase does not open the doctor's account, and vice versa.
    let profile = Profile::open(fx.dir.path()).unwrap();
    assert!(matches!(
        profile.unlock("Dr. Amina Okafor", b"nurse passphrase 1", fx.clock.clone()),
        Err(StoreError::WrongPassphrase)
    ));
    let doc = profile
        .unlock(&doctor_id, PASSPHRASE, fx.clock.clone())
        .unwrap();
    assert_eq!(doc.user().role, Role::Physician);
}

#[test]
fn bad_input_is_a_typed_error_naming_the_field() {
    let (_fx, mut store, _) = Fixture::new();
    let mut bad = patient();
    bad.birth_date = "12/04/1987".into();
    assert!(matches!(
        store.add_patient(&bad),
        Err(StoreError::Invalid {
            field: "birth_date",
            ..
        })
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
        store.add_vital(&p.id, None, VitalKind::Temperature, 375.0, None),
        Err(StoreError::Invalid { field: "value", .. })
    ));
    assert!(matches!(
        store.add_vital(&p.id, None, VitalKind::BloodPressure, 120.0, None),
        Err(StoreError::Invalid {
            field: "value2",
            ..
        })
    ));
    assert!(matches!(
        store.add_vital("nope", None, VitalKind::Pulse, 70.0, None),
        Err(StoreError::NotFound("patient"))
    ));
    assert!(matches!(
        store.note("nope"),
        Err(StoreError::NotFound("note"))
    ));
}

#[test]
fn a_patient_user_cannot_open_clinic_charts() {
    let (fx, mut store, _) = Fixture::new();
    let p = store.add_patient(&patient()).unwrap();
    let mut profile = Profile::open(fx.dir.path()).unwrap();
    profile
        .add_user(
            &mut store,
            "Kofi (patient)",
            Role::Patient,
            b"patient passphrase",
            FAST,
        )
        .unwrap();
    store.lock().unwrap();
    let mut as_patient = Profile::open(fx.dir.path())
        .unwrap()
        .unlock("Kofi (patient)", b"patient passphrase", fx.clock.clone())
        .unwrap();
    assert!(matches!(
        as_patient.search_patients(""),
        Err(StoreError::Invalid { field: "role", .. })
    ));
    assert!(matches!(
        as_patient.chart(&p.id),
        Err(StoreError::Invalid { field: "role", .. })
    ));
    assert!(matches!(
        as_patient.add_patient(&patient()),
        Err(StoreError::Invalid { field: "role", .. })
    ));
    assert!(matches!(
        as_patient.add_vital(&p.id, None, VitalKind::Pulse, 70.0, None),
        Err(StoreError::Invalid { field: "role", .. })
    ));
}

#[test]
fn the_role_comes_from_the_database_not_the_profile_file() {
    let (fx, mut store, _) = Fixture::new();
    let mut profile = Profile::open(fx.dir.path()).unwrap();
    profile
        .add_user(
            &mut store,
            "Nurse Esi",
            Role::Nurse,
            b"nurse passphrase 1",
            FAST,
        )
        .unwrap();
    let p = store.add_patient(&patient()).unwrap();
    let note = store.write_note(&p.id, None, &soap("x")).unwrap();
    store.lock().unwrap();
    // Someone with file access promotes the nurse in profile.json.
    let path = fx.dir.path().join("profile.json");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("\"nurse\"", "\"physician\"")).unwrap();
    let mut nurse = Profile::open(fx.dir.path())
        .unwrap()
        .unlock("Nurse Esi", b"nurse passphrase 1", fx.clock.clone())
        .unwrap();
    assert_eq!(nurse.user().role, Role::Nurse);
    assert!(matches!(
        nurse.sign_note(&note.id),
        Err(StoreError::Invalid { field: "role", .. })
    ));
}
