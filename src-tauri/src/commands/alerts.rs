//! Commands for unusual-access alerts (the managers' Alerts view and its badge).

use outpost_core::store::alerts::{AlertView, Rules};
use tauri::State;

use crate::{CommandError, state::AppState};

/// The alerts of the last 90 days, newest first, with who acknowledged them.
#[tauri::command]
#[specta::specta]
pub async fn alerts(state: State<'_, AppState>) -> Result<Vec<AlertView>, CommandError> {
    Ok(state.core.alerts().await?)
}

/// How many alerts nobody acknowledged yet (the badge; polled without keeping the app awake).
#[tauri::command]
#[specta::specta]
pub async fn open_alert_count(state: State<'_, AppState>) -> Result<u32, CommandError> {
    Ok(state.core.open_alert_count().await?)
}

/// Acknowledges an alert with what was found.
#[tauri::command]
#[specta::specta]
pub async fn acknowledge_alert(
    state: State<'_, AppState>,
    id: String,
    note: String,
) -> Result<(), CommandError> {
    Ok(state.core.acknowledge_alert(id, note).await?)
}

/// The alert rules' settings on this device.
#[tauri::command]
#[specta::specta]
pub async fn alert_rules(state: State<'_, AppState>) -> Result<Rules, CommandError> {
    Ok(state.core.alert_rules().await?)
}

/// Changes the alert rules' settings on this device.
#[tauri::command]
#[specta::specta]
pub async fn set_alert_rules(state: State<'_, AppState>, rules: Rules) -> Result<(), CommandError> {
    Ok(state.core.set_alert_rules(rules).await?)
}
