//! The audit chain: every edit, deletion or reordering through raw SQL is found, at its entry.

mod common;

use common::Fixture;
use outpost_store::{StoreError, audit, records::NewPatient};

fn store_with_entries() -> (Fixture, outpost_store::Store) {
    let (fx, mut store, _) = Fixture::new();
    for i in 0..5 {
        let p = store
            .add_patient(&NewPatient {
                given_name: format!("P{i}"),
                family_name: "Test".into(),
                birth_date: "1970-01-01".into(),
                ..Default::default()
            })
            .unwrap();
        store.chart(&p.id).unwrap();
    }
    (fx, store)
}

#[test]
fn an_intact_chain_verifies_and_records_reads() {
    let (_fx, mut store) = store_with_entries();
    let n = audit::verify(store.raw_connection()).unwrap();
    assert!(n >= 12, "{n} entries");
    let entries = store.audit_entries(&Default::default()).unwrap();
    assert_eq!(
        entries.iter().filter(|e| e.action == "chart_read").count(),
        5
    );
    assert_eq!(store.verify_audit().unwrap(), n + 1);
}

/// What someone holding the key would do first: the schema refuses edits, so drop its triggers.
fn drop_guards(c: &rusqlite::Connection) {
    c.execute_batch("DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;")
        .unwrap();
}

#[test]
fn the_schema_refuses_edits_and_deletions() {
    let (_fx, store) = store_with_entries();
    let c = store.raw_connection();
    assert!(
        c.execute("UPDATE audit SET action = 'x' WHERE seq = 2", [])
            .is_err()
    );
    assert!(c.execute("DELETE FROM audit WHERE seq = 2", []).is_err());
    audit::verify(c).unwrap();
}

#[test]
fn an_edited_entry_is_found() {
    let (_fx, store) = store_with_entries();
    drop_guards(store.raw_connection());
    store
        .raw_connection()
        .execute(
            "UPDATE audit SET action = 'nothing_to_see' WHERE seq = 6",
            [],
        )
        .unwrap();
    assert!(matches!(
        audit::verify(store.raw_connection()),
        Err(StoreError::AuditBroken {
            seq: 6,
            reason: "entry was altered"
        })
    ));
}

#[test]
fn a_removed_entry_is_found() {
    let (_fx, store) = store_with_entries();
    drop_guards(store.raw_connection());
    store
        .raw_connection()
        .execute("DELETE FROM audit WHERE seq = 4", [])
        .unwrap();
    assert!(matches!(
        audit::verify(store.raw_connection()),
        Err(StoreError::AuditBroken { seq: 4, .. })
    ));
}

#[test]
fn reordered_entries_are_found() {
    let (_fx, store) = store_with_entries();
    let c = store.raw_connection();
    drop_guards(c);
    // Swap the contents of entries 3 and 5, keeping the sequence numbers in place.
    c.execute_batch(
        "CREATE TEMP TABLE t AS SELECT * FROM audit WHERE seq IN (3, 5);
         UPDATE audit SET at = (SELECT at FROM t WHERE seq = 5), actor = (SELECT actor FROM t WHERE seq = 5),
           action = (SELECT action FROM t WHERE seq = 5), record_kind = (SELECT record_kind FROM t WHERE seq = 5),
           record_id = (SELECT record_id FROM t WHERE seq = 5), prev_hash = (SELECT prev_hash FROM t WHERE seq = 5),
           hash = (SELECT hash FROM t WHERE seq = 5) WHERE seq = 3;
         UPDATE audit SET at = (SELECT at FROM t WHERE seq = 3), actor = (SELECT actor FROM t WHERE seq = 3),
           action = (SELECT action FROM t WHERE seq = 3), record_kind = (SELECT record_kind FROM t WHERE seq = 3),
           record_id = (SELECT record_id FROM t WHERE seq = 3), prev_hash = (SELECT prev_hash FROM t WHERE seq = 3),
           hash = (SELECT hash FROM t WHERE seq = 3) WHERE seq = 5;",
    )
    .unwrap();
    assert!(matches!(
        audit::verify(c),
        Err(StoreError::AuditBroken { seq: 3, .. })
    ));
}

#[test]
fn a_null_actor_turned_empty_is_found() {
    let (_fx, store) = store_with_entries();
    let c = store.raw_connection();
    drop_guards(c);
    c.execute(
        "UPDATE audit SET record_kind = '' WHERE seq = 1 AND record_kind IS NULL",
        [],
    )
    .unwrap();
    assert!(matches!(
        audit::verify(c),
        Err(StoreError::AuditBroken { seq: 1, .. })
    ));
}
