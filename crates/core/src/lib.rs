//! Outpost client runtime: the one API that the desktop shell and the CLI call.
//!
//! # Layout
//!
//! - [`info`]: what this build is and where it keeps its data ([`AppInfo`]), for the status area.
//! - [`error`]: the typed errors this crate returns ([`CoreError`]).
//!
//! Later issues wire the encrypted store, sync and calls in here; the shell stays a thin
//! wrapper over [`Core`].

pub mod error;
pub mod info;

pub use error::CoreError;
pub use info::{AppInfo, CoreStatus, ProfileState};

use std::path::{Path, PathBuf};

/// The client runtime for one data directory.
///
/// Holds everything a running app needs; the shell keeps one in its managed state.
#[derive(Debug)]
pub struct Core {
    data_dir: PathBuf,
}

impl Core {
    /// Opens the runtime over `data_dir`, creating the directory (owner-only) if it is missing.
    ///
    /// Fails with [`CoreError::DataDir`] when the directory cannot be created or is not a
    /// directory; it never deletes or replaces anything already there.
    pub fn open(data_dir: impl Into<PathBuf>) -> Result<Self, CoreError> {
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
        Ok(Self { data_dir })
    }

    /// The directory this runtime keeps its data in.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Describes this build and the runtime's current state.
    pub fn app_info(&self) -> AppInfo {
        AppInfo {
            version: info::VERSION.to_owned(),
            data_dir: self.data_dir.display().to_string(),
            build_features: info::build_features(),
            status: self.status(),
        }
    }

    /// The runtime's current state, read from disk each time so it never goes stale.
    pub fn status(&self) -> CoreStatus {
        let profile = if self.data_dir.join(info::PROFILE_MARKER).exists() {
            ProfileState::Locked
        } else {
            ProfileState::NotCreated
        };
        CoreStatus {
            profile,
            data_dir_writable: is_writable(&self.data_dir),
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
        std::fs::write(tmp.path().join(info::PROFILE_MARKER), b"x").unwrap();
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
