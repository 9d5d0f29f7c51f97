//! Commands for allergies, prescriptions (checked against allergies by the core) and the
//! problem list, and the drug and diagnosis catalogues for their forms.

use outpost_core::{
    Core,
    clinical::{diagnoses::Diagnosis, drugs::Drug, templates::Template},
    store::{
        AllergyId, EncounterId, MedicationId, PatientId, ProblemId, Severity, VitalId,
        records::{Allergy, Medication, NewPrescription, Problem, Vital},
    },
};
use tauri::State;

use crate::{CommandError, state::AppState};

/// Records an allergy or intolerance.
#[tauri::command]
#[specta::specta]
pub async fn add_allergy(
    state: State<'_, AppState>,
    patient_id: PatientId,
    substance: String,
    reaction: String,
    severity: Severity,
) -> Result<Allergy, CommandError> {
    Ok(state
        .core
        .add_allergy(patient_id, substance, reaction, severity)
        .await?)
}

/// Records "no known drug allergies" (refused while an allergy is active).
#[tauri::command]
#[specta::specta]
pub async fn record_no_known_allergies(
    state: State<'_, AppState>,
    patient_id: PatientId,
) -> Result<(), CommandError> {
    Ok(state.core.record_no_known_allergies(patient_id).await?)
}

/// Removes an allergy, saying why.
#[tauri::command]
#[specta::specta]
pub async fn remove_allergy(
    state: State<'_, AppState>,
    id: AllergyId,
    reason: String,
) -> Result<Allergy, CommandError> {
    Ok(state.core.remove_allergy(id, reason).await?)
}

/// Strikes out a reading entered in error, saying why.
#[tauri::command]
#[specta::specta]
pub async fn mark_vital_in_error(
    state: State<'_, AppState>,
    id: VitalId,
    reason: String,
) -> Result<Vital, CommandError> {
    Ok(state.core.mark_vital_in_error(id, reason).await?)
}

/// Prescribes; an allergy conflict comes back as `allergyConflict` unless the prescription
/// carries an override reason.
#[tauri::command]
#[specta::specta]
pub async fn prescribe(
    state: State<'_, AppState>,
    patient_id: PatientId,
    prescription: NewPrescription,
) -> Result<Medication, CommandError> {
    Ok(state.core.prescribe(patient_id, prescription).await?)
}

/// Stops a medication, saying why.
#[tauri::command]
#[specta::specta]
pub async fn stop_medication(
    state: State<'_, AppState>,
    id: MedicationId,
    reason: String,
) -> Result<Medication, CommandError> {
    Ok(state.core.stop_medication(id, reason).await?)
}

/// Catalogue drugs matching `query` (name, another name, or the start of an ATC code).
#[tauri::command]
#[specta::specta]
pub fn find_drugs(query: String) -> Vec<Drug> {
    Core::find_drugs(&query, 12)
}

/// Adds a problem: an ICD-10-CM code, or the diagnosis in words (kept uncoded).
#[tauri::command]
#[specta::specta]
pub async fn add_problem(
    state: State<'_, AppState>,
    patient_id: PatientId,
    encounter_id: Option<EncounterId>,
    diagnosis: String,
    onset: Option<String>,
) -> Result<Problem, CommandError> {
    Ok(state
        .core
        .add_problem(patient_id, encounter_id, diagnosis, onset)
        .await?)
}

/// Resolves a problem, saying why.
#[tauri::command]
#[specta::specta]
pub async fn resolve_problem(
    state: State<'_, AppState>,
    id: ProblemId,
    reason: String,
) -> Result<Problem, CommandError> {
    Ok(state.core.resolve_problem(id, reason).await?)
}

/// The visit templates: each fills a note's empty sections and names the vitals to record.
#[tauri::command]
#[specta::specta]
pub fn note_templates() -> Vec<Template> {
    Core::note_templates()
}

/// Diagnosis codes matching `query` (a code, words of the title, or words like "htn").
#[tauri::command]
#[specta::specta]
pub fn find_diagnoses(query: String) -> Vec<Diagnosis> {
    Core::find_diagnoses(&query, 12)
}
