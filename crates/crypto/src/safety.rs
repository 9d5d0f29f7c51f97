//! Safety numbers: what two people compare (read aloud or scan) to know that no one sits between
//! their devices. The design follows libsignal's fingerprints.
//!
//! Each side gets a 30-byte fingerprint: `SHA-512` iterated [`ITERATIONS`] times, first over
//! `version (2, big-endian) || ed25519_public || x25519_public || stable_id`, then over
//! `previous || ed25519_public || x25519_public`, where `stable_id` is the device id (16 bytes):
//! a key cannot be presented under another device's name. Each fingerprint is shown as 30
//! digits (six 5-byte big-endian chunks, each mod 100000); the 60 digits people read are the
//! two 30-digit halves in ascending order, so both sides read the same.
//!
//! The scanned form is directional: `OUTPOST-SN2:` then the scanning-away side's own
//! fingerprint, then the other's, in uppercase hex. A scan matches only when what the other
//! device calls its own is what this device computed for it, and the reverse, so a device
//! scanning its own code (or a copy of it) does not match.

use std::fmt;

use sha2::{Digest, Sha512};
use subtle::ConstantTimeEq;

use crate::PublicIdentity;

/// Hash iterations per fingerprint (the value Signal uses).
pub const ITERATIONS: usize = 5200;
/// Version of the fingerprint and display format.
const VERSION: u16 = 2;
const FINGERPRINT_LEN: usize = 30;
const QR_PREFIX: &str = "OUTPOST-SN2:";

/// The comparison value between this device (`local`) and another (`remote`).
#[derive(Clone)]
pub struct SafetyNumber {
    local: [u8; FINGERPRINT_LEN],
    remote: [u8; FINGERPRINT_LEN],
}

impl SafetyNumber {
    /// The safety number between this device's identity and the other's, each bound to its
    /// device id.
    pub fn new(local: &PublicIdentity, remote: &PublicIdentity) -> Self {
        Self {
            local: fingerprint(local),
            remote: fingerprint(remote),
        }
    }

    /// 60 digits in 12 groups of 5, separated by spaces: the same on both devices.
    pub fn digits(&self) -> String {
        let mut halves = [half(&self.local), half(&self.remote)];
        halves.sort();
        halves.concat().join(" ")
    }

    /// The compact string to put in a QR code for the other device to scan.
    pub fn qr_string(&self) -> String {
        let mut s = String::from(QR_PREFIX);
        s.push_str(&crate::identity::hex_lower(&self.local).to_ascii_uppercase());
        s.push_str(&crate::identity::hex_lower(&self.remote).to_ascii_uppercase());
        s
    }

    /// Whether a QR string scanned from the other device matches: its "own" fingerprint must
    /// be what this device holds for it, and its "other" this device's own. Constant time.
    pub fn matches_scanned(&self, scanned: &str) -> bool {
        let expected = {
            let mut s = String::from(QR_PREFIX);
            s.push_str(&crate::identity::hex_lower(&self.remote).to_ascii_uppercase());
            s.push_str(&crate::identity::hex_lower(&self.local).to_ascii_uppercase());
            s
        };
        let theirs = scanned.trim().to_ascii_uppercase();
        expected.len() == theirs.len() && bool::from(expected.as_bytes().ct_eq(theirs.as_bytes()))
    }
}

/// One fingerprint as six 5-digit groups.
fn half(fp: &[u8; FINGERPRINT_LEN]) -> Vec<String> {
    fp.chunks_exact(5)
        .map(|chunk| {
            let value = chunk.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)) % 100_000;
            format!("{value:05}")
        })
        .collect()
}

impl ConstantTimeEq for SafetyNumber {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        self.local.ct_eq(&other.local) & self.remote.ct_eq(&other.remote)
    }
}

impl PartialEq for SafetyNumber {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for SafetyNumber {}

impl fmt::Debug for SafetyNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SafetyNumber({})", self.digits())
    }
}

fn fingerprint(identity: &PublicIdentity) -> [u8; FINGERPRINT_LEN] {
    let key = identity.to_bytes();
    let mut hash = Sha512::new()
        .chain_update(VERSION.to_be_bytes())
        .chain_update(key)
        .chain_update(identity.device_id().0)
        .finalize();
    for _ in 1..ITERATIONS {
        hash = Sha512::new()
            .chain_update(hash)
            .chain_update(key)
            .finalize();
    }
    let mut out = [0u8; FINGERPRINT_LEN];
    out.copy_from_slice(&hash[..FINGERPRINT_LEN]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DeviceIdentity;
    use rand_core::OsRng;

    #[test]
    fn both_sides_read_the_same_digits_shaped_for_people() {
        let a = DeviceIdentity::generate(&mut OsRng).public();
        let b = DeviceIdentity::generate(&mut OsRng).public();
        let at_a = SafetyNumber::new(&a, &b);
        let at_b = SafetyNumber::new(&b, &a);
        assert_eq!(at_a.digits(), at_b.digits());
        let digits = at_a.digits();
        let groups: Vec<&str> = digits.split(' ').collect();
        assert_eq!(groups.len(), 12);
        assert!(
            groups
                .iter()
                .all(|g| g.len() == 5 && g.bytes().all(|c| c.is_ascii_digit()))
        );
        // Each scans the other's code: a match both ways, whatever the case.
        assert!(at_a.matches_scanned(&at_b.qr_string()));
        assert!(at_b.matches_scanned(&at_a.qr_string().to_lowercase()));
        assert_eq!(at_a.qr_string().len(), QR_PREFIX.len() + 120);
    }

    #[test]
    fn scanning_your_own_code_does_not_match() {
        let a = DeviceIdentity::generate(&mut OsRng).public();
        let b = DeviceIdentity::generate(&mut OsRng).public();
        let at_a = SafetyNumber::new(&a, &b);
        assert!(!at_a.matches_scanned(&at_a.qr_string()));
    }

    #[test]
    fn a_changed_key_changes_the_number() {
        let a = DeviceIdentity::generate(&mut OsRng).public();
        let b = DeviceIdentity::generate(&mut OsRng).public();
        let b2 = DeviceIdentity::generate(&mut OsRng).public();
        let original = SafetyNumber::new(&a, &b);
        let changed = SafetyNumber::new(&a, &b2);
        assert_ne!(original, changed);
        assert_ne!(original.digits(), changed.digits());
        assert!(!original.matches_scanned(&SafetyNumber::new(&b2, &a).qr_string()));
        assert!(!original.matches_scanned("OUTPOST-SN2:"));
        assert!(!original.matches_scanned(""));

        // Changing only the agreement key is a changed identity too.
        let mut bytes = b.to_bytes();
        bytes[40] ^= 1;
        let b_agreement_changed = PublicIdentity::from_bytes(&bytes).unwrap();
        assert_ne!(original, SafetyNumber::new(&a, &b_agreement_changed));
    }

    /// Fixed identities (the Ed25519 basepoint with agreement keys 01.. and 02..) and the
    /// digits and scan string they must give, computed independently with Python's hashlib
    /// from the format in the module docs. Any change to the format, the iteration count,
    /// the stable identifier or the digit encoding breaks this test.
    #[test]
    fn fixed_vector_pins_the_format() {
        let identity = |agreement: u8| {
            let mut bytes = [0u8; 64];
            bytes[..32].copy_from_slice(&{
                let mut b = [0x66u8; 32];
                b[0] = 0x58;
                b
            });
            bytes[32..].copy_from_slice(&[agreement; 32]);
            PublicIdentity::from_bytes(&bytes).unwrap()
        };
        let (a, b) = (identity(1), identity(2));
        let at_a = SafetyNumber::new(&a, &b);
        assert_eq!(
            at_a.digits(),
            "77396 23129 98047 66420 96647 37514 89826 27861 55496 13266 20695 10687"
        );
        assert_eq!(
            at_a.qr_string(),
            "OUTPOST-SN2:6BB44918029995F611B5AD41E03768EE5EE6FED2A43448C497EAAA23A7BFFEBC7B1A147347F42AD9FE4010387F84E6A9BBD44635E034670F54F64E6A"
        );
    }
}
