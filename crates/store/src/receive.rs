//! Taking in an operation that was written elsewhere (by another device, delivered by sync):
//! once, verified, or set aside.
//!
//! The same `(device, sequence)` twice is a no-op; a different operation at a place already
//! taken is an equivocation; a gap is reported so the caller fetches what is missing (never
//! skipped); a bad signature, an author without the role, a broken link, a clock far in the
//! future or content this build cannot read is **quarantined** with its reason, never applied and
//! never fatal to the rest of a sync.

use outpost_proto::{DeviceId, OpHash, Operation};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use crate::{Store, StoreError, apply, oplog, verify::is_membership};

/// What became of a received operation.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Received {
    /// Verified, stored and applied.
    Applied,
    /// Already here: nothing changed.
    Duplicate,
    /// Earlier operations of its device are missing: fetch from `expected` on, then offer it
    /// again. Nothing was stored.
    Gap {
        /// The first missing sequence number.
        expected: u64,
    },
    /// It refers to a record this device does not have yet (written by a device whose
    /// operations have not arrived): offer it again after those. Nothing was stored.
    Waiting,
    /// Set aside, never applied, with the reason (for the sync centre).
    Quarantined {
        /// Why.
        reason: &'static str,
    },
}

impl Store {
    /// Takes in one encoded operation (see the module docs).
    pub fn receive_operation(&mut self, bytes: &[u8]) -> Result<Received, StoreError> {
        let now = self.clock.now_ms();
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        let outcome = receive(&tx, &mut self.trusted.borrow_mut(), bytes, now)?;
        if let Received::Quarantined { reason } = &outcome {
            quarantine(&tx, bytes, reason, now)?;
        }
        tx.commit()?;
        Ok(outcome)
    }

    /// Operations set aside, newest first: device, sequence number, reason, when.
    pub fn quarantined(&self) -> Result<Vec<(String, i64, String, i64)>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT device, seq, reason, found_at FROM quarantine ORDER BY found_at DESC, device, seq",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

fn quarantine(tx: &Connection, bytes: &[u8], reason: &str, now: i64) -> Result<(), StoreError> {
    let (device, seq, hash) = Operation::decode(bytes.to_vec()).map_or(
        (
            String::from("unreadable"),
            0,
            outpost_proto::op::hash_bytes(bytes),
        ),
        |op| {
            (
                op.header().device.to_hex(),
                i64::try_from(op.header().seq).unwrap_or(i64::MAX),
                op.hash(),
            )
        },
    );
    tx.execute(
        "INSERT OR IGNORE INTO quarantine (device, seq, hash, reason, found_at, bytes)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![device, seq, hash.0.as_slice(), reason, now, bytes],
    )?;
    Ok(())
}

fn stored_hash(tx: &Connection, device: DeviceId, seq: u64) -> Result<Option<OpHash>, StoreError> {
    tx.query_row(
        "SELECT hash FROM ops WHERE device = ?1 AND seq = ?2",
        params![device.to_hex(), i64::try_from(seq).unwrap_or(i64::MAX)],
        |r| r.get::<_, Vec<u8>>(0),
    )
    .optional()?
    .map(|h| oplog::op_hash(&h))
    .transpose()
}

fn receive(
    tx: &Connection,
    trusted: &mut crate::trust::TrustedKeys,
    bytes: &[u8],
    now: i64,
) -> Result<Received, StoreError> {
    let quarantined = |reason| Ok(Received::Quarantined { reason });
    let Ok(op) = Operation::decode(bytes.to_vec()) else {
        return quarantined("it is not a well-formed operation");
    };
    let h = *op.header();
    if let Some(existing) = stored_hash(tx, h.device, h.seq)? {
        return if existing == op.hash() {
            Ok(Received::Duplicate)
        } else {
            quarantined("another operation already holds its place in the device's log")
        };
    }
    let (head_seq, head_hash) = oplog::device_head(tx, h.device)?.unwrap_or((0, OpHash::GENESIS));
    if h.seq > head_seq + 1 {
        return Ok(Received::Gap {
            expected: head_seq + 1,
        });
    }
    if h.seq <= head_seq || h.prev != head_hash {
        return quarantined("it does not link to the device's previous operation");
    }
    let Ok(payload) = op.payload() else {
        return quarantined("its content cannot be read by this version");
    };
    let last = oplog::last_hlc(tx)?;
    if last
        .observe(h.hlc, u64::try_from(now).unwrap_or(0))
        .is_err()
    {
        return quarantined("its clock is more than a day ahead of this device's");
    }
    let importing = h.seq > 1 && crate::apply::importing(tx, h.device)?;
    if let Err(reason) = trusted.check(&op, &payload, importing) {
        // A user registered since this session began (another process wrote it): verify the
        // registrations again before judging.
        *trusted = crate::trust::TrustedKeys::load(tx)?;
        if trusted.check(&op, &payload, importing).is_err() {
            return quarantined(reason);
        }
    }
    tx.execute_batch("SAVEPOINT receive")?;
    let applied = oplog::insert(tx, &op, &payload).and_then(|()| apply::apply(tx, &op, &payload));
    match applied {
        Ok(()) => {
            tx.execute_batch("RELEASE receive")?;
            if is_membership(&payload) {
                // Verified above; take the new registration into account at once.
                let _ = trusted.observe(&op, importing);
            }
            Ok(Received::Applied)
        }
        Err(e) => {
            tx.execute_batch("ROLLBACK TO receive; RELEASE receive")?;
            match e {
                StoreError::NotFound(_) => Ok(Received::Waiting),
                StoreError::NotPermitted { .. } => {
                    quarantined("its author's role does not allow it")
                }
                StoreError::SignatureInvalid(reason) => quarantined(reason),
                StoreError::Invalid { .. } | StoreError::UnknownCode { .. } => {
                    quarantined("its content is not valid")
                }
                other => Err(other),
            }
        }
    }
}
