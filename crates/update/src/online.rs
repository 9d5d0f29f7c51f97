//! What the update server says, checked before it is believed: the release manifest
//! (`latest.json`, the static format Tauri's updater reads) and its own minisign signature
//! (`latest.json.sig`), made with the same key and in the same form as an artifact's.
//!
//! Tauri's manifest is unsigned; only its artifacts are. Here the manifest is signed too,
//! because what it says is shown before anything is downloaded: the version a clinic is asked
//! to install and the notes that say what changed. An edited manifest is refused outright,
//! and the artifact it points to is still verified on its own, exactly like a file from a USB
//! stick ([`crate::verify`]). Sans-IO: the caller fetches the bytes and keeps the clock.

use serde::Deserialize;

use crate::{Downgrade, UpdateError, UpdateKey, Version, verify_signed};

/// The manifest's file name; its signature is `latest.json.sig`, whose trusted comment names
/// this file and the version inside it.
pub const MANIFEST: &str = "latest.json";

/// The largest manifest read (it holds notes and a few signatures).
pub const MAX_MANIFEST: usize = 256 * 1024;

/// At most one automatic check a day: a clinic on a metered 2G link pays for each.
pub const CHECK_EVERY_SECS: i64 = 24 * 60 * 60;

/// The update server this build names (`keys/update.url`: its first line that is not a
/// comment), if the project has one.
pub fn shipped_server() -> Option<&'static str> {
    include_str!("../keys/update.url")
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
}

/// How this copy of Outpost was installed, which decides the artifact it can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Installation {
    /// An AppImage it runs from: replaced in one step by a newer one.
    AppImage,
    /// A `.deb` (or a build from source): the system's package manager installs the update.
    Package,
}

impl Installation {
    /// The manifest's `platforms` key for this computer (Tauri's names: `linux-x86_64` for
    /// the AppImage, `linux-x86_64-deb` for the package).
    pub fn platform(self) -> String {
        let base = format!("linux-{}", std::env::consts::ARCH);
        match self {
            Self::AppImage => base,
            Self::Package => format!("{base}-deb"),
        }
    }
}

/// One artifact in the manifest.
#[derive(Debug, Deserialize)]
struct Platform {
    url: String,
    signature: String,
    /// Its size in bytes (our addition; Tauri ignores it): the download stops there, so a
    /// storage host the list points to cannot make a metered clinic fetch a gigabyte of junk.
    #[serde(default)]
    size: Option<u64>,
}

/// The manifest, as Tauri's updater's static JSON has it.
#[derive(Debug, Deserialize)]
struct Manifest {
    version: String,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    pub_date: String,
    platforms: std::collections::BTreeMap<String, Platform>,
}

/// A newer release, from a manifest that passed its signature check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    /// Its version (signed).
    pub version: Version,
    /// What is new, in the release's words (signed).
    pub notes: String,
    /// When it was published, as the manifest says it (RFC 3339; signed).
    pub pub_date: String,
    /// Where the artifact for this computer is.
    pub url: String,
    /// The artifact's file name (the last part of the URL), which its signature must name.
    pub file: String,
    /// The artifact's minisign signature (the `.sig` file's text).
    pub signature: String,
    /// Its size in bytes, when the list says (signed).
    pub size: Option<u64>,
}

/// What a check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Offer {
    /// The server's latest release is this one.
    UpToDate {
        /// The latest release the server names.
        latest: Version,
    },
    /// The server's latest release is older than this one: a stale mirror, or someone
    /// replaying an old signed list to hide a newer release. Said, never installed.
    Behind {
        /// The release the server names.
        latest: Version,
    },
    /// A newer release, for this computer.
    Available(Release),
}

/// Checks `manifest` against its signature `signature` (the `.sig` text) and the project's
/// key, then reads the release it names for this `installation`.
///
/// Errors: the manifest's signature missing, by another key or not over these bytes (each
/// as [`verify`] says it); a manifest that does not parse ([`UpdateError::BadManifest`]);
/// a newer release with no build for this computer ([`UpdateError::NotForThisMachine`]).
pub fn read_manifest(
    manifest: &[u8],
    signature: &str,
    key: &UpdateKey,
    installed: Version,
    installation: Installation,
) -> Result<Offer, UpdateError> {
    // A manifest naming an older or the same release is no error: it is "up to date".
    let signed = verify_signed(
        manifest,
        MANIFEST,
        signature,
        key,
        installed,
        Downgrade::AllowedByAdmin,
    )?;
    let parsed: Manifest =
        serde_json::from_slice(manifest).map_err(|_| UpdateError::BadManifest)?;
    let version = Version::parse(&parsed.version).ok_or(UpdateError::BadManifest)?;
    // The signed comment and the body must agree: a signer's slip is caught, not guessed at.
    if version != signed.version {
        return Err(UpdateError::BadManifest);
    }
    if version == installed {
        return Ok(Offer::UpToDate { latest: version });
    }
    if version < installed {
        return Ok(Offer::Behind { latest: version });
    }
    let platform = installation.platform();
    let entry = parsed
        .platforms
        .get(&platform)
        .ok_or(UpdateError::NotForThisMachine(platform))?;
    // The file is named by the URL's last segment: a query or fragment could make that
    // segment something else than the file served.
    if entry.url.contains(['?', '#']) {
        return Err(UpdateError::BadManifest);
    }
    let file = entry
        .url
        .rsplit('/')
        .next()
        .filter(|f| plain_file_name(f))
        .ok_or(UpdateError::BadManifest)?
        .to_owned();
    Ok(Offer::Available(Release {
        version,
        notes: parsed.notes,
        pub_date: parsed.pub_date,
        url: entry.url.clone(),
        file,
        signature: signature_text(&entry.signature).ok_or(UpdateError::Unsigned)?,
        size: entry.size,
    }))
}

/// A file name safe to create in a folder as it is: letters, digits, `.`, `_`, `+`, `-`, not
/// starting with a dot (no `..`, no hidden file, no `%2F`, no query or fragment).
fn plain_file_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'+' | b'-'))
}

/// A signature as a manifest carries it: the `.sig` file's text, or (as Tauri's signer
/// writes it) that text in base64.
fn signature_text(field: &str) -> Option<String> {
    use base64::Engine;
    let field = field.trim();
    if field.starts_with("untrusted comment:") {
        return Some(field.to_owned());
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(field)
        .ok()?;
    String::from_utf8(bytes).ok()
}

/// Whether an automatic check is due, `last` being when the last one succeeded (Unix seconds).
/// A clock set back (a laptop whose battery died) makes a check due rather than never.
pub fn check_due(last: Option<i64>, now: i64) -> bool {
    last.is_none_or(|last| now < last || now.saturating_sub(last) >= CHECK_EVERY_SECS)
}

#[cfg(test)]
mod tests {
    use base64::Engine;

    use super::*;

    #[test]
    fn a_check_is_due_once_a_day_and_after_the_clock_went_back() {
        assert!(check_due(None, 1_000));
        assert!(!check_due(Some(1_000), 1_000 + CHECK_EVERY_SECS - 1));
        assert!(check_due(Some(1_000), 1_000 + CHECK_EVERY_SECS));
        assert!(check_due(Some(1_000), 999));
        assert!(
            check_due(Some(i64::MIN), i64::MAX),
            "a corrupt marker does not overflow"
        );
    }

    #[test]
    fn only_a_plain_file_name_is_taken_from_a_url() {
        assert!(plain_file_name("outpost_0.2.0_x86_64.AppImage"));
        for bad in [
            "",
            "..",
            ".hidden",
            "a%2F..%2Fb",
            "a?x=1",
            "a#frag",
            "a b",
            "é.deb",
        ] {
            assert!(!plain_file_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn a_signature_is_read_as_text_or_as_tauris_base64() {
        let text = "untrusted comment: x\nAAAA\ntrusted comment: y\nBBBB\n";
        assert_eq!(signature_text(text).as_deref(), Some(text.trim()));
        let b64 = base64::engine::general_purpose::STANDARD.encode(text);
        assert_eq!(signature_text(&b64).as_deref(), Some(text));
        assert_eq!(signature_text("not base64 !"), None);
    }
}
