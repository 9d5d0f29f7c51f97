//! Backup: create, verify, restore into a fresh profile with identical content; a tampered or
//! wrongly unlocked backup fails verify and restore.

mod common;

use common::{FAST, Fixture, PASSPHRASE, TestClock};
use outpost_store::{
    Profile, StoreError,
    backup::{content_digests, restore_backup, verify_backup},
    records::{NewPatient, Soap, VitalKind},
};

fn populated() -> (Fixture, outpost_store::Store) {
    let (fx, mut store, _) = Fixture::new();
    for i in 0..10 {
        let p = store
            .add_patient(&NewPatient {
                given_name: format!("G{i}"),
                family_name: "Fam".into(),
                birth_date: "1980-05-05".into(),
                ..Default::default()
            })
            .unwrap();
        store
            .add_vital(&p.id, None, VitalKind::Weight, 60.0 + f64::from(i), None)
            .unwrap();
        let n = store
            .write_note(
                &p.id,
                None,
                &Soap {
                    subjective: format!("s{i}"),
                    ..Default::default()
                },
            )
            .unwrap();
        store.sign_note(&n.id).unwrap();
        store.add_addendum(&n.id, "late result: normal").unwrap();
        store
            .add_attachment(
                &p.id,
                None,
                "scan.pdf",
                "application/pdf",
                &vec![u8::try_from(i).unwrap(); 300_000][..],
            )
            .unwrap();
    }
    // Back up from a store opened by unlocking (not the one that created the profile): it opens
    // the database without the create flag, which the export must cope with.
    store.lock().unwrap();
    let store = fx.unlock();
    (fx, store)
}

#[test]
fn create_verify_restore_gives_identical_content() {
    let (fx, mut store) = populated();
    let file = fx.dir.path().join("clinic.outpost-backup");
    let manifest = store
        .create_backup(&file, b"backup passphrase", FAST)
        .unwrap();
    let original = content_digests(store.raw_connection()).unwrap();
    let bytes = std::fs::read(&file).unwrap();
    assert!(
        !common::contains(&bytes, b"late result"),
        "backup has plaintext"
    );

    let scratch = tempfile::tempdir().unwrap();
    assert_eq!(
        verify_backup(&file, b"backup passphrase", scratch.path()).unwrap(),
        manifest
    );
    assert_eq!(
        std::fs::read_dir(scratch.path()).unwrap().count(),
        0,
        "verify left files behind"
    );

    let target = tempfile::tempdir().unwrap();
    let dir = target.path().join("restored");
    let (mut restored, _recovery) = restore_backup(
        &file,
        b"backup passphrase",
        &dir,
        FAST,
        TestClock::at(1_800_000_000_000),
    )
    .unwrap();
    let restored_digests = content_digests(restored.raw_connection()).unwrap();
    // Every clinical table is identical; only the audit trail grew (the restore itself).
    for (a, b) in original.iter().zip(&restored_digests) {
        if a.table != "audit" {
            assert_eq!(a, b, "table {} differs after restore", a.table);
        }
    }
    let entries = restored.audit_entries(&Default::default()).unwrap();
    assert_eq!(entries[0].action, "backup_restored");
    restored.verify_audit().unwrap();
    restored.lock().unwrap();
    // The restored profile unlocks with the backup passphrase, as its creator.
    let again = Profile::open(&dir)
        .unwrap()
        .unlock(
            &manifest.created_by.name,
            b"backup passphrase",
            TestClock::at(0),
        )
        .unwrap();
    assert_eq!(again.user().id, manifest.created_by.id);
    drop(store);
    let _ = PASSPHRASE;
}

#[test]
fn tampered_or_wrongly_unlocked_backups_fail_verify_and_restore() {
    let (fx, mut store) = populated();
    let file = fx.dir.path().join("b.outpost-backup");
    store
        .create_backup(&file, b"backup passphrase", FAST)
        .unwrap();
    let scratch = tempfile::tempdir().unwrap();
    assert!(matches!(
        verify_backup(&file, b"wrong passphrase", scratch.path()),
        Err(StoreError::WrongPassphrase)
    ));

    let good = std::fs::read(&file).unwrap();
    let len = good.len();
    // Manifest, early database page, last database page, and a truncated file.
    for (what, offset) in [
        ("manifest", 130usize),
        ("database page 1", 400),
        ("database tail", len - 100),
    ] {
        let mut bad = good.clone();
        bad[offset] ^= 0x01;
        let tampered = fx.dir.path().join(format!("tampered-{offset}"));
        std::fs::write(&tampered, &bad).unwrap();
        assert!(
            verify_backup(&tampered, b"backup passphrase", scratch.path()).is_err(),
            "{what}: tampering not detected"
        );
        let dir = scratch.path().join(format!("restore-{offset}"));
        assert!(
            restore_backup(
                &tampered,
                b"backup passphrase",
                &dir,
                FAST,
                TestClock::at(0)
            )
            .is_err(),
            "{what}: restore accepted"
        );
        assert!(
            !dir.join("profile.json").exists(),
            "{what}: a failed restore left a profile"
        );
    }
    let truncated = fx.dir.path().join("truncated");
    std::fs::write(&truncated, &good[..len / 2]).unwrap();
    assert!(verify_backup(&truncated, b"backup passphrase", scratch.path()).is_err());
    assert!(matches!(
        verify_backup(&fx.dir.path().join("outpost.db"), b"x", scratch.path()),
        Err(StoreError::BadBackup("not an Outpost backup"))
    ));

    // Restoring over an existing profile is refused.
    assert!(matches!(
        restore_backup(
            &file,
            b"backup passphrase",
            fx.dir.path(),
            FAST,
            TestClock::at(0)
        ),
        Err(StoreError::ProfileExists)
    ));
    // And a backup never overwrites an existing file.
    assert!(
        store
            .create_backup(&file, b"backup passphrase", FAST)
            .is_err()
    );
}
