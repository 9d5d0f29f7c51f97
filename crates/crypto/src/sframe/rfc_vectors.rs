//! RFC 9605's own test vectors (`tests/vectors/sframe/rfc9605-test-vectors.json`, source and
//! licence in `SOURCE.md` beside it): every header encoding, every AES-CTR-HMAC AEAD case and
//! every full SFrame case, byte for byte.

use super::{
    CipherSuite, SframeHeader, SframeKey, SframeReceiver, SframeSender, suite::SuiteCipher,
};
use serde_json::Value;

/// Compiled in, so the test cannot depend on anything outside the repository.
const VECTORS: &str = include_str!("../../tests/vectors/sframe/rfc9605-test-vectors.json");

fn vectors() -> Value {
    serde_json::from_str(VECTORS).unwrap()
}

fn hex_field(v: &Value, name: &str) -> Vec<u8> {
    hex::decode(v[name].as_str().unwrap()).unwrap()
}

fn u64_field(v: &Value, name: &str) -> u64 {
    v[name].as_u64().unwrap()
}

#[test]
fn all_289_header_encodings() {
    let v = vectors();
    let cases = v["header"].as_array().unwrap();
    assert_eq!(cases.len(), 289);
    for case in cases {
        let header = SframeHeader {
            kid: u64_field(case, "kid"),
            ctr: u64_field(case, "ctr"),
        };
        let encoded = hex_field(case, "encoded");
        assert_eq!(header.encode(), encoded, "{case}");
        assert_eq!(
            SframeHeader::decode(&encoded).unwrap(),
            (header, encoded.len()),
            "{case}"
        );
        // Every strict prefix is truncated, not misread.
        for cut in 0..encoded.len() {
            assert!(
                SframeHeader::decode(&encoded[..cut]).is_err(),
                "{case} prefix {cut}"
            );
        }
    }
}

#[test]
fn every_sframe_case_key_salt_nonce_aad_and_ciphertext() {
    let v = vectors();
    let cases = v["sframe"].as_array().unwrap();
    assert_eq!(cases.len(), 5);
    for case in cases {
        let suite =
            CipherSuite::from_id(u16::try_from(u64_field(case, "cipher_suite")).unwrap()).unwrap();
        let kid = u64_field(case, "kid");
        let ctr = u64_field(case, "ctr");
        let base_key = hex_field(case, "base_key");
        let metadata = hex_field(case, "metadata");
        let pt = hex_field(case, "pt");
        let ct = hex_field(case, "ct");

        let (key, _) = super::suite::key_schedule(suite, kid, &base_key).unwrap();
        assert_eq!(
            key.to_vec(),
            hex_field(case, "sframe_key"),
            "key, suite {suite:?}"
        );
        let derived = SframeKey::derive(suite, kid, &base_key).unwrap();
        assert_eq!(
            derived.salt.to_vec(),
            hex_field(case, "sframe_salt"),
            "salt, suite {suite:?}"
        );
        assert_eq!(
            derived.nonce(ctr).to_vec(),
            hex_field(case, "nonce"),
            "nonce, suite {suite:?}"
        );
        let header = SframeHeader { kid, ctr }.encode();
        assert_eq!(
            [header.clone(), metadata.clone()].concat(),
            hex_field(case, "aad"),
            "aad, suite {suite:?}"
        );

        let mut sender = SframeSender::new(suite, kid, &base_key).unwrap();
        sender.next_ctr = ctr;
        assert_eq!(
            sender.protect(&metadata, &pt).unwrap(),
            ct,
            "ciphertext, suite {suite:?}"
        );

        let mut receiver = SframeReceiver::new();
        receiver.add_key(suite, kid, &base_key).unwrap();
        assert_eq!(
            receiver.unprotect(&metadata, &ct).unwrap(),
            pt,
            "suite {suite:?}"
        );
    }
}

#[test]
fn every_aes_ctr_hmac_aead_case() {
    let v = vectors();
    let cases = v["aes_ctr_hmac"].as_array().unwrap();
    assert_eq!(cases.len(), 3);
    for case in cases {
        let suite =
            CipherSuite::from_id(u16::try_from(u64_field(case, "cipher_suite")).unwrap()).unwrap();
        let nonce: [u8; 12] = hex_field(case, "nonce").try_into().unwrap();
        let key = hex_field(case, "key");
        let cipher = SuiteCipher::new(suite, &key).unwrap();
        let mut ct = hex_field(case, "pt");
        cipher
            .seal_in_place(&nonce, &hex_field(case, "aad"), &mut ct, 0)
            .unwrap();
        assert_eq!(ct, hex_field(case, "ct"), "suite {suite:?}");
        let pt = cipher.open(&nonce, &hex_field(case, "aad"), &ct).unwrap();
        assert_eq!(pt, hex_field(case, "pt"));
        let mut bad = ct.clone();
        *bad.last_mut().unwrap() ^= 0x80;
        assert!(cipher.open(&nonce, &hex_field(case, "aad"), &bad).is_err());
    }
}
