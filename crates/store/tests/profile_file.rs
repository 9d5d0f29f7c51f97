//! `profile.json` is sealed under a key only someone who can open the database holds, and
//! numbered: an edit by someone who cannot open the database, and an older copy put back (one
//! that still holds a passphrase since changed), are found at the next unlock, recorded in the
//! audit trail and shown; a file from before sealing is sealed without alarm.

mod common;

use common::{DOCTOR, FAST, Fixture, PASSPHRASE};
use outpost_store::{StoreError, UnlockWarning, audit::AuditFilter};

fn altered(store: &outpost_store::Store) -> Vec<String> {
    store
        .warnings()
        .iter()
        .filter_map(|w| match w {
            UnlockWarning::ProfileFileAltered { reason } => Some(reason.clone()),
            _ => None,
        })
        .collect()
}

fn recorded(store: &outpost_store::Store) -> usize {
    store
        .audit_entries(&AuditFilter::default())
        .unwrap()
        .iter()
        .filter(|e| e.action == "profile_file_altered")
        .count()
}

/// Rewrites both copies of the file through `change` on its JSON.
fn edit(fx: &Fixture, change: impl Fn(&mut serde_json::Value)) {
    for name in ["profile.json", "profile.copy.json"] {
        let path = fx.dir().join(name);
        let mut v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        change(&mut v);
        std::fs::write(&path, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    }
}

#[test]
fn an_edit_by_someone_without_the_database_key_is_found_recorded_and_shown_once() {
    let (fx, store, _) = Fixture::new();
    store.lock().unwrap();
    // Someone with the laptop but no passphrase lists themselves as an admin.
    edit(&fx, |v| v["users"][0]["role"] = "admin".into());
    let store = fx.unlock();
    assert_eq!(altered(&store).len(), 1, "{:?}", store.warnings());
    assert!(altered(&store)[0].contains("cannot open the database"));
    assert_eq!(recorded(&store), 1);
    assert_eq!(
        store.user().role,
        outpost_store::Role::Physician,
        "the role still comes from the signed log"
    );
    store.lock().unwrap();
    // Sealed again as it is: the same finding is not raised at every unlock.
    let store = fx.unlock();
    assert!(altered(&store).is_empty(), "{:?}", store.warnings());
    assert_eq!(recorded(&store), 1);
}

#[test]
fn an_older_copy_put_back_is_found_even_though_its_old_passphrase_opens() {
    let (fx, mut store, _) = Fixture::new();
    let old: Vec<(String, Vec<u8>)> = ["profile.json", "profile.copy.json"]
        .iter()
        .map(|n| ((*n).to_owned(), std::fs::read(fx.dir().join(n)).unwrap()))
        .collect();
    fx.profile()
        .change_passphrase(
            &mut store,
            PASSPHRASE,
            b"a brand new clinic passphrase",
            FAST,
        )
        .unwrap();
    store.lock().unwrap();
    // A thief who copied the file before the change puts it back to use the old passphrase.
    for (name, bytes) in &old {
        std::fs::write(fx.dir().join(name), bytes).unwrap();
    }
    let store = fx.unlock_as(DOCTOR, PASSPHRASE);
    let found = altered(&store);
    assert_eq!(found.len(), 1, "{:?}", store.warnings());
    assert!(found[0].contains("older copy"), "{found:?}");
    assert_eq!(recorded(&store), 1);
}

/// A file from before sealing (the schema 5 and 6 fixtures) is sealed without alarm: see
/// `migrations.rs`. Here the attacker strips the seal from a sealed file and raises its number,
/// hoping to pass an edited or older copy as one from before sealing.
#[test]
fn a_seal_removed_from_a_sealed_file_is_found() {
    let (fx, store, _) = Fixture::new();
    store.lock().unwrap();
    edit(&fx, |v| {
        let o = v.as_object_mut().unwrap();
        o.remove("mac");
        o.insert("generation".into(), 1_000_000.into());
        o.get_mut("users").unwrap()[0]["name"] = "Dr. Someone Else".into();
    });
    let store = fx
        .profile()
        .unlock(&store_user_id(&fx), PASSPHRASE, fx.clock.clone())
        .unwrap();
    let found = altered(&store);
    assert_eq!(found.len(), 1, "{:?}", store.warnings());
    assert!(found[0].contains("lost its seal"), "{found:?}");
    store.lock().unwrap();
    // Sealed again, above everything seen: the next unlock is quiet.
    let again = fx
        .profile()
        .unlock(&store_user_id(&fx), PASSPHRASE, fx.clock.clone())
        .unwrap();
    assert!(altered(&again).is_empty(), "{:?}", again.warnings());
}

/// After an alarm, the file is sealed with a number above what the database has seen, so one
/// older copy does not raise the same alarm at every unlock that follows.
#[test]
fn an_older_copy_is_reported_once_not_at_every_unlock() {
    let (fx, mut store, _) = Fixture::new();
    let old = std::fs::read(fx.dir().join("profile.json")).unwrap();
    for i in 0..3 {
        fx.profile()
            .add_user(
                &mut store,
                &format!("Nurse {i}"),
                outpost_store::Role::Nurse,
                b"nurse passphrase long",
                FAST,
            )
            .unwrap();
    }
    store.lock().unwrap();
    std::fs::write(fx.dir().join("profile.json"), &old).unwrap();
    std::fs::write(fx.dir().join("profile.copy.json"), &old).unwrap();
    let first = fx.unlock();
    assert_eq!(altered(&first).len(), 1);
    first.lock().unwrap();
    let second = fx.unlock();
    assert!(altered(&second).is_empty(), "{:?}", second.warnings());
}

#[test]
fn a_mac_is_not_accepted_from_another_profile_or_as_garbage() {
    let (fx, store, _) = Fixture::new();
    store.lock().unwrap();
    let (other, other_store, _) = Fixture::new();
    other_store.lock().unwrap();
    let theirs: serde_json::Value =
        serde_json::from_slice(&std::fs::read(other.dir().join("profile.json")).unwrap()).unwrap();
    for mac in [
        theirs["mac"].clone(),
        "zz".into(),
        "00".into(),
        serde_json::Value::Null,
    ] {
        edit(&fx, |v| v["mac"] = mac.clone());
        let unlocked = fx.profile().unlock(DOCTOR, PASSPHRASE, fx.clock.clone());
        let store = match unlocked {
            Ok(s) => s,
            Err(e @ StoreError::ProfileFile { .. }) => panic!("{e}"),
            Err(e) => panic!("{e:?}"),
        };
        // JSON null reads as "no MAC", which a database that saw sealed files does not believe.
        assert_eq!(altered(&store).len(), 1, "mac {mac}");
        store.lock().unwrap();
    }
}

fn store_user_id(fx: &Fixture) -> String {
    fx.profile().users()[0].id.to_hex()
}
