//! Commands for the profile: onboarding, who can unlock, unlock, lock.

use outpost_core::{Role, SessionInfo, store::User};
use tauri::State;
use zeroize::Zeroizing;

use crate::{CommandError, state::AppState};

/// The users who can unlock this device's profile (for the unlock screen).
#[tauri::command]
#[specta::specta]
pub async fn profile_users(state: State<'_, AppState>) -> Result<Vec<User>, CommandError> {
    Ok(state.core.users().await?)
}

/// Creates the profile and its first user, unlocked. Returns the recovery key, to show once.
#[tauri::command]
#[specta::specta]
pub async fn create_profile(
    state: State<'_, AppState>,
    name: String,
    role: Role,
    passphrase: String,
) -> Result<String, CommandError> {
    let key = state
        .core
        .create_profile(name, role, Zeroizing::new(passphrase))
        .await?;
    Ok(key.as_str().to_owned())
}

/// Unlocks as `user` (id or name).
#[tauri::command]
#[specta::specta]
pub async fn unlock(
    state: State<'_, AppState>,
    user: String,
    passphrase: String,
) -> Result<SessionInfo, CommandError> {
    Ok(state.core.unlock(user, Zeroizing::new(passphrase)).await?)
}

/// Emergency access with the recovery key, as the emergency user, with the reason recorded.
#[tauri::command]
#[specta::specta]
pub async fn unlock_with_recovery(
    state: State<'_, AppState>,
    recovery_key: String,
    reason: String,
) -> Result<SessionInfo, CommandError> {
    Ok(state
        .core
        .unlock_with_recovery(Zeroizing::new(recovery_key), reason)
        .await?)
}

/// Locks now: the key is zeroized and the database closed.
#[tauri::command]
#[specta::specta]
pub async fn lock(state: State<'_, AppState>) -> Result<(), CommandError> {
    Ok(state.core.lock().await?)
}

/// Who is using the unlocked profile.
#[tauri::command]
#[specta::specta]
pub async fn current_user(state: State<'_, AppState>) -> Result<User, CommandError> {
    Ok(state.core.current_user().await?)
}

/// What the signed-in user may do (sign notes, make backups, manage users), from the core's
/// rules, so the screens offer only what the core accepts.
#[tauri::command]
#[specta::specta]
pub async fn capabilities(
    state: State<'_, AppState>,
) -> Result<outpost_core::store::Capabilities, CommandError> {
    Ok(state.core.capabilities().await?)
}
