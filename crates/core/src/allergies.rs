//! Allergies, prescriptions and the problem list, over the store (see `outpost_store::records::allergies`): the
//! checks are the store's, so the app and the command line refuse the same prescriptions.

use outpost_clinical::drugs::{self, Drug};
use outpost_store::{
    AllergyId, MedicationId, PatientId, Severity,
    records::{Allergy, Medication, NewPrescription},
};

use crate::{Core, CoreError};

impl Core {
    /// Records an allergy or intolerance.
    pub async fn add_allergy(
        &self,
        patient_id: PatientId,
        substance: String,
        reaction: String,
        severity: Severity,
    ) -> Result<Allergy, CoreError> {
        self.with_store(move |s| s.add_allergy(patient_id, &substance, &reaction, severity))
            .await
    }

    /// Records that the patient was asked and has no known drug allergies.
    pub async fn record_no_known_allergies(&self, patient_id: PatientId) -> Result<(), CoreError> {
        self.with_store(move |s| s.record_no_known_allergies(patient_id))
            .await
    }

    /// Removes an allergy that no longer holds, or was entered in error, saying why.
    pub async fn remove_allergy(
        &self,
        id: AllergyId,
        reason: String,
    ) -> Result<Allergy, CoreError> {
        self.with_store(move |s| s.remove_allergy(id, &reason))
            .await
    }

    /// Prescribes, checked against the patient's allergies (refused on a conflict unless
    /// `new.override_reason` says why).
    pub async fn prescribe(
        &self,
        patient_id: PatientId,
        new: NewPrescription,
    ) -> Result<Medication, CoreError> {
        self.with_store(move |s| s.prescribe(patient_id, &new))
            .await
    }

    /// Stops a medication, saying why.
    pub async fn stop_medication(
        &self,
        id: MedicationId,
        reason: String,
    ) -> Result<Medication, CoreError> {
        self.with_store(move |s| s.stop_medication(id, &reason))
            .await
    }

    /// A patient's prescriptions, current and stopped, newest first.
    pub async fn medications(&self, patient_id: PatientId) -> Result<Vec<Medication>, CoreError> {
        self.with_store(move |s| s.medications_of(patient_id)).await
    }

    /// Catalogue drugs whose name or ATC code matches `query` (at most `limit`), for a picker.
    pub fn find_drugs(query: &str, limit: usize) -> Vec<Drug> {
        drugs::search(query, limit.min(50))
            .into_iter()
            .cloned()
            .collect()
    }
}

impl Core {
    /// Adds a problem: an ICD-10-CM code Outpost ships, or the diagnosis in words (uncoded).
    pub async fn add_problem(
        &self,
        patient_id: PatientId,
        encounter_id: Option<outpost_store::EncounterId>,
        diagnosis: String,
        onset: Option<String>,
    ) -> Result<outpost_store::records::Problem, CoreError> {
        self.with_store(move |s| {
            s.add_problem(patient_id, encounter_id, &diagnosis, onset.as_deref())
        })
        .await
    }

    /// Resolves a problem, saying why.
    pub async fn resolve_problem(
        &self,
        id: outpost_store::ProblemId,
        reason: String,
    ) -> Result<outpost_store::records::Problem, CoreError> {
        self.with_store(move |s| s.resolve_problem(id, &reason))
            .await
    }

    /// The visit templates (the note sections' starting text and the vitals to record).
    pub fn note_templates() -> Vec<outpost_clinical::templates::Template> {
        outpost_clinical::templates::all().to_vec()
    }

    /// Diagnosis codes matching `query` (code, title or common words), at most `limit`.
    pub fn find_diagnoses(
        query: &str,
        limit: usize,
    ) -> Vec<outpost_clinical::diagnoses::Diagnosis> {
        outpost_clinical::diagnoses::search(query, limit.min(50))
            .into_iter()
            .cloned()
            .collect()
    }
}
