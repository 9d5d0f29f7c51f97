//! Unusual-access alerts: rules over the audit trail, evaluated on the device.
//!
//! The store hands over the audit trail as [`Event`]s (every device's, once synced) and the
//! clinic's [`Rules`]; [`evaluate`] returns the [`Alert`]s. Nothing here reads a clock, a file
//! or a database, and the same trail gives the same alerts on every device, with the same ids:
//! an acknowledgement made on one device names an alert every other device also raised.
//!
//! The rules, and why each is worth a look:
//! - **Bulk access**: one user opening many different charts in a short time is how records are
//!   harvested; the care of one patient does not need it.
//! - **After hours**: a chart opened outside the clinic's hours, by someone not on a shift.
//! - **Failed unlocks**: several wrong passphrases for one user in a short time (guessing).
//! - **Emergency access**: every use of the recovery key is reviewed.
//! - **Backup or export**: a copy of every chart left the app.
//! - **New user or device**: someone new can read the charts.
//! - **Integrity**: a profile restored to an earlier state, its profile file altered, or a
//!   record set aside because its signature or its author's rights did not hold.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};

/// One entry of the audit trail, as the rules read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// A stable id, the same on every device (`device:seq` of the operation).
    pub id: String,
    /// When it happened (UTC ms).
    pub at: i64,
    /// Who acted (for a failed unlock, who was tried), when known.
    pub actor: Option<String>,
    /// What happened, as the trail names it (`chart_read`, `unlock_failed`, …).
    pub action: String,
    /// The patient concerned, if any.
    pub patient: Option<String>,
    /// The record acted on (for `user_added`, the user added), if any.
    pub target: Option<String>,
}

/// The clinic's settings for the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
// A setting written by an older or newer build keeps the fields it has; the rest default.
#[serde(default)]
pub struct Rules {
    /// Bulk access: this many different charts …
    pub bulk_charts: u32,
    /// … opened by one user within this many minutes.
    pub bulk_minutes: u32,
    /// The clinic opens at this minute of the day (clinic time); with `closes_at`, `None` means
    /// open around the clock.
    pub opens_at: Option<u32>,
    /// The clinic closes at this minute of the day (clinic time).
    pub closes_at: Option<u32>,
    /// The clinic's offset from UTC, in minutes (+60 for West Africa Time).
    pub utc_offset_minutes: i32,
    /// Failed unlocks: this many for one user …
    pub failed_unlocks: u32,
    /// … within this many minutes.
    pub failed_minutes: u32,
}

impl Default for Rules {
    /// Twenty charts in ten minutes (a busy clinician opens a few dozen a day, one at a time);
    /// open around the clock until the clinic says its hours; three failed unlocks in fifteen
    /// minutes (one typo is normal, three is guessing or a forgotten passphrase).
    fn default() -> Self {
        Self {
            bulk_charts: 20,
            bulk_minutes: 10,
            opens_at: None,
            closes_at: None,
            utc_offset_minutes: 0,
            failed_unlocks: 3,
            failed_minutes: 15,
        }
    }
}

/// Which rule raised an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// Many different charts opened by one user in a short time.
    BulkAccess,
    /// A chart opened outside the clinic's hours.
    AfterHours,
    /// Several failed unlocks for one user in a short time.
    FailedUnlocks,
    /// The recovery key was used.
    EmergencyAccess,
    /// A backup or an export of the audit trail was made.
    BackupOrExport,
    /// A user or a device was added.
    NewUserOrDevice,
    /// The profile was restored to an earlier state or altered, or a record was set aside.
    Integrity,
}

/// How soon someone should look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    /// For the record: expected now and then, worth knowing.
    Info,
    /// Look today.
    Warning,
    /// Look now.
    High,
}

/// One alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Alert {
    /// Stable across devices: the rule and the first event that raised it.
    pub id: String,
    /// The rule.
    pub rule: Rule,
    /// How soon to look.
    pub urgency: Urgency,
    /// When the first event happened (UTC ms).
    #[cfg_attr(feature = "specta", specta(type = f64))]
    pub at: i64,
    /// Who acted, when known.
    pub actor: Option<String>,
    /// The events that raised it (their ids), oldest first.
    pub events: Vec<String>,
    /// For bulk access, the number of different charts; otherwise the number of events.
    pub count: u32,
    /// The action that raised it, for rules several actions raise (`backup_created`…).
    pub action: String,
}

const MINUTE: i64 = 60_000;

/// The alerts `events` raise under `rules`. Events may come in any order; alerts come oldest
/// first.
pub fn evaluate(events: &[Event], rules: &Rules) -> Vec<Alert> {
    let mut sorted: Vec<&Event> = events.iter().collect();
    sorted.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.id.cmp(&b.id)));
    let mut alerts = Vec::new();
    bulk_access(&sorted, rules, &mut alerts);
    after_hours(&sorted, rules, &mut alerts);
    failed_unlocks(&sorted, rules, &mut alerts);
    for e in &sorted {
        let (rule, urgency) = match e.action.as_str() {
            "emergency_access" => (Rule::EmergencyAccess, Urgency::Warning),
            "backup_created" | "audit_exported" => (Rule::BackupOrExport, Urgency::Info),
            // Someone registering themselves is the profile being created, not someone new.
            "user_added" if e.target.is_some() && e.target == e.actor => continue,
            "user_added" | "device_admitted" => (Rule::NewUserOrDevice, Urgency::Info),
            "rollback_detected" | "profile_file_altered" | "backup_restored" | "set_aside" => {
                (Rule::Integrity, Urgency::High)
            }
            _ => continue,
        };
        alerts.push(one(rule, urgency, &[e], 1));
    }
    alerts.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.id.cmp(&b.id)));
    alerts
}

fn one(rule: Rule, urgency: Urgency, events: &[&Event], count: u32) -> Alert {
    let first = events[0];
    Alert {
        id: format!("{}:{}", rule_name(rule), first.id),
        rule,
        urgency,
        at: first.at,
        actor: first.actor.clone(),
        events: events.iter().map(|e| e.id.clone()).collect(),
        count,
        action: first.action.clone(),
    }
}

fn rule_name(rule: Rule) -> &'static str {
    match rule {
        Rule::BulkAccess => "bulk_access",
        Rule::AfterHours => "after_hours",
        Rule::FailedUnlocks => "failed_unlocks",
        Rule::EmergencyAccess => "emergency_access",
        Rule::BackupOrExport => "backup_or_export",
        Rule::NewUserOrDevice => "new_user_or_device",
        Rule::Integrity => "integrity",
    }
}

/// Per user, a window of chart reads: when the different charts in the last `bulk_minutes`
/// reach `bulk_charts`, one alert for the burst, which then runs until the user's reads thin
/// out again (no new alert for every chart past the threshold).
fn bulk_access(sorted: &[&Event], rules: &Rules, alerts: &mut Vec<Alert>) {
    let window = i64::from(rules.bulk_minutes.max(1)) * MINUTE;
    let threshold = usize::try_from(rules.bulk_charts.max(2)).unwrap_or(usize::MAX);
    let mut by_user: BTreeMap<&str, Vec<&Event>> = BTreeMap::new();
    for e in sorted {
        if e.action == "chart_read"
            && e.patient.is_some()
            && let Some(actor) = &e.actor
        {
            by_user.entry(actor).or_default().push(e);
        }
    }
    for reads in by_user.values() {
        let mut recent: VecDeque<&Event> = VecDeque::new();
        // The burst being reported: its alert, and the charts in it.
        let mut burst: Option<(usize, BTreeSet<&str>)> = None;
        for e in reads {
            while recent.front().is_some_and(|f| e.at - f.at >= window) {
                recent.pop_front();
            }
            recent.push_back(e);
            let charts: BTreeSet<&str> =
                recent.iter().filter_map(|r| r.patient.as_deref()).collect();
            match &mut burst {
                Some((index, seen)) if charts.len() >= threshold / 2 => {
                    // Still in the burst: the alert grows.
                    let alert: &mut Alert = &mut alerts[*index];
                    alert.events.push(e.id.clone());
                    if let Some(p) = e.patient.as_deref() {
                        seen.insert(p);
                    }
                    alert.count = u32::try_from(seen.len()).unwrap_or(u32::MAX);
                }
                _ if charts.len() >= threshold => {
                    let events: Vec<&Event> = recent.iter().copied().collect();
                    let count = u32::try_from(charts.len()).unwrap_or(u32::MAX);
                    alerts.push(one(Rule::BulkAccess, Urgency::High, &events, count));
                    burst = Some((alerts.len() - 1, charts));
                }
                _ => burst = None,
            }
        }
    }
}

/// A chart read outside the clinic's hours: one alert per user per clinic day.
fn after_hours(sorted: &[&Event], rules: &Rules, alerts: &mut Vec<Alert>) {
    let (Some(opens), Some(closes)) = (rules.opens_at, rules.closes_at) else {
        return;
    };
    let offset = i64::from(rules.utc_offset_minutes) * MINUTE;
    let mut days: BTreeMap<(&str, i64), Vec<&Event>> = BTreeMap::new();
    for e in sorted {
        let Some(actor) = e.actor.as_deref() else {
            continue;
        };
        if e.action != "chart_read" {
            continue;
        }
        let local = e.at + offset;
        let minute = u32::try_from(local.rem_euclid(1440 * MINUTE) / MINUTE).unwrap_or(0);
        // Hours may run past midnight (a night shift, 19:00 to 07:00).
        let open = if opens <= closes {
            (opens..closes).contains(&minute)
        } else {
            minute >= opens || minute < closes
        };
        if !open {
            days.entry((actor, local.div_euclid(1440 * MINUTE)))
                .or_default()
                .push(e);
        }
    }
    for events in days.values() {
        let count = u32::try_from(events.len()).unwrap_or(u32::MAX);
        alerts.push(one(Rule::AfterHours, Urgency::Warning, events, count));
    }
}

/// `failed_unlocks` failed unlocks for one user within `failed_minutes`: one alert per run.
fn failed_unlocks(sorted: &[&Event], rules: &Rules, alerts: &mut Vec<Alert>) {
    let window = i64::from(rules.failed_minutes.max(1)) * MINUTE;
    let threshold = usize::try_from(rules.failed_unlocks.max(1)).unwrap_or(usize::MAX);
    let mut by_user: BTreeMap<Option<&str>, Vec<&Event>> = BTreeMap::new();
    for e in sorted.iter().filter(|e| e.action == "unlock_failed") {
        by_user.entry(e.actor.as_deref()).or_default().push(e);
    }
    for failures in by_user.values() {
        let mut start = 0;
        // The alert of the run being reported, and the last failure in it.
        let mut reported: Option<(usize, usize)> = None;
        for (i, e) in failures.iter().enumerate() {
            while e.at - failures[start].at >= window {
                start += 1;
            }
            let run = &failures[start..=i];
            match reported {
                // The run already reported goes on: the alert grows.
                Some((index, last)) if start <= last => {
                    let alert = &mut alerts[index];
                    alert.events.push(e.id.clone());
                    alert.count += 1;
                    reported = Some((index, i));
                }
                _ if run.len() >= threshold => {
                    let count = u32::try_from(run.len()).unwrap_or(u32::MAX);
                    alerts.push(one(Rule::FailedUnlocks, Urgency::High, run, count));
                    reported = Some((alerts.len() - 1, i));
                }
                _ => {}
            }
        }
    }
}
