//! Commands for encrypted backups: create, verify, and restore into an empty device.
//!
//! The webview never names a file: each command asks the [`Picker`] (the native dialog), so a
//! compromised page can neither write a backup (every chart, under a passphrase it chose) to a
//! place of its choosing nor read one from anywhere. The dialog for a new backup opens on a USB
//! stick when one is mounted ([`outpost_core::backup_place`]). A closed dialog answers `null`.

use std::path::PathBuf;

use outpost_core::{chart::BackupWritten, store::backup::Manifest};
use serde::Serialize;
use tauri::State;
use zeroize::Zeroizing;

use crate::{
    CommandError,
    picker::{PickKind, PickRequest, Picker},
    state::AppState,
};

/// What the dialogs list: Outpost's backups.
const BACKUPS: (&str, &[&str]) = ("Outpost backup", &["outpost"]);

/// A backup checked from a file the person picked.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct CheckedBackup {
    /// What the backup holds.
    pub manifest: Manifest,
    /// The file that was read.
    pub file: PathBuf,
}

/// Asks for an existing backup file, in the folder a new one would be offered.
async fn pick_existing(state: &AppState, picker: &Picker, title: &'static str) -> Option<PathBuf> {
    let place = state.core.backup_place(picker.0.home().as_deref());
    picker
        .ask(PickRequest {
            title,
            dir: place.dir,
            kind: PickKind::Open,
            filter: BACKUPS,
        })
        .await
}

/// Asks where to save a new backup (after checking the role and the passphrase, so nobody
/// picks a file only to be refused), then writes it, protected by `passphrase`.
#[tauri::command]
#[specta::specta]
pub async fn create_backup(
    state: State<'_, AppState>,
    picker: State<'_, Picker>,
    passphrase: String,
) -> Result<Option<BackupWritten>, CommandError> {
    let passphrase = Zeroizing::new(passphrase);
    state.core.check_backup_allowed(passphrase.clone()).await?;
    let place = state.core.backup_place(picker.0.home().as_deref());
    let request = PickRequest {
        title: "Save the backup",
        dir: place.dir,
        kind: PickKind::Save {
            file_name: place.file_name,
        },
        filter: BACKUPS,
    };
    let Some(path) = picker.ask(request).await else {
        return Ok(None);
    };
    Ok(Some(state.core.create_backup(path, passphrase).await?))
}

/// Asks which backup file to check, then checks it without restoring it.
#[tauri::command]
#[specta::specta]
pub async fn verify_backup(
    state: State<'_, AppState>,
    picker: State<'_, Picker>,
    passphrase: String,
) -> Result<Option<CheckedBackup>, CommandError> {
    let Some(file) = pick_existing(&state, &picker, "Choose a backup to check").await else {
        return Ok(None);
    };
    let manifest = state
        .core
        .verify_backup(file.clone(), Zeroizing::new(passphrase))
        .await?;
    Ok(Some(CheckedBackup { manifest, file }))
}

/// Asks which backup file to restore, restores it into this device's empty data directory and
/// unlocks it as the backup's creator. Returns the new profile's recovery key, to show once.
#[tauri::command]
#[specta::specta]
pub async fn restore_backup(
    state: State<'_, AppState>,
    picker: State<'_, Picker>,
    passphrase: String,
) -> Result<Option<String>, CommandError> {
    let Some(file) = pick_existing(&state, &picker, "Choose the backup to restore").await else {
        return Ok(None);
    };
    let key = state
        .core
        .restore_backup(file, Zeroizing::new(passphrase))
        .await?;
    Ok(Some(key.as_str().to_owned()))
}
