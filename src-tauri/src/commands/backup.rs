//! Commands for encrypted backups: create, verify, and restore into an empty device.

use std::path::PathBuf;

use outpost_core::store::backup::Manifest;
use tauri::State;
use zeroize::Zeroizing;

use crate::{CommandError, state::AppState};

/// Writes an encrypted backup file to `path`, protected by `passphrase`.
#[tauri::command]
#[specta::specta]
pub async fn create_backup(
    state: State<'_, AppState>,
    path: String,
    passphrase: String,
) -> Result<Manifest, CommandError> {
    Ok(state
        .core
        .create_backup(PathBuf::from(path), Zeroizing::new(passphrase))
        .await?)
}

/// Checks a backup file without restoring it.
#[tauri::command]
#[specta::specta]
pub async fn verify_backup(
    state: State<'_, AppState>,
    path: String,
    passphrase: String,
) -> Result<Manifest, CommandError> {
    Ok(state
        .core
        .verify_backup(PathBuf::from(path), Zeroizing::new(passphrase))
        .await?)
}

/// Restores a backup into this device's empty data directory and unlocks it as the backup's
/// creator. Returns the new profile's recovery key, to show once.
#[tauri::command]
#[specta::specta]
pub async fn restore_backup(
    state: State<'_, AppState>,
    path: String,
    passphrase: String,
) -> Result<String, CommandError> {
    let key = state
        .core
        .restore_backup(PathBuf::from(path), Zeroizing::new(passphrase))
        .await?;
    Ok(key.as_str().to_owned())
}
