//! Encounters: a visit or consult of one patient, opened and finished.

use outpost_proto::{
    EncounterId, EncounterKind, PatientId, Payload, RecordId, UserId,
    payload::{EncounterFinished, EncounterOpened, EncounterReasonSet},
};
use rusqlite::Row;
use serde::{Deserialize, Serialize};

use super::id_col;
use crate::{Store, StoreError};

/// Where an encounter stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum EncounterStatus {
    /// Open: notes, vitals and files may be added to it.
    InProgress,
    /// Finished.
    Finished,
}

impl EncounterStatus {
    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "in_progress" => Ok(Self::InProgress),
            "finished" => Ok(Self::Finished),
            other => Err(StoreError::UnknownCode {
                field: "encounter status",
                code: other.to_owned(),
            }),
        }
    }
}

/// An encounter (a visit or consult).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Encounter {
    /// Stable id.
    pub id: EncounterId,
    /// The patient.
    pub patient_id: PatientId,
    /// How it happens.
    pub kind: EncounterKind,
    /// Where it stands.
    pub status: EncounterStatus,
    /// Start (UTC ms).
    #[cfg_attr(feature = "specta", specta(type = f64))]
    pub started_at: i64,
    /// End (UTC ms), once finished.
    #[cfg_attr(feature = "specta", specta(type = Option<f64>))]
    pub ended_at: Option<i64>,
    /// The practitioner's user id.
    pub practitioner: UserId,
    /// Recorded before operations were signed (attribution unverified).
    pub legacy: bool,
    /// Why the patient came (the chief complaint), once given.
    pub reason: Option<String>,
}

/// A reason for a visit as kept: trimmed, 1 to 500 characters. Checked before an encounter is
/// opened with one, so a refused reason never leaves an encounter behind.
pub fn check_reason(reason: &str) -> Result<String, StoreError> {
    super::required("reason", reason)
}

pub(crate) const ENCOUNTER_COLUMNS: &str =
    "id, patient_id, kind, status, started_at, ended_at, practitioner, legacy, reason";

/// A row of `ENCOUNTER_COLUMNS`; unknown kinds and statuses are errors, never substituted.
pub(crate) fn encounter_from_row(r: &Row<'_>) -> Result<Encounter, StoreError> {
    let kind: String = r.get(2)?;
    let status: String = r.get(3)?;
    Ok(Encounter {
        id: id_col(r, 0)?,
        patient_id: id_col(r, 1)?,
        kind: EncounterKind::from_name(&kind).ok_or(StoreError::UnknownCode {
            field: "encounter kind",
            code: kind,
        })?,
        status: EncounterStatus::parse(&status)?,
        started_at: r.get(4)?,
        ended_at: r.get(5)?,
        practitioner: id_col(r, 6)?,
        legacy: r.get(7)?,
        reason: r.get(8)?,
    })
}

impl Store {
    /// Opens an encounter for a patient, by the current user.
    pub fn add_encounter(
        &mut self,
        patient_id: PatientId,
        kind: EncounterKind,
    ) -> Result<Encounter, StoreError> {
        let id = EncounterId::random(&mut rand_core::OsRng);
        let op = self.write(
            RecordId::from(id),
            &Payload::EncounterOpened(EncounterOpened {
                patient: patient_id,
                kind,
            }),
        )?;
        Ok(Encounter {
            id,
            patient_id,
            kind,
            status: EncounterStatus::InProgress,
            started_at: i64::try_from(op.header().hlc.wall_ms).unwrap_or(i64::MAX),
            ended_at: None,
            practitioner: self.user.id,
            legacy: false,
            reason: None,
        })
    }

    /// Sets (or corrects) why the patient came: the chief complaint, in the clinician's words.
    pub fn set_encounter_reason(
        &mut self,
        id: EncounterId,
        reason: &str,
    ) -> Result<Encounter, StoreError> {
        let reason = check_reason(reason)?;
        let current = self.encounter(id)?;
        self.write(
            RecordId::from(id),
            &Payload::EncounterReasonSet(EncounterReasonSet {
                patient: current.patient_id,
                reason,
            }),
        )?;
        self.encounter(id)
    }

    /// Finishes an encounter.
    pub fn finish_encounter(&mut self, id: EncounterId) -> Result<Encounter, StoreError> {
        let current = self.encounter(id)?;
        if current.status == EncounterStatus::Finished {
            return Err(StoreError::Invalid {
                field: "encounter",
                reason: "already finished",
            });
        }
        self.write(
            RecordId::from(id),
            &Payload::EncounterFinished(EncounterFinished {
                patient: current.patient_id,
            }),
        )?;
        self.encounter(id)
    }

    /// One encounter.
    pub fn encounter(&self, id: EncounterId) -> Result<Encounter, StoreError> {
        self.require_care_team("reading encounters")?;
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {ENCOUNTER_COLUMNS} FROM encounters WHERE id = ?1"
        ))?;
        let mut rows = stmt.query([id.to_hex()])?;
        let row = rows.next()?.ok_or(StoreError::NotFound("encounter"))?;
        encounter_from_row(row)
    }
}
