//! A throwaway update key for tests (feature `test-signer`): signs artifacts and manifests
//! the way a release does (`minisign -S -t "outpost-update version:V file:F"`), so tests of
//! the whole path, down to a real HTTP server, need no key from the project.

use std::io::Cursor;

use minisign::KeyPair;

use crate::UpdateKey;

/// A freshly made update key pair.
pub struct Signer {
    pair: KeyPair,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(..)")
    }
}

impl Default for Signer {
    fn default() -> Self {
        Self::new()
    }
}

impl Signer {
    /// A new key pair, with no passphrase.
    ///
    /// # Panics
    /// If the system has no randomness.
    pub fn new() -> Self {
        Self {
            pair: KeyPair::generate_unencrypted_keypair().expect("a key pair"),
        }
    }

    /// Its public half, as a build would ship it.
    ///
    /// # Panics
    /// Never for a key made here.
    pub fn key(&self) -> UpdateKey {
        UpdateKey::from_base64(&self.pair.pk.to_base64()).expect("a minisign key")
    }

    /// Its public half as minisign writes a `.pub` file (an untrusted comment, then the key).
    ///
    /// # Panics
    /// Never for a key made here.
    pub fn pub_file(&self) -> String {
        self.pair.pk.to_box().expect("a key box").to_string()
    }

    /// The `.sig` text for `bytes` with this trusted comment.
    ///
    /// # Panics
    /// Never for a key made here.
    pub fn sign(&self, bytes: &[u8], trusted: &str) -> String {
        minisign::sign(
            Some(&self.pair.pk),
            &self.pair.sk,
            Cursor::new(bytes),
            Some(trusted),
            None,
        )
        .expect("a signature")
        .into_string()
    }

    /// The `.sig` text for a release file, naming its version and file as a release does.
    pub fn sign_release(&self, bytes: &[u8], version: &str, file: &str) -> String {
        self.sign(
            bytes,
            &format!("outpost-update version:{version} file:{file}"),
        )
    }
}
