//! Shared fixtures for the store tests: a temp profile with cheap KDF parameters and a clock
//! the test controls.

#![allow(dead_code)]

use std::sync::{
    Arc,
    atomic::{AtomicI64, Ordering},
};

use outpost_crypto::KdfParams;
use outpost_store::{Clock, Profile, RecoveryKey, Role, Store};

/// Cheap Argon2id for tests about behaviour, not cost.
pub const FAST: KdfParams = KdfParams {
    m_cost_kib: 8 * 1024,
    t_cost: 1,
    p_cost: 1,
};
pub const PASSPHRASE: &[u8] = b"correct horse battery staple";

/// A clock that moves only when told.
#[derive(Debug, Default)]
pub struct TestClock(pub AtomicI64);

impl TestClock {
    pub fn at(ms: i64) -> Arc<Self> {
        Arc::new(Self(AtomicI64::new(ms)))
    }
    pub fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub clock: Arc<TestClock>,
}

impl Fixture {
    pub fn new() -> (Self, Store, RecoveryKey) {
        let dir = tempfile::tempdir().unwrap();
        let clock = TestClock::at(1_700_000_000_000);
        let (store, recovery) = Profile::create(
            dir.path(),
            "Dr. Amina Okafor",
            Role::Physician,
            PASSPHRASE,
            FAST,
            clock.clone(),
        )
        .unwrap();
        (Self { dir, clock }, store, recovery)
    }

    pub fn unlock(&self) -> Store {
        Profile::open(self.dir.path())
            .unwrap()
            .unlock("Dr. Amina Okafor", PASSPHRASE, self.clock.clone())
            .unwrap()
    }

    /// Every file in the profile directory, as bytes.
    pub fn files(&self) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(self.dir.path()).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_file() {
                out.push((
                    entry.file_name().to_string_lossy().into_owned(),
                    std::fs::read(entry.path()).unwrap(),
                ));
            }
        }
        out.sort();
        out
    }
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
