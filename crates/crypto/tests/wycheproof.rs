//! Every Wycheproof vector for the primitives our formats use, valid and invalid, run through
//! this crate's own wrappers in `outpost_crypto::primitives`.

use outpost_crypto::{CryptoError, primitives};
use wycheproof::TestResult;

/// Counts so each test can assert it really ran every vector.
struct Tally {
    valid: usize,
    invalid: usize,
}

#[test]
fn chacha20_poly1305() {
    let set =
        wycheproof::aead::TestSet::load(wycheproof::aead::TestName::ChaCha20Poly1305).unwrap();
    let mut tally = Tally {
        valid: 0,
        invalid: 0,
    };
    for group in &set.test_groups {
        for t in &group.tests {
            let (Ok(key), Ok(nonce)) = (
                <[u8; 32]>::try_from(&t.key[..]),
                <[u8; 12]>::try_from(&t.nonce[..]),
            ) else {
                // Wrong key or nonce sizes cannot even be expressed through our typed API.
                assert_eq!(t.result, TestResult::Invalid, "tc {}", t.tc_id);
                tally.invalid += 1;
                continue;
            };
            let mut ct_tag = t.ct.to_vec();
            ct_tag.extend_from_slice(&t.tag);
            let opened = primitives::chacha_open(&key, &nonce, &t.aad, &ct_tag);
            match t.result {
                TestResult::Valid => {
                    assert_eq!(opened.unwrap(), t.pt.to_vec(), "tc {}", t.tc_id);
                    assert_eq!(
                        primitives::chacha_seal(&key, &nonce, &t.aad, &t.pt).unwrap(),
                        ct_tag,
                        "tc {}",
                        t.tc_id
                    );
                    tally.valid += 1;
                }
                TestResult::Invalid | TestResult::Acceptable => {
                    assert_eq!(
                        opened.unwrap_err(),
                        CryptoError::DecryptionFailed,
                        "tc {}",
                        t.tc_id
                    );
                    tally.invalid += 1;
                }
            }
        }
    }
    assert_eq!(tally.valid + tally.invalid, set.number_of_tests);
    assert!(
        tally.valid > 200 && tally.invalid > 50,
        "{} valid, {} invalid",
        tally.valid,
        tally.invalid
    );
}

#[test]
fn xchacha20_poly1305() {
    let set =
        wycheproof::aead::TestSet::load(wycheproof::aead::TestName::XChaCha20Poly1305).unwrap();
    let mut tally = Tally {
        valid: 0,
        invalid: 0,
    };
    for group in &set.test_groups {
        for t in &group.tests {
            let (Ok(key), Ok(nonce)) = (
                <[u8; 32]>::try_from(&t.key[..]),
                <[u8; 24]>::try_from(&t.nonce[..]),
            ) else {
                assert_eq!(t.result, TestResult::Invalid, "tc {}", t.tc_id);
                tally.invalid += 1;
                continue;
            };
            let mut ct_tag = t.ct.to_vec();
            ct_tag.extend_from_slice(&t.tag);
            let opened = primitives::xchacha_open(&key, &nonce, &t.aad, &ct_tag);
            match t.result {
                TestResult::Valid => {
                    assert_eq!(opened.unwrap().as_slice(), &t.pt[..], "tc {}", t.tc_id);
                    assert_eq!(
                        primitives::xchacha_seal(&key, &nonce, &t.aad, &t.pt).unwrap(),
                        ct_tag,
                        "tc {}",
                        t.tc_id
                    );
                    tally.valid += 1;
                }
                TestResult::Invalid | TestResult::Acceptable => {
                    assert_eq!(
                        opened.unwrap_err(),
                        CryptoError::DecryptionFailed,
                        "tc {}",
                        t.tc_id
                    );
                    tally.invalid += 1;
                }
            }
        }
    }
    assert_eq!(tally.valid + tally.invalid, set.number_of_tests);
    assert!(
        tally.valid > 200 && tally.invalid > 50,
        "{} valid, {} invalid",
        tally.valid,
        tally.invalid
    );
}

#[test]
fn x25519_rejects_non_contributory_and_matches_every_other_vector() {
    let set = wycheproof::xdh::TestSet::load(wycheproof::xdh::TestName::X25519).unwrap();
    let (mut ran, mut zero_rejected) = (0, 0);
    for group in &set.test_groups {
        for t in &group.tests {
            let private: [u8; 32] = t.private_key[..].try_into().unwrap();
            let Ok(public) = <[u8; 32]>::try_from(&t.public_key[..]) else {
                assert_ne!(t.result, TestResult::Valid, "tc {}", t.tc_id);
                ran += 1;
                continue;
            };
            let secret = x25519_dalek::StaticSecret::from(private);
            let result = primitives::x25519_agree(&secret, &public);
            if t.shared_secret.iter().all(|&b| b == 0) {
                // Wycheproof marks these "acceptable"; we refuse them, as the envelope and call
                // key derivations must never run on a secret the peer chose.
                assert_eq!(
                    result.unwrap_err(),
                    CryptoError::NonContributory,
                    "tc {}",
                    t.tc_id
                );
                zero_rejected += 1;
            } else {
                assert_eq!(
                    &result.unwrap()[..],
                    &t.shared_secret[..],
                    "tc {} ({:?})",
                    t.tc_id,
                    t.result
                );
            }
            ran += 1;
        }
    }
    assert_eq!(ran, set.number_of_tests);
    assert!(zero_rejected >= 10, "only {zero_rejected} all-zero cases");
}

#[test]
fn ed25519() {
    let set = wycheproof::eddsa::TestSet::load(wycheproof::eddsa::TestName::Ed25519).unwrap();
    let mut tally = Tally {
        valid: 0,
        invalid: 0,
    };
    for group in &set.test_groups {
        let key: [u8; 32] = group.key.pk[..].try_into().unwrap();
        for t in &group.tests {
            let verdict = primitives::ed25519_verify(&key, &t.msg, &t.sig);
            match t.result {
                TestResult::Valid => {
                    verdict.unwrap_or_else(|e| panic!("tc {}: {e}", t.tc_id));
                    tally.valid += 1;
                }
                TestResult::Invalid => {
                    assert!(verdict.is_err(), "tc {} accepted: {}", t.tc_id, t.comment);
                    tally.invalid += 1;
                }
                TestResult::Acceptable => unreachable!("Ed25519 vectors have no acceptable cases"),
            }
        }
    }
    assert_eq!(tally.valid + tally.invalid, set.number_of_tests);
    assert!(
        tally.valid > 30 && tally.invalid > 50,
        "{} valid, {} invalid",
        tally.valid,
        tally.invalid
    );
}

/// The batch path agrees with the strict one on every Wycheproof Ed25519 vector: each valid
/// signature passes inside a batch of all the valid ones, and each invalid signature makes a
/// batch with a valid one fail, so one bad signature among hundreds is never waved through.
#[test]
fn ed25519_batch() {
    let set = wycheproof::eddsa::TestSet::load(wycheproof::eddsa::TestName::Ed25519).unwrap();
    let mut valid: Vec<([u8; 32], Vec<u8>, Vec<u8>)> = Vec::new();
    let mut invalid = Vec::new();
    for group in &set.test_groups {
        let key: [u8; 32] = group.key.pk[..].try_into().unwrap();
        for t in &group.tests {
            let case = (key, t.msg.to_vec(), t.sig.to_vec());
            match t.result {
                TestResult::Valid => valid.push(case),
                _ => invalid.push((t.tc_id, case)),
            }
        }
    }
    let items: Vec<(&[u8; 32], &[u8], &[u8])> = valid
        .iter()
        .map(|(k, m, s)| (k, m.as_slice(), s.as_slice()))
        .collect();
    primitives::ed25519_verify_batch(&items).unwrap();
    let (good_key, good_msg, good_sig) = &valid[0];
    for (tc, (key, msg, sig)) in &invalid {
        let batch = [
            (good_key, good_msg.as_slice(), good_sig.as_slice()),
            (key, msg.as_slice(), sig.as_slice()),
        ];
        assert!(
            primitives::ed25519_verify_batch(&batch).is_err(),
            "tc {tc}: an invalid signature passed in a batch"
        );
    }
    assert!(valid.len() > 30 && invalid.len() > 50);
}

#[test]
fn hkdf_sha256() {
    let set = wycheproof::hkdf::TestSet::load(wycheproof::hkdf::TestName::HkdfSha256).unwrap();
    let mut tally = Tally {
        valid: 0,
        invalid: 0,
    };
    for group in &set.test_groups {
        for t in &group.tests {
            let mut out = vec![0u8; t.size];
            let result = primitives::hkdf_sha256(&t.salt, &t.ikm, &[&t.info], &mut out);
            match t.result {
                TestResult::Valid => {
                    result.unwrap();
                    assert_eq!(out, t.okm.to_vec(), "tc {}", t.tc_id);
                    tally.valid += 1;
                }
                TestResult::Invalid | TestResult::Acceptable => {
                    assert_eq!(
                        result.unwrap_err(),
                        CryptoError::InvalidKeyLength,
                        "tc {}",
                        t.tc_id
                    );
                    tally.invalid += 1;
                }
            }
        }
    }
    assert_eq!(tally.valid + tally.invalid, set.number_of_tests);
    assert!(tally.valid > 50 && tally.invalid > 0);
}
