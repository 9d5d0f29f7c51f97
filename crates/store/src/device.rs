//! This installation's device identity: created with the profile (or at the first unlock after
//! an upgrade, or after a rollback), wrapped under a key derived from the database key, and
//! named as the author device of every operation written here.
//!
//! A database put back to an earlier state must not write new operations under sequence
//! numbers it already used (another device may have seen the originals), so a rollback
//! retires the identity and starts a new one: new operations then begin a new log.

use outpost_crypto::{DeviceIdentity, primitives};
use rand_core::OsRng;
use rusqlite::{Connection, OptionalExtension, params};
use zeroize::Zeroizing;

use crate::StoreError;

fn device_kek(db_key: &[u8; 32]) -> Zeroizing<[u8; 32]> {
    primitives::derive_key(b"", db_key, &[b"outpost/v1/store/device-kek"])
}

/// The current device identity, if there is one this key can unwrap.
pub(crate) fn load(
    conn: &Connection,
    db_key: &[u8; 32],
) -> Result<Option<DeviceIdentity>, StoreError> {
    let wrapped: Option<Vec<u8>> = conn
        .query_row(
            "SELECT wrapped FROM local_device WHERE current = 1",
            [],
            |r| r.get(0),
        )
        .optional()?;
    match wrapped {
        None => Ok(None),
        // Wrapped under another database key: this database was re-keyed (restored from a
        // backup). That identity belongs to the original; a new one is made.
        Some(w) => Ok(DeviceIdentity::unwrap(&device_kek(db_key), &w).ok()),
    }
}

/// Wraps the current identity again under a new database key (the database was re-keyed).
pub(crate) fn rewrap(
    conn: &Connection,
    identity: &DeviceIdentity,
    new_key: &[u8; 32],
) -> Result<(), StoreError> {
    let wrapped = identity.wrap(&device_kek(new_key), &mut OsRng)?;
    conn.execute(
        "UPDATE local_device SET wrapped = ?1 WHERE current = 1 AND id = ?2",
        params![wrapped, identity.device_id().to_hex()],
    )?;
    Ok(())
}

/// Retires any current identity and makes a new one.
pub(crate) fn create(
    conn: &Connection,
    db_key: &[u8; 32],
    now_ms: i64,
) -> Result<DeviceIdentity, StoreError> {
    let identity = DeviceIdentity::generate(&mut OsRng);
    let wrapped = identity.wrap(&device_kek(db_key), &mut OsRng)?;
    conn.execute("UPDATE local_device SET current = 0 WHERE current = 1", [])?;
    conn.execute(
        "INSERT INTO local_device (id, wrapped, created_at, current) VALUES (?1, ?2, ?3, 1)",
        params![identity.device_id().to_hex(), wrapped, now_ms],
    )?;
    Ok(identity)
}
