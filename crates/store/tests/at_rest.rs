//! Encryption at rest and failing closed: markers never on disk in the clear, wrong keys and
//! damaged files give typed errors and leave every byte as it was.

mod common;

use common::{FAST, Fixture, NURSE, NURSE_PASSPHRASE, PASSPHRASE, TestClock, contains};
use outpost_store::Clock as _;

/// A new physician's profile in `dir` with the tests' cheap key settings and clock.
fn create_physician(
    dir: &std::path::Path,
    name: &str,
    passphrase: &[u8],
    anchors: Option<std::path::PathBuf>,
) -> Result<(outpost_store::Store, outpost_store::RecoveryKey), StoreError> {
    Profile::create_in(
        dir,
        name,
        outpost_store::Role::Physician,
        passphrase,
        FAST,
        TestClock::at(1_700_000_000_000),
        anchors,
    )
}
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
    // The recovery key counts its own failures: three wrong keys, then it backs off too.
    for _ in 0..3 {
        assert!(matches!(
            again.unlock_with_recovery("0000-0000", "lost passphrase", fx.clock.clone()),
            Err(StoreError::WrongRecoveryKey)
        ));
    }
    assert!(matches!(
        again.unlock_with_recovery(&shown, "lost passphrase", fx.clock.clone()),
        Err(StoreError::RateLimited {
            retry_after_secs: 1
        })
    ));
    fx.clock.advance(1_000);

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
        6
    );
    drop(store);
    // Success cleared the back-off.
    assert_eq!(
        Profile::open(&fx.dir())
            .unwrap()
            .backoff_secs(None, i64::MAX / 2),
        0
    );
}

/// One person's wrong passphrases back off that person only: on a shared clinic laptop the
/// nurse can still unlock while the physician's typos are being slowed down.
#[test]
fn one_users_failures_do_not_lock_out_another() {
    let (fx, mut store, _) = Fixture::new();
    fx.add_nurse(&mut store);
    store.lock().unwrap();
    let profile = fx.profile();
    for _ in 0..4 {
        let _ = profile.unlock("Dr. Amina Okafor", b"wrong wrong", fx.clock.clone());
    }
    assert!(matches!(
        profile.unlock("Dr. Amina Okafor", PASSPHRASE, fx.clock.clone()),
        Err(StoreError::RateLimited { .. })
    ));
    let nurse = profile
        .unlock(NURSE, NURSE_PASSPHRASE, fx.clock.clone())
        .expect("the nurse is not locked out by the physician's failures");
    assert_eq!(nurse.user().name, NURSE);
}

/// The failure file is written before anyone unlocks, so anyone with the folder can edit it.
/// Crafted entries (far-future times, a user id that is nobody's, thousands of lines) neither
/// lock anyone out for years nor go into the audit trail as written.
#[test]
fn a_crafted_failure_file_is_not_believed() {
    let (fx, store, _) = Fixture::new();
    let me = store.user().id.to_hex();
    store.lock().unwrap();
    let now = fx.clock.now_ms();
    let mut entries = Vec::new();
    // Thousands of past entries naming nobody of this profile...
    for i in 0..5_000i64 {
        entries.push(serde_json::json!([
            now - 60_000 + i,
            "ffffffffffffffffffffffffffffffff"
        ]));
    }
    // ...and enough of this user's, dated in the future, to back them off for as long as the
    // future lasts were they believed.
    for i in 0..5i64 {
        entries.push(serde_json::json!([i64::MAX - i, me]));
    }
    std::fs::write(
        fx.dir().join("unlock-failures.json"),
        serde_json::to_vec(&serde_json::json!({ "failures": entries })).unwrap(),
    )
    .unwrap();
    let profile = fx.profile();
    // The future-dated failures are not believed: this user has free tries.
    assert_eq!(profile.backoff_secs(Some(&me), now), 0);
    let store = profile
        .unlock("Dr. Amina Okafor", PASSPHRASE, fx.clock.clone())
        .expect("not locked out by crafted entries");
    let failed: Vec<_> = store
        .audit_entries(&Default::default())
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "unlock_failed")
        .collect();
    assert_eq!(failed.len(), outpost_store::profile::MAX_FAILURES_KEPT);
    for e in &failed {
        assert!(e.at <= now, "an entry dated in the future: {}", e.at);
        assert!(
            e.actor.is_none() || e.actor == Some(store.user().id),
            "a crafted user id reached the audit: {:?}",
            e.actor
        );
    }
}

/// A recovery key that may have been seen (the sheet was photographed, the safe was opened) is
/// replaced: the new key opens the profile as a new emergency user, the old one no longer
/// opens it, and only an admin or physician may do it.
#[test]
fn a_new_recovery_key_replaces_the_old_one() {
    let (fx, mut store, old) = Fixture::new();
    fx.add_nurse(&mut store);
    let mut profile = fx.profile();
    // Another window (the app and the command line at once) adds a user meanwhile: the
    // rotation, working from its own older view of the file, keeps that user.
    let mut elsewhere = fx.profile();
    elsewhere
        .add_user(
            &mut store,
            "Dr. Kofi Boateng",
            outpost_store::Role::Physician,
            b"kofi passphrase",
            FAST,
        )
        .unwrap();
    // Someone at the unlocked laptop who does not know the passphrase issues nothing.
    assert!(matches!(
        profile.rotate_recovery(&mut store, b"a guess at the passphrase"),
        Err(StoreError::WrongPassphrase)
    ));
    let new = profile.rotate_recovery(&mut store, PASSPHRASE).unwrap();
    assert_ne!(new.display().as_str(), old.display().as_str());
    assert!(
        fx.profile()
            .users()
            .iter()
            .any(|u| u.name == "Dr. Kofi Boateng"),
        "the rotation kept the user added meanwhile"
    );
    store.lock().unwrap();

    let profile = fx.profile();
    assert!(matches!(
        profile.unlock_with_recovery(&old.display(), "lost passphrase", fx.clock.clone()),
        Err(StoreError::WrongRecoveryKey)
    ));
    let mut emergency = profile
        .unlock_with_recovery(&new.display(), "lost passphrase", fx.clock.clone())
        .expect("the new key opens the profile");
    assert_eq!(emergency.user().role, outpost_store::Role::Emergency);
    emergency.verify_audit().unwrap();
    // Emergency access reads and writes charts; it changes no key.
    assert!(matches!(
        fx.profile()
            .rotate_recovery(&mut emergency, new.display().as_bytes()),
        Err(StoreError::NotPermitted { .. })
    ));
    drop(emergency);

    let mut profile = fx.profile();
    let mut nurse = profile
        .unlock(NURSE, NURSE_PASSPHRASE, fx.clock.clone())
        .unwrap();
    assert!(matches!(
        profile.rotate_recovery(&mut nurse, NURSE_PASSPHRASE),
        Err(StoreError::NotPermitted { .. })
    ));
}

/// A create (or restore) killed midway leaves its marker and an empty database: the next
/// create recognises the dead attempt and goes ahead instead of saying both "no profile" and
/// "a profile exists". A database that is not such a leftover (no marker) is never touched.
#[test]
fn an_abandoned_create_is_cleared_and_a_stray_database_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let profile_dir = dir.path().join("clinic");
    std::fs::create_dir(&profile_dir).unwrap();
    // What SIGKILL mid-create leaves: the marker (naming a process that is gone) and the
    // claimed database, no profile.json.
    std::fs::write(profile_dir.join("outpost.creating"), "4000000\n").unwrap();
    std::fs::write(profile_dir.join("outpost.db"), b"").unwrap();
    std::fs::write(profile_dir.join("outpost.db-wal"), b"half a transaction").unwrap();
    assert!(matches!(
        Profile::open(&profile_dir),
        Err(StoreError::NoProfile)
    ));
    let (store, _) = create_physician(
        &profile_dir,
        "Dr. Amina Okafor",
        PASSPHRASE,
        Some(dir.path().join("anchors")),
    )
    .expect("the dead attempt is cleared");
    store.lock().unwrap();
    assert!(Profile::exists(&profile_dir));
    assert!(!profile_dir.join("outpost.creating").exists());

    // A database with no marker is someone's data (say its profile.json was lost): refused,
    // and not a byte changed.
    let stray = dir.path().join("stray");
    std::fs::create_dir(&stray).unwrap();
    std::fs::write(stray.join("outpost.db"), b"precious encrypted pages").unwrap();
    let refused = create_physician(
        &stray,
        "Someone",
        PASSPHRASE,
        Some(dir.path().join("anchors")),
    );
    assert!(matches!(refused, Err(StoreError::ProfileExists)));
    assert_eq!(
        std::fs::read(stray.join("outpost.db")).unwrap(),
        b"precious encrypted pages"
    );
    // A live claim (this very process) is not cleared either.
    let busy = dir.path().join("busy");
    std::fs::create_dir(&busy).unwrap();
    std::fs::write(
        busy.join("outpost.creating"),
        format!("{}\n", std::process::id()),
    )
    .unwrap();
    std::fs::write(busy.join("outpost.db"), b"").unwrap();
    assert!(matches!(
        create_physician(&busy, "Someone", PASSPHRASE, None,),
        Err(StoreError::ProfileExists)
    ));
    assert!(busy.join("outpost.creating").exists());
}

/// Changing a passphrase needs the current one again, leaves the old one useless with this
/// profile.json, keeps the user's signing identity, and is audited.
#[test]
fn a_passphrase_change_needs_the_current_one_and_retires_it() {
    let (fx, mut store, _) = Fixture::new();
    let me = store.user().id;
    let mut profile = fx.profile();
    let before = std::fs::read(fx.dir().join("profile.json")).unwrap();
    assert!(matches!(
        profile.change_passphrase(
            &mut store,
            b"not my passphrase",
            b"a brand new passphrase",
            FAST
        ),
        Err(StoreError::WrongPassphrase)
    ));
    assert!(matches!(
        profile.change_passphrase(&mut store, PASSPHRASE, b"short", FAST),
        Err(StoreError::Invalid {
            field: "passphrase",
            ..
        })
    ));
    assert_eq!(
        std::fs::read(fx.dir().join("profile.json")).unwrap(),
        before,
        "a refused change writes nothing"
    );
    profile
        .change_passphrase(&mut store, PASSPHRASE, b"a brand new passphrase", FAST)
        .unwrap();
    store.lock().unwrap();

    let profile = fx.profile();
    assert!(matches!(
        profile.unlock("Dr. Amina Okafor", PASSPHRASE, fx.clock.clone()),
        Err(StoreError::WrongPassphrase)
    ));
    fx.clock.advance(10_000);
    let mut store = profile
        .unlock(
            "Dr. Amina Okafor",
            b"a brand new passphrase",
            fx.clock.clone(),
        )
        .unwrap();
    assert_eq!(store.user().id, me, "the same person, the same identity");
    let entries = store.audit_entries(&Default::default()).unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e.action == "passphrase_changed" && e.actor == Some(me))
    );
    // What they sign still verifies: their identity was re-wrapped, not replaced.
    store.verify_audit().unwrap();
}

/// `profile.json` holds every key wrap: deleted, truncated or overwritten with rubbish, its
/// second copy opens the profile (for a passphrase and for the recovery key alike) and puts
/// it back.
#[test]
fn a_lost_or_damaged_profile_json_costs_nothing() {
    let (fx, store, recovery) = Fixture::new();
    store.lock().unwrap();
    let file = fx.dir().join("profile.json");
    let good = std::fs::read(&file).unwrap();
    assert_eq!(
        std::fs::read(fx.dir().join("profile.copy.json")).unwrap(),
        good,
        "the copy is written with the file"
    );
    let half = good[..good.len() / 2].to_vec();
    for (what, damage) in [
        ("deleted", None),
        ("truncated", Some(half)),
        ("rubbish", Some(b"\x00\x01 not json".to_vec())),
    ] {
        match damage {
            None => std::fs::remove_file(&file).unwrap(),
            Some(bytes) => std::fs::write(&file, bytes).unwrap(),
        }
        assert!(Profile::exists(&fx.dir()), "{what}");
        let store = fx
            .profile()
            .unlock("Dr. Amina Okafor", PASSPHRASE, fx.clock.clone())
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        store.lock().unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), good, "{what}: put back");
    }
    std::fs::remove_file(&file).unwrap();
    let emergency = fx
        .profile()
        .unlock_with_recovery(&recovery.display(), "profile.json lost", fx.clock.clone())
        .expect("the recovery key works from the copy too");
    drop(emergency);
    // A file from a newer build is never "repaired" from an older copy.
    let newer = String::from_utf8(good.clone())
        .unwrap()
        .replace("\"format\": 2", "\"format\": 99");
    std::fs::write(&file, &newer).unwrap();
    assert!(matches!(
        Profile::open(&fx.dir()),
        Err(StoreError::ProfileFile { .. })
    ));
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        newer,
        "left as it was"
    );
    std::fs::write(&file, &good).unwrap();
    // With both copies gone there is nothing to unwrap the key with.
    std::fs::remove_file(&file).unwrap();
    std::fs::remove_file(fx.dir().join("profile.copy.json")).unwrap();
    assert!(matches!(
        Profile::open(&fx.dir()),
        Err(StoreError::NoProfile)
    ));
}

/// The passphrase policy is the core's: too short, one character repeated, or a passphrase
/// every guesser tries first is refused for a new profile, a new user, a changed passphrase and
/// a backup alike, in words, and nothing is created.
#[test]
fn common_and_trivial_passphrases_are_refused_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    for weak in [
        &b"short"[..],
        b"Password1",
        b"pass word 123",
        b"aaaaaaaaaa",
        b"12345678",
        b"QWERTYUIOP",
    ] {
        let target = dir.path().join("p");
        let refused = create_physician(&target, "Dr. Amina Okafor", weak, None);
        assert!(
            matches!(
                refused,
                Err(StoreError::Invalid {
                    field: "passphrase",
                    ..
                })
            ),
            "{}: {refused:?}",
            String::from_utf8_lossy(weak)
        );
        assert!(!Profile::exists(&target));
    }
    let (fx, mut store, _) = Fixture::new();
    let mut profile = fx.profile();
    assert!(matches!(
        profile.add_user(
            &mut store,
            "Nurse Ama",
            outpost_store::Role::Nurse,
            b"iloveyou",
            FAST
        ),
        Err(StoreError::Invalid {
            field: "passphrase",
            ..
        })
    ));
    assert!(matches!(
        profile.change_passphrase(&mut store, PASSPHRASE, b"sunshine", FAST),
        Err(StoreError::Invalid {
            field: "passphrase",
            ..
        })
    ));
    let backup = fx.dir().join("weak.backup");
    assert!(matches!(
        store.create_backup(&backup, b"password123", FAST),
        Err(StoreError::Invalid {
            field: "passphrase",
            ..
        })
    ));
    assert!(!backup.exists());
}

/// A passphrase with an accent typed one way at creation ("é" as one code point) and another
/// way at unlock ("e" followed by a combining accent, as some keyboards and systems produce)
/// is the same passphrase; a different one is still wrong.
#[test]
fn the_same_accented_passphrase_typed_two_ways_unlocks() {
    let dir = tempfile::tempdir().unwrap();
    let composed = "Crème brûlée à midi".as_bytes();
    let decomposed = "Cre\u{300}me bru\u{302}le\u{301}e a\u{300} midi".as_bytes();
    assert_ne!(composed, decomposed);
    let clock = TestClock::at(1_700_000_000_000);
    let (store, _) = create_physician(
        &dir.path().join("p"),
        "Dr. Amélie Diallo",
        decomposed,
        Some(dir.path().join("anchors")),
    )
    .unwrap();
    store.lock().unwrap();
    let profile = Profile::open(&dir.path().join("p"))
        .unwrap()
        .with_anchor_dir(Some(dir.path().join("anchors")));
    profile
        .unlock("Dr. Amélie Diallo", composed, clock.clone())
        .expect("the composed form unlocks what the decomposed form made")
        .lock()
        .unwrap();
    profile
        .unlock("Dr. Amélie Diallo", decomposed, clock.clone())
        .expect("and the decomposed form still does")
        .lock()
        .unwrap();
    assert!(matches!(
        profile.unlock("Dr. Amélie Diallo", "Creme brulee a midi".as_bytes(), clock),
        Err(StoreError::WrongPassphrase)
    ));
}

/// A passphrase record made with weaker key-derivation settings than today's default (an older
/// build's, or here a test's) is made again at the next unlock with the default, with the same
/// passphrase and the same signing identity; later unlocks use the stronger record.
#[test]
fn a_weak_passphrase_record_is_raised_to_the_default_at_unlock() {
    let (fx, store, _) = Fixture::new();
    let me = store.user().id;
    store.lock().unwrap();
    let params_on_disk = || {
        let file: serde_json::Value =
            serde_json::from_slice(&std::fs::read(fx.dir().join("profile.json")).unwrap()).unwrap();
        let hex = file["users"][0]["passphrase"].as_str().unwrap().to_owned();
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        outpost_crypto::PassphraseRecord::decode(&bytes)
            .unwrap()
            .params()
    };
    assert_eq!(params_on_disk(), FAST);
    // What the app and the command line use: the default target.
    let profile = Profile::open(&fx.dir())
        .unwrap()
        .with_anchor_dir(Some(fx.anchors()));
    profile
        .unlock("Dr. Amina Okafor", PASSPHRASE, fx.clock.clone())
        .unwrap()
        .lock()
        .unwrap();
    assert_eq!(params_on_disk(), outpost_crypto::KdfParams::DEFAULT);
    let mut again = fx
        .profile()
        .unlock("Dr. Amina Okafor", PASSPHRASE, fx.clock.clone())
        .expect("the same passphrase opens the raised record");
    assert_eq!(again.user().id, me);
    again.verify_audit().unwrap();
}

/// Someone at an unlocked laptop guessing its owner's passphrase through "change passphrase"
/// meets the same back-off as at the lock screen, and their wrong guesses count toward it there.
#[test]
fn guessing_the_current_passphrase_at_a_passphrase_change_backs_off() {
    let (fx, mut store, _) = Fixture::new();
    let mut profile = fx.profile();
    for _ in 0..3 {
        assert!(matches!(
            profile.change_passphrase(&mut store, b"guess guess", b"a brand new passphrase", FAST),
            Err(StoreError::WrongPassphrase)
        ));
    }
    // Even the right one waits now, and so does the lock screen for this user.
    assert!(matches!(
        profile.change_passphrase(&mut store, PASSPHRASE, b"a brand new passphrase", FAST),
        Err(StoreError::RateLimited { .. })
    ));
    store.lock().unwrap();
    assert!(matches!(
        fx.profile()
            .unlock(common::DOCTOR, PASSPHRASE, fx.clock.clone()),
        Err(StoreError::RateLimited { .. })
    ));
    fx.clock.advance(60_000);
    let mut store = fx.unlock();
    fx.profile()
        .change_passphrase(&mut store, PASSPHRASE, b"a brand new passphrase", FAST)
        .unwrap();
}
