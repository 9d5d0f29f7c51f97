//! The clinical chart: the three allergy states, prescriptions refused on a conflict
//! unless the prescriber says why, who may prescribe, and a tampered table caught.

mod common;

use common::{Fixture, NURSE, NURSE_PASSPHRASE, patient};
use outpost_store::{
    Severity, StoreError,
    records::{AllergyStatus, NewPrescription},
};

fn amoxicillin(override_reason: Option<&str>) -> NewPrescription {
    NewPrescription {
        drug: "Amoxicillin".into(),
        dose: "500 mg".into(),
        route: "oral".into(),
        frequency: "three times a day".into(),
        duration: "5 days".into(),
        override_reason: override_reason.map(str::to_owned),
        ..Default::default()
    }
}

#[test]
fn nobody_is_shown_allergy_free_because_nobody_asked() {
    let (_fx, mut doc, _) = Fixture::new();
    let p = doc.add_patient(&patient()).unwrap();
    assert_eq!(doc.allergy_status(p.id).unwrap(), AllergyStatus::NotAsked);
    doc.record_no_known_allergies(p.id).unwrap();
    assert_eq!(doc.allergy_status(p.id).unwrap(), AllergyStatus::NoneKnown);

    let hives = doc
        .add_allergy(p.id, "latex", "hives", Severity::Moderate)
        .unwrap();
    assert_eq!(
        hives.code, None,
        "latex is not a drug: not checked, and it says so"
    );
    assert_eq!(doc.allergy_status(p.id).unwrap(), AllergyStatus::Allergies);
    // "No known allergies" cannot be recorded over an active allergy.
    assert!(matches!(
        doc.record_no_known_allergies(p.id),
        Err(StoreError::Invalid {
            field: "allergies",
            ..
        })
    ));
    // Removed with a reason, it is kept (marked), and the earlier answer stands again.
    let removed = doc.remove_allergy(hives.id, "entered in error").unwrap();
    assert_eq!(removed.removed_reason.as_deref(), Some("entered in error"));
    let chart = doc.chart(p.id).unwrap();
    assert_eq!(chart.allergy_status, AllergyStatus::NoneKnown);
    assert_eq!(chart.allergies.len(), 1);
    assert!(matches!(
        doc.remove_allergy(hives.id, "again"),
        Err(StoreError::Invalid { .. })
    ));
    assert!(matches!(
        doc.add_allergy(p.id, "  ", "rash", Severity::Mild),
        Err(StoreError::Invalid {
            field: "substance",
            ..
        })
    ));
}

#[test]
fn a_conflicting_prescription_is_refused_until_the_prescriber_says_why() {
    let (fx, mut doc, _) = Fixture::new();
    fx.add_nurse(&mut doc);
    let p = doc.add_patient(&patient()).unwrap();
    doc.lock().unwrap();

    // The nurse records the allergy; she may not prescribe.
    let mut nurse = fx.unlock_as(NURSE, NURSE_PASSPHRASE);
    let allergy = nurse
        .add_allergy(p.id, "Penicillin", "anaphylaxis", Severity::Severe)
        .unwrap();
    assert_eq!(allergy.code.as_deref(), Some("group:penicillins"));
    assert!(matches!(
        nurse.prescribe(p.id, &amoxicillin(None)),
        Err(StoreError::NotPermitted { .. })
    ));
    nurse.lock().unwrap();

    let mut doc = fx.unlock();
    let refused = doc.prescribe(p.id, &amoxicillin(None)).unwrap_err();
    let text = refused.to_string();
    assert!(
        matches!(refused, StoreError::AllergyConflict { .. }),
        "{refused:?}"
    );
    assert!(
        text.contains("amoxicillin") && text.contains("penicillins") && text.contains("severe"),
        "{text}"
    );
    assert!(
        doc.medications_of(p.id).unwrap().is_empty(),
        "nothing written"
    );
    // A cephalosporin cross-reacts: asked too.
    let ceftriaxone = NewPrescription {
        drug: "ceftriaxone".into(),
        ..amoxicillin(None)
    };
    assert!(matches!(
        doc.prescribe(p.id, &ceftriaxone),
        Err(StoreError::AllergyConflict {
            relation: "can cross-react with",
            ..
        })
    ));
    // Something unrelated goes ahead.
    let paracetamol = NewPrescription {
        drug: "paracetamol".into(),
        ..amoxicillin(None)
    };
    let given = doc.prescribe(p.id, &paracetamol).unwrap();
    assert_eq!(given.atc.as_deref(), Some("N02BE01"));
    assert_eq!(given.override_reason, None);

    let overridden = doc
        .prescribe(
            p.id,
            &amoxicillin(Some("allergy disproved by an oral challenge, 2023")),
        )
        .unwrap();
    assert_eq!(overridden.drug, "amoxicillin", "the catalogue's name");
    assert_eq!(
        overridden.override_reason.as_deref(),
        Some("allergy disproved by an oral challenge, 2023")
    );
    // In the signed log, attributed to the physician, and the chart shows both.
    doc.verify_audit().unwrap();
    let chart = doc.chart(p.id).unwrap();
    assert_eq!(chart.medications.len(), 2);
    assert_eq!(chart.medications[0].prescribed_by, doc.user().id);
    let entries = doc.audit_entries(&Default::default()).unwrap();
    assert!(entries.iter().any(|e| e.action == "medication_prescribed"));

    let stopped = doc.stop_medication(given.id, "fever settled").unwrap();
    assert_eq!(stopped.stopped_reason.as_deref(), Some("fever settled"));
    assert!(stopped.stopped_at.is_some());
    assert!(matches!(
        doc.stop_medication(given.id, "again"),
        Err(StoreError::Invalid { .. })
    ));
}

#[test]
fn a_drug_outside_the_catalogue_is_kept_unchecked_and_says_so() {
    let (_fx, mut doc, _) = Fixture::new();
    let p = doc.add_patient(&patient()).unwrap();
    let herbal = NewPrescription {
        drug: "Local herbal preparation".into(),
        ..amoxicillin(None)
    };
    // With no allergy on record there is nothing to check it against.
    let mut other = patient();
    other.clinic_id = None;
    let other = doc.add_patient(&other).unwrap();
    assert_eq!(doc.prescribe(other.id, &herbal).unwrap().atc, None);
    // With one, the prescriber says why it is safe.
    doc.add_allergy(p.id, "sulfa", "rash", Severity::Mild)
        .unwrap();
    assert!(matches!(
        doc.prescribe(p.id, &herbal),
        Err(StoreError::UncheckedDrug)
    ));
    let local = doc
        .prescribe(
            p.id,
            &NewPrescription {
                override_reason: Some("no sulfonamide in it (checked with the maker)".into()),
                ..herbal
            },
        )
        .unwrap();
    assert_eq!(local.atc, None);
    assert_eq!(local.drug, "Local herbal preparation");
    // Co-trimoxazole is a sulfonamide, by code or by any of its names.
    for name in ["J01EE01", "Bactrim", "co-trimoxazole"] {
        assert!(
            matches!(
                doc.prescribe(
                    p.id,
                    &NewPrescription {
                        drug: name.into(),
                        ..amoxicillin(None)
                    }
                ),
                Err(StoreError::AllergyConflict {
                    allergy: "sulfonamide antibacterials",
                    ..
                })
            ),
            "{name}"
        );
    }
}

#[test]
fn the_chart_carries_the_age_as_a_clinician_writes_it() {
    let (fx, mut doc, _) = Fixture::new();
    let adult = doc.add_patient(&patient()).unwrap();
    assert_eq!(doc.chart(adult.id).unwrap().age.unwrap().text, "36 y");
    // The fixture's clock reads 2023-11-14.
    let mut child = patient();
    child.birth_date = "2021-08-20".into();
    child.clinic_id = None;
    let child = doc.add_patient(&child).unwrap();
    assert_eq!(doc.chart(child.id).unwrap().age.unwrap().text, "2 y 2 m");
    fx.clock.advance(86_400_000 * 60);
    assert_eq!(doc.chart(child.id).unwrap().age.unwrap().text, "2 y 4 m");
}

/// Someone holding the database key deletes the allergy, or the override reason, from the
/// tables: the check against the signed log names the table.
#[test]
fn an_allergy_or_override_removed_behind_the_apps_back_is_caught() {
    let (fx, mut doc, _) = Fixture::new();
    fx.add_nurse(&mut doc);
    let p = doc.add_patient(&patient()).unwrap();
    doc.add_allergy(p.id, "penicillin", "rash", Severity::Moderate)
        .unwrap();
    doc.prescribe(p.id, &amoxicillin(Some("benefit outweighs risk")))
        .unwrap();
    doc.lock().unwrap();

    for (sql, expected) in [
        (
            "UPDATE medications SET override_reason = NULL",
            "medications table",
        ),
        ("DELETE FROM allergies", "allergy tables"),
    ] {
        let attacker = fx.attacker_connection();
        attacker.execute(sql, []).unwrap();
        drop(attacker);
        let mut doc = fx.unlock();
        let err = doc.verify_audit().unwrap_err().to_string();
        assert!(err.contains(expected), "{sql}: {err}");
        doc.lock().unwrap();
    }
}

#[test]
fn the_problem_list_takes_codes_or_words_and_keeps_resolved_problems() {
    let (fx, mut doc, _) = Fixture::new();
    let p = doc.add_patient(&patient()).unwrap();
    let e = doc
        .add_encounter(p.id, outpost_store::records::EncounterKind::InPerson)
        .unwrap();
    let htn = doc
        .add_problem(p.id, Some(e.id), " i10 ", Some("2019-06-01"))
        .unwrap();
    assert_eq!(htn.code.as_deref(), Some("I10"));
    assert_eq!(htn.title, "Essential (primary) hypertension");
    assert_eq!(htn.encounter_id, Some(e.id));
    let words = doc
        .add_problem(p.id, None, "Snake bite, left foot", None)
        .unwrap();
    assert_eq!(words.code, None, "no code fits: kept as words, uncoded");
    // An onset that is not a date, or after today (the fixture's clock reads 2023-11-14).
    for onset in ["2023-02-30", "2023-11-15", "last year"] {
        assert!(
            matches!(
                doc.add_problem(p.id, None, "I10", Some(onset)),
                Err(StoreError::Invalid { field: "onset", .. })
            ),
            "{onset}"
        );
    }
    doc.resolve_problem(words.id, "healed").unwrap();
    let chart = doc.chart(p.id).unwrap();
    let order: Vec<_> = chart.problems.iter().map(|x| x.title.as_str()).collect();
    assert_eq!(
        order,
        ["Essential (primary) hypertension", "Snake bite, left foot"]
    );
    assert_eq!(chart.problems[1].resolved_reason.as_deref(), Some("healed"));

    // A nurse keeps the list too; an attacker's edit of the table is caught.
    fx.add_nurse(&mut doc);
    doc.lock().unwrap();
    let mut nurse = fx.unlock_as(NURSE, NURSE_PASSPHRASE);
    nurse.add_problem(p.id, None, "B54", None).unwrap();
    nurse.lock().unwrap();
    let attacker = fx.attacker_connection();
    attacker
        .execute("UPDATE problems SET code = 'I10' WHERE code = 'B54'", [])
        .unwrap();
    drop(attacker);
    let err = fx.unlock().verify_audit().unwrap_err().to_string();
    assert!(err.contains("problems table"), "{err}");
}

#[test]
fn allergies_typed_in_other_words_are_still_checked_and_later_ones_flag_earlier_prescriptions() {
    let (_fx, mut doc, _) = Fixture::new();
    let p = doc.add_patient(&patient()).unwrap();
    // Prescribed first, with a stray reason where nothing conflicted: the reason is not kept.
    let given = doc
        .prescribe(p.id, &amoxicillin(Some("just in case")))
        .unwrap();
    assert_eq!(given.override_reason, None);
    assert!(
        doc.medications_of(p.id).unwrap()[0]
            .conflicts_with
            .is_empty()
    );

    // Then the allergy, in the patient's own words: the earlier prescription is flagged.
    let allergy = doc
        .add_allergy(
            p.id,
            "allergic to Amoxil (brand)",
            "swollen lips",
            Severity::Severe,
        )
        .unwrap();
    assert_eq!(allergy.code.as_deref(), Some("atc:J01CA04"));
    // Stored without a code (by a build whose catalogue did not know the name), it is read
    // again from its text: what the screens show is what the check uses.
    doc.raw_connection()
        .execute("UPDATE allergies SET code = NULL", [])
        .unwrap();
    assert_eq!(
        doc.allergy(allergy.id).unwrap().code.as_deref(),
        Some("atc:J01CA04")
    );
    let meds = doc.medications_of(p.id).unwrap();
    assert_eq!(meds[0].conflicts_with, [allergy.id]);
    // New prescriptions of the whole group are refused, however the drug is typed.
    for typed in ["Ampicillin 500mg", "co-amoxiclav", "Augmentin"] {
        assert!(
            matches!(
                doc.prescribe(
                    p.id,
                    &NewPrescription {
                        drug: typed.into(),
                        ..amoxicillin(None)
                    }
                ),
                Err(StoreError::AllergyConflict { .. })
            ),
            "{typed}"
        );
    }
    // Once the allergy is removed (disproved), nothing is flagged or refused.
    doc.remove_allergy(allergy.id, "oral challenge tolerated")
        .unwrap();
    assert!(
        doc.medications_of(p.id).unwrap()[0]
            .conflicts_with
            .is_empty()
    );
    doc.prescribe(p.id, &amoxicillin(None)).unwrap();
}

#[test]
fn an_admin_records_no_allergies() {
    let (_fx, mut admin, _) = Fixture::with_role("Kwame Admin", outpost_store::Role::Admin);
    let p = admin.add_patient(&patient()).unwrap();
    assert!(matches!(
        admin.add_allergy(p.id, "penicillin", "rash", Severity::Mild),
        Err(StoreError::NotPermitted { .. })
    ));
    assert!(matches!(
        admin.record_no_known_allergies(p.id),
        Err(StoreError::NotPermitted { .. })
    ));
}

#[test]
fn an_encounter_says_why_the_patient_came_and_the_latest_reason_stands() {
    let (fx, mut doc, _) = Fixture::new();
    let p = doc.add_patient(&patient()).unwrap();
    let e = doc
        .add_encounter(p.id, outpost_store::records::EncounterKind::InPerson)
        .unwrap();
    assert_eq!(e.reason, None);
    doc.set_encounter_reason(e.id, "fever for 3 days").unwrap();
    fx.clock.advance(1_000);
    let corrected = doc
        .set_encounter_reason(e.id, "  fever and cough for 3 days ")
        .unwrap();
    assert_eq!(
        corrected.reason.as_deref(),
        Some("fever and cough for 3 days")
    );
    assert!(matches!(
        doc.set_encounter_reason(e.id, "   "),
        Err(StoreError::Invalid {
            field: "reason",
            ..
        })
    ));
    assert_eq!(
        doc.chart(p.id).unwrap().encounters[0].reason.as_deref(),
        Some("fever and cough for 3 days")
    );
    // Rebuilt from the log, the same reason stands (the check fails on any difference).
    doc.verify_audit().unwrap();
}

#[test]
fn readings_from_paper_keep_their_time_and_every_reading_is_flagged_for_the_patients_age() {
    use outpost_store::records::VitalKind;
    let (fx, mut doc, _) = Fixture::new();
    // The fixture's clock reads 2023-11-14; this child was born 2022-05-01 (18 months).
    let mut child = patient();
    child.birth_date = "2022-05-01".into();
    let p = doc.add_patient(&child).unwrap();
    let now = 1_700_000_000_000;
    let yesterday = now - 86_400_000;
    let rr = doc
        .add_vital_at(
            p.id,
            None,
            VitalKind::RespiratoryRate,
            44.0,
            None,
            Some(yesterday),
        )
        .unwrap();
    assert_eq!(rr.observed_at, yesterday);
    doc.add_vital(p.id, None, VitalKind::Muac, 11.8, None)
        .unwrap();
    doc.add_vital(p.id, None, VitalKind::Temperature, 36.8, None)
        .unwrap();
    doc.add_vital(p.id, None, VitalKind::Weight, 9.8, None)
        .unwrap();
    doc.add_vital(p.id, None, VitalKind::Height, 80.0, None)
        .unwrap();
    for bad in [now + 3_600_000, now - 400 * 86_400_000] {
        assert!(matches!(
            doc.add_vital_at(p.id, None, VitalKind::Pulse, 90.0, None, Some(bad)),
            Err(StoreError::Invalid {
                field: "observed at",
                ..
            })
        ));
    }
    let chart = doc.chart(p.id).unwrap();
    let flag = |kind| {
        chart
            .vitals
            .iter()
            .find(|v| v.kind == kind)
            .unwrap()
            .flag
            .clone()
    };
    // 44/min at 18 months is fast breathing (40 or more at 12-59 months).
    let fast = flag(VitalKind::RespiratoryRate).unwrap();
    assert!(fast.range.contains("12–59 months"), "{}", fast.range);
    assert!(
        flag(VitalKind::Muac)
            .unwrap()
            .range
            .starts_with("moderate wasting")
    );
    assert_eq!(flag(VitalKind::Temperature), None);
    // A child's BMI means nothing without centiles: none is given.
    assert_eq!(chart.bmi, None);
    // Age at the reading, not today: a baby one year old today (born 2022-11-14), breathing
    // 45/min yesterday at 11 months, is under that age's 50/min threshold; at today's age the
    // threshold would be 40 and the reading flagged.
    let mut baby = patient();
    baby.birth_date = "2022-11-14".into();
    baby.clinic_id = None;
    baby.given_name = "Akosua".into();
    let baby = doc.add_patient(&baby).unwrap();
    doc.add_vital_at(
        baby.id,
        None,
        VitalKind::RespiratoryRate,
        45.0,
        None,
        Some(yesterday),
    )
    .unwrap();
    assert_eq!(doc.chart(baby.id).unwrap().vitals[0].flag, None);
    doc.add_vital(baby.id, None, VitalKind::RespiratoryRate, 45.0, None)
        .unwrap();
    let today = doc.chart(baby.id).unwrap();
    assert!(
        today.vitals[1]
            .flag
            .as_ref()
            .unwrap()
            .range
            .contains("12–59 months")
    );
    // The same breathing rate in an adult is flagged against the adult range instead.
    fx.clock.set(now);
    let adult = doc.add_patient(&NewPatientWith::adult()).unwrap();
    doc.add_vital(adult.id, None, VitalKind::RespiratoryRate, 44.0, None)
        .unwrap();
    let chart = doc.chart(adult.id).unwrap();
    assert_eq!(chart.vitals[0].flag.as_ref().unwrap().range, "12–20/min");
    // An adult's BMI, from the weight and a height of the same year.
    doc.add_vital(adult.id, None, VitalKind::Weight, 70.0, None)
        .unwrap();
    doc.add_vital(adult.id, None, VitalKind::Height, 175.0, None)
        .unwrap();
    assert_eq!(doc.chart(adult.id).unwrap().bmi, Some(22.9));
}

/// A second patient for tests that need two.
struct NewPatientWith;
impl NewPatientWith {
    fn adult() -> outpost_store::records::NewPatient {
        let mut p = patient();
        p.clinic_id = None;
        p.given_name = "Adwoa".into();
        p
    }
}

#[test]
fn someone_who_may_already_have_a_chart_is_found_before_registering() {
    let (_fx, mut doc, _) = Fixture::new();
    let kofi = doc.add_patient(&patient()).unwrap();
    let ids = |p: &outpost_store::records::NewPatient| -> Vec<_> {
        doc.similar_patients(p)
            .unwrap()
            .into_iter()
            .map(|x| x.id)
            .collect()
    };
    // Same family name (any case), born the same year.
    let mut maybe = patient();
    maybe.given_name = "Kwabena".into();
    maybe.family_name = "MENSAH".into();
    maybe.birth_date = "1987-11-30".into();
    maybe.clinic_id = None;
    maybe.contact = None;
    assert_eq!(ids(&maybe), [kofi.id]);
    // Another year and another given name: someone else.
    maybe.birth_date = "1990-01-01".into();
    assert!(ids(&maybe).is_empty());
    // The same phone, however it is written, whatever the name.
    maybe.family_name = "Owusu".into();
    maybe.contact = Some("020-000-0000".into());
    assert_eq!(ids(&maybe), [kofi.id]);
    // A village is not a phone number: two people of one village are not one person.
    maybe.contact = Some("Riverside village".into());
    assert!(ids(&maybe).is_empty());
    // The same given name and birth date under another family name (married since).
    maybe.contact = None;
    maybe.given_name = "kofi".into();
    maybe.birth_date = "1987-04-12".into();
    assert_eq!(ids(&maybe), [kofi.id]);
    // The same clinic number.
    let mut numbered = patient();
    numbered.given_name = "Yaw".into();
    numbered.family_name = "Boateng".into();
    numbered.birth_date = "2001-01-01".into();
    numbered.contact = None;
    assert_eq!(ids(&numbered), [kofi.id]);
    // An empty family name matches nobody by family.
    numbered.clinic_id = None;
    numbered.family_name = String::new();
    numbered.birth_date = "1987-06-01".into();
    assert!(ids(&numbered).is_empty());
}

/// A profile upgraded from schema 8 has allergies removed and prescriptions stopped without
/// the ending operation recorded; migration 011 fills it in from the log, so the check against
/// the log does not call the upgraded profile edited.
#[test]
fn endings_recorded_before_schema_9_are_filled_in_from_the_log() {
    let (_fx, mut doc, _) = Fixture::new();
    let p = doc.add_patient(&patient()).unwrap();
    let a = doc
        .add_allergy(p.id, "penicillin", "rash", Severity::Mild)
        .unwrap();
    doc.remove_allergy(a.id, "tolerated since").unwrap();
    let m = doc.prescribe(p.id, &amoxicillin(None)).unwrap();
    doc.stop_medication(m.id, "course finished").unwrap();
    // What a schema-8 database holds: the endings without their operations.
    doc.raw_connection()
        .execute_batch(
            "UPDATE allergies SET removed_op = NULL; UPDATE medications SET stopped_op = NULL;",
        )
        .unwrap();
    assert!(
        doc.verify_audit().is_err(),
        "without the fill, the check fails"
    );
    doc.raw_connection()
        .execute_batch(include_str!("../migrations/011_fill_ending_ops.sql"))
        .unwrap();
    doc.verify_audit().unwrap();
}

#[test]
fn only_an_admin_or_physician_exports_the_audit_trail_and_the_export_is_recorded() {
    let (fx, mut doc, _) = Fixture::new();
    fx.add_nurse(&mut doc);
    let csv = doc.audit_csv(&Default::default()).unwrap();
    assert!(csv.starts_with("time_utc,user,role,action,patient,"));
    let newest = doc.audit_entries(&Default::default()).unwrap().remove(0);
    assert_eq!(newest.action, "audit_exported");
    doc.lock().unwrap();
    let mut nurse = fx.unlock_as(NURSE, NURSE_PASSPHRASE);
    assert!(matches!(
        nurse.audit_csv(&Default::default()),
        Err(StoreError::NotPermitted { .. })
    ));
}

#[test]
fn a_small_childs_chart_carries_her_growth_z_scores_by_day_and_sex() {
    use outpost_clinical::growth::{Measured, Sex, z_scores};
    use outpost_store::records::VitalKind;
    let (fx, mut doc, _) = Fixture::new();
    let now = 1_700_000_000_000; // 2023-11-14
    let mut child = patient();
    child.birth_date = "2022-05-01".into(); // 562 days old
    child.sex = Some("female".into());
    let girl = doc.add_patient(&child).unwrap();
    // Last month, a weight alone (from the paper card); today, weight and length.
    let last_month = now - 30 * 86_400_000;
    doc.add_vital_at(
        girl.id,
        None,
        VitalKind::Weight,
        8.9,
        None,
        Some(last_month),
    )
    .unwrap();
    doc.add_vital(girl.id, None, VitalKind::Weight, 9.0, None)
        .unwrap();
    // A second weight the same day replaces the first (a re-weighing).
    fx.clock.set(now + 60_000);
    doc.add_vital(girl.id, None, VitalKind::Weight, 9.2, None)
        .unwrap();
    doc.add_vital(girl.id, None, VitalKind::Height, 80.0, None)
        .unwrap();
    let chart = doc.chart(girl.id).unwrap();
    assert_eq!(chart.growth.len(), 2, "one point a day");
    let (before, today) = (&chart.growth[0], &chart.growth[1]);
    assert_eq!(
        (before.age_days, before.weight_kg, before.length_cm),
        (532, Some(8.9), None)
    );
    assert!(before.growth.weight_for_age.is_some());
    assert_eq!(before.growth.weight_for_length, None, "no length that day");
    assert_eq!(
        (today.age_days, today.weight_kg, today.length_cm),
        (562, Some(9.2), Some(80.0))
    );
    let today_as =
        |sex| z_scores(sex, 562, Some(9.2), Some(80.0), Measured::Unknown, false).unwrap();
    let (as_girl, as_boy) = (today_as(Sex::Girl), today_as(Sex::Boy));
    assert_eq!(today.growth, as_girl, "read from the girls' tables");
    assert_ne!(as_girl.weight_for_age, as_boy.weight_for_age);
    let curves = chart.growth_curves.expect("lines to draw her points on");
    assert_eq!(
        curves.weight_for_age,
        outpost_clinical::growth::curve(
            Sex::Girl,
            outpost_clinical::growth::Indicator::WeightForAge
        )
    );

    // A child whose age is only a guess ("about 2"): weight-for-length/height alone, which
    // does not depend on the age.
    let mut guessed = patient();
    guessed.birth_date = String::new();
    guessed.estimated_age_years = Some(1);
    guessed.sex = Some("female".into());
    guessed.clinic_id = None;
    guessed.given_name = "Adjoa".into();
    let guessed = doc.add_patient(&guessed).unwrap();
    doc.add_vital(guessed.id, None, VitalKind::Weight, 9.2, None)
        .unwrap();
    doc.add_vital(guessed.id, None, VitalKind::Height, 80.0, None)
        .unwrap();
    let point = doc.chart(guessed.id).unwrap().growth.remove(0);
    assert_eq!(point.growth.weight_for_age, None);
    assert_eq!(point.growth.length_for_age, None);
    assert!(point.growth.weight_for_length.is_some());

    // No standards for an adult, or without a sex they are given by.
    let adult = doc.add_patient(&NewPatientWith::adult()).unwrap();
    doc.add_vital(adult.id, None, VitalKind::Weight, 70.0, None)
        .unwrap();
    let adult = doc.chart(adult.id).unwrap();
    assert!(adult.growth.is_empty() && adult.growth_curves.is_none());
    let mut unknown = patient();
    unknown.birth_date = "2023-01-01".into();
    unknown.sex = Some("unknown".into());
    unknown.clinic_id = None;
    unknown.given_name = "Kofi".into();
    let unknown = doc.add_patient(&unknown).unwrap();
    doc.add_vital(unknown.id, None, VitalKind::Weight, 8.0, None)
        .unwrap();
    assert!(doc.chart(unknown.id).unwrap().growth.is_empty());
}

/// A weight typed 2.9 for 9.2 makes a well child look severely underweight. Struck out as
/// entered in error, with a reason, it stays in the chart (nothing written is lost), counts in
/// no flag, growth point or latest reading, and a table edited to hide or forge the striking
/// out is caught.
#[test]
fn a_reading_entered_in_error_is_struck_out_kept_and_counts_nowhere() {
    use outpost_store::records::VitalKind;
    let (fx, mut doc, _) = Fixture::new();
    // The attacker below is this nurse, with her own passphrase and so the database key.
    fx.add_nurse(&mut doc);
    let mut child = patient();
    child.birth_date = "2022-05-01".into();
    child.sex = Some("female".into());
    let girl = doc.add_patient(&child).unwrap();
    doc.add_vital(girl.id, None, VitalKind::Weight, 9.2, None)
        .unwrap();
    fx.clock.advance(60_000);
    let slip = doc
        .add_vital(girl.id, None, VitalKind::Weight, 2.9, None)
        .unwrap();
    let chart = doc.chart(girl.id).unwrap();
    let today = chart.growth.last().unwrap();
    assert_eq!(today.weight_kg, Some(2.9));
    assert!(
        today.growth.weight_for_age.as_ref().unwrap().z < -3.0,
        "the slip reads as severe"
    );

    // A reason is needed, in words.
    assert!(matches!(
        doc.mark_vital_in_error(slip.id, "  "),
        Err(StoreError::Invalid {
            field: "reason",
            ..
        })
    ));
    let struck = doc
        .mark_vital_in_error(slip.id, "typed 2.9 for 9.2")
        .unwrap();
    let error = struck.entered_in_error.expect("struck out");
    assert_eq!(error.reason, "typed 2.9 for 9.2");
    assert_eq!(error.by, doc.user().id);
    // Once is enough.
    assert!(matches!(
        doc.mark_vital_in_error(slip.id, "again"),
        Err(StoreError::Invalid { field: "vital", .. })
    ));

    let chart = doc.chart(girl.id).unwrap();
    let kept = chart.vitals.iter().find(|v| v.id == slip.id).unwrap();
    assert!(
        (kept.value - 2.9).abs() < 1e-9,
        "still in the chart, as typed"
    );
    assert!(kept.entered_in_error.is_some());
    assert_eq!(kept.flag, None, "a struck-out reading is not flagged");
    let today = chart.growth.last().unwrap();
    assert_eq!(
        today.weight_kg,
        Some(9.2),
        "the day's weight is the real one again"
    );
    assert!(today.growth.weight_for_age.as_ref().unwrap().z > -2.0);

    // An admin (not a clinician) may not strike readings out.
    let (_afx, mut admin, _) = Fixture::with_role("Kwame Admin", outpost_store::Role::Admin);
    let p = admin.add_patient(&patient()).unwrap();
    let v = admin
        .add_vital(p.id, None, VitalKind::Pulse, 72.0, None)
        .unwrap();
    assert!(matches!(
        admin.mark_vital_in_error(v.id, "wrong"),
        Err(StoreError::NotPermitted { .. })
    ));

    // The striking out is a signed operation: cleared or forged in the table, it is caught.
    assert!(doc.verify_audit().is_ok());
    doc.lock().unwrap();
    for sql in [
        "UPDATE vitals SET error_at = NULL, error_by = NULL, error_reason = NULL, error_op = NULL",
        "UPDATE vitals SET error_at = 1, error_by = recorded_by, error_reason = 'forged'",
    ] {
        let attacker = fx.attacker_connection();
        attacker.execute(sql, []).unwrap();
        drop(attacker);
        let mut doc = fx.unlock();
        let err = doc.verify_audit().unwrap_err().to_string();
        assert!(err.contains("vitals table"), "{sql}: {err}");
        doc.lock().unwrap();
    }
}

/// An adult's fever typed 39.8 for 36.8, and a weight typed 7 for 70: struck out, the fever
/// flag goes and the BMI is the real weight's again.
#[test]
fn a_struck_out_reading_loses_its_flag_and_leaves_the_bmi() {
    use outpost_store::records::VitalKind;
    let (fx, mut doc, _) = Fixture::new();
    let p = doc.add_patient(&patient()).unwrap();
    doc.add_vital(p.id, None, VitalKind::Height, 170.0, None)
        .unwrap();
    doc.add_vital(p.id, None, VitalKind::Weight, 70.0, None)
        .unwrap();
    // The slip comes a minute later: the latest weight is the slip until it is struck out.
    fx.clock.advance(60_000);
    let fever = doc
        .add_vital(p.id, None, VitalKind::Temperature, 39.8, None)
        .unwrap();
    assert!(fever.flag.is_some(), "39.8 °C is flagged");
    let slip = doc
        .add_vital(p.id, None, VitalKind::Weight, 7.0, None)
        .unwrap();
    assert_eq!(doc.chart(p.id).unwrap().bmi, Some(2.4), "the slip's BMI");
    doc.mark_vital_in_error(fever.id, "typed 39.8 for 36.8")
        .unwrap();
    doc.mark_vital_in_error(slip.id, "typed 7 for 70").unwrap();
    let chart = doc.chart(p.id).unwrap();
    let kept = chart.vitals.iter().find(|v| v.id == fever.id).unwrap();
    assert_eq!(kept.flag, None, "no fever flag on a struck-out reading");
    assert_eq!(chart.bmi, Some(24.2), "the BMI of 70 kg at 170 cm again");
}
