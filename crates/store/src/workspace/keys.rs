//! The key schedule: which group key seals what, when a new epoch starts, and who may deliver
//! a key. Everything about epochs is here, so MLS (RFC 9420) can replace it later.
//!
//! - An epoch starts with a manager's signed `epoch_started` operation (the commit), naming the
//!   member devices; its key is fresh randomness (never derived from the last), delivered to
//!   each member device sealed to it (a direct envelope bound to the commit's hash).
//! - Epochs rotate on every removal and at least every [`ROTATE_AFTER_MS`].
//! - A delivered key is used to seal only once confirmed: its commit is in the log, made by a
//!   manager on the device that delivered it. Before that (a device still joining) it only
//!   opens envelopes, whose operations are verified on their own anyway.
//! - Keys of earlier epochs are deleted [`GRACE_MS`] after the next epoch started.

use outpost_crypto::{GroupId, GroupKey, PublicIdentity, SealedEnvelope};
use outpost_proto::{
    OpHash, Operation, Payload, RecordId,
    canon::{Bytes, Canon},
    payload::EpochStarted,
    relay::{Delivery, SendDirect},
};
use rand_core::OsRng;
use rusqlite::{OptionalExtension, params};
use sha2::{Digest, Sha256};

use crate::{Store, StoreError};

/// Rotate at least this often.
pub const ROTATE_AFTER_MS: i64 = 30 * 24 * 3600 * 1000;
/// Keep an old epoch's key this long after the next epoch started.
pub const GRACE_MS: i64 = 30 * 24 * 3600 * 1000;

/// SHA-256 over the member devices (id and identity, sorted by id).
pub fn members_hash(devices: &[PublicIdentity]) -> [u8; 32] {
    let mut sorted: Vec<_> = devices
        .iter()
        .map(|d| (d.device_id(), d.to_bytes()))
        .collect();
    sorted.sort_by_key(|(id, _)| *id);
    let mut h = Sha256::new().chain_update(b"outpost/v1/epoch-members");
    for (id, identity) in sorted {
        h.update(id.0);
        h.update(identity);
    }
    h.finalize().into()
}

fn bytes32(v: &[u8]) -> Result<[u8; 32], StoreError> {
    v.try_into()
        .map_err(|_| StoreError::Corrupt("a stored key has the wrong length"))
}

impl Store {
    fn group_id(&self) -> Result<GroupId, StoreError> {
        let id = super::expected(&self.conn)?.ok_or(StoreError::NotFound("workspace"))?;
        Ok(GroupId(id.0))
    }

    /// Devices that are members now (not removed), with their identities.
    pub fn active_member_devices(&self) -> Result<Vec<PublicIdentity>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT d.identity FROM devices d
             LEFT JOIN users u ON u.id = coalesce(d.user, d.registered_by)
             WHERE d.removed_after IS NULL AND (u.removed_at IS NULL)
             ORDER BY d.id",
        )?;
        let rows = stmt.query_map([], |r| r.get::<_, Vec<u8>>(0))?;
        rows.map(|r| Ok(PublicIdentity::from_bytes(&r?)?)).collect()
    }

    /// Starts a new epoch (managers): the commit in the log, a fresh key kept here, and the
    /// key sealed to every other member device (sent at the next sync).
    pub fn start_epoch(&mut self) -> Result<u32, StoreError> {
        let group = self.group_id()?;
        let last: Option<i64> = self
            .conn
            .query_row("SELECT max(epoch) FROM epochs", [], |r| r.get(0))?;
        let held: Option<i64> =
            self.conn
                .query_row("SELECT max(epoch) FROM group_keys", [], |r| r.get(0))?;
        let epoch = u32::try_from(last.max(held).unwrap_or(0) + 1)
            .map_err(|_| StoreError::Corrupt("epoch number"))?;
        let members = self.active_member_devices()?;
        let op = self.write(
            RecordId([0; 16]),
            &Payload::EpochStarted(EpochStarted {
                epoch,
                members: members_hash(&members),
            }),
        )?;
        let key = GroupKey::generate(group, epoch, &mut OsRng);
        self.keep_key(&key, &op.hash(), &self.device.public(), true)?;
        for device in members {
            if device.device_id() != self.device.device_id() {
                self.queue_delivery(&key, &op.hash(), &device)?;
            }
        }
        Ok(epoch)
    }

    /// Starts a new epoch when the newest is older than [`ROTATE_AFTER_MS`] and this person
    /// manages the workspace. Returns whether it did.
    pub fn rotate_if_due(&mut self) -> Result<bool, StoreError> {
        if !self.is_manager() || self.workspace()?.is_none_or(|w| w.pending) {
            return Ok(false);
        }
        let newest: Option<i64> =
            self.conn
                .query_row("SELECT max(started_at) FROM epochs", [], |r| r.get(0))?;
        if newest.is_some_and(|at| self.now() - at < ROTATE_AFTER_MS) {
            return Ok(false);
        }
        self.start_epoch()?;
        Ok(true)
    }

    fn keep_key(
        &self,
        key: &GroupKey,
        commit: &OpHash,
        sender: &PublicIdentity,
        confirmed: bool,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO group_keys (epoch, commit_hash, secret, sender, confirmed, received_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (epoch, commit_hash) DO UPDATE SET confirmed = max(confirmed, excluded.confirmed)",
            params![
                key.epoch(),
                commit.0.as_slice(),
                key.secret().as_slice(),
                sender.to_bytes().as_slice(),
                confirmed,
                self.now()
            ],
        )?;
        Ok(())
    }

    /// Seals `key` to `device` as a mailbox message for the next sync.
    fn queue_delivery(
        &self,
        key: &GroupKey,
        commit: &OpHash,
        device: &PublicIdentity,
    ) -> Result<(), StoreError> {
        let seq = self.next_direct_seq()?;
        let envelope = key.seal_for(&self.device, device, seq, &commit.0, &mut OsRng)?;
        self.add_relay_task(
            "direct",
            &SendDirect {
                to: device.device_id(),
                envelope: Bytes(envelope.encode()),
            }
            .to_canonical(),
        )
    }

    /// Delivers every key this device holds (confirmed) to a newly admitted device, so it can
    /// read what was written before it joined.
    pub(crate) fn deliver_keys_to(&self, device: &PublicIdentity) -> Result<(), StoreError> {
        for (key, commit) in self.held_keys(true)? {
            self.queue_delivery(&key, &commit, device)?;
        }
        Ok(())
    }

    fn next_direct_seq(&self) -> Result<u64, StoreError> {
        let next = self
            .sync_value("direct_seq")?
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            + 1;
        self.set_sync_value("direct_seq", &next.to_string())?;
        Ok(next)
    }

    /// Keys held, with their commits; only confirmed ones when `confirmed_only`.
    fn held_keys(&self, confirmed_only: bool) -> Result<Vec<(GroupKey, OpHash)>, StoreError> {
        let group = self.group_id()?;
        let mut stmt = self.conn.prepare(
            "SELECT epoch, commit_hash, secret FROM group_keys WHERE confirmed >= ?1
             ORDER BY epoch, commit_hash",
        )?;
        let rows = stmt.query_map([i64::from(confirmed_only)], |r| {
            Ok((
                r.get::<_, u32>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, Vec<u8>>(2)?,
            ))
        })?;
        rows.map(|row| {
            let (epoch, commit, secret) = row?;
            let secret = zeroize::Zeroizing::new(bytes32(&secret)?);
            Ok((
                GroupKey::from_secret(group, epoch, &secret),
                OpHash(bytes32(&commit)?),
            ))
        })
        .collect()
    }

    /// The key to seal with: the newest confirmed epoch's (two managers starting the same
    /// epoch at once: the smaller commit hash, on every device).
    pub fn sealing_key(&self) -> Result<Option<GroupKey>, StoreError> {
        Ok(self
            .held_keys(true)?
            .into_iter()
            .max_by(|(a, ca), (b, cb)| a.epoch().cmp(&b.epoch()).then(cb.cmp(ca)))
            .map(|(k, _)| k))
    }

    /// Every key held for `epoch` (confirmed or not), to open envelopes with.
    pub fn opening_keys(&self, epoch: u32) -> Result<Vec<GroupKey>, StoreError> {
        Ok(self
            .held_keys(false)?
            .into_iter()
            .filter(|(k, _)| k.epoch() == epoch)
            .map(|(k, _)| k)
            .collect())
    }

    /// Whether a key for `epoch` was held and deleted (so envelopes of it can no longer be
    /// read here), as opposed to not delivered yet.
    pub fn epoch_expired(&self, epoch: u32) -> Result<bool, StoreError> {
        let oldest_held: Option<i64> =
            self.conn
                .query_row("SELECT min(epoch) FROM group_keys", [], |r| r.get(0))?;
        Ok(oldest_held.is_some_and(|o| i64::from(epoch) < o))
    }

    /// Takes a key delivered through the mailbox (a [`Delivery`]: the sender's identity as the
    /// relay gave it, and the envelope). Refused when the envelope is not addressed
    /// to this device, does not verify under the sender's key, or the sender is known and
    /// may not deliver. Returns the epoch.
    pub fn accept_delivery(&mut self, body: &[u8]) -> Result<u32, StoreError> {
        let delivery = Delivery::from_canonical(body).map_err(|_| StoreError::Invalid {
            field: "key delivery",
            reason: "it does not decode",
        })?;
        let sender = PublicIdentity::from_bytes(&delivery.sender)?;
        let envelope = SealedEnvelope::decode(&delivery.envelope.0)?;
        if envelope.header().group != self.group_id()? {
            return Err(StoreError::Invalid {
                field: "key delivery",
                reason: "it is for another workspace",
            });
        }
        let (key, commit) = GroupKey::open_delivery(&envelope, &self.device, &sender)?;
        let commit = OpHash(commit);
        let confirmed = match self.commit_check(&commit, &sender, key.epoch())? {
            Some(true) => true,
            Some(false) => {
                return Err(StoreError::Invalid {
                    field: "key delivery",
                    reason: "its sender may not deliver keys for that epoch",
                });
            }
            // The commit has not arrived: usable to open envelopes only, until it has.
            None => false,
        };
        self.keep_key(&key, &commit, &sender, confirmed)?;
        Ok(key.epoch())
    }

    /// Whether `commit` (if in the log) is an epoch start by a manager, on `sender`, for
    /// `epoch`; `None` when it is not in the log.
    fn commit_check(
        &self,
        commit: &OpHash,
        sender: &PublicIdentity,
        epoch: u32,
    ) -> Result<Option<bool>, StoreError> {
        let bytes: Option<Vec<u8>> = self
            .conn
            .query_row(
                "SELECT bytes FROM ops WHERE hash = ?1",
                [commit.0.as_slice()],
                |r| r.get(0),
            )
            .optional()?;
        let Some(bytes) = bytes else {
            return Ok(None);
        };
        let op = Operation::decode(bytes).map_err(|_| StoreError::Corrupt("operation"))?;
        let refused: bool = self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM refused WHERE hash = ?1)",
            [commit.0.as_slice()],
            |r| r.get(0),
        )?;
        let registered: Option<Vec<u8>> = self
            .conn
            .query_row(
                "SELECT identity FROM devices WHERE id = ?1",
                [sender.device_id().to_hex()],
                |r| r.get(0),
            )
            .optional()?;
        let ok = !refused
            && op.header().device == sender.device_id()
            && registered.as_deref() == Some(sender.to_bytes().as_slice())
            && matches!(op.payload(), Ok(Payload::EpochStarted(p)) if p.epoch == epoch);
        Ok(Some(ok))
    }

    /// Re-checks keys delivered before their commit arrived: confirms those whose commit
    /// holds, deletes those whose commit does not. Returns how many were confirmed.
    pub fn confirm_keys(&mut self) -> Result<usize, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT epoch, commit_hash, sender FROM group_keys WHERE confirmed = 0")?;
        let pending: Vec<(u32, Vec<u8>, Vec<u8>)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        drop(stmt);
        let mut confirmed = 0;
        for (epoch, commit, sender) in pending {
            let commit_hash = OpHash(bytes32(&commit)?);
            let sender = PublicIdentity::from_bytes(&sender)?;
            match self.commit_check(&commit_hash, &sender, epoch)? {
                Some(true) => {
                    self.conn.execute(
                        "UPDATE group_keys SET confirmed = 1 WHERE epoch = ?1 AND commit_hash = ?2",
                        params![epoch, commit],
                    )?;
                    confirmed += 1;
                }
                Some(false) => {
                    self.conn.execute(
                        "DELETE FROM group_keys WHERE epoch = ?1 AND commit_hash = ?2",
                        params![epoch, commit],
                    )?;
                }
                None => {}
            }
        }
        Ok(confirmed)
    }

    /// Deletes keys of epochs superseded more than [`GRACE_MS`] ago. Returns how many.
    pub fn prune_keys(&mut self) -> Result<usize, StoreError> {
        let cutoff = self.now() - GRACE_MS;
        // An epoch's key goes once a later epoch (held and confirmed here) is older than the
        // grace period.
        let deleted = self.conn.execute(
            "DELETE FROM group_keys WHERE epoch < (
                SELECT max(g.epoch) FROM group_keys g
                JOIN epochs e ON e.op = g.commit_hash
                WHERE g.confirmed = 1 AND e.started_at < ?1)",
            [cutoff],
        )?;
        Ok(deleted)
    }
}
