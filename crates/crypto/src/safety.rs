//! Safety numbers: what two people compare (read aloud or scan) to know that no one sits between
//! their devices.
//!
//! Each identity gets a 30-byte fingerprint, `SHA-512` iterated [`ITERATIONS`] times over
//! `version || ed25519_public || x25519_public` (slow enough to make a targeted collision
//! expensive). The pair's safety number is the two fingerprints in byte order, so both sides
//! compute the same value whichever of them is "local". Displayed as 60 digits (12 groups of 5,
//! each group a 5-byte big-endian chunk mod 100000); scanned as `OUTPOST-SN1:` followed by the
//! 60 fingerprint bytes in uppercase hex.

use std::fmt;

use sha2::{Digest, Sha512};
use subtle::ConstantTimeEq;

use crate::PublicIdentity;

/// Hash iterations per fingerprint (the value Signal uses).
pub const ITERATIONS: usize = 5200;
/// Version of the fingerprint and display format.
const VERSION: u16 = 1;
const FINGERPRINT_LEN: usize = 30;
const QR_PREFIX: &str = "OUTPOST-SN1:";

/// The comparison value for a pair of identities.
#[derive(Clone)]
pub struct SafetyNumber {
    /// The two fingerprints, lower one first.
    fingerprints: [[u8; FINGERPRINT_LEN]; 2],
}

impl SafetyNumber {
    /// The safety number for `a` and `b`; the same whichever order they are given in.
    pub fn new(a: &PublicIdentity, b: &PublicIdentity) -> Self {
        let mut fa = fingerprint(a);
        let mut fb = fingerprint(b);
        if fb < fa {
            std::mem::swap(&mut fa, &mut fb);
        }
        Self {
            fingerprints: [fa, fb],
        }
    }

    /// 60 digits in 12 groups of 5, separated by spaces.
    pub fn digits(&self) -> String {
        let mut groups = Vec::with_capacity(12);
        for fp in &self.fingerprints {
            for chunk in fp.chunks_exact(5) {
                let value = chunk.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)) % 100_000;
                groups.push(format!("{value:05}"));
            }
        }
        groups.join(" ")
    }

    /// The compact string to put in a QR code.
    pub fn qr_string(&self) -> String {
        let mut s = String::from(QR_PREFIX);
        for fp in &self.fingerprints {
            s.push_str(&crate::identity::hex_lower(fp).to_ascii_uppercase());
        }
        s
    }

    /// Whether a scanned QR string is this safety number, compared in constant time.
    pub fn matches_scanned(&self, scanned: &str) -> bool {
        let ours = self.qr_string();
        let theirs = scanned.trim().to_ascii_uppercase();
        ours.len() == theirs.len() && bool::from(ours.as_bytes().ct_eq(theirs.as_bytes()))
    }
}

impl ConstantTimeEq for SafetyNumber {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        self.fingerprints[0].ct_eq(&other.fingerprints[0])
            & self.fingerprints[1].ct_eq(&other.fingerprints[1])
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
    fn order_independent_and_shaped_for_people() {
        let a = DeviceIdentity::generate(&mut OsRng).public();
        let b = DeviceIdentity::generate(&mut OsRng).public();
        let ab = SafetyNumber::new(&a, &b);
        let ba = SafetyNumber::new(&b, &a);
        assert_eq!(ab, ba);
        assert_eq!(ab.digits(), ba.digits());
        let digits = ab.digits();
        let groups: Vec<&str> = digits.split(' ').collect();
        assert_eq!(groups.len(), 12);
        assert!(
            groups
                .iter()
                .all(|g| g.len() == 5 && g.bytes().all(|c| c.is_ascii_digit()))
        );
        assert!(ab.matches_scanned(&ba.qr_string()));
        assert!(ab.matches_scanned(&ba.qr_string().to_lowercase()));
        assert_eq!(ab.qr_string().len(), QR_PREFIX.len() + 120);
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
        assert!(!original.matches_scanned(&changed.qr_string()));
        assert!(!original.matches_scanned("OUTPOST-SN1:"));
        assert!(!original.matches_scanned(""));

        // Changing only the agreement key is a changed identity too.
        let mut bytes = b.to_bytes();
        bytes[40] ^= 1;
        let b_agreement_changed = PublicIdentity::from_bytes(&bytes).unwrap();
        assert_ne!(original, SafetyNumber::new(&a, &b_agreement_changed));
    }

    #[test]
    fn fixed_vector_pins_the_format() {
        // All-zero-seeded identities are not valid Edwards points in general, so use the
        // Ed25519 basepoint (valid) with fixed agreement keys: any change to the format,
        // iteration count or digit encoding breaks this test.
        let base: [u8; 32] = {
            let mut b = [0x66u8; 32];
            b[0] = 0x58;
            b
        };
        let mut a = [0u8; 64];
        a[..32].copy_from_slice(&base);
        a[32..].copy_from_slice(&[1u8; 32]);
        let mut b = [0u8; 64];
        b[..32].copy_from_slice(&base);
        b[32..].copy_from_slice(&[2u8; 32]);
        let a = PublicIdentity::from_bytes(&a).unwrap();
        let b = PublicIdentity::from_bytes(&b).unwrap();
        let sn = SafetyNumber::new(&a, &b);
        let expected = fingerprint_reference(&a, &b);
        assert_eq!(sn.digits(), expected);
    }

    /// Straight-line restatement of the documented algorithm, independent of the code above.
    fn fingerprint_reference(a: &PublicIdentity, b: &PublicIdentity) -> String {
        let fp = |p: &PublicIdentity| {
            let mut h = Sha512::digest([&[0u8, 1u8][..], &p.to_bytes()[..]].concat()).to_vec();
            for _ in 1..5200 {
                h = Sha512::digest([&h[..], &p.to_bytes()[..]].concat()).to_vec();
            }
            h.truncate(30);
            h
        };
        let mut fps = [fp(a), fp(b)];
        fps.sort();
        let mut out = Vec::new();
        for f in fps {
            for c in f.chunks(5) {
                let mut v = 0u64;
                for &x in c {
                    v = v * 256 + u64::from(x);
                }
                out.push(format!("{:05}", v % 100_000));
            }
        }
        out.join(" ")
    }
}
