//! Commands for photos and documents on a chart.

use outpost_core::store::{AttachmentId, PatientId, attachments::AttachmentInfo};
use tauri::State;

use crate::{CommandError, state::AppState};

/// Largest image shown as a thumbnail (bigger ones are listed, not previewed).
const PREVIEW_MAX_BYTES: u64 = 5 * 1024 * 1024;

/// Stores a file the user picked as an attachment on the patient's chart.
#[tauri::command]
#[specta::specta]
pub async fn add_attachment(
    state: State<'_, AppState>,
    patient_id: PatientId,
    file_name: String,
    media_type: String,
    bytes: Vec<u8>,
) -> Result<AttachmentInfo, CommandError> {
    Ok(state
        .core
        .add_attachment_bytes(patient_id, file_name, media_type, bytes)
        .await?)
}

/// A `data:` URL thumbnail for an image attachment (none for other types or large images).
#[tauri::command]
#[specta::specta]
pub async fn attachment_preview(
    state: State<'_, AppState>,
    attachment_id: AttachmentId,
) -> Result<Option<String>, CommandError> {
    Ok(state
        .core
        .attachment_data_url(attachment_id, PREVIEW_MAX_BYTES)
        .await?)
}
