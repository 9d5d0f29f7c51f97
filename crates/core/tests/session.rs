//! The session through the core API: unlock, auto-lock after idle with an injected clock, and
//! coming back to the same chart after unlocking again.

use std::sync::{
    Arc,
    atomic::{AtomicI64, Ordering},
};

use outpost_core::{
    Clock, Core, CoreError, ProfileState, Role, StoreError, store::records::NewPatient,
};
use zeroize::Zeroizing;

#[derive(Debug)]
struct ManualClock(AtomicI64);

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

fn pass() -> Zeroizing<String> {
    Zeroizing::new("a long enough passphrase".to_owned())
}

#[tokio::test]
async fn idle_session_locks_itself_and_unlocking_returns_to_the_chart() {
    let tmp = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock(AtomicI64::new(1_000_000)));
    let core = Core::open_with(
        tmp.path().join("p"),
        clock.clone(),
        Some(tmp.path().join("anchors")),
    )
    .unwrap();
    assert_eq!(core.status().profile, ProfileState::NotCreated);
    core.create_profile("Dr. Lin".into(), Role::Physician, pass())
        .await
        .unwrap();
    assert_eq!(core.status().profile, ProfileState::Unlocked);
    let p = core
        .add_patient(NewPatient {
            given_name: "Ana".into(),
            family_name: "Silva".into(),
            birth_date: "2001-07-07".into(),
            ..Default::default()
        })
        .await
        .unwrap();

    // Activity keeps it open.
    clock.0.fetch_add(4 * 60 * 1000, Ordering::SeqCst);
    assert!(!core.tick().await);
    core.chart(p.id).await.unwrap();
    clock.0.fetch_add(4 * 60 * 1000, Ordering::SeqCst);
    assert!(!core.tick().await, "activity 4 minutes ago must not lock");

    // Five idle minutes lock it; the key is gone and calls say so.
    clock.0.fetch_add(60 * 1000, Ordering::SeqCst);
    assert!(core.tick().await);
    assert_eq!(core.status().profile, ProfileState::Locked);
    assert!(matches!(core.chart(p.id).await, Err(CoreError::Locked)));

    // Unlock again: the same chart is there.
    core.unlock("Dr. Lin".into(), pass()).await.unwrap();
    assert_eq!(core.chart(p.id).await.unwrap().patient, p);
    let entries = core.audit_entries(Default::default()).await.unwrap();
    assert!(entries.iter().any(|e| e.action == "lock"));
}

#[tokio::test]
async fn a_call_after_the_idle_limit_is_refused_even_before_the_tick() {
    let tmp = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock(AtomicI64::new(0)));
    let core = Core::open_with(
        tmp.path().join("p"),
        clock.clone(),
        Some(tmp.path().join("anchors")),
    )
    .unwrap();
    core.set_idle_lock_ms(1000);
    core.create_profile("Nurse Bo".into(), Role::Nurse, pass())
        .await
        .unwrap();
    clock.0.store(1000, Ordering::SeqCst);
    assert!(matches!(
        core.search_patients(String::new(), 0, 50).await,
        Err(CoreError::Locked)
    ));
    assert!(!core.is_unlocked().await);
    assert!(matches!(
        core.unlock("Nurse Bo".into(), Zeroizing::new("wrong wrong".into()))
            .await,
        Err(CoreError::Store(StoreError::WrongPassphrase))
    ));
}

/// The screen's status poll and the background sync run every few seconds while the app is
/// open; they are not someone at the keyboard, so a laptop left open still locks on time.
#[tokio::test]
async fn background_work_does_not_keep_an_unattended_session_open() {
    let (_tmp, clock, core) = physician_with_one_minute_idle().await;
    for _ in 0..11 {
        clock.0.fetch_add(5_000, Ordering::SeqCst);
        core.in_background(core.sync_status()).await.unwrap();
    }
    clock.0.fetch_add(5_000, Ordering::SeqCst);
    assert!(core.tick().await, "polling kept an unattended session open");
    // The same poll made as a person's call would keep it open: what the fix is about.
    core.unlock("Dr. Lin".into(), pass()).await.unwrap();
    for _ in 0..11 {
        clock.0.fetch_add(5_000, Ordering::SeqCst);
        core.sync_status().await.unwrap();
    }
    clock.0.fetch_add(5_000, Ordering::SeqCst);
    assert!(!core.tick().await);
    // And what a person does still counts.
    for _ in 0..11 {
        clock.0.fetch_add(5_000, Ordering::SeqCst);
        core.search_patients(String::new(), 0, 10).await.unwrap();
    }
    clock.0.fetch_add(5_000, Ordering::SeqCst);
    assert!(!core.tick().await);
}

/// A video visit in progress counts as someone at the laptop (the call screen touches the
/// session), but a touch after the idle time does not revive a session that should have locked.
#[tokio::test]
async fn a_visit_in_progress_keeps_the_session_and_a_late_touch_does_not_revive_it() {
    let (_tmp, clock, core) = physician_with_one_minute_idle().await;
    for _ in 0..5 {
        clock.0.fetch_add(50_000, Ordering::SeqCst);
        core.touch().await;
    }
    assert!(
        !core.tick().await,
        "a visit of 4 minutes locked the session"
    );
    clock.0.fetch_add(61_000, Ordering::SeqCst);
    core.touch().await;
    assert!(
        core.tick().await,
        "a touch after the idle time revived the session"
    );
}

/// A physician's profile, unlocked, on a clock the test moves, locking after one idle minute.
async fn physician_with_one_minute_idle() -> (tempfile::TempDir, Arc<ManualClock>, Core) {
    let tmp = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock(AtomicI64::new(0)));
    let core = Core::open_with(
        tmp.path().join("p"),
        clock.clone(),
        Some(tmp.path().join("anchors")),
    )
    .unwrap();
    core.set_idle_lock_ms(60_000);
    core.create_profile("Dr. Lin".into(), Role::Physician, pass())
        .await
        .unwrap();
    (tmp, clock, core)
}
