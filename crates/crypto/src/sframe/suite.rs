//! SFrame cipher suites and the AEADs behind them (RFC 9605 section 4.5).

use aes_gcm::{
    AeadInPlace, Aes128Gcm, Aes256Gcm, KeyInit,
    aead::consts::{U12, U16},
};
use chacha20poly1305::ChaCha20Poly1305;
use ctr::cipher::{KeyIvInit, StreamCipher};
use hmac::{Hmac, Mac};
use sha2::{Sha256, Sha512};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::CryptoError;

/// An SFrame cipher suite.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum CipherSuite {
    /// 0x0001: AES-128-CTR with HMAC-SHA256 truncated to 80 bits.
    Aes128CtrHmacSha256_80,
    /// 0x0002: AES-128-CTR with HMAC-SHA256 truncated to 64 bits.
    Aes128CtrHmacSha256_64,
    /// 0x0003: AES-128-CTR with HMAC-SHA256 truncated to 32 bits.
    Aes128CtrHmacSha256_32,
    /// 0x0004: AES-128-GCM, SHA-256 key schedule, 128-bit tag.
    Aes128GcmSha256_128,
    /// 0x0005: AES-256-GCM, SHA-512 key schedule, 128-bit tag.
    Aes256GcmSha512_128,
    /// 0xF0CC (private use): ChaCha20-Poly1305, SHA-256 key schedule, 128-bit tag. For devices
    /// without AES instructions, where it is the faster constant-time choice.
    OutpostChaCha20Poly1305Sha256_128,
}

/// The suite Outpost uses for its own calls: AES-128-GCM, measured faster than our ChaCha20 suite
/// on x86-64 with AES-NI (`make bench`), and a registered suite other SFrame stacks speak.
pub const DEFAULT_SUITE: CipherSuite = CipherSuite::Aes128GcmSha256_128;

impl CipherSuite {
    /// The IANA (or private-use) code point.
    pub fn id(self) -> u16 {
        match self {
            Self::Aes128CtrHmacSha256_80 => 0x0001,
            Self::Aes128CtrHmacSha256_64 => 0x0002,
            Self::Aes128CtrHmacSha256_32 => 0x0003,
            Self::Aes128GcmSha256_128 => 0x0004,
            Self::Aes256GcmSha512_128 => 0x0005,
            Self::OutpostChaCha20Poly1305Sha256_128 => 0xF0CC,
        }
    }

    /// The suite for a code point.
    pub fn from_id(id: u16) -> Result<Self, CryptoError> {
        Ok(match id {
            0x0001 => Self::Aes128CtrHmacSha256_80,
            0x0002 => Self::Aes128CtrHmacSha256_64,
            0x0003 => Self::Aes128CtrHmacSha256_32,
            0x0004 => Self::Aes128GcmSha256_128,
            0x0005 => Self::Aes256GcmSha512_128,
            0xF0CC => Self::OutpostChaCha20Poly1305Sha256_128,
            other => return Err(CryptoError::UnsupportedSuite(other)),
        })
    }

    /// Key length `Nk` in bytes (for CTR+HMAC, the encryption and authentication keys together).
    pub fn key_len(self) -> usize {
        match self {
            Self::Aes128CtrHmacSha256_80
            | Self::Aes128CtrHmacSha256_64
            | Self::Aes128CtrHmacSha256_32 => 48,
            Self::Aes128GcmSha256_128 => 16,
            Self::Aes256GcmSha512_128 | Self::OutpostChaCha20Poly1305Sha256_128 => 32,
        }
    }

    /// Nonce length `Nn` in bytes.
    pub fn nonce_len(self) -> usize {
        12
    }

    /// Tag length `Nt` in bytes.
    pub fn tag_len(self) -> usize {
        match self {
            Self::Aes128CtrHmacSha256_80 => 10,
            Self::Aes128CtrHmacSha256_64 => 8,
            Self::Aes128CtrHmacSha256_32 => 4,
            _ => 16,
        }
    }

    /// Whether the key schedule uses SHA-512 (otherwise SHA-256).
    pub(crate) fn uses_sha512(self) -> bool {
        self == Self::Aes256GcmSha512_128
    }
}

/// A keyed AEAD for one suite, set up once per key so per-frame work is only the cipher.
pub(crate) enum SuiteCipher {
    CtrHmac {
        enc_key: Zeroizing<[u8; 16]>,
        auth_key: Zeroizing<[u8; 32]>,
        tag_len: usize,
    },
    Aes128Gcm(Box<Aes128Gcm>),
    Aes256Gcm(Box<Aes256Gcm>),
    ChaCha(Box<ChaCha20Poly1305>),
}

type Aes128Ctr = ctr::Ctr32BE<aes::Aes128>;

impl SuiteCipher {
    pub(crate) fn new(suite: CipherSuite, key: &[u8]) -> Result<Self, CryptoError> {
        if key.len() != suite.key_len() {
            return Err(CryptoError::InvalidKeyLength);
        }
        let bad = |_| CryptoError::InvalidKeyLength;
        Ok(match suite {
            CipherSuite::Aes128CtrHmacSha256_80
            | CipherSuite::Aes128CtrHmacSha256_64
            | CipherSuite::Aes128CtrHmacSha256_32 => {
                let mut enc_key = Zeroizing::new([0u8; 16]);
                let mut auth_key = Zeroizing::new([0u8; 32]);
                enc_key.copy_from_slice(&key[..16]);
                auth_key.copy_from_slice(&key[16..]);
                Self::CtrHmac {
                    enc_key,
                    auth_key,
                    tag_len: suite.tag_len(),
                }
            }
            CipherSuite::Aes128GcmSha256_128 => {
                Self::Aes128Gcm(Box::new(Aes128Gcm::new_from_slice(key).map_err(bad)?))
            }
            CipherSuite::Aes256GcmSha512_128 => {
                Self::Aes256Gcm(Box::new(Aes256Gcm::new_from_slice(key).map_err(bad)?))
            }
            CipherSuite::OutpostChaCha20Poly1305Sha256_128 => Self::ChaCha(Box::new(
                ChaCha20Poly1305::new_from_slice(key).map_err(bad)?,
            )),
        })
    }

    /// Encrypts `buf[start..]` in place and appends the tag. `aad` is authenticated only.
    pub(crate) fn seal_in_place(
        &self,
        nonce: &[u8; 12],
        aad: &[u8],
        buf: &mut Vec<u8>,
        start: usize,
    ) -> Result<(), CryptoError> {
        let fail = |_| CryptoError::BadLength;
        match self {
            Self::CtrHmac {
                enc_key,
                auth_key,
                tag_len,
            } => {
                ctr_apply(enc_key, nonce, &mut buf[start..]);
                let tag = ctr_hmac_tag(auth_key, *tag_len, nonce, aad, &buf[start..])?;
                buf.extend_from_slice(&tag[..*tag_len]);
                Ok(())
            }
            Self::Aes128Gcm(c) => seal_tail(c.as_ref(), nonce, aad, buf, start).map_err(fail),
            Self::Aes256Gcm(c) => seal_tail(c.as_ref(), nonce, aad, buf, start).map_err(fail),
            Self::ChaCha(c) => seal_tail(c.as_ref(), nonce, aad, buf, start).map_err(fail),
        }
    }

    /// Decrypts `ciphertext || tag` into a new buffer.
    pub(crate) fn open(
        &self,
        nonce: &[u8; 12],
        aad: &[u8],
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let fail = |_| CryptoError::DecryptionFailed;
        match self {
            Self::CtrHmac {
                enc_key,
                auth_key,
                tag_len,
            } => {
                let split = ciphertext
                    .len()
                    .checked_sub(*tag_len)
                    .ok_or(CryptoError::DecryptionFailed)?;
                let (ct, tag) = ciphertext.split_at(split);
                let expected = ctr_hmac_tag(auth_key, *tag_len, nonce, aad, ct)?;
                if !bool::from(expected[..*tag_len].ct_eq(tag)) {
                    return Err(CryptoError::DecryptionFailed);
                }
                let mut pt = ct.to_vec();
                ctr_apply(enc_key, nonce, &mut pt);
                Ok(pt)
            }
            Self::Aes128Gcm(c) => open_copy(c.as_ref(), nonce, aad, ciphertext).map_err(fail),
            Self::Aes256Gcm(c) => open_copy(c.as_ref(), nonce, aad, ciphertext).map_err(fail),
            Self::ChaCha(c) => open_copy(c.as_ref(), nonce, aad, ciphertext).map_err(fail),
        }
    }
}

fn seal_tail<A: AeadInPlace<NonceSize = U12, TagSize = U16>>(
    cipher: &A,
    nonce: &[u8; 12],
    aad: &[u8],
    buf: &mut Vec<u8>,
    start: usize,
) -> Result<(), aes_gcm::Error> {
    let tag = cipher.encrypt_in_place_detached(nonce.into(), aad, &mut buf[start..])?;
    buf.extend_from_slice(&tag);
    Ok(())
}

fn open_copy<A: AeadInPlace<NonceSize = U12, TagSize = U16>>(
    cipher: &A,
    nonce: &[u8; 12],
    aad: &[u8],
    ciphertext: &[u8],
) -> Result<Vec<u8>, aes_gcm::Error> {
    let split = ciphertext.len().checked_sub(16).ok_or(aes_gcm::Error)?;
    let (ct, tag) = ciphertext.split_at(split);
    let mut pt = ct.to_vec();
    cipher.decrypt_in_place_detached(nonce.into(), aad, &mut pt, tag.into())?;
    Ok(pt)
}

/// AES-128-CTR with initial counter block `nonce || 0x00000000` (RFC 9605 section 4.5.1).
fn ctr_apply(key: &[u8; 16], nonce: &[u8; 12], data: &mut [u8]) {
    let mut iv = [0u8; 16];
    iv[..12].copy_from_slice(nonce);
    let mut cipher = Aes128Ctr::new(key.into(), &iv.into());
    cipher.apply_keystream(data);
}

/// `HMAC-SHA256(auth_key, len(aad) || len(ct) || Nt || nonce || aad || ct)` (each length a
/// 64-bit big-endian integer), truncated by the caller to `Nt`.
fn ctr_hmac_tag(
    auth_key: &[u8; 32],
    tag_len: usize,
    nonce: &[u8; 12],
    aad: &[u8],
    ct: &[u8],
) -> Result<[u8; 32], CryptoError> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(auth_key)
        .map_err(|_| CryptoError::InvalidKeyLength)?;
    mac.update(&(aad.len() as u64).to_be_bytes());
    mac.update(&(ct.len() as u64).to_be_bytes());
    mac.update(&(tag_len as u64).to_be_bytes());
    mac.update(nonce);
    mac.update(aad);
    mac.update(ct);
    Ok(mac.finalize().into_bytes().into())
}

/// HKDF key schedule (RFC 9605 section 4.4): `(sframe_key, sframe_salt)` for a base key.
pub(crate) fn key_schedule(
    suite: CipherSuite,
    kid: u64,
    base_key: &[u8],
) -> Result<(Zeroizing<Vec<u8>>, [u8; 12]), CryptoError> {
    let mut key_label = Vec::with_capacity(32);
    key_label.extend_from_slice(b"SFrame 1.0 Secret key ");
    key_label.extend_from_slice(&kid.to_be_bytes());
    key_label.extend_from_slice(&suite.id().to_be_bytes());
    let mut salt_label = Vec::with_capacity(33);
    salt_label.extend_from_slice(b"SFrame 1.0 Secret salt ");
    salt_label.extend_from_slice(&kid.to_be_bytes());
    salt_label.extend_from_slice(&suite.id().to_be_bytes());
    let mut key = Zeroizing::new(vec![0u8; suite.key_len()]);
    let mut salt = [0u8; 12];
    let bad = |_| CryptoError::InvalidKeyLength;
    if suite.uses_sha512() {
        let hk = hkdf::Hkdf::<Sha512>::new(Some(b""), base_key);
        hk.expand(&key_label, &mut key).map_err(bad)?;
        hk.expand(&salt_label, &mut salt).map_err(bad)?;
    } else {
        let hk = hkdf::Hkdf::<Sha256>::new(Some(b""), base_key);
        hk.expand(&key_label, &mut key).map_err(bad)?;
        hk.expand(&salt_label, &mut salt).map_err(bad)?;
    }
    Ok((key, salt))
}
