//! Each rule raises its alert on a scripted sequence of events, once per episode, and a busy
//! clinic day raises none.

#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap
)] // small counts and minutes in scripted days

use outpost_alerts::{Event, Rule, Rules, Urgency, evaluate};

const MIN: i64 = 60_000;
/// 2026-11-02 00:00 UTC, a Monday.
const DAY: i64 = 1_793_577_600_000;

fn at(hour: i64, minute: i64) -> i64 {
    DAY + hour * 60 * MIN + minute * MIN
}

struct Trail {
    events: Vec<Event>,
}

impl Trail {
    fn new() -> Self {
        Self { events: Vec::new() }
    }

    fn add(&mut self, at: i64, actor: &str, action: &str, patient: Option<&str>) -> &mut Self {
        let id = format!("dev:{}", self.events.len() + 1);
        self.events.push(Event {
            id,
            at,
            actor: Some(actor.to_owned()),
            action: action.to_owned(),
            patient: patient.map(str::to_owned),
            target: None,
        });
        self
    }

    fn read(&mut self, at: i64, actor: &str, patient: usize) -> &mut Self {
        self.add(at, actor, "chart_read", Some(&format!("p{patient}")))
    }
}

fn clinic_rules() -> Rules {
    Rules {
        opens_at: Some(7 * 60),
        closes_at: Some(19 * 60),
        ..Rules::default()
    }
}

#[test]
fn thirty_charts_in_a_minute_is_one_bulk_access_alert_naming_all_thirty() {
    let mut trail = Trail::new();
    for p in 0..30 {
        trail.read(at(10, 0) + p * 2_000, "clerk", p as usize);
    }
    let alerts = evaluate(&trail.events, &clinic_rules());
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let a = &alerts[0];
    assert_eq!(
        (a.rule, a.urgency, a.count),
        (Rule::BulkAccess, Urgency::High, 30)
    );
    assert_eq!(a.actor.as_deref(), Some("clerk"));
    assert_eq!(a.events.len(), 30, "linked to every read");
    assert_eq!(a.id, "bulk_access:dev:1", "the same id on every device");
}

#[test]
fn the_same_chart_opened_thirty_times_is_not_bulk_access() {
    let mut trail = Trail::new();
    for i in 0..30 {
        trail.read(at(10, 0) + i * 2_000, "dr", 7);
    }
    assert!(evaluate(&trail.events, &clinic_rules()).is_empty());
}

#[test]
fn the_threshold_is_the_clinics_and_the_count_is_of_different_charts_in_the_window() {
    let mut trail = Trail::new();
    // Nineteen charts in ten minutes: quiet. Twenty: an alert.
    for p in 0..19 {
        trail.read(at(9, 0) + p as i64 * 30_000, "nurse", p);
    }
    assert!(evaluate(&trail.events, &Rules::default()).is_empty());
    trail.read(at(9, 9) + 50_000, "nurse", 19);
    assert_eq!(evaluate(&trail.events, &Rules::default()).len(), 1);
    // With the clinic's threshold at 25 the same reads are quiet.
    let strict = Rules {
        bulk_charts: 25,
        ..Rules::default()
    };
    assert!(evaluate(&trail.events, &strict).is_empty());
    // Twenty charts over an hour are a clinic's day, not a burst.
    let mut slow = Trail::new();
    for p in 0..20 {
        slow.read(at(9, 0) + p as i64 * 3 * MIN, "nurse", p);
    }
    assert!(evaluate(&slow.events, &Rules::default()).is_empty());
}

#[test]
fn a_chart_opened_at_night_raises_one_after_hours_alert_per_user_and_night() {
    let mut trail = Trail::new();
    trail
        .read(at(22, 15), "dr", 1)
        .read(at(22, 40), "dr", 2)
        .read(at(23, 5), "nurse", 3);
    trail.read(at(12, 0), "dr", 4); // in hours
    let alerts = evaluate(&trail.events, &clinic_rules());
    let night: Vec<_> = alerts
        .iter()
        .filter(|a| a.rule == Rule::AfterHours)
        .collect();
    assert_eq!(night.len(), 2, "{alerts:#?}");
    assert_eq!((night[0].actor.as_deref(), night[0].count), (Some("dr"), 2));
    // The clinic's clock, not UTC: 06:30 UTC is 07:30 in West Africa Time (UTC+1), open.
    let mut early = Trail::new();
    early.read(at(6, 30), "dr", 1);
    assert_eq!(evaluate(&early.events, &clinic_rules()).len(), 1);
    let wat = Rules {
        utc_offset_minutes: 60,
        ..clinic_rules()
    };
    assert!(evaluate(&early.events, &wat).is_empty());
    // Without hours set, nothing is after hours.
    assert!(evaluate(&trail.events, &Rules::default()).is_empty());
    // A night-shift clinic (19:00 to 07:00) is open at 23:05.
    let night_shift = Rules {
        opens_at: Some(19 * 60),
        closes_at: Some(7 * 60),
        ..Rules::default()
    };
    let mut late = Trail::new();
    late.read(at(23, 5), "nurse", 3);
    assert!(evaluate(&late.events, &night_shift).is_empty());
}

#[test]
fn three_failed_unlocks_in_fifteen_minutes_raise_one_alert_and_one_typo_none() {
    let mut trail = Trail::new();
    trail
        .add(at(8, 0), "dr", "unlock_failed", None)
        .add(at(8, 0) + 20_000, "dr", "unlock", None);
    assert!(
        evaluate(&trail.events, &clinic_rules()).is_empty(),
        "one typo is normal"
    );
    for i in 0..5 {
        trail.add(at(13, 0) + i * MIN, "nurse", "unlock_failed", None);
    }
    let alerts = evaluate(&trail.events, &clinic_rules());
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!((alerts[0].rule, alerts[0].count), (Rule::FailedUnlocks, 5));
    // Three spread over an afternoon are not a guessing run.
    let mut spread = Trail::new();
    for h in [13, 15, 17] {
        spread.add(at(h, 0), "nurse", "unlock_failed", None);
    }
    assert!(evaluate(&spread.events, &clinic_rules()).is_empty());
}

#[test]
fn the_first_user_registering_themselves_is_not_someone_new() {
    let mut trail = Trail::new();
    trail.add(at(9, 0), "founder", "user_added", None);
    trail.events[0].target = Some("founder".into());
    trail.add(at(9, 1), "founder", "user_added", None);
    trail.events[1].target = Some("nurse".into());
    let alerts = evaluate(&trail.events, &clinic_rules());
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0].events, ["dev:2"]);
}

#[test]
fn emergency_access_backups_exports_new_people_and_integrity_each_raise_their_alert() {
    use Rule::{BackupOrExport, EmergencyAccess, Integrity, NewUserOrDevice};
    use Urgency::{High, Info, Warning};
    let mut trail = Trail::new();
    trail
        .add(at(9, 0), "emergency", "emergency_access", None)
        .add(at(9, 5), "admin", "backup_created", None)
        .add(at(9, 6), "admin", "audit_exported", None)
        .add(at(9, 7), "admin", "user_added", None)
        .add(at(9, 8), "admin", "device_admitted", None)
        .add(at(9, 9), "dr", "rollback_detected", None)
        .add(at(9, 10), "dr", "profile_file_altered", None)
        .add(at(9, 11), "dr", "set_aside", None)
        .add(at(9, 12), "dr", "backup_restored", None);
    let rules: Vec<(Rule, Urgency, String)> = evaluate(&trail.events, &clinic_rules())
        .into_iter()
        .map(|a| (a.rule, a.urgency, a.action))
        .collect();
    assert_eq!(
        rules,
        [
            (EmergencyAccess, Warning, "emergency_access".into()),
            (BackupOrExport, Info, "backup_created".into()),
            (BackupOrExport, Info, "audit_exported".into()),
            (NewUserOrDevice, Info, "user_added".into()),
            (NewUserOrDevice, Info, "device_admitted".into()),
            (Integrity, High, "rollback_detected".into()),
            (Integrity, High, "profile_file_altered".into()),
            (Integrity, High, "set_aside".into()),
            (Integrity, High, "backup_restored".into()),
        ]
    );
}

/// A busy day at a rural clinic, 07:30 to 18:00: three clinicians, sixty patients, each chart
/// opened a few times during its visit and again for the notes, a morning ward round of eight
/// charts, unlocks after every lock, one passphrase typo, vitals and notes recorded.
fn busy_day() -> Trail {
    let mut trail = Trail::new();
    let staff = ["dr", "nurse_a", "nurse_b"];
    for (s, who) in staff.iter().enumerate() {
        trail.add(at(7, 30 + s as i64), who, "unlock", None);
    }
    trail.add(at(7, 33), "nurse_b", "unlock_failed", None).add(
        at(7, 33) + 15_000,
        "nurse_b",
        "unlock",
        None,
    );
    // The ward round: eight charts in ten minutes.
    for p in 0..8 {
        trail.read(at(7, 40) + p as i64 * 70_000, "nurse_a", 100 + p);
    }
    // Sixty visits, one every ten minutes, each seen by a nurse then the physician.
    for v in 0..60_i64 {
        let start = at(8, 0) + v * 10 * MIN;
        let patient = v as usize;
        let nurse = if v % 2 == 0 { "nurse_a" } else { "nurse_b" };
        trail.read(start, nurse, patient).add(
            start + MIN,
            nurse,
            "vital_recorded",
            Some(&format!("p{patient}")),
        );
        trail.read(start + 2 * MIN, nurse, patient);
        trail.read(start + 5 * MIN, "dr", patient).add(
            start + 8 * MIN,
            "dr",
            "note_signed",
            Some(&format!("p{patient}")),
        );
        trail.read(start + 9 * MIN, "dr", patient);
        if v % 12 == 11 {
            trail.add(start + 9 * MIN + 30_000, "dr", "lock", None).add(
                start + 9 * MIN + 60_000,
                "dr",
                "unlock",
                None,
            );
        }
    }
    // End of day: the physician reviews the day's five sickest charts.
    for p in [3, 17, 22, 41, 58] {
        trail.read(at(17, 50), "dr", p);
    }
    trail
}

#[test]
fn a_busy_clinic_day_raises_no_alert() {
    let day = busy_day();
    assert!(
        day.events.len() > 300,
        "a real day: {} events",
        day.events.len()
    );
    let alerts = evaluate(&day.events, &clinic_rules());
    assert!(alerts.is_empty(), "{alerts:#?}");
    // The same day with a colleague harvesting thirty charts at lunch is caught.
    let mut harvested = busy_day();
    for p in 0..30 {
        harvested.read(at(12, 30) + p as i64 * 1_500, "nurse_b", p);
    }
    let alerts = evaluate(&harvested.events, &clinic_rules());
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(
        (alerts[0].rule, alerts[0].actor.as_deref()),
        (Rule::BulkAccess, Some("nurse_b"))
    );
}

#[test]
fn events_in_any_order_give_the_same_alerts() {
    let mut trail = busy_day();
    for p in 0..30 {
        trail.read(at(12, 30) + p as i64 * 1_500, "nurse_b", p);
    }
    trail.add(at(2, 0), "dr", "chart_read", Some("p1"));
    let forward = evaluate(&trail.events, &clinic_rules());
    trail.events.reverse();
    assert_eq!(evaluate(&trail.events, &clinic_rules()), forward);
}
