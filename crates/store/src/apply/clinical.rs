//! Projecting allergies and medications. Every value comes from the operation; where two
//! devices end the same record concurrently (two nurses remove one allergy), the earlier
//! operation's time is kept, whatever order they arrive in.

use outpost_proto::{
    OpHash, PatientId, RecordId,
    payload::{
        AllergyRecorded, AllergyRemoved, MedicationPrescribed, MedicationStopped, NoKnownAllergies,
    },
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

pub(super) fn allergy_removed(
    conn: &Connection,
    target: RecordId,
    p: &AllergyRemoved,
    by: Attribution,
) -> Result<(), StoreError> {
    require_own(conn, "allergies", "allergy", target, p.patient)?;
    conn.execute(
        "UPDATE allergies SET removed_at = ?2, removed_by = ?3, removed_reason = ?4
         WHERE id = ?1 AND (removed_at IS NULL OR removed_at > ?2)",
        params![target.to_hex(), by.at, by.by.to_hex(), p.reason],
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

pub(super) fn medication_stopped(
    conn: &Connection,
    target: RecordId,
    p: &MedicationStopped,
    by: Attribution,
) -> Result<(), StoreError> {
    require_own(conn, "medications", "medication", target, p.patient)?;
    conn.execute(
        "UPDATE medications SET stopped_at = ?2, stopped_by = ?3, stopped_reason = ?4
         WHERE id = ?1 AND (stopped_at IS NULL OR stopped_at > ?2)",
        params![target.to_hex(), by.at, by.by.to_hex(), p.reason],
    )?;
    Ok(())
}
