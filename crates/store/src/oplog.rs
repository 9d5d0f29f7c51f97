//! Writing the operation log: every change is one signed operation, hash-linked to this
//! device's previous one, inserted and applied in the same `IMMEDIATE` transaction.
//!
//! `IMMEDIATE` takes the write lock when the transaction begins, so two processes writing one
//! profile (the desktop app and the command line) queue on SQLite's busy timeout instead of
//! failing with `SQLITE_BUSY_SNAPSHOT` after a read; and the sequence number and clock value
//! read inside it cannot be taken by the other writer.

use outpost_crypto::DeviceIdentity;
use outpost_proto::{DeviceId, Hlc, OpContext, OpHash, Operation, Payload, RecordId, UserId};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use crate::{Store, StoreError, apply, authz};

/// Who is writing: the person (who signs) on this device.
pub(crate) struct Author<'a> {
    pub signer: &'a DeviceIdentity,
    pub actor: UserId,
    pub device: DeviceId,
    pub now_ms: i64,
}

/// The newest operation of `device`: its sequence number and hash.
pub(crate) fn device_head(
    conn: &Connection,
    device: DeviceId,
) -> Result<Option<(u64, OpHash)>, StoreError> {
    conn.prepare_cached("SELECT seq, hash FROM ops WHERE device = ?1 ORDER BY seq DESC LIMIT 1")?
        .query_row([device.to_hex()], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
        })
        .optional()?
        .map(|(seq, hash)| Ok((u64::try_from(seq).map_err(|_| corrupt())?, op_hash(&hash)?)))
        .transpose()
}

/// The newest clock value in the log (any device's): the next local value follows it.
pub(crate) fn last_hlc(conn: &Connection) -> Result<Hlc, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT hlc_wall, hlc_counter FROM ops ORDER BY hlc_wall DESC, hlc_counter DESC LIMIT 1",
        )?
        .query_row(
            [],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
        )
        .optional()?
        .map_or(Hlc::ZERO, |(wall, counter)| Hlc {
            wall_ms: u64::try_from(wall).unwrap_or(0),
            counter: u32::try_from(counter).unwrap_or(u32::MAX),
        }))
}

pub(crate) fn op_hash(bytes: &[u8]) -> Result<OpHash, StoreError> {
    Ok(OpHash(bytes.try_into().map_err(|_| corrupt())?))
}

fn corrupt() -> StoreError {
    StoreError::Corrupt("operation log row")
}

/// Signs `payload` as the author's next operation, stores it and applies it, in `tx`.
/// Refuses (before signing anything) what the author's role does not allow.
pub(crate) fn append(
    tx: &Connection,
    author: &Author<'_>,
    target: RecordId,
    payload: &Payload,
) -> Result<Operation, StoreError> {
    let (last_seq, prev) = device_head(tx, author.device)?.unwrap_or((0, OpHash::GENESIS));
    let hlc = last_hlc(tx)?.tick(u64::try_from(author.now_ms).unwrap_or(0));
    let ctx = OpContext {
        device: author.device,
        seq: last_seq + 1,
        hlc,
        actor: author.actor,
        target,
        prev,
    };
    // Checked where the operation is made as well as where it is applied: a refused action
    // never produces a signed operation.
    apply::authorize(tx, payload, author.actor, author.device, None)?;
    let op = Operation::sign(ctx, payload, author.signer);
    insert(tx, &op, payload)?;
    // Made here and allowed: any failure is an error for the person writing, never a refusal
    // kept in the log.
    apply::apply_local(tx, &op, payload)?;
    Ok(op)
}

/// Stores an operation's row. The columns repeat header fields for indexing; the bytes are
/// what is verified.
pub(crate) fn insert(tx: &Connection, op: &Operation, payload: &Payload) -> Result<(), StoreError> {
    let h = op.header();
    tx.prepare_cached(
        "INSERT INTO ops (device, seq, hlc_wall, hlc_counter, actor, kind, target, patient, hash, bytes)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
            h.device.to_hex(),
            i64::try_from(h.seq).map_err(|_| corrupt())?,
            i64::try_from(h.hlc.wall_ms).map_err(|_| corrupt())?,
            i64::from(h.hlc.counter),
            h.actor.to_hex(),
            i64::from(h.kind.0),
            h.target.to_hex(),
            payload.patient(h.target).map(|p| p.to_hex()),
            op.hash().0.as_slice(),
            op.as_bytes(),
        ])?;
    Ok(())
}

impl Store {
    /// Makes one change: a signed operation by the current user, in its own `IMMEDIATE`
    /// transaction.
    pub(crate) fn write(
        &mut self,
        target: RecordId,
        payload: &Payload,
    ) -> Result<Operation, StoreError> {
        let author = Author {
            signer: &self.signer,
            actor: self.user.id,
            device: self.device.device_id(),
            now_ms: self.clock.now_ms(),
        };
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        let op = append(&tx, &author, target, payload)?;
        tx.commit()?;
        if crate::verify::is_membership(payload) {
            // Checked when it was made; the session trusts the new registration at once.
            let _ = self.trusted.borrow_mut().observe(&op, false);
        }
        Ok(op)
    }

    /// Runs `f` inside one `IMMEDIATE` transaction with the author of this session, for
    /// changes that read and then write (sign a note only if its text is what was shown).
    pub(crate) fn write_with<T>(
        &mut self,
        f: impl FnOnce(&Connection, &Author<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let author = Author {
            signer: &self.signer,
            actor: self.user.id,
            device: self.device.device_id(),
            now_ms: self.clock.now_ms(),
        };
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        let out = f(&tx, &author)?;
        tx.commit()?;
        Ok(out)
    }

    /// Records an audit event by the current user.
    pub(crate) fn audit_event(
        &mut self,
        action: outpost_proto::AuditAction,
        target: Option<RecordId>,
        patient: Option<outpost_proto::PatientId>,
    ) -> Result<Operation, StoreError> {
        self.write(
            target.unwrap_or(RecordId([0; 16])),
            &Payload::Audit(outpost_proto::payload::AuditEvent {
                action,
                patient,
                subject: None,
                at: None,
                detail: None,
            }),
        )
    }

    /// What the verified registrations say about `user`. A user this session has not seen
    /// (added since the unlock, by another process or through sync) is looked up again by
    /// verifying the registrations anew.
    pub(crate) fn trusted_state(&self, user: UserId) -> Option<authz::ActorState> {
        if let Some(state) = self.trusted.borrow().state(user) {
            return Some(state);
        }
        let reloaded = crate::trust::TrustedKeys::load(&self.conn).ok()?;
        let state = reloaded.state(user);
        *self.trusted.borrow_mut() = reloaded;
        state
    }
}
