//! Challenges and sessions: a device proves it holds its identity key by signing a fresh
//! nonce; it then carries a random bearer token. Tokens are kept by their SHA-256, so looking
//! one up leaks nothing usable about the others through timing.

use std::{collections::HashMap, sync::Mutex};

use outpost_proto::{DeviceId, WorkspaceId, relay::NONCE_LEN};
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};

/// Outstanding challenges at most (each lives a minute).
const MAX_CHALLENGES: usize = 100_000;
/// How long a challenge may be answered.
const CHALLENGE_TTL_MS: i64 = 60_000;
/// Open sessions at most.
const MAX_SESSIONS: usize = 200_000;

/// Who a session belongs to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SessionInfo {
    pub workspace: WorkspaceId,
    pub device: DeviceId,
    pub identity: [u8; 64],
    pub expires_at: i64,
    /// For a patient's (guest) device: the device hosting its visit, the only one it may
    /// signal. Guest sessions are good for nothing else.
    pub guest_of: Option<DeviceId>,
}

#[derive(Debug, Default)]
pub(crate) struct Auth {
    challenges: Mutex<HashMap<[u8; NONCE_LEN], i64>>,
    sessions: Mutex<HashMap<[u8; 32], SessionInfo>>,
}

fn token_key(token: &[u8]) -> [u8; 32] {
    Sha256::new()
        .chain_update(b"outpost/v1/relay-token")
        .chain_update(token)
        .finalize()
        .into()
}

impl Auth {
    /// A fresh nonce, or `None` when too many are outstanding.
    pub(crate) fn challenge(&self, now: i64) -> Option<[u8; NONCE_LEN]> {
        let mut challenges = self.challenges.lock().ok()?;
        if challenges.len() >= MAX_CHALLENGES {
            challenges.retain(|_, expires| *expires > now);
            if challenges.len() >= MAX_CHALLENGES {
                return None;
            }
        }
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        challenges.insert(nonce, now + CHALLENGE_TTL_MS);
        Some(nonce)
    }

    /// Uses a nonce up: true when it was issued, has not expired and was not used.
    pub(crate) fn take_challenge(&self, nonce: &[u8; NONCE_LEN], now: i64) -> bool {
        self.challenges
            .lock()
            .ok()
            .and_then(|mut c| c.remove(nonce))
            .is_some_and(|expires| expires > now)
    }

    /// Opens a session; returns its token, or `None` when too many are open.
    pub(crate) fn open(&self, info: SessionInfo, now: i64) -> Option<[u8; 32]> {
        let mut sessions = self.sessions.lock().ok()?;
        if sessions.len() >= MAX_SESSIONS {
            sessions.retain(|_, s| s.expires_at > now);
            if sessions.len() >= MAX_SESSIONS {
                return None;
            }
        }
        let mut token = [0u8; 32];
        OsRng.fill_bytes(&mut token);
        sessions.insert(token_key(&token), info);
        Some(token)
    }

    /// The session a bearer token names, if it is open.
    pub(crate) fn session(&self, token: &[u8], now: i64) -> Option<SessionInfo> {
        let key = token_key(token);
        let sessions = self.sessions.lock().ok()?;
        sessions.get(&key).copied().filter(|s| s.expires_at > now)
    }

    /// Ends every session of a device (it was removed).
    pub(crate) fn end_device(&self, workspace: WorkspaceId, device: DeviceId) {
        if let Ok(mut sessions) = self.sessions.lock() {
            sessions.retain(|_, s| !(s.workspace == workspace && s.device == device));
        }
    }
}
