//! Encryption at rest and failing closed: markers never on disk in the clear, wrong keys and
//! damaged files give typed errors and leave every byte as it was.

mod common;

use common::{Fixture, PASSPHRASE, TestClock, contains};
use outpost_store::{Profile, StoreError, db, records::NewPatient, records::Soap};

#[test]
fn nothing_written_appears_in_the_clear_on_disk() {
    let (fx, mut store, _) = Fixture::new();
    let marker = "MARKER-7f3c9a-unique-to-this-note";
    let p = store
        .add_patient(&NewPatient {
            given_name: "Zanele".into(),
            family_name: "Dube".into(),
            birth_date: "1990-01-01".into(),
            ..Default::default()
        })
        .unwrap();
    store
        .write_note(
            p.id,
            None,
            &Soap {
                subjective: marker.into(),
                objective: String::new(),
                assessment: String::new(),
                plan: String::new(),
            },
        )
        .unwrap();
    let photo_marker = b"PHOTO-BYTES-51e2-never-in-the-clear".repeat(2000);
    store
        .add_attachment(
            p.id,
            None,
            "wound.png",
            "image/png",
            std::io::Cursor::new(&photo_marker),
        )
        .unwrap();
    // Check both with the WAL still holding pages and after a checkpoint on lock.
    for phase in ["open", "locked"] {
        let files = fx.files();
        assert!(
            files.iter().any(|(name, _)| name == "outpost.db"),
            "{phase}: no database file"
        );
        for (name, bytes) in &files {
            assert!(
                !contains(bytes, marker.as_bytes()),
                "{phase}: note marker in clear in {name}"
            );
            assert!(
                !contains(bytes, b"PHOTO-BYTES-51e2"),
                "{phase}: attachment bytes in clear in {name}"
            );
            assert!(
                !contains(bytes, b"Zanele"),
                "{phase}: patient name in clear in {name}"
            );
            assert!(
                !bytes.starts_with(b"SQLite format 3"),
                "{phase}: {name} is a plain SQLite file"
            );
        }
        if phase == "open" {
            store.lock().unwrap();
            store = fx.unlock();
        }
    }
}

#[test]
fn a_wrong_passphrase_is_typed_and_changes_no_byte() {
    let (fx, store, _) = Fixture::new();
    store.lock().unwrap();
    let before: Vec<_> = fx
        .files()
        .into_iter()
        .filter(|(n, _)| n != "unlock-failures.json")
        .collect();
    let profile = fx.profile();
    let err = profile
        .unlock("Dr. Amina Okafor", b"not the passphrase", fx.clock.clone())
        .unwrap_err();
    assert!(matches!(err, StoreError::WrongPassphrase), "{err:?}");
    assert_eq!(err.to_string(), "wrong passphrase");
    let after: Vec<_> = fx
        .files()
        .into_iter()
        .filter(|(n, _)| n != "unlock-failures.json")
        .collect();
    assert_eq!(before, after, "a failed unlock changed a file");
}

#[test]
fn a_wrong_key_or_a_foreign_file_is_not_a_database_and_is_left_alone() {
    let (fx, store, _) = Fixture::new();
    store.lock().unwrap();
    let path = &fx.dir().join("outpost.db");
    let before = std::fs::read(path).unwrap();
    let err = db::open(path, &[0x42; 32], db::OpenMode::Existing).unwrap_err();
    assert!(matches!(err, StoreError::NotADatabase), "{err:?}");
    assert_eq!(std::fs::read(path).unwrap(), before);

    let foreign = &fx.dir().join("holiday.jpg");
    std::fs::write(
        foreign,
        b"\xff\xd8\xff\xe0 not a database at all, just a photo",
    )
    .unwrap();
    let foreign_before = std::fs::read(foreign).unwrap();
    assert!(matches!(
        db::open(foreign, &[1; 32], db::OpenMode::Existing),
        Err(StoreError::NotADatabase)
    ));
    assert_eq!(std::fs::read(foreign).unwrap(), foreign_before);

    // A missing database is an error, never a silently created empty one.
    std::fs::rename(path, fx.dir().join("moved.db")).unwrap();
    let err = fx
        .profile()
        .unlock("Dr. Amina Okafor", PASSPHRASE, fx.clock.clone())
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::ProfileFile {
                file: "outpost.db",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!path.exists());
}

#[test]
fn a_corrupted_page_is_reported_and_the_file_is_not_rewritten() {
    let (fx, mut store, _) = Fixture::new();
    let p = store
        .add_patient(&NewPatient {
            given_name: "A".into(),
            family_name: "B".into(),
            birth_date: "2000-02-02".into(),
            ..Default::default()
        })
        .unwrap();
    for i in 0..200 {
        store
            .add_vital(
                p.id,
                None,
                outpost_store::records::VitalKind::Pulse,
                f64::from(60 + i % 40),
                None,
            )
            .unwrap();
    }
    store.lock().unwrap();
    let path = &fx.dir().join("outpost.db");
    let mut bytes = std::fs::read(path).unwrap();
    assert!(bytes.len() > 3 * 4096);
    for b in &mut bytes[2 * 4096 + 100..2 * 4096 + 200] {
        *b ^= 0x5a;
    }
    std::fs::write(path, &bytes).unwrap();
    let result = fx
        .profile()
        .unlock("Dr. Amina Okafor", PASSPHRASE, fx.clock.clone())
        .and_then(|mut s| {
            s.integrity_check()?;
            s.chart(p.id).map(|_| ())
        });
    assert!(result.is_err(), "a damaged page went unnoticed");
    assert_eq!(std::fs::read(path).unwrap()[..2 * 4096], bytes[..2 * 4096]);
}

#[test]
fn profiles_are_never_overwritten() {
    let (fx, _store, _) = Fixture::new();
    let err = Profile::create_in(
        &fx.dir(),
        "Someone Else",
        outpost_store::Role::Admin,
        PASSPHRASE,
        common::FAST,
        TestClock::at(0),
        Some(fx.anchors()),
    )
    .unwrap_err();
    assert!(matches!(err, StoreError::ProfileExists));
    let empty = tempfile::tempdir().unwrap();
    assert!(matches!(
        Profile::open(empty.path()),
        Err(StoreError::NoProfile)
    ));
}

#[test]
fn recovery_key_unlocks_and_is_loudly_audited_and_failures_back_off() {
    let (fx, store, recovery) = Fixture::new();
    store.lock().unwrap();
    let shown = recovery.display();
    assert_eq!(shown.replace('-', "").len(), 52);
    let profile = fx.profile();

    // Three free attempts, then exponential back-off that survives a restart.
    for _ in 0..3 {
        assert!(matches!(
            profile.unlock("Dr. Amina Okafor", b"guess guess", fx.clock.clone()),
            Err(StoreError::WrongPassphrase)
        ));
    }
    let again = fx.profile();
    assert!(matches!(
        again.unlock("Dr. Amina Okafor", PASSPHRASE, fx.clock.clone()),
        Err(StoreError::RateLimited {
            retry_after_secs: 1
        })
    ));
    fx.clock.advance(1_000);
    assert!(matches!(
        again.unlock_with_recovery("0000-0000", "lost passphrase", fx.clock.clone()),
        Err(StoreError::WrongRecoveryKey)
    ));
    assert!(matches!(
        again.unlock_with_recovery(&shown, "lost passphrase", fx.clock.clone()),
        Err(StoreError::RateLimited {
            retry_after_secs: 2
        })
    ));
    fx.clock.advance(2_000);

    // A reason is required, and recorded.
    assert!(matches!(
        again.unlock_with_recovery(&shown, "  ", fx.clock.clone()),
        Err(StoreError::Invalid {
            field: "reason",
            ..
        })
    ));
    let store = again
        .unlock_with_recovery(
            &shown.to_lowercase(),
            "Dr. Okafor away, chart needed",
            fx.clock.clone(),
        )
        .unwrap();
    // Emergency access is its own actor, never a care-team member.
    assert_eq!(store.user().role, outpost_store::Role::Emergency);
    assert_eq!(
        store.user().name,
        outpost_store::profile::EMERGENCY_USER_NAME
    );
    let entries = store.audit_entries(&Default::default()).unwrap();
    assert_eq!(entries[0].action, "emergency_access");
    assert_eq!(entries[0].actor, Some(store.user().id));
    assert_eq!(
        entries[0].detail.as_deref(),
        Some("Dr. Okafor away, chart needed")
    );
    assert_eq!(
        entries
            .iter()
            .filter(|e| e.action == "unlock_failed")
            .count(),
        4
    );
    drop(store);
    // Success cleared the back-off.
    assert_eq!(
        Profile::open(&fx.dir()).unwrap().backoff_secs(i64::MAX / 2),
        0
    );
}
