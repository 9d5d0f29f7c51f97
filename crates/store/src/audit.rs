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
    /// The user's name, for people reading the trail (filled in from the users table).
    pub actor_name: Option<String>,
    /// The user's role when the trail was read.
    pub actor_role: Option<outpost_proto::Role>,
    /// The patient's name ("Family, Given"), when the entry concerns a patient.
    pub patient_name: Option<String>,
}

/// Filter for [`Store::audit_entries`].
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    /// Only entries by this user.
    pub actor: Option<UserId>,
    /// Only entries about this record id or patient (hex).
    pub record_id: Option<String>,
    /// Only entries recorded at or after this time (UTC ms).
    pub from_ms: Option<i64>,
    /// Only entries recorded before this time (UTC ms).
    pub to_ms: Option<i64>,
    /// Skip this many of the newest (paging).
    pub offset: Option<u32>,
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
        actor_name: None,
        actor_role: None,
        patient_name: None,
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
               AND (?4 IS NULL OR hlc_wall >= ?4) AND (?5 IS NULL OR hlc_wall < ?5)
             ORDER BY rowid DESC LIMIT ?3 OFFSET ?6",
        )?;
        let mut rows = stmt.query(rusqlite::params![
            filter.actor.map(|a| a.to_hex()),
            filter.record_id,
            limit,
            filter.from_ms,
            filter.to_ms,
            filter.offset.unwrap_or(0)
        ])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let op = Operation::decode(row.get(0)?)
                .map_err(|_| StoreError::Corrupt("an operation in the log"))?;
            out.push(entry_from_op(&op));
        }
        let remaining = limit.saturating_sub(u32::try_from(out.len()).unwrap_or(u32::MAX));
        // The old trail has no place in a dated or paged view beyond its first page.
        let plain =
            filter.from_ms.is_none() && filter.to_ms.is_none() && filter.offset.unwrap_or(0) == 0;
        if remaining > 0 && plain {
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
                    actor_name: None,
                    actor_role: None,
                    patient_name: None,
                });
            }
        }
        self.name_entries(&mut out)?;
        Ok(out)
    }

    /// Fills in who and which patient, in words, from the users and patients tables.
    fn name_entries(&self, entries: &mut [AuditEntry]) -> Result<(), StoreError> {
        use rusqlite::OptionalExtension;
        let mut user = self
            .conn
            .prepare_cached("SELECT name, role FROM users WHERE id = ?1")?;
        let mut patient = self
            .conn
            .prepare_cached("SELECT family_name, given_name FROM patients WHERE id = ?1")?;
        for e in entries {
            if let Some(actor) = e.actor
                && let Some((name, role)) = user
                    .query_row([actor.to_hex()], |r| {
                        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                    })
                    .optional()?
            {
                e.actor_name = Some(name);
                e.actor_role = outpost_proto::Role::from_name(&role);
            }
            let about = e.patient_id.map(|p| p.to_hex()).or_else(|| {
                (e.record_kind.as_deref() == Some("patient"))
                    .then(|| e.record_id.clone())
                    .flatten()
            });
            if let Some(id) = about
                && let Some((family, given)) = patient
                    .query_row([id], |r| {
                        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                    })
                    .optional()?
            {
                e.patient_name = Some(format!("{family}, {given}"));
            }
        }
        Ok(())
    }

    /// The entries `filter` selects as CSV for a privacy officer (UTC times, names as read
    /// now, one entry per line, RFC 4180 quoting), and the export itself recorded.
    pub fn audit_csv(&mut self, filter: &AuditFilter) -> Result<String, StoreError> {
        self.require_manager("exporting the audit trail")?;
        let entries = self.audit_entries(filter)?;
        let mut out = String::from(
            "time_utc,user,role,action,patient,record_kind,record_id,detail,device,seq\r\n",
        );
        for e in &entries {
            let fields = [
                utc_time(e.at),
                e.actor_name.clone().unwrap_or_default(),
                e.actor_role
                    .map(|r| r.as_str().to_owned())
                    .unwrap_or_default(),
                e.action.clone(),
                e.patient_name.clone().unwrap_or_default(),
                e.record_kind.clone().unwrap_or_default(),
                e.record_id.clone().unwrap_or_default(),
                e.detail.clone().unwrap_or_default(),
                e.device.clone(),
                e.seq.to_string(),
            ];
            let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
            out.push_str(&line.join(","));
            out.push_str("\r\n");
        }
        self.audit_event(AuditAction::AuditExported, None, None)?;
        Ok(out)
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ`.
fn utc_time(ms: i64) -> String {
    let date = outpost_clinical::age::Date::from_unix_ms(ms);
    let secs = ms.div_euclid(1000).rem_euclid(86_400);
    format!(
        "{date}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// One CSV field: quoted when it holds a comma, a quote or a line break (quotes doubled); a
/// leading `= + - @` is prefixed with `'` so a spreadsheet never runs it as a formula.
fn csv_field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::{csv_field, utc_time};

    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("Kamau, Wanjiru"), "\"Kamau, Wanjiru\"");
        assert_eq!(csv_field("said \"no\""), "\"said \"\"no\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("-1"), "'-1");
        assert_eq!(
            utc_time(1_795_910_400_000 + 3_723_000),
            "2026-11-29T01:02:03Z"
        );
    }
}
