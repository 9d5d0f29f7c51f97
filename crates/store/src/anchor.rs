//! The log head anchor: the newest operation this device has shown anyone, signed by the
//! device, kept outside the database so that a database put back to an earlier state (a
//! restored copy, deleted operations) is noticed at the next unlock.
//!
//! Two copies: `log-head` in the profile directory, and `<profile id>.head` in a directory
//! outside it (default `$XDG_STATE_HOME/outpost/anchors`, or `~/.local/state/outpost/anchors`;
//! `OUTPOST_ANCHOR_DIR` overrides), so that copying an old profile directory back over the
//! current one brings an old `log-head` but not an old outside copy. The newest valid copy
//! wins.
//!
//! Written after unlock and at lock. What it does not catch is in
//! `docs/SECURITY.md`: someone holding the database key can also sign an anchor (the device
//! key is in the database), so against them the check is only as good as the copy they cannot
//! reach; sync adds the relay and the other devices as witnesses.

use std::path::{Path, PathBuf};

use outpost_crypto::{DeviceIdentity, PublicIdentity};
use outpost_proto::{DeviceId, OpHash};
use rusqlite::{Connection, OptionalExtension};

use crate::{StoreError, UnlockWarning, oplog};

const MAGIC: &[u8; 13] = b"OUTPOST-HEAD\n";
const VERSION: u8 = 1;
const SIGNED_LEN: usize = 13 + 1 + 16 + 16 + 8 + 32 + 8;
/// Length of an encoded anchor.
pub const ANCHOR_LEN: usize = SIGNED_LEN + 64;
const SIGNATURE_DOMAIN: &[u8] = b"outpost/v1/log-anchor";
/// The copy inside the profile directory.
pub const ANCHOR_FILE: &str = "log-head";

/// A signed statement of a device's log head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Anchor {
    /// The profile it belongs to.
    pub profile_id: [u8; 16],
    /// The device whose head it is.
    pub device: DeviceId,
    /// The head's sequence number.
    pub seq: u64,
    /// The head operation's hash.
    pub hash: OpHash,
    /// When it was written (UTC ms).
    pub written_at: i64,
}

impl Anchor {
    fn signed_bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(SIGNED_LEN);
        b.extend_from_slice(MAGIC);
        b.push(VERSION);
        b.extend_from_slice(&self.profile_id);
        b.extend_from_slice(&self.device.0);
        b.extend_from_slice(&self.seq.to_be_bytes());
        b.extend_from_slice(&self.hash.0);
        b.extend_from_slice(&self.written_at.to_be_bytes());
        b
    }

    /// The signature input: a domain label, then the anchor without its signature.
    pub fn signing_input(&self) -> Vec<u8> {
        [SIGNATURE_DOMAIN, &self.signed_bytes()].concat()
    }

    /// Encodes and signs with the device identity.
    pub fn sign(&self, device: &DeviceIdentity) -> Vec<u8> {
        let mut b = self.signed_bytes();
        b.extend_from_slice(&device.sign(&self.signing_input()));
        b
    }

    /// Decodes and verifies under `device`'s key; `None` when malformed or not signed by it.
    pub fn open(bytes: &[u8], device: &PublicIdentity) -> Option<Self> {
        if bytes.len() != ANCHOR_LEN || &bytes[..13] != MAGIC || bytes[13] != VERSION {
            return None;
        }
        let take = |from: usize, n: usize| &bytes[from..from + n];
        let anchor = Self {
            profile_id: take(14, 16).try_into().ok()?,
            device: DeviceId(take(30, 16).try_into().ok()?),
            seq: u64::from_be_bytes(take(46, 8).try_into().ok()?),
            hash: OpHash(take(54, 32).try_into().ok()?),
            written_at: i64::from_be_bytes(take(86, 8).try_into().ok()?),
        };
        device
            .verify(&anchor.signing_input(), &bytes[SIGNED_LEN..])
            .ok()?;
        Some(anchor)
    }
}

/// Where anchors outside profile directories go by default.
pub fn default_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("OUTPOST_ANCHOR_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    let state = std::env::var_os("XDG_STATE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))?;
    Some(state.join("outpost").join("anchors"))
}

fn paths(profile_dir: &Path, anchor_dir: Option<&Path>, profile_id: &[u8; 16]) -> Vec<PathBuf> {
    let mut out = vec![profile_dir.join(ANCHOR_FILE)];
    if let Some(dir) = anchor_dir {
        out.push(dir.join(format!("{}.head", outpost_proto::ids::to_hex(profile_id))));
    }
    out
}

/// Deletes both copies (the log they name was replaced, as when a device joins a workspace).
pub(crate) fn remove(
    profile_dir: &Path,
    anchor_dir: Option<&Path>,
    profile_id: &[u8; 16],
) -> Result<(), StoreError> {
    for path in paths(profile_dir, anchor_dir, profile_id) {
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Writes both copies (creating the outside directory, owner-only). Each copy is written
/// atomically; the first failure is returned after trying both.
pub(crate) fn write(
    profile_dir: &Path,
    anchor_dir: Option<&Path>,
    anchor: &Anchor,
    device: &DeviceIdentity,
) -> Result<(), StoreError> {
    let bytes = anchor.sign(device);
    let mut result = Ok(());
    for path in paths(profile_dir, anchor_dir, &anchor.profile_id) {
        let written = path
            .parent()
            .map_or(Ok(()), create_private_dir)
            .map_err(StoreError::from)
            .and_then(|()| crate::profile::write_atomic(&path, &bytes));
        if result.is_ok() {
            result = written;
        }
    }
    result
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir)
    }
}

/// The public identity of `device` as the log registered it (`devices` table), if any.
fn registered_identity(
    conn: &Connection,
    device: DeviceId,
) -> Result<Option<PublicIdentity>, StoreError> {
    let bytes: Option<Vec<u8>> = conn
        .query_row(
            "SELECT identity FROM devices WHERE id = ?1",
            [device.to_hex()],
            |r| r.get(0),
        )
        .optional()?;
    Ok(bytes.and_then(|b| PublicIdentity::from_bytes(&b).ok()))
}

/// Compares the database with the anchors of this profile, before anything new is written.
///
/// `current`: this device's identity, when the database still has one that opens. Anchors
/// are checked even without it (a database whose device row was removed, or one restored from
/// elsewhere): each anchor names its device, whose key the log registered. `expect`: whether a
/// missing anchor is itself news (the database says it was anchored).
pub(crate) fn check(
    conn: &Connection,
    profile_dir: &Path,
    anchor_dir: Option<&Path>,
    profile_id: &[u8; 16],
    current: Option<&PublicIdentity>,
    expect: bool,
) -> Result<Vec<UnlockWarning>, StoreError> {
    let mut newest: Option<Anchor> = None;
    let mut foreign = false;
    let mut found_any = false;
    for path in paths(profile_dir, anchor_dir, profile_id) {
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        found_any = true;
        // The device an anchor names (unverified until its signature checks out).
        let named = bytes
            .get(30..46)
            .and_then(|b| <[u8; 16]>::try_from(b).ok())
            .map(DeviceId);
        let key = match (current, named) {
            (Some(c), Some(d)) if c.device_id() == d => Some(*c),
            (_, Some(d)) => registered_identity(conn, d)?,
            (_, None) => None,
        };
        match key.and_then(|k| Anchor::open(&bytes, &k)) {
            Some(a) if a.profile_id == *profile_id => {
                // The newest statement: a later device's anchor, or the same device further on.
                if newest.is_none_or(|n| {
                    a.written_at > n.written_at || (a.device == n.device && a.seq > n.seq)
                }) {
                    newest = Some(a);
                }
            }
            // Signed by no device of this log, or for another profile: this database is not
            // the one this directory last held.
            _ => foreign = true,
        }
    }
    let Some(anchor) = newest else {
        return Ok(if foreign {
            vec![UnlockWarning::ForeignHead]
        } else if expect && !found_any {
            vec![UnlockWarning::HeadUnchecked {
                reason: "the head file is missing".into(),
            }]
        } else {
            Vec::new()
        });
    };
    let at_anchor: Option<Vec<u8>> = conn
        .query_row(
            "SELECT hash FROM ops WHERE device = ?1 AND seq = ?2",
            rusqlite::params![
                anchor.device.to_hex(),
                i64::try_from(anchor.seq).unwrap_or(i64::MAX)
            ],
            |r| r.get(0),
        )
        .optional()?;
    Ok(match at_anchor {
        Some(hash) if hash == anchor.hash.0 => {
            if foreign {
                vec![UnlockWarning::ForeignHead]
            } else {
                Vec::new()
            }
        }
        Some(_) => vec![UnlockWarning::ForeignHead],
        None => {
            let head = oplog::device_head(conn, anchor.device)?.map_or(0, |(seq, _)| seq);
            vec![UnlockWarning::RolledBack {
                missing: anchor.seq.saturating_sub(head),
            }]
        }
    })
}
