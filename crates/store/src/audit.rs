//! The audit trail: the operation log seen as who did what, when, to which record, plus the
//! pre-signature trail of a profile upgraded from schema 2. Every entry is a signed operation,
//! so editing one and re-hashing no longer verifies without its author's key.

use outpost_proto::{AuditAction, Operation, PatientId, Payload, UserId};
use serde::Serialize;

use crate::{Store, StoreError, legacy, verify};

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AuditEntry {
    /// The device whose log holds it (hex), or `"legacy"` for the pre-signature trail.
    pub device: String,
    /// Its position in that device's log (in the old trail, its sequence number).
    #[cfg_attr(feature = "specta", specta(type = f64))]
    pub seq: i64,
    /// When it happened (UTC ms).
    #[cfg_attr(feature = "specta", specta(type = f64))]
    pub at: i64,
    /// The user who acted, if known.
    pub actor: Option<UserId>,
    /// What happened (`note_signed`, `chart_read`, `unlock_failed`, ...).
    pub action: String,
    /// The kind of record acted on.
    pub record_kind: Option<String>,
    /// The record acted on (hex id).
    pub record_id: Option<String>,
    /// The patient concerned.
    pub patient_id: Option<PatientId>,
    /// A short reason or description (an emergency access reason, what a rollback lost).
    pub detail: Option<String>,
    /// From the pre-signature trail, or a record imported from it.
    pub legacy: bool,
}

/// Filter for [`Store::audit_entries`].
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    /// Only entries by this user.
    pub actor: Option<UserId>,
    /// Only entries about this record id or patient (hex).
    pub record_id: Option<String>,
    /// At most this many, newest first.
    pub limit: Option<u32>,
}

fn entry_from_op(op: &Operation) -> AuditEntry {
    let h = op.header();
    let payload = op.payload().ok();
    let (at, detail, legacy, actor) = match &payload {
        Some(Payload::Audit(a)) => (
            a.at.unwrap_or(i64::try_from(h.hlc.wall_ms).unwrap_or(i64::MAX)),
            a.detail.clone(),
            false,
            // A failed unlock is by whoever was tried, recorded by the next unlock.
            if a.action == AuditAction::UnlockFailed {
                a.subject
            } else {
                Some(h.actor)
            },
        ),
        Some(Payload::Legacy(l)) => (l.recorded_at, None, true, Some(l.recorded_by)),
        _ => (
            i64::try_from(h.hlc.wall_ms).unwrap_or(i64::MAX),
            None,
            false,
            Some(h.actor),
        ),
    };
    let record = h.target;
    AuditEntry {
        device: h.device.to_hex(),
        seq: i64::try_from(h.seq).unwrap_or(i64::MAX),
        at,
        actor,
        action: payload
            .as_ref()
            .map_or("unreadable", Payload::action)
            .to_owned(),
        record_kind: payload
            .as_ref()
            .and_then(Payload::record_kind)
            .map(str::to_owned),
        record_id: (record.0 != [0; 16]).then(|| record.to_hex()),
        patient_id: payload.as_ref().and_then(|p| p.patient(record)),
        detail,
        legacy,
    }
}

impl Store {
    /// Verifies the whole log (links, signatures, roles, projections, the sealed old trail)
    /// and records that someone checked it. Returns the number of operations.
    pub fn verify_audit(&mut self) -> Result<verify::LogReport, StoreError> {
        let report = verify::verify_log(&self.conn)?;
        self.audit_event(AuditAction::AuditVerified, None, None)?;
        Ok(report)
    }

    /// Audit entries, newest first: signed operations, then the pre-signature trail.
    pub fn audit_entries(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        self.require_care_team("reading the audit trail")?;
        let limit = filter.limit.unwrap_or(u32::MAX);
        let mut stmt = self.conn.prepare(
            "SELECT bytes FROM ops
             WHERE (?1 IS NULL OR actor = ?1) AND (?2 IS NULL OR target = ?2 OR patient = ?2)
             ORDER BY rowid DESC LIMIT ?3",
        )?;
        let mut rows = stmt.query(rusqlite::params![
            filter.actor.map(|a| a.to_hex()),
            filter.record_id,
            limit
        ])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let op = Operation::decode(row.get(0)?)
                .map_err(|_| StoreError::Corrupt("an operation in the log"))?;
            out.push(entry_from_op(&op));
        }
        let remaining = limit.saturating_sub(u32::try_from(out.len()).unwrap_or(u32::MAX));
        if remaining > 0 {
            for e in legacy::entries(&self.conn, remaining)? {
                let actor: Option<UserId> = e.actor.as_deref().and_then(|a| a.parse().ok());
                if filter.actor.is_some_and(|f| Some(f) != actor)
                    || filter
                        .record_id
                        .as_ref()
                        .is_some_and(|r| e.record_id.as_ref() != Some(r))
                {
                    continue;
                }
                out.push(AuditEntry {
                    device: "legacy".to_owned(),
                    seq: e.seq,
                    at: e.at,
                    actor,
                    action: e.action,
                    record_kind: e.record_kind,
                    record_id: e.record_id,
                    patient_id: None,
                    detail: None,
                    legacy: true,
                });
            }
        }
        Ok(out)
    }
}
