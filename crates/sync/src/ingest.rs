//! Taking in envelopes pulled from the relay (or pushed live): each is checked against its
//! author device's registered key, opened with its epoch's key, and its operation offered to
//! the store. What cannot be read is a hole (reported, never silently skipped); what waits for
//! something (its author's admission, a key, an earlier operation) is offered again as the
//! batch goes on and at the next exchange.

use std::collections::HashMap;

use outpost_crypto::{
    Addressing, GroupKey, Observation, PublicIdentity, SealedEnvelope, SequenceTracker,
};
use outpost_proto::{DeviceId, Operation, WorkspaceId};

use crate::{Offered, Replica, engine::Summary, engine::SyncError};

/// Envelopes kept for another try, at most (more wait for the next exchange: the relay still
/// holds them).
const MAX_DEFERRED: usize = 50_000;

/// What an intake remembers across batches of one exchange.
#[derive(Debug)]
pub(crate) struct Intake {
    /// Replays within the exchange are dropped before reaching the store. It only ever
    /// observes opened (verified) envelopes.
    tracker: SequenceTracker,
    deferred: Vec<Vec<u8>>,
    /// Registered device identities met in this exchange (a registration never changes).
    authors: HashMap<DeviceId, PublicIdentity>,
    /// Keys per epoch held when first asked in this exchange (deliveries are taken before the
    /// pull, so none arrives mid-way).
    keys: HashMap<u32, Vec<GroupKey>>,
}

impl Intake {
    pub(crate) fn new(tracker: SequenceTracker) -> Self {
        Self {
            tracker,
            deferred: Vec::new(),
            authors: HashMap::new(),
            keys: HashMap::new(),
        }
    }

    /// Envelopes still waiting.
    pub(crate) fn waiting(&self) -> u64 {
        u64::try_from(self.deferred.len()).unwrap_or(u64::MAX)
    }
}

enum Outcome {
    Taken,
    Refused,
    Hole,
    Skipped,
    Defer,
}

fn store_err(e: impl std::fmt::Display) -> SyncError {
    SyncError::Store(e.to_string())
}

/// Takes `envelopes` (and those deferred earlier) in, passing over the deferred ones again
/// while any makes progress.
pub(crate) fn take<R: Replica>(
    r: &mut R,
    intake: &mut Intake,
    workspace: WorkspaceId,
    envelopes: Vec<Vec<u8>>,
    summary: &mut Summary,
) -> Result<(), SyncError> {
    r.begin_batch().map_err(store_err)?;
    let outcome = take_all(r, intake, workspace, envelopes, summary);
    let committed = r.end_batch().map_err(store_err);
    outcome.and(committed)
}

fn take_all<R: Replica>(
    r: &mut R,
    intake: &mut Intake,
    workspace: WorkspaceId,
    envelopes: Vec<Vec<u8>>,
    summary: &mut Summary,
) -> Result<(), SyncError> {
    let mut pending = std::mem::take(&mut intake.deferred);
    pending.extend(envelopes);
    loop {
        let mut progress = false;
        let mut again = Vec::new();
        for bytes in pending {
            match one(r, intake, workspace, &bytes)? {
                Outcome::Taken => {
                    summary.received += 1;
                    progress = true;
                }
                Outcome::Refused => {
                    summary.received += 1;
                    summary.refused += 1;
                    progress = true;
                }
                Outcome::Hole => {
                    summary.unreadable += 1;
                    progress = true;
                }
                Outcome::Skipped => {}
                Outcome::Defer => again.push(bytes),
            }
        }
        if !progress || again.is_empty() {
            again.truncate(MAX_DEFERRED);
            intake.deferred = again;
            return Ok(());
        }
        pending = again;
    }
}

fn one<R: Replica>(
    r: &mut R,
    intake: &mut Intake,
    workspace: WorkspaceId,
    bytes: &[u8],
) -> Result<Outcome, SyncError> {
    // Not even an envelope: nothing names its place, so nothing can be recorded for it; the
    // author's later operations wait as a gap, and the relay's copy is what must be fixed.
    let Ok(envelope) = SealedEnvelope::decode(bytes) else {
        return Ok(Outcome::Skipped);
    };
    let h = *envelope.header();
    if h.addressing != Addressing::Group || h.group.0 != workspace.0 {
        return Ok(Outcome::Skipped);
    }
    let keys = if let Some(k) = intake.keys.get(&h.epoch) {
        k.clone()
    } else {
        let k = r.opening_keys(h.epoch).map_err(store_err)?;
        if !k.is_empty() {
            intake.keys.insert(h.epoch, k.clone());
        }
        k
    };
    if keys.is_empty() {
        if r.epoch_expired(h.epoch).map_err(store_err)? {
            r.hole(
                h.author,
                h.seq,
                "sealed under a key this device no longer holds",
            )
            .map_err(store_err)?;
            return Ok(Outcome::Hole);
        }
        return Ok(Outcome::Defer);
    }
    let known = if let Some(a) = intake.authors.get(&h.author) {
        Some(*a)
    } else {
        let a = r.device_identity(h.author).map_err(store_err)?;
        if let Some(a) = a {
            intake.authors.insert(h.author, a);
        }
        a
    };
    let Some(author) = known else {
        // Its device is not registered here yet (a device taking in the log for the first
        // time meets the registrations inside it). The operation inside carries its author's
        // signature, which the store verifies against the log's registrations; the envelope's
        // own signature is checked once the device is known.
        return unverified(r, &envelope, &keys);
    };
    let Some(opened) = keys
        .iter()
        .find_map(|k| envelope.open_group(k, &author).ok())
    else {
        let reason = if envelope.verify(&author).is_err() {
            "its signature does not verify: it was altered after its author sealed it"
        } else {
            "it does not decrypt with the key of its epoch"
        };
        r.hole(h.author, h.seq, reason).map_err(store_err)?;
        return Ok(Outcome::Hole);
    };
    let Ok(op) = Operation::decode(opened.plaintext().to_vec()) else {
        r.hole(h.author, h.seq, "it does not hold an operation")
            .map_err(store_err)?;
        return Ok(Outcome::Hole);
    };
    if op.header().device != h.author || op.header().seq != h.seq {
        r.hole(
            h.author,
            h.seq,
            "the envelope and the operation inside disagree",
        )
        .map_err(store_err)?;
        return Ok(Outcome::Hole);
    }
    let outcome = match r.offer(op.as_bytes()).map_err(store_err)? {
        Offered::Applied | Offered::Quarantined => Outcome::Taken,
        Offered::Refused => Outcome::Refused,
        Offered::Duplicate => Outcome::Skipped,
        Offered::Gap | Offered::Waiting => return Ok(Outcome::Defer),
    };
    // Only now is its place taken: a replay later in this exchange is dropped here.
    if intake.tracker.observe(&opened) == Observation::Replay {
        return Ok(Outcome::Skipped);
    }
    Ok(outcome)
}

/// Takes in an envelope whose author device is not registered yet: decrypted (which proves a
/// holder of the epoch's key sealed it), its operation offered to the store, which verifies
/// the operation's own signature. A failure here is not recorded as a hole: the device may be
/// registered later in the batch, and the envelope is checked in full then.
fn unverified<R: Replica>(
    r: &mut R,
    envelope: &SealedEnvelope,
    keys: &[outpost_crypto::GroupKey],
) -> Result<Outcome, SyncError> {
    let h = envelope.header();
    let Some(plaintext) = keys
        .iter()
        .find_map(|k| envelope.open_group_unverified(k).ok())
    else {
        return Ok(Outcome::Defer);
    };
    let Ok(op) = Operation::decode(plaintext.to_vec()) else {
        return Ok(Outcome::Defer);
    };
    if op.header().device != h.author || op.header().seq != h.seq {
        return Ok(Outcome::Defer);
    }
    Ok(match r.offer(op.as_bytes()).map_err(store_err)? {
        Offered::Applied => Outcome::Taken,
        Offered::Refused => Outcome::Refused,
        Offered::Duplicate => Outcome::Skipped,
        // A forged or unreadable operation is not set aside on an unverified envelope's word.
        Offered::Quarantined | Offered::Gap | Offered::Waiting => Outcome::Defer,
    })
}
