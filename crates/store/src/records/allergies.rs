//! Allergies and medications: recorded as signed operations, read from their projections,
//! and prescriptions checked against the patient's active allergies before anything is
//! written (see [`outpost_clinical::allergy`]).
//!
//! A chart's allergy status has three values, never two: allergies recorded, "no known drug
//! allergies" recorded by someone who asked, or nobody asked yet.

use outpost_clinical::{
    allergy::{self, ConflictKind, Substance},
    drugs,
};
use outpost_proto::{
    AllergyId, EncounterId, MedicationId, PatientId, Payload, RecordId, Severity, UserId,
    payload::{
        AllergyRecorded, AllergyRemoved, MedicationPrescribed, MedicationStopped, NoKnownAllergies,
    },
};
use rusqlite::Row;
use serde::{Deserialize, Serialize};

use super::{id_col, opt_id_col, optional, required};
use crate::{Store, StoreError};

/// Whether anyone asked about allergies, and what they found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum AllergyStatus {
    /// At least one active allergy.
    Allergies,
    /// Asked: no known drug allergies.
    NoneKnown,
    /// Nobody has recorded either: ask.
    NotAsked,
}

/// One allergy or intolerance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Allergy {
    /// Stable id.
    pub id: AllergyId,
    /// The patient.
    pub patient_id: PatientId,
    /// What the patient reacts to, as typed.
    pub substance: String,
    /// What allergy checking takes it for (`atc:…`, `group:…`), or `None`: not checked
    /// against prescriptions.
    pub code: Option<String>,
    /// The reaction.
    pub reaction: String,
    /// How bad.
    pub severity: Severity,
    /// When recorded (UTC ms).
    #[cfg_attr(feature = "specta", specta(type = f64))]
    pub recorded_at: i64,
    /// Who recorded it.
    pub recorded_by: UserId,
    /// When it was removed (no longer holds, or entered in error), if it was.
    #[cfg_attr(feature = "specta", specta(type = Option<f64>))]
    pub removed_at: Option<i64>,
    /// Why it was removed.
    pub removed_reason: Option<String>,
}

/// A prescription, current until stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Medication {
    /// Stable id.
    pub id: MedicationId,
    /// The patient.
    pub patient_id: PatientId,
    /// The encounter it was prescribed in, if any.
    pub encounter_id: Option<EncounterId>,
    /// ATC code of the catalogue drug; `None` for a drug outside the catalogue (unchecked).
    pub atc: Option<String>,
    /// The drug.
    pub drug: String,
    /// Dose.
    pub dose: String,
    /// Route.
    pub route: String,
    /// How often.
    pub frequency: String,
    /// For how long.
    pub duration: String,
    /// Further instructions.
    pub instructions: String,
    /// Why it was prescribed despite an allergy conflict.
    pub override_reason: Option<String>,
    /// When prescribed (UTC ms).
    #[cfg_attr(feature = "specta", specta(type = f64))]
    pub prescribed_at: i64,
    /// Who prescribed it.
    pub prescribed_by: UserId,
    /// When stopped, if it was.
    #[cfg_attr(feature = "specta", specta(type = Option<f64>))]
    pub stopped_at: Option<i64>,
    /// Why it was stopped.
    pub stopped_reason: Option<String>,
    /// Active allergies it conflicts with and that no override reason answered: an allergy
    /// recorded after the prescription (here, or on another device while offline). Worked out
    /// at each read, never stored.
    pub conflicts_with: Vec<AllergyId>,
}

/// What a prescriber fills in.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct NewPrescription {
    /// The encounter, if any.
    pub encounter_id: Option<EncounterId>,
    /// The drug: a catalogue name or ATC code (checked), or any other name (unchecked).
    pub drug: String,
    /// Dose ("500 mg").
    pub dose: String,
    /// Route ("oral").
    pub route: String,
    /// How often ("three times a day").
    pub frequency: String,
    /// For how long ("5 days").
    pub duration: String,
    /// Anything else.
    pub instructions: String,
    /// Why to go ahead despite an allergy conflict; needed only when there is one.
    pub override_reason: Option<String>,
}

pub(crate) const ALLERGY_COLUMNS: &str = "id, patient_id, substance, code, reaction, severity, recorded_at, recorded_by, removed_at, removed_reason";

/// A row of `ALLERGY_COLUMNS`. Its code is what allergy checking reads now: the stored one
/// when this build knows it, else the substance text read again (a name the catalogue learnt
/// since, a code from a newer build), so the screens and the check always agree.
fn allergy_from_row(r: &Row<'_>) -> rusqlite::Result<Allergy> {
    let severity: String = r.get(5)?;
    let substance: String = r.get(2)?;
    let stored: Option<String> = r.get(3)?;
    Ok(Allergy {
        id: id_col(r, 0)?,
        patient_id: id_col(r, 1)?,
        code: Substance::of_allergy(stored.as_deref(), &substance).code(),
        substance,
        reaction: r.get(4)?,
        severity: Severity::from_name(&severity).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                5,
                rusqlite::types::Type::Text,
                "unknown severity".into(),
            )
        })?,
        recorded_at: r.get(6)?,
        recorded_by: id_col(r, 7)?,
        removed_at: r.get(8)?,
        removed_reason: r.get(9)?,
    })
}

pub(crate) const MEDICATION_COLUMNS: &str = "id, patient_id, encounter_id, atc, drug, dose, route, frequency, duration, instructions, override_reason, prescribed_at, prescribed_by, stopped_at, stopped_reason";

fn medication_from_row(r: &Row<'_>) -> rusqlite::Result<Medication> {
    Ok(Medication {
        id: id_col(r, 0)?,
        patient_id: id_col(r, 1)?,
        encounter_id: opt_id_col(r, 2)?,
        atc: r.get(3)?,
        drug: r.get(4)?,
        dose: r.get(5)?,
        route: r.get(6)?,
        frequency: r.get(7)?,
        duration: r.get(8)?,
        instructions: r.get(9)?,
        override_reason: r.get(10)?,
        prescribed_at: r.get(11)?,
        prescribed_by: id_col(r, 12)?,
        stopped_at: r.get(13)?,
        stopped_reason: r.get(14)?,
        conflicts_with: Vec::new(),
    })
}

impl Store {
    /// Records an allergy or intolerance. What the substance is (a catalogue drug, a drug
    /// group, or neither) is worked out here and kept with it.
    pub fn add_allergy(
        &mut self,
        patient_id: PatientId,
        substance: &str,
        reaction: &str,
        severity: Severity,
    ) -> Result<Allergy, StoreError> {
        let substance = required("substance", substance)?;
        let reaction = required("reaction", reaction)?;
        let id = AllergyId::random(&mut rand_core::OsRng);
        let payload = Payload::AllergyRecorded(AllergyRecorded {
            patient: patient_id,
            code: Substance::resolve(&substance).code(),
            substance,
            reaction,
            severity,
        });
        self.write(RecordId::from(id), &payload)?;
        self.allergy(id)
    }

    /// Records that the patient was asked and has no known drug allergies. Refused while an
    /// allergy is recorded as active (remove it first, with the reason).
    pub fn record_no_known_allergies(&mut self, patient_id: PatientId) -> Result<(), StoreError> {
        if self
            .allergies_of(patient_id)?
            .iter()
            .any(|a| a.removed_at.is_none())
        {
            return Err(StoreError::Invalid {
                field: "allergies",
                reason: "an allergy is recorded as active: remove it first, saying why",
            });
        }
        let payload = Payload::NoKnownAllergies(NoKnownAllergies {
            patient: patient_id,
        });
        self.write(RecordId(patient_id.0), &payload)?;
        Ok(())
    }

    /// Removes an allergy that no longer holds or was entered in error; the reason is kept.
    pub fn remove_allergy(&mut self, id: AllergyId, reason: &str) -> Result<Allergy, StoreError> {
        let reason = required("reason", reason)?;
        let current = self.allergy(id)?;
        if current.removed_at.is_some() {
            return Err(StoreError::Invalid {
                field: "allergy",
                reason: "already removed",
            });
        }
        let payload = Payload::AllergyRemoved(AllergyRemoved {
            patient: current.patient_id,
            reason,
        });
        self.write(RecordId::from(id), &payload)?;
        self.allergy(id)
    }

    /// One allergy.
    pub fn allergy(&self, id: AllergyId) -> Result<Allergy, StoreError> {
        self.require_care_team("reading allergies")?;
        self.row_by_id(
            "allergies",
            ALLERGY_COLUMNS,
            id.to_hex(),
            "allergy",
            allergy_from_row,
        )
    }

    /// A patient's allergies, removed ones included, oldest first.
    pub fn allergies_of(&self, patient_id: PatientId) -> Result<Vec<Allergy>, StoreError> {
        self.require_care_team("reading allergies")?;
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {ALLERGY_COLUMNS} FROM allergies WHERE patient_id = ?1 ORDER BY recorded_at, id"
        ))?;
        let rows = stmt.query_map([patient_id.to_hex()], allergy_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Whether anyone asked about allergies, and what they found.
    pub fn allergy_status(&self, patient_id: PatientId) -> Result<AllergyStatus, StoreError> {
        if self
            .allergies_of(patient_id)?
            .iter()
            .any(|a| a.removed_at.is_none())
        {
            return Ok(AllergyStatus::Allergies);
        }
        let asked: bool = self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM allergy_reviews WHERE patient_id = ?1)",
            [patient_id.to_hex()],
            |r| r.get(0),
        )?;
        Ok(if asked {
            AllergyStatus::NoneKnown
        } else {
            AllergyStatus::NotAsked
        })
    }

    /// Prescribes a medication. A catalogue drug is checked against the patient's active
    /// allergies: a conflict refuses it ([`StoreError::AllergyConflict`]) unless the
    /// prescriber gives an override reason, which is kept with the prescription (and so in
    /// the signed log and the audit trail). A drug outside the catalogue cannot be checked: it
    /// is kept without a code, and needs a reason too when the patient has allergies recorded
    /// ([`StoreError::UncheckedDrug`]).
    pub fn prescribe(
        &mut self,
        patient_id: PatientId,
        new: &NewPrescription,
    ) -> Result<Medication, StoreError> {
        // Who may prescribe is asked first: a nurse is told that, not about the allergy.
        if !crate::authz::capabilities(self.user.role).prescribe {
            return Err(StoreError::NotPermitted {
                action: "prescribing",
                needs: "a physician",
                role: self.user.role,
            });
        }
        let drug_text = required("drug", &new.drug)?;
        let catalogue = drugs::find(&drug_text);
        let override_reason = optional(
            "override reason",
            new.override_reason.as_deref().unwrap_or(""),
        )?;
        let allergies: Vec<_> = self
            .allergies_of(patient_id)?
            .into_iter()
            .filter(|a| a.removed_at.is_none())
            .collect();
        let mut conflicted = false;
        if let Some(drug) = catalogue {
            let codes: Vec<_> = allergies.iter().map(|a| a.code.as_deref()).collect();
            let found = allergy::check(drug, &codes);
            conflicted = !found.is_empty();
            // The worst conflict is the one named.
            let worst = found.into_iter().max_by_key(|c| {
                (
                    allergies[c.allergy].severity as u8,
                    c.kind == ConflictKind::SameDrug,
                )
            });
            if let (Some(conflict), None) = (worst, &override_reason) {
                let allergy = &allergies[conflict.allergy];
                let named = match Substance::from_code(allergy.code.as_deref()) {
                    Substance::Drug(d) => d.name.as_str(),
                    Substance::Group(g) => g.name.as_str(),
                    Substance::Unchecked => "a substance",
                };
                return Err(StoreError::AllergyConflict {
                    drug: drug.name.as_str(),
                    relation: match conflict.kind {
                        ConflictKind::SameDrug => "is",
                        ConflictKind::SameGroup => "belongs with",
                        ConflictKind::CrossReactive => "can cross-react with",
                    },
                    allergy: named,
                    severity: allergy.severity.as_str(),
                });
            }
        }
        // A drug the catalogue does not know could be anything: with allergies on record, the
        // prescriber says why it is safe rather than the app staying silent.
        let unchecked = catalogue.is_none() && !allergies.is_empty();
        if unchecked && override_reason.is_none() {
            return Err(StoreError::UncheckedDrug);
        }
        // A reason is kept only where it overrode something: a stray one would show as an
        // override on a safe prescription.
        let override_reason = override_reason.filter(|_| conflicted || unchecked);
        let id = MedicationId::random(&mut rand_core::OsRng);
        let payload = Payload::MedicationPrescribed(MedicationPrescribed {
            patient: patient_id,
            encounter: new.encounter_id,
            atc: catalogue.map(|d| d.atc.clone()),
            drug: catalogue.map_or(drug_text, |d| d.name.clone()),
            dose: required("dose", &new.dose)?,
            route: required("route", &new.route)?,
            frequency: required("frequency", &new.frequency)?,
            duration: required("duration", &new.duration)?,
            instructions: optional("instructions", &new.instructions)?.unwrap_or_default(),
            override_reason,
        });
        self.write(RecordId::from(id), &payload)?;
        self.medication(id)
    }

    /// Stops a medication; the reason is kept.
    pub fn stop_medication(
        &mut self,
        id: MedicationId,
        reason: &str,
    ) -> Result<Medication, StoreError> {
        let reason = required("reason", reason)?;
        let current = self.medication(id)?;
        if current.stopped_at.is_some() {
            return Err(StoreError::Invalid {
                field: "medication",
                reason: "already stopped",
            });
        }
        let payload = Payload::MedicationStopped(MedicationStopped {
            patient: current.patient_id,
            reason,
        });
        self.write(RecordId::from(id), &payload)?;
        self.medication(id)
    }

    /// One prescription.
    pub fn medication(&self, id: MedicationId) -> Result<Medication, StoreError> {
        self.require_care_team("reading medications")?;
        self.row_by_id(
            "medications",
            MEDICATION_COLUMNS,
            id.to_hex(),
            "medication",
            medication_from_row,
        )
    }

    /// A patient's prescriptions, current and stopped, newest first; each current one with the
    /// active allergies it conflicts with that its override did not answer.
    pub fn medications_of(&self, patient_id: PatientId) -> Result<Vec<Medication>, StoreError> {
        self.require_care_team("reading medications")?;
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {MEDICATION_COLUMNS} FROM medications WHERE patient_id = ?1 ORDER BY prescribed_at DESC, id"
        ))?;
        let rows = stmt.query_map([patient_id.to_hex()], medication_from_row)?;
        let mut meds: Vec<Medication> = rows.collect::<Result<_, _>>()?;
        drop(stmt);
        let allergies: Vec<_> = self
            .allergies_of(patient_id)?
            .into_iter()
            .filter(|a| a.removed_at.is_none())
            .collect();
        let codes: Vec<_> = allergies.iter().map(|a| a.code.as_deref()).collect();
        for m in meds.iter_mut().filter(|m| m.stopped_at.is_none()) {
            let Some(drug) = m.atc.as_deref().and_then(drugs::by_atc) else {
                continue;
            };
            m.conflicts_with = allergy::check(drug, &codes)
                .into_iter()
                .map(|c| &allergies[c.allergy])
                // An override answers the allergies known when it was given.
                .filter(|a| m.override_reason.is_none() || a.recorded_at > m.prescribed_at)
                .map(|a| a.id)
                .collect();
        }
        Ok(meds)
    }
}
