//! Group keys: one random key per workspace and epoch, for synced records.
//!
//! A new epoch starts with a fresh random key (never derived from the old one), so a removed
//! member who kept every old key still cannot read what is written after their removal. Keys
//! reach member devices as direct envelopes of type [`ContentType::KEY_DELIVERY`].

use std::fmt;

use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroizing;

use crate::{
    ContentType, CryptoError, DeviceIdentity, GroupId, PublicIdentity, SealedEnvelope, primitives,
};

/// Version of the key-delivery payload.
const DELIVERY_VERSION: u8 = 2;
/// `version || group || epoch || commit || key`.
const DELIVERY_LEN: usize = 1 + 16 + 4 + 32 + 32;

/// The symmetric key of one group epoch. Zeroized on drop; never printed.
#[derive(Clone)]
pub struct GroupKey {
    group: GroupId,
    epoch: u32,
    secret: Zeroizing<[u8; 32]>,
    /// The AEAD key derived from it, computed once (every envelope of a batch uses it).
    aead: Zeroizing<[u8; 32]>,
}

impl fmt::Debug for GroupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupKey")
            .field("group", &self.group)
            .field("epoch", &self.epoch)
            .finish_non_exhaustive()
    }
}

impl GroupKey {
    /// A fresh random key for `group` at `epoch`.
    pub fn generate<R: RngCore + CryptoRng>(group: GroupId, epoch: u32, rng: &mut R) -> Self {
        let mut secret = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(secret.as_mut());
        Self::new(group, epoch, secret)
    }

    fn new(group: GroupId, epoch: u32, secret: Zeroizing<[u8; 32]>) -> Self {
        let mut salt = [0u8; 20];
        salt[..16].copy_from_slice(&group.0);
        salt[16..].copy_from_slice(&epoch.to_be_bytes());
        let aead =
            primitives::derive_key(&salt, secret.as_ref(), &[b"outpost/v1/envelope/group-key"]);
        Self {
            group,
            epoch,
            secret,
            aead,
        }
    }

    /// The key for the next epoch (after a member leaves): fresh randomness, epoch + 1.
    pub fn rotate<R: RngCore + CryptoRng>(&self, rng: &mut R) -> Result<Self, CryptoError> {
        let epoch = self
            .epoch
            .checked_add(1)
            .ok_or(CryptoError::Malformed("epoch overflow"))?;
        Ok(Self::generate(self.group, epoch, rng))
    }

    /// A key kept in a device's encrypted store, read back.
    pub fn from_secret(group: GroupId, epoch: u32, secret: &[u8; 32]) -> Self {
        Self::new(group, epoch, Zeroizing::new(*secret))
    }

    /// The secret, for keeping in the device's encrypted store (and nowhere else).
    pub fn secret(&self) -> Zeroizing<[u8; 32]> {
        self.secret.clone()
    }

    /// The group this key belongs to.
    pub fn group(&self) -> GroupId {
        self.group
    }

    /// The epoch this key belongs to.
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// The AEAD key for group envelopes of this epoch.
    pub(crate) fn envelope_key(&self) -> Zeroizing<[u8; 32]> {
        self.aead.clone()
    }

    /// Seals this key to one member device, as a direct envelope from `author`, bound to
    /// `commit` (the hash of the signed operation that started this epoch).
    pub fn seal_for<R: RngCore + CryptoRng>(
        &self,
        author: &DeviceIdentity,
        recipient: &PublicIdentity,
        seq: u64,
        commit: &[u8; 32],
        rng: &mut R,
    ) -> Result<SealedEnvelope, CryptoError> {
        let mut payload = Zeroizing::new(Vec::with_capacity(DELIVERY_LEN));
        payload.push(DELIVERY_VERSION);
        payload.extend_from_slice(&self.group.0);
        payload.extend_from_slice(&self.epoch.to_be_bytes());
        payload.extend_from_slice(commit);
        payload.extend_from_slice(self.secret.as_ref());
        SealedEnvelope::seal_direct(
            author,
            recipient,
            self.group,
            seq,
            ContentType::KEY_DELIVERY,
            &payload,
            rng,
        )
    }

    /// Opens a key delivered with [`GroupKey::seal_for`]: the key and the commit it is bound
    /// to. The payload's group must match the envelope's authenticated group.
    pub fn open_delivery(
        envelope: &SealedEnvelope,
        recipient: &DeviceIdentity,
        author: &PublicIdentity,
    ) -> Result<(Self, [u8; 32]), CryptoError> {
        if envelope.header().content_type != ContentType::KEY_DELIVERY {
            return Err(CryptoError::Malformed("not a key delivery"));
        }
        let opened = envelope.open_direct(recipient, author)?;
        let p = opened.plaintext();
        if p.len() != DELIVERY_LEN {
            return Err(CryptoError::BadLength);
        }
        if p[0] != DELIVERY_VERSION {
            return Err(CryptoError::UnsupportedVersion(p[0]));
        }
        let group = GroupId(p[1..17].try_into().map_err(|_| CryptoError::BadLength)?);
        if group != opened.header().group {
            return Err(CryptoError::Malformed("key delivery for another group"));
        }
        let epoch = u32::from_be_bytes(p[17..21].try_into().map_err(|_| CryptoError::BadLength)?);
        let mut commit = [0u8; 32];
        commit.copy_from_slice(&p[21..53]);
        let mut secret = Zeroizing::new([0u8; 32]);
        secret.copy_from_slice(&p[53..85]);
        Ok((Self::new(group, epoch, secret), commit))
    }
}
