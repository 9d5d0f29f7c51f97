//! Device identities: an Ed25519 signing key and an X25519 agreement key per device.
//!
//! The secret half never leaves this module in the clear: it is exported only wrapped under a
//! key-encryption key ([`DeviceIdentity::wrap`]), and `Debug` shows the public device id only.

use std::fmt;

use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::{CryptoError, primitives};

/// Public, stable name of a device: the first 16 bytes of
/// `SHA-256("outpost/v1/device-id" || ed25519_public || x25519_public)`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeviceId(pub [u8; 16]);

impl DeviceId {
    /// The id as lowercase hex (32 characters), for logs and storage keys.
    pub fn to_hex(&self) -> String {
        hex_lower(&self.0)
    }
}

impl fmt::Debug for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeviceId({})", self.to_hex())
    }
}

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// The public half of a device identity: what contacts store and safety numbers cover.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct PublicIdentity {
    signing: [u8; 32],
    agreement: [u8; 32],
}

impl PublicIdentity {
    /// Length of [`PublicIdentity::to_bytes`].
    pub const LEN: usize = 64;

    /// Parses `ed25519_public || x25519_public`, rejecting a signing key that is not a valid
    /// Edwards point or is of small order (a weak key, under which signatures are not binding).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        let bytes: &[u8; 64] = bytes.try_into().map_err(|_| CryptoError::BadLength)?;
        let (signing, agreement) = bytes.split_at(32);
        let signing: [u8; 32] = signing.try_into().map_err(|_| CryptoError::BadLength)?;
        let agreement: [u8; 32] = agreement.try_into().map_err(|_| CryptoError::BadLength)?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(&signing)
            .map_err(|_| CryptoError::InvalidPublicKey)?;
        if key.is_weak() {
            return Err(CryptoError::InvalidPublicKey);
        }
        Ok(Self { signing, agreement })
    }

    /// `ed25519_public || x25519_public`.
    pub fn to_bytes(&self) -> [u8; 64] {
        let mut out = [0u8; 64];
        out[..32].copy_from_slice(&self.signing);
        out[32..].copy_from_slice(&self.agreement);
        out
    }

    /// The Ed25519 verifying key.
    pub fn signing_key(&self) -> &[u8; 32] {
        &self.signing
    }

    /// The X25519 agreement key.
    pub fn agreement_key(&self) -> &[u8; 32] {
        &self.agreement
    }

    /// The device id these keys name.
    pub fn device_id(&self) -> DeviceId {
        let digest = Sha256::new()
            .chain_update(b"outpost/v1/device-id")
            .chain_update(self.signing)
            .chain_update(self.agreement)
            .finalize();
        let mut id = [0u8; 16];
        id.copy_from_slice(&digest[..16]);
        DeviceId(id)
    }

    /// Verifies an Ed25519 signature made by this device.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), CryptoError> {
        primitives::ed25519_verify(&self.signing, message, signature)
    }
}

/// A device's secret keys. Zeroized on drop; never printed.
pub struct DeviceIdentity {
    signing: ed25519_dalek::SigningKey,
    agreement: x25519_dalek::StaticSecret,
    public: PublicIdentity,
}

impl fmt::Debug for DeviceIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceIdentity")
            .field("device_id", &self.public.device_id())
            .finish_non_exhaustive()
    }
}

/// Current version of the wrapped-identity format.
const WRAP_VERSION: u8 = 1;
/// `version || device_id || nonce || ciphertext(64 secret bytes) || tag`.
const WRAPPED_LEN: usize = 1 + 16 + primitives::XNONCE_LEN + 64 + primitives::TAG_LEN;

impl DeviceIdentity {
    /// A fresh identity from `rng`.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        let mut seed = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(seed.as_mut());
        let signing = ed25519_dalek::SigningKey::from_bytes(&seed);
        rng.fill_bytes(seed.as_mut());
        let agreement = x25519_dalek::StaticSecret::from(*seed);
        Self::from_parts(signing, agreement)
    }

    fn from_parts(
        signing: ed25519_dalek::SigningKey,
        agreement: x25519_dalek::StaticSecret,
    ) -> Self {
        let public = PublicIdentity {
            signing: signing.verifying_key().to_bytes(),
            agreement: x25519_dalek::PublicKey::from(&agreement).to_bytes(),
        };
        Self {
            signing,
            agreement,
            public,
        }
    }

    /// The public half.
    pub fn public(&self) -> PublicIdentity {
        self.public
    }

    /// This device's id.
    pub fn device_id(&self) -> DeviceId {
        self.public.device_id()
    }

    /// An Ed25519 signature over `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        use ed25519_dalek::Signer;
        self.signing.sign(message).to_bytes()
    }

    /// X25519 with this device's agreement key, rejecting low-order peers.
    pub(crate) fn agree(
        &self,
        their_public: &[u8; 32],
    ) -> Result<Zeroizing<[u8; 32]>, CryptoError> {
        primitives::x25519_agree(&self.agreement, their_public)
    }

    /// The secret keys encrypted under `kek` (a key-encryption key from
    /// [`crate::passphrase`]), in the wrapped-identity format described in the crate docs.
    pub fn wrap<R: RngCore + CryptoRng>(
        &self,
        kek: &[u8; 32],
        rng: &mut R,
    ) -> Result<Vec<u8>, CryptoError> {
        let device_id = self.device_id();
        let mut nonce = [0u8; primitives::XNONCE_LEN];
        rng.fill_bytes(&mut nonce);
        let mut secret = Zeroizing::new([0u8; 64]);
        secret[..32].copy_from_slice(self.signing.as_bytes());
        secret[32..].copy_from_slice(self.agreement.as_bytes());
        let key = wrap_key(kek);
        let aad = wrap_aad(device_id);
        let ciphertext = primitives::xchacha_seal(&key, &nonce, &aad, secret.as_ref())?;
        let mut out = Vec::with_capacity(WRAPPED_LEN);
        out.push(WRAP_VERSION);
        out.extend_from_slice(&device_id.0);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        Ok(out)
    }

    /// Recovers an identity wrapped by [`DeviceIdentity::wrap`]. A wrong `kek` or any altered
    /// byte is [`CryptoError::DecryptionFailed`].
    pub fn unwrap(kek: &[u8; 32], wrapped: &[u8]) -> Result<Self, CryptoError> {
        let (&version, rest) = wrapped.split_first().ok_or(CryptoError::Truncated)?;
        if version != WRAP_VERSION {
            return Err(CryptoError::UnsupportedVersion(version));
        }
        if wrapped.len() < WRAPPED_LEN {
            return Err(CryptoError::Truncated);
        }
        if wrapped.len() > WRAPPED_LEN {
            return Err(CryptoError::BadLength);
        }
        let (id, rest) = rest.split_at(16);
        let (nonce, ciphertext) = rest.split_at(primitives::XNONCE_LEN);
        let device_id = DeviceId(id.try_into().map_err(|_| CryptoError::Truncated)?);
        let nonce: [u8; primitives::XNONCE_LEN] =
            nonce.try_into().map_err(|_| CryptoError::Truncated)?;
        let key = wrap_key(kek);
        let secret = primitives::xchacha_open(&key, &nonce, &wrap_aad(device_id), ciphertext)?;
        let signing_seed: [u8; 32] = secret[..32]
            .try_into()
            .map_err(|_| CryptoError::Malformed("identity"))?;
        let agreement_seed = Zeroizing::new(
            <[u8; 32]>::try_from(&secret[32..]).map_err(|_| CryptoError::Malformed("identity"))?,
        );
        let identity = Self::from_parts(
            ed25519_dalek::SigningKey::from_bytes(&signing_seed),
            x25519_dalek::StaticSecret::from(*agreement_seed),
        );
        // The id in the clear is authenticated as AAD, so this only fails on an internal bug;
        // checking keeps a mismatched identity from ever being returned.
        if identity.device_id() != device_id {
            return Err(CryptoError::Malformed(
                "identity does not match its device id",
            ));
        }
        Ok(identity)
    }
}

fn wrap_key(kek: &[u8; 32]) -> Zeroizing<[u8; 32]> {
    primitives::derive_key(b"", kek, &[b"outpost/v1/identity-wrap/key"])
}

fn wrap_aad(device_id: DeviceId) -> Vec<u8> {
    let mut aad = b"outpost/v1/identity-wrap".to_vec();
    aad.push(WRAP_VERSION);
    aad.extend_from_slice(&device_id.0);
    aad
}

pub(crate) fn hex_lower(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::OsRng;

    /// Known answer: an identity from fixed seeds (0x22 for both), its public bytes and
    /// device id, and its wrap under the key 00 01 .. 1f with nonce 0x33: computed
    /// independently with PyNaCl (Ed25519, X25519, XChaCha20-Poly1305) and `hmac`/`hashlib`.
    #[test]
    fn known_answer_identity_and_wrap() {
        let id = DeviceIdentity::generate(&mut crate::test_rng::Fixed(0x22));
        assert_eq!(
            hex_lower(&id.public().to_bytes()),
            "a09aa5f47a6759802ff955f8dc2d2a14a5c99d23be97f864127ff9383455a4f00faa684ed28867b97f4a6a2dee5df8ce974e76b7018e3f22a1c4cf2678570f20"
        );
        assert_eq!(id.device_id().to_hex(), "1464124e82c5ce2ffa48c22ef5cc853e");
        let kek: [u8; 32] = std::array::from_fn(|i| u8::try_from(i).unwrap());
        let wrapped = id.wrap(&kek, &mut crate::test_rng::Fixed(0x33)).unwrap();
        assert_eq!(
            hex_lower(&wrapped),
            "011464124e82c5ce2ffa48c22ef5cc853e3333333333333333333333333333333333333333333333339192613a6f290737a8dfbdb8df2fe08d5aff10e2f7aa4ac079d06b65c359d2718b045fa3efbeecef49e135e07c4e966fcd605e323f974563a8c6e2be9aad4b24f815c5ed03ce6ea5d4d327788f527d57"
        );
        assert_eq!(wrapped.len(), 121);
        let back = DeviceIdentity::unwrap(&kek, &wrapped).unwrap();
        assert_eq!(back.device_id(), id.device_id());
    }

    #[test]
    fn wrap_round_trips_and_fails_closed() {
        let id = DeviceIdentity::generate(&mut OsRng);
        let kek = [7u8; 32];
        let wrapped = id.wrap(&kek, &mut OsRng).unwrap();
        assert_eq!(wrapped.len(), WRAPPED_LEN);
        let back = DeviceIdentity::unwrap(&kek, &wrapped).unwrap();
        assert_eq!(back.public(), id.public());
        assert_eq!(back.sign(b"m"), id.sign(b"m"));

        assert_eq!(
            DeviceIdentity::unwrap(&[8u8; 32], &wrapped).unwrap_err(),
            CryptoError::DecryptionFailed
        );
        for i in 0..wrapped.len() {
            let mut bad = wrapped.clone();
            bad[i] ^= 1;
            assert!(
                DeviceIdentity::unwrap(&kek, &bad).is_err(),
                "flip at byte {i} accepted"
            );
        }
        assert_eq!(
            DeviceIdentity::unwrap(&kek, &wrapped[..wrapped.len() - 1]).unwrap_err(),
            CryptoError::Truncated
        );
        let mut long = wrapped.clone();
        long.push(0);
        assert_eq!(
            DeviceIdentity::unwrap(&kek, &long).unwrap_err(),
            CryptoError::BadLength
        );
        assert_eq!(
            DeviceIdentity::unwrap(&kek, &[]).unwrap_err(),
            CryptoError::Truncated
        );
    }

    #[test]
    fn debug_never_shows_secrets() {
        let id = DeviceIdentity::generate(&mut OsRng);
        let shown = format!("{id:?}");
        assert!(shown.contains(&id.device_id().to_hex()));
        assert!(!shown.contains(&hex_lower(id.signing.as_bytes())));
        assert!(!shown.contains(&hex_lower(id.agreement.as_bytes())));
    }

    #[test]
    fn device_id_depends_on_both_keys() {
        let a = DeviceIdentity::generate(&mut OsRng).public();
        let b = DeviceIdentity::generate(&mut OsRng).public();
        let mixed = PublicIdentity {
            signing: a.signing,
            agreement: b.agreement,
        };
        assert_ne!(a.device_id(), mixed.device_id());
        assert_ne!(b.device_id(), mixed.device_id());
        assert_eq!(PublicIdentity::from_bytes(&a.to_bytes()).unwrap(), a);
    }
}
