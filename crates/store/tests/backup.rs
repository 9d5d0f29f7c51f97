//! Backup: create, verify, restore into a fresh profile with identical content; a tampered or
//! wrongly unlocked backup fails verify and restore.

mod common;

use common::{FAST, Fixture, PASSPHRASE, TestClock};
use outpost_store::{
    Profile, StoreError,
    backup::{content_digests, restore_backup, verify_backup},
    records::{NewPatient, Signature, Soap, VitalKind},
};

/// Anchors for restored profiles: a directory of the test's, never the user's.
fn fx_anchor() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("outpost-test-anchors-{}", std::process::id()))
}

/// The clinical content a restore must keep exactly.
const CLINICAL: &[&str] = &[
    "patients",
    "encounters",
    "notes",
    "note_revisions",
    "note_revision_bases",
    "addenda",
    "vitals",
    "attachments",
    "blobs",
];

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
            .add_vital(p.id, None, VitalKind::Weight, 60.0 + f64::from(i), None)
            .unwrap();
        let n = store
            .write_note(
                p.id,
                None,
                &Soap {
                    subjective: format!("s{i}"),
                    ..Default::default()
                },
            )
            .unwrap();
        store.sign_note(n.id, &n.content_hash).unwrap();
        store.add_addendum(n.id, "late result: normal").unwrap();
        store
            .add_attachment(
                p.id,
                None,
                "scan.pdf",
                "application/pdf",
                std::io::Cursor::new(vec![u8::try_from(i).unwrap(); 300_000]),
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
    let file = &fx.dir().join("clinic.outpost-backup");
    let manifest = store
        .create_backup(file, b"backup passphrase", FAST)
        .unwrap();
    let original = content_digests(store.raw_connection(), CLINICAL).unwrap();
    let made = store.audit_entries(&Default::default()).unwrap();
    assert_eq!(
        made.iter().filter(|e| e.action == "backup_created").count(),
        1,
        "one backup, one audit entry"
    );
    let original_ops: i64 = store
        .raw_connection()
        .query_row("SELECT count(*) FROM ops", [], |r| r.get(0))
        .unwrap();
    let bytes = std::fs::read(file).unwrap();
    assert!(
        !common::contains(&bytes, b"late result"),
        "backup has plaintext"
    );

    let scratch = tempfile::tempdir().unwrap();
    assert_eq!(
        verify_backup(file, b"backup passphrase", scratch.path()).unwrap(),
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
        file,
        b"backup passphrase",
        &dir,
        FAST,
        TestClock::at(1_800_000_000_000),
        Some(fx_anchor()),
    )
    .unwrap();
    let restored_digests = content_digests(restored.raw_connection(), CLINICAL).unwrap();
    assert_eq!(
        original, restored_digests,
        "clinical content differs after restore"
    );
    // Every operation of the original is there (the backup itself and the restore came after).
    let kept: i64 = restored
        .raw_connection()
        .query_row("SELECT count(*) FROM ops", [], |r| r.get(0))
        .unwrap();
    assert!(kept > original_ops);
    assert!(
        restored.warnings().is_empty(),
        "a fresh restore is not a rollback: {:?}",
        restored.warnings()
    );
    let entries = restored.audit_entries(&Default::default()).unwrap();
    assert_eq!(entries[0].action, "backup_restored");
    restored.verify_audit().unwrap();
    // The owner still signs as themselves: old signatures verify, and new ones are theirs.
    let p = restored.search_patients("G3").unwrap().remove(0);
    // The search index came across with the tables (a restore that dropped it would find
    // nobody by a word of three letters or more).
    assert_eq!(restored.search_patients("fam").unwrap().len(), 10);
    let chart = restored.chart(p.id).unwrap();
    assert!(
        matches!(chart.notes[0].signature, Signature::Valid { by, .. } if by == manifest.created_by.id)
    );
    let n = restored.write_note(p.id, None, &Soap::default()).unwrap();
    let signed = restored.sign_note(n.id, &n.content_hash).unwrap();
    assert!(
        matches!(signed.signature, Signature::Valid { by, .. } if by == manifest.created_by.id)
    );
    restored.lock().unwrap();
    // The restored profile unlocks with the backup passphrase, as its creator.
    let again = Profile::open(&dir)
        .unwrap()
        .with_anchor_dir(Some(fx_anchor()))
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
    let file = &fx.dir().join("b.outpost-backup");
    store
        .create_backup(file, b"backup passphrase", FAST)
        .unwrap();
    let scratch = tempfile::tempdir().unwrap();
    assert!(matches!(
        verify_backup(file, b"wrong passphrase", scratch.path()),
        Err(StoreError::WrongPassphrase)
    ));

    let good = std::fs::read(file).unwrap();
    let len = good.len();
    // Where the embedded database starts: magic, version, passphrase record, manifest length,
    // nonce, sealed manifest (the layout in the backup module's docs).
    let record = outpost_crypto::passphrase::RECORD_LEN;
    let len_at = 15 + 1 + record;
    let manifest_len = usize::try_from(u32::from_be_bytes(
        good[len_at..len_at + 4].try_into().unwrap(),
    ))
    .unwrap();
    let db_start = len_at + 4 + 24 + manifest_len;
    assert!(db_start + 3 * 4096 < len);
    // The passphrase record, the manifest, the database's first page, a middle page and its
    // last page: each flip alone must be caught.
    for (what, offset) in [
        ("passphrase record", 16 + 10),
        ("manifest", len_at + 4 + 24 + manifest_len / 2),
        ("database page 1", db_start + 100),
        ("database page 3", db_start + 2 * 4096 + 77),
        ("database tail", len - 100),
    ] {
        let mut bad = good.clone();
        bad[offset] ^= 0x01;
        let tampered = &fx.dir().join(format!("tampered-{offset}"));
        std::fs::write(tampered, &bad).unwrap();
        assert!(
            verify_backup(tampered, b"backup passphrase", scratch.path()).is_err(),
            "{what}: tampering not detected"
        );
        let dir = scratch.path().join(format!("restore-{offset}"));
        assert!(
            restore_backup(
                tampered,
                b"backup passphrase",
                &dir,
                FAST,
                TestClock::at(0),
                Some(fx_anchor()),
            )
            .is_err(),
            "{what}: restore accepted"
        );
        assert!(
            !dir.join("profile.json").exists(),
            "{what}: a failed restore left a profile"
        );
    }
    let truncated = &fx.dir().join("truncated");
    std::fs::write(truncated, &good[..len / 2]).unwrap();
    assert!(verify_backup(truncated, b"backup passphrase", scratch.path()).is_err());
    assert!(matches!(
        verify_backup(&fx.dir().join("outpost.db"), b"x", scratch.path()),
        Err(StoreError::BadBackup("not an Outpost backup"))
    ));

    // Restoring over an existing profile is refused.
    assert!(matches!(
        restore_backup(
            file,
            b"backup passphrase",
            &fx.dir(),
            FAST,
            TestClock::at(0),
            Some(fx_anchor()),
        ),
        Err(StoreError::ProfileExists)
    ));
    // And a backup never overwrites an existing file.
    assert!(
        store
            .create_backup(file, b"backup passphrase", FAST)
            .is_err()
    );
}

/// A crafted backup that asks for 4 GiB of Argon2 memory (which the passphrase record format
/// itself allows) is refused before any hashing: a file from a USB stick must not make the
/// clinic laptop hash for minutes, or run out of memory.
#[test]
fn a_backup_asking_for_gigabytes_of_key_hashing_is_refused_before_hashing() {
    let (fx, mut store) = populated();
    let file = &fx.dir().join("b.outpost-backup");
    store
        .create_backup(file, b"backup passphrase", FAST)
        .unwrap();
    let mut bytes = std::fs::read(file).unwrap();
    // The passphrase record starts at 16: version, algorithm, then m_cost in KiB (big-endian).
    let greedy = 4 * 1024 * 1024u32;
    bytes[18..22].copy_from_slice(&greedy.to_be_bytes());
    let crafted = &fx.dir().join("crafted.outpost-backup");
    std::fs::write(crafted, &bytes).unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let e = verify_backup(crafted, b"backup passphrase", scratch.path()).unwrap_err();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(1),
        "it hashed first: {:?}",
        started.elapsed()
    );
    assert!(
        matches!(e, StoreError::BadBackup(m) if m.contains("key settings")),
        "{e:?}"
    );
    // 16 passes is the most a foreign file may ask: 17 is refused the same way.
    let mut bytes = std::fs::read(file).unwrap();
    bytes[22..26].copy_from_slice(&17u32.to_be_bytes());
    std::fs::write(crafted, &bytes).unwrap();
    assert!(matches!(
        verify_backup(crafted, b"backup passphrase", scratch.path()),
        Err(StoreError::BadBackup(m)) if m.contains("key settings")
    ));
}

/// A backup file taken apart as its format documents it, with the keys its passphrase gives
/// (what an attacker holding that passphrase has).
struct Parts {
    bytes: Vec<u8>,
    keys: outpost_crypto::passphrase::UnlockedKeys,
    /// Where the manifest length is; the nonce and the sealed manifest follow.
    len_at: usize,
    manifest_len: usize,
    /// Where the embedded database starts.
    db_start: usize,
}

fn take_apart(file: &std::path::Path, passphrase: &[u8]) -> Parts {
    let bytes = std::fs::read(file).unwrap();
    let record_len = outpost_crypto::passphrase::RECORD_LEN;
    let record = outpost_crypto::PassphraseRecord::decode(&bytes[16..16 + record_len]).unwrap();
    let keys = record.unlock(passphrase).unwrap();
    let len_at = 16 + record_len;
    let manifest_len = usize::try_from(u32::from_be_bytes(
        bytes[len_at..len_at + 4].try_into().unwrap(),
    ))
    .unwrap();
    let db_start = len_at + 4 + 24 + manifest_len;
    Parts {
        bytes,
        keys,
        len_at,
        manifest_len,
        db_start,
    }
}

/// Writes the embedded database of `parts` to `db`, runs `alter` on it with SQLCipher (rollback
/// journal, so the change lands in that one file) and checks something changed.
fn alter_embedded(parts: &Parts, db: &std::path::Path, alter: impl FnOnce(&rusqlite::Connection)) {
    std::fs::write(db, &parts.bytes[parts.db_start..]).unwrap();
    {
        let conn = outpost_store::db::open(
            db,
            &parts.keys.database_key,
            outpost_store::db::OpenMode::Existing,
        )
        .unwrap();
        conn.execute_batch("PRAGMA journal_mode = DELETE").unwrap();
        let before = conn.total_changes();
        alter(&conn);
        assert!(conn.total_changes() > before, "nothing was changed");
    }
    assert!(
        std::fs::read(db).unwrap() != parts.bytes[parts.db_start..],
        "the altered file is the original"
    );
}

/// The strongest tampering: someone holding the backup passphrase takes the embedded database
/// out, changes a record with SQLCipher itself (so every page still decrypts and authenticates)
/// and puts it back. Only the sealed manifest's digests and the signed log can catch it; each
/// must.
#[test]
fn a_validly_encrypted_but_altered_database_is_refused() {
    let (fx, mut store) = populated();
    let file = &fx.dir().join("b.outpost-backup");
    store
        .create_backup(file, b"backup passphrase", FAST)
        .unwrap();
    let parts = take_apart(file, b"backup passphrase");
    let scratch = tempfile::tempdir().unwrap();

    for (what, sql) in [
        // A projection changed behind the log's back: the table digest differs.
        (
            "a patient's name",
            "UPDATE patients SET family_name = 'Forged'",
        ),
        // The newest signed operation dropped (and the append-only trigger with it): the log
        // no longer matches the manifest.
        (
            "the newest operation",
            "DROP TRIGGER IF EXISTS ops_no_delete; DELETE FROM ops WHERE rowid = (SELECT max(rowid) FROM ops)",
        ),
    ] {
        let db = scratch
            .path()
            .join(format!("{}.db", what.replace(' ', "-")));
        alter_embedded(&parts, &db, |conn| conn.execute_batch(sql).unwrap());
        let mut forged = parts.bytes[..parts.db_start].to_vec();
        forged.extend_from_slice(&std::fs::read(&db).unwrap());
        let path = fx.dir().join(format!("forged-{}", what.replace(' ', "-")));
        std::fs::write(&path, &forged).unwrap();
        let out = tempfile::tempdir().unwrap();
        let verdict = verify_backup(&path, b"backup passphrase", out.path());
        assert!(
            matches!(verdict, Err(StoreError::BadBackup(_))),
            "{what}: an altered database was accepted: {verdict:?}"
        );
        let target = out.path().join("restored");
        assert!(
            restore_backup(
                &path,
                b"backup passphrase",
                &target,
                FAST,
                TestClock::at(0),
                Some(fx_anchor()),
            )
            .is_err(),
            "{what}: restored"
        );
        assert!(!target.join("profile.json").exists(), "{what}");
    }
}

/// The attacker holding the backup passphrase goes further: alters a record, recomputes every
/// table digest and re-seals the manifest (the format is documented), so the manifest agrees
/// with the altered database. Only the signed log is left to notice: the projection no longer
/// follows from the signed operations, and the backup is refused.
#[test]
fn a_re_sealed_manifest_does_not_launder_an_altered_database() {
    use outpost_crypto::primitives;
    let (fx, mut store) = populated();
    let file = &fx.dir().join("b.outpost-backup");
    store
        .create_backup(file, b"backup passphrase", FAST)
        .unwrap();
    let parts = take_apart(file, b"backup passphrase");
    let (good, keys, len_at) = (&parts.bytes, &parts.keys, parts.len_at);
    let record_bytes = &good[16..len_at];
    let nonce: [u8; 24] = good[len_at + 4..len_at + 28].try_into().unwrap();
    let sealed = &good[len_at + 28..len_at + 28 + parts.manifest_len];
    // The documented manifest key and AAD (magic, version, passphrase record).
    let manifest_key = primitives::derive_key(
        b"",
        keys.key_encryption_key.as_ref(),
        &[b"outpost/v1/backup/manifest"],
    );
    let aad = [&good[..16], record_bytes].concat();
    let json = primitives::xchacha_open(&manifest_key, &nonce, &aad, sealed).unwrap();
    let mut manifest: serde_json::Value = serde_json::from_slice(&json).unwrap();

    let scratch = tempfile::tempdir().unwrap();
    let db = scratch.path().join("altered.db");
    alter_embedded(&parts, &db, |conn| {
        conn.execute_batch("UPDATE patients SET family_name = 'Forged'")
            .unwrap();
        let tables: Vec<String> = manifest["manifest"]["tables"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["table"].as_str().unwrap().to_owned())
            .collect();
        manifest["manifest"]["tables"] =
            serde_json::to_value(content_digests(conn, &tables).unwrap()).unwrap();
    });
    let resealed = primitives::xchacha_seal(
        &manifest_key,
        &nonce,
        &aad,
        &serde_json::to_vec(&manifest).unwrap(),
    )
    .unwrap();
    let mut forged = good[..len_at].to_vec();
    forged.extend_from_slice(&u32::try_from(resealed.len()).unwrap().to_be_bytes());
    forged.extend_from_slice(&nonce);
    forged.extend_from_slice(&resealed);
    forged.extend_from_slice(&std::fs::read(&db).unwrap());
    let path = fx.dir().join("laundered.outpost-backup");
    std::fs::write(&path, &forged).unwrap();
    let out = tempfile::tempdir().unwrap();
    let verdict = verify_backup(&path, b"backup passphrase", out.path());
    assert!(
        matches!(
            verdict,
            Err(StoreError::BadBackup("the signed log does not verify"))
        ),
        "a laundered backup got through the manifest and must be stopped by the log: {verdict:?}"
    );
}
