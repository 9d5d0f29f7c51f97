//! Unusual-access alerts through the store: thirty charts opened in a minute raise one alert
//! for the managers (not for a nurse), linked to the audit entries that raised it; an
//! acknowledgement is a signed operation that holds across a restart; the rules are the
//! clinic's and are checked.

mod common;

use common::{Fixture, NURSE_PASSPHRASE, patient};
use outpost_alerts::{Rule, Rules};
use outpost_store::{StoreError, audit::AuditFilter, records::NewPatient};

fn register(doc: &mut outpost_store::Store, n: usize) -> Vec<outpost_store::PatientId> {
    (0..n)
        .map(|i| {
            let p = NewPatient {
                given_name: format!("Patient{i}"),
                family_name: format!("Family{i}"),
                clinic_id: None,
                contact: None,
                ..patient()
            };
            doc.add_patient(&p).unwrap().id
        })
        .collect()
}

#[test]
fn thirty_charts_opened_in_a_minute_raise_one_alert_a_manager_acknowledges() {
    let (fx, mut doc, _) = Fixture::new();
    let nurse = fx.add_nurse(&mut doc);
    let patients = register(&mut doc, 30);
    assert!(
        doc.alerts()
            .unwrap()
            .iter()
            .all(|a| a.alert.rule != Rule::BulkAccess)
    );

    // The nurse opens every chart, two seconds apart.
    let mut as_nurse = fx.unlock_as(&nurse.name, NURSE_PASSPHRASE);
    for p in &patients {
        fx.clock.advance(2_000);
        as_nurse.chart(*p).unwrap();
    }
    // A nurse does not review alerts (they may be about her).
    assert!(matches!(
        as_nurse.alerts(),
        Err(StoreError::NotPermitted { .. })
    ));
    drop(as_nurse);

    let mut doc = fx.unlock();
    let alerts: Vec<_> = doc
        .alerts()
        .unwrap()
        .into_iter()
        .filter(|a| a.alert.rule == Rule::BulkAccess)
        .collect();
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let bulk = &alerts[0];
    assert_eq!(bulk.alert.count, 30);
    assert_eq!(
        bulk.alert.actor.as_deref(),
        Some(nurse.id.to_hex().as_str())
    );
    assert_eq!(bulk.actor_name.as_deref(), Some(nurse.name.as_str()));
    // Each event it names is an entry of the audit trail, a chart read by the nurse.
    let trail = doc.audit_entries(&AuditFilter::default()).unwrap();
    for id in &bulk.alert.events {
        let entry = trail
            .iter()
            .find(|e| format!("{}:{}", e.device, e.seq) == *id)
            .unwrap_or_else(|| panic!("{id} is not in the audit trail"));
        assert_eq!(
            (entry.action.as_str(), entry.actor),
            ("chart_read", Some(nurse.id))
        );
    }
    let open_before = doc.open_alert_count().unwrap();

    // Acknowledged with a note: signed, in the log, and still there after a restart.
    let err = doc.acknowledge_alert(&bulk.alert.id, "  ").unwrap_err();
    assert!(matches!(err, StoreError::Invalid { .. }), "{err}");
    let err = doc
        .acknowledge_alert("bulk_access:nowhere:1", "checked")
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err}");
    doc.acknowledge_alert(&bulk.alert.id, "vaccination list for the outreach day")
        .unwrap();
    drop(doc);
    let doc = fx.unlock();
    let again = doc
        .alerts()
        .unwrap()
        .into_iter()
        .find(|a| a.alert.id == bulk.alert.id)
        .unwrap();
    let ack = again.acknowledged.expect("acknowledged");
    assert_eq!(ack.note, "vaccination list for the outreach day");
    assert_eq!(doc.open_alert_count().unwrap(), open_before - 1);
    let logged = doc.audit_entries(&AuditFilter::default()).unwrap();
    assert!(
        logged.iter().any(|e| e.action == "alert_acknowledged"),
        "the acknowledgement is in the trail"
    );
    outpost_store::verify::verify_log(doc.raw_connection()).unwrap();
}

#[test]
fn the_clinic_sets_the_threshold_and_hours_and_nonsense_is_refused() {
    let (fx, mut doc, _) = Fixture::new();
    assert_eq!(doc.alert_rules().unwrap(), Rules::default());
    let rules = Rules {
        bulk_charts: 5,
        opens_at: Some(7 * 60),
        closes_at: Some(18 * 60),
        utc_offset_minutes: 60,
        ..Rules::default()
    };
    doc.set_alert_rules(&rules).unwrap();
    drop(doc);
    let mut doc = fx.unlock();
    assert_eq!(doc.alert_rules().unwrap(), rules);
    for bad in [
        Rules {
            bulk_charts: 1,
            ..rules
        },
        Rules {
            opens_at: Some(1440),
            ..rules
        },
        Rules {
            closes_at: None,
            ..rules
        },
        Rules {
            utc_offset_minutes: 15 * 60,
            ..rules
        },
    ] {
        assert!(doc.set_alert_rules(&bad).is_err(), "{bad:?}");
    }
    assert_eq!(doc.alert_rules().unwrap(), rules, "nothing changed");
    // Five charts now make a burst.
    let patients = register(&mut doc, 5);
    for p in &patients {
        doc.chart(*p).unwrap();
    }
    assert!(
        doc.alerts()
            .unwrap()
            .iter()
            .any(|a| a.alert.rule == Rule::BulkAccess)
    );
}

#[test]
fn an_acknowledged_burst_that_goes_on_is_open_again() {
    let (fx, mut doc, _) = Fixture::new();
    doc.set_alert_rules(&Rules {
        bulk_charts: 3,
        ..Rules::default()
    })
    .unwrap();
    let patients = register(&mut doc, 6);
    for p in &patients[..3] {
        fx.clock.advance(1_000);
        doc.chart(*p).unwrap();
    }
    let bulk = |doc: &outpost_store::Store| {
        doc.alerts()
            .unwrap()
            .into_iter()
            .find(|a| a.alert.rule == Rule::BulkAccess)
            .unwrap()
    };
    let first = bulk(&doc);
    doc.acknowledge_alert(&first.alert.id, "checking three new registrations")
        .unwrap();
    assert!(bulk(&doc).acknowledged.is_some());
    // The same person goes on opening charts: the alert grows, and is open again.
    for p in &patients[3..] {
        fx.clock.advance(1_000);
        doc.chart(*p).unwrap();
    }
    let grown = bulk(&doc);
    assert_eq!(grown.alert.id, first.alert.id);
    assert_eq!(grown.alert.count, 6);
    assert!(grown.acknowledged.is_none(), "open again");
    assert_eq!(
        grown.grew_since.map(|a| a.note).as_deref(),
        Some("checking three new registrations")
    );
}

#[test]
fn an_acknowledgement_or_a_threshold_written_into_the_tables_fails_verification() {
    // The nurse the alerts are about opens the database with her own key.
    let (fx, mut doc, _) = Fixture::new();
    fx.add_nurse(&mut doc);
    doc.set_alert_rules(&Rules {
        bulk_charts: 5,
        ..Rules::default()
    })
    .unwrap();
    drop(doc);
    // Someone with the database key raises the threshold behind the app's back.
    let conn = fx.attacker_connection();
    conn.execute(
        "UPDATE clinic_settings SET value = replace(value, '\"bulk_charts\":5', '\"bulk_charts\":100000')",
        [],
    )
    .unwrap();
    drop(conn);
    let doc = fx.unlock();
    assert!(outpost_store::verify::verify_log(doc.raw_connection()).is_err());
    drop(doc);
    // And an acknowledgement nobody signed.
    let (fx, mut doc, _) = Fixture::new();
    fx.add_nurse(&mut doc);
    drop(doc);
    let conn = fx.attacker_connection();
    conn.execute(
        "INSERT INTO alert_acks (op, alert_id, by_user, at, note, events)
         VALUES (x'00', 'bulk_access:x:1', 'nobody', 0, 'nothing to see', 99)",
        [],
    )
    .unwrap();
    drop(conn);
    let doc = fx.unlock();
    assert!(outpost_store::verify::verify_log(doc.raw_connection()).is_err());
}
