//! Clinical records, read from the projections and written as signed operations.
//!
//! - [`patients`]: registration, search, the audited chart read.
//! - [`encounters`]: visits and consults, opened and finished.
//! - [`notes`]: SOAP notes: revisions that are never overwritten, signing that binds the text
//!   the physician saw, signed addenda, signatures verified on every read.
//! - [`vitals`]: vital signs with LOINC codes, UCUM units and plausible ranges.
//! - [`allergies`]: allergies (and "no known drug allergies"), and prescriptions checked
//!   against them.
//! - [`problems`]: the problem list (ICD-10-CM coded diagnoses, with onset).
//! - [`conflicts`]: concurrent writes for a person to resolve; possible duplicate charts.

pub mod allergies;
pub mod conflicts;
pub mod encounters;
pub mod notes;
pub mod patients;
pub mod problems;
pub mod vitals;

use serde::{Deserialize, Serialize};

pub use allergies::{Allergy, AllergyStatus, Medication, NewPrescription};
pub use encounters::{Encounter, EncounterStatus};
pub use notes::{Addendum, Note, NoteRevision, Signature};
pub use outpost_clinical::age::Age;
pub use outpost_proto::{EncounterKind, Soap};
pub use patients::{NewPatient, Patient, PatientPage, SEARCH_PAGE, SEARCH_PAGE_MAX};
pub use problems::Problem;
pub use vitals::{InError, Vital, VitalKind};

/// A patient's chart as one read: the patient and everything recorded about them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Chart {
    /// The patient.
    pub patient: Patient,
    /// Their age today, as clinicians write it (`None` when the birth date is not a date
    /// before today).
    pub age: Option<Age>,
    /// Body mass index from the latest weight and height, when both are recorded.
    pub bmi: Option<f64>,
    /// Whether anyone asked about allergies, and what they found.
    pub allergy_status: AllergyStatus,
    /// Allergies, removed ones included (marked), oldest first.
    pub allergies: Vec<Allergy>,
    /// Prescriptions, current and stopped, newest first.
    pub medications: Vec<Medication>,
    /// The problem list: active first, then resolved.
    pub problems: Vec<Problem>,
    /// Encounters, newest first.
    pub encounters: Vec<Encounter>,
    /// Notes, newest first.
    pub notes: Vec<Note>,
    /// Vitals, oldest first (for trends).
    pub vitals: Vec<Vital>,
    /// For a child under five, the WHO growth z-scores of each day weight or length was
    /// measured, oldest first; empty for anyone else or without a birth date and sex.
    pub growth: Vec<GrowthPoint>,
    /// The WHO lines to draw the growth points on (weight-for-age, length/height-for-age) for
    /// the child's sex, when there are growth points.
    pub growth_curves: Option<GrowthCurves>,
    /// Attachments' metadata, newest first.
    pub attachments: Vec<crate::attachments::AttachmentInfo>,
}

/// A child's growth on one day: the day's last weight and length/height and their z-scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct GrowthPoint {
    /// When the later of the two was measured (Unix ms).
    #[cfg_attr(feature = "specta", specta(type = f64))]
    pub observed_at: i64,
    /// Age in completed days then.
    pub age_days: u32,
    /// The same age as clinicians write it (years, months).
    pub age: outpost_clinical::age::Age,
    /// Weight in kg, if measured that day.
    pub weight_kg: Option<f64>,
    /// Length or height in cm as measured, if measured that day.
    pub length_cm: Option<f64>,
    /// The z-scores.
    pub growth: outpost_clinical::growth::Growth,
}

/// A child's growth charts: the WHO lines, month by month to five years.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct GrowthCurves {
    /// Weight-for-age, kg.
    pub weight_for_age: Vec<outpost_clinical::growth::CurvePoint>,
    /// Length/height-for-age, cm.
    pub length_for_age: Vec<outpost_clinical::growth::CurvePoint>,
}

/// The longest text of a free-text field (a substance, a reaction, a dose, a reason).
const MAX_TEXT: usize = 500;

/// A required free-text field, trimmed: refused when empty or too long.
pub(crate) fn required(field: &'static str, text: &str) -> Result<String, crate::StoreError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(crate::StoreError::Invalid {
            field,
            reason: "is required",
        });
    }
    optional(field, text).map(Option::unwrap_or_default)
}

/// An optional free-text field, trimmed (empty is none): refused when too long.
pub(crate) fn optional(
    field: &'static str,
    text: &str,
) -> Result<Option<String>, crate::StoreError> {
    let text = text.trim();
    if text.chars().count() > MAX_TEXT {
        return Err(crate::StoreError::Invalid {
            field,
            reason: "is longer than 500 characters",
        });
    }
    Ok((!text.is_empty()).then(|| text.to_owned()))
}

impl crate::Store {
    /// The row of `table` with this id (`columns` read by `from_row`); `NotFound(what)` when
    /// there is none.
    pub(crate) fn row_by_id<T>(
        &self,
        table: &str,
        columns: &str,
        id: String,
        what: &'static str,
        from_row: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<T, crate::StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {columns} FROM {table} WHERE id = ?1"))?;
        let mut rows = stmt.query([id])?;
        match rows.next()? {
            Some(r) => Ok(from_row(r)?),
            None => Err(crate::StoreError::NotFound(what)),
        }
    }
}

/// Reads a hex id column into its typed id.
pub(crate) fn id_col<T: std::str::FromStr>(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<T> {
    let s: String = r.get(i)?;
    s.parse().map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            "not a valid id".into(),
        )
    })
}

/// Reads an optional hex id column.
pub(crate) fn opt_id_col<T: std::str::FromStr>(
    r: &rusqlite::Row<'_>,
    i: usize,
) -> rusqlite::Result<Option<T>> {
    let s: Option<String> = r.get(i)?;
    s.map(|s| {
        s.parse().map_err(|_| {
            rusqlite::Error::FromSqlConversionFailure(
                i,
                rusqlite::types::Type::Text,
                "not a valid id".into(),
            )
        })
    })
    .transpose()
}

/// Reads a 32-byte hash column.
pub(crate) fn hash_col(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<outpost_proto::OpHash> {
    let b: Vec<u8> = r.get(i)?;
    b.try_into().map(outpost_proto::OpHash).map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Blob,
            "not a 32-byte hash".into(),
        )
    })
}
