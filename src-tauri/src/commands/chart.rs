//! Commands for charts: patients, encounters, notes, vitals.

use outpost_core::store::records::{
    Addendum, Chart, Encounter, EncounterKind, NewPatient, Note, Patient, Soap, Vital, VitalKind,
};
use tauri::State;

use crate::{CommandError, state::AppState};

/// Patients whose name or clinic number contains `query` (all when empty).
#[tauri::command]
#[specta::specta]
pub async fn search_patients(
    state: State<'_, AppState>,
    query: String,
) -> Result<Vec<Patient>, CommandError> {
    Ok(state.core.search_patients(query).await?)
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

/// A patient's whole chart (audited as a chart read).
#[tauri::command]
#[specta::specta]
pub async fn chart(state: State<'_, AppState>, patient_id: String) -> Result<Chart, CommandError> {
    Ok(state.core.chart(patient_id).await?)
}

/// Opens an encounter.
#[tauri::command]
#[specta::specta]
pub async fn add_encounter(
    state: State<'_, AppState>,
    patient_id: String,
    kind: EncounterKind,
) -> Result<Encounter, CommandError> {
    Ok(state.core.add_encounter(patient_id, kind).await?)
}

/// Writes a draft note.
#[tauri::command]
#[specta::specta]
pub async fn write_note(
    state: State<'_, AppState>,
    patient_id: String,
    encounter_id: Option<String>,
    soap: Soap,
) -> Result<Note, CommandError> {
    Ok(state
        .core
        .write_note(patient_id, encounter_id, soap)
        .await?)
}

/// Saves a draft (autosave).
#[tauri::command]
#[specta::specta]
pub async fn update_draft(
    state: State<'_, AppState>,
    note_id: String,
    soap: Soap,
) -> Result<Note, CommandError> {
    Ok(state.core.update_draft(note_id, soap).await?)
}

/// Signs a draft; it is immutable afterwards.
#[tauri::command]
#[specta::specta]
pub async fn sign_note(state: State<'_, AppState>, note_id: String) -> Result<Note, CommandError> {
    Ok(state.core.sign_note(note_id).await?)
}

/// Adds a signed addendum to a signed note.
#[tauri::command]
#[specta::specta]
pub async fn add_addendum(
    state: State<'_, AppState>,
    note_id: String,
    text: String,
) -> Result<Addendum, CommandError> {
    Ok(state.core.add_addendum(note_id, text).await?)
}

/// Records a vital sign (`value2`: diastolic for blood pressure).
#[tauri::command]
#[specta::specta]
pub async fn add_vital(
    state: State<'_, AppState>,
    patient_id: String,
    kind: VitalKind,
    value: f64,
    value2: Option<f64>,
) -> Result<Vital, CommandError> {
    Ok(state
        .core
        .add_vital(patient_id, None, kind, value, value2)
        .await?)
}
