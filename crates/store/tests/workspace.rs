//! Workspaces at the store level, operations carried by hand between two profiles (the sync
//! engine and the relay carry them for real elsewhere): founding, invite and join, admission
//! with key delivery, membership enforced wherever operations arrive, conflicts and their
//! resolution, removal.

mod common;

use common::{DOCTOR, FAST, Fixture, PASSPHRASE, TestClock, patient};
use outpost_proto::{
    PatientField, Role,
    canon::Canon,
    relay::{Join, SendDirect},
};
use outpost_store::{Profile, Store, StoreError, receive::Received, workspace::InviteCode};

const NURSE_NAME: &str = "Nurse Kofi";
const NURSE_PASS: &[u8] = b"kofi's own passphrase";

/// Offers every operation of `from` to `to` until nothing more applies; returns how many
/// were applied or refused.
fn exchange(from: &Store, to: &mut Store) -> usize {
    let all: Vec<Vec<u8>> = {
        let mut stmt = from
            .raw_connection()
            .prepare("SELECT bytes FROM ops ORDER BY device, seq")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let mut taken = 0;
    loop {
        let mut progress = false;
        for bytes in &all {
            match to.receive_operation(bytes).unwrap() {
                Received::Applied | Received::Refused { .. } => {
                    taken += 1;
                    progress = true;
                }
                Received::Quarantined { reason } => panic!("quarantined: {reason}"),
                _ => {}
            }
        }
        if !progress {
            return taken;
        }
    }
}

/// Hands the key deliveries queued on `from` for `to` over, as the mailbox would.
fn deliver_keys(from: &Store, to: &mut Store) -> usize {
    let mut n = 0;
    for (_, kind, body) in from.relay_tasks().unwrap() {
        if kind != "direct" {
            continue;
        }
        let send = SendDirect::from_canonical(&body).unwrap();
        if send.to == to.device_id() {
            let delivery = outpost_proto::relay::Delivery {
                sender: from.device_identity().public().to_bytes(),
                envelope: send.envelope,
            };
            to.accept_delivery(&delivery.to_canonical()).unwrap();
            n += 1;
        }
    }
    n
}

struct Joiner {
    root: tempfile::TempDir,
    profile: Profile,
}

fn new_nurse_profile(clock: &std::sync::Arc<TestClock>) -> (Joiner, Store) {
    let root = tempfile::tempdir().unwrap();
    let (store, _) = Profile::create_in(
        &root.path().join("profile"),
        NURSE_NAME,
        Role::Nurse,
        NURSE_PASS,
        FAST,
        clock.clone(),
        Some(root.path().join("anchors")),
    )
    .unwrap();
    let profile = Profile::open(&root.path().join("profile"))
        .unwrap()
        .with_anchor_dir(Some(root.path().join("anchors")));
    (Joiner { root, profile }, store)
}

/// A physician's workspace and a nurse's device admitted to it.
fn team() -> (Fixture, Store, Joiner, Store, InviteCode) {
    let (fx, mut doc, _) = Fixture::new();
    doc.add_patient(&patient()).unwrap();
    let info = doc
        .create_workspace("Riverside clinic", "http://127.0.0.1:8470")
        .unwrap();
    assert!(!info.pending);
    let code = doc.create_invite(Role::Nurse, 3_600_000).unwrap();
    let parsed = InviteCode::parse(&code.encode()).unwrap();
    assert_eq!(parsed.workspace, info.id);

    let (joiner, nurse) = new_nurse_profile(&fx.clock);
    nurse.lock().unwrap();
    let (mut nurse, request) = joiner
        .profile
        .join_workspace(
            NURSE_NAME,
            NURSE_PASS,
            &parsed,
            "Clinic laptop",
            fx.clock.clone(),
        )
        .unwrap();
    assert!(nurse.workspace().unwrap().unwrap().pending);
    assert!(!nurse.is_admitted().unwrap());
    let join: Join = request.sign(nurse.device_identity(), [9; 32]);

    let admitted = doc.admit(&join).unwrap();
    assert_eq!(admitted.role, Role::Nurse);
    assert_eq!(admitted.name, NURSE_NAME);
    assert_eq!(deliver_keys(&doc, &mut nurse), 1, "the one epoch's key");
    exchange(&doc, &mut nurse);
    nurse.refresh_user().unwrap();
    assert!(nurse.is_admitted().unwrap());
    assert_eq!(nurse.user().role, Role::Nurse);
    assert_eq!(nurse.confirm_keys().unwrap(), 1, "the key's commit arrived");
    assert!(nurse.sealing_key().unwrap().is_some());
    (fx, doc, joiner, nurse, parsed)
}

#[test]
fn a_joined_device_gets_the_log_and_its_writes_reach_the_founder() {
    let (_fx, mut doc, _j, mut nurse, _) = team();
    // The whole chart arrived, verified.
    assert_eq!(nurse.search_patients("").unwrap().len(), 1);
    nurse.verify_audit().unwrap();
    // The nurse charts; the physician receives it.
    let p = nurse.search_patients("").unwrap()[0].id;
    nurse
        .add_vital(
            p,
            None,
            outpost_store::records::VitalKind::Pulse,
            72.0,
            None,
        )
        .unwrap();
    exchange(&nurse, &mut doc);
    assert_eq!(doc.chart(p).unwrap().vitals.len(), 1);
    doc.verify_audit().unwrap();
    // Both see the same members, with safety numbers.
    let members = doc.workspace_members().unwrap();
    let kofi = members.iter().find(|m| m.name == NURSE_NAME).unwrap();
    assert_eq!(kofi.status, "unverified");
    assert_eq!(kofi.safety_number.len(), 71);
    doc.mark_verified(kofi.user).unwrap();
    let kofi = doc
        .workspace_members()
        .unwrap()
        .into_iter()
        .find(|m| m.name == NURSE_NAME)
        .unwrap();
    assert_eq!(kofi.status, "verified");
}

#[test]
fn an_invite_admits_one_device_once() {
    let (fx, mut doc, _j, _nurse, code) = team();
    let (joiner2, second) = new_nurse_profile(&fx.clock);
    second.lock().unwrap();
    let (second, request) = joiner2
        .profile
        .join_workspace(
            NURSE_NAME,
            NURSE_PASS,
            &code,
            "Second laptop",
            fx.clock.clone(),
        )
        .unwrap();
    let err = doc
        .admit(&request.sign(second.device_identity(), [1; 32]))
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Invalid { reason, .. } if reason.contains("already used")),
        "{err:?}"
    );
}

#[test]
fn a_forged_join_request_is_refused() {
    let (fx, mut doc, _j, _nurse, _) = team();
    let code = doc.create_invite(Role::Physician, 3_600_000).unwrap();
    let (joiner, other) = new_nurse_profile(&fx.clock);
    other.lock().unwrap();
    let (other, request) = joiner
        .profile
        .join_workspace(NURSE_NAME, NURSE_PASS, &code, "x", fx.clock.clone())
        .unwrap();
    // The relay (or anyone) flips a byte of the sealed request, or re-signs it with
    // another device key: refused, and the invite stays unused.
    let mut tampered = request.sign(other.device_identity(), [2; 32]);
    let last = tampered.sealed.0.len() - 1;
    tampered.sealed.0[last] ^= 1;
    assert!(doc.admit(&tampered).is_err());
    let stranger = outpost_crypto::DeviceIdentity::generate(&mut rand_core::OsRng);
    let mut swapped = request.sign(&stranger, [2; 32]);
    swapped.identity = other.device_identity().public().to_bytes();
    assert!(doc.admit(&swapped).is_err());
    doc.admit(&request.sign(other.device_identity(), [3; 32]))
        .unwrap();
}

#[test]
fn a_nurse_cannot_manage_and_her_forged_admission_is_refused_everywhere() {
    let (fx, mut doc, _j, mut nurse, _) = team();
    assert!(matches!(
        nurse.create_invite(Role::Physician, 3_600_000),
        Err(StoreError::NotPermitted { .. })
    ));
    // Even written behind the app's back, a nurse's membership change is refused where it
    // arrives (it stays in her log, listed as refused).
    let _ = fx;
    let before = doc.workspace_members().unwrap().len();
    assert!(nurse.remove_member(&doc.user().id.to_hex()).is_err());
    exchange(&nurse, &mut doc);
    assert_eq!(doc.workspace_members().unwrap().len(), before);
}

#[test]
fn concurrent_edits_of_one_field_conflict_and_the_resolution_syncs() {
    let (_fx, mut doc, _j, mut nurse, _) = team();
    let p = doc.search_patients("").unwrap()[0].id;
    doc.edit_patient(p, PatientField::Contact, Some("+233 20 111".into()))
        .unwrap();
    nurse
        .edit_patient(p, PatientField::Contact, Some("+233 20 222".into()))
        .unwrap();
    exchange(&doc, &mut nurse);
    exchange(&nurse, &mut doc);
    let (a, b) = (doc.conflicts().unwrap(), nurse.conflicts().unwrap());
    assert_eq!(a, b, "both devices list the same conflict");
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].field, "contact");
    let values: Vec<_> = a[0]
        .values
        .iter()
        .map(|v| v.value.clone().unwrap())
        .collect();
    assert!(
        values.contains(&"+233 20 111".to_owned()) && values.contains(&"+233 20 222".to_owned())
    );
    // The same value is shown on both meanwhile.
    assert_eq!(
        doc.patient(p).unwrap().contact,
        nurse.patient(p).unwrap().contact
    );
    let chosen = a[0].values[1].clone();
    nurse
        .resolve_conflict(&a[0].id, Some(&chosen.id), None)
        .unwrap();
    exchange(&nurse, &mut doc);
    assert!(doc.conflicts().unwrap().is_empty());
    assert_eq!(doc.patient(p).unwrap().contact, chosen.value);
    doc.verify_audit().unwrap();
    nurse.verify_audit().unwrap();
}

#[test]
fn a_removed_device_is_cut_off_and_a_new_epoch_excludes_it() {
    let (_fx, mut doc, _j, mut nurse, _) = team();
    let p = doc.search_patients("").unwrap()[0].id;
    let device = nurse.device_id();
    let epoch_before = doc.sealing_key().unwrap().unwrap().epoch();
    // She writes offline; meanwhile the laptop is reported lost and removed.
    nurse
        .add_vital(
            p,
            None,
            outpost_store::records::VitalKind::Pulse,
            80.0,
            None,
        )
        .unwrap();
    let removed = doc.remove_member(&device.to_hex()).unwrap();
    assert_eq!(removed, vec![device]);
    let epoch_after = doc.sealing_key().unwrap().unwrap().epoch();
    assert!(epoch_after > epoch_before);
    // No key for the new epoch is addressed to the removed device.
    assert_eq!(
        deliver_keys(&doc, &mut nurse),
        1,
        "only the delivery at admission"
    );
    // What she wrote after the admin's cut-off is refused on the admin's device.
    exchange(&nurse, &mut doc);
    assert!(doc.chart(p).unwrap().vitals.is_empty());
    assert!(
        doc.refused()
            .unwrap()
            .iter()
            .any(|(d, _, reason)| *d == device.to_hex() && reason.contains("removed"))
    );
    doc.verify_audit().unwrap();
    // The same on her own device once the removal reaches it: both judge alike.
    exchange(&doc, &mut nurse);
    outpost_store::verify::verify_log(nurse.raw_connection()).unwrap();
    let kept: i64 = nurse
        .raw_connection()
        .query_row("SELECT count(*) FROM vitals", [], |r| r.get(0))
        .unwrap();
    assert_eq!(kept, 0);
    // And the removed device can write nothing more (not even an audit entry).
    assert!(nurse.chart(p).is_err());
}

#[test]
fn joining_refuses_a_profile_with_records() {
    let (fx, mut doc, _) = Fixture::new();
    doc.create_workspace("W", "http://127.0.0.1:1").unwrap();
    let code = doc.create_invite(Role::Nurse, 60_000).unwrap();
    doc.lock().unwrap();
    let (fx2, mut other, _) = Fixture::with_role("Dr. Other", Role::Physician);
    other.add_patient(&patient()).unwrap();
    other.lock().unwrap();
    let err = fx2
        .profile()
        .join_workspace("Dr. Other", PASSPHRASE, &code, "x", fx.clock.clone())
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Invalid {
                field: "profile",
                ..
            }
        ),
        "{err:?}"
    );
    // Nothing was set aside: the profile still opens with its patient.
    let mut again = fx2.unlock_as("Dr. Other", PASSPHRASE);
    assert_eq!(again.search_patients("").unwrap().len(), 1);
    let _ = again
        .chart(again.search_patients("").unwrap()[0].id)
        .unwrap();
    let _ = DOCTOR;
}

#[test]
fn a_nurses_forged_note_signature_is_refused_by_every_receiver() {
    let (fx, mut doc, joiner, mut nurse, _) = team();
    // A second physician's device joins too: two receivers besides the nurse.
    let code = InviteCode::parse(
        &doc.create_invite(Role::Physician, 3_600_000)
            .unwrap()
            .encode(),
    )
    .unwrap();
    let root = tempfile::tempdir().unwrap();
    let (created, _) = Profile::create_in(
        &root.path().join("p"),
        "Dr. Third",
        Role::Physician,
        NURSE_PASS,
        FAST,
        fx.clock.clone(),
        Some(root.path().join("a")),
    )
    .unwrap();
    created.lock().unwrap();
    let (mut third, request) = Profile::open(&root.path().join("p"))
        .unwrap()
        .with_anchor_dir(Some(root.path().join("a")))
        .join_workspace(
            "Dr. Third",
            NURSE_PASS,
            &code,
            "Third laptop",
            fx.clock.clone(),
        )
        .unwrap();
    doc.admit(&request.sign(third.device_identity(), [5; 32]))
        .unwrap();
    deliver_keys(&doc, &mut third);
    exchange(&doc, &mut third);
    exchange(&nurse, &mut third);
    // The physician writes a draft; everyone has it.
    let p = doc.search_patients("").unwrap()[0].id;
    let draft = doc
        .write_note(p, None, &common::soap("chest pain"))
        .unwrap();
    exchange(&doc, &mut nurse);
    exchange(&doc, &mut third);
    // The nurse's modified client signs it with her own, real key, properly linked into her
    // device's log (bypassing the check where operations are made).
    let me = common::identity_of(&joiner.root.path().join("profile"), NURSE_NAME, NURSE_PASS);
    let conn = nurse.raw_connection();
    // (Her device may not have written anything yet: then this is its first operation.)
    let (seq, prev): (i64, Vec<u8>) = conn
        .query_row(
            "SELECT seq, hash FROM ops WHERE device = ?1 ORDER BY seq DESC LIMIT 1",
            [nurse.device_id().to_hex()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap_or((0, vec![0; 32]));
    let wall: i64 = conn
        .query_row("SELECT max(hlc_wall) FROM ops", [], |r| r.get(0))
        .unwrap();
    let forged = outpost_proto::Operation::sign(
        outpost_proto::OpContext {
            device: nurse.device_id(),
            seq: u64::try_from(seq).unwrap() + 1,
            hlc: outpost_proto::Hlc {
                wall_ms: u64::try_from(wall).unwrap() + 1,
                counter: 0,
            },
            actor: nurse.user().id,
            target: draft.id.into(),
            prev: outpost_proto::OpHash(prev.try_into().unwrap()),
        },
        &outpost_proto::Payload::NoteSigned(outpost_proto::payload::NoteSigned {
            patient: draft.patient_id,
            encounter: None,
            author: draft.author,
            revision: draft.revision,
            soap: draft.soap.clone(),
        }),
        &me,
    );
    for receiver in [&mut doc, &mut third] {
        let outcome = receiver.receive_operation(forged.as_bytes()).unwrap();
        assert!(
            matches!(outcome, Received::Refused { reason } if reason.contains("role")),
            "{outcome:?}"
        );
        assert_eq!(
            receiver.note(draft.id).unwrap().signature,
            outpost_store::records::Signature::Unsigned
        );
        assert_eq!(receiver.refused().unwrap().len(), 1);
        receiver.verify_audit().unwrap();
    }
}
