//! The forgery suite, written as the attacker: a nurse of the clinic who knows her own
//! passphrase, and therefore the shared database key, opens the SQLCipher file directly and
//! tries to change what was signed, to sign as the physician, to rewrite the audit trail, and
//! to roll the profile back. Each attack must be detected.

mod common;

use common::{DOCTOR, Fixture, NURSE, NURSE_PASSPHRASE, PASSPHRASE, hex, patient, soap, unhex};
use outpost_crypto::{DeviceIdentity, PassphraseRecord, primitives};
use outpost_proto::{OpContext, Operation, Payload};
use outpost_store::{
    Store, StoreError, UnlockWarning,
    audit::AuditFilter,
    records::{Note, Signature, VitalKind},
    verify,
};
use rand_core::OsRng;
use rusqlite::{Connection, params};

/// A clinic with a physician and a nurse, a patient, a signed note with an addendum, vitals
/// and chart reads; locked.
fn clinic() -> (Fixture, Note) {
    let (fx, mut doc, _) = Fixture::new();
    fx.add_nurse(&mut doc);
    let p = doc.add_patient(&patient()).unwrap();
    let draft = doc.write_note(p.id, None, &soap("signed")).unwrap();
    let signed = doc.sign_note(draft.id, &draft.content_hash).unwrap();
    doc.add_addendum(draft.id, "Repeat BP 128/84").unwrap();
    doc.add_vital(p.id, None, VitalKind::Pulse, 72.0, None)
        .unwrap();
    doc.chart(p.id).unwrap();
    doc.lock().unwrap();
    (fx, signed)
}

/// What the attacker does first: the log refuses edits, so drop its guards.
fn drop_guards(c: &Connection) {
    c.execute_batch("DROP TRIGGER ops_no_update; DROP TRIGGER ops_no_delete;")
        .unwrap();
}

fn op_bytes(c: &Connection, hash: &[u8]) -> Vec<u8> {
    c.query_row("SELECT bytes FROM ops WHERE hash = ?1", [hash], |r| {
        r.get(0)
    })
    .unwrap()
}

/// Replaces an operation's bytes and recomputes its stored hash, as a thorough attacker would.
fn replace_op(c: &Connection, old_hash: &[u8], new: &Operation) {
    let patient = new
        .payload()
        .unwrap()
        .patient(new.header().target)
        .map(|p| p.to_hex());
    c.execute(
        "UPDATE ops SET bytes = ?1, hash = ?2, actor = ?3, patient = ?4 WHERE hash = ?5",
        params![
            new.as_bytes(),
            new.hash().0.as_slice(),
            new.header().actor.to_hex(),
            patient,
            old_hash
        ],
    )
    .unwrap();
}

/// Re-links every later operation of the forged one's device to the new hashes, so that every
/// stored hash and link is consistent again. Each re-linked operation must be signed anew; she
/// can only sign with her own key. `edit` may change a payload on the way.
fn rechain_with(
    c: &Connection,
    from: &Operation,
    signer: &DeviceIdentity,
    mut edit: impl FnMut(Payload) -> Payload,
) -> Vec<(Vec<u8>, Operation)> {
    let device = from.header().device;
    let mut prev = from.hash();
    let mut seq = from.header().seq + 1;
    let mut replaced = Vec::new();
    loop {
        let row: Option<(Vec<u8>, Vec<u8>)> = c
            .query_row(
                "SELECT hash, bytes FROM ops WHERE device = ?1 AND seq = ?2",
                params![device.to_hex(), i64::try_from(seq).unwrap()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .ok();
        let Some((old_hash, bytes)) = row else { break };
        let op = Operation::decode(bytes).unwrap();
        let h = *op.header();
        let ctx = OpContext {
            device: h.device,
            seq: h.seq,
            hlc: h.hlc,
            actor: h.actor,
            target: h.target,
            prev,
        };
        let relinked = Operation::sign(ctx, &edit(op.payload().unwrap()), signer);
        replace_op(c, &old_hash, &relinked);
        prev = relinked.hash();
        seq += 1;
        replaced.push((old_hash, relinked));
    }
    replaced
}

fn rechain(c: &Connection, from: &Operation, signer: &DeviceIdentity) {
    rechain_with(c, from, signer, |p| p);
}

/// The nurse's own signing identity, unwrapped from profile.json with her passphrase.
fn nurse_identity(fx: &Fixture) -> DeviceIdentity {
    let file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fx.dir().join("profile.json")).unwrap()).unwrap();
    let entry = file["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == NURSE)
        .unwrap();
    let keys = PassphraseRecord::decode(&unhex(entry["passphrase"].as_str().unwrap()))
        .unwrap()
        .unlock(NURSE_PASSPHRASE)
        .unwrap();
    DeviceIdentity::unwrap(
        &keys.key_encryption_key,
        &unhex(entry["identity"].as_str().unwrap()),
    )
    .unwrap()
}

fn signed_op_hash(c: &Connection, note: &Note) -> Vec<u8> {
    c.query_row(
        "SELECT signed_op FROM notes WHERE id = ?1",
        [note.id.to_hex()],
        |r| r.get(0),
    )
    .unwrap()
}

fn verify_fails(store: &Store) -> StoreError {
    verify::verify_log(store.raw_connection()).unwrap_err()
}

#[test]
fn attack_1a_editing_the_text_where_the_chart_reads_it_shows_signature_invalid() {
    let (fx, signed) = clinic();
    let c = fx.attacker_connection();
    drop_guards(&c);
    // The chart reads a revision's text from the operation that saved it: she rewrites that
    // operation's text in place, keeping its stored hash so every reference still finds it.
    let bytes = op_bytes(&c, &signed.revision.0);
    let op = Operation::decode(bytes).unwrap();
    let Payload::NoteCreated(mut p) = op.payload().unwrap() else {
        panic!("not the note's first revision")
    };
    p.soap.plan = "No follow-up needed".into();
    let h = *op.header();
    let ctx = OpContext {
        device: h.device,
        seq: h.seq,
        hlc: h.hlc,
        actor: h.actor,
        target: h.target,
        prev: h.prev,
    };
    let edited = Operation::sign(ctx, &Payload::NoteCreated(p), &nurse_identity(&fx));
    c.execute(
        "UPDATE ops SET bytes = ?1 WHERE hash = ?2",
        params![edited.as_bytes(), signed.revision.0.as_slice()],
    )
    .unwrap();
    drop(c);
    let doc = fx.unlock();
    let note = doc.note(signed.id).unwrap();
    assert_eq!(
        note.soap.plan, "No follow-up needed",
        "the edit is what is shown"
    );
    assert!(
        matches!(&note.signature, Signature::Invalid { reason } if reason.contains("differs")),
        "{:?}",
        note.signature
    );
    match verify_fails(&doc) {
        StoreError::LogBroken {
            device,
            seq,
            reason,
        } => {
            assert_eq!((device, seq), (h.device, h.seq));
            assert!(reason.contains("hash"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn attack_1a2_editing_a_chart_table_is_named_by_verification() {
    let (fx, signed) = clinic();
    let c = fx.attacker_connection();
    c.execute(
        "UPDATE addenda SET text = 'Repeat BP 110/70' WHERE note_id = ?1",
        [signed.id.to_hex()],
    )
    .unwrap();
    drop(c);
    let doc = fx.unlock();
    let note = doc.note(signed.id).unwrap();
    assert!(
        matches!(&note.addenda[0].signature, Signature::Invalid { reason } if reason.contains("differs")),
        "{:?}",
        note.addenda[0].signature
    );
    let err = verify_fails(&doc);
    assert!(
        matches!(&err, StoreError::Corrupt(m) if m.contains("addenda")),
        "{err:?}"
    );
}

#[test]
fn attack_1b_rewriting_the_signed_text_and_every_hash_fails_at_that_operation() {
    let (fx, signed) = clinic();
    let c = fx.attacker_connection();
    drop_guards(&c);
    let nurse = nurse_identity(&fx);
    let edited_plan = "No follow-up needed";
    // The note's text, rewritten in the operation that saved it, re-signed (with her key, the
    // only one she has), and every later operation re-linked to the new hashes; the signing
    // operation is rewritten to name the new text, so what is shown and what "was signed" agree.
    let old_revision = signed.revision;
    let created = Operation::decode(op_bytes(&c, &old_revision.0)).unwrap();
    let Payload::NoteCreated(mut text) = created.payload().unwrap() else {
        panic!("not the note's first revision")
    };
    text.soap.plan = edited_plan.into();
    let h = *created.header();
    let ctx = OpContext {
        device: h.device,
        seq: h.seq,
        hlc: h.hlc,
        actor: h.actor,
        target: h.target,
        prev: h.prev,
    };
    let new_created = Operation::sign(ctx, &Payload::NoteCreated(text.clone()), &nurse);
    replace_op(&c, &old_revision.0, &new_created);
    let new_revision = new_created.hash();
    let replaced = rechain_with(&c, &new_created, &nurse, |payload| match payload {
        Payload::NoteSigned(mut p) if p.revision == old_revision => {
            p.revision = new_revision;
            p.soap = text.soap.clone();
            Payload::NoteSigned(p)
        }
        other => other,
    });
    let (_, new_signing) = replaced
        .iter()
        .find(|(_, op)| op.header().kind == outpost_proto::OpKind::NOTE_SIGNED)
        .unwrap();
    // Every table that names these operations is updated too.
    c.execute(
        "UPDATE note_revisions SET op = ?1 WHERE op = ?2",
        params![new_revision.0.as_slice(), old_revision.0.as_slice()],
    )
    .unwrap();
    c.execute(
        "UPDATE notes SET signed_op = ?1 WHERE id = ?2",
        params![new_signing.hash().0.as_slice(), signed.id.to_hex()],
    )
    .unwrap();
    for (old, new) in &replaced {
        c.execute(
            "UPDATE addenda SET op = ?1 WHERE op = ?2",
            params![new.hash().0.as_slice(), old],
        )
        .unwrap();
    }
    drop(c);

    let doc = fx.unlock();
    let note = doc.note(signed.id).unwrap();
    assert_eq!(
        note.soap.plan, edited_plan,
        "the forged text is what is shown"
    );
    assert!(
        matches!(&note.signature, Signature::Invalid { reason } if reason.contains("does not verify")),
        "{:?}",
        note.signature
    );
    // Every hash and link is consistent again; the signature is what names the forgery: the
    // first rewritten operation.
    match verify_fails(&doc) {
        StoreError::LogBroken {
            device,
            seq,
            reason,
        } => {
            assert_eq!((device, seq), (h.device, h.seq));
            assert_eq!(reason, "signature does not verify");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn attack_1c_signing_as_herself_is_refused_by_role() {
    let (fx, signed) = clinic();
    let c = fx.attacker_connection();
    drop_guards(&c);
    let hash = signed_op_hash(&c, &signed);
    let op = Operation::decode(op_bytes(&c, &hash)).unwrap();
    let nurse = nurse_identity(&fx);
    let nurse_id: String = c
        .query_row("SELECT id FROM users WHERE name = ?1", [NURSE], |r| {
            r.get(0)
        })
        .unwrap();
    let h = *op.header();
    let ctx = OpContext {
        device: h.device,
        seq: h.seq,
        hlc: h.hlc,
        actor: nurse_id.parse().unwrap(),
        target: h.target,
        prev: h.prev,
    };
    // A valid signature by a real user, of an action her role does not allow.
    let forged = Operation::sign(ctx, &op.payload().unwrap(), &nurse);
    replace_op(&c, &hash, &forged);
    c.execute(
        "UPDATE notes SET signed_op = ?1, signed_by = ?2 WHERE id = ?3",
        params![forged.hash().0.as_slice(), nurse_id, signed.id.to_hex()],
    )
    .unwrap();
    drop(c);
    let doc = fx.unlock();
    let note = doc.note(signed.id).unwrap();
    assert!(
        matches!(&note.signature, Signature::Invalid { reason } if reason.contains("role")),
        "{:?}",
        note.signature
    );
    assert!(matches!(verify_fails(&doc), StoreError::LogBroken { .. }));
}

#[test]
fn attack_1d_hiding_a_signature_from_the_chart_is_noticed() {
    let (fx, signed) = clinic();
    let c = fx.attacker_connection();
    c.execute(
        "UPDATE notes SET signed_op = NULL, signed_at = NULL, signed_by = NULL WHERE id = ?1",
        [signed.id.to_hex()],
    )
    .unwrap();
    drop(c);
    let mut doc = fx.unlock();
    let note = doc.note(signed.id).unwrap();
    assert!(
        matches!(&note.signature, Signature::Invalid { .. }),
        "an unsigned-looking note whose signing is in the log: {:?}",
        note.signature
    );
    // And it cannot be edited as a draft through the API either: the log says signed.
    assert!(doc.verify_audit().is_err());
}

#[test]
fn attack_2_a_wrap_for_the_physician_under_her_passphrase_cannot_sign_as_him() {
    let (fx, signed) = clinic();
    let db_key = fx.attacker_key(NURSE, NURSE_PASSPHRASE);
    let path = fx.dir().join("profile.json");
    let mut file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let profile_id = file["profile_id"].as_str().unwrap().to_owned();
    let chosen = b"the nurse chose this one";
    let params = common::FAST;
    let (record, keys) = PassphraseRecord::create(chosen, params, &mut OsRng).unwrap();
    let mut nonce = [0u8; 24];
    rand_core::RngCore::fill_bytes(&mut OsRng, &mut nonce);
    for with_identity in [true, false] {
        let users = file["users"].as_array_mut().unwrap();
        let doctor = users.iter_mut().find(|u| u["name"] == DOCTOR).unwrap();
        let doctor_id = doctor["id"].as_str().unwrap().to_owned();
        let aad = [
            b"outpost/v1/store/key-wrap\0".as_slice(),
            profile_id.as_bytes(),
            b"\0",
            doctor_id.as_bytes(),
        ]
        .concat();
        let ct = primitives::xchacha_seal(&keys.key_encryption_key, &nonce, &aad, &db_key).unwrap();
        doctor["passphrase"] = hex(&record.encode()).into();
        doctor["wrap"]["wrapped_key"] = hex(&[nonce.as_slice(), &ct].concat()).into();
        if with_identity {
            let fake = DeviceIdentity::generate(&mut OsRng);
            doctor["identity"] =
                hex(&fake.wrap(&keys.key_encryption_key, &mut OsRng).unwrap()).into();
        } else {
            doctor.as_object_mut().unwrap().remove("identity");
        }
        std::fs::write(&path, serde_json::to_vec(&file).unwrap()).unwrap();
        let err = fx
            .profile()
            .unlock(DOCTOR, chosen, fx.clock.clone())
            .unwrap_err();
        assert!(matches!(err, StoreError::IdentityMismatch), "{err:?}");
    }
    // The real physician's note still verifies for anyone who can read it.
    let nurse = fx.unlock_as(NURSE, NURSE_PASSPHRASE);
    assert!(matches!(
        nurse.note(signed.id).unwrap().signature,
        Signature::Valid { .. }
    ));
}

#[test]
fn attack_2b_swapping_the_physicians_key_in_the_users_table_is_caught_at_unlock() {
    let (fx, _) = clinic();
    let c = fx.attacker_connection();
    let nurse = nurse_identity(&fx);
    c.execute(
        "UPDATE users SET signing_key = ?1 WHERE name = ?2",
        params![nurse.public().signing_key().as_slice(), DOCTOR],
    )
    .unwrap();
    drop(c);
    for (user, pass) in [(NURSE, NURSE_PASSPHRASE), (DOCTOR, PASSPHRASE)] {
        let err = fx
            .profile()
            .unlock(user, pass, fx.clock.clone())
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Corrupt(m) if m.contains("users table")),
            "{err:?}"
        );
    }
}

#[test]
fn attack_3_an_edited_audit_entry_fails_verification_at_that_entry() {
    let (fx, _) = clinic();
    let c = fx.attacker_connection();
    drop_guards(&c);
    // Change whose chart was read in the newest chart-read entry, and recompute its hash.
    let (hash, bytes): (Vec<u8>, Vec<u8>) = c
        .query_row(
            "SELECT hash, bytes FROM ops WHERE kind = ?1 AND patient IS NOT NULL ORDER BY rowid DESC LIMIT 1",
            [i64::from(outpost_proto::OpKind::AUDIT.0)],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let op = Operation::decode(bytes).unwrap();
    let Payload::Audit(mut a) = op.payload().unwrap() else {
        panic!()
    };
    a.patient = Some(outpost_store::PatientId([0xEE; 16]));
    let h = *op.header();
    let ctx = OpContext {
        device: h.device,
        seq: h.seq,
        hlc: h.hlc,
        actor: h.actor,
        target: h.target,
        prev: h.prev,
    };
    let nurse = nurse_identity(&fx);
    let forged = Operation::sign(ctx, &Payload::Audit(a), &nurse);
    replace_op(&c, &hash, &forged);
    rechain(&c, &forged, &nurse);
    drop(c);
    let doc = fx.unlock();
    match verify_fails(&doc) {
        StoreError::LogBroken {
            device,
            seq,
            reason,
        } => {
            assert_eq!((device, seq), (h.device, h.seq));
            assert_eq!(reason, "signature does not verify");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn attack_3b_a_deleted_audit_entry_leaves_a_gap_named_by_verification() {
    let (fx, _) = clinic();
    let c = fx.attacker_connection();
    drop_guards(&c);
    let (device, seq): (String, i64) = c
        .query_row(
            "SELECT device, seq FROM ops WHERE kind = ?1 AND patient IS NOT NULL ORDER BY rowid DESC LIMIT 1",
            [i64::from(outpost_proto::OpKind::AUDIT.0)],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    c.execute(
        "DELETE FROM ops WHERE device = ?1 AND seq = ?2",
        params![device, seq],
    )
    .unwrap();
    drop(c);
    let doc = fx.unlock();
    match verify_fails(&doc) {
        StoreError::LogBroken {
            seq: at, reason, ..
        } => {
            assert_eq!(i64::try_from(at).unwrap(), seq);
            assert!(reason.contains("gap"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn attack_4_deleting_the_newest_operations_is_reported_at_the_next_unlock() {
    let (fx, _) = clinic();
    let c = fx.attacker_connection();
    drop_guards(&c);
    let device: String = c
        .query_row(
            "SELECT device FROM ops ORDER BY rowid DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let deleted = c
        .execute(
            "DELETE FROM ops WHERE device = ?1 AND seq > (SELECT max(seq) - 3 FROM ops WHERE device = ?1)",
            [&device],
        )
        .unwrap();
    assert_eq!(deleted, 3);
    drop(c);
    let doc = fx.unlock();
    assert_eq!(doc.warnings(), &[UnlockWarning::RolledBack { missing: 3 }]);
    // Recorded where every device will see it, and new writes continue as a new device, never
    // reusing the sequence numbers already shown.
    let entries = doc.audit_entries(&AuditFilter::default()).unwrap();
    assert!(entries.iter().any(|e| e.action == "rollback_detected"));
    assert_ne!(doc.device_id().to_hex(), device);
    // The next unlock does not repeat the warning: it was recorded once.
    doc.lock().unwrap();
    assert!(fx.unlock().warnings().is_empty());
}

#[test]
fn attack_5_an_older_copy_of_the_whole_profile_is_reported_at_unlock() {
    let (fx, signed) = clinic();
    let old = tempfile::tempdir().unwrap();
    copy_dir(&fx.dir(), old.path());
    let mut doc = fx.unlock();
    doc.add_addendum(signed.id, "Seen again, improving")
        .unwrap();
    doc.lock().unwrap();
    // Put the old copy back over the profile (profile.json, log-head and database included).
    std::fs::remove_dir_all(fx.dir()).unwrap();
    copy_dir(old.path(), &fx.dir());
    let doc = fx.unlock();
    assert!(
        matches!(doc.warnings(), [UnlockWarning::RolledBack { missing }] if *missing >= 2),
        "{:?}",
        doc.warnings()
    );
}

#[test]
fn an_untouched_profile_verifies_and_warns_of_nothing() {
    let (fx, signed) = clinic();
    let mut doc = fx.unlock();
    assert!(doc.warnings().is_empty());
    let report = doc.verify_audit().unwrap();
    assert!(report.operations > 10, "{report:?}");
    assert!(matches!(
        doc.note(signed.id).unwrap().signature,
        Signature::Valid { .. }
    ));
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// Appends an operation the nurse's modified client signs with her real key, linked properly
/// as the next operation of the newest device's log (the local one), with her as actor.
fn nurse_appends(
    fx: &Fixture,
    c: &Connection,
    payload: &Payload,
    target: outpost_proto::RecordId,
    hlc: Option<outpost_proto::Hlc>,
) -> Operation {
    let nurse: outpost_store::UserId = c
        .query_row("SELECT id FROM users WHERE name = ?1", [NURSE], |r| {
            r.get::<_, String>(0)
        })
        .unwrap()
        .parse()
        .unwrap();
    let (device, seq, prev, wall): (String, i64, Vec<u8>, i64) = c
        .query_row(
            "SELECT device, seq, hash, hlc_wall FROM ops ORDER BY rowid DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    let ctx = OpContext {
        device: outpost_proto::DeviceId(outpost_proto::ids::from_hex::<16>(&device).unwrap()),
        seq: u64::try_from(seq).unwrap() + 1,
        hlc: hlc.unwrap_or(outpost_proto::Hlc {
            wall_ms: u64::try_from(wall).unwrap() + 1,
            counter: 0,
        }),
        actor: nurse,
        target,
        prev: outpost_proto::OpHash(prev.try_into().unwrap()),
    };
    let op = Operation::sign(ctx, payload, &nurse_identity(fx));
    let h = op.header();
    c.execute(
        "INSERT INTO ops (device, seq, hlc_wall, hlc_counter, actor, kind, target, patient, hash, bytes)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            device,
            i64::try_from(h.seq).unwrap(),
            i64::try_from(h.hlc.wall_ms).unwrap(),
            i64::from(h.hlc.counter),
            h.actor.to_hex(),
            i64::from(h.kind.0),
            h.target.to_hex(),
            payload.patient(h.target).map(|p| p.to_hex()),
            op.hash().0.as_slice(),
            op.as_bytes()
        ],
    )
    .unwrap();
    op
}

#[test]
fn attack_6_nobody_can_make_an_emergency_user_or_use_one_to_add_people() {
    let (fx, mut doc, recovery) = Fixture::new();
    fx.add_nurse(&mut doc);
    doc.lock().unwrap();
    // Through the API: neither a nurse nor a physician can make anyone the emergency user.
    let mut nurse = fx.unlock_as(NURSE, NURSE_PASSPHRASE);
    let err = fx
        .profile()
        .add_user(
            &mut nurse,
            "Backdoor",
            outpost_store::Role::Emergency,
            b"backdoor pass",
            common::FAST,
        )
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Invalid { field: "user", .. }),
        "{err:?}"
    );
    nurse.lock().unwrap();
    let mut doc = fx.unlock();
    assert!(
        fx.profile()
            .add_user(
                &mut doc,
                "Backdoor",
                outpost_store::Role::Emergency,
                b"backdoor pass",
                common::FAST
            )
            .is_err()
    );
    doc.lock().unwrap();
    // The real emergency user (the recovery key) cannot add anyone either.
    let mut emergency = fx
        .profile()
        .unlock_with_recovery(
            &recovery.display(),
            "testing break-glass limits",
            fx.clock.clone(),
        )
        .unwrap();
    let err = fx
        .profile()
        .add_user(
            &mut emergency,
            "Dr. New",
            outpost_store::Role::Physician,
            b"new doctor pass",
            common::FAST,
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::NotPermitted { .. }), "{err:?}");
    assert_eq!(
        fx.profile().users().len(),
        2,
        "nothing was added to the profile file"
    );
    emergency.lock().unwrap();
    // With the emergency user removed (by the physician), nobody can put someone else in its
    // place: the recovery key's user registers itself or not at all.
    let doc = fx.unlock();
    let emergency_id: outpost_store::UserId = doc
        .raw_connection()
        .query_row("SELECT id FROM users WHERE role = 'emergency'", [], |r| {
            r.get::<_, String>(0)
        })
        .unwrap()
        .parse()
        .unwrap();
    doc.lock().unwrap();
    // A nurse may not end emergency access.
    let mut nurse = fx.unlock_as(NURSE, NURSE_PASSPHRASE);
    assert!(matches!(
        nurse.remove_user(emergency_id),
        Err(StoreError::NotPermitted { .. })
    ));
    nurse.lock().unwrap();
    let mut doc = fx.unlock();
    doc.remove_user(emergency_id).unwrap();
    let err = fx
        .profile()
        .add_user(
            &mut doc,
            "Backdoor",
            outpost_store::Role::Emergency,
            b"backdoor pass",
            common::FAST,
        )
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Invalid { field: "user", .. }),
        "{err:?}"
    );
}

#[test]
fn attack_7_an_imported_record_outside_the_import_is_refused() {
    let (fx, _) = clinic();
    let c = fx.attacker_connection();
    // She wraps "a physician with her key" as if imported from before signatures.
    let fake = outpost_store::UserId([0x77; 16]);
    let inner = Payload::UserAdded(outpost_proto::payload::UserAdded {
        user: fake,
        name: "Dr. Fake".into(),
        role: outpost_store::Role::Physician,
        identity: None,
    });
    let legacy = Payload::Legacy(outpost_proto::payload::LegacyRecord::wrap(fake, 1, &inner));
    let _op = nurse_appends(&fx, &c, &legacy, fake.into(), None);
    drop(c);
    // It is authentic (her signature), so it stays in the log, but it registers nobody: the
    // fake physician is not a member and can sign nothing.
    let doc = fx
        .profile()
        .unlock(DOCTOR, PASSPHRASE, fx.clock.clone())
        .unwrap();
    assert!(
        doc.members().unwrap().iter().all(|m| m.id != fake),
        "an import outside the import window must not register anyone"
    );
    // And verifying the log finds an operation that should have been refused but is not
    // listed as refused: the log was written to behind the app's back.
    let err = outpost_store::verify::verify_log(doc.raw_connection()).unwrap_err();
    assert!(
        matches!(err, StoreError::Corrupt(m) if m.contains("refused")),
        "{err:?}"
    );
}

#[test]
fn attack_8_a_hidden_patient_in_an_audit_entry_is_found() {
    let (fx, _) = clinic();
    let c = fx.attacker_connection();
    drop_guards(&c);
    let hidden = c
        .execute(
            "UPDATE ops SET patient = NULL WHERE rowid = (SELECT max(rowid) FROM ops WHERE patient IS NOT NULL)",
            [],
        )
        .unwrap();
    assert_eq!(hidden, 1);
    drop(c);
    let doc = fx.unlock();
    assert!(
        matches!(verify_fails(&doc), StoreError::LogBroken { reason, .. } if reason.contains("columns")),
    );
}

#[test]
fn attack_9_deleting_the_device_row_with_the_newest_operations_is_still_reported() {
    let (fx, _) = clinic();
    let c = fx.attacker_connection();
    drop_guards(&c);
    c.execute_batch(
        "DELETE FROM ops WHERE rowid IN (SELECT rowid FROM ops ORDER BY rowid DESC LIMIT 2);
         DELETE FROM local_device;
         UPDATE meta SET value = '0' WHERE key = 'anchored';",
    )
    .unwrap();
    drop(c);
    let doc = fx.unlock();
    assert!(
        matches!(doc.warnings(), [UnlockWarning::RolledBack { missing: 2 }]),
        "{:?}",
        doc.warnings()
    );
}

#[test]
fn attack_10_a_clock_set_back_along_a_devices_log_is_found() {
    let (fx, _) = clinic();
    let c = fx.attacker_connection();
    // A properly linked, validly signed event by her, dated back to 2001.
    let audit = Payload::Audit(outpost_proto::payload::AuditEvent {
        action: outpost_proto::AuditAction::ChartRead,
        patient: None,
        subject: None,
        at: None,
        detail: None,
    });
    let op = nurse_appends(
        &fx,
        &c,
        &audit,
        outpost_proto::RecordId([0; 16]),
        Some(outpost_proto::Hlc {
            wall_ms: 1_000_000_000_000,
            counter: 0,
        }),
    );
    drop(c);
    let doc = fx.unlock();
    match verify_fails(&doc) {
        StoreError::LogBroken { seq, reason, .. } => {
            assert_eq!(seq, op.header().seq);
            assert!(reason.contains("clock"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn attack_11_moving_a_draft_to_another_author_stops_it_being_signed() {
    let (fx, mut doc, _) = Fixture::new();
    fx.add_nurse(&mut doc);
    let p = doc.add_patient(&patient()).unwrap();
    let draft = doc.write_note(p.id, None, &soap("mine")).unwrap();
    doc.lock().unwrap();
    let c = fx.attacker_connection();
    let nurse_id: String = c
        .query_row("SELECT id FROM users WHERE name = ?1", [NURSE], |r| {
            r.get(0)
        })
        .unwrap();
    c.execute(
        "UPDATE notes SET author = ?1 WHERE id = ?2",
        params![nurse_id, draft.id.to_hex()],
    )
    .unwrap();
    drop(c);
    let mut doc = fx.unlock();
    let shown = doc.note(draft.id).unwrap();
    let err = doc.sign_note(draft.id, &shown.content_hash).unwrap_err();
    assert!(matches!(err, StoreError::SignatureInvalid(_)), "{err:?}");
}

#[test]
fn attack_12_a_draft_text_slipped_in_under_someone_elses_name_is_flagged() {
    let (fx, mut doc, _) = Fixture::new();
    fx.add_nurse(&mut doc);
    let p = doc.add_patient(&patient()).unwrap();
    let draft = doc.write_note(p.id, None, &soap("original")).unwrap();
    doc.lock().unwrap();
    let c = fx.attacker_connection();
    drop_guards(&c);
    // She rewrites the draft's text in place, keeping the hash the chart looks it up by.
    let op = Operation::decode(op_bytes(&c, &draft.revision.0)).unwrap();
    let Payload::NoteCreated(mut p2) = op.payload().unwrap() else {
        panic!()
    };
    p2.soap.plan = "Stop all medication".into();
    let h = *op.header();
    let ctx = OpContext {
        device: h.device,
        seq: h.seq,
        hlc: h.hlc,
        actor: h.actor,
        target: h.target,
        prev: h.prev,
    };
    let edited = Operation::sign(ctx, &Payload::NoteCreated(p2), &nurse_identity(&fx));
    c.execute(
        "UPDATE ops SET bytes = ?1 WHERE hash = ?2",
        params![edited.as_bytes(), draft.revision.0.as_slice()],
    )
    .unwrap();
    drop(c);
    let doc = fx.unlock();
    let shown = doc.note(draft.id).unwrap();
    assert!(
        matches!(&shown.signature, Signature::Invalid { .. }),
        "a draft whose text is not signed by its writer is not shown as a plain draft: {:?}",
        shown.signature
    );
}
