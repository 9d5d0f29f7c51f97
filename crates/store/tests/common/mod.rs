//! Shared fixtures for the store tests: a temp profile with cheap KDF parameters, a clock the
//! test controls, and an anchor directory of its own (never the user's real one).

#![allow(dead_code)]

use std::{
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
};

use outpost_crypto::KdfParams;
use outpost_store::{
    Clock, Profile, RecoveryKey, Role, Store,
    records::{NewPatient, Soap},
};

/// Cheap Argon2id for tests about behaviour, not cost.
pub const FAST: KdfParams = KdfParams {
    m_cost_kib: 8 * 1024,
    t_cost: 1,
    p_cost: 1,
};
pub const PASSPHRASE: &[u8] = b"correct horse battery staple";
pub const DOCTOR: &str = "Dr. Amina Okafor";
pub const NURSE: &str = "Nurse Esi";
pub const NURSE_PASSPHRASE: &[u8] = b"nurse passphrase 1";

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
    pub fn set(&self, ms: i64) {
        self.0.store(ms, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

pub struct Fixture {
    pub root: tempfile::TempDir,
    pub clock: Arc<TestClock>,
}

impl Fixture {
    /// A clinic profile whose first user is a physician.
    pub fn new() -> (Self, Store, RecoveryKey) {
        Self::with_role(DOCTOR, Role::Physician)
    }

    pub fn with_role(name: &str, role: Role) -> (Self, Store, RecoveryKey) {
        let root = tempfile::tempdir().unwrap();
        let clock = TestClock::at(1_700_000_000_000);
        let fx = Self { root, clock };
        let (store, recovery) = Profile::create_in(
            &fx.dir(),
            name,
            role,
            PASSPHRASE,
            FAST,
            fx.clock.clone(),
            Some(fx.anchors()),
        )
        .unwrap();
        (fx, store, recovery)
    }

    /// The profile directory.
    pub fn dir(&self) -> PathBuf {
        self.root.path().join("profile")
    }

    /// The outside anchor directory.
    pub fn anchors(&self) -> PathBuf {
        self.root.path().join("anchors")
    }

    /// The profile, keeping the fixture's cheap key-derivation settings (a real unlock raises
    /// weaker records to the default; `at_rest` tests that).
    pub fn profile(&self) -> Profile {
        Profile::open(&self.dir())
            .unwrap()
            .with_anchor_dir(Some(self.anchors()))
            .with_kdf_target(FAST)
    }

    pub fn unlock(&self) -> Store {
        self.unlock_as(DOCTOR, PASSPHRASE)
    }

    pub fn unlock_as(&self, user: &str, passphrase: &[u8]) -> Store {
        self.profile()
            .unlock(user, passphrase, self.clock.clone())
            .unwrap()
    }

    /// Adds Nurse Esi (by the signed-in store's user).
    pub fn add_nurse(&self, store: &mut Store) -> outpost_store::User {
        self.profile()
            .add_user(store, NURSE, Role::Nurse, NURSE_PASSPHRASE, FAST)
            .unwrap()
    }

    /// Every file in the profile directory, as bytes.
    pub fn files(&self) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(self.dir()).unwrap() {
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

    /// The database key, derived as anyone who knows a user's passphrase can: from
    /// `profile.json`, the passphrase record and the key wrap (the format is in the store's
    /// `profile/file.rs`).
    pub fn attacker_key(&self, user: &str, passphrase: &[u8]) -> [u8; 32] {
        database_key(&self.dir(), user, passphrase)
    }

    /// The database opened directly with its key, as an attacker holding the passphrase would.
    pub fn attacker_connection(&self) -> rusqlite::Connection {
        let conn = rusqlite::Connection::open(self.dir().join("outpost.db")).unwrap();
        let key = self.attacker_key(NURSE, NURSE_PASSPHRASE);
        conn.execute_batch(&format!("PRAGMA key = \"x'{}'\";", hex(&key)))
            .unwrap();
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .unwrap();
        conn
    }
}

/// The database key of the profile in `dir`, from `profile.json` and one user's passphrase.
pub fn database_key(dir: &std::path::Path, user: &str, passphrase: &[u8]) -> [u8; 32] {
    let file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("profile.json")).unwrap()).unwrap();
    let profile_id = file["profile_id"].as_str().unwrap();
    let entry = file["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == user || u["id"] == user)
        .unwrap();
    let record =
        outpost_crypto::PassphraseRecord::decode(&unhex(entry["passphrase"].as_str().unwrap()))
            .unwrap();
    let keys = record.unlock(passphrase).unwrap();
    let wrapped = unhex(entry["wrap"]["wrapped_key"].as_str().unwrap());
    let aad = [
        b"outpost/v1/store/key-wrap\0".as_slice(),
        profile_id.as_bytes(),
        b"\0",
        entry["id"].as_str().unwrap().as_bytes(),
    ]
    .concat();
    let key = outpost_crypto::primitives::xchacha_open(
        &keys.key_encryption_key,
        wrapped[..24].try_into().unwrap(),
        &aad,
        &wrapped[24..],
    )
    .unwrap();
    key.as_slice().try_into().unwrap()
}

pub fn hex(bytes: &[u8]) -> String {
    outpost_proto::ids::to_hex(bytes)
}

pub fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

pub fn soap(marker: &str) -> Soap {
    Soap {
        subjective: format!("Cough for 3 days {marker}"),
        objective: "T 38.1, SpO2 96%".into(),
        assessment: "Likely viral URTI".into(),
        plan: "Fluids, paracetamol, review in 48 h".into(),
    }
}

pub fn patient() -> NewPatient {
    NewPatient {
        given_name: "Kofi".into(),
        family_name: "Mensah".into(),
        birth_date: "1987-04-12".into(),
        sex: Some("male".into()),
        clinic_id: Some("KB-0042".into()),
        contact: Some("+233 20 000 0000".into()),
        ..Default::default()
    }
}

/// The signing identity of `name` in the profile at `dir`, unwrapped with their passphrase:
/// what a modified client of theirs holds.
pub fn identity_of(
    dir: &std::path::Path,
    name: &str,
    passphrase: &[u8],
) -> outpost_crypto::DeviceIdentity {
    let file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("profile.json")).unwrap()).unwrap();
    let entry = file["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == name)
        .unwrap();
    let keys =
        outpost_crypto::PassphraseRecord::decode(&unhex(entry["passphrase"].as_str().unwrap()))
            .unwrap()
            .unlock(passphrase)
            .unwrap();
    outpost_crypto::DeviceIdentity::unwrap(
        &keys.key_encryption_key,
        &unhex(entry["identity"].as_str().unwrap()),
    )
    .unwrap()
}
