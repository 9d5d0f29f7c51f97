//! Sizes, rates and quotas: a slow or malicious client gets a clear error, and cannot exhaust
//! the relay's memory or starve other clients.

use std::{
    collections::HashMap,
    hash::Hash,
    sync::Mutex,
    time::{Duration, Instant},
};

/// The relay's limits.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest envelope accepted.
    pub max_envelope: usize,
    /// Largest request body.
    pub max_body: usize,
    /// Largest blob chunk per request.
    pub max_blob_chunk: usize,
    /// Largest pull response.
    pub max_pull_bytes: usize,
    /// Bytes a device may store (envelopes, messages, blobs).
    pub quota: u64,
    /// Sustained requests per second per device (and per address before authentication).
    pub rate: f64,
    /// Requests a device may make in a burst.
    pub burst: f64,
    /// Open connections at most.
    pub max_connections: usize,
    /// Time allowed to send a request's headers (slow clients are cut off).
    pub header_timeout: Duration,
    /// Time allowed to send a request's body.
    pub body_timeout: Duration,
    /// Time allowed for a TLS handshake.
    pub handshake_timeout: Duration,
    /// How long a session token lasts.
    pub session_ttl: Duration,
    /// How long an idle connection is kept.
    pub idle_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_envelope: 1024 * 1024,
            max_body: 8 * 1024 * 1024,
            max_blob_chunk: 1024 * 1024,
            max_pull_bytes: 4 * 1024 * 1024,
            quota: 2 * 1024 * 1024 * 1024,
            rate: 100.0,
            burst: 400.0,
            max_connections: 4096,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            handshake_timeout: Duration::from_secs(10),
            session_ttl: Duration::from_hours(1),
            idle_timeout: Duration::from_mins(2),
        }
    }
}

/// Token buckets per key (a device, an address). Bounded: idle full buckets are forgotten.
#[derive(Debug)]
pub(crate) struct RateLimiter<K> {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<K, (f64, Instant)>>,
}

/// Most keys tracked before idle ones are swept.
const MAX_KEYS: usize = 100_000;

impl<K: Eq + Hash + Clone> RateLimiter<K> {
    pub(crate) fn new(rate: f64, burst: f64) -> Self {
        Self {
            rate,
            burst,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `key`; `Err(wait)` when none is left.
    pub(crate) fn check(&self, key: &K, now: Instant) -> Result<(), Duration> {
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        if buckets.len() >= MAX_KEYS {
            let full = self.burst;
            let rate = self.rate;
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate < full
            });
            if buckets.len() >= MAX_KEYS {
                return Err(Duration::from_secs(1));
            }
        }
        let (tokens, at) = buckets.entry(key.clone()).or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * self.rate).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) / self.rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_refills_at_its_rate_and_keys_are_separate() {
        let limiter = RateLimiter::new(10.0, 3.0);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check(&"a", t0).is_ok());
        }
        let wait = limiter.check(&"a", t0).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_millis(100));
        assert!(limiter.check(&"b", t0).is_ok(), "another key is not slowed");
        assert!(limiter.check(&"a", t0 + Duration::from_millis(100)).is_ok());
        assert!(
            limiter
                .check(&"a", t0 + Duration::from_millis(100))
                .is_err()
        );
    }
}
