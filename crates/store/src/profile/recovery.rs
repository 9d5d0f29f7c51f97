//! The recovery key: 32 random bytes shown once at profile creation as Crockford base32, which
//! opens the database and the emergency (break-glass) identity when every passphrase is lost.

use outpost_crypto::primitives;
use rand_core::{OsRng, RngCore};
use zeroize::Zeroizing;

use crate::StoreError;

/// The recovery key. Never printed by `Debug`; zeroized on drop.
pub struct RecoveryKey(pub(crate) Zeroizing<[u8; 32]>);

impl std::fmt::Debug for RecoveryKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecoveryKey(..)")
    }
}

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

impl RecoveryKey {
    /// A fresh random key.
    pub(crate) fn generate() -> Self {
        let mut key = Self(Zeroizing::new([0u8; 32]));
        OsRng.fill_bytes(key.0.as_mut());
        key
    }

    /// The text to show (and print) once: 52 characters in groups of four.
    pub fn display(&self) -> Zeroizing<String> {
        let mut plain = Zeroizing::new(String::with_capacity(52));
        encode_into(self.0.as_ref(), &mut plain);
        let mut out = Zeroizing::new(String::with_capacity(64));
        for (i, c) in plain.chars().enumerate() {
            if i > 0 && i % 4 == 0 {
                out.push('-');
            }
            out.push(c);
        }
        out
    }

    /// Parses what a person typed: case, spaces and dashes ignored; I/L read as 1, O as 0.
    pub fn parse(text: &str) -> Result<Self, StoreError> {
        let bytes = decode(text).ok_or(StoreError::WrongRecoveryKey)?;
        let mut key = Zeroizing::new([0u8; 32]);
        if bytes.len() != key.len() {
            return Err(StoreError::WrongRecoveryKey);
        }
        key.copy_from_slice(&bytes);
        Ok(Self(key))
    }

    /// The key that wraps the database key and the emergency identity.
    pub(crate) fn kek(&self) -> Zeroizing<[u8; 32]> {
        primitives::derive_key(b"", self.0.as_ref(), &[b"outpost/v1/store/recovery-kek"])
    }
}

/// Appends `bytes` as Crockford base32 (no padding) to `out`. Shared by the recovery key and
/// the recovery sheet.
pub(super) fn encode_into(bytes: &[u8], out: &mut String) {
    let (mut bits, mut nbits) = (0u32, 0);
    for &b in bytes {
        bits = ((bits << 8) | u32::from(b)) & 0xffff;
        nbits += 8;
        while nbits >= 5 {
            nbits -= 5;
            out.push(char::from(CROCKFORD[((bits >> nbits) & 31) as usize]));
        }
    }
    if nbits > 0 {
        out.push(char::from(CROCKFORD[((bits << (5 - nbits)) & 31) as usize]));
    }
}

/// Crockford base32 as typed: case, whitespace and dashes ignored, I/L as 1, O as 0. `None`
/// for a character outside the alphabet, or leftover bits that are not the encoder's zero
/// padding (a typo in the last character).
pub(super) fn decode(text: &str) -> Option<Zeroizing<Vec<u8>>> {
    let mut out = Zeroizing::new(Vec::with_capacity(text.len() * 5 / 8));
    let (mut bits, mut nbits) = (0u32, 0);
    for c in text.chars().filter(|c| !c.is_whitespace() && *c != '-') {
        let c = match c.to_ascii_uppercase() {
            'I' | 'L' => '1',
            'O' => '0',
            other => other,
        };
        let value = CROCKFORD.iter().position(|&x| char::from(x) == c)?;
        bits = ((bits << 5) | u32::try_from(value).ok()?) & 0xffff;
        nbits += 5;
        if nbits >= 8 {
            nbits -= 8;
            out.push(((bits >> nbits) & 0xff) as u8);
        }
    }
    (nbits < 5 && bits & ((1 << nbits) - 1) == 0).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_parse_round_trip_forgivingly() {
        let key = RecoveryKey(Zeroizing::new([0xA5; 32]));
        let shown = key.display();
        assert_eq!(shown.len(), 52 + 12);
        let typed = shown.to_lowercase().replace('-', " ").replace('1', "l");
        assert_eq!(*RecoveryKey::parse(&typed).unwrap().0, [0xA5; 32]);
        assert!(RecoveryKey::parse(&shown[..40]).is_err());
        assert!(RecoveryKey::parse(&format!("{}X", shown.as_str())).is_err());
    }
}
