//! The signed operation: one authored clinical or administrative change, as stored in the
//! device's log and carried by sync. Its byte layout is in the crate docs.

use outpost_crypto::{DeviceId, DeviceIdentity, primitives};
use sha2::{Digest, Sha256};

use crate::{
    canon::DecodeError,
    hlc::Hlc,
    ids::{OpHash, RecordId, UserId},
    payload::{OpKind, Payload},
};

/// Format version written by this build.
pub const VERSION: u8 = 1;
/// Bytes before the payload.
pub const HEADER_LEN: usize = 107;
/// Length of the trailing Ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;
/// Largest payload accepted (a long note with room to spare; attachment content is never in
/// an operation).
pub const MAX_PAYLOAD: usize = 4 * 1024 * 1024;

const SIGNATURE_DOMAIN: &[u8] = b"outpost/v1/op-signature";
const HASH_DOMAIN: &[u8] = b"outpost/v1/op-hash";

/// Why an operation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpError {
    /// The bytes are not a well-formed operation or payload.
    #[error("malformed operation: {0}")]
    Malformed(#[from] DecodeError),
    /// The signature does not verify under the actor's registered key.
    #[error("operation signature does not verify")]
    BadSignature,
}

/// The fields of an operation before its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OpHeader {
    /// What kind of change (decides the payload type).
    pub kind: OpKind,
    /// The device whose log this operation is in.
    pub device: DeviceId,
    /// Its position in that log, from 1, without gaps.
    pub seq: u64,
    /// Hybrid logical clock value when it was made.
    pub hlc: Hlc,
    /// The person who made it (and signed it).
    pub actor: UserId,
    /// The record it is about.
    pub target: RecordId,
    /// Hash of the same device's operation `seq - 1` ([`OpHash::GENESIS`] for `seq` 1).
    pub prev: OpHash,
}

/// A decoded operation, holding the exact bytes that were signed and stored.
#[derive(Clone, PartialEq, Eq)]
pub struct Operation {
    bytes: Vec<u8>,
    header: OpHeader,
}

impl std::fmt::Debug for Operation {
    // The payload may hold patient data: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Operation")
            .field("header", &self.header)
            .field("len", &self.bytes.len())
            .finish_non_exhaustive()
    }
}

/// Everything of an operation but its kind and payload, for [`Operation::sign`].
#[derive(Debug, Clone, Copy)]
pub struct OpContext {
    /// The authoring device.
    pub device: DeviceId,
    /// Next sequence number of that device.
    pub seq: u64,
    /// Clock value.
    pub hlc: Hlc,
    /// The person acting.
    pub actor: UserId,
    /// The record concerned.
    pub target: RecordId,
    /// Hash of the device's previous operation.
    pub prev: OpHash,
}

impl Operation {
    /// Encodes and signs an operation with the acting person's identity.
    pub fn sign(ctx: OpContext, payload: &Payload, actor_key: &DeviceIdentity) -> Self {
        let body = payload.body();
        let header = OpHeader {
            kind: payload.kind(),
            device: ctx.device,
            seq: ctx.seq,
            hlc: ctx.hlc,
            actor: ctx.actor,
            target: ctx.target,
            prev: ctx.prev,
        };
        let mut bytes = Vec::with_capacity(HEADER_LEN + body.len() + SIGNATURE_LEN);
        bytes.push(VERSION);
        bytes.extend_from_slice(&header.kind.0.to_be_bytes());
        bytes.extend_from_slice(&header.device.0);
        bytes.extend_from_slice(&header.seq.to_be_bytes());
        bytes.extend_from_slice(&header.hlc.wall_ms.to_be_bytes());
        bytes.extend_from_slice(&header.hlc.counter.to_be_bytes());
        bytes.extend_from_slice(&header.actor.0);
        bytes.extend_from_slice(&header.target.0);
        bytes.extend_from_slice(&header.prev.0);
        bytes.extend_from_slice(&u32::try_from(body.len()).unwrap_or(u32::MAX).to_be_bytes());
        bytes.extend_from_slice(&body);
        let signature = actor_key.sign(&signing_input(&bytes));
        bytes.extend_from_slice(&signature);
        Self { bytes, header }
    }

    /// Parses the structure (not the payload, not the signature: see [`Operation::payload`]
    /// and [`Operation::verify`]).
    pub fn decode(bytes: Vec<u8>) -> Result<Self, OpError> {
        let b = bytes.as_slice();
        if b.len() < HEADER_LEN + SIGNATURE_LEN {
            return Err(DecodeError::Truncated.into());
        }
        if b[0] != VERSION {
            return Err(DecodeError::UnsupportedVersion(b[0]).into());
        }
        let arr = |at: usize, n: usize| &b[at..at + n];
        let u64_at = |at: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(arr(at, 8));
            u64::from_be_bytes(a)
        };
        let id16 = |at: usize| {
            let mut a = [0u8; 16];
            a.copy_from_slice(arr(at, 16));
            a
        };
        let mut prev = [0u8; 32];
        prev.copy_from_slice(arr(71, 32));
        let mut len = [0u8; 4];
        len.copy_from_slice(arr(103, 4));
        let payload_len = usize::try_from(u32::from_be_bytes(len)).unwrap_or(usize::MAX);
        if payload_len > MAX_PAYLOAD {
            return Err(DecodeError::TooLong.into());
        }
        match (HEADER_LEN + payload_len + SIGNATURE_LEN).cmp(&b.len()) {
            std::cmp::Ordering::Greater => return Err(DecodeError::Truncated.into()),
            std::cmp::Ordering::Less => return Err(DecodeError::Trailing.into()),
            std::cmp::Ordering::Equal => {}
        }
        let mut counter = [0u8; 4];
        counter.copy_from_slice(arr(35, 4));
        let seq = u64_at(19);
        if seq == 0 {
            return Err(DecodeError::Malformed("sequence number 0").into());
        }
        let header = OpHeader {
            kind: OpKind(u16::from_be_bytes([b[1], b[2]])),
            device: DeviceId(id16(3)),
            seq,
            hlc: Hlc {
                wall_ms: u64_at(27),
                counter: u32::from_be_bytes(counter),
            },
            actor: UserId(id16(39)),
            target: RecordId(id16(55)),
            prev: OpHash(prev),
        };
        Ok(Self { bytes, header })
    }

    /// The header fields.
    pub fn header(&self) -> &OpHeader {
        &self.header
    }

    /// The exact encoded bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The encoded bytes, consuming the operation.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// The payload's canonical bytes.
    pub fn payload_bytes(&self) -> &[u8] {
        &self.bytes[HEADER_LEN..self.bytes.len() - SIGNATURE_LEN]
    }

    /// The typed payload.
    pub fn payload(&self) -> Result<Payload, OpError> {
        Ok(Payload::decode(self.header.kind, self.payload_bytes())?)
    }

    /// The Ed25519 signature.
    pub fn signature(&self) -> &[u8] {
        &self.bytes[self.bytes.len() - SIGNATURE_LEN..]
    }

    /// What the signature is over: the domain label, then every byte before the signature.
    pub fn signing_input(&self) -> Vec<u8> {
        signing_input(&self.bytes[..self.bytes.len() - SIGNATURE_LEN])
    }

    /// Verifies the signature under the actor's Ed25519 public key.
    pub fn verify(&self, actor_signing_key: &[u8; 32]) -> Result<(), OpError> {
        primitives::ed25519_verify(actor_signing_key, &self.signing_input(), self.signature())
            .map_err(|_| OpError::BadSignature)
    }

    /// The hash that names this operation: SHA-256 over a domain label and every byte,
    /// signature included.
    pub fn hash(&self) -> OpHash {
        hash_bytes(&self.bytes)
    }
}

/// The hash of an encoded operation (see [`Operation::hash`]).
pub fn hash_bytes(bytes: &[u8]) -> OpHash {
    OpHash(
        Sha256::new()
            .chain_update(HASH_DOMAIN)
            .chain_update(bytes)
            .finalize()
            .into(),
    )
}

fn signing_input(unsigned: &[u8]) -> Vec<u8> {
    [SIGNATURE_DOMAIN, unsigned].concat()
}
