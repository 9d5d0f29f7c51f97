//! What sync needs from the store and keeps in it, so a crash mid-sync loses nothing and
//! repeats nothing harmful: how far the relay holds this device's log, how far this device
//! has every other device's, when sync last succeeded, and the receipts it writes.

use outpost_crypto::PublicIdentity;
use outpost_proto::{
    DeviceId, Operation, Payload, RecordId,
    payload::{Receipt, Watermark},
};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use crate::{Store, StoreError};

/// What the sync indicator shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SyncStatus {
    /// The workspace id, if in one.
    pub workspace: Option<String>,
    /// This device's operations the relay does not hold yet.
    #[cfg_attr(feature = "specta", specta(type = f64))]
    pub pending: u64,
    /// Age of the oldest of them, in seconds.
    #[cfg_attr(feature = "specta", specta(type = Option<f64>))]
    pub oldest_pending_seconds: Option<u64>,
    /// When sync last completed (UTC ms).
    #[cfg_attr(feature = "specta", specta(type = Option<f64>))]
    pub last_sync: Option<i64>,
    /// Open conflicts.
    #[cfg_attr(feature = "specta", specta(type = f64))]
    pub conflicts: u64,
    /// Operations set aside (unreadable, tampered, refused).
    #[cfg_attr(feature = "specta", specta(type = f64))]
    pub quarantined: u64,
    /// What the last attempt said, when it failed.
    pub last_error: Option<String>,
    /// Whether this device waits for an admin to admit it.
    pub pending_admission: bool,
}

/// One change this device made, and how far it has travelled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct OwnChange {
    /// Its place in this device's log.
    #[cfg_attr(feature = "specta", specta(type = f64))]
    pub seq: u64,
    /// What it was (`vital_recorded`, `note_signed`, ...).
    pub action: String,
    /// When (UTC ms).
    #[cfg_attr(feature = "specta", specta(type = f64))]
    pub at: i64,
    /// The patient concerned, if any.
    pub patient_id: Option<outpost_proto::PatientId>,
    /// Whether the relay holds it (otherwise it is on this device only).
    pub on_relay: bool,
    /// The devices that say they received it (their names).
    pub received_by: Vec<String>,
}

/// Something sync set aside, with why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SetAside {
    /// The device whose log it is in (hex).
    pub device: String,
    /// Its place in that log.
    #[cfg_attr(feature = "specta", specta(type = f64))]
    pub seq: u64,
    /// `unreadable` (a hole), `refused` (its author had no right) or `quarantined`.
    pub kind: String,
    /// Why.
    pub reason: String,
}

fn seq_of(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// A `(device hex, seq)` row as a watermark.
fn watermark_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<Watermark, StoreError>> {
    let (d, seq): (String, i64) = (r.get(0)?, r.get(1)?);
    Ok(outpost_proto::ids::from_hex::<16>(&d)
        .map(|id| Watermark {
            device: DeviceId(id),
            seq: seq_of(seq),
        })
        .ok_or(StoreError::Corrupt("operation log device column")))
}

impl Store {
    /// A sync progress value.
    pub fn sync_value(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT value FROM sync_state WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// Sets a sync progress value.
    pub fn set_sync_value(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO sync_state (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, value],
        )?;
        Ok(())
    }

    /// How far the relay holds this device's log (its acknowledged head).
    pub fn relay_head(&self) -> Result<u64, StoreError> {
        Ok(self
            .sync_value(&format!("relay_head:{}", self.device_id().to_hex()))?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }

    /// Records the relay's acknowledged head of this device's log.
    pub fn set_relay_head(&self, head: u64) -> Result<(), StoreError> {
        self.set_sync_value(
            &format!("relay_head:{}", self.device_id().to_hex()),
            &head.to_string(),
        )
    }

    /// This device's own head (its newest sequence number).
    pub fn own_head(&self) -> Result<u64, StoreError> {
        Ok(crate::oplog::device_head(&self.conn, self.device_id())?.map_or(0, |(s, _)| s))
    }

    /// This device's operations after `after`, oldest first, at most `limit`.
    pub fn outbox(&self, after: u64, limit: usize) -> Result<Vec<Operation>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT bytes FROM ops WHERE device = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
        )?;
        let rows = stmt.query_map(
            params![
                self.device_id().to_hex(),
                i64::try_from(after).unwrap_or(i64::MAX),
                i64::try_from(limit).unwrap_or(i64::MAX)
            ],
            |r| r.get::<_, Vec<u8>>(0),
        )?;
        rows.map(|b| Operation::decode(b?).map_err(|_| StoreError::Corrupt("operation")))
            .collect()
    }

    /// Per device, the highest sequence number up to which this device holds its log (holes
    /// count as held: they are reported, not fetched forever).
    pub fn watermarks(&self) -> Result<Vec<Watermark>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT device, max(seq) FROM (
                SELECT device, seq FROM ops UNION ALL SELECT device, seq FROM holes)
             GROUP BY device ORDER BY device",
        )?;
        let rows = stmt.query_map([], watermark_row)?;
        rows.map(|row| row?).collect()
    }

    /// A device's identity as registered in the log, and whether it was removed.
    pub fn device_public(
        &self,
        device: DeviceId,
    ) -> Result<Option<(PublicIdentity, bool)>, StoreError> {
        let row: Option<(Vec<u8>, Option<i64>)> = self
            .conn
            .prepare_cached("SELECT identity, removed_after FROM devices WHERE id = ?1")?
            .query_row([device.to_hex()], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        row.map(|(identity, removed)| {
            Ok((PublicIdentity::from_bytes(&identity)?, removed.is_some()))
        })
        .transpose()
    }

    /// Writes a receipt when this device has applied operations of other devices since its
    /// last receipt (receipts themselves are not acknowledged, or receipts would never end).
    /// Returns whether it wrote one.
    pub fn write_receipt_if_due(&mut self) -> Result<bool, StoreError> {
        if !self.is_admitted()? || self.workspace()?.is_none() {
            return Ok(false);
        }
        let me = self.device_id();
        let mut stmt = self.conn.prepare(
            "SELECT device, max(seq) FROM ops WHERE kind != ?1 AND device != ?2
             GROUP BY device ORDER BY device",
        )?;
        let seen: Vec<Watermark> = stmt
            .query_map(
                params![i64::from(outpost_proto::OpKind::RECEIPT.0), me.to_hex()],
                watermark_row,
            )?
            .map(|row| row?)
            .collect::<Result<_, StoreError>>()?;
        drop(stmt);
        let mut stmt = self
            .conn
            .prepare("SELECT author, seq FROM receipts WHERE device = ?1")?;
        let acknowledged: std::collections::HashMap<String, i64> = stmt
            .query_map([me.to_hex()], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        drop(stmt);
        let advanced = seen.iter().any(|w| {
            acknowledged
                .get(&w.device.to_hex())
                .is_none_or(|&s| seq_of(s) < w.seq)
        });
        if !advanced || seen.is_empty() {
            return Ok(false);
        }
        self.write(RecordId([0; 16]), &Payload::Receipt(Receipt { seen }))?;
        Ok(true)
    }

    /// Which devices (other than the author's) say they have applied the operation `device`
    /// wrote at `seq`: their ids and when they said so.
    pub fn received_by(
        &self,
        device: DeviceId,
        seq: u64,
    ) -> Result<Vec<(DeviceId, i64)>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT device, at FROM receipts WHERE author = ?1 AND seq >= ?2 ORDER BY at",
        )?;
        let rows = stmt.query_map(
            params![device.to_hex(), i64::try_from(seq).unwrap_or(i64::MAX)],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)),
        )?;
        rows.map(|row| {
            let (d, at) = row?;
            Ok((
                DeviceId(
                    outpost_proto::ids::from_hex::<16>(&d)
                        .ok_or(StoreError::Corrupt("receipts device column"))?,
                ),
                at,
            ))
        })
        .collect()
    }

    /// The newest changes this device made (not audit entries or receipts), newest first,
    /// with whether the relay holds them and which devices said they received them.
    pub fn recent_changes(&self, limit: usize) -> Result<Vec<OwnChange>, StoreError> {
        let relay_head = self.relay_head()?;
        let names: std::collections::HashMap<String, String> = {
            let mut stmt = self.conn.prepare("SELECT id, name FROM devices")?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?
        };
        let mut stmt = self.conn.prepare(
            "SELECT seq, kind, hlc_wall, patient FROM ops WHERE device = ?1 AND kind NOT IN (?2, ?3)
             ORDER BY seq DESC LIMIT ?4",
        )?;
        let rows: Vec<(i64, i64, i64, Option<String>)> = stmt
            .query_map(
                params![
                    self.device_id().to_hex(),
                    i64::from(outpost_proto::OpKind::AUDIT.0),
                    i64::from(outpost_proto::OpKind::RECEIPT.0),
                    i64::try_from(limit).unwrap_or(i64::MAX)
                ],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?
            .collect::<Result<_, _>>()?;
        drop(stmt);
        rows.into_iter()
            .map(|(seq, kind, at, patient)| {
                let seq = seq_of(seq);
                let received_by = self
                    .received_by(self.device_id(), seq)?
                    .into_iter()
                    .map(|(d, _)| {
                        names
                            .get(&d.to_hex())
                            .cloned()
                            .unwrap_or_else(|| d.to_hex())
                    })
                    .collect();
                Ok(OwnChange {
                    seq,
                    action: outpost_proto::OpKind(u16::try_from(kind).unwrap_or(0))
                        .name()
                        .unwrap_or("unknown")
                        .to_owned(),
                    at,
                    patient_id: patient.map(|p| p.parse()).transpose()?,
                    on_relay: seq <= relay_head,
                    received_by,
                })
            })
            .collect()
    }

    /// Everything sync set aside: unreadable places, refused operations, quarantined ones.
    pub fn set_aside(&self) -> Result<Vec<SetAside>, StoreError> {
        let mut out: Vec<SetAside> = self
            .holes()?
            .into_iter()
            .map(|(d, seq, reason, _)| SetAside {
                device: d.to_hex(),
                seq,
                kind: "unreadable".into(),
                reason,
            })
            .collect();
        out.extend(
            self.refused()?
                .into_iter()
                .map(|(d, seq, reason)| SetAside {
                    device: d,
                    seq: seq_of(seq),
                    kind: "refused".into(),
                    reason,
                }),
        );
        out.extend(
            self.quarantined()?
                .into_iter()
                .map(|(d, seq, reason, _)| SetAside {
                    device: d,
                    seq: seq_of(seq),
                    kind: "quarantined".into(),
                    reason,
                }),
        );
        Ok(out)
    }

    /// What the sync indicator shows.
    pub fn sync_status(&self) -> Result<SyncStatus, StoreError> {
        let workspace = self.workspace()?;
        let relay_head = self.relay_head()?;
        let (pending, oldest): (i64, Option<i64>) = if workspace.is_some() {
            self.conn.query_row(
                "SELECT count(*), min(hlc_wall) FROM ops WHERE device = ?1 AND seq > ?2",
                params![
                    self.device_id().to_hex(),
                    i64::try_from(relay_head).unwrap_or(i64::MAX)
                ],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?
        } else {
            (0, None)
        };
        let quarantined: i64 = self.conn.query_row(
            "SELECT (SELECT count(*) FROM quarantine) + (SELECT count(*) FROM holes)
                  + (SELECT count(*) FROM refused)",
            [],
            |r| r.get(0),
        )?;
        Ok(SyncStatus {
            workspace: workspace.as_ref().map(|w| w.id.to_hex()),
            pending: seq_of(pending),
            oldest_pending_seconds: oldest.map(|at| seq_of((self.now() - at).max(0) / 1000)),
            last_sync: self.sync_value("last_sync")?.and_then(|v| v.parse().ok()),
            conflicts: u64::try_from(self.conflicts()?.len()).unwrap_or(u64::MAX),
            quarantined: seq_of(quarantined),
            last_error: self.sync_value("last_error")?.filter(|e| !e.is_empty()),
            pending_admission: workspace.is_some_and(|w| w.pending),
        })
    }
}
