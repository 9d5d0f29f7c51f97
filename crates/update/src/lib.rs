//! Signed updates, the same whether they came from the update server or on a USB stick.
//!
//! An update is an artifact (the `.deb` or the AppImage) and its minisign signature (the
//! format Tauri's updater uses), made with the project's update key. The signature's trusted
//! comment, which the signature covers, names the version:
//! `outpost-update version:0.2.0 file:outpost_0.2.0_amd64.deb`. [`verify`] checks, before
//! anything changes:
//! - that there is a signature, by the project's key (not another), over these exact bytes;
//! - that the signed version is newer than the installed one (a validly signed older version
//!   is a downgrade, refused unless an administrator says so: old versions have old flaws);
//! - that the file is the one the signature names (a signed `.deb` renamed as an AppImage is
//!   refused).
//!
//! [`install_replacing`] puts a verified AppImage in place of the installed one without ever
//! leaving a half-written file where the app starts from.

use std::fmt;
use std::io::Read;
use std::path::Path;

pub mod online;
#[cfg(feature = "test-signer")]
pub mod testing;

/// Why an update was refused. Nothing was changed in any case.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum UpdateError {
    /// This build carries no update key: no update can be verified.
    #[error("this build has no update key, so no update can be verified")]
    NoUpdateKey,
    /// There is no signature beside the file, or it is not a minisign signature.
    #[error("the update is not signed (no readable signature)")]
    Unsigned,
    /// Signed with a key that is not Outpost's.
    #[error("the update is signed with another key, not Outpost's")]
    WrongKey,
    /// The signature does not hold for these bytes: the file (or its signed comment) changed.
    #[error("the update's signature does not match its contents: it was altered or damaged")]
    Tampered,
    /// The signed comment names no version, or no file.
    #[error("the update's signature names no version or file")]
    Unnamed,
    /// The signature is for another file.
    #[error("the signature is for {signed}, not for {given}")]
    OtherFile {
        /// The file the signature names.
        signed: String,
        /// The file given.
        given: String,
    },
    /// The update is not newer than what is installed.
    #[error(
        "{found} is not newer than the installed {installed}: a downgrade needs an administrator's say-so"
    )]
    NotNewer {
        /// The update's version.
        found: Version,
        /// The installed version.
        installed: Version,
    },
    /// The update is not an AppImage for this computer (a `.deb`, or another processor's).
    #[error("{0} is not an AppImage for this computer")]
    NotForThisMachine(String),
    /// This build names no update server (and `OUTPOST_UPDATE_URL` is not set).
    #[error("this build has no update server: bring updates on a USB stick")]
    NoServer,
    /// The update server could not be reached, or the download did not finish. Nothing
    /// changed; the next check tries again.
    #[error("the update server could not be reached: {0}")]
    Unreachable(String),
    /// The update server has no such file (a release list or artifact not published there).
    #[error("the update server has no such file")]
    NotPublished,
    /// The file is the update server's signed release list, not an update.
    #[error("this is the update server's release list (latest.json), not an update")]
    ReleaseList,
    /// The update is not the version its release list named (a signer's slip, or a mix-up on
    /// the server).
    #[error("the downloaded update is {found}, not {listed} as the release list says")]
    NotListedVersion {
        /// The version the artifact's signature names.
        found: Version,
        /// The version the signed release list names.
        listed: Version,
    },
    /// The update server's manifest is not one Outpost can read (its signature held).
    #[error("the update server's release list cannot be read")]
    BadManifest,
    /// Reading the file failed.
    #[error("the update could not be read: {0}")]
    Io(String),
}

/// A version `major.minor.patch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub u32, pub u32, pub u32);

impl Version {
    /// `0.2.0` (a pre-release or build suffix is not accepted: releases only).
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.trim().split('.');
        let mut next = || parts.next()?.parse::<u32>().ok();
        let v = Self(next()?, next()?, next()?);
        parts.next().is_none().then_some(v)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

impl Version {
    /// The version of this build (the workspace's, which the app and the CLI report).
    pub fn this_build() -> Self {
        Self::parse(env!("CARGO_PKG_VERSION")).unwrap_or(Self(0, 0, 0))
    }
}

/// An update that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Its version.
    pub version: Version,
    /// The file name the signature names.
    pub file: String,
}

/// Whether an older (or the same) version may be installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Downgrade {
    /// Only newer versions (the default).
    Refuse,
    /// An administrator allowed going back (a newer release broke something at this clinic).
    AllowedByAdmin,
}

/// The project's update key, a minisign public key in its base64 form (the second line of a
/// `.pub` file).
#[derive(Clone)]
pub struct UpdateKey(minisign_verify::PublicKey);

impl fmt::Debug for UpdateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UpdateKey(..)")
    }
}

impl UpdateKey {
    /// Reads a key; `None` when it is not a minisign public key.
    pub fn from_base64(key: &str) -> Option<Self> {
        minisign_verify::PublicKey::from_base64(key.trim())
            .ok()
            .map(Self)
    }

    /// Reads a `.pub` file as minisign writes it (an untrusted comment, then the key), with
    /// `#` lines of our own allowed.
    pub fn from_pub_file(text: &str) -> Result<Self, UpdateError> {
        text.lines()
            .find(|l| {
                !l.starts_with('#') && !l.starts_with("untrusted comment:") && !l.trim().is_empty()
            })
            .and_then(Self::from_base64)
            .ok_or(UpdateError::NoUpdateKey)
    }

    /// The key this build ships (`keys/update.pub`), if the project has made one.
    pub fn shipped() -> Result<Self, UpdateError> {
        Self::from_pub_file(include_str!("../keys/update.pub"))
    }
}

/// Checks the update in `artifact` (named `file_name`) against `signature` (the `.sig` file's
/// text) and the installed version. Reads the artifact in pieces: an AppImage is large.
pub fn verify(
    artifact: impl Read,
    file_name: &str,
    signature: &str,
    key: &UpdateKey,
    installed: Version,
    downgrade: Downgrade,
) -> Result<Verified, UpdateError> {
    let verified = verify_signed(artifact, file_name, signature, key, installed, downgrade)?;
    // The release list is signed with the same key in the same form; it is never an update.
    if verified.file == online::MANIFEST {
        return Err(UpdateError::ReleaseList);
    }
    Ok(verified)
}

/// [`verify`] for any file the project signs: an update or the release list.
fn verify_signed(
    artifact: impl Read,
    file_name: &str,
    signature: &str,
    key: &UpdateKey,
    installed: Version,
    downgrade: Downgrade,
) -> Result<Verified, UpdateError> {
    let signature =
        minisign_verify::Signature::decode(signature).map_err(|_| UpdateError::Unsigned)?;
    let mut stream = key.0.verify_stream(&signature).map_err(|e| match e {
        minisign_verify::Error::UnexpectedKeyId => UpdateError::WrongKey,
        _ => UpdateError::Unsigned,
    })?;
    let mut artifact = artifact;
    let mut buf = vec![0; 1 << 16];
    loop {
        let n = artifact
            .read(&mut buf)
            .map_err(|e| UpdateError::Io(e.kind().to_string()))?;
        if n == 0 {
            break;
        }
        stream.update(&buf[..n]);
    }
    // The global signature covers the trusted comment: a version edited in it fails here too.
    stream.finalize().map_err(|_| UpdateError::Tampered)?;
    let comment = signature.trusted_comment();
    let field = |name: &str| {
        comment
            .split_whitespace()
            .find_map(|w| w.strip_prefix(name).map(str::to_owned))
    };
    let version = field("version:")
        .and_then(|v| Version::parse(&v))
        .ok_or(UpdateError::Unnamed)?;
    let file = field("file:").ok_or(UpdateError::Unnamed)?;
    if file != file_name {
        return Err(UpdateError::OtherFile {
            signed: file,
            given: file_name.to_owned(),
        });
    }
    if version <= installed && downgrade == Downgrade::Refuse {
        return Err(UpdateError::NotNewer {
            found: version,
            installed,
        });
    }
    Ok(Verified { version, file })
}

/// Checks the update file at `artifact` with its signature beside it (`FILE.sig`), as
/// [`verify`] does; changes nothing.
pub fn verify_file(
    artifact: &Path,
    key: &UpdateKey,
    installed: Version,
    downgrade: Downgrade,
) -> Result<Verified, UpdateError> {
    let name = artifact
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| UpdateError::Io("no file name".into()))?;
    let mut sig_path = artifact.as_os_str().to_owned();
    sig_path.push(".sig");
    let signature = std::fs::read_to_string(&sig_path).map_err(|_| UpdateError::Unsigned)?;
    let file = std::fs::File::open(artifact).map_err(|e| UpdateError::Io(e.kind().to_string()))?;
    verify(file, name, &signature, key, installed, downgrade)
}

/// Whether `file` names an AppImage built for this computer's processor (release names carry
/// Debian's or the kernel's name for it: `amd64` or `x86_64`, `arm64` or `aarch64`).
pub fn appimage_for_this_machine(file: &str) -> bool {
    let names: &[&str] = match std::env::consts::ARCH {
        "x86_64" => &["amd64", "x86_64"],
        "aarch64" => &["arm64", "aarch64"],
        other => return file.ends_with(".AppImage") && file.contains(other),
    };
    file.ends_with(".AppImage") && names.iter().any(|n| file.contains(n))
}

/// Verifies the update at `artifact` (its signature at `artifact.sig`) and, only then, puts it
/// in place of `installed` (an AppImage): written beside it, flushed, made executable, then
/// renamed over it in one step. A refused or failed update leaves `installed` as it was.
pub fn install_replacing(
    artifact: &Path,
    installed: &Path,
    key: &UpdateKey,
    installed_version: Version,
    downgrade: Downgrade,
) -> Result<Verified, UpdateError> {
    use std::io::Write;
    let io = |e: std::io::Error| UpdateError::Io(e.kind().to_string());
    let name = artifact
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| UpdateError::Io("no file name".into()))?;
    let mut sig_path = artifact.as_os_str().to_owned();
    sig_path.push(".sig");
    let signature = std::fs::read_to_string(&sig_path).map_err(|_| UpdateError::Unsigned)?;
    // The same check for the file on the stick and for the copy made of it.
    let check = |path: &Path| {
        verify(
            std::fs::File::open(path).map_err(io)?,
            name,
            &signature,
            key,
            installed_version,
            downgrade,
        )
    };
    let verified = check(artifact)?;
    // A validly signed .deb, or another processor's AppImage, renamed over the running app
    // would leave nothing that starts.
    if !appimage_for_this_machine(&verified.file) {
        return Err(UpdateError::NotForThisMachine(verified.file));
    }
    // Copy what was verified, and check the copy again: the file on the stick could change
    // between the check and the copy.
    let staged = installed.with_extension("update-partial");
    let result = (|| {
        let mut from = std::fs::File::open(artifact).map_err(io)?;
        let mut to = std::fs::File::create(&staged).map_err(io)?;
        std::io::copy(&mut from, &mut to).map_err(io)?;
        to.flush().map_err(io)?;
        to.sync_all().map_err(io)?;
        check(&staged)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(0o755))
                .map_err(io)?;
        }
        std::fs::rename(&staged, installed).map_err(io)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&staged);
    }
    result.map(|()| verified)
}
