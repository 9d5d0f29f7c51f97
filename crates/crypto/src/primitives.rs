//! Thin, checked wrappers over the primitives this crate builds on.
//!
//! Everything above this module calls these functions instead of the underlying crates, so the
//! Wycheproof suites in `tests/wycheproof.rs` exercise exactly the code paths our formats use.

use chacha20poly1305::{
    ChaCha20Poly1305, XChaCha20Poly1305,
    aead::{Aead, KeyInit, Payload},
};
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::CryptoError;

/// Length of every symmetric key this crate derives.
pub const KEY_LEN: usize = 32;
/// XChaCha20-Poly1305 nonce length.
pub const XNONCE_LEN: usize = 24;
/// Poly1305 tag length.
pub const TAG_LEN: usize = 16;

/// XChaCha20-Poly1305 encryption of `plaintext` with associated data `aad`.
///
/// Fails only for inputs beyond the AEAD's limit (2^38 bytes): [`CryptoError::BadLength`].
pub fn xchacha_seal(
    key: &[u8; KEY_LEN],
    nonce: &[u8; XNONCE_LEN],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let cipher = XChaCha20Poly1305::new(key.into());
    cipher
        .encrypt(
            nonce.into(),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| CryptoError::BadLength)
}

/// XChaCha20-Poly1305 decryption; any mismatch is [`CryptoError::DecryptionFailed`].
pub fn xchacha_open(
    key: &[u8; KEY_LEN],
    nonce: &[u8; XNONCE_LEN],
    aad: &[u8],
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let cipher = XChaCha20Poly1305::new(key.into());
    cipher
        .decrypt(
            nonce.into(),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| CryptoError::DecryptionFailed)
}

/// ChaCha20-Poly1305 (IETF, 96-bit nonce) encryption.
pub fn chacha_seal(
    key: &[u8; KEY_LEN],
    nonce: &[u8; 12],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let cipher = ChaCha20Poly1305::new(key.into());
    cipher
        .encrypt(
            nonce.into(),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| CryptoError::BadLength)
}

/// ChaCha20-Poly1305 (IETF, 96-bit nonce) decryption.
pub fn chacha_open(
    key: &[u8; KEY_LEN],
    nonce: &[u8; 12],
    aad: &[u8],
    ciphertext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let cipher = ChaCha20Poly1305::new(key.into());
    cipher
        .decrypt(
            nonce.into(),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .map_err(|_| CryptoError::DecryptionFailed)
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    Sha256::digest(data).into()
}

/// HKDF-SHA256: extract with `salt`, expand with `info` into `out`.
///
/// Fails only when `out` is longer than HKDF allows (255 * 32 bytes).
pub fn hkdf_sha256(
    salt: &[u8],
    ikm: &[u8],
    info: &[&[u8]],
    out: &mut [u8],
) -> Result<(), CryptoError> {
    Hkdf::<Sha256>::new(Some(salt), ikm)
        .expand_multi_info(info, out)
        .map_err(|_| CryptoError::InvalidKeyLength)
}

/// A 32-byte key from HKDF-SHA256, zeroized on drop.
pub fn derive_key(salt: &[u8], ikm: &[u8], info: &[&[u8]]) -> Zeroizing<[u8; KEY_LEN]> {
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    // 32 bytes is always within HKDF's output limit.
    let _ = hkdf_sha256(salt, ikm, info, key.as_mut());
    key
}

/// X25519 with a static secret, rejecting low-order peers (all-zero shared secret).
pub fn x25519_agree(
    secret: &x25519_dalek::StaticSecret,
    their_public: &[u8; 32],
) -> Result<Zeroizing<[u8; 32]>, CryptoError> {
    let shared = secret.diffie_hellman(&x25519_dalek::PublicKey::from(*their_public));
    if !shared.was_contributory() {
        return Err(CryptoError::NonContributory);
    }
    Ok(Zeroizing::new(shared.to_bytes()))
}

/// Ed25519 verification of `signature` over `message` by `public_key`.
///
/// Uses strict verification: rejects non-canonical encodings and small-order keys, so a
/// signature cannot be made to verify under several keys.
pub fn ed25519_verify(
    public_key: &[u8; 32],
    message: &[u8],
    signature: &[u8],
) -> Result<(), CryptoError> {
    let key = ed25519_dalek::VerifyingKey::from_bytes(public_key)
        .map_err(|_| CryptoError::InvalidPublicKey)?;
    let signature =
        ed25519_dalek::Signature::from_slice(signature).map_err(|_| CryptoError::BadSignature)?;
    key.verify_strict(message, &signature)
        .map_err(|_| CryptoError::BadSignature)
}

/// Ed25519 verification of many signatures at once: `Ok` only if every one verifies. About
/// twice as fast as one by one (a single multiscalar multiplication), so it is what reading a
/// chart of hundreds of signed notes uses. It is not *strict*: a signature with a small-order
/// `R` (malleable, not forgeable) passes it, so callers accept only keys that are not weak
/// (`PublicIdentity::from_bytes` refuses them), and on failure check one by one with
/// [`ed25519_verify`] to learn which signature is bad.
pub fn ed25519_verify_batch(items: &[(&[u8; 32], &[u8], &[u8])]) -> Result<(), CryptoError> {
    if items.is_empty() {
        return Ok(());
    }
    let mut keys = Vec::with_capacity(items.len());
    let mut signatures = Vec::with_capacity(items.len());
    let mut messages = Vec::with_capacity(items.len());
    for (key, message, signature) in items {
        let key = ed25519_dalek::VerifyingKey::from_bytes(key)
            .map_err(|_| CryptoError::InvalidPublicKey)?;
        if key.is_weak() {
            return Err(CryptoError::InvalidPublicKey);
        }
        keys.push(key);
        // What strict verification checks and the batch equation does not: R must be the
        // canonical encoding of a point that is not of small order.
        let r: [u8; 32] = signature
            .get(..32)
            .and_then(|r| r.try_into().ok())
            .ok_or(CryptoError::BadSignature)?;
        let point = curve25519_dalek::edwards::CompressedEdwardsY(r)
            .decompress()
            .ok_or(CryptoError::BadSignature)?;
        if point.compress().to_bytes() != r || point.is_small_order() {
            return Err(CryptoError::BadSignature);
        }
        signatures.push(
            ed25519_dalek::Signature::from_slice(signature)
                .map_err(|_| CryptoError::BadSignature)?,
        );
        messages.push(*message);
    }
    ed25519_dalek::verify_batch(&messages, &signatures, &keys)
        .map_err(|_| CryptoError::BadSignature)
}
