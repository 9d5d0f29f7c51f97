//! The operation log: the tables are projections of it (replaying it rebuilds them byte for
//! byte), the clock never goes back, draft revisions conflict instead of overwriting, apply
//! refuses what the author's role does not allow, and the log-head anchor has a fixed format.

mod common;

use common::{Fixture, NURSE, NURSE_PASSPHRASE, patient, soap};
use outpost_crypto::DeviceIdentity;
use outpost_proto::{OpContext, OpHash, Operation, Payload, payload::NoteSigned};
use outpost_store::{
    StoreError,
    anchor::Anchor,
    backup::content_digests,
    records::{EncounterKind, Signature, VitalKind},
    verify,
};
use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};

const PROJECTIONS: &[&str] = &[
    "users",
    "devices",
    "patients",
    "patient_field_heads",
    "patient_field_replaced",
    "encounters",
    "notes",
    "note_revisions",
    "note_revision_bases",
    "addenda",
    "vitals",
    "attachments",
];

#[test]
fn dropping_every_projection_and_replaying_the_log_gives_identical_results() {
    let (fx, mut doc, _) = Fixture::new();
    fx.add_nurse(&mut doc);
    let p = doc.add_patient(&patient()).unwrap();
    let e = doc.add_encounter(p.id, EncounterKind::InPerson).unwrap();
    let n = doc.write_note(p.id, Some(e.id), &soap("a")).unwrap();
    let n = doc.update_draft(n.id, &[n.revision], &soap("b")).unwrap();
    // A stale save: both texts stay (a conflict).
    assert!(doc.update_draft(n.id, &[n.revision], &soap("c")).is_ok());
    let stale = doc.update_draft(n.id, &[n.revision], &soap("d"));
    assert!(matches!(stale, Err(StoreError::Conflict { .. })));
    let n2 = doc.write_note(p.id, None, &soap("signed")).unwrap();
    doc.sign_note(n2.id, &n2.content_hash).unwrap();
    doc.add_addendum(n2.id, "late").unwrap();
    for i in 0..20 {
        fx.clock.advance(60_000);
        doc.add_vital(p.id, None, VitalKind::Pulse, 60.0 + f64::from(i), None)
            .unwrap();
    }
    doc.add_attachment(
        p.id,
        None,
        "x.txt",
        "text/plain",
        std::io::Cursor::new(b"abc"),
    )
    .unwrap();
    doc.finish_encounter(e.id).unwrap();
    let chart_before = doc.chart(p.id).unwrap();
    let digests_before = content_digests(doc.raw_connection(), PROJECTIONS).unwrap();

    let c = doc.raw_connection();
    c.execute_batch("BEGIN IMMEDIATE").unwrap();
    for table in PROJECTIONS {
        c.execute(&format!("DELETE FROM {table}"), []).unwrap();
    }
    assert_eq!(
        c.query_row("SELECT count(*) FROM notes", [], |r| r.get::<_, i64>(0))
            .unwrap(),
        0
    );
    let replayed = verify::rebuild_projections(c).unwrap();
    c.execute_batch("COMMIT").unwrap();
    assert!(replayed > 30, "{replayed} operations");

    assert_eq!(
        content_digests(doc.raw_connection(), PROJECTIONS).unwrap(),
        digests_before
    );
    let chart_after = doc.chart(p.id).unwrap();
    assert_eq!(chart_after, chart_before);
    assert_eq!(
        chart_after
            .notes
            .iter()
            .map(|n| n.conflicts.len())
            .sum::<usize>(),
        1
    );
}

#[test]
fn a_stale_draft_save_is_a_conflict_that_keeps_both_texts_until_merged() {
    let (_fx, mut doc, _) = Fixture::new();
    let p = doc.add_patient(&patient()).unwrap();
    let first = doc.write_note(p.id, None, &soap("start")).unwrap();
    // The desktop and the command line both start from the same revision.
    let desktop = doc
        .update_draft(first.id, &[first.revision], &soap("desktop text"))
        .unwrap();
    let cli = doc.update_draft(first.id, &[first.revision], &soap("cli text"));
    assert!(matches!(cli, Err(StoreError::Conflict { .. })), "{cli:?}");
    let note = doc.note(first.id).unwrap();
    let texts: Vec<&str> = std::iter::once(&note.soap)
        .chain(note.conflicts.iter().map(|c| &c.soap))
        .map(|s| s.subjective.as_str())
        .collect();
    assert_eq!(texts.len(), 2);
    assert!(texts.contains(&"Cough for 3 days desktop text"));
    assert!(texts.contains(&"Cough for 3 days cli text"));
    // It cannot be signed while it has two texts.
    assert!(matches!(
        doc.sign_note(first.id, &note.content_hash),
        Err(StoreError::Conflict { .. })
    ));
    // A save naming both revisions merges them.
    let all: Vec<OpHash> = std::iter::once(note.revision)
        .chain(note.conflicts.iter().map(|c| c.revision))
        .collect();
    let merged = doc.update_draft(first.id, &all, &soap("merged")).unwrap();
    assert!(merged.conflicts.is_empty());
    assert_ne!(merged.revision, desktop.revision);
    doc.sign_note(first.id, &merged.content_hash).unwrap();
}

#[test]
fn signing_binds_the_text_the_physician_saw() {
    let (fx, mut doc, _) = Fixture::new();
    fx.add_nurse(&mut doc);
    let p = doc.add_patient(&patient()).unwrap();
    let seen = doc.write_note(p.id, None, &soap("what I read")).unwrap();
    doc.lock().unwrap();
    // Meanwhile the nurse changes the draft.
    let mut nurse = fx.unlock_as(NURSE, NURSE_PASSPHRASE);
    nurse
        .update_draft(seen.id, &[seen.revision], &soap("changed after"))
        .unwrap();
    nurse.lock().unwrap();
    let mut doc = fx.unlock();
    let refused = doc.sign_note(seen.id, &seen.content_hash).unwrap_err();
    assert!(
        matches!(refused, StoreError::Conflict { .. }),
        "{refused:?}"
    );
    let current = doc.note(seen.id).unwrap();
    assert_eq!(current.signature, Signature::Unsigned);
    let signed = doc.sign_note(seen.id, &current.content_hash).unwrap();
    assert_eq!(signed.soap.subjective, "Cough for 3 days changed after");
    assert!(matches!(signed.signature, Signature::Valid { .. }));
    // A content hash is not a guessable value: garbage is refused the same way.
    let other = doc.write_note(p.id, None, &soap("x")).unwrap();
    assert!(matches!(
        doc.sign_note(other.id, "00"),
        Err(StoreError::Conflict { .. })
    ));
}

#[test]
fn the_clock_never_goes_back_across_restarts_and_wall_clock_changes() {
    let (fx, mut doc, _) = Fixture::new();
    let p = doc.add_patient(&patient()).unwrap();
    doc.add_vital(p.id, None, VitalKind::Pulse, 70.0, None)
        .unwrap();
    doc.lock().unwrap();
    // The laptop's clock is set back a day.
    fx.clock.advance(-86_400_000);
    let mut doc = fx.unlock();
    doc.add_vital(p.id, None, VitalKind::Pulse, 71.0, None)
        .unwrap();
    let clocks: Vec<(i64, i64)> = {
        let mut stmt = doc
            .raw_connection()
            .prepare("SELECT hlc_wall, hlc_counter FROM ops ORDER BY rowid")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    assert!(clocks.len() > 8);
    assert!(
        clocks.windows(2).all(|w| w[0] < w[1]),
        "clock values must strictly increase in write order: {clocks:?}"
    );
}

/// What a modified client of the nurse's makes: a note signature, signed with her real key
/// and linked properly as the next operation (`ahead` more) of `device`'s log.
fn nurse_signs(
    fx: &Fixture,
    conn: &rusqlite::Connection,
    device: outpost_proto::DeviceId,
    draft: &outpost_store::records::Note,
    ahead: u64,
) -> Operation {
    let nurse: outpost_store::UserId = conn
        .query_row("SELECT id FROM users WHERE name = ?1", [NURSE], |r| {
            r.get::<_, String>(0)
        })
        .unwrap()
        .parse()
        .unwrap();
    let (seq, prev, wall): (i64, Vec<u8>, i64) = conn
        .query_row(
            "SELECT seq, hash, hlc_wall FROM ops WHERE device = ?1 ORDER BY seq DESC LIMIT 1",
            [device.to_hex()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    let ctx = OpContext {
        device,
        seq: u64::try_from(seq).unwrap() + 1 + ahead,
        hlc: outpost_proto::Hlc {
            wall_ms: u64::try_from(wall).unwrap() + 1,
            counter: 0,
        },
        actor: nurse,
        target: draft.id.into(),
        prev: OpHash(prev.try_into().unwrap()),
    };
    let payload = Payload::NoteSigned(NoteSigned {
        patient: draft.patient_id,
        encounter: None,
        author: draft.author,
        revision: draft.revision,
        soap: draft.soap.clone(),
    });
    let identity = nurse_identity(fx);
    let op = Operation::sign(ctx, &payload, &identity);
    op.verify(identity.public().signing_key()).unwrap();
    op
}

/// A modified client of the nurse's signs a note signature with her real key and links it
/// properly into this device's log, bypassing the check where it is made.
#[test]
fn apply_and_verification_refuse_an_operation_the_authors_role_does_not_allow() {
    let (fx, mut doc, _) = Fixture::new();
    fx.add_nurse(&mut doc);
    let patient = doc.add_patient(&patient()).unwrap();
    let draft = doc.write_note(patient.id, None, &soap("x")).unwrap();
    doc.lock().unwrap();
    let nurse = fx.unlock_as(NURSE, NURSE_PASSPHRASE);
    let device = nurse.device_id();
    nurse.lock().unwrap();
    let conn = fx.attacker_connection();
    let op = nurse_signs(&fx, &conn, device, &draft, 0);
    let h = *op.header();
    conn.execute(
        "INSERT INTO ops (device, seq, hlc_wall, hlc_counter, actor, kind, target, patient, hash, bytes)
         VALUES (?1, ?2, ?3, 0, ?4, ?5, ?6, ?7, ?8, ?9)",
        rusqlite::params![
            device.to_hex(),
            i64::try_from(h.seq).unwrap(),
            i64::try_from(h.hlc.wall_ms).unwrap(),
            h.actor.to_hex(),
            i64::from(outpost_proto::OpKind::NOTE_SIGNED.0),
            draft.id.to_hex(),
            draft.patient_id.to_hex(),
            op.hash().0.as_slice(),
            op.as_bytes()
        ],
    )
    .unwrap();
    // It is authentic (her key, properly linked), so it stays in the log; but replaying the
    // log through apply refuses it: the note stays a draft, and the refusal is listed.
    conn.execute_batch("SAVEPOINT s").unwrap();
    verify::rebuild_projections(&conn).unwrap();
    let signed: Option<Vec<u8>> = conn
        .query_row(
            "SELECT signed_op FROM notes WHERE id = ?1",
            [draft.id.to_hex()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(signed, None, "a nurse's signature must not sign the note");
    let reason: String = conn
        .query_row(
            "SELECT reason FROM refused WHERE device = ?1 AND seq = ?2",
            rusqlite::params![device.to_hex(), i64::try_from(h.seq).unwrap()],
            |r| r.get(0),
        )
        .unwrap();
    assert!(reason.contains("role"), "{reason}");
    conn.execute_batch("ROLLBACK TO s").unwrap();
    // Written behind the app's back, it is not in the list of refused operations: verifying
    // the log says the tables differ from what the log gives.
    match verify::verify_log(&conn).unwrap_err() {
        StoreError::Corrupt(m) => assert!(m.contains("refused"), "{m}"),
        other => panic!("{other:?}"),
    }
}

fn nurse_identity(fx: &Fixture) -> DeviceIdentity {
    let file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fx.dir().join("profile.json")).unwrap()).unwrap();
    let entry = file["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == NURSE)
        .unwrap();
    let keys = outpost_crypto::PassphraseRecord::decode(&common::unhex(
        entry["passphrase"].as_str().unwrap(),
    ))
    .unwrap()
    .unlock(NURSE_PASSPHRASE)
    .unwrap();
    DeviceIdentity::unwrap(
        &keys.key_encryption_key,
        &common::unhex(entry["identity"].as_str().unwrap()),
    )
    .unwrap()
}

#[test]
fn known_answer_log_anchor() {
    let device = DeviceIdentity::generate(&mut ChaCha20Rng::from_seed([5; 32]));
    let anchor = Anchor {
        profile_id: [0x11; 16],
        device: device.device_id(),
        seq: 42,
        hash: OpHash([0x22; 32]),
        written_at: 1_764_000_000_000,
    };
    let bytes = anchor.sign(&device);
    assert_eq!(bytes.len(), 158);
    assert_eq!(&bytes[..14], b"OUTPOST-HEAD\n\x01");
    assert_eq!(&bytes[14..30], &[0x11; 16]);
    assert_eq!(&bytes[30..46], &device.device_id().0);
    assert_eq!(&bytes[46..54], &42u64.to_be_bytes());
    assert_eq!(&bytes[54..86], &[0x22; 32]);
    assert_eq!(&bytes[86..94], &1_764_000_000_000i64.to_be_bytes());
    // The signature is over the documented input, checked with the primitive directly.
    let input = [b"outpost/v1/log-anchor".as_slice(), &bytes[..94]].concat();
    assert_eq!(anchor.signing_input(), input);
    outpost_crypto::primitives::ed25519_verify(device.public().signing_key(), &input, &bytes[94..])
        .unwrap();
    assert_eq!(Anchor::open(&bytes, &device.public()), Some(anchor));
    // Another device's key, or any flipped byte, is not this device's anchor.
    let other = DeviceIdentity::generate(&mut ChaCha20Rng::from_seed([6; 32]));
    assert_eq!(Anchor::open(&bytes, &other.public()), None);
    for i in 0..bytes.len() {
        let mut bad = bytes.clone();
        bad[i] ^= 0x01;
        assert_eq!(Anchor::open(&bad, &device.public()), None, "byte {i}");
    }
    assert_eq!(common::hex(&bytes), KAT_ANCHOR);
}

const KAT_ANCHOR: &str = "4f5554504f53542d484541440a0111111111111111111111111111111111418e7fcb45831d884d25f5bf4ae03eeb000000000000002a22222222222222222222222222222222222222222222222222222222222222220000019ab697e8001c86154c3acdd1ca92e42bc51fbfaa4ae22ba50f92c6a1f9187f484c84095abf04fc79dd63f01230d4505de74c482a7f4a477af7da91457a463946dc7ebd8b05";

#[test]
fn receiving_is_idempotent_and_quarantines_what_does_not_hold() {
    use outpost_store::receive::Received;
    let (fx, mut doc, _) = Fixture::new();
    fx.add_nurse(&mut doc);
    let p = doc.add_patient(&patient()).unwrap();
    let draft = doc.write_note(p.id, None, &soap("x")).unwrap();
    // Every operation already here, offered again: nothing changes.
    let all: Vec<Vec<u8>> = {
        let mut stmt = doc
            .raw_connection()
            .prepare("SELECT bytes FROM ops ORDER BY rowid")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let before = content_digests(doc.raw_connection(), PROJECTIONS).unwrap();
    for bytes in &all {
        assert_eq!(doc.receive_operation(bytes).unwrap(), Received::Duplicate);
    }
    assert_eq!(
        content_digests(doc.raw_connection(), PROJECTIONS).unwrap(),
        before
    );

    // The same place in the log with other content: an equivocation, set aside.
    let mut other = all.last().unwrap().clone();
    let n = other.len();
    other[n - 70] ^= 1;
    assert!(matches!(
        doc.receive_operation(&other).unwrap(),
        Received::Quarantined { .. }
    ));

    // The nurse's modified client signs a note signature (her real key, linked properly).
    let device = doc.device_id();
    let forged = nurse_signs(&fx, doc.raw_connection(), device, &draft, 0);
    let seq = i64::try_from(forged.header().seq).unwrap() - 1;
    let outcome = doc.receive_operation(forged.as_bytes()).unwrap();
    assert!(
        matches!(outcome, Received::Refused { reason } if reason.contains("role")),
        "{outcome:?}"
    );
    assert_eq!(doc.note(draft.id).unwrap().signature, Signature::Unsigned);
    // Kept in the log (so the device's later operations still link) and listed as refused.
    let refused = doc.refused().unwrap();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].1, seq + 1);
    assert!(refused[0].2.contains("role"), "{refused:?}");
    let q = doc.quarantined().unwrap();
    assert_eq!(q.len(), 1, "only the equivocation is set aside: {q:?}");
    // A later operation of a device whose earlier ones are missing is a gap, not applied.
    let gap = nurse_signs(&fx, doc.raw_connection(), device, &draft, 5);
    assert_eq!(
        doc.receive_operation(gap.as_bytes()).unwrap(),
        Received::Gap {
            expected: u64::try_from(seq).unwrap() + 2
        }
    );
    // The log, refusal included, verifies: every device judges it the same way.
    doc.verify_audit().unwrap();
}
