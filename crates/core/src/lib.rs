//! Outpost client runtime: the one API that the desktop shell and the CLI call.
//!
//! # Layout
//!
//! - `allergies`: allergies, prescriptions checked against them, and the problem list.
//! - [`backup_place`]: where a backup goes by default (a USB stick when one is mounted).
//! - [`info`]: what this build is and where it keeps its data ([`AppInfo`]), for the status area.
//! - [`chart`]: the chart API over the encrypted store: profile, unlock, patients, encounters,
//!   notes, vitals, attachments, audit, backup. All async; the store work runs on blocking
//!   threads.
//! - `session`: the unlocked store and its idle auto-lock ([`Core::tick`]).
//! - [`error`]: the typed errors this crate returns ([`CoreError`]).
//! - [`workspace`]: care-team workspaces (found, invite, join, members) and sync: the
//!   `outpost-sync` engine driven against the relay, holding the store only between network
//!   calls.
//! - [`net`]: the HTTP and WebSocket transport to the relay.
//! - [`replica`]: the store as the sync engine's replica.
//! - [`calls`]: calls and video visits: the signaling line through the relay, sealed and
//!   signed per device, and the visit invite, knock and admit.
//!
//! The shell and the CLI stay thin wrappers over [`Core`].

mod alerts;
mod allergies;
pub mod backup_place;
pub mod calls;
pub mod chart;
pub mod desk;
pub mod error;
pub mod info;
pub mod net;
pub mod replica;
mod session;
pub mod updates;
pub mod workspace;

pub use chart::SessionInfo;
pub use error::CoreError;
pub use info::{AppInfo, CoreStatus, ProfileState};
pub use outpost_call as call;
pub use outpost_clinical as clinical;
pub use outpost_store::{self as store, Clock, Role, StoreError, SystemClock};
pub use outpost_sync::{Summary as SyncSummary, SyncError};
pub use session::DEFAULT_IDLE_LOCK_MS;

use std::{
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
};

/// The client runtime for one data directory. Cheap to clone; clones share one session.
#[derive(Debug, Clone)]
pub struct Core {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    data_dir: PathBuf,
    /// Where the outside copy of the log head lives (see `outpost_store::anchor`).
    anchor_dir: Option<PathBuf>,
    clock: Arc<dyn Clock>,
    session: tokio::sync::Mutex<Option<session::Session>>,
    idle_lock_ms: AtomicI64,
    /// One sync exchange at a time (the watch loop and "sync now" share it).
    sync_lock: tokio::sync::Mutex<()>,
}

impl Inner {
    fn idle_lock_ms(&self) -> i64 {
        self.idle_lock_ms.load(Ordering::Relaxed)
    }
}

impl Core {
    /// Opens the runtime over `data_dir` with the system clock, creating the directory
    /// (owner-only) if it is missing.
    ///
    /// Fails with [`CoreError::DataDir`] when the directory cannot be created or is not a
    /// directory; it never deletes or replaces anything already there.
    pub fn open(data_dir: impl Into<PathBuf>) -> Result<Self, CoreError> {
        Self::open_with_clock(data_dir, Arc::new(SystemClock))
    }

    /// Like [`Core::open`], with the clock the runtime should use (tests inject one).
    pub fn open_with_clock(
        data_dir: impl Into<PathBuf>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, CoreError> {
        Self::open_with(data_dir, clock, outpost_store::anchor::default_dir())
    }

    /// Like [`Core::open_with_clock`], with the directory for the outside copy of the log head
    /// (default `$OUTPOST_ANCHOR_DIR`, else `$XDG_STATE_HOME/outpost/anchors`; tests use their
    /// own).
    pub fn open_with(
        data_dir: impl Into<PathBuf>,
        clock: Arc<dyn Clock>,
        anchor_dir: Option<PathBuf>,
    ) -> Result<Self, CoreError> {
        let data_dir = data_dir.into();
        create_private_dir(&data_dir).map_err(|source| CoreError::DataDir {
            path: data_dir.clone(),
            source,
        })?;
        if !data_dir.is_dir() {
            return Err(CoreError::DataDir {
                path: data_dir,
                source: std::io::Error::from(std::io::ErrorKind::NotADirectory),
            });
        }
        Ok(Self {
            inner: Arc::new(Inner {
                data_dir,
                anchor_dir,
                clock,
                session: tokio::sync::Mutex::new(None),
                idle_lock_ms: AtomicI64::new(DEFAULT_IDLE_LOCK_MS),
                sync_lock: tokio::sync::Mutex::new(()),
            }),
        })
    }

    /// The profile in the data directory, with this runtime's anchor directory.
    pub(crate) fn profile(&self) -> Result<outpost_store::Profile, outpost_store::StoreError> {
        Ok(outpost_store::Profile::open(&self.inner.data_dir)?
            .with_anchor_dir(self.inner.anchor_dir.clone()))
    }

    /// Sets how long the session may stay idle before it locks itself.
    pub fn set_idle_lock_ms(&self, ms: i64) {
        self.inner.idle_lock_ms.store(ms.max(1), Ordering::Relaxed);
    }

    /// The directory this runtime keeps its data in.
    pub fn data_dir(&self) -> &Path {
        &self.inner.data_dir
    }

    /// Describes this build and the runtime's current state.
    pub fn app_info(&self) -> AppInfo {
        AppInfo {
            version: info::VERSION.to_owned(),
            data_dir: self.inner.data_dir.display().to_string(),
            build_features: info::build_features(),
            status: self.status(),
        }
    }

    /// The runtime's current state, read from disk each time so it never goes stale.
    pub fn status(&self) -> CoreStatus {
        let unlocked = self.inner.session.try_lock().map_or(true, |s| s.is_some());
        let profile = if !outpost_store::Profile::exists(&self.inner.data_dir) {
            ProfileState::NotCreated
        } else if unlocked {
            ProfileState::Unlocked
        } else {
            ProfileState::Locked
        };
        CoreStatus {
            profile,
            data_dir_writable: is_writable(&self.inner.data_dir),
        }
    }
}

/// Creates `dir` and its parents; on Unix the leaf is created with mode 0700 because it will
/// hold patient data.
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

/// Whether a file can be created in `dir`, checked by doing it: permission bits alone do not
/// tell about read-only mounts or a full disk.
fn is_writable(dir: &Path) -> bool {
    let probe = dir.join(".outpost-write-probe");
    let ok = std::fs::write(&probe, b"").is_ok();
    let _ = std::fs::remove_file(&probe);
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_creates_a_private_data_dir_and_reports_it() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("nested").join("profile");
        let core = Core::open(&dir).unwrap();
        assert!(dir.is_dir());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700, "patient data directory must be owner-only");
        }
        let info = core.app_info();
        assert_eq!(info.version, env!("CARGO_PKG_VERSION"));
        assert_eq!(info.data_dir, dir.display().to_string());
        assert_eq!(info.status.profile, ProfileState::NotCreated);
        assert!(info.status.data_dir_writable);
        assert!(
            !dir.join(".outpost-write-probe").exists(),
            "probe file left behind"
        );
    }

    #[test]
    fn status_follows_the_disk() {
        let tmp = tempfile::tempdir().unwrap();
        let core = Core::open(tmp.path()).unwrap();
        assert_eq!(core.status().profile, ProfileState::NotCreated);
        std::fs::write(tmp.path().join(outpost_store::profile::PROFILE_FILE), b"x").unwrap();
        assert_eq!(core.status().profile, ProfileState::Locked);
    }

    #[test]
    fn a_file_in_the_way_is_a_typed_error_and_is_left_alone() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("not-a-dir");
        std::fs::write(&file, b"keep me").unwrap();
        let err = Core::open(&file).unwrap_err();
        assert!(matches!(err, CoreError::DataDir { .. }), "{err:?}");
        assert_eq!(std::fs::read(&file).unwrap(), b"keep me");
    }
}
