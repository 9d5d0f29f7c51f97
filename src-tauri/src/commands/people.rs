//! Commands for the people of the profile and its secrets: add, list and remove users (a
//! removal re-keys the database), change one's passphrase, a new recovery key and its sheet.
//! Each returns a new recovery key as text exactly once, for the screen to show.

use outpost_core::{Role, store::User, store::users::Member};
use serde::Serialize;
use tauri::State;
use zeroize::Zeroizing;

use super::qr_data_url;
use crate::{CommandError, state::AppState};

/// Everyone registered in this profile, removed ones included.
#[tauri::command]
#[specta::specta]
pub async fn members(state: State<'_, AppState>) -> Result<Vec<Member>, CommandError> {
    Ok(state.core.members().await?)
}

/// Adds a nurse, physician or admin who unlocks with their own passphrase (an admin or
/// physician does this; the core checks the role and the passphrase policy).
#[tauri::command]
#[specta::specta]
pub async fn add_user(
    state: State<'_, AppState>,
    name: String,
    role: Role,
    passphrase: String,
) -> Result<User, CommandError> {
    Ok(state
        .core
        .add_user(name, role, Zeroizing::new(passphrase))
        .await?)
}

/// Removes a user for good and re-keys the database; returns the new recovery key (once).
/// `confirm` is the signed-in user's passphrase, asked again.
#[tauri::command]
#[specta::specta]
pub async fn remove_user(
    state: State<'_, AppState>,
    id: String,
    confirm: String,
) -> Result<String, CommandError> {
    let key = state.core.remove_user(id, Zeroizing::new(confirm)).await?;
    Ok(key.display().as_str().to_owned())
}

/// Changes the signed-in user's passphrase (the current one is checked again).
#[tauri::command]
#[specta::specta]
pub async fn change_passphrase(
    state: State<'_, AppState>,
    current: String,
    next: String,
) -> Result<(), CommandError> {
    Ok(state
        .core
        .change_passphrase(Zeroizing::new(current), Zeroizing::new(next))
        .await?)
}

/// Issues a new recovery key (the old one stops working); returns it (once). `confirm` is the
/// signed-in user's passphrase, asked again.
#[tauri::command]
#[specta::specta]
pub async fn rotate_recovery(
    state: State<'_, AppState>,
    confirm: String,
) -> Result<String, CommandError> {
    let key = state.core.rotate_recovery(Zeroizing::new(confirm)).await?;
    Ok(key.display().as_str().to_owned())
}

/// The recovery sheet to print and keep with the recovery key.
#[derive(Debug, Serialize, specta::Type)]
pub struct RecoverySheet {
    /// The sheet as text (title line, then groups of four characters).
    pub text: String,
    /// The same as a QR code (`data:` URL of an SVG).
    pub qr: String,
}

/// The recovery sheet for the current recovery key (nothing secret: it opens nothing alone).
#[tauri::command]
#[specta::specta]
pub async fn recovery_sheet(state: State<'_, AppState>) -> Result<RecoverySheet, CommandError> {
    let text = state.core.recovery_sheet()?;
    let body: String = text
        .lines()
        .skip(1)
        .flat_map(str::split_whitespace)
        .collect();
    Ok(RecoverySheet {
        qr: qr_data_url(&body)?,
        text,
    })
}
