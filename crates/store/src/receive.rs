//! Taking in an operation that was written elsewhere (by another device, delivered by sync):
//! once, verified, or set aside.
//!
//! The same `(device, sequence)` twice is a no-op; a different operation at a place already
//! taken is an equivocation; a gap is reported so the caller fetches what is missing (never
//! skipped); a bad signature, an author without the role, a broken link, a clock far in the
//! future or content this build cannot read is **quarantined** with its reason, never applied and
//! never fatal to the rest of a sync.

use outpost_proto::{DeviceId, OpHash, Operation, Payload};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use crate::{
    Store, StoreError,
    apply::{self, Applied},
    membership, oplog,
    verify::{self, is_membership},
};

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
    /// Authentic and stored in the log, but its author had no right to make it (at that point
    /// of the log): it changes nothing, and is listed as refused.
    Refused {
        /// Why.
        reason: &'static str,
    },
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
        if self.batching.get() {
            self.conn.execute_batch("SAVEPOINT received")?;
            let outcome = receive(&self.conn, &mut self.trusted.borrow_mut(), bytes, now).and_then(
                |outcome| {
                    if let Received::Quarantined { reason } = &outcome {
                        quarantine(&self.conn, bytes, reason, now)?;
                    }
                    Ok(outcome)
                },
            );
            if outcome.is_err() {
                self.conn.execute_batch("ROLLBACK TO received")?;
            }
            self.conn.execute_batch("RELEASE received")?;
            return outcome;
        }
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        let outcome = receive(&tx, &mut self.trusted.borrow_mut(), bytes, now)?;
        if let Received::Quarantined { reason } = &outcome {
            quarantine(&tx, bytes, reason, now)?;
        }
        tx.commit()?;
        Ok(outcome)
    }

    /// Takes what is received from now until [`Store::end_receiving`] in one `IMMEDIATE`
    /// transaction (one disk sync for a whole pulled batch instead of one per operation). A
    /// crash before the end loses only what the relay still holds: it is pulled again.
    pub fn begin_receiving(&mut self) -> Result<(), StoreError> {
        if !self.batching.get() {
            self.conn.execute_batch("BEGIN IMMEDIATE")?;
            self.batching.set(true);
        }
        Ok(())
    }

    /// Commits what was received since [`Store::begin_receiving`].
    pub fn end_receiving(&mut self) -> Result<(), StoreError> {
        if self.batching.replace(false) {
            self.conn.execute_batch("COMMIT")?;
        }
        Ok(())
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
    if h.seq <= head_seq {
        // Only a place left by an unreadable envelope can still be filled, and only by the
        // operation its neighbours link to.
        if !fills_hole(tx, &op)? {
            return quarantined("it does not link to the device's previous operation");
        }
    } else if h.seq > head_seq + 1 {
        if !holes_cover(tx, h.device, head_seq + 1, h.seq - 1)? {
            return Ok(Received::Gap {
                expected: head_seq + 1,
            });
        }
    } else if h.prev != head_hash && !holes_cover(tx, h.device, head_seq, head_seq)? {
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
    if trusted.key_for(&op, &payload).is_none() {
        // Registered since this session began (another process, or an earlier batch of this
        // sync): verify the registrations again before judging.
        *trusted = crate::trust::TrustedKeys::load(tx)?;
    }
    match trusted.verify_signature(&op, &payload) {
        Ok(()) => {}
        // Its author's registration has not arrived yet: offer it again after it has.
        Err(_) if trusted.key_for(&op, &payload).is_none() => return Ok(Received::Waiting),
        Err(reason) => return quarantined(reason),
    }
    let subject = match &payload {
        Payload::UserRoleChanged(p) => Some(p.user.to_hex()),
        Payload::UserRemoved(p) => Some(p.user.to_hex()),
        Payload::DeviceRemoved(p) => Some(p.device.to_hex()),
        _ => None,
    };
    let replay = membership::needs_replay(tx, &op, subject)?
        || match &payload {
            // A removal cuts a device's log at a sequence number, whatever the clock says:
            // anything beyond it that was applied must be undone.
            Payload::DeviceRemoved(p) => membership::has_ops_after(tx, p.device, p.after_seq)?,
            _ => false,
        };
    tx.execute_batch("SAVEPOINT receive")?;
    let applied = oplog::insert(tx, &op, &payload).and_then(|()| {
        if replay {
            verify::rebuild_projections(tx)?;
            Ok(refused_reason(tx, &op)?.map_or(Applied::Done, Applied::Refused))
        } else {
            apply::apply(tx, &op, &payload)
        }
    });
    match applied {
        Ok(outcome) => {
            tx.execute_batch("RELEASE receive")?;
            tx.execute(
                "DELETE FROM holes WHERE device = ?1 AND seq = ?2",
                params![h.device.to_hex(), i64::try_from(h.seq).unwrap_or(i64::MAX)],
            )?;
            if replay || is_membership(&payload) {
                *trusted = crate::trust::TrustedKeys::load(tx)?;
            }
            Ok(match outcome {
                Applied::Done => Received::Applied,
                Applied::Refused(reason) => Received::Refused { reason },
            })
        }
        Err(e) => {
            tx.execute_batch("ROLLBACK TO receive; RELEASE receive")?;
            match e {
                // It refers to a record whose operation has not arrived: offer it again later.
                StoreError::NotFound(_) => Ok(Received::Waiting),
                other => Err(other),
            }
        }
    }
}

fn refused_reason(tx: &Connection, op: &Operation) -> Result<Option<&'static str>, StoreError> {
    let reason: Option<String> = tx
        .query_row(
            "SELECT reason FROM refused WHERE hash = ?1",
            [op.hash().0.as_slice()],
            |r| r.get(0),
        )
        .optional()?;
    // The reasons are this crate's own static texts; one read back is named generically.
    Ok(reason.map(|_| "its author had no right to make it at that point of the log"))
}

/// Whether every place `from..=to` of `device`'s log is a recorded hole.
fn holes_cover(tx: &Connection, device: DeviceId, from: u64, to: u64) -> Result<bool, StoreError> {
    if to < from {
        return Ok(true);
    }
    let n: i64 = tx.query_row(
        "SELECT count(*) FROM holes WHERE device = ?1 AND seq BETWEEN ?2 AND ?3",
        params![
            device.to_hex(),
            i64::try_from(from).unwrap_or(i64::MAX),
            i64::try_from(to).unwrap_or(i64::MAX)
        ],
        |r| r.get(0),
    )?;
    Ok(u64::try_from(n).unwrap_or(0) == to - from + 1)
}

/// Whether `op` is the operation a recorded hole is missing: the hole is there, and its
/// neighbours (where present) link to it.
fn fills_hole(tx: &Connection, op: &Operation) -> Result<bool, StoreError> {
    let h = op.header();
    if !holes_cover(tx, h.device, h.seq, h.seq)? {
        return Ok(false);
    }
    let before = if h.seq > 1 {
        stored_hash(tx, h.device, h.seq - 1)?
    } else {
        Some(OpHash::GENESIS)
    };
    if before.is_some_and(|b| b != h.prev) {
        return Ok(false);
    }
    let next_prev: Option<Vec<u8>> = tx
        .query_row(
            "SELECT bytes FROM ops WHERE device = ?1 AND seq = ?2",
            params![
                h.device.to_hex(),
                i64::try_from(h.seq + 1).unwrap_or(i64::MAX)
            ],
            |r| r.get(0),
        )
        .optional()?;
    Ok(match next_prev {
        Some(bytes) => {
            Operation::decode(bytes)
                .map_err(|_| StoreError::Corrupt("operation"))?
                .header()
                .prev
                == op.hash()
        }
        None => true,
    })
}

impl Store {
    /// Records that the envelope holding `device`'s operation `seq` could not be read (its
    /// signature, decryption or key failed): the place is a hole, reported, and the device's
    /// later operations are taken all the same.
    pub fn record_hole(
        &mut self,
        device: DeviceId,
        seq: u64,
        reason: &'static str,
    ) -> Result<(), StoreError> {
        let now = self.clock.now_ms();
        self.conn.execute(
            "INSERT OR IGNORE INTO holes (device, seq, reason, found_at) VALUES (?1, ?2, ?3, ?4)",
            params![
                device.to_hex(),
                i64::try_from(seq).unwrap_or(i64::MAX),
                reason,
                now
            ],
        )?;
        Ok(())
    }

    /// Places in other devices' logs that could not be read: device, sequence number, reason,
    /// when found.
    pub fn holes(&self) -> Result<Vec<(DeviceId, u64, String, i64)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT device, seq, reason, found_at FROM holes ORDER BY found_at DESC")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })?;
        rows.map(|row| {
            let (d, seq, reason, at) = row?;
            Ok((
                DeviceId(
                    outpost_proto::ids::from_hex::<16>(&d)
                        .ok_or(StoreError::Corrupt("holes device column"))?,
                ),
                u64::try_from(seq).unwrap_or(0),
                reason,
                at,
            ))
        })
        .collect()
    }

    /// Operations the log holds that their authors had no right to make: device, sequence
    /// number, reason.
    pub fn refused(&self) -> Result<Vec<(String, i64, String)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT device, seq, reason FROM refused ORDER BY device, seq")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
