//! Removing a user for good, tested as the removed nurse would attack it: with a copy of
//! `profile.json` taken while she was a member and her own passphrase, she opens nothing once
//! she is removed, and neither do old passphrases nor the old recovery key; everyone who
//! remains unlocks as before and every record is still there.

mod common;

use common::{DOCTOR, FAST, Fixture, NURSE, NURSE_PASSPHRASE, PASSPHRASE, patient};
use outpost_store::{Role, StoreError, audit::AuditFilter, db};

const ADMIN: &str = "Admin Kwame";
const ADMIN_PASSPHRASE: &[u8] = b"admin passphrase kwame 1";

/// A physician's profile (unlocked) with Nurse Esi and an admin added.
fn clinic_of_three() -> (
    Fixture,
    outpost_store::Store,
    outpost_store::User,
    outpost_store::User,
) {
    let (fx, mut doc, _) = Fixture::new();
    let nurse = fx.add_nurse(&mut doc);
    let admin = fx
        .profile()
        .add_user(&mut doc, ADMIN, Role::Admin, ADMIN_PASSPHRASE, FAST)
        .unwrap();
    (fx, doc, nurse, admin)
}

fn opens(dir: &std::path::Path, key: &[u8; 32]) -> bool {
    db::open(&dir.join("outpost.db"), key, db::OpenMode::Existing).is_ok()
}

#[test]
#[allow(clippy::too_many_lines)] // one scenario, read top to bottom
fn a_removed_nurse_with_an_old_profile_file_and_her_passphrase_opens_nothing() {
    let (fx, mut doc, old_recovery) = Fixture::new();
    let nurse = fx.add_nurse(&mut doc);
    fx.profile()
        .add_user(&mut doc, ADMIN, Role::Admin, ADMIN_PASSPHRASE, FAST)
        .unwrap();
    let p = doc.add_patient(&patient()).unwrap();
    let note = doc.write_note(p.id, None, &common::soap("before")).unwrap();
    doc.sign_note(note.id, &note.content_hash).unwrap();
    // What she copies to a USB stick while still a member.
    let stolen = fx.root.path().join("stolen");
    std::fs::create_dir_all(&stolen).unwrap();
    std::fs::copy(fx.dir().join("profile.json"), stolen.join("profile.json")).unwrap();
    let her_old_key = common::database_key(&stolen, NURSE, NURSE_PASSPHRASE);
    let doctors_old_key = common::database_key(&stolen, DOCTOR, PASSPHRASE);
    assert!(
        opens(&fx.dir(), &her_old_key),
        "the copy works before removal"
    );
    // A copy kept before a schema upgrade, under the old key.
    std::fs::copy(
        fx.dir().join("outpost.db"),
        db::snapshot_path(&fx.dir().join("outpost.db"), 4),
    )
    .unwrap();

    let new_recovery = fx
        .profile()
        .remove_user(&mut doc, nurse.id, PASSPHRASE)
        .unwrap();
    // The session that removed her goes on working under the new key.
    doc.add_vital(
        p.id,
        None,
        outpost_store::records::VitalKind::Pulse,
        72.0,
        None,
    )
    .unwrap();
    doc.lock().unwrap();

    assert!(
        !opens(&fx.dir(), &her_old_key),
        "her old wrap opens the database"
    );
    assert!(
        !opens(&fx.dir(), &doctors_old_key),
        "an old wrap opens the database"
    );
    assert!(
        !db::snapshot_path(&fx.dir().join("outpost.db"), 4).exists(),
        "a copy under the old key was left behind"
    );
    let wal = std::fs::metadata(fx.dir().join("outpost.db-wal")).map_or(0, |m| m.len());
    assert_eq!(wal, 0, "the write-ahead log kept pages under the old key");
    let file = std::fs::read_to_string(fx.dir().join("profile.json")).unwrap();
    assert!(!file.contains(&nurse.id.to_hex()), "her entry was kept");
    assert!(matches!(
        fx.profile()
            .unlock(NURSE, NURSE_PASSPHRASE, fx.clock.clone()),
        Err(StoreError::UnknownUser)
    ));
    assert!(matches!(
        fx.profile()
            .unlock_with_recovery(&old_recovery.display(), "old key", fx.clock.clone()),
        Err(StoreError::WrongRecoveryKey)
    ));

    // Everyone else unlocks with the passphrase they had; records and signatures intact.
    let admin = fx.unlock_as(ADMIN, ADMIN_PASSPHRASE);
    assert!(
        admin.warnings().is_empty(),
        "a re-key is not a rollback nor tampering: {:?}",
        admin.warnings()
    );
    assert_eq!(admin.search_patients("Mensah").unwrap().len(), 1);
    admin.lock().unwrap();
    let mut doc = fx.unlock();
    let chart = doc.chart(p.id).unwrap();
    assert!(matches!(
        chart.notes[0].signature,
        outpost_store::records::Signature::Valid { .. }
    ));
    assert_eq!(chart.vitals.len(), 1);
    doc.verify_audit().unwrap();
    let actions: Vec<String> = doc
        .audit_entries(&AuditFilter::default())
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(
        actions.iter().any(|a| a == "database_rekeyed"),
        "{actions:?}"
    );
    doc.lock().unwrap();
    // After their first unlock each holds an ordinary wrap again: nothing sealed is left.
    let file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fx.dir().join("profile.json")).unwrap()).unwrap();
    assert!(
        file["users"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u.get("sealed").is_none()),
        "{file}"
    );
    // And the new recovery key opens it, as the emergency user.
    let emergency = fx
        .profile()
        .unlock_with_recovery(&new_recovery.display(), "new key", fx.clock.clone())
        .unwrap();
    assert_eq!(emergency.user().role, Role::Emergency);
    // The admin's ordinary wrap was made again at their first unlock: it opens the database
    // under the new key by itself, with no sealed key needed.
    drop(emergency);
    let admin_key = common::database_key(&fx.dir(), ADMIN, ADMIN_PASSPHRASE);
    assert!(
        opens(&fx.dir(), &admin_key),
        "the admin's wrap still holds the old key"
    );
}

#[test]
fn only_an_admin_or_physician_removes_and_never_themselves_or_while_open_elsewhere() {
    let (fx, mut doc, nurse, admin) = clinic_of_three();
    let me = doc.user().id;
    assert!(matches!(
        fx.profile().remove_user(&mut doc, me, PASSPHRASE),
        Err(StoreError::Invalid { .. })
    ));
    doc.lock().unwrap();
    let mut as_nurse = fx.unlock_as(NURSE, NURSE_PASSPHRASE);
    assert!(matches!(
        fx.profile()
            .remove_user(&mut as_nurse, admin.id, NURSE_PASSPHRASE),
        Err(StoreError::NotPermitted { .. })
    ));
    // The nurse's session is still open (the app on the same laptop): the removal waits for
    // it, with nothing changed.
    let mut doc = fx.unlock();
    let before = std::fs::read(fx.dir().join("profile.json")).unwrap();
    // A session left open is not enough: the passphrase is asked again, and a wrong one
    // changes nothing.
    assert!(matches!(
        fx.profile()
            .remove_user(&mut doc, nurse.id, b"not the passphrase"),
        Err(StoreError::WrongPassphrase)
    ));
    assert!(matches!(
        fx.profile().remove_user(&mut doc, nurse.id, PASSPHRASE),
        Err(StoreError::InUseElsewhere)
    ));
    assert_eq!(
        std::fs::read(fx.dir().join("profile.json")).unwrap(),
        before
    );
    // The refused attempt did not drop the doctor's own hold on the profile: an upgrade from
    // elsewhere is still kept out while the doctor's session is open.
    let outsider = std::fs::OpenOptions::new()
        .write(true)
        .open(fx.dir().join(db::IN_USE_FILE))
        .unwrap();
    as_nurse.lock().unwrap();
    assert!(
        matches!(outsider.try_lock(), Err(std::fs::TryLockError::WouldBlock)),
        "the doctor's session lost its shared lock"
    );
    drop(outsider);
    assert!(
        doc.members().unwrap().iter().all(|m| !m.removed),
        "the refused removal left no trace in the log"
    );
    fx.profile()
        .remove_user(&mut doc, nurse.id, PASSPHRASE)
        .unwrap();
    assert!(
        doc.members()
            .unwrap()
            .iter()
            .any(|m| m.id == nurse.id && m.removed)
    );
}

/// Two removals in a row, with nobody unlocking in between: each remaining user then holds two
/// sealed keys and the newest opens the database (an interrupted second re-key would leave the
/// first one to open it).
#[test]
fn two_removals_in_a_row_leave_everyone_able_to_unlock() {
    let (fx, mut doc, nurse, admin) = clinic_of_three();
    let third = fx
        .profile()
        .add_user(
            &mut doc,
            "Nurse Two",
            Role::Nurse,
            b"second nurse passphrase",
            FAST,
        )
        .unwrap();
    fx.profile()
        .remove_user(&mut doc, nurse.id, PASSPHRASE)
        .unwrap();
    fx.profile()
        .remove_user(&mut doc, third.id, PASSPHRASE)
        .unwrap();
    doc.lock().unwrap();
    let file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fx.dir().join("profile.json")).unwrap()).unwrap();
    let admin_entry = file["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == admin.id.to_hex())
        .unwrap();
    assert_eq!(admin_entry["sealed"].as_array().unwrap().len(), 2);
    fx.unlock_as(ADMIN, ADMIN_PASSPHRASE).lock().unwrap();
    fx.unlock().lock().unwrap();
}

/// A nurse who can open the database seals its key to the doctor herself and plants it in the
/// doctor's entry: a key sealed by someone who may not re-key the profile is refused.
#[test]
fn a_key_sealed_by_someone_who_may_not_rekey_is_refused() {
    use outpost_crypto::{ContentType, GroupId, SealedEnvelope};
    let (fx, mut doc, _) = Fixture::new();
    fx.add_nurse(&mut doc);
    doc.lock().unwrap();
    let nurse = common::identity_of(&fx.dir(), NURSE, NURSE_PASSPHRASE);
    let doctor = common::identity_of(&fx.dir(), DOCTOR, PASSPHRASE).public();
    let key = common::database_key(&fx.dir(), NURSE, NURSE_PASSPHRASE);
    let mut file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fx.dir().join("profile.json")).unwrap()).unwrap();
    let profile_id: [u8; 16] = common::unhex(file["profile_id"].as_str().unwrap())
        .try_into()
        .unwrap();
    let envelope = SealedEnvelope::seal_direct(
        &nurse,
        &doctor,
        GroupId(profile_id),
        0,
        ContentType::DATABASE_KEY,
        &key,
        &mut rand_core::OsRng,
    )
    .unwrap();
    for user in file["users"].as_array_mut().unwrap() {
        if user["name"] == DOCTOR {
            user["sealed"] = serde_json::json!([{
                "envelope": common::hex(&envelope.encode()),
                "by": common::hex(&nurse.public().to_bytes()),
            }]);
        }
    }
    for name in ["profile.json", "profile.copy.json"] {
        std::fs::write(fx.dir().join(name), serde_json::to_vec(&file).unwrap()).unwrap();
    }
    let err = fx
        .profile()
        .unlock(DOCTOR, PASSPHRASE, fx.clock.clone())
        .unwrap_err();
    assert!(err.to_string().contains("may not issue"), "{err}");
}
