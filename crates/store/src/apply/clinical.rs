//! Projecting allergies, medications and problems, and vitals entered in error. Every value
//! comes from the operation; where two devices end the same record concurrently (two nurses
//! remove one allergy), the earlier operation is kept (on a tie of times, the lower hash),
//! whatever order they arrive in.

use outpost_proto::{
    OpHash, PatientId, RecordId,
    payload::{AllergyRecorded, MedicationPrescribed, NoKnownAllergies, ProblemAdded},
};
use rusqlite::{Connection, OptionalExtension, params};

use super::{Attribution, check_encounter, other_patient, require_patient};
use crate::StoreError;

pub(super) fn allergy_recorded(
    conn: &Connection,
    target: RecordId,
    p: &AllergyRecorded,
    by: Attribution,
) -> Result<(), StoreError> {
    require_patient(conn, p.patient)?;
    conn.execute(
        "INSERT INTO allergies (id, patient_id, substance, code, reaction, severity, recorded_at, recorded_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            target.to_hex(),
            p.patient.to_hex(),
            p.substance,
            p.code,
            p.reaction,
            p.severity.as_str(),
            by.at,
            by.by.to_hex()
        ],
    )?;
    Ok(())
}

/// The patient a row of `table` belongs to (`None`: no such row).
fn owner(conn: &Connection, table: &str, id: RecordId) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row(
            &format!("SELECT patient_id FROM {table} WHERE id = ?1"),
            [id.to_hex()],
            |r| r.get(0),
        )
        .optional()?)
}

/// Checks that `target` is a row of `table` that belongs to `patient`.
fn require_own(
    conn: &Connection,
    table: &'static str,
    what: &'static str,
    target: RecordId,
    patient: PatientId,
) -> Result<(), StoreError> {
    match owner(conn, table, target)? {
        None => Err(StoreError::NotFound(what)),
        Some(p) if p != patient.to_hex() => Err(other_patient(what)),
        Some(_) => Ok(()),
    }
}

/// A record that can be ended once (an allergy removed, a prescription stopped, a problem
/// resolved, a vital struck out as entered in error): its table, what people call it, and the
/// prefix of its ending columns.
pub(super) struct Ending {
    table: &'static str,
    what: &'static str,
    column: &'static str,
}

pub(super) const ALLERGY_REMOVED: Ending = Ending {
    table: "allergies",
    what: "allergy",
    column: "removed",
};
pub(super) const MEDICATION_STOPPED: Ending = Ending {
    table: "medications",
    what: "medication",
    column: "stopped",
};
pub(super) const VITAL_IN_ERROR: Ending = Ending {
    table: "vitals",
    what: "vital",
    column: "error",
};
pub(super) const PROBLEM_RESOLVED: Ending = Ending {
    table: "problems",
    what: "problem",
    column: "resolved",
};

/// Ends `target` (of `patient`) as of the operation `hash` at `by`, with `reason`. Where two
/// devices end it concurrently, the earliest ending is kept, and on a tie of times the lower
/// hash: the same row whatever order the operations arrive in.
pub(super) fn ended(
    conn: &Connection,
    ending: &Ending,
    target: RecordId,
    patient: PatientId,
    reason: &str,
    by: Attribution,
    hash: &OpHash,
) -> Result<(), StoreError> {
    let Ending {
        table,
        what,
        column,
    } = ending;
    require_own(conn, table, what, target, patient)?;
    conn.execute(
        &format!(
            "UPDATE {table} SET {column}_at = ?2, {column}_by = ?3, {column}_reason = ?4, {column}_op = ?5
             WHERE id = ?1 AND ({column}_at IS NULL OR {column}_at > ?2
                                OR ({column}_at = ?2 AND {column}_op > ?5))"
        ),
        params![target.to_hex(), by.at, by.by.to_hex(), reason, hash.0.as_slice()],
    )?;
    Ok(())
}

pub(super) fn no_known_allergies(
    conn: &Connection,
    target: RecordId,
    p: &NoKnownAllergies,
    by: Attribution,
    hash: &OpHash,
) -> Result<(), StoreError> {
    if target.0 != p.patient.0 {
        return Err(other_patient("patient"));
    }
    require_patient(conn, p.patient)?;
    conn.execute(
        "INSERT INTO allergy_reviews (op_hash, patient_id, recorded_at, recorded_by)
         VALUES (?1, ?2, ?3, ?4)",
        params![hash.0.as_slice(), p.patient.to_hex(), by.at, by.by.to_hex()],
    )?;
    Ok(())
}

pub(super) fn medication_prescribed(
    conn: &Connection,
    target: RecordId,
    p: &MedicationPrescribed,
    by: Attribution,
) -> Result<(), StoreError> {
    check_encounter(conn, p.patient, p.encounter)?;
    conn.execute(
        "INSERT INTO medications (id, patient_id, encounter_id, atc, drug, dose, route, frequency,
                                  duration, instructions, override_reason, prescribed_at, prescribed_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        params![
            target.to_hex(),
            p.patient.to_hex(),
            p.encounter.map(|e| e.to_hex()),
            p.atc,
            p.drug,
            p.dose,
            p.route,
            p.frequency,
            p.duration,
            p.instructions,
            p.override_reason,
            by.at,
            by.by.to_hex()
        ],
    )?;
    Ok(())
}

pub(super) fn problem_added(
    conn: &Connection,
    target: RecordId,
    p: &ProblemAdded,
    by: Attribution,
) -> Result<(), StoreError> {
    check_encounter(conn, p.patient, p.encounter)?;
    conn.execute(
        "INSERT INTO problems (id, patient_id, encounter_id, code, title, onset, recorded_at, recorded_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            target.to_hex(),
            p.patient.to_hex(),
            p.encounter.map(|e| e.to_hex()),
            p.code,
            p.title,
            p.onset,
            by.at,
            by.by.to_hex()
        ],
    )?;
    Ok(())
}
