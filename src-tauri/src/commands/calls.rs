//! Commands for calls and video visits: the call screen polls [`call_view`] and fetches the
//! newest remote picture with [`call_frame`]; everything else is one call into the core's
//! call desk.

use base64::Engine as _;
use outpost_core::{
    call::{session::Command, signal::CallKind},
    desk::CallView,
    store::{PatientId, attachments::AttachmentInfo, proto::VisitId},
};
use tauri::State;

use crate::{CommandError, state::AppState};

fn kind(audio_only: bool) -> CallKind {
    if audio_only {
        CallKind::Audio
    } else {
        CallKind::Video
    }
}

/// What the call screen shows now.
#[tauri::command]
#[specta::specta]
pub async fn call_view(state: State<'_, AppState>) -> Result<CallView, CommandError> {
    let view = state.desk.view();
    // A visit in progress is someone at the laptop, though the chart is untouched: it keeps
    // the session from locking under the call.
    if matches!(view.state.as_deref(), Some("connected" | "reconnecting")) {
        state.core.touch().await;
    }
    Ok(view)
}

/// Connects to the relay for calls (incoming calls ring; the waiting room fills).
#[tauri::command]
#[specta::specta]
pub async fn call_go_online(state: State<'_, AppState>) -> Result<(), CommandError> {
    Ok(state.desk.go_online().await?)
}

/// The newest remote picture after picture number `after`, as raw bytes for the canvas
/// (nothing when there is none newer): its number, width and height as little-endian `u32`s,
/// then the I420 planes. Raw bytes cross the IPC without JSON or base64, which at 640x360
/// and 15 pictures a second is most of the cost.
#[tauri::command]
pub async fn call_frame_raw(
    state: State<'_, AppState>,
    after: u32,
) -> Result<tauri::ipc::Response, CommandError> {
    let mut out = Vec::new();
    if let Some((n, pic)) = state.desk.frame(u64::from(after)) {
        out.reserve(12 + pic.data.len());
        for v in [
            u32::try_from(n).unwrap_or(u32::MAX),
            u32::try_from(pic.width).unwrap_or(0),
            u32::try_from(pic.height).unwrap_or(0),
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&pic.data);
    }
    Ok(tauri::ipc::Response::new(out))
}

/// Calls a member (user id) or a device.
#[tauri::command]
#[specta::specta]
pub async fn call_start(
    state: State<'_, AppState>,
    to: String,
    audio_only: bool,
) -> Result<(), CommandError> {
    Ok(state.desk.call(&to, kind(audio_only)).await?)
}

/// Answers the ringing call.
#[tauri::command]
#[specta::specta]
pub async fn call_accept(state: State<'_, AppState>) -> Result<(), CommandError> {
    Ok(state.desk.accept().await?)
}

/// Declines the ringing call.
#[tauri::command]
#[specta::specta]
pub async fn call_decline(state: State<'_, AppState>) -> Result<(), CommandError> {
    Ok(state.desk.decline().await?)
}

/// Hangs up.
#[tauri::command]
#[specta::specta]
pub async fn call_hang_up(state: State<'_, AppState>) -> Result<(), CommandError> {
    Ok(state.desk.command(Command::HangUp)?)
}

/// Mutes or unmutes the microphone.
#[tauri::command]
#[specta::specta]
pub async fn call_mute(state: State<'_, AppState>, on: bool) -> Result<(), CommandError> {
    Ok(state.desk.command(Command::Mute(on))?)
}

/// Turns the camera off or on.
#[tauri::command]
#[specta::specta]
pub async fn call_camera_off(state: State<'_, AppState>, on: bool) -> Result<(), CommandError> {
    Ok(state.desk.command(Command::CameraOff(on))?)
}

/// Chooses audio only (or goes back to video).
#[tauri::command]
#[specta::specta]
pub async fn call_audio_only(state: State<'_, AppState>, on: bool) -> Result<(), CommandError> {
    Ok(state.desk.command(Command::AudioOnly(on))?)
}

/// Sends a chat line.
#[tauri::command]
#[specta::specta]
pub async fn call_chat(state: State<'_, AppState>, text: String) -> Result<(), CommandError> {
    Ok(state.desk.command(Command::Chat(text))?)
}

/// Shares a file (base64 bytes) in the call.
#[tauri::command]
#[specta::specta]
pub async fn call_share_file(
    state: State<'_, AppState>,
    name: String,
    mime: String,
    base64: String,
) -> Result<(), CommandError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(base64.as_bytes())
        .map_err(|_| CommandError::invalid("the file could not be read"))?;
    Ok(state
        .desk
        .command(Command::ShareFile { name, mime, bytes })?)
}

/// Attaches a file received in the call to a patient's chart.
#[tauri::command]
#[specta::specta]
pub async fn call_attach_file(
    state: State<'_, AppState>,
    file: String,
    patient_id: PatientId,
) -> Result<AttachmentInfo, CommandError> {
    Ok(state.desk.attach_received(&file, patient_id).await?)
}

/// Creates a visit invite for a patient; returns the one-line code.
#[tauri::command]
#[specta::specta]
pub async fn visit_invite(
    state: State<'_, AppState>,
    patient_id: PatientId,
) -> Result<String, CommandError> {
    let ttl = outpost_core::store::workspace::visits::DEFAULT_VISIT_TTL_MS;
    Ok(state.core.create_visit(patient_id, ttl).await?)
}

/// Admits a patient from the waiting room.
#[tauri::command]
#[specta::specta]
pub async fn visit_admit(
    state: State<'_, AppState>,
    visit: VisitId,
    audio_only: bool,
) -> Result<(), CommandError> {
    Ok(state.desk.admit(visit, kind(audio_only)).await?)
}

/// On a patient's profile: joins a visit with its code and waits to be admitted.
#[tauri::command]
#[specta::specta]
pub async fn visit_join(
    state: State<'_, AppState>,
    code: String,
    name: String,
) -> Result<(), CommandError> {
    Ok(state.desk.join_visit(&code, &name).await?)
}
