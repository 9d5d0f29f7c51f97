//! The audit trail: every chart read, write, unlock, lock, failed unlock, export and backup,
//! as a hash chain.
//!
//! Entry `n` stores `hash_n = SHA-256("outpost/v1/audit" || seq || at || actor || action ||
//! record_kind || record_id || hash_{n-1})`, each field length-prefixed, with
//! `hash_0` = 64 zeros (optional fields prefixed by a presence byte). Sequence numbers run
//! 1, 2, 3... without gaps, so an edited, removed or reordered entry breaks the chain at a place
//! [`verify`] names. The schema also refuses UPDATE and DELETE on the table (migration 002), so
//! changing it takes deliberate tampering with the key in hand, which the chain then shows.
//!
//! Known limit: removing the newest entries leaves a shorter chain that still verifies; anchoring
//! the head outside the database (signed by the device identity, carried by sync) closes that.

use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::{Store, StoreError, db::hex};

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AuditEntry {
    /// Position in the chain, from 1.
    #[cfg_attr(feature = "specta", specta(type = f64))]
    pub seq: i64,
    /// When, in UTC milliseconds.
    #[cfg_attr(feature = "specta", specta(type = f64))]
    pub at: i64,
    /// The user id, or none for a failed unlock by an unknown user.
    pub actor: Option<String>,
    /// What happened (`note_signed`, `chart_read`, `unlock_failed`, ...).
    pub action: String,
    /// The kind of record acted on.
    pub record_kind: Option<String>,
    /// The record acted on.
    pub record_id: Option<String>,
}

fn entry_hash(prev: &str, e: &AuditEntry) -> String {
    let mut h = Sha256::new();
    h.update(b"outpost/v1/audit");
    let mut field = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_be_bytes());
        h.update(bytes);
    };
    field(&e.seq.to_be_bytes());
    field(&e.at.to_be_bytes());
    // Optional fields carry a presence byte, so NULL and "" hash differently.
    let optional = |v: &Option<String>| {
        v.as_ref()
            .map_or_else(|| vec![0u8], |s| [&[1u8][..], s.as_bytes()].concat())
    };
    field(&optional(&e.actor));
    field(e.action.as_bytes());
    field(&optional(&e.record_kind));
    field(&optional(&e.record_id));
    field(prev.as_bytes());
    hex(&h.finalize())
}

/// Appends an entry in the caller's transaction (or connection), so the audit entry and the
/// change it records commit together or not at all.
pub(crate) fn append(
    conn: &Connection,
    at: i64,
    actor: Option<&str>,
    action: &str,
    kind: Option<&str>,
    id: Option<&str>,
) -> Result<(), StoreError> {
    let last: Option<(i64, String)> = conn
        .query_row(
            "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (seq, prev) = last.map_or((1, GENESIS.to_owned()), |(s, h)| (s + 1, h));
    let entry = AuditEntry {
        seq,
        at,
        actor: actor.map(str::to_owned),
        action: action.to_owned(),
        record_kind: kind.map(str::to_owned),
        record_id: id.map(str::to_owned),
    };
    let hash = entry_hash(&prev, &entry);
    conn.execute(
        "INSERT INTO audit (seq, at, actor, action, record_kind, record_id, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        rusqlite::params![seq, at, entry.actor, entry.action, entry.record_kind, entry.record_id, prev, hash],
    )?;
    Ok(())
}

/// Checks the whole chain; returns the number of entries, or where and how it breaks.
pub fn verify(conn: &Connection) -> Result<i64, StoreError> {
    let mut stmt = conn.prepare("SELECT seq, at, actor, action, record_kind, record_id, prev_hash, hash FROM audit ORDER BY rowid")?;
    let mut rows = stmt.query([])?;
    let mut expected_seq = 1;
    let mut prev = GENESIS.to_owned();
    while let Some(row) = rows.next()? {
        let entry = AuditEntry {
            seq: row.get(0)?,
            at: row.get(1)?,
            actor: row.get(2)?,
            action: row.get(3)?,
            record_kind: row.get(4)?,
            record_id: row.get(5)?,
        };
        let stored_prev: String = row.get(6)?;
        let stored_hash: String = row.get(7)?;
        if entry.seq != expected_seq {
            return Err(StoreError::AuditBroken {
                seq: expected_seq,
                reason: "entry missing or out of order",
            });
        }
        if stored_prev != prev {
            return Err(StoreError::AuditBroken {
                seq: entry.seq,
                reason: "does not link to the previous entry",
            });
        }
        if entry_hash(&prev, &entry) != stored_hash {
            return Err(StoreError::AuditBroken {
                seq: entry.seq,
                reason: "entry was altered",
            });
        }
        prev = stored_hash;
        expected_seq += 1;
    }
    Ok(expected_seq - 1)
}

/// Filter for [`Store::audit_entries`].
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    /// Only entries by this user id.
    pub actor: Option<String>,
    /// Only entries about this record id (e.g. a patient).
    pub record_id: Option<String>,
    /// At most this many, newest first.
    pub limit: Option<u32>,
}

impl Store {
    /// Verifies the audit chain (and records that someone checked it).
    pub fn verify_audit(&mut self) -> Result<i64, StoreError> {
        let n = verify(&self.conn)?;
        self.audit_now("audit_verified", None, None)?;
        Ok(n + 1)
    }

    /// Audit entries, newest first.
    pub fn audit_entries(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT seq, at, actor, action, record_kind, record_id FROM audit
             WHERE (?1 IS NULL OR actor = ?1) AND (?2 IS NULL OR record_id = ?2)
             ORDER BY seq DESC LIMIT ?3",
        )?;
        let rows = stmt.query_map(
            rusqlite::params![
                filter.actor,
                filter.record_id,
                filter.limit.unwrap_or(u32::MAX)
            ],
            |r| {
                Ok(AuditEntry {
                    seq: r.get(0)?,
                    at: r.get(1)?,
                    actor: r.get(2)?,
                    action: r.get(3)?,
                    record_kind: r.get(4)?,
                    record_id: r.get(5)?,
                })
            },
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
