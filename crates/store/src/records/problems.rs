//! The problem list: diagnoses coded with ICD-10-CM (see [`outpost_clinical::diagnoses`]), or
//! written as text when no code fits (and shown as uncoded), with onset, and resolved with a
//! reason. Signed operations like every chart record.

use outpost_clinical::diagnoses;
use outpost_proto::{
    EncounterId, PatientId, Payload, ProblemId, RecordId, UserId,
    payload::{ProblemAdded, ProblemResolved},
};
use rusqlite::Row;
use serde::{Deserialize, Serialize};

use super::{id_col, opt_id_col, patients::valid_date, required};
use crate::{Store, StoreError};

/// One entry of the problem list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Problem {
    /// Stable id.
    pub id: ProblemId,
    /// The patient.
    pub patient_id: PatientId,
    /// The encounter whose assessment added it, if any.
    pub encounter_id: Option<EncounterId>,
    /// ICD-10-CM code, or `None` when written as text only.
    pub code: Option<String>,
    /// The diagnosis as shown.
    pub title: String,
    /// When it began (`YYYY-MM-DD`), if known.
    pub onset: Option<String>,
    /// When recorded (UTC ms).
    #[cfg_attr(feature = "specta", specta(type = f64))]
    pub recorded_at: i64,
    /// Who recorded it.
    pub recorded_by: UserId,
    /// When resolved, if it is.
    #[cfg_attr(feature = "specta", specta(type = Option<f64>))]
    pub resolved_at: Option<i64>,
    /// Why (resolved, entered in error).
    pub resolved_reason: Option<String>,
}

const PROBLEM_COLUMNS: &str = "id, patient_id, encounter_id, code, title, onset, recorded_at, recorded_by, resolved_at, resolved_reason";

fn problem_from_row(r: &Row<'_>) -> rusqlite::Result<Problem> {
    Ok(Problem {
        id: id_col(r, 0)?,
        patient_id: id_col(r, 1)?,
        encounter_id: opt_id_col(r, 2)?,
        code: r.get(3)?,
        title: r.get(4)?,
        onset: r.get(5)?,
        recorded_at: r.get(6)?,
        recorded_by: id_col(r, 7)?,
        resolved_at: r.get(8)?,
        resolved_reason: r.get(9)?,
    })
}

impl Store {
    /// Adds a problem: `diagnosis` is an ICD-10-CM code Outpost ships (then its title is
    /// used), or text for a problem no code fits (kept uncoded). `onset`, when given, must be a
    /// real date not after today.
    pub fn add_problem(
        &mut self,
        patient_id: PatientId,
        encounter_id: Option<EncounterId>,
        diagnosis: &str,
        onset: Option<&str>,
    ) -> Result<Problem, StoreError> {
        let diagnosis = diagnosis.trim();
        if diagnosis.is_empty() || diagnosis.chars().count() > 200 {
            return Err(StoreError::Invalid {
                field: "diagnosis",
                reason: "give an ICD-10 code or the diagnosis in words (at most 200 characters)",
            });
        }
        let onset = onset.map(str::trim).filter(|o| !o.is_empty());
        if let Some(o) = onset {
            let today = outpost_clinical::age::Date::from_unix_ms(self.now()).to_string();
            if !valid_date(o) || o > today.as_str() {
                return Err(StoreError::Invalid {
                    field: "onset",
                    reason: "a date YYYY-MM-DD, not after today",
                });
            }
        }
        let coded = diagnoses::by_code(diagnosis);
        let id = ProblemId::random(&mut rand_core::OsRng);
        let payload = Payload::ProblemAdded(ProblemAdded {
            patient: patient_id,
            encounter: encounter_id,
            code: coded.map(|d| d.code.clone()),
            title: coded.map_or_else(|| diagnosis.to_owned(), |d| d.title.clone()),
            onset: onset.map(str::to_owned),
        });
        self.write(RecordId::from(id), &payload)?;
        self.problem(id)
    }

    /// Resolves a problem (or marks it entered in error), saying why.
    pub fn resolve_problem(&mut self, id: ProblemId, reason: &str) -> Result<Problem, StoreError> {
        let reason = required("reason", reason)?;
        let current = self.problem(id)?;
        if current.resolved_at.is_some() {
            return Err(StoreError::Invalid {
                field: "problem",
                reason: "already resolved",
            });
        }
        let payload = Payload::ProblemResolved(ProblemResolved {
            patient: current.patient_id,
            reason,
        });
        self.write(RecordId::from(id), &payload)?;
        self.problem(id)
    }

    /// One problem.
    pub fn problem(&self, id: ProblemId) -> Result<Problem, StoreError> {
        self.require_care_team("reading the problem list")?;
        self.row_by_id(
            "problems",
            PROBLEM_COLUMNS,
            id.to_hex(),
            "problem",
            problem_from_row,
        )
    }

    /// A patient's problem list, active first, then resolved; newest first within each.
    pub fn problems_of(&self, patient_id: PatientId) -> Result<Vec<Problem>, StoreError> {
        self.require_care_team("reading the problem list")?;
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {PROBLEM_COLUMNS} FROM problems WHERE patient_id = ?1
             ORDER BY resolved_at IS NOT NULL, recorded_at DESC, id"
        ))?;
        let rows = stmt.query_map([patient_id.to_hex()], problem_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
