//! Unusual-access alerts for the clinic's managers: the audit trail (every device's, once
//! synced) and the operations sync set aside, read as events for the rules of `outpost-alerts`,
//! with the acknowledgements people made (signed operations, synced like any other).

use outpost_alerts::Event;
pub use outpost_alerts::{Alert, Rule, Rules, Urgency};
use outpost_proto::{Payload, RecordId, UserId, payload::AlertAcknowledged};
use rusqlite::OptionalExtension;
use serde::Serialize;

use crate::{Store, StoreError, audit::AuditFilter};

/// How far back the rules look: alerts older than this are in the audit trail, not here.
const LOOK_BACK_MS: i64 = 90 * 86_400_000;
/// The `clinic_settings` key of the alert rules.
pub(crate) const RULES_KEY: &str = "alert_rules";
/// The action the rules read for an operation sync set aside.
const SET_ASIDE: &str = "set_aside";

/// An alert as a manager reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AlertView {
    /// The alert.
    pub alert: Alert,
    /// The name of the user it is about, when known.
    pub actor_name: Option<String>,
    /// The latest acknowledgement, if anyone looked into it and the alert has not grown since.
    pub acknowledged: Option<Acknowledgement>,
    /// An acknowledgement made before the alert grew (more charts opened, more failed
    /// unlocks): the alert is open again, and this says what was found then.
    pub grew_since: Option<Acknowledgement>,
}

/// Someone looked into an alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Acknowledgement {
    /// Who.
    pub by: UserId,
    /// Their name.
    pub by_name: Option<String>,
    /// When (UTC ms).
    #[cfg_attr(feature = "specta", specta(type = f64))]
    pub at: i64,
    /// What they found.
    pub note: String,
}

/// Applies an acknowledgement (from any device): kept beside the others of its alert.
pub(crate) fn acknowledged(
    conn: &rusqlite::Connection,
    p: &AlertAcknowledged,
    by: UserId,
    at: i64,
    op: &[u8],
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT OR IGNORE INTO alert_acks (op, alert_id, by_user, at, note, events)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        rusqlite::params![op, p.alert, by.to_hex(), at, p.note, p.events],
    )?;
    Ok(())
}

/// Applies the clinic's alert rules (from any device): the latest in the log's total order
/// (hybrid clock wall time and counter, then device and sequence) wins, so every device ends
/// with the same rules whatever order the operations arrived in, even with a clock behind.
pub(crate) fn rules_set(
    conn: &rusqlite::Connection,
    p: &outpost_proto::payload::AlertRulesSet,
    (wall, counter, device, seq): (i64, i64, &str, i64),
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO clinic_settings (key, value, hlc_wall, hlc_counter, device, seq)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, hlc_wall = excluded.hlc_wall,
             hlc_counter = excluded.hlc_counter, device = excluded.device, seq = excluded.seq
         WHERE (excluded.hlc_wall, excluded.hlc_counter, excluded.device, excluded.seq)
             > (clinic_settings.hlc_wall, clinic_settings.hlc_counter, clinic_settings.device,
                clinic_settings.seq)",
        rusqlite::params![RULES_KEY, p.rules, wall, counter, device, seq],
    )?;
    Ok(())
}

impl Store {
    /// The alerts of the last 90 days, newest first, with their acknowledgements. For the
    /// managers (admins and physicians).
    pub fn alerts(&self) -> Result<Vec<AlertView>, StoreError> {
        self.require_manager("reviewing alerts")?;
        let alerts = outpost_alerts::evaluate(&self.alert_events()?, &self.alert_rules()?);
        let mut ack = self.conn.prepare_cached(
            "SELECT a.by_user, u.name, a.at, a.note, a.events FROM alert_acks a
             LEFT JOIN users u ON u.id = a.by_user
             WHERE a.alert_id = ?1 ORDER BY a.at DESC, a.op DESC LIMIT 1",
        )?;
        let mut name = self
            .conn
            .prepare_cached("SELECT name FROM users WHERE id = ?1")?;
        let mut out = Vec::with_capacity(alerts.len());
        for alert in alerts.into_iter().rev() {
            let latest = ack
                .query_row([&alert.id], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get::<_, i64>(4)?,
                    ))
                })
                .optional()?
                .and_then(|(by, by_name, at, note, events)| {
                    Some((
                        Acknowledgement {
                            by: by.parse().ok()?,
                            by_name,
                            at,
                            note,
                        },
                        events,
                    ))
                });
            // An alert that grew after it was acknowledged is open again: the burst went on.
            let seen_all =
                |events: i64| usize::try_from(events).is_ok_and(|n| n >= alert.events.len());
            let (acknowledged, grew_since) = match latest {
                Some((a, events)) if seen_all(events) => (Some(a), None),
                Some((a, _)) => (None, Some(a)),
                None => (None, None),
            };
            let actor_name = match &alert.actor {
                Some(actor) => name.query_row([actor], |r| r.get(0)).optional()?,
                None => None,
            };
            out.push(AlertView {
                alert,
                actor_name,
                acknowledged,
                grew_since,
            });
        }
        Ok(out)
    }

    /// How many alerts nobody has acknowledged yet (for the badge).
    pub fn open_alert_count(&self) -> Result<u32, StoreError> {
        let open = self
            .alerts()?
            .iter()
            .filter(|a| a.acknowledged.is_none())
            .count();
        Ok(u32::try_from(open).unwrap_or(u32::MAX))
    }

    /// Records that a manager looked into alert `id` and what they found; signed, audited and
    /// synced, so a remote admin sees it. The alert must be one the rules raise here.
    pub fn acknowledge_alert(&mut self, id: &str, note: &str) -> Result<(), StoreError> {
        self.require_manager("acknowledging an alert")?;
        let note = crate::records::required("note", note)?;
        let events = self
            .alerts()?
            .iter()
            .find(|a| a.alert.id == id)
            .map(|a| a.alert.events.len())
            .ok_or(StoreError::NotFound("alert"))?;
        self.write(
            RecordId([0; 16]),
            &Payload::AlertAcknowledged(AlertAcknowledged {
                alert: id.to_owned(),
                note,
                events: u32::try_from(events).unwrap_or(u32::MAX),
            }),
        )?;
        Ok(())
    }

    /// The clinic's rules (the defaults until a manager changes them), the same on every
    /// device of the team once synced.
    pub fn alert_rules(&self) -> Result<Rules, StoreError> {
        let stored: Option<String> = self
            .conn
            .query_row(
                "SELECT value FROM clinic_settings WHERE key = ?1",
                [RULES_KEY],
                |r| r.get(0),
            )
            .optional()?;
        Ok(stored
            .and_then(|json| serde_json::from_str(&json).ok())
            .unwrap_or_default())
    }

    /// Changes the clinic's rules (managers only): a signed operation, synced to the team.
    pub fn set_alert_rules(&mut self, rules: &Rules) -> Result<(), StoreError> {
        self.require_manager("changing the alert rules")?;
        let minute = |m: Option<u32>| m.is_none_or(|m| m < 1440);
        if rules.bulk_charts < 2 || rules.bulk_minutes == 0 || rules.failed_unlocks == 0 {
            return Err(StoreError::Invalid {
                field: "alert rules",
                reason: "thresholds must be at least 2 charts, 1 minute and 1 failed unlock",
            });
        }
        if !minute(rules.opens_at)
            || !minute(rules.closes_at)
            || rules.opens_at.is_some() != rules.closes_at.is_some()
            || (rules.opens_at.is_some() && rules.opens_at == rules.closes_at)
            || rules.utc_offset_minutes.abs() > 14 * 60
        {
            return Err(StoreError::Invalid {
                field: "clinic hours",
                reason: "give both opening and closing times (HH:MM) and an offset within ±14 h",
            });
        }
        let json = serde_json::to_string(rules).map_err(|_| StoreError::Corrupt("alert rules"))?;
        self.write(
            RecordId([0; 16]),
            &Payload::AlertRulesSet(outpost_proto::payload::AlertRulesSet { rules: json }),
        )?;
        Ok(())
    }

    /// The audit trail of the last 90 days, and what sync set aside, as the rules read them.
    fn alert_events(&self) -> Result<Vec<Event>, StoreError> {
        let filter = AuditFilter {
            from_ms: Some(self.now() - LOOK_BACK_MS),
            ..AuditFilter::default()
        };
        let mut events: Vec<Event> = self
            .audit_entries(&filter)?
            .into_iter()
            .map(|e| Event {
                id: format!("{}:{}", e.device, e.seq),
                at: e.at,
                actor: e.actor.map(|a| a.to_hex()),
                action: e.action,
                patient: e.patient_id.map(|p| p.to_hex()),
                target: e.record_id,
            })
            .collect();
        for (device, seq, _, found_at) in self.quarantined()? {
            events.push(Event {
                id: format!("set_aside:{device}:{seq}"),
                at: found_at,
                actor: None,
                action: SET_ASIDE.to_owned(),
                patient: None,
                target: None,
            });
        }
        Ok(events)
    }
}
