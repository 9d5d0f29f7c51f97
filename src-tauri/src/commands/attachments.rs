//! Commands for photos and documents on a chart.

use outpost_core::store::{
    AttachmentId, EncounterId, MAX_APP_ATTACHMENT_BYTES, PatientId, attachments::AttachmentInfo,
};
use tauri::State;

use crate::{CommandError, state::AppState};

/// Stores a file the user picked, sent as the raw request body: no JSON array of numbers (four
/// bytes of JSON per byte of photo) and no base64. The patient, the encounter (optional), the
/// file name (percent-encoded) and the media type come in `x-outpost-*` headers. Files up to
/// [`MAX_APP_ATTACHMENT_BYTES`]; the command line streams larger ones.
#[tauri::command]
pub async fn add_attachment_raw(
    state: State<'_, AppState>,
    request: tauri::ipc::Request<'_>,
) -> Result<AttachmentInfo, CommandError> {
    let tauri::ipc::InvokeBody::Raw(bytes) = request.body() else {
        return Err(CommandError::invalid("the file must be sent as raw bytes"));
    };
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > MAX_APP_ATTACHMENT_BYTES {
        return Err(CommandError::invalid(format!(
            "the file is larger than {} MB: add it with `outpost attach add`",
            MAX_APP_ATTACHMENT_BYTES / 1024 / 1024
        )));
    }
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let patient: PatientId = header("x-outpost-patient")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| CommandError::invalid("which patient? (x-outpost-patient)"))?;
    let encounter: Option<EncounterId> = match header("x-outpost-encounter") {
        Some(v) if !v.is_empty() => Some(
            v.parse()
                .map_err(|_| CommandError::invalid("not an encounter id"))?,
        ),
        _ => None,
    };
    let file_name = header("x-outpost-file-name")
        .and_then(|v| percent_decode(&v))
        .ok_or_else(|| CommandError::invalid("the file name is missing or garbled"))?;
    let media_type =
        header("x-outpost-media-type").unwrap_or_else(|| "application/octet-stream".to_owned());
    Ok(state
        .core
        .add_attachment_to(patient, encounter, file_name, media_type, bytes.clone())
        .await?)
}

/// `encodeURIComponent`'s output back to text (`None` for a bad escape or invalid UTF-8).
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            // Two hex digits exactly (`from_str_radix` would also take a sign).
            if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The thumbnail of an image attachment as a `data:` URL (a small JPEG; never the full photo;
/// none for other files).
#[tauri::command]
#[specta::specta]
pub async fn attachment_preview(
    state: State<'_, AppState>,
    attachment_id: AttachmentId,
) -> Result<Option<String>, CommandError> {
    Ok(state.core.attachment_thumbnail_url(attachment_id).await?)
}
