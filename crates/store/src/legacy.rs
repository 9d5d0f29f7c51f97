//! Importing a schema 2 profile (records written before Outpost signed anything) into the
//! operation log, once, at the first unlock after the upgrade.
//!
//! Migration 003 renamed the old tables `legacy_*`. Here the user who unlocks first imports
//! every old row as a `legacy_record` operation that keeps the old author and time, signed by
//! them as the importer (the signature says "this device imported this", not "this person
//! wrote this"), applies it, and drops the old tables, all in one transaction. The old audit
//! trail stays as `legacy_audit`, checked with its own hash chain and sealed by an operation
//! that records its length and head, so later edits to it are caught.

use outpost_proto::{
    AuditAction, EncounterKind, OpHash, PatientId, Payload, RecordId, Role, Soap, UserId,
    payload::{
        AddendumAdded, AttachmentAdded, AuditEvent, EncounterFinished, EncounterOpened,
        LegacyRecord, NoteCreated, NoteSigned, PatientRegistered, UserAdded, VitalRecorded,
    },
};
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

use crate::{
    StoreError,
    oplog::{self, Author},
};

/// Whether the database still holds schema 2 tables to import.
pub(crate) fn pending(conn: &Connection) -> Result<bool, StoreError> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'legacy_users')",
        [],
        |r| r.get(0),
    )?)
}

/// A new database has the schema 2 tables too (migrations run in order), empty: they go.
pub(crate) fn discard_empty(conn: &Connection) -> Result<(), StoreError> {
    let rows: i64 = conn.query_row(
        "SELECT (SELECT count(*) FROM legacy_users) + (SELECT count(*) FROM legacy_audit)",
        [],
        |r| r.get(0),
    )?;
    if rows != 0 {
        return Err(StoreError::Corrupt("a new database holds old records"));
    }
    drop_tables(conn)?;
    conn.execute_batch("DROP TABLE legacy_audit;")?;
    Ok(())
}

fn drop_tables(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "DROP TABLE legacy_attachment_chunks;
         DROP TABLE legacy_attachments;
         DROP TABLE legacy_vitals;
         DROP TABLE legacy_addenda;
         DROP TABLE legacy_notes;
         DROP TABLE legacy_encounters;
         DROP TABLE legacy_patients;
         DROP TABLE legacy_users;",
    )?;
    Ok(())
}

/// The role the old database gives `user`, if it lists them.
pub(crate) fn legacy_role(conn: &Connection, user: UserId) -> Result<Option<Role>, StoreError> {
    let role: Option<String> = conn
        .query_row(
            "SELECT role FROM legacy_users WHERE id = ?1",
            [user.to_hex()],
            |r| r.get(0),
        )
        .optional()?;
    role.map(|r| crate::apply::parse_role(&r)).transpose()
}

fn wrap(
    tx: &Connection,
    author: &Author<'_>,
    target: RecordId,
    by: UserId,
    at: i64,
    inner: &Payload,
) -> Result<OpHash, StoreError> {
    let payload = Payload::Legacy(LegacyRecord::wrap(by, at, inner));
    Ok(oplog::append(tx, author, target, &payload)?.hash())
}

fn parse<T: std::str::FromStr>(s: &str) -> Result<T, StoreError> {
    s.parse()
        .map_err(|_| StoreError::Corrupt("an id in the old database"))
}

/// Imports every old row (see the module docs). The author must already be registered.
pub(crate) fn import(tx: &Connection, author: &Author<'_>) -> Result<(), StoreError> {
    // Users first (everyone but the importer, who registered themselves), so that what
    // follows is attributed to people the log knows; then records in dependency order.
    import_users(tx, author)?;
    import_patients(tx, author)?;
    import_encounters(tx, author)?;
    import_notes(tx, author)?;
    import_addenda(tx, author)?;
    import_vitals(tx, author)?;
    import_attachments(tx, author)?;
    seal_audit(tx, author)?;
    drop_tables(tx)
}

/// Runs `f` on every row of `sql`.
fn for_each(
    conn: &Connection,
    sql: &str,
    mut f: impl FnMut(&rusqlite::Row<'_>) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut stmt = conn.prepare(sql)?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        f(row)?;
    }
    Ok(())
}

/// A typed id from a text column.
fn id<T: std::str::FromStr>(row: &rusqlite::Row<'_>, i: usize) -> Result<T, StoreError> {
    parse(&row.get::<_, String>(i)?)
}

fn opt_id<T: std::str::FromStr>(
    row: &rusqlite::Row<'_>,
    i: usize,
) -> Result<Option<T>, StoreError> {
    row.get::<_, Option<String>>(i)?
        .as_deref()
        .map(parse)
        .transpose()
}

fn import_users(tx: &Connection, author: &Author<'_>) -> Result<(), StoreError> {
    for_each(
        tx,
        "SELECT id, name, role, created_at FROM legacy_users ORDER BY created_at, id",
        |r| {
            let user: UserId = id(r, 0)?;
            if user == author.actor {
                return Ok(());
            }
            let inner = Payload::UserAdded(UserAdded {
                user,
                name: r.get(1)?,
                role: crate::apply::parse_role(&r.get::<_, String>(2)?)?,
                identity: None,
            });
            wrap(
                tx,
                author,
                RecordId::from(user),
                author.actor,
                r.get(3)?,
                &inner,
            )
            .map(|_| ())
        },
    )
}

fn import_patients(tx: &Connection, author: &Author<'_>) -> Result<(), StoreError> {
    for_each(
        tx,
        "SELECT id, given_name, family_name, birth_date, sex, clinic_id, contact, created_by, created_at
         FROM legacy_patients ORDER BY created_at, id",
        |r| {
            let patient: PatientId = id(r, 0)?;
            let inner = Payload::PatientRegistered(PatientRegistered {
                given_name: r.get(1)?,
                family_name: r.get(2)?,
                birth_date: r.get(3)?,
                sex: r.get(4)?,
                clinic_id: r.get(5)?,
                contact: r.get(6)?,
            });
            wrap(tx, author, RecordId::from(patient), id(r, 7)?, r.get(8)?, &inner).map(|_| ())
        },
    )
}

fn import_encounters(tx: &Connection, author: &Author<'_>) -> Result<(), StoreError> {
    for_each(
        tx,
        "SELECT id, patient_id, kind, status, started_at, ended_at, practitioner
         FROM legacy_encounters ORDER BY started_at, id",
        |r| {
            let target = RecordId::from(id::<outpost_proto::EncounterId>(r, 0)?);
            let patient: PatientId = id(r, 1)?;
            let kind: String = r.get(2)?;
            let kind = EncounterKind::from_name(&kind).ok_or(StoreError::UnknownCode {
                field: "encounter kind",
                code: kind,
            })?;
            let status: String = r.get(3)?;
            let started: i64 = r.get(4)?;
            let ended: Option<i64> = r.get(5)?;
            let by: UserId = id(r, 6)?;
            wrap(
                tx,
                author,
                target,
                by,
                started,
                &Payload::EncounterOpened(EncounterOpened { patient, kind }),
            )?;
            // Schema 2 also allowed "cancelled": over, like finished, never lost.
            if status == "finished" || status == "cancelled" {
                let finished = Payload::EncounterFinished(EncounterFinished { patient });
                wrap(tx, author, target, by, ended.unwrap_or(started), &finished)?;
            }
            Ok(())
        },
    )
}

fn import_notes(tx: &Connection, author: &Author<'_>) -> Result<(), StoreError> {
    for_each(
        tx,
        "SELECT id, patient_id, encounter_id, author, subjective, objective, assessment, plan,
                created_at, signed_at, signed_by
         FROM legacy_notes ORDER BY created_at, id",
        |r| {
            let note: outpost_proto::NoteId = id(r, 0)?;
            let patient: PatientId = id(r, 1)?;
            let encounter = opt_id(r, 2)?;
            let note_author: UserId = id(r, 3)?;
            let soap = Soap {
                subjective: r.get(4)?,
                objective: r.get(5)?,
                assessment: r.get(6)?,
                plan: r.get(7)?,
            };
            let created = Payload::NoteCreated(NoteCreated {
                patient,
                encounter,
                soap: soap.clone(),
            });
            let revision = wrap(
                tx,
                author,
                RecordId::from(note),
                note_author,
                r.get(8)?,
                &created,
            )?;
            let signed_at: Option<i64> = r.get(9)?;
            let signed_by: Option<UserId> = opt_id(r, 10)?;
            if let (Some(at), Some(by)) = (signed_at, signed_by) {
                let signed = Payload::NoteSigned(NoteSigned {
                    patient,
                    encounter,
                    author: note_author,
                    revision,
                    soap,
                });
                wrap(tx, author, RecordId::from(note), by, at, &signed)?;
            }
            Ok(())
        },
    )
}

fn import_addenda(tx: &Connection, author: &Author<'_>) -> Result<(), StoreError> {
    for_each(
        tx,
        "SELECT a.id, a.note_id, n.patient_id, a.author, a.signed_at, a.text
         FROM legacy_addenda a JOIN legacy_notes n ON n.id = a.note_id ORDER BY a.signed_at, a.id",
        |r| {
            let target = RecordId::from(id::<outpost_proto::AddendumId>(r, 0)?);
            let inner = Payload::AddendumAdded(AddendumAdded {
                patient: id(r, 2)?,
                note: id(r, 1)?,
                text: r.get(5)?,
            });
            wrap(tx, author, target, id(r, 3)?, r.get(4)?, &inner).map(|_| ())
        },
    )
}

fn import_vitals(tx: &Connection, author: &Author<'_>) -> Result<(), StoreError> {
    for_each(
        tx,
        "SELECT id, patient_id, encounter_id, code, value, value2, unit, observed_at, recorded_by
         FROM legacy_vitals ORDER BY observed_at, id",
        |r| {
            let target = RecordId::from(id::<outpost_proto::VitalId>(r, 0)?);
            let at: i64 = r.get(7)?;
            let inner = Payload::VitalRecorded(VitalRecorded {
                patient: id(r, 1)?,
                encounter: opt_id(r, 2)?,
                code: r.get(3)?,
                value: r.get(4)?,
                value2: r.get(5)?,
                unit: r.get(6)?,
                observed_at: at,
            });
            wrap(tx, author, target, id(r, 8)?, at, &inner).map(|_| ())
        },
    )
}

fn import_attachments(tx: &Connection, author: &Author<'_>) -> Result<(), StoreError> {
    for_each(
        tx,
        "SELECT id, patient_id, encounter_id, file_name, media_type, size, sha256, created_at, created_by
         FROM legacy_attachments ORDER BY created_at, id",
        |r| {
            let old_id: String = r.get(0)?;
            let sha256 = outpost_proto::ids::from_hex::<32>(&r.get::<_, String>(6)?)
                .ok_or(StoreError::Corrupt("an attachment hash in the old database"))?;
            // Content moves under its hash; the hash is checked whenever it is read.
            tx.execute(
                "INSERT OR IGNORE INTO blobs (sha256, idx, data)
                 SELECT ?1, idx, data FROM legacy_attachment_chunks WHERE attachment_id = ?2",
                params![sha256.as_slice(), old_id],
            )?;
            let target = RecordId::from(parse::<outpost_proto::AttachmentId>(&old_id)?);
            let inner = Payload::AttachmentAdded(AttachmentAdded {
                patient: id(r, 1)?,
                encounter: opt_id(r, 2)?,
                file_name: r.get(3)?,
                media_type: r.get(4)?,
                size: u64::try_from(r.get::<_, i64>(5)?).unwrap_or(0),
                sha256,
            });
            wrap(tx, author, target, id(r, 8)?, r.get(7)?, &inner).map(|_| ())
        },
    )
}

/// Records the old trail's length and head hash (or where it was already broken), so any
/// later change to it is caught by verification.
fn seal_audit(tx: &Connection, author: &Author<'_>) -> Result<(), StoreError> {
    let seal = seal_text(tx)?;
    oplog::append(
        tx,
        author,
        RecordId([0; 16]),
        &Payload::Audit(AuditEvent {
            action: AuditAction::LegacyAuditSealed,
            patient: None,
            subject: None,
            at: None,
            detail: Some(seal),
        }),
    )?;
    Ok(())
}

fn collect<T>(
    conn: &Connection,
    sql: &str,
    f: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>, StoreError> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map([], f)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One entry of the pre-signature audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LegacyEntry {
    pub seq: i64,
    pub at: i64,
    pub actor: Option<String>,
    pub action: String,
    pub record_kind: Option<String>,
    pub record_id: Option<String>,
}

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Schema 2's audit entry hash (kept exactly, to check the old chain).
fn entry_hash(prev: &str, e: &LegacyEntry) -> String {
    let mut h = Sha256::new();
    h.update(b"outpost/v1/audit");
    let mut field = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_be_bytes());
        h.update(bytes);
    };
    field(&e.seq.to_be_bytes());
    field(&e.at.to_be_bytes());
    let optional = |v: &Option<String>| {
        v.as_ref()
            .map_or_else(|| vec![0u8], |s| [&[1u8][..], s.as_bytes()].concat())
    };
    field(&optional(&e.actor));
    field(e.action.as_bytes());
    field(&optional(&e.record_kind));
    field(&optional(&e.record_id));
    field(prev.as_bytes());
    outpost_proto::ids::to_hex(&h.finalize())
}

/// Checks the old hash chain in `table`; its length and head hash.
fn chain_of(conn: &Connection, table: &str) -> Result<(i64, String), StoreError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT seq, at, actor, action, record_kind, record_id, prev_hash, hash FROM {table} ORDER BY rowid"
    ))?;
    let mut rows = stmt.query([])?;
    let mut expected = 1;
    let mut prev = GENESIS.to_owned();
    while let Some(row) = rows.next()? {
        let entry = LegacyEntry {
            seq: row.get(0)?,
            at: row.get(1)?,
            actor: row.get(2)?,
            action: row.get(3)?,
            record_kind: row.get(4)?,
            record_id: row.get(5)?,
        };
        let stored_prev: String = row.get(6)?;
        let stored: String = row.get(7)?;
        let reason = if entry.seq != expected {
            Some("entry missing or out of order")
        } else if stored_prev != prev {
            Some("does not link to the previous entry")
        } else if entry_hash(&prev, &entry) != stored {
            Some("entry was altered")
        } else {
            None
        };
        if let Some(reason) = reason {
            return Err(StoreError::AuditBroken {
                seq: expected,
                reason,
            });
        }
        prev = stored;
        expected += 1;
    }
    Ok((expected - 1, prev))
}

/// What the seal records of the old trail: its length and head hash, or where its chain was
/// already broken when it was imported.
fn seal_text(conn: &Connection) -> Result<String, StoreError> {
    match chain_of(conn, "legacy_audit") {
        Ok((entries, head)) => Ok(format!("entries={entries} head={head}")),
        Err(StoreError::AuditBroken { seq, .. }) => Ok(format!("broken_at={seq}")),
        Err(e) => Err(e),
    }
}

/// Checks the audit chain of a schema 2 database (a version 1 backup) as schema 2 did.
pub(crate) fn verify_schema2_audit(conn: &Connection) -> Result<(), StoreError> {
    chain_of(conn, "audit").map(|_| ())
}

/// Checks the old audit trail against the seal recorded when it was imported; its length.
pub(crate) fn verify_sealed_audit(conn: &Connection) -> Result<u64, StoreError> {
    let exists: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'legacy_audit')",
        [],
        |r| r.get(0),
    )?;
    // Every seal, in log order. Only the import writes one, once; a second is someone's
    // attempt to vouch for an edited trail.
    let mut seals = Vec::new();
    {
        let mut stmt = conn.prepare(
            "SELECT bytes FROM ops WHERE kind = ?1 ORDER BY hlc_wall, hlc_counter, device, seq",
        )?;
        let mut rows = stmt.query([i64::from(outpost_proto::OpKind::AUDIT.0)])?;
        while let Some(row) = rows.next()? {
            let op = outpost_proto::Operation::decode(row.get(0)?)
                .map_err(|_| StoreError::Corrupt("operation"))?;
            if let Ok(Payload::Audit(a)) = op.payload()
                && a.action == AuditAction::LegacyAuditSealed
            {
                seals.push((op, a.detail));
            }
        }
    }
    let changed = |seq| StoreError::AuditBroken {
        seq,
        reason: "the pre-signature audit trail changed since it was sealed",
    };
    match (exists, seals.as_slice()) {
        (false, []) => return Ok(0),
        // Sealed, and the table is gone: the old trail was deleted.
        (false, _) => return Err(changed(0)),
        (true, []) => {
            return Err(StoreError::Corrupt(
                "the pre-signature audit trail was never sealed",
            ));
        }
        (true, [_, second, ..]) => {
            return Err(StoreError::LogBroken {
                device: second.0.header().device,
                seq: second.0.header().seq,
                reason: "a second seal of the pre-signature audit trail",
            });
        }
        (true, [(_, seal)]) => {
            if Some(seal_text(conn)?) != *seal {
                return Err(changed(0));
            }
        }
    }
    Ok(conn
        .query_row("SELECT count(*) FROM legacy_audit", [], |r| {
            r.get::<_, i64>(0)
        })?
        .try_into()
        .unwrap_or(0))
}

/// The pre-signature audit entries, newest first, for the audit view.
pub(crate) fn entries(conn: &Connection, limit: u32) -> Result<Vec<LegacyEntry>, StoreError> {
    let exists: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'legacy_audit')",
        [],
        |r| r.get(0),
    )?;
    if !exists {
        return Ok(Vec::new());
    }
    collect(
        conn,
        &format!(
            "SELECT seq, at, actor, action, record_kind, record_id FROM legacy_audit ORDER BY seq DESC LIMIT {limit}"
        ),
        |r| {
            Ok(LegacyEntry {
                seq: r.get(0)?,
                at: r.get(1)?,
                actor: r.get(2)?,
                action: r.get(3)?,
                record_kind: r.get(4)?,
                record_id: r.get(5)?,
            })
        },
    )
}
