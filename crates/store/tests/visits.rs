//! Video-visit codes at the store level, attacked: a code is only as good as its secret, a
//! knock without the secret or for another device is refused, an expired or spent code admits
//! nobody new, and the code carries nothing about the patient.

mod common;

use base64::Engine as _;
use common::{Fixture, patient};
use outpost_crypto::DeviceIdentity;
use outpost_store::{StoreError, workspace::visits::VisitCode};

fn hosted() -> (
    Fixture,
    outpost_store::Store,
    VisitCode,
    outpost_proto::PatientId,
) {
    let (fx, mut doc, _) = Fixture::new();
    doc.create_workspace("Riverside clinic", "http://127.0.0.1:8470")
        .unwrap();
    let p = doc.add_patient(&patient()).unwrap().id;
    let code = doc.create_visit(p, 3_600_000).unwrap();
    (fx, doc, code, p)
}

#[test]
fn a_knock_made_from_the_code_is_accepted_for_its_chart_and_the_code_round_trips() {
    let (_fx, doc, code, p) = hosted();
    let text = code.encode();
    assert!(text.starts_with("outpost-visit-1:"));
    let parsed = VisitCode::parse(&format!("  {text}\n")).unwrap();
    assert_eq!(parsed.visit, code.visit);
    assert_eq!(parsed.host, doc.device_identity().public());
    let me = DeviceIdentity::generate(&mut rand_core::OsRng).public();
    assert_eq!(
        doc.check_knock(parsed.visit, &me, &parsed.proof(&me))
            .unwrap(),
        p
    );
    // Debug never shows the secret.
    let shown = format!("{parsed:?}");
    assert!(!shown.contains("secret"), "{shown}");
}

#[test]
fn the_code_carries_no_patient_data() {
    let (_fx, mut doc, code, id) = hosted();
    let p = doc.patient(id).unwrap();
    let code = code.encode();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(code.trim_start_matches("outpost-visit-1:"))
        .unwrap();
    for needle in [p.given_name.as_bytes(), p.family_name.as_bytes(), &p.id.0] {
        assert!(
            !common::contains(&bytes, needle),
            "the code leaks {needle:?}"
        );
    }
}

#[test]
fn a_knock_without_the_secret_or_for_another_device_is_refused() {
    let (_fx, doc, code, _) = hosted();
    let me = DeviceIdentity::generate(&mut rand_core::OsRng).public();
    let other = DeviceIdentity::generate(&mut rand_core::OsRng).public();
    // Someone who saw the knock on the wire replays its proof from their own device.
    let err = doc
        .check_knock(code.visit, &other, &code.proof(&me))
        .unwrap_err();
    assert!(matches!(err, StoreError::SignatureInvalid(_)), "{err:?}");
    // Someone guessing.
    let err = doc.check_knock(code.visit, &me, &[0u8; 32]).unwrap_err();
    assert!(matches!(err, StoreError::SignatureInvalid(_)), "{err:?}");
    // A visit this device does not host.
    let mut unknown = code.visit;
    unknown.0[0] ^= 1;
    let err = doc.check_knock(unknown, &me, &code.proof(&me)).unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
}

#[test]
fn a_spent_code_admits_only_its_device_and_an_expired_one_nobody() {
    let (fx, doc, code, _) = hosted();
    let first = DeviceIdentity::generate(&mut rand_core::OsRng).public();
    let second = DeviceIdentity::generate(&mut rand_core::OsRng).public();
    doc.mark_visit_admitted(code.visit, &first).unwrap();
    // The same device may knock again (a dropped call), another may not.
    doc.check_knock(code.visit, &first, &code.proof(&first))
        .unwrap();
    let err = doc
        .check_knock(code.visit, &second, &code.proof(&second))
        .unwrap_err();
    assert!(err.to_string().contains("already used"), "{err}");
    assert!(doc.mark_visit_admitted(code.visit, &second).is_err());
    fx.clock.advance(3_600_001);
    let err = doc
        .check_knock(code.visit, &first, &code.proof(&first))
        .unwrap_err();
    assert!(err.to_string().contains("expired"), "{err}");
    assert!(doc.hosted_visits().unwrap().is_empty());
}

#[test]
fn only_physicians_and_admins_invite_and_a_clinic_profile_keeps_no_guest_code() {
    let (fx, mut doc, code, p) = hosted();
    fx.add_nurse(&mut doc);
    drop(doc);
    let mut nurse = fx.unlock_as(common::NURSE, common::NURSE_PASSPHRASE);
    let err = nurse.create_visit(p, 3_600_000).unwrap_err();
    assert!(matches!(err, StoreError::NotPermitted { .. }), "{err:?}");
    let err = nurse.keep_visit_code(&code).unwrap_err();
    assert!(err.to_string().contains("patient"), "{err}");
}
