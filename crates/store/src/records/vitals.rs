//! Vital signs: LOINC codes, UCUM units, and plausible ranges that catch typing slips (a
//! temperature of 375 is refused, 37.5 is not).

use outpost_proto::{
    EncounterId, PatientId, Payload, RecordId, UserId, VitalId,
    payload::{VitalEnteredInError, VitalRecorded},
};
use rusqlite::{OptionalExtension, Row};
use serde::{Deserialize, Serialize};

use super::{id_col, opt_id_col};
use crate::{Store, StoreError};

/// A kind of vital sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum VitalKind {
    /// Blood pressure (systolic `value`, diastolic `value2`), LOINC 85354-9, mm[Hg].
    BloodPressure,
    /// Heart rate, LOINC 8867-4, /min.
    Pulse,
    /// Body temperature, LOINC 8310-5, Cel.
    Temperature,
    /// Oxygen saturation by pulse oximetry, LOINC 59408-5, %.
    Spo2,
    /// Respiratory rate, LOINC 9279-1, /min.
    RespiratoryRate,
    /// Body weight, LOINC 29463-7, kg.
    Weight,
    /// Body height, LOINC 8302-2, cm.
    Height,
    /// Blood glucose, LOINC 2339-0, mg/dL.
    Glucose,
    /// Mid-upper arm circumference, LOINC 56072-2, cm (screening children for wasting).
    Muac,
}

impl VitalKind {
    /// All kinds, in display order.
    pub const ALL: [Self; 9] = [
        Self::BloodPressure,
        Self::Pulse,
        Self::Temperature,
        Self::Spo2,
        Self::RespiratoryRate,
        Self::Weight,
        Self::Height,
        Self::Glucose,
        Self::Muac,
    ];

    /// The LOINC code.
    pub fn loinc(self) -> &'static str {
        match self {
            Self::BloodPressure => "85354-9",
            Self::Pulse => "8867-4",
            Self::Temperature => "8310-5",
            Self::Spo2 => "59408-5",
            Self::RespiratoryRate => "9279-1",
            Self::Weight => "29463-7",
            Self::Height => "8302-2",
            Self::Glucose => "2339-0",
            Self::Muac => "56072-2",
        }
    }

    /// The UCUM unit.
    pub fn unit(self) -> &'static str {
        match self {
            Self::BloodPressure => "mm[Hg]",
            Self::Pulse | Self::RespiratoryRate => "/min",
            Self::Temperature => "Cel",
            Self::Spo2 => "%",
            Self::Weight => "kg",
            Self::Height | Self::Muac => "cm",
            Self::Glucose => "mg/dL",
        }
    }

    fn plausible(self) -> (f64, f64) {
        match self {
            Self::BloodPressure => (20.0, 300.0),
            Self::Pulse => (10.0, 300.0),
            Self::Temperature => (25.0, 45.0),
            Self::Spo2 => (30.0, 100.0),
            Self::RespiratoryRate => (2.0, 80.0),
            Self::Weight => (0.2, 400.0),
            Self::Height => (20.0, 260.0),
            Self::Glucose => (10.0, 1500.0),
            Self::Muac => (5.0, 60.0),
        }
    }

    /// The kind for a LOINC code, if this build knows it.
    pub fn from_loinc(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.loinc() == code)
    }

    /// Parses a typed name (`bp`, `pulse`, `temp`, `spo2`, `rr`, `weight`, `height`, `glucose`,
    /// `muac`) or a LOINC code.
    pub fn parse(s: &str) -> Result<Self, StoreError> {
        Ok(match s {
            "bp" | "blood_pressure" => Self::BloodPressure,
            "pulse" | "hr" => Self::Pulse,
            "temp" | "temperature" => Self::Temperature,
            "spo2" => Self::Spo2,
            "rr" | "respiratory_rate" => Self::RespiratoryRate,
            "weight" => Self::Weight,
            "height" => Self::Height,
            "glucose" => Self::Glucose,
            "muac" => Self::Muac,
            code => {
                return Self::from_loinc(code).ok_or(StoreError::Invalid {
                    field: "vital",
                    reason: "unknown kind",
                });
            }
        })
    }

    /// Checks a reading: finite, within the plausible range, and two values exactly for blood
    /// pressure (systolic above diastolic).
    pub fn check(self, value: f64, value2: Option<f64>) -> Result<(), StoreError> {
        // Outpost records glucose in mg/dL; a reading under 20 is almost surely mmol/L.
        if self == Self::Glucose && value.is_finite() && value < 20.0 {
            return Err(StoreError::Invalid {
                field: "value",
                reason: "glucose is recorded in mg/dL: multiply a reading in mmol/L by 18 (5.5 mmol/L is 99 mg/dL)",
            });
        }
        let (lo, hi) = self.plausible();
        let in_range = |v: f64| v.is_finite() && (lo..=hi).contains(&v);
        if !in_range(value) || value2.is_some_and(|v| !in_range(v)) {
            return Err(StoreError::Invalid {
                field: "value",
                reason: "outside the plausible range for this vital",
            });
        }
        match (self == Self::BloodPressure, value2) {
            (true, Some(diastolic)) if diastolic >= value => Err(StoreError::Invalid {
                field: "value2",
                reason: "diastolic must be below systolic",
            }),
            (true, Some(_)) | (false, None) => Ok(()),
            _ => Err(StoreError::Invalid {
                field: "value2",
                reason: "blood pressure needs systolic and diastolic; others one value",
            }),
        }
    }
}

/// One recorded vital sign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Vital {
    /// Stable id.
    pub id: VitalId,
    /// The patient.
    pub patient_id: PatientId,
    /// The encounter, if any.
    pub encounter_id: Option<EncounterId>,
    /// What was measured.
    pub kind: VitalKind,
    /// The value (systolic for blood pressure).
    pub value: f64,
    /// Diastolic for blood pressure.
    pub value2: Option<f64>,
    /// UCUM unit.
    pub unit: String,
    /// When it was measured (UTC ms).
    #[cfg_attr(feature = "specta", specta(type = f64))]
    pub observed_at: i64,
    /// Who recorded it.
    pub recorded_by: UserId,
    /// Recorded before operations were signed (attribution unverified).
    pub legacy: bool,
    /// Outside the range used for the patient's age, and that range (on chart reads; worked
    /// out at each read, never stored). Never set on a reading entered in error.
    pub flag: Option<outpost_clinical::vitals::Flag>,
    /// Struck out as entered in error: who said so, when and why. It stays in the chart and
    /// counts nowhere (no flag, no growth point, no BMI).
    pub entered_in_error: Option<InError>,
}

/// Who struck a reading out as entered in error, when and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct InError {
    /// Who.
    pub by: UserId,
    /// When (UTC ms).
    #[cfg_attr(feature = "specta", specta(type = f64))]
    pub at: i64,
    /// Why, in their words.
    pub reason: String,
}

pub(crate) const VITAL_COLUMNS: &str = "id, patient_id, encounter_id, code, value, value2, unit, observed_at, recorded_by, legacy, error_by, error_at, error_reason";

/// A row of `VITAL_COLUMNS`. An unknown code is an error, never another kind.
pub(crate) fn vital_from_row(r: &Row<'_>) -> Result<Vital, StoreError> {
    let code: String = r.get(3)?;
    Ok(Vital {
        id: id_col(r, 0)?,
        patient_id: id_col(r, 1)?,
        encounter_id: opt_id_col(r, 2)?,
        kind: VitalKind::from_loinc(&code).ok_or(StoreError::UnknownCode {
            field: "vital",
            code,
        })?,
        value: r.get(4)?,
        value2: r.get(5)?,
        unit: r.get(6)?,
        observed_at: r.get(7)?,
        recorded_by: id_col(r, 8)?,
        legacy: r.get(9)?,
        flag: None,
        entered_in_error: match (opt_id_col(r, 10)?, r.get::<_, Option<i64>>(11)?) {
            (Some(by), Some(at)) => Some(InError {
                by,
                at,
                reason: r.get::<_, Option<String>>(12)?.unwrap_or_default(),
            }),
            _ => None,
        },
    })
}

impl Store {
    /// Records a vital sign, checked against its plausible range.
    pub fn add_vital(
        &mut self,
        patient_id: PatientId,
        encounter_id: Option<EncounterId>,
        kind: VitalKind,
        value: f64,
        value2: Option<f64>,
    ) -> Result<Vital, StoreError> {
        self.add_vital_at(patient_id, encounter_id, kind, value, value2, None)
    }

    /// Records a vital sign measured at `observed_at` (UTC ms; `None`: now), for readings
    /// entered from paper: not in the future, and not more than a year back.
    pub fn add_vital_at(
        &mut self,
        patient_id: PatientId,
        encounter_id: Option<EncounterId>,
        kind: VitalKind,
        value: f64,
        value2: Option<f64>,
        observed_at: Option<i64>,
    ) -> Result<Vital, StoreError> {
        kind.check(value, value2)?;
        let now = self.now();
        let observed_at = observed_at.unwrap_or(now);
        // Five minutes of slack for a laptop clock a little behind the one that wrote the time.
        if observed_at > now + 5 * 60_000 || observed_at < now - 366 * 86_400_000 {
            return Err(StoreError::Invalid {
                field: "observed at",
                reason: "not in the future, and within the last year",
            });
        }
        let id = VitalId::random(&mut rand_core::OsRng);
        let payload = Payload::VitalRecorded(VitalRecorded {
            patient: patient_id,
            encounter: encounter_id,
            code: kind.loinc().to_owned(),
            value,
            value2,
            unit: kind.unit().to_owned(),
            observed_at,
        });
        self.write(RecordId::from(id), &payload)?;
        Ok(Vital {
            id,
            patient_id,
            encounter_id,
            kind,
            value,
            value2,
            unit: kind.unit().to_owned(),
            observed_at,
            recorded_by: self.user.id,
            legacy: false,
            // Flagged as a chart read flags it, against the patient's age when measured.
            flag: self.flag_for_patient(patient_id, kind, value, value2, observed_at)?,
            entered_in_error: None,
        })
    }

    /// One vital sign.
    pub fn vital(&self, id: VitalId) -> Result<Vital, StoreError> {
        self.require_care_team("reading vital signs")?;
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {VITAL_COLUMNS} FROM vitals WHERE id = ?1"))?;
        let mut rows = stmt.query([id.to_hex()])?;
        match rows.next()? {
            Some(r) => vital_from_row(r),
            None => Err(StoreError::NotFound("vital")),
        }
    }

    /// Strikes out a reading entered in error (a keyboard slip, the wrong patient), saying why.
    /// It stays in the chart, struck through, and counts nowhere; nothing is deleted.
    pub fn mark_vital_in_error(&mut self, id: VitalId, reason: &str) -> Result<Vital, StoreError> {
        let reason = super::required("reason", reason)?;
        let current = self.vital(id)?;
        if current.entered_in_error.is_some() {
            return Err(StoreError::Invalid {
                field: "vital",
                reason: "already marked as entered in error",
            });
        }
        let payload = Payload::VitalEnteredInError(VitalEnteredInError {
            patient: current.patient_id,
            reason,
        });
        self.write(RecordId::from(id), &payload)?;
        self.vital(id)
    }

    /// The flag for a reading of `patient_id`, by their age at `observed_at`.
    fn flag_for_patient(
        &self,
        patient_id: PatientId,
        kind: VitalKind,
        value: f64,
        value2: Option<f64>,
        observed_at: i64,
    ) -> Result<Option<outpost_clinical::vitals::Flag>, StoreError> {
        let birth: Option<String> = self
            .conn
            .query_row(
                "SELECT birth_date FROM patients WHERE id = ?1",
                [patient_id.to_hex()],
                |r| r.get(0),
            )
            .optional()?;
        let age = birth
            .as_deref()
            .and_then(|b| super::patients::age_at(b, observed_at));
        Ok(outpost_clinical::vitals::flag_for(
            kind.loinc(),
            value,
            value2,
            age.as_ref(),
        ))
    }
}
