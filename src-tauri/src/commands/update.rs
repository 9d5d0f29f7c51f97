//! "Update from file…": a signed update brought on a USB stick, picked in the system's dialog,
//! verified exactly as `outpost update verify` does (`outpost-update`), and installed only when
//! the person says so, from the file that was verified (never a path from the page).

use std::{path::PathBuf, sync::Mutex};

use outpost_update::{Downgrade, UpdateKey, Version};
use tauri::State;

use crate::{
    CommandError,
    picker::{PickKind, PickRequest, Picker},
    state::AppState,
};

/// The update files the dialog lists.
const UPDATES: (&str, &[&str]) = ("Outpost update", &["AppImage", "deb"]);

/// The update file verified last, waiting for the person's word.
#[derive(Debug, Default)]
pub struct PendingUpdate(Mutex<Option<PathBuf>>);

/// A verified update, as the page shows it.
#[derive(Debug, Clone, serde::Serialize, specta::Type)]
pub struct UpdateFound {
    /// Its version.
    pub version: String,
    /// The file the signature names.
    pub file: String,
    /// Whether this installation can put it in place itself (an AppImage it runs from); a
    /// `.deb` is installed with the system's package manager.
    pub installable: bool,
}

/// Asks for an update file, and verifies it against Outpost's update key and the installed
/// version. Changes nothing; `null` when the dialog was closed.
#[tauri::command]
#[specta::specta]
pub async fn check_update_file(
    state: State<'_, AppState>,
    picker: State<'_, Picker>,
    pending: State<'_, PendingUpdate>,
) -> Result<Option<UpdateFound>, CommandError> {
    // The dialog opens where a backup would go: a mounted USB stick, else Documents.
    let request = PickRequest {
        title: "Choose the Outpost update",
        dir: state.core.backup_place(picker.0.home().as_deref()).dir,
        kind: PickKind::Open,
        filter: UPDATES,
    };
    let Some(path) = picker.ask(request).await else {
        return Ok(None);
    };
    let checked = path.clone();
    let verified = tauri::async_runtime::spawn_blocking(move || {
        let key = UpdateKey::shipped()?;
        outpost_update::verify_file(&checked, &key, Version::this_build(), Downgrade::Refuse)
    })
    .await
    .map_err(|_| CommandError::invalid("the check did not finish"))??;
    let installable =
        verified.file.ends_with(".AppImage") && std::env::var_os("APPIMAGE").is_some();
    *pending
        .0
        .lock()
        .map_err(|_| CommandError::invalid("busy"))? = Some(path);
    Ok(Some(UpdateFound {
        version: verified.version.to_string(),
        file: verified.file,
        installable,
    }))
}

/// Installs the update verified last in place of the running AppImage: verified again, then
/// renamed over it in one step. Restart Outpost to use it.
#[tauri::command]
#[specta::specta]
pub async fn install_update_file(
    pending: State<'_, PendingUpdate>,
) -> Result<String, CommandError> {
    let path = pending
        .0
        .lock()
        .map_err(|_| CommandError::invalid("busy"))?
        .take()
        .ok_or_else(|| CommandError::invalid("choose and check an update file first"))?;
    let target: PathBuf = std::env::var_os("APPIMAGE")
        .map(Into::into)
        .ok_or_else(|| CommandError::invalid("this installation is not an AppImage: install the .deb with the system's package manager"))?;
    let done = tauri::async_runtime::spawn_blocking(move || {
        let key = UpdateKey::shipped()?;
        let installed = Version::this_build();
        outpost_update::install_replacing(&path, &target, &key, installed, Downgrade::Refuse)
    })
    .await
    .map_err(|_| CommandError::invalid("the installation did not finish"))??;
    Ok(done.version.to_string())
}
