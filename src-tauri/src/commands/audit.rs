//! Commands for the audit trail.

use outpost_core::store::{
    UserId,
    audit::{AuditEntry, AuditFilter},
    verify::LogReport,
};
use tauri::State;

use crate::{
    CommandError,
    picker::{PickKind, PickRequest, Picker},
    state::AppState,
};

/// Which entries the audit view asks for: a record (patient) or user, a time span (UTC ms),
/// and a page.
#[derive(Debug, Clone, serde::Deserialize, specta::Type)]
pub struct AuditQuery {
    /// Only entries about this record or patient (hex).
    pub record_id: Option<String>,
    /// Only entries by this user.
    pub actor: Option<UserId>,
    /// From this time on (UTC ms).
    pub from_ms: Option<f64>,
    /// Before this time (UTC ms).
    pub to_ms: Option<f64>,
    /// Skip this many of the newest.
    pub offset: u32,
    /// At most this many.
    pub limit: u32,
}

impl From<AuditQuery> for AuditFilter {
    fn from(q: AuditQuery) -> Self {
        // JavaScript's times are whole milliseconds in a double.
        #[allow(clippy::cast_possible_truncation)]
        let ms = |t: Option<f64>| t.filter(|t| t.is_finite()).map(|t| t as i64);
        Self {
            actor: q.actor,
            record_id: q.record_id,
            from_ms: ms(q.from_ms),
            to_ms: ms(q.to_ms),
            offset: Some(q.offset),
            limit: Some(q.limit.min(500)),
        }
    }
}

/// Audit entries, newest first, with who and which patient in words.
#[tauri::command]
#[specta::specta]
pub async fn audit_entries(
    state: State<'_, AppState>,
    query: AuditQuery,
) -> Result<Vec<AuditEntry>, CommandError> {
    Ok(state.core.audit_entries(query.into()).await?)
}

/// Asks where to save, then writes the entries `query` selects (every page) as CSV for a
/// privacy officer: a new file, owner-only. The export is itself recorded. `null` when the
/// dialog was closed.
#[tauri::command]
#[specta::specta]
pub async fn export_audit(
    state: State<'_, AppState>,
    picker: State<'_, Picker>,
    query: AuditQuery,
) -> Result<Option<String>, CommandError> {
    let filter = AuditFilter {
        offset: None,
        limit: None,
        ..query.into()
    };
    let home = picker.0.home();
    let place = state.core.backup_place(home.as_deref());
    let request = PickRequest {
        title: "Save the audit trail",
        dir: home.unwrap_or(place.dir),
        kind: PickKind::Save {
            file_name: place
                .file_name
                .replace("outpost-backup-", "outpost-audit-")
                .replace(".outpost", ".csv"),
        },
        filter: ("CSV", &["csv"]),
    };
    let Some(path) = picker.ask(request).await else {
        return Ok(None);
    };
    state.core.export_audit(filter, path.clone()).await?;
    Ok(Some(path.display().to_string()))
}

/// Verifies the signed log (links, signatures, roles, chart tables); what was checked when it
/// holds, a typed error naming the first bad operation when it does not.
#[tauri::command]
#[specta::specta]
pub async fn verify_audit(state: State<'_, AppState>) -> Result<LogReport, CommandError> {
    Ok(state.core.verify_audit().await?)
}
