//! Commands for the audit trail.

use outpost_core::store::{
    UserId,
    audit::{AuditEntry, AuditFilter},
    verify::LogReport,
};
use tauri::State;

use crate::{CommandError, state::AppState};

/// Audit entries, newest first, optionally for one record (patient) or user.
#[tauri::command]
#[specta::specta]
pub async fn audit_entries(
    state: State<'_, AppState>,
    record_id: Option<String>,
    actor: Option<UserId>,
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

/// Verifies the signed log (links, signatures, roles, chart tables); what was checked when it
/// holds, a typed error naming the first bad operation when it does not.
#[tauri::command]
#[specta::specta]
pub async fn verify_audit(state: State<'_, AppState>) -> Result<LogReport, CommandError> {
    Ok(state.core.verify_audit().await?)
}
