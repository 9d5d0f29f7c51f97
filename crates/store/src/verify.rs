//! Checking the whole log, and rebuilding the projection tables from it.
//!
//! [`verify_log`] is what `outpost audit verify` runs: every device's log links without a gap,
//! every operation's stored hash and columns match its bytes, every signature verifies under
//! its author's registered key, every author had the role for what they did, the pre-signature
//! audit trail (if any) matches the seal recorded when it was imported, and the projection
//! tables are exactly what replaying the log produces. The first failure names the operation.

use outpost_proto::{DeviceId, OpHash, OpKind, Operation, Payload};
use rusqlite::Connection;

use crate::{StoreError, apply, backup::content_digests, legacy, trust::TrustedKeys};

/// The projection tables, in the order they are cleared (no table references a later one).
pub const PROJECTIONS: &[&str] = &[
    "alert_acks",
    "clinic_settings",
    "refused",
    "membership_events",
    "workspace",
    "invites",
    "epochs",
    "receipts",
    "patient_links",
    "attachment_uploads",
    "note_revision_bases",
    "note_revisions",
    "addenda",
    "notes",
    "allergies",
    "allergy_reviews",
    "medications",
    "problems",
    "vitals",
    "attachments",
    "encounters",
    "patient_field_replaced",
    "patient_field_heads",
    "patients",
    "devices",
    "users",
];

/// What a verified log holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct LogReport {
    /// Signed operations checked.
    #[cfg_attr(feature = "specta", specta(type = f64))]
    pub operations: u64,
    /// Devices whose logs they are.
    #[cfg_attr(feature = "specta", specta(type = f64))]
    pub devices: u64,
    /// Entries of the pre-signature audit trail checked.
    #[cfg_attr(feature = "specta", specta(type = f64))]
    pub legacy_entries: u64,
}

fn broken(device: DeviceId, seq: u64, reason: &'static str) -> StoreError {
    StoreError::LogBroken {
        device,
        seq,
        reason,
    }
}

/// Verifies the whole log (see the module docs).
pub fn verify_log(conn: &Connection) -> Result<LogReport, StoreError> {
    let (operations, devices) = verify_links(conn)?;
    verify_signatures(conn)?;
    let legacy_entries = legacy::verify_sealed_audit(conn)?;
    verify_projections(conn)?;
    Ok(LogReport {
        operations,
        devices,
        legacy_entries,
    })
}

/// Per device: sequence numbers 1, 2, 3… without gaps; each operation links to the previous
/// one's hash; the stored hash and indexed columns match the bytes.
fn verify_links(conn: &Connection) -> Result<(u64, u64), StoreError> {
    let mut stmt = conn.prepare(
        "SELECT device, seq, hlc_wall, hlc_counter, actor, kind, target, hash, bytes, patient
         FROM ops ORDER BY device, seq",
    )?;
    let mut rows = stmt.query([])?;
    let holes: std::collections::HashSet<(DeviceId, u64)> = {
        let mut h = conn.prepare("SELECT device, seq FROM holes")?;
        let rows = h.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        rows.filter_map(Result::ok)
            .filter_map(|(d, s)| {
                Some((
                    DeviceId(outpost_proto::ids::from_hex::<16>(&d)?),
                    u64::try_from(s).ok()?,
                ))
            })
            .collect()
    };
    let mut count = 0u64;
    let mut devices = 0u64;
    let mut current: Option<(String, u64, OpHash, outpost_proto::Hlc)> = None;
    while let Some(row) = rows.next()? {
        let device_hex: String = row.get(0)?;
        let seq = u64::try_from(row.get::<_, i64>(1)?).unwrap_or(0);
        let device = DeviceId(
            outpost_proto::ids::from_hex::<16>(&device_hex)
                .ok_or(StoreError::Corrupt("operation log device column"))?,
        );
        let op = Operation::decode(row.get(8)?)
            .map_err(|_| broken(device, seq, "the operation does not decode"))?;
        let h = op.header();
        let columns_match = h.device == device
            && h.seq == seq
            && i64::try_from(h.hlc.wall_ms).ok() == Some(row.get::<_, i64>(2)?)
            && i64::from(h.hlc.counter) == row.get::<_, i64>(3)?
            && h.actor.to_hex() == row.get::<_, String>(4)?
            && i64::from(h.kind.0) == row.get::<_, i64>(5)?
            && h.target.to_hex() == row.get::<_, String>(6)?;
        // The patient column decides what the audit view shows for a patient: it must be
        // the one the content names.
        let patient_matches = op
            .payload()
            .map(|p| p.patient(h.target).map(|id| id.to_hex()))
            .ok()
            == Some(row.get::<_, Option<String>>(9)?);
        if !columns_match || !patient_matches {
            return Err(broken(
                device,
                seq,
                "its indexed columns differ from its bytes",
            ));
        }
        if op.hash().0.as_slice() != row.get::<_, Vec<u8>>(7)?.as_slice() {
            return Err(broken(
                device,
                seq,
                "its stored hash differs from its bytes",
            ));
        }
        let (expected, previous_clock) = match &current {
            Some((d, last, hash, clock)) if *d == device_hex => ((last + 1, *hash), Some(*clock)),
            _ => {
                devices += 1;
                ((1, OpHash::GENESIS), None)
            }
        };
        // Places whose envelope arrived unreadable are recorded holes: reported (by the sync
        // centre), and the operation after one cannot be checked against it.
        let after_hole =
            seq > expected.0 && (expected.0..seq).all(|s| holes.contains(&(device, s)));
        if seq != expected.0 && !after_hole {
            return Err(broken(
                device,
                expected.0,
                "missing: the log has a gap here",
            ));
        }
        if !after_hole && h.prev != expected.1 {
            return Err(broken(
                device,
                seq,
                "does not link to the previous operation",
            ));
        }
        // A device's clock only moves forward: a value dated back (or forward and then back)
        // along one device's log was not written by Outpost.
        if previous_clock.is_some_and(|c| h.hlc <= c) {
            return Err(broken(
                device,
                seq,
                "its clock goes back along the device's log",
            ));
        }
        current = Some((device_hex, seq, op.hash(), h.hlc));
        count += 1;
    }
    Ok((count, devices))
}

/// Every signature under its author's registered key (the registrations themselves verified
/// in log order). Whether each author had the right to act is judged by replaying the log
/// (`verify_projections`): what was not allowed must be listed as refused, and nothing else.
fn verify_signatures(conn: &Connection) -> Result<(), StoreError> {
    let keys = TrustedKeys::load(conn)?;
    let mut stmt = conn.prepare("SELECT bytes FROM ops")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let op = Operation::decode(row.get(0)?).map_err(|_| StoreError::Corrupt("operation"))?;
        let h = *op.header();
        let payload = op
            .payload()
            .map_err(|_| broken(h.device, h.seq, "its content does not decode"))?;
        keys.verify_signature(&op, &payload)
            .map_err(|reason| broken(h.device, h.seq, reason))?;
    }
    Ok(())
}

/// Whether an operation changes who may act (a registration or removal, imported or not;
/// an import may carry nothing else of the kind, see `authz`).
pub(crate) fn is_membership(payload: &Payload) -> bool {
    match payload {
        Payload::UserAdded(_)
        | Payload::UserRemoved(_)
        | Payload::UserRoleChanged(_)
        | Payload::DeviceAdmitted(_) => true,
        Payload::Legacy(l) => l.kind == OpKind::USER_ADDED.0 || l.kind == OpKind::USER_REMOVED.0,
        _ => false,
    }
}

/// Replays the log into the projections inside a savepoint and compares: tables edited by hand
/// (a row removed, a value changed) differ from what the log produces.
fn verify_projections(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch("SAVEPOINT verify_projections")?;
    let outcome = (|| {
        let before = content_digests(conn, PROJECTIONS)?;
        rebuild_projections(conn)?;
        let after = content_digests(conn, PROJECTIONS)?;
        Ok::<_, StoreError>(
            before
                .iter()
                .zip(&after)
                .position(|(b, a)| b != a)
                .map(|i| PROJECTIONS[i]),
        )
    })();
    conn.execute_batch("ROLLBACK TO verify_projections; RELEASE verify_projections")?;
    match outcome? {
        None => Ok(()),
        Some(table) => Err(StoreError::Corrupt(edited_message(table))),
    }
}

/// A static message naming the edited table (error messages carry no runtime strings).
fn edited_message(table: &str) -> &'static str {
    match table {
        "note_revision_bases" => {
            "the note_revision_bases table differs from the signed log: it was edited"
        }
        "note_revisions" => "the note_revisions table differs from the signed log: it was edited",
        "addenda" => "the addenda table differs from the signed log: it was edited",
        "notes" => "the notes table differs from the signed log: it was edited",
        "vitals" => "the vitals table differs from the signed log: it was edited",
        "allergies" | "allergy_reviews" => {
            "the allergy tables differ from the signed log: they were edited"
        }
        "medications" => "the medications table differs from the signed log: it was edited",
        "problems" => "the problems table differs from the signed log: it was edited",
        "attachments" => "the attachments table differs from the signed log: it was edited",
        "encounters" => "the encounters table differs from the signed log: it was edited",
        "patients" | "patient_field_heads" | "patient_field_replaced" => {
            "the patients tables differ from the signed log: they were edited"
        }
        "devices" => "the devices table differs from the signed log: it was edited",
        "refused" => {
            "the list of refused operations differs from what the signed log gives: it was edited"
        }
        "workspace" | "invites" | "epochs" | "membership_events" => {
            "the workspace tables differ from the signed log: they were edited"
        }
        "receipts" => "the receipts table differs from the signed log: it was edited",
        "patient_links" => "the patient_links table differs from the signed log: it was edited",
        "attachment_uploads" => {
            "the attachment_uploads table differs from the signed log: it was edited"
        }
        _ => "the users table differs from the signed log: it was edited",
    }
}

/// Clears every projection table and replays the whole log through `apply`, in log order.
/// The caller provides the transaction.
///
/// A device's removal cuts its log at a sequence number, whatever the clock says, so an
/// operation of it that comes before the removal on the clock but after the cut-off in its
/// log must be refused too: when the first replay ends with such cut-offs, the log is
/// replayed again with them known from the start, until they no longer change.
pub fn rebuild_projections(conn: &Connection) -> Result<u64, StoreError> {
    conn.execute("DELETE FROM replay_cutoffs", [])?;
    let mut n = 0;
    for _ in 0..4 {
        n = replay(conn)?;
        let changed = conn.execute(
            "INSERT INTO replay_cutoffs (device, after_seq)
             SELECT id, removed_after FROM main.devices WHERE removed_after IS NOT NULL
             ON CONFLICT (device) DO UPDATE SET after_seq = excluded.after_seq
             WHERE after_seq != excluded.after_seq",
            [],
        )?;
        let stale: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM replay_cutoffs k WHERE NOT EXISTS (
                SELECT 1 FROM main.devices d WHERE d.id = k.device AND d.removed_after = k.after_seq))",
            [],
            |r| r.get(0),
        )?;
        if changed == 0 && !stale {
            break;
        }
        if stale {
            // A cut-off from a removal that this replay refused: forget it and replay again.
            conn.execute(
                "DELETE FROM replay_cutoffs WHERE NOT EXISTS (
                    SELECT 1 FROM main.devices d WHERE d.id = device AND d.removed_after = after_seq)",
                [],
            )?;
        }
    }
    conn.execute("DELETE FROM replay_cutoffs", [])?;
    Ok(n)
}

fn replay(conn: &Connection) -> Result<u64, StoreError> {
    for table in PROJECTIONS {
        conn.execute(&format!("DELETE FROM main.{table}"), [])?;
    }
    let mut stmt =
        conn.prepare("SELECT bytes FROM ops ORDER BY hlc_wall, hlc_counter, device, seq")?;
    let mut rows = stmt.query([])?;
    let mut n = 0u64;
    while let Some(row) = rows.next()? {
        let op = Operation::decode(row.get(0)?).map_err(|_| StoreError::Corrupt("operation"))?;
        let h = *op.header();
        let payload = op
            .payload()
            .map_err(|_| broken(h.device, h.seq, "its content does not decode"))?;
        match apply::apply(conn, &op, &payload) {
            Ok(_) => {}
            // In clock order, what an operation refers to comes before it; when it does not
            // (its record was refused, or never written), the operation is refused too.
            Err(StoreError::NotFound(_)) => {
                conn.execute(
                    "INSERT OR REPLACE INTO refused (hash, device, seq, reason) VALUES (?1, ?2, ?3, ?4)",
                    rusqlite::params![
                        op.hash().0.as_slice(),
                        h.device.to_hex(),
                        i64::try_from(h.seq).unwrap_or(i64::MAX),
                        "it refers to a record that is not in the chart"
                    ],
                )?;
            }
            Err(e) => return Err(e),
        }
        n += 1;
    }
    Ok(n)
}
