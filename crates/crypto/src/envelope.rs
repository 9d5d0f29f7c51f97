//! Sealed envelopes: the unit that crosses the relay and the network.
//!
//! An envelope is encrypted (XChaCha20-Poly1305, fresh random 192-bit nonce) and then signed by
//! its author device (Ed25519). Everything before the nonce is the header, and the header is the
//! AEAD's associated data, so version, kind, content type, group, key epoch, author, sequence
//! number and (for direct envelopes) recipient and ephemeral key are all bound to the ciphertext.
//! The signature covers the whole envelope, so the relay (which may check signatures) can
//! neither forge nor alter one; recipients detect replays and gaps with (author, seq), see
//! [`SequenceTracker`]. The byte layout is in the crate documentation.

use std::collections::{BTreeMap, BTreeSet};

use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroizing;

use crate::{CryptoError, DeviceId, DeviceIdentity, GroupKey, PublicIdentity, primitives};

/// Current envelope format version.
pub const ENVELOPE_VERSION: u8 = 1;
/// Domain separator prepended to the signed bytes.
const SIGNATURE_CONTEXT: &[u8] = b"outpost/v1/envelope-signature";
/// Bytes common to both kinds: version, kind, content type, group, epoch, author, seq.
const COMMON_HEADER_LEN: usize = 1 + 1 + 2 + 16 + 4 + 16 + 8;
/// Extra header bytes of a direct envelope: recipient id and ephemeral X25519 key.
const DIRECT_EXTRA_LEN: usize = 16 + 32;
const SIGNATURE_LEN: usize = 64;
/// Largest plaintext an envelope may carry (attachments are chunked well below this). Bounds
/// what a decoder will accept from the network.
pub const MAX_PLAINTEXT_LEN: usize = 16 * 1024 * 1024;

/// Identifies a workspace (a care team's shared space) or other key group.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct GroupId(pub [u8; 16]);

/// What an envelope carries, so a recipient cannot be tricked into reading one kind as another.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct ContentType(pub u16);

impl ContentType {
    /// A synced record (an op-log entry).
    pub const RECORD: Self = Self(1);
    /// A group key delivered to a member device.
    pub const KEY_DELIVERY: Self = Self(2);
    /// An invitation to a workspace or a visit.
    pub const INVITE: Self = Self(3);
    /// Call signaling (offer, answer, candidates, call keys).
    pub const CALL_SIGNAL: Self = Self(4);
    /// A profile's new database key, sealed to one of its users (after a user is removed).
    pub const DATABASE_KEY: Self = Self(5);
}

/// How an envelope is addressed and keyed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Addressing {
    /// To one recipient device, keyed by an ephemeral X25519 exchange with its agreement key.
    Direct {
        /// The recipient device.
        recipient: DeviceId,
        /// The sender's ephemeral X25519 public key.
        ephemeral: [u8; 32],
    },
    /// To every holder of the group key for the header's epoch.
    Group,
}

impl Addressing {
    fn kind(&self) -> u8 {
        match self {
            Self::Direct { .. } => 1,
            Self::Group => 2,
        }
    }
}

/// The authenticated, cleartext part of an envelope.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct EnvelopeHeader {
    /// Direct or group, with the direct fields.
    pub addressing: Addressing,
    /// What the plaintext is.
    pub content_type: ContentType,
    /// The workspace or group this envelope belongs to.
    pub group: GroupId,
    /// The group key epoch (0 for direct envelopes unless the caller sets one).
    pub epoch: u32,
    /// The device that wrote and signed it.
    pub author: DeviceId,
    /// The author's sequence number: unique per author, increasing.
    pub seq: u64,
}

impl EnvelopeHeader {
    /// The header of `author`'s group envelope number `seq` under `key`.
    fn group(author: &DeviceIdentity, key: &GroupKey, seq: u64, content_type: ContentType) -> Self {
        Self {
            addressing: Addressing::Group,
            content_type,
            group: key.group(),
            epoch: key.epoch(),
            author: author.device_id(),
            seq,
        }
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        out.push(ENVELOPE_VERSION);
        out.push(self.addressing.kind());
        out.extend_from_slice(&self.content_type.0.to_be_bytes());
        out.extend_from_slice(&self.group.0);
        out.extend_from_slice(&self.epoch.to_be_bytes());
        out.extend_from_slice(&self.author.0);
        out.extend_from_slice(&self.seq.to_be_bytes());
        if let Addressing::Direct {
            recipient,
            ephemeral,
        } = &self.addressing
        {
            out.extend_from_slice(&recipient.0);
            out.extend_from_slice(ephemeral);
        }
    }

    fn encoded_len(&self) -> usize {
        match self.addressing {
            Addressing::Direct { .. } => COMMON_HEADER_LEN + DIRECT_EXTRA_LEN,
            Addressing::Group => COMMON_HEADER_LEN,
        }
    }
}

/// An encrypted, signed envelope.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SealedEnvelope {
    header: EnvelopeHeader,
    nonce: [u8; primitives::XNONCE_LEN],
    ciphertext: Vec<u8>,
    signature: [u8; SIGNATURE_LEN],
}

/// A verified, decrypted envelope: only [`SealedEnvelope::open_group`] and
/// [`SealedEnvelope::open_direct`] make one, so holding one proves the signature verified.
/// `Debug` shows the header and the plaintext's length only.
pub struct OpenedEnvelope {
    header: EnvelopeHeader,
    plaintext: Zeroizing<Vec<u8>>,
}

impl OpenedEnvelope {
    /// The authenticated header.
    pub fn header(&self) -> &EnvelopeHeader {
        &self.header
    }

    /// The plaintext (zeroized on drop).
    pub fn plaintext(&self) -> &[u8] {
        &self.plaintext
    }
}

impl std::fmt::Debug for OpenedEnvelope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedEnvelope")
            .field("header", &self.header)
            .field("plaintext_len", &self.plaintext.len())
            .finish()
    }
}

/// Bytes read off the front of an input, failing with [`CryptoError::Truncated`].
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], CryptoError> {
        if self.0.len() < n {
            return Err(CryptoError::Truncated);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], CryptoError> {
        self.take(N)?.try_into().map_err(|_| CryptoError::Truncated)
    }
    fn u8(&mut self) -> Result<u8, CryptoError> {
        Ok(self.array::<1>()?[0])
    }
}

impl SealedEnvelope {
    /// The authenticated header. Trust it only after [`Self::verify`] or an `open_*` call.
    pub fn header(&self) -> &EnvelopeHeader {
        &self.header
    }

    /// `(author, seq)`: two envelopes with the same replay id are the same message or a replay.
    pub fn replay_id(&self) -> (DeviceId, u64) {
        (self.header.author, self.header.seq)
    }

    /// Length of the encoded envelope.
    pub fn encoded_len(&self) -> usize {
        self.header.encoded_len()
            + 4
            + primitives::XNONCE_LEN
            + self.ciphertext.len()
            + SIGNATURE_LEN
    }

    /// The wire encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode_unsigned(&mut out);
        out.extend_from_slice(&self.signature);
        out
    }

    fn encode_unsigned(&self, out: &mut Vec<u8>) {
        self.header.encode_into(out);
        // The length fits: seal and decode both bound ciphertexts by MAX_PLAINTEXT_LEN.
        let len = u32::try_from(self.ciphertext.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&self.nonce);
        out.extend_from_slice(&self.ciphertext);
    }

    fn signed_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(SIGNATURE_CONTEXT.len() + self.encoded_len());
        out.extend_from_slice(SIGNATURE_CONTEXT);
        self.encode_unsigned(&mut out);
        out
    }

    fn aad(&self) -> Vec<u8> {
        let mut aad = Vec::with_capacity(self.header.encoded_len());
        self.header.encode_into(&mut aad);
        aad
    }

    /// Parses the wire encoding. Never panics; any malformed input is an error. Does not verify
    /// or decrypt.
    pub fn decode(bytes: &[u8]) -> Result<Self, CryptoError> {
        let mut r = Reader(bytes);
        let version = r.u8()?;
        if version != ENVELOPE_VERSION {
            return Err(CryptoError::UnsupportedVersion(version));
        }
        let kind = r.u8()?;
        let content_type = ContentType(u16::from_be_bytes(r.array()?));
        let group = GroupId(r.array()?);
        let epoch = u32::from_be_bytes(r.array()?);
        let author = DeviceId(r.array()?);
        let seq = u64::from_be_bytes(r.array()?);
        let addressing = match kind {
            1 => Addressing::Direct {
                recipient: DeviceId(r.array()?),
                ephemeral: r.array()?,
            },
            2 => Addressing::Group,
            _ => return Err(CryptoError::Malformed("envelope kind")),
        };
        let len =
            usize::try_from(u32::from_be_bytes(r.array()?)).map_err(|_| CryptoError::BadLength)?;
        if !(primitives::TAG_LEN..=MAX_PLAINTEXT_LEN + primitives::TAG_LEN).contains(&len) {
            return Err(CryptoError::BadLength);
        }
        let nonce = r.array()?;
        let ciphertext = r.take(len)?.to_vec();
        let signature = r.array()?;
        if !r.0.is_empty() {
            return Err(CryptoError::BadLength);
        }
        Ok(Self {
            header: EnvelopeHeader {
                addressing,
                content_type,
                group,
                epoch,
                author,
                seq,
            },
            nonce,
            ciphertext,
            signature,
        })
    }

    /// Checks the author's signature. `author` must be the identity the header names.
    pub fn verify(&self, author: &PublicIdentity) -> Result<(), CryptoError> {
        if author.device_id() != self.header.author {
            return Err(CryptoError::BadSignature);
        }
        author.verify(&self.signed_bytes(), &self.signature)
    }

    /// Seals `plaintext` from `author` to one recipient device.
    pub fn seal_direct<R: RngCore + CryptoRng>(
        author: &DeviceIdentity,
        recipient: &PublicIdentity,
        group: GroupId,
        seq: u64,
        content_type: ContentType,
        plaintext: &[u8],
        rng: &mut R,
    ) -> Result<Self, CryptoError> {
        let ephemeral_secret = x25519_dalek::StaticSecret::random_from_rng(&mut *rng);
        let ephemeral = x25519_dalek::PublicKey::from(&ephemeral_secret).to_bytes();
        let header = EnvelopeHeader {
            addressing: Addressing::Direct {
                recipient: recipient.device_id(),
                ephemeral,
            },
            content_type,
            group,
            epoch: 0,
            author: author.device_id(),
            seq,
        };
        let shared = primitives::x25519_agree(&ephemeral_secret, recipient.agreement_key())?;
        let key = direct_key(&shared, &header, recipient.agreement_key());
        Self::seal_with_key(author, header, &key, plaintext, rng)
    }

    /// Seals `plaintext` from `author` to every holder of `key`.
    pub fn seal_group<R: RngCore + CryptoRng>(
        author: &DeviceIdentity,
        key: &GroupKey,
        seq: u64,
        content_type: ContentType,
        plaintext: &[u8],
        rng: &mut R,
    ) -> Result<Self, CryptoError> {
        let header = EnvelopeHeader::group(author, key, seq, content_type);
        let aead_key = key.envelope_key();
        Self::seal_with_key(author, header, &aead_key, plaintext, rng)
    }

    /// Seals like [`SealedEnvelope::seal_group`], with the nonce derived from the key, the
    /// header and the plaintext instead of drawn at random: sealing the same record again
    /// under the same key gives the same bytes, so a push retried after a lost acknowledgement
    /// is recognised by the relay as the same envelope. Two different plaintexts (or headers)
    /// get independent nonces (a PRF of their SHA-256 under the key); the same one twice
    /// reveals only that it was sent twice, which the sequence number says anyway.
    pub fn seal_group_deterministic(
        author: &DeviceIdentity,
        key: &GroupKey,
        seq: u64,
        content_type: ContentType,
        plaintext: &[u8],
    ) -> Result<Self, CryptoError> {
        let header = EnvelopeHeader::group(author, key, seq, content_type);
        let aead_key = key.envelope_key();
        let mut header_bytes = Vec::with_capacity(COMMON_HEADER_LEN);
        header.encode_into(&mut header_bytes);
        let digest = primitives::sha256(plaintext);
        let derived = primitives::derive_key(
            b"",
            aead_key.as_ref(),
            &[b"outpost/v1/envelope/nonce", &header_bytes, &digest],
        );
        let mut nonce = [0u8; primitives::XNONCE_LEN];
        nonce.copy_from_slice(&derived[..primitives::XNONCE_LEN]);
        Self::seal_with_nonce(author, header, &aead_key, plaintext, nonce)
    }

    fn seal_with_key<R: RngCore + CryptoRng>(
        author: &DeviceIdentity,
        header: EnvelopeHeader,
        key: &[u8; 32],
        plaintext: &[u8],
        rng: &mut R,
    ) -> Result<Self, CryptoError> {
        let mut nonce = [0u8; primitives::XNONCE_LEN];
        rng.fill_bytes(&mut nonce);
        Self::seal_with_nonce(author, header, key, plaintext, nonce)
    }

    fn seal_with_nonce(
        author: &DeviceIdentity,
        header: EnvelopeHeader,
        key: &[u8; 32],
        plaintext: &[u8],
        nonce: [u8; primitives::XNONCE_LEN],
    ) -> Result<Self, CryptoError> {
        if plaintext.len() > MAX_PLAINTEXT_LEN {
            return Err(CryptoError::BadLength);
        }
        let mut envelope = Self {
            header,
            nonce,
            ciphertext: Vec::new(),
            signature: [0; SIGNATURE_LEN],
        };
        envelope.ciphertext = primitives::xchacha_seal(key, &nonce, &envelope.aad(), plaintext)?;
        envelope.signature = author.sign(&envelope.signed_bytes());
        Ok(envelope)
    }

    /// Verifies and decrypts a direct envelope addressed to `recipient`.
    pub fn open_direct(
        &self,
        recipient: &DeviceIdentity,
        author: &PublicIdentity,
    ) -> Result<OpenedEnvelope, CryptoError> {
        let Addressing::Direct {
            recipient: to,
            ephemeral,
        } = self.header.addressing
        else {
            return Err(CryptoError::WrongRecipient);
        };
        if to != recipient.device_id() {
            return Err(CryptoError::WrongRecipient);
        }
        self.verify(author)?;
        let shared = recipient.agree(&ephemeral)?;
        let key = direct_key(&shared, &self.header, recipient.public().agreement_key());
        self.decrypt(&key)
    }

    /// Verifies and decrypts a group envelope with the group key of its epoch.
    pub fn open_group(
        &self,
        key: &GroupKey,
        author: &PublicIdentity,
    ) -> Result<OpenedEnvelope, CryptoError> {
        self.check_group_key(key)?;
        self.verify(author)?;
        self.decrypt(&key.envelope_key())
    }

    /// Decrypts a group envelope whose author's key is not known yet (a device taking in the
    /// log that will register it). The AEAD still proves a holder of the epoch's key sealed
    /// it, but not which device: the caller must verify the content on its own (an operation
    /// carries its author's signature) and must not treat the header's author and sequence
    /// number as authenticated. It yields bytes, not an [`OpenedEnvelope`], so nothing that
    /// requires a verified envelope (the [`SequenceTracker`]) can take it.
    pub fn open_group_unverified(&self, key: &GroupKey) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        self.check_group_key(key)?;
        Ok(self.decrypt(&key.envelope_key())?.plaintext)
    }

    /// A group envelope of `key`'s group and epoch, or the reason it is not.
    fn check_group_key(&self, key: &GroupKey) -> Result<(), CryptoError> {
        if self.header.addressing != Addressing::Group || self.header.group != key.group() {
            return Err(CryptoError::WrongRecipient);
        }
        if self.header.epoch != key.epoch() {
            return Err(CryptoError::EpochMismatch {
                envelope: self.header.epoch,
                key: key.epoch(),
            });
        }
        Ok(())
    }

    fn decrypt(&self, key: &[u8; 32]) -> Result<OpenedEnvelope, CryptoError> {
        let plaintext = primitives::xchacha_open(key, &self.nonce, &self.aad(), &self.ciphertext)?;
        Ok(OpenedEnvelope {
            header: self.header,
            plaintext,
        })
    }
}

/// The AEAD key of a direct envelope: HKDF-SHA256 over the ephemeral-static X25519 secret, with
/// the ephemeral key, the recipient's agreement key and both device ids in the info.
fn direct_key(
    shared: &[u8; 32],
    header: &EnvelopeHeader,
    recipient_agreement: &[u8; 32],
) -> Zeroizing<[u8; 32]> {
    let (recipient, ephemeral) = match &header.addressing {
        Addressing::Direct {
            recipient,
            ephemeral,
        } => (recipient.0, *ephemeral),
        Addressing::Group => ([0; 16], [0; 32]),
    };
    primitives::derive_key(
        b"",
        shared,
        &[
            b"outpost/v1/envelope/direct-key",
            &ephemeral,
            recipient_agreement,
            &recipient,
            &header.author.0,
        ],
    )
}

/// What [`SequenceTracker::observe`] concluded about an envelope.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Observation {
    /// First time this (author, seq) is seen.
    Fresh,
    /// Already seen: a duplicate delivery or a replay. Drop it.
    Replay,
    /// Too far beyond what is contiguous: fetch the gap first, then offer it again.
    TooFarAhead,
}

/// Remembers which (author, seq) pairs were accepted, to reject replays and report gaps (the
/// relay silently dropping envelopes). Sequence numbers start at 0 for each author.
///
/// It only observes envelopes that were opened (so verified): a forged envelope can never mark
/// a sequence number as seen. It is bounded: at most [`SequenceTracker::MAX_AHEAD`] numbers
/// ahead of an author's contiguous prefix are remembered; one further ahead is refused
/// ([`Observation::TooFarAhead`]) until the gap below it is filled.
#[derive(Debug, Default, Clone)]
pub struct SequenceTracker {
    authors: BTreeMap<DeviceId, AuthorSeqs>,
}

#[derive(Debug, Default, Clone)]
struct AuthorSeqs {
    /// Every seq below this has been seen.
    contiguous: u64,
    /// Seen seqs at or above `contiguous`.
    ahead: BTreeSet<u64>,
}

impl SequenceTracker {
    /// An empty tracker.
    pub fn new() -> Self {
        Self::default()
    }

    /// Most sequence numbers remembered ahead of an author's contiguous prefix.
    pub const MAX_AHEAD: u64 = 4096;

    /// Records the envelope's `(author, seq)`; says whether it is new.
    pub fn observe(&mut self, envelope: &OpenedEnvelope) -> Observation {
        let (author, seq) = (envelope.header.author, envelope.header.seq);
        let state = self.authors.entry(author).or_default();
        if seq < state.contiguous || state.ahead.contains(&seq) {
            return Observation::Replay;
        }
        if seq - state.contiguous > Self::MAX_AHEAD {
            return Observation::TooFarAhead;
        }
        state.ahead.insert(seq);
        while state.ahead.remove(&state.contiguous) {
            state.contiguous += 1;
        }
        Observation::Fresh
    }

    /// Missing sequence numbers below the highest seen for `author`, as inclusive ranges.
    pub fn gaps(&self, author: DeviceId) -> Vec<std::ops::RangeInclusive<u64>> {
        let Some(state) = self.authors.get(&author) else {
            return Vec::new();
        };
        let mut gaps = Vec::new();
        let mut expected = state.contiguous;
        for &seen in &state.ahead {
            if seen > expected {
                gaps.push(expected..=seen - 1);
            }
            expected = seen.saturating_add(1);
        }
        gaps
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DeviceIdentity, GroupId, GroupKey};
    use rand_core::OsRng;

    type Edit = fn(&mut EnvelopeHeader);

    /// The AAD alone binds every header field: each field changed while the very same AEAD key
    /// is used must fail to decrypt. (The public API also derives the group key from the group
    /// and epoch, a second binding; this test removes that one to check the first.)
    #[test]
    fn every_header_field_is_in_the_aad() {
        let alice = DeviceIdentity::generate(&mut OsRng);
        let key = GroupKey::generate(GroupId([9; 16]), 3, &mut OsRng);
        let env =
            SealedEnvelope::seal_group(&alice, &key, 5, ContentType::RECORD, b"x", &mut OsRng)
                .unwrap();
        let aead = key.envelope_key();
        assert!(env.decrypt(&aead).is_ok(), "the untouched envelope opens");
        let edits: [(&str, Edit); 5] = [
            ("epoch", |h| h.epoch += 1),
            ("group", |h| h.group.0[0] ^= 1),
            ("author", |h| h.author.0[0] ^= 1),
            ("sequence", |h| h.seq += 1),
            ("content type", |h| {
                h.content_type = ContentType::KEY_DELIVERY;
            }),
        ];
        for (what, edit) in edits {
            let mut forged = SealedEnvelope::decode(&env.encode()).unwrap();
            edit(&mut forged.header);
            assert_eq!(
                forged.decrypt(&aead).unwrap_err(),
                CryptoError::DecryptionFailed,
                "{what} is not bound by the AAD"
            );
        }
    }
}
