//! Commands for the audit trail.

use outpost_core::store::audit::{AuditEntry, AuditFilter};
use tauri::State;

use crate::{CommandError, state::AppState};

/// Audit entries, newest first, optionally for one record (patient) or user.
#[tauri::command]
#[specta::specta]
pub async fn audit_entries(
    state: State<'_, AppState>,
    record_id: Option<String>,
    actor: Option<String>,
    limit: u32,
) -> Result<Vec<AuditEntry>, CommandError> {
    Ok(state
        .core
        .audit_entries(AuditFilter {
            actor,
            record_id,
            limit: Some(limit),
        })
        .await?)
}

/// Verifies the hash chain; the number of entries when it holds, a typed error naming the
/// broken entry when it does not.
#[tauri::command]
#[specta::specta]
pub async fn verify_audit(state: State<'_, AppState>) -> Result<u32, CommandError> {
    let n = state.core.verify_audit().await?;
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}
