//! Commands for care-team workspaces and sync: the workspace screens, the sync indicator and
//! the sync centre.

use outpost_core::{
    Role,
    store::{
        PatientId, UserId,
        proto::PatientField,
        records::conflicts::Conflict,
        workspace::{
            WorkspaceInfo, WorkspaceMember,
            sync_state::{OwnChange, SetAside, SyncStatus},
        },
    },
};
use serde::Serialize;
use tauri::State;
use zeroize::Zeroizing;

use crate::{CommandError, state::AppState};

/// An invite, as the admin hands it over.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct Invite {
    /// The one-line code.
    pub code: String,
    /// The same code as a QR image (`data:image/svg+xml;base64,...`).
    pub qr: String,
}

/// What one sync exchange did.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct SyncReport {
    /// This device's changes the relay acknowledged.
    pub pushed: f64,
    /// Changes of other devices taken in.
    pub received: f64,
    /// Set aside this time (unreadable or refused).
    pub set_aside: f64,
    /// Still waiting for something (a key, an earlier change).
    pub waiting: f64,
    /// Devices this device admitted.
    pub admitted: f64,
    /// Whether the relay has admitted this device.
    pub device_admitted: bool,
}

/// Everything the sync centre shows.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct SyncCentre {
    /// The indicator's state.
    pub status: SyncStatus,
    /// This device's newest changes and how far each has travelled.
    pub changes: Vec<OwnChange>,
    /// Conflicts waiting for a person.
    pub conflicts: Vec<Conflict>,
    /// What was set aside, with why.
    pub set_aside: Vec<SetAside>,
}

/// The workspace this profile is in or joining.
#[tauri::command]
#[specta::specta]
pub async fn workspace(state: State<'_, AppState>) -> Result<Option<WorkspaceInfo>, CommandError> {
    Ok(state.core.workspace().await?)
}

/// Founds a workspace on this profile.
#[tauri::command]
#[specta::specta]
pub async fn create_workspace(
    state: State<'_, AppState>,
    name: String,
    relay: String,
) -> Result<WorkspaceInfo, CommandError> {
    Ok(state.core.create_workspace(name, relay).await?)
}

/// Creates an invite for `role`, valid `days` days.
#[tauri::command]
#[specta::specta]
pub async fn create_invite(
    state: State<'_, AppState>,
    role: Role,
    days: u32,
) -> Result<Invite, CommandError> {
    let code = state
        .core
        .create_invite(role, i64::from(days.clamp(1, 30)) * 86_400_000)
        .await?;
    let qr = super::qr_data_url(&code)?;
    Ok(Invite { code, qr })
}

/// Joins a workspace with an invite code (this profile must hold no records yet).
#[tauri::command]
#[specta::specta]
pub async fn join_workspace(
    state: State<'_, AppState>,
    code: String,
    user: String,
    passphrase: String,
    device_name: String,
) -> Result<WorkspaceInfo, CommandError> {
    let info = state
        .core
        .join_workspace(code, user, Zeroizing::new(passphrase), device_name)
        .await?;
    // Sends the request now if the relay answers; otherwise the sync loop does later.
    let _ = state.core.sync_now().await;
    Ok(info)
}

/// Everyone in the workspace with their safety numbers.
#[tauri::command]
#[specta::specta]
pub async fn workspace_members(
    state: State<'_, AppState>,
) -> Result<Vec<WorkspaceMember>, CommandError> {
    Ok(state.core.workspace_members().await?)
}

/// Marks a member's safety number as compared and matching.
#[tauri::command]
#[specta::specta]
pub async fn mark_verified(state: State<'_, AppState>, user: UserId) -> Result<(), CommandError> {
    Ok(state.core.mark_verified(user).await?)
}

/// Removes a member or a device; a new key epoch follows.
#[tauri::command]
#[specta::specta]
pub async fn remove_member(
    state: State<'_, AppState>,
    id: String,
) -> Result<Vec<String>, CommandError> {
    Ok(state.core.remove_member(id).await?)
}

/// One sync exchange now.
#[tauri::command]
#[specta::specta]
pub async fn sync_now(state: State<'_, AppState>) -> Result<SyncReport, CommandError> {
    let s = state.core.sync_now().await?;
    #[allow(clippy::cast_precision_loss)] // counts far below 2^53
    Ok(SyncReport {
        pushed: s.pushed as f64,
        received: s.received as f64,
        set_aside: (s.refused + s.unreadable) as f64,
        waiting: s.waiting as f64,
        admitted: s.admitted as f64,
        device_admitted: s.device_admitted,
    })
}

/// The sync indicator's state. The screen polls it every few seconds: background work, which
/// does not keep an unattended session from locking.
#[tauri::command]
#[specta::specta]
pub async fn sync_status(state: State<'_, AppState>) -> Result<SyncStatus, CommandError> {
    Ok(state.core.in_background(state.core.sync_status()).await?)
}

/// Everything the sync centre shows.
#[tauri::command]
#[specta::specta]
pub async fn sync_centre(state: State<'_, AppState>) -> Result<SyncCentre, CommandError> {
    Ok(SyncCentre {
        status: state.core.sync_status().await?,
        changes: state.core.recent_changes(50).await?,
        conflicts: state.core.conflicts().await?,
        set_aside: state.core.set_aside().await?,
    })
}

/// Resolves a conflict by choosing a value (`choose`) or giving one (`value`).
#[tauri::command]
#[specta::specta]
pub async fn resolve_conflict(
    state: State<'_, AppState>,
    id: String,
    choose: Option<String>,
    value: Option<String>,
) -> Result<(), CommandError> {
    Ok(state.core.resolve_conflict(id, choose, value).await?)
}

/// Edits one demographic field of a patient.
#[tauri::command]
#[specta::specta]
pub async fn edit_patient(
    state: State<'_, AppState>,
    patient_id: PatientId,
    field: PatientField,
    value: Option<String>,
) -> Result<(), CommandError> {
    Ok(state.core.edit_patient(patient_id, field, value).await?)
}
