//! TURN credentials for calls in coturn's REST format ("TURN REST API", coturn's
//! `use-auth-secret`): the relay and the TURN server share one secret; the relay hands each
//! authenticated device a user name `expiry:tag` and the password
//! `base64(HMAC-SHA1(secret, user name))`, which the TURN server checks with the same secret and
//! refuses after `expiry`. Nothing is stored, and a leaked credential dies on its own.

use std::time::Duration;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use outpost_proto::relay::TurnServers;
use zeroize::Zeroizing;

/// The TURN server(s) the relay hands credentials for.
#[derive(Clone)]
pub struct TurnConfig {
    /// `turn:host:port?transport=udp` (and `turns:` ...).
    pub urls: Vec<String>,
    /// The secret shared with the TURN server (coturn `static-auth-secret`).
    pub secret: Zeroizing<Vec<u8>>,
    /// How long a credential works.
    pub ttl: Duration,
}

impl std::fmt::Debug for TurnConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret.
        f.debug_struct("TurnConfig")
            .field("urls", &self.urls)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// Credentials for `tag` (an opaque name the TURN server logs) issued at `now_ms`.
///
/// The expiry is in whole seconds since the epoch, as coturn reads it; `expires_at` reports
/// the same instant in milliseconds.
pub fn credentials(config: &TurnConfig, tag: &str, now_ms: i64) -> TurnServers {
    let ttl_s = i64::try_from(config.ttl.as_secs()).unwrap_or(i64::MAX / 1000);
    let expiry_s = (now_ms / 1000).saturating_add(ttl_s);
    let username = format!("{expiry_s}:{tag}");
    TurnServers {
        urls: config.urls.clone(),
        credential: password(&config.secret, &username),
        username,
        expires_at: expiry_s.saturating_mul(1000),
    }
}

/// `base64(HMAC-SHA1(secret, username))`: what coturn computes to check the password.
fn password(secret: &[u8], username: &str) -> String {
    // HMAC accepts keys of any length; the error case cannot happen.
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(username.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> TurnConfig {
        TurnConfig {
            urls: vec!["turn:turn.example.org:3478?transport=udp".into()],
            secret: Zeroizing::new(b"north-clinic-turn-secret".to_vec()),
            ttl: Duration::from_hours(12),
        }
    }

    /// Fixed values computed independently with OpenSSL:
    /// `printf '%s' 1764417600:a1b2c3 | openssl dgst -sha1 -hmac north-clinic-turn-secret -binary | base64`.
    #[test]
    fn the_password_is_coturns_hmac_sha1_of_the_user_name() {
        let c = credentials(&config(), "a1b2c3", 1_764_374_400_123);
        assert_eq!(c.username, "1764417600:a1b2c3");
        assert_eq!(c.credential, "4wxdGU7p1ns913M13C/qoyfMhSk=");
        assert_eq!(c.expires_at, 1_764_417_600_000);
        assert_eq!(c.urls, config().urls);
    }

    #[test]
    fn the_secret_never_shows_in_debug_output() {
        let shown = format!("{:?}", config());
        assert!(!shown.contains("north-clinic"), "{shown}");
    }
}
