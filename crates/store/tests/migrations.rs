//! Schema migrations: from an empty database and from every earlier version to the latest; a
//! database from a newer build is refused, not downgraded.

use outpost_store::{StoreError, db};

#[test]
fn migrates_from_every_earlier_version() {
    for start in 0..db::latest_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let mut conn = db::open(&path, &[9; 32], db::OpenMode::Create).unwrap();
        // Bring the database to `start` with the migrations as shipped at that version.
        for sql in &db::MIGRATIONS[..usize::try_from(start).unwrap()] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", start).unwrap();
        db::migrate(&mut conn).unwrap();
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, db::latest_version());
        let tables: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('patients','notes','vitals','audit','attachments')", [], |r| r.get(0))
            .unwrap();
        assert_eq!(tables, 5, "from version {start}");
        // Migrating again is a no-op.
        db::migrate(&mut conn).unwrap();
    }
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let mut conn = db::open(&path, &[9; 32], db::OpenMode::Create).unwrap();
    conn.pragma_update(None, "user_version", db::latest_version() + 1)
        .unwrap();
    let err = db::migrate(&mut conn).unwrap_err();
    assert!(
        matches!(err, StoreError::NewerSchema { found, supported } if found == db::latest_version() + 1 && supported == db::latest_version())
    );
}
