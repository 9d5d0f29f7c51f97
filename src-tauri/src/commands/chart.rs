//! Commands for charts: patients, encounters, notes, vitals.

use outpost_core::store::{
    EncounterId, NoteId, OpHash, PatientId,
    records::{
        Addendum, Chart, Encounter, EncounterKind, NewPatient, Note, Patient, PatientPage, Soap,
        Vital, VitalKind,
    },
};
use tauri::State;

use crate::{CommandError, state::AppState};

/// One page of the patients matching every word of `query` (all when empty).
#[tauri::command]
#[specta::specta]
pub async fn search_patients(
    state: State<'_, AppState>,
    query: String,
    offset: u32,
    limit: u32,
) -> Result<PatientPage, CommandError> {
    Ok(state.core.search_patients(query, offset, limit).await?)
}

/// Registers a patient.
#[tauri::command]
#[specta::specta]
pub async fn add_patient(
    state: State<'_, AppState>,
    patient: NewPatient,
) -> Result<Patient, CommandError> {
    Ok(state.core.add_patient(patient).await?)
}

/// Charts that may be the same person as the one about to be registered.
#[tauri::command]
#[specta::specta]
pub async fn similar_patients(
    state: State<'_, AppState>,
    patient: NewPatient,
) -> Result<Vec<Patient>, CommandError> {
    Ok(state.core.similar_patients(patient).await?)
}

/// A patient's whole chart (audited as a chart read).
#[tauri::command]
#[specta::specta]
pub async fn chart(
    state: State<'_, AppState>,
    patient_id: PatientId,
) -> Result<Chart, CommandError> {
    Ok(state.core.chart(patient_id).await?)
}

/// Opens an encounter, with why the patient came when given.
#[tauri::command]
#[specta::specta]
pub async fn add_encounter(
    state: State<'_, AppState>,
    patient_id: PatientId,
    kind: EncounterKind,
    reason: Option<String>,
) -> Result<Encounter, CommandError> {
    Ok(state.core.add_encounter(patient_id, kind, reason).await?)
}

/// Finishes an encounter.
#[tauri::command]
#[specta::specta]
pub async fn finish_encounter(
    state: State<'_, AppState>,
    encounter_id: EncounterId,
) -> Result<Encounter, CommandError> {
    Ok(state.core.finish_encounter(encounter_id).await?)
}

/// Writes a draft note.
#[tauri::command]
#[specta::specta]
pub async fn write_note(
    state: State<'_, AppState>,
    patient_id: PatientId,
    encounter_id: Option<EncounterId>,
    soap: Soap,
) -> Result<Note, CommandError> {
    Ok(state
        .core
        .write_note(patient_id, encounter_id, soap)
        .await?)
}

/// Saves a draft revision replacing `bases` (the revision the editor showed; every current
/// revision when merging a conflict). A stale base keeps both texts and is a `conflict` error.
#[tauri::command]
#[specta::specta]
pub async fn update_draft(
    state: State<'_, AppState>,
    note_id: NoteId,
    bases: Vec<OpHash>,
    soap: Soap,
) -> Result<Note, CommandError> {
    Ok(state.core.update_draft(note_id, bases, soap).await?)
}

/// One note, signatures verified (after a conflict, to show both texts).
#[tauri::command]
#[specta::specta]
pub async fn note(state: State<'_, AppState>, note_id: NoteId) -> Result<Note, CommandError> {
    Ok(state.core.note(note_id).await?)
}

/// Signs a draft if its text is still the one whose content hash the editor showed.
#[tauri::command]
#[specta::specta]
pub async fn sign_note(
    state: State<'_, AppState>,
    note_id: NoteId,
    content_hash: String,
) -> Result<Note, CommandError> {
    Ok(state.core.sign_note(note_id, content_hash).await?)
}

/// Adds a signed addendum to a signed note.
#[tauri::command]
#[specta::specta]
pub async fn add_addendum(
    state: State<'_, AppState>,
    note_id: NoteId,
    text: String,
) -> Result<Addendum, CommandError> {
    Ok(state.core.add_addendum(note_id, text).await?)
}

/// Records a vital sign (`value2`: diastolic for blood pressure), measured at `observed_at`
/// (UTC ms) when entered from paper, else now.
#[tauri::command]
#[specta::specta]
pub async fn add_vital(
    state: State<'_, AppState>,
    patient_id: PatientId,
    encounter_id: Option<EncounterId>,
    kind: VitalKind,
    value: f64,
    value2: Option<f64>,
    observed_at: Option<f64>,
) -> Result<Vital, CommandError> {
    // JavaScript's times are whole milliseconds in a double.
    #[allow(clippy::cast_possible_truncation)]
    let observed_at = observed_at.filter(|t| t.is_finite()).map(|t| t as i64);
    Ok(state
        .core
        .add_vital_at(patient_id, encounter_id, kind, value, value2, observed_at)
        .await?)
}
