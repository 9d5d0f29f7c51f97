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

pub(super) const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

impl RecoveryKey {
    /// A fresh random key.
    pub(crate) fn generate() -> Self {
        let mut key = Self(Zeroizing::new([0u8; 32]));
        OsRng.fill_bytes(key.0.as_mut());
        key
    }

    /// The text to show (and print) once: 52 characters in groups of four.
    pub fn display(&self) -> Zeroizing<String> {
        let mut bits = 0u32;
        let mut nbits = 0;
        let mut out = Zeroizing::new(String::with_capacity(64));
        let mut chars = 0;
        for &byte in self.0.iter() {
            bits = (bits << 8) | u32::from(byte);
            nbits += 8;
            while nbits >= 5 {
                nbits -= 5;
                push_group_char(
                    &mut out,
                    &mut chars,
                    CROCKFORD[((bits >> nbits) & 31) as usize],
                );
            }
        }
        if nbits > 0 {
            push_group_char(
                &mut out,
                &mut chars,
                CROCKFORD[((bits << (5 - nbits)) & 31) as usize],
            );
        }
        out
    }

    /// Parses what a person typed: case, spaces and dashes ignored; I/L read as 1, O as 0.
    pub fn parse(text: &str) -> Result<Self, StoreError> {
        let mut bits = 0u32;
        let mut nbits = 0;
        let mut out = Zeroizing::new([0u8; 32]);
        let mut len = 0;
        for c in text.chars().filter(|c| !c.is_whitespace() && *c != '-') {
            let c = match c.to_ascii_uppercase() {
                'I' | 'L' => '1',
                'O' => '0',
                other => other,
            };
            let value = CROCKFORD
                .iter()
                .position(|&x| char::from(x) == c)
                .ok_or(StoreError::WrongRecoveryKey)?;
            bits = (bits << 5) | u32::try_from(value).map_err(|_| StoreError::WrongRecoveryKey)?;
            nbits += 5;
            if nbits >= 8 {
                nbits -= 8;
                if len == 32 {
                    return Err(StoreError::WrongRecoveryKey);
                }
                out[len] = ((bits >> nbits) & 0xff) as u8;
                len += 1;
            }
        }
        if len != 32 {
            return Err(StoreError::WrongRecoveryKey);
        }
        Ok(Self(out))
    }

    /// The key that wraps the database key and the emergency identity.
    pub(crate) fn kek(&self) -> Zeroizing<[u8; 32]> {
        primitives::derive_key(b"", self.0.as_ref(), &[b"outpost/v1/store/recovery-kek"])
    }
}

fn push_group_char(out: &mut String, count: &mut usize, c: u8) {
    if *count > 0 && (*count).is_multiple_of(4) {
        out.push('-');
    }
    out.push(char::from(c));
    *count += 1;
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
