//! Typed errors for every operation in this crate.
//!
//! Messages name the problem and never include key material or plaintext.

/// Why a cryptographic operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// The input ended before a complete structure was read.
    #[error("input is truncated")]
    Truncated,
    /// The input has bytes after a complete structure, or a length field disagrees with it.
    #[error("input has trailing or inconsistent length")]
    BadLength,
    /// The format version is not one this build understands.
    #[error("unsupported format version {0}")]
    UnsupportedVersion(u8),
    /// A field holds a value the format does not allow (an unknown kind, a non-canonical encoding).
    #[error("malformed field: {0}")]
    Malformed(&'static str),
    /// A signature did not verify against the claimed author's key.
    #[error("signature does not verify")]
    BadSignature,
    /// Authenticated decryption failed: wrong key, or the data or its context was altered.
    #[error("decryption failed: wrong key or tampered data")]
    DecryptionFailed,
    /// An X25519 exchange produced an all-zero (non-contributory) shared secret.
    #[error("key agreement with a low-order public key")]
    NonContributory,
    /// A public key is not a valid encoding.
    #[error("invalid public key")]
    InvalidPublicKey,
    /// The envelope is addressed to another device or group than the one opening it.
    #[error("envelope is not addressed to this recipient")]
    WrongRecipient,
    /// The envelope's key epoch is not the one supplied to open it.
    #[error("envelope key epoch {envelope} does not match key epoch {key}")]
    EpochMismatch {
        /// Epoch written in the envelope.
        envelope: u32,
        /// Epoch of the key offered.
        key: u32,
    },
    /// The passphrase does not unlock this key record.
    #[error("wrong passphrase")]
    WrongPassphrase,
    /// Key-derivation parameters are outside the range this build accepts.
    #[error("unsupported key-derivation parameters")]
    UnsupportedKdfParams,
    /// The SFrame cipher suite is not implemented.
    #[error("unsupported SFrame cipher suite {0:#06x}")]
    UnsupportedSuite(u16),
    /// No SFrame key is installed for this key id.
    #[error("no key for SFrame key id {0}")]
    UnknownKeyId(u64),
    /// The SFrame counter was already seen, or is too old for the replay window.
    #[error("replayed or too old SFrame counter")]
    Replay,
    /// The sender's counter is exhausted; a new key must be installed before sending more.
    #[error("SFrame counter exhausted for this key")]
    CounterExhausted,
    /// A key has the wrong length for its use.
    #[error("key has the wrong length")]
    InvalidKeyLength,
}
