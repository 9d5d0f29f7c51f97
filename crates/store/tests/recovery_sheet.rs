//! The recovery sheet printed beside the recovery key: with `profile.json` and its copy
//! deleted or damaged, the key and the sheet together still open the database (as the
//! emergency user, who can read every chart and make a backup); neither opens it alone, and a
//! sheet of another profile or a rotated key is refused.

mod common;

use common::{FAST, Fixture, patient};
use outpost_store::{Profile, RecoverySheet, StoreError};

fn from_sheet(fx: &Fixture, text: &str) -> Result<Profile, StoreError> {
    Ok(
        Profile::from_recovery_sheet(&fx.dir(), &RecoverySheet::parse(text)?)?
            .with_anchor_dir(Some(fx.anchors())),
    )
}

#[test]
fn the_key_and_the_sheet_open_the_database_after_profile_json_is_lost() {
    for damage in ["deleted", "garbage"] {
        let (fx, mut store, recovery) = Fixture::new();
        let p = store.add_patient(&patient()).unwrap();
        let sheet = fx.profile().recovery_sheet().text().unwrap();
        store.lock().unwrap();
        for name in ["profile.json", "profile.copy.json"] {
            let path = fx.dir().join(name);
            match damage {
                "deleted" => std::fs::remove_file(&path).unwrap(),
                _ => std::fs::write(&path, b"\x00\x17 not json").unwrap(),
            }
        }
        assert!(
            Profile::open(&fx.dir()).is_err(),
            "{damage}: the file is really gone"
        );

        let mut emergency = from_sheet(&fx, &sheet)
            .unwrap()
            .unlock_with_recovery(&recovery.display(), "profile file lost", fx.clock.clone())
            .unwrap();
        assert_eq!(emergency.search_patients("Mensah").unwrap()[0].id, p.id);
        assert_eq!(emergency.chart(p.id).unwrap().patient.id, p.id);
        let backup = fx.root.path().join(format!("rescue-{damage}.outpost"));
        emergency
            .create_backup(&backup, b"rescue backup passphrase 2026", FAST)
            .unwrap();
        emergency.lock().unwrap();
        assert!(backup.is_file());
        if damage == "garbage" {
            assert_eq!(
                std::fs::read(fx.dir().join("profile.json")).unwrap(),
                b"\x00\x17 not json",
                "the damaged file is left for someone to look at"
            );
        }
    }
}

#[test]
fn the_sheet_alone_or_another_profiles_sheet_opens_nothing() {
    let (fx, store, recovery) = Fixture::new();
    let sheet = fx.profile().recovery_sheet().text().unwrap();
    store.lock().unwrap();
    let (other_fx, other_store, other_recovery) = Fixture::new();
    let other_sheet = other_fx.profile().recovery_sheet().text().unwrap();
    other_store.lock().unwrap();
    std::fs::remove_file(fx.dir().join("profile.json")).unwrap();
    std::fs::remove_file(fx.dir().join("profile.copy.json")).unwrap();

    // The other profile's key with this sheet, and this key with the other profile's sheet.
    let err = from_sheet(&fx, &sheet)
        .unwrap()
        .unlock_with_recovery(&other_recovery.display(), "wrong key", fx.clock.clone())
        .unwrap_err();
    assert!(matches!(err, StoreError::WrongRecoveryKey), "{err:?}");
    let err = from_sheet(&fx, &other_sheet)
        .unwrap()
        .unlock_with_recovery(&recovery.display(), "wrong sheet", fx.clock.clone())
        .unwrap_err();
    assert!(matches!(err, StoreError::WrongRecoveryKey), "{err:?}");
    // A sheet for a folder with no database.
    let empty = tempfile::tempdir().unwrap();
    assert!(matches!(
        Profile::from_recovery_sheet(empty.path(), &RecoverySheet::parse(&sheet).unwrap()),
        Err(StoreError::NoProfile)
    ));
}

#[test]
fn a_rotated_key_comes_with_a_new_sheet_and_the_old_key_does_not_open_it() {
    let (fx, mut store, old_key) = Fixture::new();
    let new_key = fx
        .profile()
        .rotate_recovery(&mut store, common::PASSPHRASE)
        .unwrap();
    let sheet = fx.profile().recovery_sheet().text().unwrap();
    store.lock().unwrap();
    std::fs::remove_file(fx.dir().join("profile.json")).unwrap();
    std::fs::remove_file(fx.dir().join("profile.copy.json")).unwrap();
    let err = from_sheet(&fx, &sheet)
        .unwrap()
        .unlock_with_recovery(&old_key.display(), "old key", fx.clock.clone())
        .unwrap_err();
    assert!(matches!(err, StoreError::WrongRecoveryKey), "{err:?}");
    from_sheet(&fx, &sheet)
        .unwrap()
        .unlock_with_recovery(&new_key.display(), "new key", fx.clock.clone())
        .unwrap()
        .lock()
        .unwrap();
}
