//! Commands about the app itself: version, data directory, status.

use tauri::State;

use crate::{CommandError, state::AppState};

/// Version, data directory, build features and core status for the status area.
#[tauri::command]
#[specta::specta]
pub fn app_info(state: State<'_, AppState>) -> Result<outpost_core::AppInfo, CommandError> {
    Ok(state.core.app_info())
}
